//! `roster doctor`'s findings, vendor-neutral: each fact roster relies on, what roster
//! expects of it (and why), what the account answered, and what each job lacks. The
//! vendors' modules fill a [`Report`]; the binary draws it.

use serde::Serialize;

/// A job the credentials are checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Job {
    /// `roster plan`: reads only.
    Plan,
    /// `roster apply`: reads and writes.
    Apply,
}

impl Job {
    /// The job's command name.
    pub fn as_str(self) -> &'static str {
        match self {
            Job::Plan => "plan",
            Job::Apply => "apply",
        }
    }
}

/// What the roster asks of the account, so doctor checks what the jobs will need.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    /// The roster declares queues or queue memberships.
    pub queues: bool,
    /// The roster declares teams or team memberships.
    pub teams: bool,
    /// Some user declares phone settings (modeled on Talkdesk).
    pub phone: bool,
    /// The roster declares add-on licenses (modeled on Talkdesk).
    pub addons: bool,
}

/// One fact checked.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// The surface: `token`, `REST users`, `SCIM`, `Guardian`, `queues`, ….
    pub surface: &'static str,
    /// What is checked, e.g. `scope users:read` or `page size`.
    pub fact: String,
    /// What roster expects, and its source.
    pub expected: String,
    /// What the account answered (the account's own words: untrusted text).
    pub answered: String,
    /// Whether the answer is what roster can work with.
    pub ok: bool,
}

/// Everything doctor found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The facts, in the order they were checked.
    pub checks: Vec<Check>,
    /// What plan lacks: what to grant or change. Empty: plan can run.
    pub plan_lacks: Vec<String>,
    /// What apply lacks. Empty: apply can run.
    pub apply_lacks: Vec<String>,
    /// Requests doctor sent that write (only with `--probe-writes`), described.
    pub writes: Vec<String>,
}

impl Report {
    /// Records a fact.
    pub fn check(
        &mut self,
        surface: &'static str,
        fact: impl Into<String>,
        expected: impl Into<String>,
        answered: impl Into<String>,
        ok: bool,
    ) {
        self.checks.push(Check {
            surface,
            fact: fact.into(),
            expected: expected.into(),
            answered: answered.into(),
            ok,
        });
    }

    /// What `job` lacks.
    pub fn lacks(&self, job: Job) -> &[String] {
        match job {
            Job::Plan => &self.plan_lacks,
            Job::Apply => &self.apply_lacks,
        }
    }
}
