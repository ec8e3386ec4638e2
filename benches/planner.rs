//! Criterion benchmarks of the pure parts: loading and validating a roster, the diff,
//! and rendering a large plan. `cargo bench`; figures only, no assertions.

use criterion::{Criterion, criterion_group, criterion_main};
use roster_core::plan;
use roster_sandbox::synthetic;

fn roster_of(text: &str) -> roster_core::config::Roster {
    roster_core::config::load_str("bench.yaml", text.as_bytes())
        .expect("the synthetic roster is valid")
        .roster
}

fn load(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("roster.yaml");
    std::fs::write(&path, synthetic::roster(10_000, 0)).expect("the roster is written");
    let mut g = c.benchmark_group("config");
    g.sample_size(10);
    g.bench_function("load and validate 10,000 users", |b| {
        b.iter(|| roster_core::config::load(&path).expect("valid"))
    });
    g.finish();
}

fn diff(c: &mut Criterion) {
    let mut g = c.benchmark_group("diff");
    g.sample_size(10);
    for (n, changed) in [(10_000usize, 0usize), (10_000, 1_000), (100_000, 10_000)] {
        let roster = roster_of(&synthetic::roster(n, changed));
        let live = synthetic::account(n);
        g.bench_function(format!("{n} users, {changed} changed"), |b| {
            b.iter(|| {
                plan::diff(
                    &roster,
                    &live,
                    &roster_providers::capabilities::talkdesk(),
                    &plan::Options::default(),
                )
            })
        });
    }
    g.finish();
}

fn render(c: &mut Criterion) {
    let roster = roster_of(&synthetic::roster(10_002, 10_000));
    let live = synthetic::account(10_002);
    let plan = plan::diff(
        &roster,
        &live,
        &roster_providers::capabilities::talkdesk(),
        &plan::Options::default(),
    )
    .expect("a plan");
    assert_eq!(plan.changes.len(), 10_000);
    let mut g = c.benchmark_group("render");
    g.sample_size(20);
    g.bench_function("markdown, 10,000 changes", |b| {
        b.iter(|| roster_core::render::markdown(&plan))
    });
    g.bench_function("text, 10,000 changes", |b| {
        b.iter(|| roster_core::render::text(&plan, false))
    });
    g.finish();
}

criterion_group!(benches, load, diff, render);
criterion_main!(benches);
