//! roster-core: contact-center accounts as code.
//!
//! `config` loads and validates the YAML, `plan` diffs it against a live `model::Account`,
//! `render` prints plans, `provider` talks to the vendors, `apply` carries plans out,
//! `import` writes a roster from a live account and `github` runs the pull-request loop.

pub mod apply;
pub mod config;
mod email_index;
#[cfg(test)]
mod fuzzing;
pub mod github;
pub mod import;
pub mod lock;
mod lookalike;
pub mod model;
pub mod plan;
pub mod provider;
pub mod render;
