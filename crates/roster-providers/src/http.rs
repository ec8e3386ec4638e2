//! The one HTTP path every provider uses: authentication, token caching, retries with
//! backoff and `Retry-After`, a client-side rate limit, timeouts, the stall limit and
//! bounded bodies.

pub use roster_core::secret::Secret;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::sync::Mutex;

use super::ProviderError;
use super::cloudtalk::contract::{ENVELOPE, headers};
use super::stall::{DEFAULT_STALL_LIMIT, Stall};

/// Largest response body read; a bigger one is a hostile or broken server.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// A per-second pace is kept this much slower, in parts of 25 (4%): within 1.05× of
/// the server's bound, with room for a request that leaves a few milliseconds early.
const PACE_MARGIN: u32 = 26;

/// The longest wait before a retry that is honoured as asked; a longer one (up to the
/// stall limit) is cut to this and the request sent again.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(120);

/// How a client authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    /// OAuth 2.0 client credentials, exchanged for a bearer token at `token_url`.
    ClientCredentials {
        /// The token endpoint.
        token_url: String,
        /// Client ID.
        client_id: String,
        /// Client secret.
        client_secret: Secret,
        /// Space-separated scopes asked for (Talkdesk: reference/cc-basic).
        scope: String,
        /// What to say when the token or a request is refused: which credential and
        /// scope are needed.
        hint: String,
    },
    /// HTTP Basic on every request (CloudTalk's access key).
    Basic {
        /// Access key ID.
        user: String,
        /// Access key secret.
        secret: Secret,
        /// What to say when it is refused.
        hint: &'static str,
    },
    /// A long-lived bearer token (Talkdesk SCIM).
    Bearer {
        /// The token.
        token: Secret,
        /// What to say when it is refused: which credential is needed.
        hint: &'static str,
    },
}

/// Connection settings shared by every request of one client.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// API base URL without a trailing slash.
    pub base_url: String,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Client-side limit in requests per second, if any.
    pub max_rps: Option<NonZeroU32>,
    /// Client-side limit in requests per minute, if any (CloudTalk: 60).
    pub per_minute: Option<NonZeroU32>,
    /// Retries of a transient failure before giving up.
    pub max_retries: usize,
    /// `policy.api_budget`: a pace shared by every client of one provider.
    pub budget: Option<Budget>,
    /// The stall limit, shared by every client of one provider.
    pub stall: Arc<Stall>,
}

/// roster's share of a vendor's rate limit, shared by every client of a provider.
pub type Budget = Arc<DefaultDirectRateLimiter>;

/// A budget of one request every `period`: an even pace, never a burst.
pub fn budget(period: Duration) -> Option<Budget> {
    Quota::with_period(period).map(|q| Arc::new(RateLimiter::direct(q)))
}

impl HttpConfig {
    /// Defaults for `base_url`: 30 s timeout, no rate limit, 10 retries, a stall limit
    /// of its own of five minutes.
    pub fn new(base_url: impl Into<String>) -> Self {
        HttpConfig {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            timeout: Duration::from_secs(30),
            max_rps: None,
            per_minute: None,
            max_retries: 10,
            budget: None,
            stall: Stall::new(DEFAULT_STALL_LIMIT),
        }
    }
}

struct Token {
    value: Secret,
    refresh_at: Instant,
}

/// An authenticated, retrying, rate-limited JSON client.
pub struct HttpClient {
    client: reqwest::Client,
    config: HttpConfig,
    auth: Auth,
    token: Mutex<Option<Token>>,
    limiter: Option<DefaultDirectRateLimiter>,
}

