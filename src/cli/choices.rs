//! The command line's spelling of the library's choices: each enum mirrors one of
//! roster-core's (same variants, so the same values and help), which stays free of
//! the CLI parser.

use roster_core::config::{ProviderKind, Region};
use roster_core::review::{Mode, Status};

/// `--provider`: the APIs roster talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderArg {
    /// Talkdesk: REST users, SCIM, queues, Phone and add-ons, with one OAuth client.
    Talkdesk,
    /// The same Talkdesk provider (the name of an earlier SCIM-only provider).
    TalkdeskScim,
    /// CloudTalk REST API.
    Cloudtalk,
}

impl From<ProviderArg> for ProviderKind {
    fn from(p: ProviderArg) -> Self {
        match p {
            ProviderArg::Talkdesk => ProviderKind::Talkdesk,
            ProviderArg::TalkdeskScim => ProviderKind::TalkdeskScim,
            ProviderArg::Cloudtalk => ProviderKind::Cloudtalk,
        }
    }
}

/// `--region`: where a Talkdesk account lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RegionArg {
    /// United States: api.talkdeskapp.com, {account}.talkdeskid.com.
    Us,
    /// Europe: api.talkdeskapp.eu, {account}.talkdeskid.eu.
    Eu,
    /// Canada: api.talkdeskappca.com, {account}.talkdeskidca.com.
    Ca,
}

impl From<RegionArg> for Region {
    fn from(r: RegionArg) -> Self {
        match r {
            RegionArg::Us => Region::Us,
            RegionArg::Eu => Region::Eu,
            RegionArg::Ca => Region::Ca,
        }
    }
}

/// `--status`: what the comment says about the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusArg {
    /// Planned on a pull request, awaiting review.
    Planned,
    /// Applied after the merge.
    Applied,
    /// Refused after the merge: the plan has changes the pull request did not approve.
    NotApplied,
    /// Apply ran after the merge and some changes failed.
    Failed,
}

impl From<StatusArg> for Status {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Planned => Status::Planned,
            StatusArg::Applied => Status::Applied,
            StatusArg::NotApplied => Status::NotApplied,
            StatusArg::Failed => Status::Failed,
        }
    }
}

/// `--comment`: when to comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// Always.
    True,
    /// Only when the plan has changes (an existing comment is still updated).
    ChangesOnly,
    /// Never: outputs and summary only.
    False,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::True => Mode::True,
            ModeArg::ChangesOnly => Mode::ChangesOnly,
            ModeArg::False => Mode::False,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    /// The command line offers exactly the library's values, spelled as the roster
    /// spells them.
    #[test]
    fn the_choices_spell_the_librarys_values() {
        for p in ProviderArg::value_variants() {
            let name = p.to_possible_value().unwrap().get_name().to_string();
            assert_eq!(ProviderKind::from(*p).as_str(), name);
        }
        for r in RegionArg::value_variants() {
            let name = r.to_possible_value().unwrap().get_name().to_string();
            let json = serde_json::to_value(Region::from(*r)).unwrap();
            assert_eq!(json, name);
        }
    }
}
