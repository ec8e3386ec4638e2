//! `roster doctor` on Talkdesk: a token per scope, one page of each surface granted,
//! SCIM's `/ServiceProviderConfig`, and what each job lacks. Nothing is written, except
//! with `probe_writes`: one queue assignment a user already holds, which the vendor
//! documents as idempotent.

use std::collections::HashMap;
use std::sync::Arc;

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::contract::{
    self, GuardianUser, HalPage, QUEUES_ORDER, Queue, QueueMember, RestUser, SCIM_COUNT,
    lower_keys, paths, scopes,
};
use super::{Settings, client};
use crate::ProviderError;
use crate::doctor::{Job, Needs, Report};
use crate::http::{self, Auth, HttpClient, Idempotence};
use crate::stall::Stall;

/// The scopes doctor asks a token for, one at a time, with what each serves.
const SCOPES: [(&str, &str); 6] = [
    (
        scopes::USERS_READ,
        "REST users: who exists, activation, extension",
    ),
    (
        scopes::SCIM,
        "SCIM: roles, teams, names, and every user write",
    ),
    (
        scopes::GUARDIAN_USERS_READ,
        "Guardian: roles and pending users, read-only (a plan job without scim)",
    ),
    (scopes::QUEUES_READ, "the queue list"),
    (scopes::QUEUES_USERS_READ, "queue members"),
    (scopes::QUEUES_WRITE, "queue membership writes"),
];

/// Which surfaces answered: a token granted and, for the readable ones, a page read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Usable {
    pub rest: bool,
    pub scim: bool,
    pub guardian: bool,
    pub queues: bool,
    pub queue_members: bool,
    pub queues_write: bool,
}

/// What `job` lacks, given what answered and what the roster declares: each entry
/// says what to grant.
pub(super) fn lacks(u: Usable, needs: Needs, job: Job) -> Vec<String> {
    let mut out = Vec::new();
    let mut need = |missing: bool, what: &str| {
        if missing {
            out.push(what.to_string());
        }
    };
    match job {
        Job::Plan => {
            need(
                !u.rest && !u.scim,
                "users:read (or scim): the users cannot be listed",
            );
            need(
                !u.scim && !u.guardian,
                "scim or guardian-users:read: roles cannot be read",
            );
            need(
                needs.teams && !u.scim,
                "scim: the roster declares teams, which only SCIM reads",
            );
        }
        Job::Apply => {
            need(
                !u.rest,
                "users:read: queue writes name users by their REST ID",
            );
            need(!u.scim, "scim: every user write goes through SCIM");
            need(
                needs.queues && !u.queues_write,
                "queues:write: the roster declares queues",
            );
        }
    }
    need(
        needs.queues && !(u.queues && u.queue_members),
        "queues:read and queues-users:read: the roster declares queues",
    );
    need(
        (needs.phone || needs.addons) && !u.rest,
        "users:read: phone settings and add-ons are read beside the REST users",
    );
    out
}

/// Whether `scope` is needed by one of `jobs` for a roster that `needs` these.
fn needed(scope: &str, jobs: &[Job], needs: Needs) -> bool {
    let apply = jobs.contains(&Job::Apply);
    match scope {
        scopes::USERS_READ => true,
        scopes::SCIM => apply || needs.teams,
        scopes::QUEUES_READ | scopes::QUEUES_USERS_READ => needs.queues,
        scopes::QUEUES_WRITE => apply && needs.queues,
        _ => false,
    }
}

/// The error's text, for the table.
fn said(e: &ProviderError) -> String {
    e.to_string()
}

/// A number at `pointer` of `v`, as text ("absent" when missing).
fn number(v: &Value, pointer: &str) -> String {
    shown(
        v.pointer(pointer)
            .and_then(Value::as_u64)
            .map(|n| n as usize),
    )
}