/// The connections and TLS setup [`HttpClient`]s go through: one per provider, shared
/// by its surfaces (each build loads the root certificates, about 7 ms of CPU). The
/// timeout is each client's, set per request.
pub fn pool() -> Result<reqwest::Client, ProviderError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .user_agent(concat!("roster/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| ProviderError::Setup(format!("cannot build the HTTP client: {e}")))
}

/// Whether a request may be sent twice without harm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotence {
    /// GET, PATCH of absolute values, PUT: retried on any transient failure.
    Safe,
    /// POST that creates: retried only when the server certainly did nothing (429);
    /// otherwise the caller must look the object up first.
    Unsafe,
}

/// One failed attempt, classified for the retry loop.
#[derive(Debug)]
enum Attempt {
    /// Try again, after `after` if the server said so.
    Retry {
        after: Option<Duration>,
        error: ProviderError,
    },
    /// The token was refused: refresh it and try once more.
    Reauth(ProviderError),
    /// Do not retry.
    Fail(ProviderError),
}

impl HttpClient {
    /// Builds a client; installs the ring crypto provider for rustls once.
    pub fn new(config: HttpConfig, auth: Auth) -> Result<Self, ProviderError> {
        Ok(Self::over(pool()?, config, auth))
    }

    /// A client with `config` and `auth` over `pool`, which other clients may share.
    pub fn over(pool: reqwest::Client, config: HttpConfig, auth: Auth) -> Self {
        // An even pace, no burst, a little slower than the rate: a server that counts
        // any one-second window (Talkdesk SCIM) sees requests arrive with the network's
        // jitter, and at exactly the rate the (n+1)th can land a few milliseconds inside
        // the first one's second.
        let limiter = config
            .max_rps
            .and_then(|n| Quota::with_period(Duration::from_secs(1) * PACE_MARGIN / (25 * n.get())))
            .or(config
                .per_minute
                .and_then(|n| Quota::with_period(Duration::from_secs(60) / n.get())))
            .map(RateLimiter::direct);
        HttpClient {
            client: pool,
            config,
            auth,
            token: Mutex::new(None),
            limiter,
        }
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    /// Sends one JSON request with retries; returns the status and the parsed body
    /// (`Value::Null` for an empty one).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idem: Idempotence,
    ) -> Result<(StatusCode, Value), ProviderError> {
        let label = format!("{method} {}", path.split('?').next().unwrap_or(path));
        let (status, bytes) = self.send_bytes(method, path, body, idem).await?;
        let value = parse_json(&bytes).map_err(|message| ProviderError::Decode {
            request: label,
            message,
        })?;
        Ok((status, value))
    }

    /// Fetches an OAuth token without calling the API: whether the token endpoint
    /// grants the client and its scopes (`roster doctor`). Other credentials have no
    /// token endpoint to ask, so they pass.
    pub async fn check_token(&self) -> Result<(), ProviderError> {
        match self.token("doctor").await {
            Ok(_) => Ok(()),
            Err(Attempt::Retry { error, .. } | Attempt::Reauth(error) | Attempt::Fail(error)) => {
                Err(error)
            }
        }
    }

    /// `GET path`, retried like every read; the body unparsed, for callers that decode
    /// it into their own types in one pass.
    pub async fn get(&self, path: &str) -> Result<Vec<u8>, ProviderError> {
        self.send_bytes(Method::GET, path, None, Idempotence::Safe)
            .await
            .map(|(_, bytes)| bytes)
    }

    /// Like [`send`](Self::send), but returns the body unparsed, for callers that
    /// decode it into their own types in one pass. Fails with [`ProviderError::Halt`]
    /// when no request of the provider completes for the stall limit meanwhile.
    pub async fn send_bytes(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idem: Idempotence,
    ) -> Result<(StatusCode, Vec<u8>), ProviderError> {
        let label = format!("{method} {}", path.split('?').next().unwrap_or(path));
        let stall = &self.config.stall;
        let _in_flight = stall.begin(&label);
        tokio::select! {
            result = self.retrying(method, path, body, idem, &label) => result,
            why = stall.stalled() => Err(ProviderError::Halt(why)),
        }
    }

