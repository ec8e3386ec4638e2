//! Roles and activation states from Talkdesk Guardian's users list, where SCIM cannot be
//! used: laid over the users the REST list read, joined by email. Guardian is
//! read-only, so a plan job holding `guardian-users:read` instead of `scim` sees roles
//! and pending users with no scope that writes.

use roster_core::email_index::EmailIndex;
use roster_core::model::{Names, User};

use super::contract::{GuardianUser, RestUser, paths};
use super::hal;
use super::join::from_rest;
use crate::ProviderError;
use crate::http::HttpClient;

impl hal::Identified for GuardianUser {
    const NOUN: &'static str = "Guardian users";
    fn id(&self) -> &str {
        // The list's `id` is not reliably the user's (its reference describes it as
        // the agent's name); an email is one user's.
        &self.email
    }
}

/// Every user of Guardian's list.
pub(super) async fn read(
    http: &HttpClient,
    concurrency: usize,
) -> Result<Vec<GuardianUser>, ProviderError> {
    hal::read_all::<GuardianUser>(http, paths::GUARDIAN_USERS, "", concurrency).await
}

/// Gives `users` (from the REST list) the role and pending state Guardian shows for
/// each, by email; a user only Guardian shows is added with what Guardian knows (SCIM
/// lags a new user the same way). The REST list's `active` stays the activation state
/// where it has the user; Guardian's says only whether one is pending.
pub(super) fn overlay(users: &mut Vec<User>, guardian: Vec<GuardianUser>) {
    fn email(u: &User) -> &str {
        &u.email
    }
    let index = EmailIndex::new(users, email);
    let mut extra = Vec::new();
    let mut found = Vec::with_capacity(guardian.len());
    for g in guardian {
        match index.get(users, email, &g.email) {
            Some(i) => found.push((i, g)),
            None => extra.push(g),
        }
    }
    for (i, g) in found {
        let u = &mut users[i];
        u.pending = g.state() == Some("pending");
        u.role = g.role.filter(|r| !r.is_empty());
    }
    users.extend(extra.into_iter().map(from_guardian));
}

/// A user only Guardian shows: as the REST list would show it, with Guardian's role.
fn from_guardian(g: GuardianUser) -> User {
    let state = g.state();
    let rest = RestUser {
        id: g
            .id
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| g.email.clone()),
        email: g.email,
        name: None,
        active: Some(state != Some("inactive")),
        status: state.map(String::from),
        extension: None,
    };
    User {
        role: g.role.filter(|r| !r.is_empty()),
        ..from_rest(rest, Names::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_core::model::Status;
    use serde_json::json;

    fn guardian(v: serde_json::Value) -> Vec<GuardianUser> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn guardian_gives_roles_and_pending_by_email() {
        let rest = |id: &str, email: &str| User {
            id: id.into(),
            email: email.into(),
            name: "From REST".into(),
            ..from_guardian(guardian(json!([{"email": "x@acme.example"}])).remove(0))
        };
        let mut users = vec![
            rest("r1", "ana.silva@acme.example"),
            rest("r2", "bo.chen@acme.example"),
        ];
        overlay(
            &mut users,
            guardian(json!([
                {"id": "Ana Silva", "email": "Ana.Silva@ACME.example", "role": "Supervisor", "status": "ACTIVE", "ring_groups": ["sales"]},
                {"email": "bo.chen@acme.example", "role": "Administrator", "status": "PENDING"},
                {"id": "g9", "email": "new@acme.example", "role": "Agent", "status": "INACTIVE"}
            ])),
        );
        let seen: Vec<_> = users
            .iter()
            .map(|u| {
                (
                    u.id.as_str(),
                    u.role.as_deref(),
                    u.pending,
                    u.status == Status::Active,
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("r1", Some("Supervisor"), false, true),
                ("r2", Some("Administrator"), true, true),
                ("g9", Some("Agent"), false, false),
            ]
        );
        assert_eq!(users[0].name, "From REST", "REST keeps the name");
    }

    #[test]
    fn a_state_outside_the_documented_three_is_none() {
        let g = guardian(json!([{"email": "a@acme.example", "status": "deleted"}]));
        assert_eq!(g[0].state(), None);
        let g = guardian(json!([{"email": "a@acme.example", "status": "Pending"}]));
        assert_eq!(g[0].state(), Some("pending"));
    }
}
