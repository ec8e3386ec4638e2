//! Every environment variable roster reads, and the one place that reads them: the
//! libraries take what they need as arguments, so what configures roster is listed here
//! and in `--help` (see [`HELP`]).

use std::num::NonZeroU32;
use std::path::PathBuf;

use roster_core::config::Region;
use roster_core::review::{ApprovalKey, KeyError};
use roster_core::secret::Secret;
use roster_github::Env as GithubEnv;
use roster_providers::ProviderError;
use roster_providers::{cloudtalk, talkdesk};

/// Talkdesk OAuth client ID (client credentials).
pub const TALKDESK_CLIENT_ID: &str = "TALKDESK_CLIENT_ID";
/// Talkdesk OAuth client secret.
pub const TALKDESK_CLIENT_SECRET: &str = "TALKDESK_CLIENT_SECRET";
/// A Talkdesk SCIM bearer token, for SCIM without the OAuth client.
pub const TALKDESK_SCIM_TOKEN: &str = "TALKDESK_SCIM_TOKEN";
/// The Talkdesk API base instead of the region's (a test server).
pub const TALKDESK_BASE_URL: &str = "TALKDESK_BASE_URL";
/// The Talkdesk token endpoint instead of the account's.
pub const TALKDESK_TOKEN_URL: &str = "TALKDESK_TOKEN_URL";
/// The Talkdesk SCIM base instead of the API base's.
pub const TALKDESK_SCIM_URL: &str = "TALKDESK_SCIM_URL";
/// SCIM requests per second, for a server that allows more than Talkdesk's 4.
pub const TALKDESK_SCIM_RPS: &str = "TALKDESK_SCIM_RPS";
/// CloudTalk API access key ID.
pub const CLOUDTALK_ACCESS_KEY_ID: &str = "CLOUDTALK_ACCESS_KEY_ID";
/// CloudTalk API access key secret.
pub const CLOUDTALK_ACCESS_KEY_SECRET: &str = "CLOUDTALK_ACCESS_KEY_SECRET";
/// The CloudTalk API base instead of the vendor's.
pub const CLOUDTALK_BASE_URL: &str = "CLOUDTALK_BASE_URL";
/// CloudTalk requests per minute instead of the documented 60.
pub const CLOUDTALK_PER_MINUTE: &str = "CLOUDTALK_PER_MINUTE";
/// The key that signs approvals (only the default branch's jobs hold it).
pub const ROSTER_APPROVAL_KEY: &str = roster_core::review::APPROVAL_KEY_VAR;
/// The day plans are made for instead of today (`YYYY-MM-DD`).
pub const ROSTER_NOW: &str = "ROSTER_NOW";
/// The login whose comments hold approved plans.
pub const ROSTER_BOT_LOGIN: &str = "ROSTER_BOT_LOGIN";
/// Where apply's account locks live.
pub const ROSTER_STATE_DIR: &str = "ROSTER_STATE_DIR";
/// Any non-empty value turns colour off.
pub const NO_COLOR: &str = "NO_COLOR";
/// `true` inside GitHub Actions: errors are also printed as `::error` annotations.
pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";

/// The credential and host variables, for the end of `--help`.
pub const HELP: &str = "\
Environment:
  TALKDESK_CLIENT_ID, TALKDESK_CLIENT_SECRET  Talkdesk OAuth client (client credentials)
  TALKDESK_SCIM_TOKEN                         Talkdesk SCIM bearer token (SCIM without the client)
  TALKDESK_BASE_URL, TALKDESK_TOKEN_URL,
  TALKDESK_SCIM_URL, TALKDESK_SCIM_RPS        other hosts or SCIM pace (test servers)
  CLOUDTALK_ACCESS_KEY_ID,
  CLOUDTALK_ACCESS_KEY_SECRET                 CloudTalk API key
  CLOUDTALK_BASE_URL, CLOUDTALK_PER_MINUTE    another host or pace (test servers)
  ROSTER_APPROVAL_KEY                         signs and checks approvals (roster github)
  ROSTER_NOW                                  the day to plan for instead of today
  ROSTER_BOT_LOGIN                            the login of approved comments (roster github)
  ROSTER_STATE_DIR                            where apply's account locks live
  NO_COLOR                                    no colour
  GITHUB_*                                    the GitHub Actions step (roster github)
  RUST_LOG                                    log filter (with -v)";

/// A variable's value; unset and empty are the same.
fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Whether colour is wanted: only on a terminal, and not with `--no-color` or
/// `NO_COLOR`.
pub fn color_wanted(no_color_flag: bool) -> bool {
    use std::io::IsTerminal;
    !no_color_flag && std::io::stdout().is_terminal() && var(NO_COLOR).is_none()
}

/// Whether this runs as a GitHub Actions step.
pub fn in_github_actions() -> bool {
    var(GITHUB_ACTIONS).as_deref() == Some("true")
}

