//! Shared by `plan` and `apply`: load the roster, reach the account (real or sandbox),
//! read it, and turn problems into located diagnostics.

use std::path::{Path, PathBuf};

use anyhow::Context;

use roster_core::config::{self, Diagnostic, Diagnostics, Loaded, ProviderKind, Region, Roster};
use roster_core::model::Account;
use roster_core::plan::{self, Plan};
use roster_providers::cloudtalk::{CloudTalk, Settings as CloudTalkSettings};
use roster_providers::http::{self, Secret};
use roster_providers::talkdesk::{Settings, Talkdesk, scim_token_warning};
use roster_providers::{AnyProvider, ReadScope, Reader};
use roster_sandbox as sandbox;

use super::env_vars;

/// Where the sandbox state lives when `--sandbox` has no value.
pub const DEFAULT_SANDBOX_STATE: &str = ".roster/sandbox.json";

/// Flags shared by the commands that talk to an account.
#[derive(Debug, Clone, clap::Args)]
pub struct Connection {
    /// Run against the embedded sandbox over a state file (default .roster/sandbox.json,
    /// seeded from the roster with some drift when absent). Give a file with `=`.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = DEFAULT_SANDBOX_STATE, value_name = "STATE")]
    pub sandbox: Option<PathBuf>,
    /// Requests in flight at once (page reads, and changes within an apply phase).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Client-side limit on requests per second.
    #[arg(long, value_name = "RPS")]
    pub max_rps: Option<std::num::NonZeroU32>,
    /// Retries of a transient failure (429, 5xx, broken connection) per request.
    #[arg(long, default_value_t = 10)]
    pub retries: usize,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,
    /// Stop (exit 1) when requests are in flight and none completes for this many
    /// seconds; a retry the server asks to wait longer than this for fails at once.
    #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub stall_timeout: u64,
}

/// A connected provider, and the sandbox behind it when there is one.
pub struct Connected {
    /// The provider.
    pub provider: AnyProvider,
    /// What names the account for the apply lock: provider, account and region, and
    /// the server when an address is overridden (or the sandbox's state file).
    pub lock_key: String,
    /// The in-process sandbox, kept alive while the command runs.
    _sandbox: Option<sandbox::Handle>,
}

/// Loads a roster (printing its warnings) or returns its diagnostics as the error.
pub fn load(path: &Path) -> Result<Loaded, Diagnostics> {
    load_sources(config::read_sources(path)?)
}

/// [`load`] of files already read.
pub fn load_sources(sources: config::Sources) -> Result<Loaded, Diagnostics> {
    let started = std::time::Instant::now();
    let loaded = config::load_sources(sources)?;
    tracing::debug!(users = loaded.roster.users.len(), elapsed = ?started.elapsed(), "roster loaded");
    for w in &loaded.warnings {
        eprintln!("{}", w.as_warning());
    }
    Ok(loaded)
}

/// Loads the roster at `path` and plans it against the account. The account is read
/// while the users load when the roster's provider and policy can be read first
/// (`config::header`) and the sandbox, if any, needs no seeding from the roster; the
/// roster's diagnostics win over anything the read met meanwhile. The last work of
/// `roster plan`: what it loaded and read is not freed.
pub async fn load_and_plan(
    path: &Path,
    conn: &Connection,
    opts: &plan::Options,
) -> anyhow::Result<Plan> {
    let sources = config::read_sources(path)?;
    let seeded = conn.sandbox.as_ref().is_none_or(|state| state.exists());
    let Some(header) = config::header(&sources).filter(|_| seeded) else {
        let loaded = load_sources(sources)?;
        let connected = connect(&loaded, conn, false).await?;
        return make_plan(&loaded, &connected.provider, opts)
            .await
            .map(|(p, _)| p);
    };
    let (scope_tx, scope_rx) = tokio::sync::oneshot::channel();
    let loading = tokio::task::spawn_blocking(move || {
        let loaded = load_sources(sources);
        let _ = scope_tx.send(loaded.as_ref().ok().map(scope));
        loaded
    });
    let p = &header.provider;
    let account = Target {
        kind: p.kind,
        name: &p.account,
        region: p.region,
    };
    let started = std::time::Instant::now();
    let read = async {
        let connected = connect_to(
            account,
            Seed {
                roster: &header,
                origin: "the roster",
            },
            conn,
            false,
        )
        .await?;
        let live = connected
            .provider
            .read_when(async { scope_rx.await.ok().flatten() })
            .await
            .context("cannot read the account")?;
        anyhow::Ok((connected, live))
    };
    let (loaded, read) = tokio::join!(loading, read);
    let loaded = loaded.context("the roster loader stopped")??;
    let (connected, live) = read?;
    tracing::debug!(users = live.users.len(), elapsed = ?started.elapsed(), "account read");
    let plan = diff(&loaded, &live, &connected.provider, opts);
    // The plan is what is left of this process's work: the roster and the account are
    // left for the system to reclaim at exit (freeing 100,000 users of each, one
    // allocation at a time, was 3% of such a plan's time).
    std::mem::forget((loaded, live));
    plan
}