    /// Sends the request until it succeeds, fails for good or runs out of retries.
    async fn retrying(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idem: Idempotence,
        label: &str,
    ) -> Result<(StatusCode, Vec<u8>), ProviderError> {
        let reauthed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let backoff = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(50))
            .with_max_delay(Duration::from_secs(20))
            .with_max_times(self.config.max_retries)
            .with_jitter();
        let result = (|| async {
            match self.attempt(&method, path, body, idem, label).await {
                Ok(v) => Ok(v),
                Err(Attempt::Retry {
                    after: Some(after),
                    error,
                }) if after > self.config.stall.limit() => {
                    Err(Attempt::Fail(self.beyond_stall(after, error)))
                }
                Err(Attempt::Reauth(e))
                    if !reauthed.swap(true, std::sync::atomic::Ordering::SeqCst) =>
                {
                    *self.token.lock().await = None;
                    Err(Attempt::Retry {
                        after: Some(Duration::ZERO),
                        error: e,
                    })
                }
                Err(Attempt::Reauth(e)) => Err(Attempt::Fail(e)),
                Err(other) => Err(other),
            }
        })
        .retry(backoff)
        .when(|a| matches!(a, Attempt::Retry { .. }))
        .adjust(|a, planned| match a {
            Attempt::Retry {
                after: Some(after), ..
            } => planned.map(|_| (*after).min(MAX_RETRY_WAIT)),
            _ => planned,
        })
        .notify(|a, wait| {
            if let Attempt::Retry { error, .. } = a {
                tracing::debug!("{label}: {error}; retrying in {wait:?}");
            }
        })
        .await;
        result.map_err(|a| match a {
            Attempt::Retry { error, .. } | Attempt::Reauth(error) | Attempt::Fail(error) => error,
        })
    }

    /// Why a retry the server asks to wait `after` for is not sent: the wait is longer
    /// than the stall limit, so waiting would only end in a stall.
    fn beyond_stall(&self, after: Duration, error: ProviderError) -> ProviderError {
        ProviderError::Halt(format!(
            "{error}; the server asked for a wait of {}s before a retry, beyond the stall limit of {:?} (--stall-timeout), so roster stopped at once",
            after.as_secs(),
            self.config.stall.limit()
        ))
    }

    /// Sends one request once: the answer, or how its failure is to be handled.
    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
        idem: Idempotence,
        label: &str,
    ) -> Result<(StatusCode, Vec<u8>), Attempt> {
        let req = self.request(method, path, body, label).await?;
        let unknown = |message: String| {
            uncertain(
                idem,
                ProviderError::Transport {
                    request: label.to_string(),
                    message,
                },
            )
        };
        let resp = req.send().await.map_err(|e| unknown(describe(&e)))?;
        let status = resp.status();
        let retry_after = retry_after(resp.headers());
        let ease = ease_off(resp.headers());
        let bytes = read_body(resp).await.map_err(|e| match e {
            BodyError::TooLarge => Attempt::Fail(ProviderError::Decode {
                request: label.to_string(),
                message: format!(
                    "the response is larger than {} MiB",
                    MAX_BODY_BYTES / (1024 * 1024)
                ),
            }),
            BodyError::Io(msg) => unknown(msg),
        })?;
        if status.is_success() {
            // Nearly out of the vendor's budget: spread what is left until it resets.
            if let Some(pause) = ease {
                tracing::debug!(?pause, "{label}: nearly at the vendor's rate limit");
                tokio::time::sleep(pause).await;
            }
            if bytes.framed {
                return Ok((status, bytes.bytes));
            }
            return whole(bytes.bytes, idem, label).map(|bytes| (status, bytes));
        }
        Err(self.refused(status, &bytes.bytes, retry_after, idem, label))
    }

    /// The request, authenticated and with its body, once the rate limit lets it go.
    async fn request(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
        label: &str,
    ) -> Result<reqwest::RequestBuilder, Attempt> {
        if let Some(l) = &self.limiter {
            l.until_ready().await;
        }
        if let Some(b) = &self.config.budget {
            b.until_ready().await;
        }
        let url = format!("{}{}", self.config.base_url, path);
        let mut req = self
            .client
            .request(method.clone(), &url)
            .timeout(self.config.timeout)
            .header("accept", "application/json");
        req = match &self.auth {
            Auth::Basic { user, secret, .. } => req.basic_auth(user, Some(secret.expose())),
            _ => req.bearer_auth(self.token(label).await?.expose()),
        };
        if let Some(b) = body {
            req = req.json(b);
        }
        Ok(req)
    }

    /// Whether a refused request is retried, retried with a new token, or failed.
    fn refused(
        &self,
        status: StatusCode,
        bytes: &[u8],
        retry_after: Option<Duration>,
        idem: Idempotence,
        label: &str,
    ) -> Attempt {
        let error = ProviderError::Api {
            request: label.to_string(),
            status: status.as_u16(),
            message: error_message(bytes),
        };
        match status {
            StatusCode::UNAUTHORIZED => Attempt::Reauth(self.unauthorized(label)),
            // A token without the scope a call needs: the server's answer does not say
            // which scope, so the client names the one it asked for.
            StatusCode::FORBIDDEN if matches!(self.auth, Auth::ClientCredentials { .. }) => {
                Attempt::Fail(self.unauthorized(label))
            }
            StatusCode::TOO_MANY_REQUESTS => Attempt::Retry {
                after: retry_after,
                error,
            },
            s if s.is_server_error() && idem == Idempotence::Safe => Attempt::Retry {
                after: retry_after,
                error,
            },
            s if s.is_server_error() => {
                Attempt::Fail(ProviderError::OutcomeUnknown(Box::new(error)))
            }
            _ => Attempt::Fail(error),
        }
    }

    fn unauthorized(&self, label: &str) -> ProviderError {
        let hint = match &self.auth {
            Auth::ClientCredentials { hint, .. } => hint.clone(),
            Auth::Bearer { hint, .. } | Auth::Basic { hint, .. } => hint.to_string(),
        };
        ProviderError::Unauthorized {
            request: label.to_string(),
            hint,
        }
    }

    /// A valid bearer token, fetched or refreshed when needed.
    async fn token(&self, label: &str) -> Result<Secret, Attempt> {
        let (token_url, client_id, client_secret, scope, hint) = match &self.auth {
            Auth::Bearer { token, .. } => return Ok(token.clone()),
            Auth::Basic { secret, .. } => return Ok(secret.clone()),
            Auth::ClientCredentials {
                token_url,
                client_id,
                client_secret,
                scope,
                hint,
            } => (token_url, client_id, client_secret, scope, hint),
        };
        let mut guard = self.token.lock().await;
        if let Some(t) = guard.as_ref()
            && Instant::now() < t.refresh_at
        {
            return Ok(t.value.clone());
        }
        // Client credentials as HTTP Basic, scopes asked for explicitly (Talkdesk:
        // reference/client-credentials-sts-token).
        let mut form = vec![("grant_type", "client_credentials")];
        if !scope.is_empty() {
            form.push(("scope", scope));
        }
        let req = self
            .client
            .post(token_url)
            .timeout(self.config.timeout)
            .basic_auth(client_id, Some(client_secret.expose()));
        let request = format!("POST {} (token for {label})", path_of(token_url));
        let transient = |message: String| Attempt::Retry {
            after: None,
            error: ProviderError::Transport {
                request: request.clone(),
                message,
            },
        };
        let resp = req
            .form(&form)
            .send()
            .await
            .map_err(|e| transient(describe(&e)))?;
        let status = resp.status();
        let after = retry_after(resp.headers());
        let bytes = read_body(resp)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge => transient("token response too large".into()),
                BodyError::Io(m) => transient(m),
            })?
            .bytes;
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            return Err(Attempt::Retry {
                after,
                error: ProviderError::Api {
                    request,
                    status: status.as_u16(),
                    message: error_message(&bytes),
                },
            });
        }
        if !status.is_success() {
            return Err(Attempt::Fail(ProviderError::Unauthorized {
                request,
                hint: format!(
                    "the token endpoint refused the client or its scopes ({}: {}): {hint}; check TALKDESK_CLIENT_ID and TALKDESK_CLIENT_SECRET",
                    status.as_u16(),
                    error_message(&bytes)
                ),
            }));
        }
        // As for API answers: unparsable JSON is most likely a cut connection.
        let v = parse_json(&bytes).map_err(|m| Attempt::Retry {
            after: None,
            error: ProviderError::Decode {
                request: request.clone(),
                message: m,
            },
        })?;
        let Some(access) = v.get("access_token").and_then(Value::as_str) else {
            return Err(Attempt::Fail(ProviderError::Decode {
                request,
                message: "no access_token in the token response".into(),
            }));
        };
        let ttl = v.get("expires_in").and_then(Value::as_u64).unwrap_or(3600);
        // Refresh a minute early, or halfway through a short-lived token.
        let early = if ttl > 120 { ttl - 60 } else { ttl / 2 };
        let value = Secret::new(access);
        *guard = Some(Token {
            value: value.clone(),
            refresh_at: Instant::now() + Duration::from_millis(early * 1000),
        });
        Ok(value)
    }
}

