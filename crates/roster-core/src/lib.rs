//! roster-core: contact-center accounts as code.
//!
//! `config` loads and validates the YAML, `plan` diffs it against a live `model::Account`,
//! `render` prints plans, `provider` talks to the vendors, `apply` carries plans out,
//! `import` writes a roster from a live account and `github` runs the pull-request loop.

pub mod apply;
pub mod config;
pub mod email_index;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod import;
mod lookalike;
pub mod model;
pub mod plan;
pub mod plan_file;
pub mod port;
pub mod render;
pub mod review;
pub mod secret;