/// Connects to the account the roster names, or to the sandbox (seeded from the
/// roster when its state file is absent). `write` asks for the write scopes (apply).
pub async fn connect(loaded: &Loaded, conn: &Connection, write: bool) -> anyhow::Result<Connected> {
    let p = &loaded.roster.provider;
    let account = Target {
        kind: p.kind,
        name: &p.account,
        region: p.region,
    };
    connect_to(
        account,
        Seed {
            roster: &loaded.roster,
            origin: "the roster",
        },
        conn,
        write,
    )
    .await
}

/// Which account to reach.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The provider.
    pub kind: ProviderKind,
    /// The account name (Talkdesk: the subdomain the token URL derives from).
    pub name: &'a str,
    /// The Talkdesk region.
    pub region: Region,
}

/// What a new sandbox is seeded from: a roster, and how to name it to the operator.
#[derive(Debug, Clone, Copy)]
pub struct Seed<'a> {
    /// The roster whose users the sandbox account starts with.
    pub roster: &'a Roster,
    /// "the roster", or "the built-in example account".
    pub origin: &'a str,
}

/// Connects to `account`, or to the sandbox seeded from `seed` when its state file is
/// absent.
pub async fn connect_to(
    account: Target<'_>,
    seed: Seed<'_>,
    conn: &Connection,
    write: bool,
) -> anyhow::Result<Connected> {
    let handle = match &conn.sandbox {
        Some(state_path) => Some(start_sandbox(state_path, seed).await?),
        None => None,
    };
    let timeout = std::time::Duration::from_secs(conn.timeout);
    let stall_limit = std::time::Duration::from_secs(conn.stall_timeout);
    // roster's share of the vendor's limit: one pace for every client of the provider.
    let budget = seed
        .roster
        .policy
        .api_budget_per_minute()
        .and_then(|n| http::budget(std::time::Duration::from_secs_f64(60.0 / n)));
    // The addresses that differ from the vendor's own: they name the server too.
    let mut overridden: Vec<String> = Vec::new();
    let provider = match account.kind {
        ProviderKind::Cloudtalk => {
            let mut settings = match &handle {
                Some(h) => CloudTalkSettings {
                    base_url: h.url(),
                    key_id: sandbox::CLIENT_ID.into(),
                    key_secret: Secret::new(sandbox::CLIENT_SECRET),
                    retries: 10,
                    timeout,
                    stall_limit,
                    per_minute: None,
                    budget: None,
                },
                None => env_vars::cloudtalk()?,
            };
            settings.retries = conn.retries;
            settings.timeout = timeout;
            settings.stall_limit = stall_limit;
            settings.budget.clone_from(&budget);
            if settings.base_url != CloudTalkSettings::DEFAULT_BASE_URL {
                overridden.push(settings.base_url.clone());
            }
            AnyProvider::CloudTalk(Box::new(CloudTalk::new(settings)?))
        }
        ProviderKind::Talkdesk | ProviderKind::TalkdeskScim => {
            let mut settings = match &handle {
                Some(h) => Settings::at(&h.url(), sandbox::CLIENT_ID, sandbox::CLIENT_SECRET),
                None => env_vars::talkdesk(account.name, account.region)?,
            };
            settings.write = write;
            settings.concurrency = conn.concurrency as usize;
            settings.max_rps = conn.max_rps;
            settings.retries = conn.retries;
            settings.timeout = timeout;
            settings.stall_limit = stall_limit;
            settings.budget = budget;
            let vendor = Settings::new(account.name, account.region);
            for (url, own) in [
                (&settings.token_url, &vendor.token_url),
                (&settings.base_url, &vendor.base_url),
                (&settings.scim_url, &vendor.scim_url),
            ] {
                if url != own {
                    overridden.push(url.clone());
                }
            }
            if let Some(warning) = settings.scim_token.as_ref().and_then(scim_token_warning) {
                eprintln!("warning: {warning}");
            }
            AnyProvider::Talkdesk(Box::new(Talkdesk::new(settings)?))
        }
    };
    let lock_key = match &conn.sandbox {
        // The in-process sandbox listens anew each run: its state file is the account.
        Some(path) => format!(
            "sandbox-{}",
            std::path::absolute(path)
                .unwrap_or_else(|_| path.clone())
                .display()
        ),
        None => {
            let urls: Vec<&str> = overridden.iter().map(String::as_str).collect();
            // talkdesk and talkdesk-scim reach one account; CloudTalk has no regions.
            let (vendor, region) = match account.kind {
                ProviderKind::Cloudtalk => ("cloudtalk", String::new()),
                _ => ("talkdesk", format!("{:?}", account.region).to_lowercase()),
            };
            super::identity::lock_key(vendor, account.name, &region, &urls).await
        }
    };
    Ok(Connected {
        provider,
        lock_key,
        _sandbox: handle,
    })
}

