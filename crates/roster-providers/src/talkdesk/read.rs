//! Reading a Talkdesk account: each surface the credentials grant, read at once, and
//! what the planner may rely on given the surfaces that could not be read.

use std::collections::BTreeSet;

use foldhash::HashMap;
use roster_core::model::{Account, Named, Names, User};
use roster_core::plan::{Action, Capabilities, Field, MissingWrite};

use super::contract::{GuardianUser, RestUser, paths, scopes};
use super::join::join;
use super::{Gaps, SCIM_FIELDS, Talkdesk, guardian, hal, not_granted, phone};
use crate::{ProviderError, ReadScope, Reader};

impl Talkdesk {
    /// REST users, or why they cannot be read.
    async fn read_rest(&self) -> Result<Result<Vec<RestUser>, String>, ProviderError> {
        let Some(http) = &self.rest else {
            return Ok(Err("no OAuth client is configured".into()));
        };
        match hal::read_all::<RestUser>(http, paths::USERS, "", self.concurrency).await {
            Ok(users) => Ok(Ok(users)),
            Err(e) if not_granted(&e) => Ok(Err(e.to_string())),
            Err(e) => Err(e),
        }
    }

    /// SCIM users, or why they cannot be read.
    async fn read_scim(&self) -> Result<Result<Vec<User>, String>, ProviderError> {
        let Some(scim) = &self.scim else {
            return Ok(Err(
                "neither TALKDESK_SCIM_TOKEN nor an OAuth client is configured".into(),
            ));
        };
        let read = async {
            let (_, users) = tokio::try_join!(scim.read_config(), scim.read_users())?;
            Ok::<_, ProviderError>(users)
        };
        match read.await {
            Ok(users) => Ok(Ok(users)),
            Err(e) if not_granted(&e) => Ok(Err(e.to_string())),
            Err(e) => Err(e),
        }
    }

    /// Guardian's users, or why they cannot be read.
    async fn read_guardian(&self) -> Result<Result<Vec<GuardianUser>, String>, ProviderError> {
        let Some(http) = &self.guardian else {
            return Ok(Err("no OAuth client is configured".into()));
        };
        match guardian::read(http, self.concurrency).await {
            Ok(users) => Ok(Ok(users)),
            Err(e) if not_granted(&e) => Ok(Err(e.to_string())),
            Err(e) => Err(e),
        }
    }

    /// Roles from SCIM, or, where SCIM cannot be used, from Guardian: SCIM wins, since
    /// it is what apply writes, and Guardian costs no request when SCIM answers.
    async fn read_roles(&self) -> Result<Roles, ProviderError> {
        let scim = self.read_scim().await?;
        let guardian = match &scim {
            Ok(_) => None,
            Err(_) => Some(self.read_guardian().await?),
        };
        Ok(Roles { scim, guardian })
    }

    /// Queues and their members, or why they cannot be read.
    async fn read_queues(
        &self,
    ) -> Result<Result<(Vec<Named>, HashMap<String, Names>), String>, ProviderError> {
        let Some(q) = &self.queues else {
            return Ok(Err("no OAuth client is configured".into()));
        };
        match q.read().await {
            Ok(v) => Ok(Ok(v)),
            Err(e) if not_granted(&e) => Ok(Err(e.to_string())),
            Err(e) => Err(e),
        }
    }
}

/// What the role-bearing surfaces answered: SCIM's users, and Guardian's where SCIM
/// could not be read (each the list, or why it could not be read).
struct Roles {
    scim: Result<Vec<User>, String>,
    guardian: Option<Result<Vec<GuardianUser>, String>>,
}

