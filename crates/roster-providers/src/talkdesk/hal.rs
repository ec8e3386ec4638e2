//! Reading every page of a Talkdesk HAL list (users, queues, queue members): page 1
//! says the page size granted and how many pages there are; the rest are read
//! concurrently, or by following `_links.next` when the count is missing. A list that
//! runs past the count page 1 announced, or past the modeled caps when it announced
//! none, is an error ([`Bound`]).

use std::hash::BuildHasher;

use futures_util::{StreamExt, stream};
use serde::de::DeserializeOwned;

use super::contract::{HalPage, PER_PAGE};
use crate::ProviderError;
use crate::bound::Bound;
use crate::http::HttpClient;
use crate::pages::fetch_and_decode;

/// An item with an ID, so pages that repeat earlier ones are caught.
pub trait Identified {
    /// What a list of these holds, plural, for messages.
    const NOUN: &'static str;
    /// The item's ID.
    fn id(&self) -> &str;
}

impl Identified for super::contract::RestUser {
    const NOUN: &'static str = "users";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Identified for super::contract::Queue {
    const NOUN: &'static str = "queues";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Identified for super::contract::QueueMember {
    const NOUN: &'static str = "queue members";
    fn id(&self) -> &str {
        &self.id
    }
}

/// One page, parsed in one pass into typed items.
async fn page<T: DeserializeOwned>(
    http: &HttpClient,
    path: &str,
) -> Result<HalPage<T>, ProviderError> {
    decode(&http.get(path).await?, path)
}

/// The page at `path` from its body.
fn decode<T: DeserializeOwned>(bytes: &[u8], path: &str) -> Result<HalPage<T>, ProviderError> {
    serde_json::from_slice(bytes).map_err(|e| ProviderError::Decode {
        request: format!("GET {path}"),
        message: describe(bytes, &e),
    })
}

/// The items of a list read so far, each once: indices into `items` hashed by ID, no
/// copy of each ID, and a table a sixth the size of a set of strings (200,000 items on
/// a 100,000-user plan).
struct Items<T> {
    items: Vec<T>,
    seen: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::RandomState,
    /// How long the list may grow.
    bound: Bound,
    /// Pages taken so far.
    pages: usize,
}

impl<T: Identified> Items<T> {
    /// Room for the count `bound` announced.
    fn new(bound: Bound) -> Self {
        let n = bound.announced();
        Items {
            items: Vec::with_capacity(n),
            seen: hashbrown::HashTable::with_capacity(n),
            hasher: foldhash::fast::RandomState::default(),
            bound,
            pages: 0,
        }
    }

    /// Takes the items of the page at `path` that earlier pages did not have.
    fn keep(&mut self, batch: Vec<T>, path: &str) -> Result<(), ProviderError> {
        let size = batch.len();
        let before = self.items.len();
        for item in batch {
            let hash = self.hasher.hash_one(item.id());
            let items = &self.items;
            if self
                .seen
                .find(hash, |j| items[*j as usize].id() == item.id())
                .is_none()
            {
                let (items, hasher) = (&self.items, &self.hasher);
                let rehash = |j: &u32| hasher.hash_one(items[*j as usize].id());
                self.seen.insert_unique(hash, items.len() as u32, rehash);
                self.items.push(item);
            }
        }
        // A page of items already seen is a server going round in circles (a
        // `page` it ignores, say): stop rather than read the same page forever.
        if size > 0 && self.items.len() == before && before > 0 {
            return Err(ProviderError::Decode {
                request: format!("GET {path}"),
                message: "the page repeats items of earlier pages; the server's paging is broken"
                    .into(),
            });
        }
        // New items without end, or pages without end, are a server that never stops.
        self.pages += 1;
        self.bound.items(self.items.len())?;
        self.bound.pages(self.pages)
    }
}

/// Says what is wrong with a page that does not parse.
fn describe(bytes: &[u8], e: &serde_json::Error) -> String {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Err(_) => {
            let start = String::from_utf8_lossy(&bytes[..bytes.len().min(60)]).replace('\n', " ");
            format!("the response is not JSON; it starts with {start:?}")
        }
        Ok(v) if v.get("_embedded").is_none() => format!(
            "expected a HAL page with `_embedded`, got an object with keys {:?}",
            v.as_object()
                .map(|m| m.keys().take(5).cloned().collect::<Vec<_>>())
                .unwrap_or_default()
        ),
        Ok(_) => format!("unexpected item: {e}"),
    }
}

/// The path and query of a link, relative to the API base (links may be absolute).
fn relative(href: &str, base: &str) -> String {
    if let Some(rest) = href.strip_prefix(base) {
        return rest.to_string();
    }
    match href.find("://") {
        Some(i) => href[i + 3..]
            .find('/')
            .map_or("/".into(), |j| href[i + 3 + j..].to_string()),
        None => href.to_string(),
    }
}

/// A link that pages by number (`page=N`) as a template (`page={}`) and its `N`: the
/// pages after it can then be asked for by number, as the links would have led.
fn numbered(link: &str) -> Option<(String, usize)> {
    let (path, query) = link.split_once('?')?;
    let mut number = None;
    let params: Vec<&str> = query
        .split('&')
        .map(|p| match p.strip_prefix("page=").map(str::parse::<usize>) {
            Some(Ok(n)) if number.is_none() => {
                number = Some(n);
                "page={}"
            }
            _ => p,
        })
        .collect();
    number.map(|n| (format!("{path}?{}", params.join("&")), n))
}

