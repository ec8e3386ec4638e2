//! The sandbox: a real HTTP server on loopback that emulates the vendor APIs with the
//! same paths, envelopes, limits and errors, persisted state, fault injection, a request
//! log and an invariant history. The server takes its listener as an argument, so tests
//! start it on `127.0.0.1:0`.

mod cloudtalk;
mod phone;
mod scim;
pub mod seed;
mod state;
pub mod synthetic;
mod talkdesk;
mod views;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State as Extract};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use roster_providers::cloudtalk::contract::headers;
use roster_providers::talkdesk::contract::paths;
use serde_json::json;
use views::Views;

pub use scim::SCIM_TOKEN;
pub use state::{HistoryEntry, RequestRecord, SandboxAddon, SandboxUser, State};
pub use talkdesk::ALL_SCOPES;

/// The client credentials the emulator accepts.
pub const CLIENT_ID: &str = "sandbox";
/// The client secret the emulator accepts.
pub const CLIENT_SECRET: &str = "sandbox-secret";

/// Knobs of the emulator.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where state persists (atomically, after every change); None keeps it in memory.
    pub state_file: Option<PathBuf>,
    /// Delay added to every response.
    pub latency: Duration,
    /// Share of requests that fail: 429 with or without Retry-After, 500, or a
    /// connection dropped mid-body.
    pub fault_rate: f64,
    /// Seeds which requests fail and how: a request's fate depends only on the seed,
    /// the request line and how often that line came before, so a run that sends the
    /// same requests meets the same faults whatever the interleaving.
    pub fault_seed: u64,
    /// Requests per second served before answering 429.
    pub rate_limit: Option<NonZeroU32>,
    /// Lifetime of issued tokens, in seconds.
    pub token_ttl: u64,
    /// The kinds of fault `fault_rate` draws from.
    pub faults: Vec<Fault>,
    /// How late a `slow` fault answers.
    pub slow: Duration,
    /// After this many writes, drop every connection (a crash in the middle of an
    /// apply); the write that reaches the count loses its answer.
    pub crash_after_writes: Option<usize>,
    /// CloudTalk seats: adding an agent past this many active ones answers 403.
    pub max_agents: Option<usize>,
    /// The largest HAL `per_page` granted, whatever is asked (Talkdesk publishes none).
    pub page_cap: usize,
    /// The largest SCIM `count` granted, whatever is asked.
    pub scim_page_cap: usize,
    /// Talkdesk SCIM requests in any one-second window before 429 (doc: 4,
    /// https://docs.talkdesk.com/docs/scim-api), counted
    /// over a sliding window: the fifth request within a second of the first is refused.
    pub scim_rate_limit: Option<NonZeroU32>,
    /// Whether `/ServiceProviderConfig` says PATCH is supported; when not, PATCH
    /// answers 501.
    pub scim_patch: bool,
    /// The scopes the OAuth client is granted (None: every scope).
    pub scopes: Option<Vec<String>>,
    /// Emails whose queue writes fail inside a 200, as Talkdesk reports per-user
    /// failures.
    pub queue_refuse: Vec<String>,
    /// CloudTalk's per-company budget: this many requests per one-minute window (doc:
    /// 60, no burst figure published), announced on every response in the
    /// `X-CloudTalkAPI-Limit`/`-Remaining`/`-ResetTime` headers, 429 without
    /// `Retry-After` once spent (the "Usage" section of
    /// tests/fixtures/cloudtalk-openapi.json).
    pub cloudtalk_per_minute: Option<NonZeroU32>,
    /// CloudTalk's `DELETE /groups/delete/{agent_id}.json` deletes the agent, as the
    /// reference's summary ("Delete an agent") reads, instead of its group membership.
    pub cloudtalk_leave_deletes: bool,
    /// A supervisor edits a queue before every queue-list request that names no order,
    /// so that queue becomes the most recently updated and the default order (newest
    /// first) moves under a reader paging through it.
    pub queue_churn: bool,
}

/// The page size the emulator grants by default when 100 are asked.
pub const PAGE_CAP: usize = 50;

