//! A small time-bounded mutation fuzzer for the parsers, run as unit tests (stable
//! Rust has no cargo-fuzz). `ROSTER_FUZZ_SECONDS` sets the budget per target (default
//! 2); `ROSTER_FUZZ_SEED` replays one run. A panic reports the seed that found it.

use std::time::{Duration, Instant};

/// Mutates `input` in place: bit flips, byte insertions and deletions, chunk copies,
/// and splices of interesting tokens.
fn mutate(rng: &mut fastrand::Rng, input: &mut Vec<u8>, tokens: &[&[u8]]) {
    for _ in 0..rng.usize(1..8) {
        let len = input.len();
        match rng.u8(0..6) {
            0 if len > 0 => {
                let i = rng.usize(0..len);
                input[i] ^= 1 << rng.u8(0..8);
            }
            1 => input.insert(rng.usize(0..=len), rng.u8(..)),
            2 if len > 0 => {
                input.remove(rng.usize(0..len));
            }
            3 if len > 1 => {
                let a = rng.usize(0..len);
                let b = (a + rng.usize(1..64)).min(len);
                let chunk = input[a..b].to_vec();
                let at = rng.usize(0..=input.len());
                input.splice(at..at, chunk);
            }
            4 if !tokens.is_empty() => {
                let t = tokens[rng.usize(0..tokens.len())];
                let at = rng.usize(0..=len);
                input.splice(at..at, t.iter().copied());
            }
            _ if len > 0 => {
                let a = rng.usize(0..len);
                input.truncate(a.max(1));
            }
            _ => {}
        }
    }
}

/// Feeds mutations of `corpus` to `target` until the time budget is spent; returns
/// the number of inputs tried.
pub fn run(corpus: &[Vec<u8>], tokens: &[&[u8]], target: impl Fn(&[u8])) -> usize {
    let seconds: u64 = std::env::var("ROSTER_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let base: u64 = std::env::var("ROSTER_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    let mut tried = 0;
    while Instant::now() < deadline {
        let seed = base.wrapping_add(tried as u64);
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut input = corpus[rng.usize(0..corpus.len())].clone();
        mutate(&mut rng, &mut input, tokens);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target(&input)));
        assert!(
            outcome.is_ok(),
            "panicked on input from ROSTER_FUZZ_SEED={seed}: {:?}",
            String::from_utf8_lossy(&input)
        );
        tried += 1;
    }
    tried
}