impl Reader for Talkdesk {
    fn capabilities(&self) -> Capabilities {
        let gaps = self.gaps();
        let mut caps = crate::capabilities::talkdesk();
        let mut notes = Vec::new();
        if let Some(why) = &gaps.scim {
            caps.roles = gaps.from_guardian;
            caps.unmanaged.push(Field::Teams);
            caps.read_only
                .extend([Field::Name, Field::Email, Field::Status]);
            if gaps.from_guardian {
                notes.push(format!("roles and pending users were read from Guardian (SCIM cannot be used: {why}); teams come only from SCIM and are not planned, and creates, renames, role changes and (de)activations need the scope scim to apply"));
            } else {
                let guardian = gaps.guardian.as_deref().unwrap_or("not tried");
                notes.push(format!("SCIM cannot be used ({why}) nor Guardian ({guardian}): role, teams and name parts are neither read nor written, and creates, renames and (de)activations cannot be sent; grant the OAuth client the scope scim (SCIM is an Early Access program), or set TALKDESK_SCIM_TOKEN; a plan job that must not write can read roles with guardian-users:read instead"));
            }
            caps.missing_write = Some(MissingWrite {
                scope: scopes::SCIM,
                actions: vec![Action::Create, Action::Reactivate, Action::Deactivate],
                fields: SCIM_FIELDS.to_vec(),
            });
        }
        if let Some(why) = &gaps.queues {
            caps.unmanaged.push(Field::Queues);
            notes.push(format!("queues cannot be read ({why}): queue membership is not planned; grant the scopes queues:read and queues-users:read"));
        }
        if let Some(why) = &gaps.rest {
            notes.push(format!("the REST users list cannot be read ({why}): extensions, phone settings and add-ons are not compared; grant the OAuth client the scope users:read"));
            caps.unmanaged.push(Field::Extension);
            caps.phone = false;
            caps.addons = false;
        }
        caps.notes = notes;
        caps
    }

    async fn read_when(
        &self,
        scope: impl Future<Output = Option<ReadScope>> + Send,
    ) -> Result<Account, ProviderError> {
        // The three surfaces go out at once: SCIM's 4 requests per second bound the
        // read, and REST and queues fit inside that time. Add-ons wait for the scope.
        let addons = async {
            let scope = scope.await.ok_or_else(crate::not_loaded)?;
            let wire = phone::read_addons_if(self.rest.as_ref(), scope.addons).await?;
            Ok::<_, ProviderError>((wire, scope))
        };
        let (rest, roles, queues, (wire_addons, scope)) = tokio::try_join!(
            self.read_rest(),
            self.read_roles(),
            self.read_queues(),
            addons,
        )?;
        let Roles { scim, guardian } = roles;
        let gaps = Gaps {
            rest: rest.as_ref().err().cloned(),
            scim: scim.as_ref().err().cloned(),
            queues: queues.as_ref().err().cloned(),
            guardian: guardian.as_ref().and_then(|g| g.as_ref().err().cloned()),
            from_guardian: matches!(guardian, Some(Ok(_))),
        };
        if let (Some(r), Some(s), false) = (&gaps.rest, &gaps.scim, gaps.from_guardian) {
            return Err(ProviderError::Unauthorized {
                request: "GET /users and GET /scim/v2/Users".into(),
                hint: format!("neither the users list nor SCIM can be read: {r}; {s}"),
            });
        }
        if let Ok(mut g) = self.gaps.write() {
            *g = gaps;
        }
        // Queue writes name REST user IDs: kept from this read when apply will write.
        if let (true, Ok(rest), Ok(mut kept)) = (self.write, &rest, self.rest_ids.write()) {
            *kept = rest
                .iter()
                .map(|r| (r.email.to_lowercase(), r.id.clone()))
                .collect();
        }
        let (queue_list, mut members) = queues.unwrap_or_default();
        let mut users = join(rest.ok(), scim.ok(), &mut members);
        if let Some(Ok(g)) = guardian {
            guardian::overlay(&mut users, g);
        }
        let (addons, held) = phone::addons_of(wire_addons);
        for u in &mut users {
            if let Some(names) = held.get(u.id.as_str()) {
                u.addons = names.clone();
            }
        }
        let roles: BTreeSet<&String> = users.iter().filter_map(|u| u.role.as_ref()).collect();
        let roles = roles
            .into_iter()
            .map(|r| Named {
                id: r.clone(),
                name: r.clone(),
            })
            .collect();
        let teams: BTreeSet<&String> = users.iter().flat_map(|u| &u.teams).collect();
        let teams = teams
            .into_iter()
            .map(|t| Named {
                id: t.clone(),
                name: t.clone(),
            })
            .collect();
        let (phone_numbers, phone_devices) = match &self.rest {
            Some(http) => phone::read_phone(http, &mut users, &scope, self.concurrency).await?,
            None => Default::default(),
        };
        Ok(Account {
            roles,
            teams,
            queues: queue_list,
            users,
            addons,
            phone_numbers,
            phone_devices,
        })
    }
}