/// Whether a failure the server may or may not have acted on is retried: only when
/// the request is safe to send twice; otherwise its outcome is unknown.
fn uncertain(idem: Idempotence, error: ProviderError) -> Attempt {
    match idem {
        Idempotence::Safe => Attempt::Retry { after: None, error },
        Idempotence::Unsafe => Attempt::Fail(ProviderError::OutcomeUnknown(Box::new(error))),
    }
}

/// Whether a successful answer's body without a declared length arrived whole.
fn whole(bytes: Vec<u8>, idem: Idempotence, label: &str) -> Result<Vec<u8>, Attempt> {
    // A body cut short by a dropped connection can arrive looking complete; JSON that
    // does not parse is treated like the broken connection it most likely is. The
    // caller still reports a server that always sends garbage, once the retries are
    // spent.
    let truncated = !bytes.iter().all(u8::is_ascii_whitespace)
        && serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_err();
    if truncated {
        let message = parse_json(&bytes).err().unwrap_or_default();
        return Err(uncertain(
            idem,
            ProviderError::Decode {
                request: label.to_string(),
                message,
            },
        ));
    }
    Ok(bytes)
}

fn path_of(url: &str) -> &str {
    url.find("://")
        .and_then(|i| url[i + 3..].find('/').map(|j| &url[i + 3 + j..]))
        .unwrap_or(url)
}