/// An injectable failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    /// 429 with `Retry-After: 1`.
    #[value(name = "429-retry-after")]
    TooManyWithRetryAfter,
    /// 429 without `Retry-After`.
    #[value(name = "429")]
    TooMany,
    /// 500.
    #[value(name = "500")]
    ServerError,
    /// Handled, then the connection breaks mid-body.
    Drop,
    /// Handled, then answered after `slow`.
    Slow,
}

impl Fault {
    /// The kinds injected unless chosen otherwise: every kind but `slow`.
    pub const DEFAULT: [Fault; 4] = [
        Fault::TooManyWithRetryAfter,
        Fault::TooMany,
        Fault::ServerError,
        Fault::Drop,
    ];
}

impl Default for Config {
    fn default() -> Self {
        Config {
            state_file: None,
            latency: Duration::ZERO,
            fault_rate: 0.0,
            fault_seed: 0,
            rate_limit: None,
            token_ttl: 3600,
            faults: Fault::DEFAULT.to_vec(),
            slow: Duration::from_secs(5),
            crash_after_writes: None,
            max_agents: None,
            page_cap: PAGE_CAP,
            scim_page_cap: PAGE_CAP,
            scim_rate_limit: NonZeroU32::new(4),
            scim_patch: false,
            scopes: None,
            queue_refuse: Vec::new(),
            cloudtalk_per_minute: None,
            cloudtalk_leave_deletes: false,
            queue_churn: false,
        }
    }
}

/// Everything the handlers share.
pub struct Shared {
    config: Config,
    state: Mutex<State>,
    log: Mutex<Vec<RequestRecord>>,
    history: Mutex<Vec<HistoryEntry>>,
    tokens: Mutex<HashMap<String, (Instant, Vec<String>)>>,
    limiter: Option<DefaultDirectRateLimiter>,
    scim_window: Option<SlidingWindow>,
    /// What the list handlers derive from the state (see [`views`]), for the state
    /// as it stands: a 100,000-user account is served page by page without a scan of
    /// every user, or a serialization of every item, per page.
    views: Mutex<Option<Arc<Views>>>,
    /// CloudTalk's current window: its start (Unix seconds, a multiple of 60) and the
    /// requests counted in it.
    cloudtalk_window: Mutex<(u64, u32)>,
    /// When the server started, for the request log's times.
    started: Instant,
    /// How often each request line has been drawn for a fault.
    fault_draws: Mutex<HashMap<String, u64>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A handler that panicked mid-change cannot leave a half-applied change behind
    // (changes are applied to a copy first), so the data is still consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// Shared state over `state` with `config`.
    pub fn new(config: Config, state: State) -> Arc<Self> {
        let limiter = config
            .rate_limit
            .map(|n| RateLimiter::direct(Quota::per_second(n)));
        // Talkdesk counts SCIM requests per second: any one-second window.
        let scim_window = config.scim_rate_limit.map(SlidingWindow::new);
        Arc::new(Shared {
            config,
            state: Mutex::new(state),
            log: Mutex::new(Vec::new()),
            history: Mutex::new(Vec::new()),
            tokens: Mutex::new(HashMap::new()),
            limiter,
            scim_window,
            views: Mutex::new(None),
            cloudtalk_window: Mutex::new((0, 0)),
            started: Instant::now(),
            fault_draws: Mutex::new(HashMap::new()),
        })
    }

    /// The random draws deciding whether `req` fails and how: seeded from
    /// [`Config::fault_seed`], the request line and its count so far.
    fn fault_draw(&self, req: &Request) -> fastrand::Rng {
        use std::hash::{Hash, Hasher};
        let line = format!("{} {}", req.method(), req.uri());
        let mut draws = lock(&self.fault_draws);
        let n = draws.entry(line.clone()).or_insert(0);
        *n += 1;
        // SipHash with fixed keys: the same line, count and seed give the same draws.
        let mut h = std::hash::DefaultHasher::new();
        (self.config.fault_seed, line, *n).hash(&mut h);
        fastrand::Rng::with_seed(h.finish())
    }

    /// The scopes the emulated OAuth client may ask for.
    fn granted_scopes(&self) -> Vec<String> {
        match &self.config.scopes {
            Some(s) => s.clone(),
            None => ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.log).clone()
    }

