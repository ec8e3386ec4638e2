//! Declared addresses that imitate live ones. A declared email outside ASCII whose
//! skeleton (Unicode's confusables, see `crate::lookalike`) is a live user's, while the
//! address is not, would create an account that passes for that person's, or, taken
//! through `previously:`, move their login to the look-alike: the plan is refused at
//! the roster's email. Only a declared email outside ASCII is looked at, so a roster of
//! ASCII addresses costs one pass over its emails; former emails only find a live
//! user, and roster never writes them.

use super::types::PlanError;
use crate::config::Roster;
use crate::lookalike::{self, Lookalikes};
use crate::model::User;

/// Each declared email outside ASCII that looks like a different live address, as an
/// error at the email naming the live address.
pub(super) fn errors(roster: &Roster, live: &[User]) -> Vec<PlanError> {
    let table = Lookalikes::of(
        roster
            .users
            .iter()
            .enumerate()
            .map(|(k, d)| (k, d.email.as_str())),
    );
    if table.is_empty() {
        return Vec::new();
    }
    let mut errors: Vec<(usize, PlanError)> = live
        .iter()
        .flat_map(|u| table.like(&u.email).into_iter().map(move |k| (k, u)))
        .map(|(k, u)| {
            let email = &roster.users[k].email;
            // The live address is the vendor's, not validated: shown escaped if it
            // holds what a terminal would obey.
            let theirs = if u.email.chars().any(char::is_control) {
                u.email.escape_debug().to_string()
            } else {
                u.email.clone()
            };
            let error = PlanError {
                pointer: format!("/users/{k}/email"),
                message: format!("{email} looks like live user {theirs}, but is a different address"),
                hint: format!(
                    "look-alike characters in it: {}. If this is that person, write the address as the account spells it; if not, it would pass for theirs",
                    lookalike::outside_ascii(email)
                ),
            };
            (k, error)
        })
        .collect();
    errors.sort_by_key(|(k, _)| *k);
    errors.into_iter().map(|(_, e)| e).collect()
}