/// Page `path` of a HAL list, decoded as the provider decodes it.
async fn page_of<T: DeserializeOwned>(
    http: &HttpClient,
    path: &str,
) -> Result<HalPage<T>, ProviderError> {
    let bytes = http.get(path).await?;
    serde_json::from_slice(&bytes).map_err(|e| ProviderError::Decode {
        request: format!("GET {}", path.split('?').next().unwrap_or(path)),
        message: e.to_string(),
    })
}

/// A count of a HAL page as text ("absent" when the page has none).
fn shown(n: Option<usize>) -> String {
    n.map_or_else(|| "absent".into(), |n| n.to_string())
}

/// Reads page 1 of a HAL list of `T` and records its page size and total; the page, if
/// read.
async fn hal_page<T: DeserializeOwned>(
    r: &mut Report,
    http: &HttpClient,
    surface: &'static str,
    path: &str,
    expected: &str,
    noun: &str,
) -> Option<HalPage<T>> {
    match page_of::<T>(http, path).await {
        Ok(page) => {
            let answered = format!(
                "per_page {}; total {} {noun}",
                shown(page.per_page),
                shown(page.total)
            );
            r.check(surface, "page 1", expected, answered, true);
            Some(page)
        }
        Err(e) => {
            r.check(surface, "page 1", expected, said(&e), false);
            None
        }
    }
}

/// The clients of the scopes the token endpoint granted, by scope (`None` inside: no
/// credentials for it); each scope's answer recorded.
type Granted = HashMap<&'static str, Option<HttpClient>>;

impl super::Talkdesk {
    /// Checks the credentials and the account's contract for `jobs` on a roster that
    /// `needs` these surfaces; sends no write unless `probe_writes`.
    pub async fn doctor(
        &self,
        jobs: &[Job],
        needs: Needs,
        probe_writes: bool,
    ) -> Result<Report, ProviderError> {
        let s = &self.settings;
        let mut r = Report::default();
        r.check(
            "token",
            "token endpoint",
            "https://ACCOUNT.talkdeskid.com/oauth/token (eu: .talkdeskid.eu, ca: .talkdeskidca.com), from provider.account and provider.region: https://docs.talkdesk.com/reference/client-credentials-sts-token",
            format!("asked {}", s.token_url),
            true,
        );
        r.check(
            "token",
            "API host",
            "https://api.talkdeskapp.com (.eu, api.talkdeskappca.com) from provider.region",
            format!("asked {}", s.base_url),
            true,
        );
        let granted = tokens(&mut r, s, jobs, needs).await?;
        let (u, first_member) = reads(&mut r, &granted, needs).await;
        if probe_writes {
            let writer = granted.get(scopes::QUEUES_WRITE).and_then(Option::as_ref);
            probe_queue_write(&mut r, writer, first_member).await;
        }
        for job in jobs {
            let lacking = lacks(u, needs, *job);
            match job {
                Job::Plan => r.plan_lacks = lacking,
                Job::Apply => r.apply_lacks = lacking,
            }
        }
        Ok(r)
    }
}

/// Asks the token endpoint for each scope alone and records its answer.
async fn tokens(
    r: &mut Report,
    s: &Settings,
    jobs: &[Job],
    needs: Needs,
) -> Result<Granted, ProviderError> {
    let pool = http::pool()?;
    let stall = Stall::new(s.stall_limit);
    let mut granted = Granted::new();
    for (scope, serves) in SCOPES {
        let need = needed(scope, jobs, needs);
        let expected = format!(
            "{serves}; {}",
            if need {
                "needed"
            } else {
                "optional for this roster"
            }
        );
        let client = surface_client(s, &pool, &stall, scope)?;
        let answer = match &client {
            None => Err(
                "no OAuth client: TALKDESK_CLIENT_ID and TALKDESK_CLIENT_SECRET are not set"
                    .to_string(),
            ),
            Some(c) => c.check_token().await.map_err(|e| said(&e)),
        };
        let ok = answer.is_ok() || !need;
        let answered = match &answer {
            Ok(()) => "granted".to_string(),
            Err(e) => format!("refused: {e}"),
        };
        let label = if scope == scopes::SCIM && s.scim_token.is_some() {
            "scim (TALKDESK_SCIM_TOKEN)".to_string()
        } else {
            format!("scope {scope}")
        };
        r.check("token", label, expected, answered, ok);
        if answer.is_ok() {
            granted.insert(scope, client);
        }
    }
    Ok(granted)
}

