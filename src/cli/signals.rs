//! SIGINT and SIGTERM during `roster apply`. The first asks apply to send nothing more
//! and let the changes in flight finish; the next quits at once, once it has printed
//! what became of each change and where the journal is.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use roster_core::apply;

use super::Outcome;

/// The signals received during an apply, counted as they arrive.
#[derive(Debug, Clone, Default)]
pub struct Signals {
    count: Arc<AtomicUsize>,
    /// The last one: [`INTERRUPT`] or [`TERMINATE`].
    last: Arc<AtomicU8>,
}

/// SIGINT (Ctrl-C).
const INTERRUPT: u8 = 1;
/// SIGTERM (a CI runner or a supervisor stopping the job).
const TERMINATE: u8 = 2;

impl Signals {
    /// How an apply stopped by a signal exits: 130 after SIGINT, 143 after SIGTERM, as
    /// a shell reports a process the signal ended.
    pub fn outcome(&self) -> Outcome {
        match self.last.load(Ordering::SeqCst) {
            TERMINATE => Outcome::Terminated,
            _ => Outcome::Interrupted,
        }
    }

    /// Counts signal `which` and stops the apply. Run in the signal handler itself, so it
    /// only stores to atomics.
    fn arrived(&self, which: u8, stop: &apply::Stop) {
        self.last.store(which, Ordering::SeqCst);
        self.count.fetch_add(1, Ordering::SeqCst);
        stop.request();
    }

    /// Answers the signals counted so far: says that apply is stopping after the first,
    /// and after a second prints `ledger`'s report and quits.
    fn answer(&self, told: &mut bool, ledger: &apply::Ledger) {
        let name = match self.last.load(Ordering::SeqCst) {
            TERMINATE => "SIGTERM",
            _ => "SIGINT",
        };
        if self.count.load(Ordering::SeqCst) >= 2 {
            eprintln!();
            super::apply::print_stopped(
                &format!("Apply quit at once ({name} again)"),
                &ledger.report(),
            );
            let _ = std::io::stdout().flush();
            std::process::exit(self.outcome().code().into());
        }
        if !*told {
            *told = true;
            eprintln!(
                "\n{name}: sending nothing more, waiting for the changes in flight (Ctrl-C again quits at once, after a summary; the journal shows what was sent)."
            );
        }
    }
}

/// Watches for SIGINT and SIGTERM while `ledger`'s apply runs: the first requests `stop`,
/// the next prints the ledger's report and quits at once.
#[cfg(unix)]
pub fn watch(stop: &apply::Stop, ledger: &apply::Ledger) -> anyhow::Result<Signals> {
    use tokio::signal::unix::{SignalKind, signal};
    let signals = Signals::default();
    for (kind, which) in [
        (SignalKind::interrupt(), INTERRUPT),
        (SignalKind::terminate(), TERMINATE),
    ] {
        let (s, stop) = (signals.clone(), stop.clone());
        // Counted in the handler, before tokio's own action (actions run in the order
        // they were registered): tokio folds signals that arrive close together into one
        // wake-up, and a second Ctrl-C right after the first must not be lost.
        // SAFETY: the action only stores to atomics, which is async-signal-safe.
        unsafe {
            signal_hook_registry::register(kind.as_raw_value(), move || s.arrived(which, &stop))
        }?;
    }
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let (s, ledger) = (signals.clone(), ledger.clone());
    tokio::spawn(async move {
        let mut told = false;
        loop {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            s.answer(&mut told, &ledger);
        }
    });
    Ok(signals)
}

/// Watches for Ctrl-C while `ledger`'s apply runs: the first requests `stop`, the next
/// prints the ledger's report and quits at once.
#[cfg(not(unix))]
pub fn watch(stop: &apply::Stop, ledger: &apply::Ledger) -> anyhow::Result<Signals> {
    let signals = Signals::default();
    let (s, stop, ledger) = (signals.clone(), stop.clone(), ledger.clone());
    tokio::spawn(async move {
        let mut told = false;
        while tokio::signal::ctrl_c().await.is_ok() {
            s.arrived(INTERRUPT, &stop);
            s.answer(&mut told, &ledger);
        }
    });
    Ok(signals)
}
