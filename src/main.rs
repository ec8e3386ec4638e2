//! The `roster` binary: parse the command line, run it, map the outcome to an exit code.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}

/// jemalloc rather than glibc's allocator: measured on a plan of 100,000 users, it runs
/// about a fifth faster and its peak memory falls from 178 to about 155 MiB (glibc kept
/// the holes left by each page's short-lived buffers between the users kept for the diff).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// One arena (a short command gains nothing from one per thread) and freed pages handed
/// back within a second: immediately costs validate a fifth of its time in page faults,
/// never (the default ten seconds) adds 5 MiB to plan's peak. jemalloc reads it at start
/// as its `malloc_conf` (prefixed `_rjem_` by tikv-jemalloc-sys): a C string.
#[cfg(not(target_env = "msvc"))]
#[unsafe(export_name = "_rjem_malloc_conf")]
static ALLOCATOR_CONF: &[u8; 47] = b"narenas:1,dirty_decay_ms:1000,muzzy_decay_ms:0\0";