/// Starts the in-process sandbox over `state_path`, seeding it from `seed` when absent.
async fn start_sandbox(state_path: &Path, seed: Seed<'_>) -> anyhow::Result<sandbox::Handle> {
    let state = if state_path.exists() {
        sandbox::State::load(state_path)
            .with_context(|| format!("cannot read the sandbox state {}", state_path.display()))?
    } else {
        let s = sandbox::seed::from_roster(seed.roster);
        s.save(state_path)
            .with_context(|| format!("cannot write the sandbox state {}", state_path.display()))?;
        eprintln!(
            "sandbox: seeded {} from {}, with drift",
            state_path.display(),
            seed.origin
        );
        s
    };
    let cfg = sandbox::Config {
        state_file: Some(state_path.to_path_buf()),
        ..sandbox::Config::default()
    };
    sandbox::spawn(cfg, state)
        .await
        .context("cannot start the sandbox")
}

/// What the plan needs read: phone settings only for users that declare them.
pub fn scope(loaded: &Loaded) -> ReadScope {
    ReadScope {
        addons: !loaded.roster.policy.addons.is_empty()
            || loaded.roster.users.iter().any(|u| u.addons.is_some()),
        phone_for: loaded
            .roster
            .users
            .iter()
            .filter(|u| u.phone.is_some())
            .map(|u| u.email.to_lowercase())
            .collect(),
        phone_for_all: false,
    }
}

/// Reads the live account and diffs the roster against it.
pub async fn make_plan(
    loaded: &Loaded,
    provider: &AnyProvider,
    opts: &plan::Options,
) -> anyhow::Result<(Plan, Account)> {
    let started = std::time::Instant::now();
    let live = provider
        .read(&scope(loaded))
        .await
        .context("cannot read the account")?;
    tracing::debug!(users = live.users.len(), elapsed = ?started.elapsed(), "account read");
    let plan = diff(loaded, &live, provider, opts)?;
    Ok((plan, live))
}

/// Diffs the roster against the account read, locating the planner's errors.
fn diff(
    loaded: &Loaded,
    live: &Account,
    provider: &AnyProvider,
    opts: &plan::Options,
) -> anyhow::Result<Plan> {
    let started = std::time::Instant::now();
    let plan =
        plan::diff(&loaded.roster, live, &provider.capabilities(), opts).map_err(|errs| {
            Diagnostics(
                errs.into_iter()
                    .map(|e| Diagnostic::new(loaded.map.value(&e.pointer), e.message).hint(e.hint))
                    .collect(),
            )
        })?;
    tracing::debug!(changes = plan.changes.len(), elapsed = ?started.elapsed(), "diffed");
    Ok(plan)
}

/// The runtime of a command that only reads the account (`plan`): one thread when the
/// account is remote, since the client's work is waiting on the network and one thread
/// spares the hand-offs between threads (a plan of 100,000 users: 15% less CPU, 6%
/// faster; the roster still loads on threads of its own); [`runtime`] when the sandbox
/// runs in this process, so that it serves while the client works.
pub fn reading_runtime(conn: &Connection) -> anyhow::Result<tokio::runtime::Runtime> {
    if conn.sandbox.is_some() {
        return runtime();
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Two workers: the in-process sandbox serves while the client waits on it.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