    /// Every state change so far.
    pub fn history(&self) -> Vec<HistoryEntry> {
        lock(&self.history).clone()
    }

    /// A copy of the current state.
    pub fn snapshot(&self) -> State {
        lock(&self.state).clone()
    }

    /// The views of `st` (the locked state). They are started afresh after any
    /// change: every change is one history entry, made under the state's lock.
    fn views(&self, st: &State) -> Arc<Views> {
        let version = lock(&self.history).len();
        let mut cached = lock(&self.views);
        match cached.as_ref() {
            Some(v) if v.version == version => v.clone(),
            _ => {
                let v = Arc::new(Views::new(version, st.users.len()));
                *cached = Some(v.clone());
                v
            }
        }
    }

    /// Applies `f` to the state; when it succeeds, records the change and persists.
    fn change<T>(
        &self,
        request: String,
        f: impl FnOnce(&mut State) -> Result<(T, String), ApiError>,
    ) -> Result<T, ApiError> {
        let mut state = lock(&self.state);
        let mut next = state.clone();
        let (out, email) = f(&mut next)?;
        if let Some(path) = &self.config.state_file
            && let Err(e) = next.save(path)
        {
            return Err(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "storage",
                &format!("cannot persist state: {e}"),
            ));
        }
        let mut emails: Vec<String> = next.users.iter().map(|u| u.email.to_lowercase()).collect();
        emails.sort();
        let unique = emails.windows(2).all(|w| w[0] != w[1]);
        let mut history = lock(&self.history);
        let seq = history.len() as u64 + 1;
        history.push(HistoryEntry {
            seq,
            request,
            email,
            active_admins: next.active_admins(),
            active_users: next.users.iter().filter(|u| u.status == "active").count(),
            emails_unique: unique,
        });
        *state = next;
        Ok(out)
    }
}

/// An API error: status and a JSON body `{code, message}`.
pub(crate) struct ApiError {
    status: StatusCode,
    code: String,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = axum::Json(json!({"code": self.code, "message": self.message}));
        (self.status, body).into_response()
    }
}

/// An API error with the given status, code and message.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> ApiError {
    ApiError {
        status,
        code: code.into(),
        message: message.into(),
    }
}

/// A fresh fault seed, for a run that names none.
pub fn random_seed() -> u64 {
    fastrand::u64(..)
}

/// The router of every emulated API.
pub fn router(shared: Arc<Shared>) -> Router {
    let api = talkdesk::routes()
        .merge(phone::routes())
        .merge(scim::routes())
        .merge(cloudtalk::routes())
        .layer(middleware::from_fn_with_state(shared.clone(), faults))
        .merge(
            Router::new()
                .route("/_sandbox/requests", axum::routing::get(requests))
                .route("/_sandbox/history", axum::routing::get(history)),
        );
    api.layer(middleware::from_fn_with_state(shared.clone(), record))
        .with_state(shared)
}

/// Serves the emulator on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) -> std::io::Result<()> {
    axum::serve(listener, router(shared)).await
}

