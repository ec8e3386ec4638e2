//! Writing to a Talkdesk account: each change to the surfaces that carry its fields
//! (SCIM for the user, queues in bulk, Phone and add-ons), never a delete.

use std::collections::BTreeSet;

use foldhash::{HashMap, HashMapExt};
use roster_core::model::{Status, User};
use roster_core::plan::{Action, Change, Field, Plan};

use super::contract::{RestUser, paths};
use super::join::join;
use super::{SCIM_FIELDS, Talkdesk, hal, phone, scim};
use crate::{ProviderError, Writer};

/// Whether SCIM writes `field` (the rest go to the REST, queue and Phone surfaces).
fn is_scim_field(field: &Field) -> bool {
    SCIM_FIELDS.contains(field)
}

impl Talkdesk {
    /// The SCIM surface, or an error naming the change and why it cannot be written.
    fn scim_for(&self, change: &Change) -> Result<&scim::Scim, ProviderError> {
        self.scim_usable().ok_or_else(|| {
            ProviderError::Unsupported(format!(
                "{}: {} needs SCIM, which these credentials cannot use ({}); nothing was sent",
                change.key,
                change.action.as_str(),
                self.gaps().scim.unwrap_or_else(|| "not configured".into())
            ))
        })
    }

    /// The REST ID of a user, for queue writes: from the last read, else looked up.
    async fn rest_id(&self, email: &str, fallback: &str) -> Result<String, ProviderError> {
        if let Some(id) = self
            .rest_ids
            .read()
            .ok()
            .and_then(|m| m.get(&email.to_lowercase()).cloned())
        {
            return Ok(id);
        }
        let Some(http) = &self.rest else {
            return Ok(fallback.to_string());
        };
        let path = format!("{}?email={}", paths::USERS, crate::url_encode(email));
        let found = hal::read_all::<RestUser>(http, &path, "", 1).await?;
        Ok(found
            .into_iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
            .map_or_else(|| fallback.to_string(), |u| u.id))
    }

    /// Creates the user through SCIM; a lost answer is looked up before a resend, so
    /// it never makes a duplicate.
    async fn create(&self, change: &Change, plan: &Plan) -> Result<User, ProviderError> {
        let scim = self.scim_for(change)?;
        crate::create_once(
            || scim.create(change, &plan.team_aliases),
            || async { Ok(scim.find(&change.key).await?.map(|(u, _)| u)) },
        )
        .await
    }

    /// The membership part of a change: adds first, then removals, so a user moving
    /// between queues is never left with none.
    async fn write_queues(&self, change: &Change, user_id: &str) -> Result<(), ProviderError> {
        let Some(fc) = change.fields.get(&Field::Queues) else {
            return Ok(());
        };
        let q = self
            .queues
            .as_ref()
            .filter(|_| self.gaps.read().is_ok_and(|g| g.queues.is_none()))
            .ok_or_else(|| {
                ProviderError::Unsupported(format!(
                    "{}: queues cannot be written with these credentials",
                    change.key
                ))
            })?;
        let set = |v: &serde_json::Value| -> BTreeSet<String> {
            serde_json::from_value(v.clone()).unwrap_or_default()
        };
        let (from, to) = (set(&fc.from), set(&fc.to));
        let rest_id = self.rest_id(&change.key, user_id).await?;
        q.assign(
            &change.key,
            &rest_id,
            &to.difference(&from).cloned().collect::<Vec<_>>(),
        )
        .await?;
        q.unassign(
            &change.key,
            &rest_id,
            &from.difference(&to).cloned().collect::<Vec<_>>(),
        )
        .await
    }
}

/// Reports a user Talkdesk stored inactive although it was asked to be active: no
/// license was free (doc: a user provisioned while licenses are short is deactivated,
/// https://docs.talkdesk.com/docs/scim-api).
fn check_licensed(
    change: &Change,
    stored: Option<&User>,
    created: bool,
) -> Result<(), ProviderError> {
    match stored {
        Some(u) if u.status == Status::Inactive => Err(ProviderError::Api {
            request: format!(
                "{} {}",
                if created { "POST" } else { "PUT" },
                paths::SCIM_USERS
            ),
            status: 200,
            message: format!(
                "{} {} but inactive: no free license; free a seat or buy one, then plan again",
                change.key,
                if created { "was created" } else { "was sent" }
            ),
        }),
        _ => Ok(()),
    }
}

impl Writer for Talkdesk {
    async fn perform(&self, change: &Change, plan: &Plan) -> Result<(), ProviderError> {
        let id = || {
            change.id.clone().ok_or_else(|| {
                ProviderError::Setup(format!("{}: the plan has no user ID", change.key))
            })
        };
        match change.action {
            Action::Create => {
                let user = self.create(change, plan).await?;
                self.write_queues(change, &user.id).await?;
                self.write_extras(change, &user.id).await?;
                check_licensed(change, Some(&user), true)
            }
            Action::Update | Action::Reactivate | Action::Deactivate => {
                let id = id()?;
                let mut stored = None;
                if change.fields.keys().any(is_scim_field) {
                    stored = self
                        .scim_for(change)?
                        .update(&id, change, &plan.team_aliases)
                        .await?;
                }
                // A deactivated user keeps its queues: Talkdesk drops inactive agents
                // from routing itself, and a user may not lose its last queue.
                if change.action != Action::Deactivate {
                    self.write_queues(change, &id).await?;
                }
                self.write_extras(change, &id).await?;
                if change.action == Action::Reactivate {
                    check_licensed(change, stored.as_ref(), false)?;
                }
                Ok(())
            }
            Action::Offboard => Err(ProviderError::Unsupported(
                "Talkdesk deactivates; it has no offboard".into(),
            )),
            Action::CreateTeam => Err(ProviderError::Unsupported(format!(
                "Talkdesk has no API that creates teams: create {:?} in the admin console",
                change.key
            ))),
        }
    }

    async fn find_user(&self, email: &str) -> Result<Option<User>, ProviderError> {
        if let Some(scim) = self.scim_usable() {
            return Ok(scim.find(email).await?.map(|(u, _)| u));
        }
        let Some(http) = &self.rest else {
            return Ok(None);
        };
        let path = format!("{}?email={}", paths::USERS, crate::url_encode(email));
        let found = hal::read_all::<RestUser>(http, &path, "", 1).await?;
        Ok(join(Some(found), None, &mut HashMap::new())
            .into_iter()
            .find(|u| u.email.eq_ignore_ascii_case(email)))
    }
}

impl Talkdesk {
    /// Writes the phone settings and add-on licenses a change carries, if any.
    async fn write_extras(&self, change: &Change, id: &str) -> Result<(), ProviderError> {
        let phone = change.fields.keys().any(|f| f.phone_setting().is_some());
        let addons = change.fields.contains_key(&Field::Addons);
        if !phone && !addons {
            return Ok(());
        }
        let http = self.rest.as_ref().ok_or_else(|| {
            ProviderError::Unsupported(format!(
                "{}: phone settings and add-ons need the OAuth client (TALKDESK_CLIENT_ID)",
                change.key
            ))
        })?;
        phone::write_phone(http, id, change).await?;
        phone::write_addons(http, &self.addon_lock, id, change).await
    }
}