/// The pages from `first` of a list whose length is unknown but whose links page by
/// number: `concurrency` at a time, in order, until a page has no `next` or the list
/// outgrows its bound. A list of `n` more pages costs `n` requests plus at most
/// `concurrency - 1` past its end (answered with empty pages or errors, which are not
/// read) instead of `n` round trips one after another.
async fn read_ahead<T: DeserializeOwned + Identified>(
    http: &HttpClient,
    (template, first): (String, usize),
    concurrency: usize,
    items: &mut Items<T>,
) -> Result<(), ProviderError> {
    let mut pages = stream::iter(first..)
        .map(|n| {
            let u = template.replace("page={}", &format!("page={n}"));
            async move { page::<T>(http, &u).await.map(|p| (p, u)) }
        })
        .buffered(concurrency.max(1));
    while let Some(p) = pages.next().await {
        let (p, u) = p?;
        let last = p.links.next.is_none();
        items.keep(p.embedded.into_items(), &u)?;
        if last {
            break;
        }
    }
    Ok(())
}

/// Every item of the list at `path` (which has no query of its own, or `query` with a
/// leading `&`), read `concurrency` pages at a time.
pub async fn read_all<T: DeserializeOwned + Identified + Send + 'static>(
    http: &HttpClient,
    path: &str,
    query: &str,
    concurrency: usize,
) -> Result<Vec<T>, ProviderError> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let url = |n: usize| format!("{path}{sep}page={n}&per_page={PER_PAGE}{query}");
    let first: HalPage<T> = page(http, &url(1)).await?;
    let granted = first.per_page.filter(|&n| n > 0);
    let announced = first.total.or_else(|| {
        let pages = first.total_pages.zip(granted);
        pages.map(|(p, n)| p.saturating_mul(n))
    });
    let list = format!("GET {}", path.split('?').next().unwrap_or(path));
    let bound = Bound::new(list, T::NOUN, announced, granted.unwrap_or(PER_PAGE))?;
    let mut items = Items::new(bound);
    let pages = first
        .total_pages
        .or_else(|| granted.zip(first.total).map(|(n, t)| t.div_ceil(n)));
    let mut next = first.links.next.as_ref().map(|l| l.href.clone());
    items.keep(first.embedded.into_items(), &url(1))?;
    match pages {
        // The count is known: every other page at once, in order, decoded apart.
        Some(pages) => {
            items.bound.pages(pages)?;
            let rest = (2..=pages.max(1)).map(url);
            items = fetch_and_decode(http, rest, concurrency, items, |items, bytes, path| {
                items.keep(decode::<T>(bytes, path)?.embedded.into_items(), path)
            })
            .await?;
        }
        // No count: follow the links. A list still going after `concurrency` pages,
        // whose links page by number, is read ahead; a short one costs no request past
        // its end. Either way the list's bound ends links that never do.
        None => {
            let mut hops = 0;
            while let Some(href) = next.take() {
                hops += 1;
                let u = relative(&href, http.base_url());
                if hops > concurrency
                    && let Some(numbered) = numbered(&u)
                {
                    read_ahead(http, numbered, concurrency, &mut items).await?;
                    break;
                }
                let p: HalPage<T> = page(http, &u).await?;
                next = p.links.next.as_ref().map(|l| l.href.clone());
                items.keep(p.embedded.into_items(), &u)?;
            }
        }
    }
    Ok(items.items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_that_page_by_number_become_templates() {
        assert_eq!(
            numbered("/ccaas/queues/q1/users?per_page=50&page=9"),
            Some(("/ccaas/queues/q1/users?per_page=50&page={}".into(), 9))
        );
        assert_eq!(numbered("/ccaas/queues/q1/users?cursor=abc"), None);
        assert_eq!(numbered("/ccaas/queues/q1/users?page=last"), None);
        assert_eq!(numbered("/ccaas/queues/q1/users"), None);
    }

    #[test]
    fn links_become_paths() {
        assert_eq!(
            relative(
                "https://api.talkdeskapp.com/users?page=2",
                "https://api.talkdeskapp.com"
            ),
            "/users?page=2"
        );
        assert_eq!(
            relative("https://other.example/users?page=2", "http://127.0.0.1:1"),
            "/users?page=2"
        );
        assert_eq!(relative("/users?page=3", "x"), "/users?page=3");
    }

    /// Mutated pages never panic the parser.
    #[test]
    fn fuzz_users_page_parsing() {
        let corpus = vec![
            br#"{"count": 1, "total": 3, "page": 1, "per_page": 50, "total_pages": 1, "_embedded": {"users": [{"id": "1", "email": "a@acme.example", "active": true, "extension": 2001}]}, "_links": {"next": {"href": "/users?page=2"}}}"#.to_vec(),
            br#"{"total": 1, "_embedded": {"queues": [{"id": "q1", "name": "billing"}]}, "_links": {}}"#.to_vec(),
            br#"{"count": 1, "total": 1, "page": 1, "per_page": 50, "total_pages": 1, "_embedded": [{"email": "a@acme.example", "id": "Ana", "role": "Agent", "status": "PENDING", "ring_groups": ["sales"]}], "_links": {"self": {"href": "/guardian/users?page=1"}}}"#.to_vec(),
        ];
        let tokens: &[&[u8]] = &[
            b"null",
            b"-1",
            b"1e999",
            b"[]",
            b"{}",
            b"\"",
            b"\\u0000",
            b"18446744073709551616",
            b"true",
        ];
        let tried = roster_core::fuzzing::run(&corpus, tokens, |input| {
            let _ = serde_json::from_slice::<HalPage<super::super::contract::RestUser>>(input);
            let _ = serde_json::from_slice::<HalPage<super::super::contract::Queue>>(input);
            let _ = serde_json::from_slice::<HalPage<super::super::contract::GuardianUser>>(input);
        });
        assert!(tried > 0);
    }
}
