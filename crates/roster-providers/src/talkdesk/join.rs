//! One user from two surfaces: REST users (who exists, activity, extension) joined with
//! SCIM users (role, teams, name parts) by email, with the queues each belongs to.

use foldhash::HashMap;
use roster_core::email_index::EmailIndex;
use roster_core::model::{Names, Status, User};

use super::contract::RestUser;

/// A user only the REST list shows: who it is, whether active or pending, its
/// extension and `queues`; role and teams unknown.
pub(super) fn from_rest(r: RestUser, queues: Names) -> User {
    User {
        status: if r.is_active() {
            Status::Active
        } else {
            Status::Inactive
        },
        pending: r.is_pending(),
        extension: r.extension(),
        email: r.email,
        name: r.name.unwrap_or_default(),
        role: None,
        teams: Names::new(),
        queues,
        time_zone: None,
        language: None,
        addons: Names::new(),
        phone: None,
        external_id: None,
        updated_at: None,
        id: r.id,
    }
}

/// [`from_rest`] with the queues `members` holds for it, moved out.
fn with_queues(r: RestUser, members: &mut HashMap<String, Names>) -> User {
    let queues = members.remove(&r.id).unwrap_or_default();
    from_rest(r, queues)
}

/// Joins REST users (who exists, activity, extension) with SCIM users (role, teams,
/// name parts, externalId) by email, either may be missing, and gives each user its
/// queues from `members` (keyed by REST user ID, moved out as they are given).
pub(super) fn join(
    rest: Option<Vec<RestUser>>,
    scim: Option<Vec<User>>,
    members: &mut HashMap<String, Names>,
) -> Vec<User> {
    match (rest, scim) {
        (Some(rest), None) => rest.into_iter().map(|r| with_queues(r, members)).collect(),
        (None, Some(mut scim)) => {
            for u in &mut scim {
                u.queues = members.remove(&u.id).unwrap_or_default();
            }
            scim
        }
        (None, None) => Vec::new(),
        (Some(rest), Some(mut scim)) => {
            // Indexed by email without copies: at 100,000 users a map of lowercased
            // copies holding the REST users was the read's largest buffer. Of two REST
            // users with one email only the last is joined, as a map would keep it.
            fn email(r: &RestUser) -> &str {
                &r.email
            }
            let by_email = EmailIndex::new(&rest, email);
            let mut joined: Vec<bool> = rest
                .iter()
                .enumerate()
                .map(|(i, r)| by_email.get(&rest, email, &r.email) != Some(i))
                .collect();
            for u in &mut scim {
                match by_email.get(&rest, email, &u.email) {
                    Some(i) if !joined[i] => {
                        joined[i] = true;
                        u.extension = rest[i].extension();
                        u.pending = rest[i].is_pending();
                        u.queues = members.remove(&rest[i].id).unwrap_or_default();
                    }
                    Some(_) => {}
                    None => u.queues = members.remove(&u.id).unwrap_or_default(),
                }
            }
            // Users REST shows and SCIM does not (rare: SCIM lags a new user) are
            // still users; their role and teams are unknown.
            scim.extend(
                rest.into_iter()
                    .zip(joined)
                    .filter(|(_, joined)| !joined)
                    .map(|(r, _)| with_queues(r, members)),
            );
            scim
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use foldhash::HashMapExt;

    fn rest(id: &str, email: &str, extension: Option<i64>) -> RestUser {
        RestUser {
            id: id.into(),
            email: email.into(),
            name: Some("From REST".into()),
            active: Some(true),
            status: None,
            extension: extension.map(Into::into),
        }
    }

    fn scim(id: &str, email: &str) -> User {
        let mut u = join(Some(vec![rest(id, email, None)]), None, &mut HashMap::new()).remove(0);
        u.name = "From SCIM".into();
        u.role = Some("Agent".into());
        u
    }

    #[test]
    fn join_matches_emails_whatever_their_case_and_keeps_rest_only_users() {
        // Queue members are REST IDs, whichever surface the user came from.
        let mut members: HashMap<String, Names> = [
            ("r1".to_string(), Names::from(["sales"])),
            ("r2".to_string(), Names::from(["care"])),
            ("s4".to_string(), Names::from(["billing"])),
        ]
        .into_iter()
        .collect();
        let joined = join(
            Some(vec![
                rest("r1", "Ana.Silva@ACME.example", Some(101)),
                rest("r2", "new@acme.example", Some(102)),
                rest("r0", "bo@acme.example", Some(1)),
                rest("r3", "bo@acme.example", Some(103)),
            ]),
            Some(vec![
                scim("s1", "ana.silva@acme.example"),
                scim("s3", "BO@acme.example"),
                scim("s4", "scim.only@acme.example"),
            ]),
            &mut members,
        );
        let seen: Vec<_> = joined
            .iter()
            .map(|u| {
                let queues: Vec<&str> = u.queues.iter().map(String::as_str).collect();
                (
                    u.id.as_str(),
                    u.name.as_str(),
                    u.extension.as_deref(),
                    queues,
                )
            })
            .collect();
        // SCIM users keep their ID and name and gain the extension; the REST-only user
        // follows; of two REST users with one email the last one counts, as before.
        assert_eq!(
            seen,
            [
                ("s1", "From SCIM", Some("101"), vec!["sales"]),
                ("s3", "From SCIM", Some("103"), vec![]),
                ("s4", "From SCIM", None, vec!["billing"]),
                ("r2", "From REST", Some("102"), vec!["care"]),
            ]
        );
        assert!(
            members.is_empty(),
            "every membership was given: {members:?}"
        );
    }
}
