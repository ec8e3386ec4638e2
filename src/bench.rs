//! End-to-end benchmarks against the emulator on loopback (`roster bench`, hidden from
//! help): reads at 25 ms latency, apply throughput under a server rate limit with
//! injected 429s, the diff alone, and 100,000 users validated and planned beside a plain
//! JSON parse of the same users (time and peak memory). Prints a
//! table and writes it to `target/bench-report.md`. Figures, never assertions.

use std::fmt::Write;
use std::num::NonZeroU32;
use std::path::Path;
use std::time::{Duration, Instant};

use roster_core::config::{self, Roster};
use roster_core::plan::{self, Capabilities};
use roster_core::provider::talkdesk::{Settings, Talkdesk};
use roster_core::provider::{ReadScope, Reader};
use roster_sandbox::{self as sandbox, Fault, State, synthetic};

/// One line of the report.
pub struct Row {
    /// What was measured.
    pub what: String,
    /// The figure.
    pub figure: String,
    /// The target from DESIGN.md, and whether it is met.
    pub target: String,
}

fn roster_of(text: &str) -> anyhow::Result<Roster> {
    Ok(config::load_str("bench.yaml", text.as_bytes())
        .map_err(|d| anyhow::anyhow!("{d}"))?
        .roster)
}

/// Planning 10,050 users at Talkdesk's limits: 25 ms per request, 50 users granted per
/// page when 100 are asked, SCIM at 4 requests per second. SCIM's pace is the bound;
/// the REST and queue reads overlap it.
async fn reads(rows: &mut Vec<Row>) -> anyhow::Result<()> {
    const USERS: usize = 10_050;
    let latency = Duration::from_millis(25);
    let roster = roster_of(&synthetic::roster(USERS, 0))?;
    let cfg = sandbox::Config {
        latency,
        ..sandbox::Config::default()
    };
    let handle = sandbox::spawn(cfg, State::synthetic(USERS)).await?;
    let p = Talkdesk::new(Settings::at(
        &handle.url(),
        sandbox::CLIENT_ID,
        sandbox::CLIENT_SECRET,
    ))?;
    let start = Instant::now();
    let live = p.read(&ReadScope::default()).await?;
    let plan = plan::diff(&roster, &live, &p.capabilities(), &plan::Options::default())
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let wall = start.elapsed();
    let requests = handle.shared.requests();
    let count = |f: &dyn Fn(&str) -> bool| requests.iter().filter(|r| f(&r.path)).count();
    let pages = USERS.div_ceil(sandbox::PAGE_CAP);
    // Users on REST, users on SCIM, the one queue's members, and the queue list.
    let documented = 3 * pages + 1;
    let scim = count(&|p| p.starts_with("/scim/"));
    let limited = requests.iter().filter(|r| r.status == 429).count();
    // SCIM's requests one every 250 ms, the last one's latency after them.
    let bound = Duration::from_millis(250) * (scim as u32 - 1) + latency;
    let ratio = wall.as_secs_f64() / bound.as_secs_f64();
    rows.push(Row {
        what: format!("plan {USERS} users at Talkdesk's limits (SCIM 4/s, 50 per page granted, 25 ms latency)"),
        figure: format!(
            "{} requests for {documented} documented pages ({} REST, {scim} SCIM, {} queues); {limited} answered 429; {} changes; {:.1} s; SCIM bound {:.1} s; ratio {ratio:.2}",
            requests.len(),
            count(&|p| p == "/users"),
            count(&|p| p.starts_with("/ccaas/")),
            plan.changes.len(),
            wall.as_secs_f64(),
            bound.as_secs_f64()
        ),
        target: format!(
            "requests <= {} ({}); no 429 ({}); ratio <= 1.2 ({})",
            documented + 5,
            verdict(requests.len() <= documented + 5),
            verdict(limited == 0),
            verdict(ratio <= 1.2)
        ),
    });
    Ok(())
}