/// Page 1 of each surface a granted scope reads; what answered, and a queue's member
/// for the write probe.
async fn reads(
    r: &mut Report,
    granted: &Granted,
    needs: Needs,
) -> (Usable, Option<(String, String)>) {
    let client = |scope: &str| granted.get(scope).and_then(Option::as_ref);
    let mut u = Usable {
        queues_write: granted.contains_key(scopes::QUEUES_WRITE),
        ..Usable::default()
    };
    let page = |path: &str| {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{path}{sep}page=1&per_page={}", contract::PER_PAGE)
    };
    if let Some(http) = client(scopes::USERS_READ) {
        let expected = "HAL, 100 asked (50 by default, the largest not published): https://docs.talkdesk.com/docs/paging-results";
        u.rest = hal_page::<RestUser>(
            r,
            http,
            "REST users",
            &page(paths::USERS),
            expected,
            "users",
        )
        .await
        .is_some();
        if needs.phone || needs.addons {
            modeled(r, http, needs).await;
        }
    }
    if let Some(http) = client(scopes::SCIM) {
        u.scim = scim(r, http).await;
    }
    if let Some(http) = client(scopes::GUARDIAN_USERS_READ) {
        let expected = "HAL, `_embedded` an array of users with role and status: https://docs.talkdesk.com/reference/guardianusers";
        let path = page(paths::GUARDIAN_USERS);
        u.guardian = hal_page::<GuardianUser>(r, http, "Guardian", &path, expected, "users")
            .await
            .is_some();
    }
    let mut first_member = None;
    if let Some(http) = client(scopes::QUEUES_READ) {
        let expected = "per_page 1–100 (default 20), ordered by name: https://docs.talkdesk.com/reference/get-list-of-queues";
        let path = format!("{}&order_by={QUEUES_ORDER}", page(paths::QUEUES));
        let list = hal_page::<Queue>(r, http, "queues", &path, expected, "queues").await;
        u.queues = list.is_some();
        if let (Some(list), Some(members)) = (list, client(scopes::QUEUES_USERS_READ)) {
            (u.queue_members, first_member) = queue_members(r, members, list).await;
        }
    }
    (u, first_member)
}

/// A client holding one scope's token (SCIM's on the SCIM base, or the static SCIM
/// token when one is set); `None` without credentials for it.
fn surface_client(
    s: &Settings,
    pool: &reqwest::Client,
    stall: &Arc<Stall>,
    scope: &str,
) -> Result<Option<HttpClient>, ProviderError> {
    if scope == scopes::SCIM {
        if let Some(token) = &s.scim_token {
            let mut cfg = super::config(s, stall, &s.scim_url);
            cfg.max_rps = s.scim_rps;
            let auth = Auth::Bearer {
                token: token.clone(),
                hint: "the SCIM API refused TALKDESK_SCIM_TOKEN",
            };
            return Ok(Some(HttpClient::over(pool.clone(), cfg, auth)));
        }
        return client(pool, s, stall, &s.scim_url, scope, s.scim_rps);
    }
    client(pool, s, stall, &s.base_url, scope, s.max_rps)
}