/// The approval key from `ROSTER_APPROVAL_KEY`.
pub fn approval_key() -> Result<ApprovalKey, KeyError> {
    ApprovalKey::new(&Secret::new(var(ROSTER_APPROVAL_KEY).unwrap_or_default()))
}

/// The directory locks live in: `ROSTER_STATE_DIR`, else `$XDG_STATE_HOME/roster`, else
/// `~/.local/state/roster`, else the temporary directory.
pub fn state_dir() -> PathBuf {
    let dir = |k: &str| var(k).map(PathBuf::from);
    dir(ROSTER_STATE_DIR)
        .or_else(|| dir("XDG_STATE_HOME").map(|d| d.join("roster")))
        .or_else(|| dir("HOME").map(|h| h.join(".local/state/roster")))
        .unwrap_or_else(|| std::env::temp_dir().join("roster"))
}

/// Who runs this process and where, for the lock file: `USER` (else `LOGNAME`, else
/// the name of the process's user ID), and the host name.
pub fn user_and_host() -> (String, String) {
    let user = var("USER")
        .or_else(|| var("LOGNAME"))
        .or_else(user_of_uid)
        .unwrap_or_else(|| "unknown user".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| var("HOSTNAME"))
        .unwrap_or_else(|| "this machine".into());
    (user, host)
}

/// Talkdesk settings for `account` in `region`, from the credential and host variables.
pub fn talkdesk(account: &str, region: Region) -> Result<talkdesk::Settings, ProviderError> {
    let scim_rps = match var(TALKDESK_SCIM_RPS) {
        Some(rps) => Some(rps.parse::<NonZeroU32>().map_err(|_| {
            ProviderError::Setup(format!(
                "{TALKDESK_SCIM_RPS} must be a positive whole number, not {rps:?}"
            ))
        })?),
        None => None,
    };
    let given = talkdesk::Given {
        client: var(TALKDESK_CLIENT_ID)
            .zip(var(TALKDESK_CLIENT_SECRET))
            .map(|(id, secret)| (id, Secret::new(secret))),
        scim_token: var(TALKDESK_SCIM_TOKEN).map(Secret::new),
        base_url: var(TALKDESK_BASE_URL),
        token_url: var(TALKDESK_TOKEN_URL),
        scim_url: var(TALKDESK_SCIM_URL),
        scim_rps,
    };
    if given.client.is_none() && given.scim_token.is_none() {
        return Err(ProviderError::Setup(format!(
            "{TALKDESK_CLIENT_ID} and {TALKDESK_CLIENT_SECRET} are not set: export the ID and secret of an OAuth client with the scopes users:read, scim, queues:read, queues-users:read (and queues:write to apply), or {TALKDESK_SCIM_TOKEN}; or use --sandbox"
        )));
    }
    talkdesk::Settings::configured(account, region, given)
}

/// CloudTalk settings from its access key and the host and pace variables.
pub fn cloudtalk() -> Result<cloudtalk::Settings, ProviderError> {
    let need = |k: &str| {
        var(k).ok_or_else(|| {
            ProviderError::Setup(format!(
                "{k} is not set: export {CLOUDTALK_ACCESS_KEY_ID} and {CLOUDTALK_ACCESS_KEY_SECRET} (Dashboard → Settings → API keys), or use --sandbox"
            ))
        })
    };
    let mut s = cloudtalk::Settings::new(
        need(CLOUDTALK_ACCESS_KEY_ID)?,
        Secret::new(need(CLOUDTALK_ACCESS_KEY_SECRET)?),
    );
    if let Some(url) = var(CLOUDTALK_BASE_URL) {
        s.base_url = url;
    }
    if let Some(pace) = var(CLOUDTALK_PER_MINUTE).and_then(|v| v.parse().ok()) {
        s.per_minute = Some(pace);
    }
    Ok(s)
}

/// The GitHub Actions step: the token and repository are required.
pub fn github() -> anyhow::Result<GithubEnv> {
    let need = |k: &str| {
        var(k).ok_or_else(|| {
            anyhow::anyhow!("{k} is not set: run this inside GitHub Actions, or set it")
        })
    };
    Ok(GithubEnv {
        api: var("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into()),
        token: Secret::new(need("GITHUB_TOKEN")?),
        repo: need("GITHUB_REPOSITORY")?,
        event: var("GITHUB_EVENT_PATH").map(PathBuf::from),
        sha: var("GITHUB_SHA"),
        git_ref: var("GITHUB_REF"),
        run: var("GITHUB_RUN_ID"),
        server: var("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into()),
        output: var("GITHUB_OUTPUT").map(PathBuf::from),
        summary: var("GITHUB_STEP_SUMMARY").map(PathBuf::from),
    })
}

/// The name `/etc/passwd` gives this process's real user ID, or `uid N` when it names
/// none (a container's user often has no entry).
fn user_of_uid() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let name = passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)? == uid).then(|| name.to_string())
    });
    Some(name.unwrap_or_else(|| format!("uid {uid}")))
}