/// 1,000 renames (SCIM writes) against a server allowing 50 SCIM requests per second
/// with 20% injected 429s. Talkdesk allows 4; the higher limit keeps the run short and
/// measures the same mechanics.
async fn writes(rows: &mut Vec<Row>, journal: &Path) -> anyhow::Result<()> {
    const USERS: usize = 1_010;
    const LIMIT: u32 = 50;
    let roster = roster_of(&synthetic::roster(USERS, 1_000))?;
    let cfg = sandbox::Config {
        scim_rate_limit: NonZeroU32::new(LIMIT),
        fault_rate: 0.2,
        faults: vec![Fault::TooMany, Fault::TooManyWithRetryAfter],
        ..sandbox::Config::default()
    };
    let handle = sandbox::spawn(cfg, State::synthetic(USERS)).await?;
    // A client limit a little above the server's: the injected 429s do not use the
    // server's quota, so sending only at the limit would cap success at 80%.
    let mut settings = Settings::at(&handle.url(), sandbox::CLIENT_ID, sandbox::CLIENT_SECRET);
    settings.concurrency = 32;
    settings.write = true;
    settings.scim_rps = NonZeroU32::new(LIMIT + LIMIT / 5);
    let p = Talkdesk::new(settings)?;
    let live = p.read(&ReadScope::default()).await?;
    let plan = plan::diff(&roster, &live, &p.capabilities(), &plan::Options::default())
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let opts = roster_core::apply::Options {
        concurrency: 32,
        journal_dir: journal.to_path_buf(),
        progress: roster_core::apply::Progress::Quiet,
        stop: roster_core::apply::Stop::default(),
    };
    let start = Instant::now();
    let report = roster_core::apply::run(&p, &plan, &live, &opts).await?;
    let wall = start.elapsed().as_secs_f64();
    let rate = report.applied as f64 / wall;
    let share = rate / f64::from(LIMIT);
    let injected = handle
        .shared
        .requests()
        .iter()
        .filter(|r| r.fault.is_some())
        .count();
    rows.push(Row {
        what: "apply 1,000 updates, server limit 50/s, 20% injected 429s, concurrency 32, client limit 60/s".into(),
        figure: format!(
            "{} applied in {wall:.1} s = {rate:.1}/s ({:.0}% of the limit); {} failed; {injected} 429s injected",
            report.applied,
            share * 100.0,
            report.failed.len()
        ),
        target: format!(">= 85% and 0 failed ({})", verdict(share >= 0.85 && report.failed.is_empty())),
    });
    Ok(())
}

/// The diff alone, median of several runs: with no changes (a typical pull request
/// against a converged account) and with a tenth of the users changed.
fn diffs(rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let mut per_user = std::collections::HashMap::new();
    for (n, changed) in [
        (10_000usize, 0usize),
        (100_000, 0),
        (10_000, 1_000),
        (100_000, 10_000),
    ] {
        let roster = roster_of(&synthetic::roster(n, changed))?;
        let live = synthetic::account(n);
        let mut times: Vec<Duration> = (0..5)
            .map(|_| {
                let start = Instant::now();
                let _ = plan::diff(
                    &roster,
                    &live,
                    &Capabilities::talkdesk(),
                    &plan::Options::default(),
                );
                start.elapsed()
            })
            .collect();
        times.sort();
        let median = times[2];
        per_user.insert((n, changed > 0), median.as_secs_f64() / n as f64);
        let target = match (n, per_user.get(&(10_000, changed > 0))) {
            (10_000, _) if changed == 0 => {
                format!("< 10 ms ({})", verdict(median < Duration::from_millis(10)))
            }
            (10_000, _) => "reported".into(),
            (_, Some(base)) => {
                let growth = median.as_secs_f64() / n as f64 / base;
                format!(
                    "linear: per-user cost x{growth:.2} of 10,000 ({})",
                    verdict(growth < 1.5)
                )
            }
            _ => "reported".into(),
        };
        rows.push(Row {
            what: format!("diff {n} users, {changed} changed"),
            figure: format!("{:.2} ms (median of 5)", median.as_secs_f64() * 1e3),
            target,
        });
    }
    Ok(())
}

/// 100,000 users, one line each (email, name, role), against the reference the issue
/// sets: Python's `json.loads` of the same users as JSON, best of three in the same run.
/// `roster validate` alone, then `roster plan` against `roster sandbox serve
/// --rate-limit 0` in its own process (so the emulator's memory is not counted).
fn scale(rows: &mut Vec<Row>, dir: &Path) -> anyhow::Result<()> {
    const USERS: usize = 100_000;
    State::synthetic(USERS).save(&dir.join("state.json"))?;
    let (yaml, json) = minimal_roster(USERS);
    std::fs::write(dir.join("roster.yaml"), yaml)?;
    std::fs::write(dir.join("users.json"), json)?;
    let reference = json_loads(dir);
    let exe = std::env::current_exe()?;
    let validate = best_of_three(|| timed(dir, &exe, &["validate", "roster.yaml"], &[]));
    rows.push(scale_row(
        "roster validate, 100,000 users",
        validate,
        reference,
        6.0,
        120.0,
    ));
    let server = Emulator::start(&exe, dir)?;
    let env = server.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let plan = timed(
        dir,
        &exe,
        &["plan", "roster.yaml", "--concurrency", "8"],
        &env,
    );
    drop(server);
    rows.push(scale_row(
        "roster plan, 100,000 users (emulator in its own process, --rate-limit 0, no latency)",
        plan,
        reference,
        12.0,
        160.0,
    ));
    Ok(())
}

