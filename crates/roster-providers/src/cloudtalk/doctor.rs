//! `roster doctor` on CloudTalk: the access key, and page 1 of the agents and the
//! groups with the page size and counts they answer. Nothing is written.

use serde_json::Value;

use super::contract::LIMIT;
use super::{AGENTS, CloudTalk, GROUPS, Index, count, data};
use crate::ProviderError;
use crate::doctor::{Job, Needs, Report};

/// The OpenAPI document roster's CloudTalk contract comes from.
const SOURCE: &str = "CloudTalk's OpenAPI (tests/fixtures/cloudtalk-openapi.json)";

impl CloudTalk {
    /// Checks the access key and the two lists roster reads, for `jobs`.
    pub async fn doctor(&self, jobs: &[Job], needs: Needs) -> Result<Report, ProviderError> {
        let mut r = Report::default();
        r.check(
            "access key",
            "API host",
            format!("https://my.cloudtalk.io/api, HTTP Basic with the access key: {SOURCE}"),
            format!("asked {}", self.http.base_url()),
            true,
        );
        let agents = self.doctor_page(&mut r, &AGENTS).await;
        let groups = self.doctor_page(&mut r, &GROUPS).await;
        let mut lacking = Vec::new();
        if !agents {
            lacking.push("an access key that reads agents (CLOUDTALK_ACCESS_KEY_ID, CLOUDTALK_ACCESS_KEY_SECRET): the agents cannot be listed".to_string());
        }
        if needs.teams && !groups {
            lacking.push("an access key that reads groups: the roster declares teams".to_string());
        }
        for job in jobs {
            match job {
                Job::Plan => r.plan_lacks.clone_from(&lacking),
                Job::Apply => r.apply_lacks.clone_from(&lacking),
            }
        }
        Ok(r)
    }

    /// Page 1 of `index`, recorded; whether it was read.
    async fn doctor_page(&self, r: &mut Report, index: &Index) -> bool {
        let expected = format!(
            "`responseData` with `itemsCount`, `pageCount` and `data`; limit {LIMIT} asked, the largest: {SOURCE}"
        );
        let fact = format!("GET {} page 1", index.path);
        match self.index_page(index.path, "", 1).await {
            Ok(v) => {
                let items = data(&v).get("data").and_then(Value::as_array);
                let shown = |n: Option<usize>| n.map_or_else(|| "absent".into(), |n| n.to_string());
                let answered = match items {
                    Some(items) => format!(
                        "{} on page 1; itemsCount {}, pageCount {}, limit {}",
                        items.len(),
                        shown(count(&v, "itemsCount")),
                        shown(count(&v, "pageCount")),
                        shown(count(&v, "limit"))
                    ),
                    None => "no responseData.data list".into(),
                };
                r.check(index.noun, fact, expected, answered, items.is_some());
                items.is_some()
            }
            Err(e) => {
                r.check(index.noun, fact, expected, e.to_string(), false);
                false
            }
        }
    }
}
