//! Talkdesk queues (ring groups' successor since 2026-07-31): the list, each queue's members, and
//! bulk assign/unassign whose 200 answer carries per-user failures (doc:
//! https://docs.talkdesk.com/docs/queues-api,
//! https://docs.talkdesk.com/reference/assignuserstoqueues,
//! https://docs.talkdesk.com/reference/unassignuserstoqueues).

use foldhash::{HashMap, HashMapExt};
use std::sync::RwLock;

use futures_util::{StreamExt, stream};
use reqwest::Method;

use super::contract::{
    QUEUE_BATCH, QUEUES_ORDER, Queue, QueueMember, QueueUsers, QueueWriteResult, paths,
};
use super::hal;
use crate::ProviderError;
use crate::http::{HttpClient, Idempotence};
use roster_core::model::{Named, Names};

/// The queues surface of one account.
pub struct Queues {
    http: HttpClient,
    concurrency: usize,
    /// Queue name → ID, from the last read.
    ids: RwLock<HashMap<String, String>>,
}

impl Queues {
    /// The surface over `http` (the API base, with the queue scopes).
    pub fn new(http: HttpClient, concurrency: usize) -> Self {
        Queues {
            http,
            concurrency: concurrency.max(1),
            ids: RwLock::new(HashMap::new()),
        }
    }

    /// Every queue, and each REST user ID's queue names.
    pub async fn read(&self) -> Result<(Vec<Named>, HashMap<String, Names>), ProviderError> {
        let order = format!("&order_by={QUEUES_ORDER}");
        let queues: Vec<Queue> =
            hal::read_all(&self.http, paths::QUEUES, &order, self.concurrency).await?;
        let wanted: Vec<(String, String)> = queues
            .iter()
            .map(|q| (paths::queue_members(&q.id), q.name.clone()))
            .collect();
        // Each queue's members are folded in as its pages arrive, never all held at once.
        let mut of_user: HashMap<String, Names> = HashMap::new();
        let mut lists = stream::iter(wanted)
            .map(|(path, name)| async move {
                let m =
                    hal::read_all::<QueueMember>(&self.http, &path, "", self.concurrency).await?;
                Ok::<_, ProviderError>((name, m))
            })
            .buffer_unordered(self.concurrency);
        while let Some(listed) = lists.next().await {
            let (name, list) = listed?;
            for m in list {
                of_user.entry(m.id).or_default().insert(name.clone());
            }
        }
        if let Ok(mut ids) = self.ids.write() {
            *ids = queues
                .iter()
                .map(|q| (q.name.clone(), q.id.clone()))
                .collect();
        }
        let named = queues
            .into_iter()
            .map(|q| Named {
                id: q.id,
                name: q.name,
            })
            .collect();
        Ok((named, of_user))
    }

    /// The write body for one user and `names`, in objects of at most
    /// [`QUEUE_BATCH`] queues per request.
    fn bodies(
        &self,
        email: &str,
        user_id: &str,
        names: &[String],
    ) -> Result<Vec<Vec<QueueUsers>>, ProviderError> {
        let ids = self.ids.read().map(|m| m.clone()).unwrap_or_default();
        let objects = names
            .iter()
            .map(|n| {
                ids.get(n)
                    .map(|id| QueueUsers {
                        id: id.clone(),
                        users: vec![user_id.to_string()],
                    })
                    .ok_or_else(|| {
                        ProviderError::Unsupported(format!(
                            "{email}: queue {n:?} does not exist in the account"
                        ))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(objects
            .chunks(QUEUE_BATCH)
            .map(<[QueueUsers]>::to_vec)
            .collect())
    }

    async fn write(
        &self,
        method: Method,
        email: &str,
        user_id: &str,
        names: &[String],
    ) -> Result<(), ProviderError> {
        for body in self.bodies(email, user_id, names)? {
            let value = serde_json::to_value(&body).unwrap_or_default();
            let (_, v) = self
                .http
                .send(
                    method.clone(),
                    paths::QUEUE_USERS,
                    Some(&value),
                    Idempotence::Safe,
                )
                .await?;
            let result: QueueWriteResult = serde_json::from_value(v).unwrap_or_default();
            if !result.errors.is_empty() {
                let names: HashMap<String, String> = self
                    .ids
                    .read()
                    .map(|m| m.iter().map(|(n, id)| (id.clone(), n.clone())).collect())
                    .unwrap_or_default();
                let reasons: Vec<String> = result
                    .errors
                    .iter()
                    .map(|e| {
                        let queue = e
                            .queue_id
                            .as_ref()
                            .map(|q| names.get(q).cloned().unwrap_or_else(|| q.clone()));
                        format!(
                            "queue {:?}: {}",
                            queue.unwrap_or_default(),
                            e.description
                                .clone()
                                .or_else(|| e.error.clone())
                                .unwrap_or_else(|| "failed".into())
                        )
                    })
                    .collect();
                return Err(ProviderError::Api {
                    request: format!("{method} {}", paths::QUEUE_USERS),
                    status: 200,
                    message: format!(
                        "{email}: {} (the answer was 200 with errors; the next plan shows what is left)",
                        reasons.join("; ")
                    ),
                });
            }
        }
        Ok(())
    }

    /// Adds the user to the queues `names`.
    pub async fn assign(
        &self,
        email: &str,
        user_id: &str,
        names: &[String],
    ) -> Result<(), ProviderError> {
        self.write(Method::POST, email, user_id, names).await
    }

    /// Removes the user from the queues `names` (membership only: never the user).
    pub async fn unassign(
        &self,
        email: &str,
        user_id: &str,
        names: &[String],
    ) -> Result<(), ProviderError> {
        // The one DELETE Talkdesk gets: `DELETE /ccaas/queues/users` removes queue memberships
        // (doc: https://docs.talkdesk.com/reference/unassignuserstoqueues); no user is deleted.
        self.write(Method::DELETE, email, user_id, names).await
    }
}