/// A sandbox running in this process.
pub struct Handle {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its shared state, for inspection.
    pub shared: Arc<Shared>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Handle {
    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a sandbox on 127.0.0.1:0 in the current runtime.
pub async fn spawn(config: Config, state: State) -> std::io::Result<Handle> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let shared = Shared::new(config, state);
    let task = tokio::spawn(serve(listener, shared.clone()));
    Ok(Handle { addr, shared, task })
}

async fn requests(Extract(s): Extract<Arc<Shared>>) -> Response {
    axum::Json(s.requests()).into_response()
}

async fn history(Extract(s): Extract<Arc<Shared>>) -> Response {
    axum::Json(s.history()).into_response()
}

/// Records every request with the status it got (and any fault injected), and the
/// JSON body it carried, for contract tests.
async fn record(Extract(s): Extract<Arc<Shared>>, req: Request, next: Next) -> Response {
    let at_ms = s.started.elapsed().as_millis() as u64;
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(String::from);
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 16 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let mut json = serde_json::from_slice::<serde_json::Value>(&bytes).ok();
    // A new agent's password is never kept, not even in the emulator's log.
    if let Some(pass) = json.as_mut().and_then(|j| j.get_mut("pass")) {
        *pass = serde_json::Value::from("***");
    }
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if !path.starts_with("/_sandbox") {
        let fault = resp
            .headers()
            .get("x-sandbox-fault")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        lock(&s.log).push(RequestRecord {
            at_ms,
            method,
            path,
            query,
            status: resp.status().as_u16(),
            fault,
            body: json,
        });
    }
    resp
}

/// Marks a response as an injected fault, for the request log.
fn tag(r: impl IntoResponse, what: &'static str) -> Response {
    let mut r = r.into_response();
    r.headers_mut()
        .insert("x-sandbox-fault", HeaderValue::from_static(what));
    r
}

/// A response whose connection breaks mid-body, keeping `status`.
fn dropped(status: StatusCode) -> Response {
    let broken = futures_util::stream::iter(vec![
        Ok(bytes::Bytes::from_static(b"{\"partial\":")),
        Err(std::io::Error::other("connection dropped by the sandbox")),
    ]);
    let mut r = Response::new(Body::from_stream(broken));
    *r.status_mut() = status;
    tag(r, "dropped")
}

/// The server's own rate limit, then the handler. Injected 429s and 500s come before
/// it and do not use up its quota: they stand for a struggling backend, not for the
/// client sending too fast.
async fn limited(s: &Shared, req: Request, next: Next) -> Response {
    let cloudtalk = is_cloudtalk(req.uri().path());
    if cloudtalk && let Some(limit) = s.config.cloudtalk_per_minute {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let taken = take_minute(&mut lock(&s.cloudtalk_window), now, limit.get());
        let (mut r, remaining, reset) = match taken {
            Ok((remaining, reset)) => (next.run(req).await, remaining, reset),
            Err(reset) => {
                let r = error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_requests",
                    "the company's requests per minute are spent",
                )
                .into_response();
                (r, 0, reset)
            }
        };
        let h = r.headers_mut();
        h.insert(headers::LIMIT, HeaderValue::from(limit.get()));
        h.insert(headers::REMAINING, HeaderValue::from(remaining));
        h.insert(headers::RESET_TIME, HeaderValue::from(reset));
        return r;
    }
    // Talkdesk SCIM's own limit: 429, retry after a second (doc:
    // https://docs.talkdesk.com/docs/scim-api).
    if req.uri().path().starts_with(paths::SCIM_BASE)
        && let Some(w) = &s.scim_window
        && !w.admit(Instant::now())
    {
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "SCIM allows 4 requests per second",
        )
        .into_response();
        r.headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
        return r;
    }
    if let Some(l) = &s.limiter
        && l.check().is_err()
    {
        let mut r = error(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            "rate limit exceeded",
        )
        .into_response();
        // CloudTalk announces its window in its own headers and sends no Retry-After.
        if cloudtalk {
            let reset = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
                + 1;
            let h = r.headers_mut();
            h.insert(
                "x-cloudtalkapi-limit",
                HeaderValue::from(s.config.rate_limit.map_or(0, |n| n.get())),
            );
            h.insert("x-cloudtalkapi-remaining", HeaderValue::from_static("0"));
            h.insert("x-cloudtalkapi-resettime", HeaderValue::from(reset));
        } else {
            r.headers_mut()
                .insert("retry-after", HeaderValue::from_static("1"));
        }
        return r;
    }
    next.run(req).await
}

/// Whether a path is CloudTalk's API rather than Talkdesk's.
fn is_cloudtalk(path: &str) -> bool {
    path.starts_with("/agents/") || path.starts_with("/groups/")
}

/// Counts one request against a fixed one-minute window that started at a multiple of
/// 60 s: `Ok((remaining, reset))`, or `Err(reset)` when the window's `limit` is spent
/// (`reset` is the Unix second the next window starts, as `X-CloudTalkAPI-ResetTime`).
fn take_minute(window: &mut (u64, u32), now: u64, limit: u32) -> Result<(u32, u64), u64> {
    let start = now - now % 60;
    if window.0 != start {
        *window = (start, 0);
    }
    let reset = start + 60;
    if window.1 >= limit {
        return Err(reset);
    }
    window.1 += 1;
    Ok((limit - window.1, reset))
}