/// SCIM's `/ServiceProviderConfig` and one page of users; whether SCIM answered.
async fn scim(r: &mut Report, http: &HttpClient) -> bool {
    const CONFIG_DOC: &str =
        "https://docs.talkdesk.com/reference/get-service-provider-configurations";
    match http
        .send(Method::GET, paths::SCIM_CONFIG, None, Idempotence::Safe)
        .await
    {
        Ok((_, v)) => {
            let v = lower_keys(&v);
            let flag = |p: &str| match v.pointer(p).and_then(Value::as_bool) {
                Some(b) => b.to_string(),
                None => "absent".into(),
            };
            r.check(
                "SCIM",
                "patch.supported",
                format!("PATCH when true, else a PUT of the user as read: {CONFIG_DOC}"),
                flag("/patch/supported"),
                true,
            );
            let filter = v.pointer("/filter/supported").and_then(Value::as_bool);
            r.check(
                "SCIM",
                "filter.supported",
                "true: a create whose answer was lost is looked up by `userName eq` before it is sent again (RFC 7644 §3.4.2.2)",
                format!(
                    "{}, maxResults {}",
                    flag("/filter/supported"),
                    number(&v, "/filter/maxresults")
                ),
                filter == Some(true),
            );
            r.check(
                "SCIM",
                "etag.supported",
                "not relied on: each change carries the plan's precondition instead",
                flag("/etag/supported"),
                true,
            );
            r.check(
                "SCIM",
                "bulk.supported",
                "not used: one request per user, 4 a second (https://docs.talkdesk.com/docs/scim-api)",
                flag("/bulk/supported"),
                true,
            );
        }
        Err(e) => r.check(
            "SCIM",
            "/ServiceProviderConfig",
            format!("readable: {CONFIG_DOC}"),
            said(&e),
            false,
        ),
    }
    let path = format!("{}?startIndex=1&count={SCIM_COUNT}", paths::SCIM_USERS);
    let expected = "ListResponse, 100 asked (`count`); the server may grant fewer (RFC 7644 §3.4.2.4); SCIM is an Early Access program: https://docs.talkdesk.com/docs/scim-api";
    match http.send(Method::GET, &path, None, Idempotence::Safe).await {
        Ok((_, v)) => {
            let v = lower_keys(&v);
            let ok = v.get("resources").is_some_and(Value::is_array)
                || v.get("totalresults").and_then(Value::as_u64) == Some(0);
            r.check(
                "SCIM",
                "page 1",
                expected,
                format!(
                    "itemsPerPage {}; totalResults {} users",
                    number(&v, "/itemsperpage"),
                    number(&v, "/totalresults")
                ),
                ok,
            );
            ok
        }
        Err(e) => {
            r.check("SCIM", "page 1", expected, said(&e), false);
            false
        }
    }
}

/// Page 1 of the first queue's members: whether it could be read, and a member of a
/// queue (queue ID, user ID) for the write probe.
async fn queue_members(
    r: &mut Report,
    http: &HttpClient,
    list: HalPage<Queue>,
) -> (bool, Option<(String, String)>) {
    let expected = "HAL of members, each with the user's `id` (modeled: no public page shows the item): https://docs.talkdesk.com/docs/queues-api";
    let Some(first) = list.embedded.into_items().into_iter().next() else {
        r.check(
            "queues",
            "members",
            expected,
            "no queue to read members of",
            true,
        );
        return (true, None);
    };
    let path = format!(
        "{}?page=1&per_page={}",
        paths::queue_members(&crate::url_encode(&first.id)),
        contract::PER_PAGE
    );
    match page_of::<QueueMember>(http, &path).await {
        Ok(page) => {
            let members = page.embedded.into_items();
            r.check(
                "queues",
                "members",
                expected,
                format!(
                    "{} on page 1 of the first queue, each with an id",
                    members.len()
                ),
                true,
            );
            let member = members.into_iter().next().map(|m| (first.id, m.id));
            (true, member)
        }
        Err(e) => {
            r.check("queues", "members", expected, said(&e), false);
            (false, None)
        }
    }
}

/// The modeled Phone and add-on paths, where the roster declares them.
async fn modeled(r: &mut Report, http: &HttpClient, needs: Needs) {
    let surfaces = [
        (needs.phone, "Phone", paths::PHONE_NUMBERS),
        (needs.addons, "add-ons", paths::ADDONS),
    ];
    for (wanted, surface, path) in surfaces {
        if !wanted {
            continue;
        }
        let answered = match http.send(Method::GET, path, None, Idempotence::Safe).await {
            Ok(_) => Ok("answered".to_string()),
            Err(e) => Err(said(&e)),
        };
        r.check(
            surface,
            format!("GET {path}"),
            "modeled: no public Talkdesk API; roster's own contract (docs/talkdesk.md)",
            answered.clone().unwrap_or_else(|e| e),
            answered.is_ok(),
        );
    }
}

