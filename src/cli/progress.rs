//! How apply's progress is drawn: a bar on a terminal, one line per change in a log.

use std::io::IsTerminal;
use std::sync::{Arc, OnceLock};

use roster_core::apply::{Ended, Reporter};
use roster_core::plan::Phase;

/// The reporter for this process's standard error: a bar on a terminal, lines otherwise.
pub fn for_stderr() -> Arc<dyn Reporter> {
    if std::io::stderr().is_terminal() {
        Arc::new(Bar::default())
    } else {
        Arc::new(Lines)
    }
}

/// A bar over every change, labelled with the phase, for a terminal.
#[derive(Debug, Default)]
struct Bar {
    bar: OnceLock<indicatif::ProgressBar>,
}

impl Bar {
    /// The bar, made at the first phase, when the number of changes is known.
    fn bar(&self, total: usize) -> &indicatif::ProgressBar {
        self.bar.get_or_init(|| {
            let b = indicatif::ProgressBar::new(total as u64);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{prefix:>28} [{bar:30}] {pos}/{len} {elapsed} elapsed, about {eta} left {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b
        })
    }
}

impl Reporter for Bar {
    fn phase(&self, phase: Phase, _: usize, total: usize) {
        self.bar(total).set_prefix(phase.label());
    }

    fn ended(&self, line: &str, _: Ended<'_>) {
        if let Some(b) = self.bar.get() {
            b.inc(1);
            b.set_message(line.to_string());
        }
    }

    fn finish(&self) {
        if let Some(b) = self.bar.get() {
            b.finish_and_clear();
        }
    }
}

/// One plain line per change, for CI logs.
#[derive(Debug)]
struct Lines;

impl Reporter for Lines {
    fn phase(&self, phase: Phase, n: usize, _: usize) {
        eprintln!("apply: {} ({n})", phase.label());
    }

    fn ended(&self, line: &str, ended: Ended<'_>) {
        match ended {
            Ended::Ok => eprintln!("  {line}: ok"),
            Ended::Failed(e) => eprintln!("  {line}: failed: {e}"),
            Ended::OkUnrecorded => eprintln!("  {line}: ok, not journalled"),
            Ended::FailedUnrecorded(e) => eprintln!("  {line}: failed, not journalled: {e}"),
            Ended::NotSent => eprintln!("  {line}: not sent"),
        }
    }
}