/// Latency, the crash knob, injected faults and the rate limit, in that order.
async fn faults(Extract(s): Extract<Arc<Shared>>, req: Request, next: Next) -> Response {
    if !s.config.latency.is_zero() {
        tokio::time::sleep(s.config.latency).await;
    }
    if let Some(n) = s.config.crash_after_writes {
        // After N writes the server is "dead": nothing is handled any more, and the
        // write that reached N loses its answer.
        if lock(&s.history).len() >= n {
            return tag(dropped(StatusCode::OK), "crashed");
        }
        let handled = next.run(req).await;
        return if lock(&s.history).len() >= n {
            dropped(handled.status())
        } else {
            handled
        };
    }
    if s.config.fault_rate <= 0.0 {
        return limited(&s, req, next).await;
    }
    let mut draw = s.fault_draw(&req);
    if draw.f64() >= s.config.fault_rate {
        return limited(&s, req, next).await;
    }
    let kinds = &s.config.faults;
    match kinds[draw.usize(0..kinds.len())] {
        Fault::TooManyWithRetryAfter => {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "slow down",
            )
            .into_response();
            r.headers_mut()
                .insert("retry-after", HeaderValue::from_static("1"));
            tag(r, "429-retry-after")
        }
        Fault::TooMany => tag(
            error(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "slow down",
            ),
            "429",
        ),
        Fault::ServerError => tag(
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "injected failure",
            ),
            "500",
        ),
        // The request is handled, then the connection drops mid-body: the client
        // cannot know whether its write happened.
        Fault::Drop => dropped(limited(&s, req, next).await.status()),
        // Handled, then answered later than a client would wait.
        Fault::Slow => {
            let handled = limited(&s, req, next).await;
            tokio::time::sleep(s.config.slow).await;
            tag(handled, "slow")
        }
    }
}

/// At most `limit` requests in any window of one second: arrivals are kept for a second,
/// and one that would make `limit + 1` within it is refused (not counted).
struct SlidingWindow {
    limit: usize,
    arrivals: Mutex<std::collections::VecDeque<Instant>>,
}

impl SlidingWindow {
    fn new(limit: NonZeroU32) -> SlidingWindow {
        SlidingWindow {
            limit: limit.get() as usize,
            arrivals: Mutex::new(std::collections::VecDeque::new()),
        }
    }

    /// Whether a request arriving at `now` is within the limit; it counts if so.
    fn admit(&self, now: Instant) -> bool {
        let mut arrivals = lock(&self.arrivals);
        while arrivals
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            arrivals.pop_front();
        }
        if arrivals.len() >= self.limit {
            return false;
        }
        arrivals.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A budget per fixed minute: spent by the third request of three, renewed when
    /// the next minute starts, with the reset at that minute.
    #[test]
    fn cloudtalk_counts_requests_per_fixed_minute() {
        let mut window = (0, 0);
        assert_eq!(take_minute(&mut window, 120, 3), Ok((2, 180)));
        assert_eq!(take_minute(&mut window, 150, 3), Ok((1, 180)));
        assert_eq!(take_minute(&mut window, 179, 3), Ok((0, 180)));
        assert_eq!(take_minute(&mut window, 179, 3), Err(180));
        assert_eq!(take_minute(&mut window, 180, 3), Ok((2, 240)));
    }

    #[test]
    fn scim_counts_any_one_second_window() {
        let w = SlidingWindow::new(NonZeroU32::new(4).unwrap());
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // Evenly paced at 4 a second, the fifth arrives just inside the first's second.
        for ms in [0, 245, 495, 745] {
            assert!(w.admit(at(ms)), "{ms} ms");
        }
        assert!(!w.admit(at(996)), "the fifth within one second is refused");
        assert!(
            w.admit(at(1_000)),
            "a second after the first, there is room"
        );
        assert!(
            !w.admit(at(1_100)),
            "245, 495, 745 and 1,000 fill the window"
        );
    }
}
