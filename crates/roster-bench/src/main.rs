//! `roster-bench`: the end-to-end benchmarks, outside the release binary. Run it as
//! `cargo run --release -p roster-bench -- [--only diff,wire,scale] [--dir DIR]`; it
//! builds the `roster` binary of the same profile beside itself first, since the scale
//! rows time that binary as a user runs it. Prints the table and writes it to
//! `target/bench-report.md`.

mod bench;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

/// The benchmark driver's command line.
#[derive(Debug, Parser)]
#[command(name = "roster-bench", about = "roster's end-to-end benchmarks")]
struct Cli {
    #[command(flatten)]
    args: bench::Args,
}

/// jemalloc, as the `roster` binary uses, so the in-process rows measure what it runs.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let roster = roster_binary()?;
    let table = bench::run(cli.args, &roster)?;
    print!("{table}");
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    roster_core::config::write_atomic(&target.join("bench-report.md"), table.as_bytes())?;
    Ok(())
}

/// The `roster` binary beside this one, built first with the same profile (cargo sets
/// `CARGO` for `cargo run`; otherwise `cargo` on the path builds it).
fn roster_binary() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let dir = me.parent().unwrap_or(Path::new("."));
    let release = dir.file_name().is_some_and(|d| d == "release");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = std::process::Command::new(cargo);
    build.args(["build", "--locked", "-p", "roster", "--bin", "roster"]);
    if release {
        build.arg("--release");
    }
    let status = build.status()?;
    anyhow::ensure!(status.success(), "building the roster binary failed");
    let exe = dir.join(format!("roster{}", std::env::consts::EXE_SUFFIX));
    anyhow::ensure!(exe.exists(), "no roster binary at {}", exe.display());
    Ok(exe)
}