/// A transport error's message without the URL (which may carry a query) repeated.
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the connection broke while reading the response"
    } else {
        "the request failed"
    };
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}

enum BodyError {
    TooLarge,
    Io(String),
}

/// A response body, and whether it came as long as its `Content-Length` said.
struct Body {
    bytes: Vec<u8>,
    /// The HTTP client fails a body shorter than its declared length, so a body that
    /// declared one and arrived needs no check that it is whole.
    framed: bool,
}

async fn read_body(mut resp: reqwest::Response) -> Result<Body, BodyError> {
    let declared = resp.content_length();
    if declared.is_some_and(|n| n as usize > MAX_BODY_BYTES) {
        return Err(BodyError::TooLarge);
    }
    let mut out = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if out.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(BodyError::TooLarge);
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => {
                let framed = declared.is_some_and(|n| n as usize == out.len());
                return Ok(Body { bytes: out, framed });
            }
            Err(e) => return Err(BodyError::Io(describe(&e))),
        }
    }
}

fn parse_json(bytes: &[u8]) -> Result<Value, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let start = String::from_utf8_lossy(&bytes[..bytes.len().min(60)]).replace('\n', " ");
        format!("the response is not JSON ({e}); it starts with {start:?}")
    })
}

/// The message of an error body: `message`, `error_description`, `detail`, or the
/// start of the text.
fn error_message(bytes: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        // CloudTalk wraps everything, errors included, in `responseData`.
        let v = v.get(ENVELOPE).cloned().unwrap_or(v);
        for key in ["message", "error_description", "detail", "error"] {
            if let Some(m) = v.get(key).and_then(Value::as_str) {
                // The SCIM error schema adds a machine-readable kind.
                return match v.get("scimType").and_then(Value::as_str) {
                    Some(kind) => format!("{m} (scimType {kind})"),
                    None => m.to_string(),
                };
            }
        }
    }
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
        .trim()
        .to_string();
    if text.is_empty() {
        "(empty body)".into()
    } else {
        text
    }
}

