//! How long a list may grow: the count its server announced, or a modeled cap where it
//! announces none. A server that keeps sending past it is broken or hostile, and a plan
//! made of what it sent would act on users who do not exist (a million of them, planned
//! as deactivations), so such a list is an error naming it. Checked once a page, never
//! once an item.

use super::ProviderError;

/// The most items a list may announce; beyond it the server is not believed, and
/// nothing is set aside for them.
pub const MAX_ANNOUNCED: usize = 1_000_000;

/// The most items read from a list that announces no count. Modeled: neither vendor
/// documents how many users an account may hold; this is twice the largest account
/// roster is measured on (100,000 users, every one in one queue, whose member list
/// carries no count).
pub const UNANNOUNCED_ITEMS: usize = 200_000;

/// The most pages read of one list. Modeled: [`MAX_ANNOUNCED`] items at 50 a page,
/// Talkdesk's default page size (doc: https://docs.talkdesk.com/docs/paging-results).
pub const MAX_PAGES: usize = 20_000;

/// The bound of one list, and what to say when it is crossed.
#[derive(Debug, Clone)]
pub(crate) struct Bound {
    /// Method and path of the list.
    request: String,
    /// What the list holds, plural ("users", "queue members").
    noun: &'static str,
    /// The count the server announced, if it did.
    announced: Option<usize>,
    /// The most items taken: the announced count and some slack, or the modeled cap.
    most: usize,
}

impl Bound {
    /// The bound of the list at `request` of `noun`, whose server announced `announced`
    /// items; `slack` more are taken, since users created while a list is read can
    /// push a few past the count its first page gave (a page's worth is ample). An
    /// announcement past [`MAX_ANNOUNCED`] is an error.
    pub(crate) fn new(
        request: String,
        noun: &'static str,
        announced: Option<usize>,
        slack: usize,
    ) -> Result<Bound, ProviderError> {
        let bound = Bound {
            most: announced.map_or(UNANNOUNCED_ITEMS, |n| n.saturating_add(slack)),
            request,
            noun,
            announced,
        };
        match announced {
            Some(n) if n > MAX_ANNOUNCED => Err(bound.error(format!(
                "the server reports {n} {}; roster reads at most {MAX_ANNOUNCED}",
                bound.noun
            ))),
            _ => Ok(bound),
        }
    }

    /// The count announced, to set room aside for (none when nothing was announced).
    pub(crate) fn announced(&self) -> usize {
        self.announced.unwrap_or(0)
    }

    /// Whether a list of `items` so far is within the bound.
    pub(crate) fn items(&self, items: usize) -> Result<(), ProviderError> {
        if items <= self.most {
            return Ok(());
        }
        Err(self.error(match self.announced {
            Some(n) => format!(
                "the server announced {n} {noun} and kept sending more after {n}",
                noun = self.noun
            ),
            None => format!(
                "the server announced no count and kept sending {} past {}, the most roster reads of a list without one",
                self.noun, self.most
            ),
        }))
    }

    /// Whether a list of `pages` pages (read, or announced) is within the bound.
    pub(crate) fn pages(&self, pages: usize) -> Result<(), ProviderError> {
        if pages <= MAX_PAGES {
            return Ok(());
        }
        let announced = match self.announced {
            Some(n) => format!("announced {n} {}", self.noun),
            None => "announced no count".to_string(),
        };
        Err(self.error(format!(
            "the server {announced} and its pages run past {MAX_PAGES}, the most roster reads of one list"
        )))
    }

    fn error(&self, message: String) -> ProviderError {
        ProviderError::Decode {
            request: self.request.clone(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(announced: Option<usize>) -> Result<Bound, ProviderError> {
        Bound::new("GET /users".into(), "users", announced, 100)
    }

    #[test]
    fn an_announced_count_bounds_the_list_with_a_pages_slack() {
        let b = users(Some(120)).unwrap();
        assert!(b.items(220).is_ok());
        assert_eq!(
            b.items(221).unwrap_err().to_string(),
            "GET /users: the server announced 120 users and kept sending more after 120"
        );
    }

    #[test]
    fn a_list_without_a_count_is_bounded_by_the_modeled_caps() {
        let b = users(None).unwrap();
        assert!(b.items(UNANNOUNCED_ITEMS).is_ok() && b.pages(MAX_PAGES).is_ok());
        let err = b.items(UNANNOUNCED_ITEMS + 1).unwrap_err().to_string();
        assert!(
            err.starts_with(
                "GET /users: the server announced no count and kept sending users past 200000"
            ),
            "{err}"
        );
        let err = b.pages(MAX_PAGES + 1).unwrap_err().to_string();
        assert!(err.contains("its pages run past 20000"), "{err}");
    }

    #[test]
    fn an_announcement_past_the_most_believed_is_refused() {
        let err = users(Some(MAX_ANNOUNCED + 1)).unwrap_err().to_string();
        assert_eq!(
            err,
            "GET /users: the server reports 1000001 users; roster reads at most 1000000"
        );
    }
}
