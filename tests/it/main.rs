//! The integration tests: one binary, one module per command, all over real files and,
//! for plan and apply, real HTTP against the sandbox on 127.0.0.1:0.

mod apply;
mod cli;
mod cloudtalk;
mod coexist;
mod doctor;
mod github;
mod hostile;
mod import;
mod interrupt;
mod phone;
mod reliability;
mod staffing;
mod support;
mod talkdesk;
mod validate;