/// Requests left in the vendor's window at or below which roster slows down.
const EASE_BELOW: u64 = 5;

/// A pause that spreads the requests CloudTalk says are left
/// (`X-CloudTalkAPI-Remaining`) until its window resets (`X-CloudTalkAPI-ResetTime`),
/// so a shared budget runs low without a 429.
fn ease_off(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
    let remaining = number(headers::REMAINING).filter(|r| *r <= EASE_BELOW)?;
    let reset = number(headers::RESET_TIME)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let window = Duration::from_secs(reset.saturating_sub(now).min(60));
    Some(window / (remaining as u32 + 1))
}

/// How long the server asks us to wait: `Retry-After` in seconds, as asked, or until
/// CloudTalk's `X-CloudTalkAPI-ResetTime` (CloudTalk sends no Retry-After). The reset is
/// a Unix time read against this machine's clock, so it is held to CloudTalk's window
/// of a minute and then some: a skewed clock neither waits long nor fails.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    if headers.get(reqwest::header::RETRY_AFTER).is_none()
        && let Some(reset) = headers
            .get(headers::RESET_TIME)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        return Some(Duration::from_secs(reset.saturating_sub(now).clamp(1, 120)));
    }
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        let auth = Auth::ClientCredentials {
            token_url: "http://x/oauth/token".into(),
            client_id: "id".into(),
            client_secret: s,
            scope: String::new(),
            hint: "X".into(),
        };
        assert!(!format!("{auth:?}").contains("hunter2"));
    }

    #[test]
    fn error_messages_from_bodies() {
        assert_eq!(
            error_message(br#"{"code":"x","message":"Duplicate email"}"#),
            "Duplicate email"
        );
        assert_eq!(
            error_message(b"<html>Bad gateway</html>"),
            "<html>Bad gateway</html>"
        );
        assert_eq!(error_message(b""), "(empty body)");
        assert_eq!(
            error_message(br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidValue","detail":"unknown team \"X\" for a@acme.example"}"#),
            "unknown team \"X\" for a@acme.example (scimType invalidValue)"
        );
        assert!(parse_json(b"<html>").unwrap_err().contains("not JSON"));
    }

    #[test]
    fn token_path() {
        assert_eq!(
            path_of("https://acme.talkdeskid.com/oauth/token"),
            "/oauth/token"
        );
    }

    #[test]
    fn a_low_remaining_budget_spreads_the_rest_until_the_reset() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let headers = |remaining: u64| {
            let mut h = reqwest::header::HeaderMap::new();
            h.insert("x-cloudtalkapi-remaining", remaining.into());
            h.insert("x-cloudtalkapi-resettime", (now + 30).into());
            h
        };
        assert_eq!(ease_off(&headers(40)), None, "plenty left: full pace");
        let pause = ease_off(&headers(2)).unwrap();
        assert!(
            pause >= Duration::from_secs(9) && pause <= Duration::from_secs(10),
            "{pause:?}"
        );
    }
}