/// A roster of `n` users with email, name and role only, matching `State::synthetic`,
/// and the same users as JSON.
fn minimal_roster(n: usize) -> (String, String) {
    let mut yaml = String::from(
        "version: 1\nprovider: { kind: talkdesk, account: bench }\npolicy: { unmanaged_users: ignore }\nroles:\n  - { name: Administrator, admin: true }\n  - { name: Agent }\nusers:\n",
    );
    let mut json = Vec::with_capacity(n);
    for i in 0..n {
        let role = if i < 2 { "Administrator" } else { "Agent" };
        let _ = writeln!(
            yaml,
            "  - {{ email: agent{i:06}@acme.example, name: Agent {i:06}, role: {role} }}"
        );
        json.push(serde_json::json!({"email": format!("agent{i:06}@acme.example"), "name": format!("Agent {i:06}"), "role": role}));
    }
    (
        yaml,
        serde_json::json!({"version": 1, "users": json}).to_string(),
    )
}

/// Python's `json.load` of `users.json`, best of three, in seconds (None without python3).
fn json_loads(dir: &Path) -> Option<f64> {
    let script = "import json,time\nbest=9e9\nfor _ in range(3):\n    t=time.perf_counter(); json.load(open('users.json')); best=min(best,time.perf_counter()-t)\nprint(best)";
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .current_dir(dir)
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// One run of roster under `/usr/bin/time`: wall seconds and peak RSS in MiB.
fn timed(dir: &Path, exe: &Path, args: &[&str], env: &[(&str, &str)]) -> Option<(f64, f64)> {
    let start = Instant::now();
    let out = std::process::Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(exe)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .ok()?;
    let wall = start.elapsed().as_secs_f64();
    let kb: f64 = String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()?
        .trim()
        .parse()
        .ok()?;
    out.status.success().then_some((wall, kb / 1024.0))
}

/// The fastest of three runs (with its peak memory).
fn best_of_three(mut run: impl FnMut() -> Option<(f64, f64)>) -> Option<(f64, f64)> {
    (0..3)
        .filter_map(|_| run())
        .min_by(|a, b| a.0.total_cmp(&b.0))
}

/// A row with the ratio to the reference parse and the targets.
fn scale_row(
    what: &str,
    run: Option<(f64, f64)>,
    reference: Option<f64>,
    ratio_target: f64,
    mib_target: f64,
) -> Row {
    let Some((wall, mib)) = run else {
        return Row {
            what: what.into(),
            figure: "not measured (roster failed, or /usr/bin/time is missing)".into(),
            target: "reported".into(),
        };
    };
    let ratio = reference.map(|r| wall / r);
    let figure = match (reference, ratio) {
        (Some(r), Some(x)) => format!(
            "{wall:.2} s = {x:.1}× json.loads ({r:.3} s, best of 3, same run); peak RSS {mib:.0} MiB"
        ),
        _ => format!("{wall:.2} s; peak RSS {mib:.0} MiB (no python3 for the reference)"),
    };
    let target = format!(
        "≤ {ratio_target}× ({}); < {mib_target} MiB ({})",
        verdict(ratio.is_some_and(|x| x <= ratio_target)),
        verdict(mib < mib_target)
    );
    Row {
        what: what.into(),
        figure,
        target,
    }
}

/// `roster sandbox serve --rate-limit 0` over the state in `dir`, killed on drop.
struct Emulator {
    child: std::process::Child,
    url: String,
}

impl Emulator {
    fn start(exe: &Path, dir: &Path) -> anyhow::Result<Emulator> {
        use std::io::BufRead;
        let mut child = std::process::Command::new(exe)
            .args([
                "sandbox",
                "serve",
                "--state",
                "state.json",
                "--listen",
                "127.0.0.1:0",
            ])
            .args(["--rate-limit", "0"])
            .current_dir(dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        let mut first = String::new();
        if let Some(out) = child.stdout.take() {
            std::io::BufReader::new(out).read_line(&mut first)?;
        }
        let url = first.trim().trim_start_matches("listening on ").to_string();
        Ok(Emulator { child, url })
    }

    /// The environment that points roster at it, without client-side pacing.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("TALKDESK_BASE_URL", self.url.clone()),
            ("TALKDESK_TOKEN_URL", format!("{}/oauth/token", self.url)),
            ("TALKDESK_CLIENT_ID", sandbox::CLIENT_ID.into()),
            ("TALKDESK_CLIENT_SECRET", sandbox::CLIENT_SECRET.into()),
            ("TALKDESK_SCIM_RPS", "1000000".into()),
        ]
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

/// Runs every benchmark; returns the Markdown table.
pub fn run() -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    let mut rows = Vec::new();
    // The pure diff first, before the emulator runs leave the heap fragmented.
    diffs(&mut rows)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        reads(&mut rows).await?;
        writes(&mut rows, &dir.path().join("journal")).await
    })?;
    scale(&mut rows, dir.path())?;
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut out = String::from("| benchmark | figure | target |\n|---|---|---|\n");
    for r in &rows {
        let _ = writeln!(out, "| {} | {} | {} |", r.what, r.figure, r.target);
    }
    let _ = writeln!(
        out,
        "\nMachine: {cpus} CPU(s), {} {}; `cargo run --release -- bench`.",
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    Ok(out)
}