/// With `--probe-writes`: assigns a queue's member to that queue again, a write the
/// vendor documents as idempotent, to see the modeled answer `{result, errors}`.
async fn probe_queue_write(
    r: &mut Report,
    writer: Option<&HttpClient>,
    member: Option<(String, String)>,
) {
    let expected = "a 200 `{result, errors}` with no errors (modeled: https://docs.talkdesk.com/reference/assignuserstoqueues names only \"objects with a queue identifier and the users\"; the write is idempotent)";
    let (Some(http), Some((queue, user))) = (writer, member) else {
        r.check(
            "queues",
            "write probe",
            expected,
            "not sent: it needs queues:write and a queue with a member",
            true,
        );
        return;
    };
    let body = json!([contract::QueueUsers {
        id: queue.clone(),
        users: vec![user.clone()],
    }]);
    r.writes.push(format!(
        "POST {} assigning user {user} to queue {queue}, which it already holds: a write request that changes nothing",
        paths::QUEUE_USERS
    ));
    let answer = http
        .send(
            Method::POST,
            paths::QUEUE_USERS,
            Some(&body),
            Idempotence::Safe,
        )
        .await;
    let (answered, ok) = match answer {
        Ok((_, v)) => match serde_json::from_value::<contract::QueueWriteResult>(v) {
            Ok(w) if w.errors.is_empty() => (
                format!("result {}", w.result.as_deref().unwrap_or("absent")),
                true,
            ),
            Ok(w) => (format!("{} error(s)", w.errors.len()), false),
            Err(e) => (format!("another shape: {e}"), false),
        },
        Err(e) => (said(&e), false),
    };
    r.check("queues", "write probe", expected, answered, ok);
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Usable = Usable {
        rest: true,
        scim: true,
        guardian: true,
        queues: true,
        queue_members: true,
        queues_write: true,
    };

    #[test]
    fn a_plan_job_reads_roles_from_scim_or_guardian() {
        let needs = Needs {
            queues: true,
            ..Needs::default()
        };
        let guardian_only = Usable {
            scim: false,
            queues_write: false,
            ..ALL
        };
        assert!(lacks(guardian_only, needs, Job::Plan).is_empty());
        let apply = lacks(guardian_only, needs, Job::Apply);
        assert!(apply.iter().any(|l| l.starts_with("scim")), "{apply:?}");
        assert!(
            apply.iter().any(|l| l.starts_with("queues:write")),
            "{apply:?}"
        );
        let neither = Usable {
            scim: false,
            guardian: false,
            ..ALL
        };
        let plan = lacks(neither, needs, Job::Plan);
        assert_eq!(plan, ["scim or guardian-users:read: roles cannot be read"]);
        let teams = Needs {
            teams: true,
            ..needs
        };
        assert!(!lacks(guardian_only, teams, Job::Plan).is_empty());
        assert!(lacks(ALL, teams, Job::Apply).is_empty());
    }

    #[test]
    fn queue_scopes_matter_only_to_a_roster_with_queues() {
        let no_queues = Usable {
            queues: false,
            queue_members: false,
            queues_write: false,
            ..ALL
        };
        assert!(lacks(no_queues, Needs::default(), Job::Apply).is_empty());
        assert!(!needed(
            scopes::QUEUES_WRITE,
            &[Job::Apply],
            Needs::default()
        ));
        assert!(!needed(scopes::SCIM, &[Job::Plan], Needs::default()));
        assert!(needed(
            scopes::SCIM,
            &[Job::Plan, Job::Apply],
            Needs::default()
        ));
    }
}
