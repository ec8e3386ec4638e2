//! `roster sandbox serve`: the vendor emulators on a real port.

use std::io::Write;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;

use super::Outcome;
use super::target::runtime;
use roster_core::config;
use roster_sandbox as sandbox;

/// `roster sandbox ...`
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the emulated APIs; prints `listening on http://HOST:PORT` first.
    Serve(Serve),
}

#[derive(Debug, clap::Args)]
struct Serve {
    /// State file, read at start and rewritten atomically after every change.
    #[arg(long, default_value = super::target::DEFAULT_SANDBOX_STATE)]
    state: PathBuf,
    /// When the state file is absent, seed it from this roster (with drift).
    #[arg(long, value_name = "ROSTER")]
    seed: Option<PathBuf>,
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Delay added to every response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of requests that fail (429 with and without Retry-After, 500, dropped).
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Seed of the injected faults: the same seed and requests meet the same faults
    /// (default: a random seed, printed on stderr).
    #[arg(long, value_name = "N")]
    fault_seed: Option<u64>,
    /// Requests per second served before answering 429; 0 switches every emulated
    /// vendor limit off, SCIM's included (to measure roster's own cost).
    #[arg(long, value_name = "RPS")]
    rate_limit: Option<u32>,
    /// Lifetime of issued access tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    token_ttl: u64,
    /// The kinds of fault --fault-rate injects (default: all but slow).
    #[arg(long, value_enum, value_delimiter = ',')]
    faults: Vec<sandbox::Fault>,
    /// How late a `slow` fault answers, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    slow_ms: u64,
    /// After N writes, drop every connection: a crash in the middle of an apply.
    #[arg(long, value_name = "N")]
    crash_after_writes: Option<usize>,
    /// CloudTalk seats: adding an agent past N active ones answers 403.
    #[arg(long, value_name = "N")]
    max_agents: Option<usize>,
    /// The largest page granted on HAL lists and SCIM, whatever is asked.
    #[arg(long, default_value_t = sandbox::PAGE_CAP)]
    page_cap: usize,
    /// Talkdesk SCIM requests per second before 429 (Talkdesk documents 4).
    #[arg(long, default_value_t = 4)]
    scim_rate_limit: u32,
    /// Say in /ServiceProviderConfig that SCIM PATCH is supported (else it answers 501).
    #[arg(long)]
    scim_patch: bool,
    /// The scopes the OAuth client is granted (default: all), e.g. users:read,queues:read.
    #[arg(long, value_delimiter = ',')]
    scopes: Vec<String>,
    /// An email whose queue writes fail inside a 200 (repeatable).
    #[arg(long, value_name = "EMAIL")]
    queue_refuse: Vec<String>,
    /// CloudTalk requests per one-minute window before 429 (CloudTalk documents 60).
    #[arg(long, default_value_t = 60, value_name = "N")]
    cloudtalk_per_minute: u32,
    /// CloudTalk's membership DELETE deletes the agent instead (the other reading of
    /// its reference), to test that roster stops at once when it does.
    #[arg(long)]
    cloudtalk_leave_deletes: bool,
    /// A queue is edited before every queue-list request that names no order, so the
    /// default order (most recently updated first) moves between pages.
    #[arg(long)]
    queue_churn: bool,
}

/// Runs `roster sandbox`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let Command::Serve(s) = args.command;
    if !(0.0..=1.0).contains(&s.fault_rate) {
        anyhow::bail!("--fault-rate must be between 0 and 1, not {}", s.fault_rate);
    }
    let state = if s.state.exists() {
        sandbox::State::load(&s.state)
            .with_context(|| format!("cannot read {}", s.state.display()))?
    } else {
        let mut state = match &s.seed {
            Some(path) => sandbox::seed::from_roster(&config::load(path)?.roster),
            None => sandbox::State::default(),
        };
        if state.roles.is_empty() {
            state.roles = sandbox::State::default_roles();
        }
        state
            .save(&s.state)
            .with_context(|| format!("cannot write {}", s.state.display()))?;
        state
    };
    let fault_seed = s.fault_seed.unwrap_or_else(sandbox::random_seed);
    if s.fault_rate > 0.0 {
        eprintln!("fault seed {fault_seed} (repeat these faults with --fault-seed {fault_seed})");
    }
    let cfg = sandbox::Config {
        state_file: Some(s.state.clone()),
        latency: Duration::from_millis(s.latency_ms),
        fault_rate: s.fault_rate,
        fault_seed,
        rate_limit: s.rate_limit.and_then(NonZeroU32::new),
        token_ttl: s.token_ttl.max(1),
        faults: if s.faults.is_empty() {
            sandbox::Fault::DEFAULT.to_vec()
        } else {
            s.faults.clone()
        },
        slow: Duration::from_millis(s.slow_ms),
        crash_after_writes: s.crash_after_writes,
        max_agents: s.max_agents,
        page_cap: s.page_cap.max(1),
        scim_page_cap: s.page_cap.max(1),
        scim_rate_limit: match s.rate_limit {
            Some(0) => None,
            _ => NonZeroU32::new(s.scim_rate_limit),
        },
        scim_patch: s.scim_patch,
        scopes: (!s.scopes.is_empty()).then(|| s.scopes.clone()),
        queue_refuse: s.queue_refuse.clone(),
        cloudtalk_per_minute: match s.rate_limit {
            Some(0) => None,
            _ => NonZeroU32::new(s.cloudtalk_per_minute),
        },
        cloudtalk_leave_deletes: s.cloudtalk_leave_deletes,
        queue_churn: s.queue_churn,
    };
    runtime()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(s.listen)
            .await
            .with_context(|| format!("cannot listen on {}", s.listen))?;
        let addr = listener.local_addr()?;
        println!("listening on http://{addr}");
        std::io::stdout().flush()?;
        sandbox::serve(listener, sandbox::Shared::new(cfg, state)).await?;
        Ok(Outcome::Success)
    })
}
