//! Matching declared users to live ones and working out each user's change. The steps:
//! check what the roster names exists (`catalog`) and that no declared address imitates
//! a live one (`lookalikes`), read live users in the roster's terms, match the declared
//! users (a join that reads only emails), plan each in one pass that also surveys what
//! they declare, check their phone resources, then plan the live users the roster does
//! not declare.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use foldhash::HashMap;
use serde_json::json;

use super::calendar;
use super::catalog;
use super::change_fields::{change_of, create, precondition, removal_fields, update_fields};
use super::licenses::permission_set_notes;
use super::lookalikes;
use super::ownership::Ownership;
use super::planned::Planned;
use super::seat::{Baseline, Seat, desired_seat, is_builtin_admin};
use super::survey::Survey;
use super::types::{Action, Change, FieldChange, Kind, Phase, PlanError};
use super::{Capabilities, Field};
use crate::config::{Roster, Unmanaged, UserDecl, ignore_set};
use crate::email_index::Candidates;
use crate::model::{Account, Status, User};

/// Everything `diff` works out before guards and ordering.
pub(super) struct Diffed {
    pub planned: Vec<Planned>,
    pub baseline: Baseline,
    pub warnings: Vec<String>,
    pub manual_steps: Vec<String>,
    pub notes: Vec<String>,
    pub team_aliases: BTreeMap<String, String>,
    pub admin_roles: BTreeSet<String>,
    /// Declared administrators who will be active but pending (invited, unconfirmed).
    pub pending_admins: usize,
    /// Which ownership each membership list ran in.
    pub memberships: BTreeMap<String, String>,
    /// Some declared user has `active_from` or `active_until`.
    pub dated: bool,
}

/// What the per-user steps add to: changes, warnings and manual steps, in plan order.
struct Out {
    planned: Vec<Planned>,
    warnings: Vec<String>,
    manual_steps: Vec<String>,
}

/// Works out every change as of `today`: refuses a roster that names what the account
/// lacks, then plans each declared user and each undeclared live one.
pub(super) fn changes(
    roster: &Roster,
    live: &Account,
    caps: &Capabilities,
    hold: bool,
    today: NaiveDate,
) -> Result<Diffed, Vec<PlanError>> {
    let teams = catalog::teams(roster, live, caps);
    let mut errors = catalog::role_errors(roster, live, caps);
    errors.extend(teams.errors);
    errors.extend(catalog::queue_errors(roster, live, caps));
    errors.extend(lookalikes::errors(roster, &live.users));
    if !errors.is_empty() {
        // The refusal lists every problem at once. The phone checks read only users
        // with phone settings, so they need no survey to skip the others.
        if caps.phone {
            errors.extend(catalog::phone_errors(roster, live));
        }
        return Err(errors);
    }
    let mut out = Out {
        planned: teams.creates,
        warnings: teams.warnings,
        manual_steps: teams.manual_steps,
    };
    let admin_roles: BTreeSet<String> = roster.admin_roles().into_iter().collect();
    let own = Ownership::of(roster, hold);
    let memberships = own.header(caps);
    let users = Users::new(
        roster,
        live,
        caps,
        &teams.live_to_declared,
        &admin_roles,
        own,
        today,
    );
    let mut baseline = Baseline::default();
    let account_warnings = out.warnings.len();
    let declared = users.plan_declared(&mut out, &mut baseline);
    // What needs to know which fields anyone declares runs after the pass that found
    // out: at 100,000 users, a pass of its own would stream every user from memory.
    let survey = &declared.survey;
    let mut errors = declared.errors;
    if caps.phone && survey.declares("phone") {
        errors.extend(catalog::phone_errors(roster, live));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    out.warnings.splice(
        account_warnings..account_warnings,
        catalog::coverage_warnings(roster, live, caps, survey),
    );
    users.plan_undeclared(&declared.matched, &mut out, &mut baseline);
    if let Some(console) = caps.deactivate_in_console.filter(|_| !caps.deactivate) {
        let steps = console_steps(&out.planned, console);
        out.manual_steps.extend(steps);
    }
    let notes = match caps.permission_sets.filter(|_| caps.addons) {
        Some(sets) => permission_set_notes(&sets, &out.planned, &mut out.manual_steps),
        None => Vec::new(),
    };
    if !out.planned.is_empty() {
        baseline.count_members(&users.users);
    }
    Ok(Diffed {
        planned: out.planned,
        baseline,
        warnings: out.warnings,
        manual_steps: out.manual_steps,
        notes,
        team_aliases: teams.aliases,
        admin_roles,
        pending_admins: declared.pending_admins,
        memberships,
        dated: survey.dated,
    })
}

/// What the pass over the declared users finds besides their changes.
struct Declared {
    /// Which live users a declared user matched, indexed as `live.users`.
    matched: Vec<bool>,
    /// Declared active administrators who are, or are declared, pending.
    pending_admins: usize,
    /// Which optional fields the declared users set.
    survey: Survey,
    /// Declared users who name a live user an earlier one named.
    errors: Vec<PlanError>,
}

/// The live account as the per-user steps read it.
struct Users<'a> {
    roster: &'a Roster,
    live: &'a Account,
    caps: &'a Capabilities,
    admin_roles: &'a BTreeSet<String>,
    /// Who owns each membership list, and whether removals are held.
    own: Ownership,
    /// Live users in the roster's terms (see [`in_roster_terms`]), indexed as `live.users`.
    users: Cow<'a, [User]>,
    /// The day users' `active_from` and `active_until` are compared with.
    today: NaiveDate,
}

impl<'a> Users<'a> {
    /// Reads the live users in the roster's terms.
    fn new(
        roster: &'a Roster,
        live: &'a Account,
        caps: &'a Capabilities,
        live_to_declared: &HashMap<String, String>,
        admin_roles: &'a BTreeSet<String>,
        own: Ownership,
        today: NaiveDate,
    ) -> Self {
        let users = in_roster_terms(roster, live, caps, live_to_declared, today);
        Users {
            roster,
            live,
            caps,
            admin_roles,
            own,
            users,
            today,
        }
    }

    /// Whether a role is one the roster marks `admin: true`.
    fn is_admin(&self, role: Option<&str>) -> bool {
        role.is_some_and(|r| self.admin_roles.iter().any(|a| a.eq_ignore_ascii_case(r)))
    }

    /// A live user's state as the guards see it.
    fn seat_of(&self, u: &User) -> Seat {
        Seat {
            email: u.email.to_lowercase(),
            active: u.status == Status::Active,
            staffed: u.status == Status::Active && !u.pending,
            admin: !u.pending && self.is_admin(u.role.as_deref()),
            builtin_admin: u.status == Status::Active
                && !u.pending
                && is_builtin_admin(u.role.as_deref()),
            addons: u.addons.clone(),
            teams: u.teams.clone(),
            queues: u.queues.clone(),
        }
    }

    /// Deactivation where the provider has it, otherwise an offboard.
    fn removal(&self) -> Action {
        if self.caps.deactivate {
            Action::Deactivate
        } else {
            Action::Offboard
        }
    }

    /// Plans each declared user in roster order, as of today, and counts the live users
    /// they match into `baseline`; surveys the declared users in the same pass.
    fn plan_declared(&self, out: &mut Out, baseline: &mut Baseline) -> Declared {
        let mut d = Declared {
            matched: vec![false; self.users.len()],
            pending_admins: 0,
            survey: Survey::default(),
            errors: Vec::new(),
        };
        // Matched before any is planned, by email and then by a former email: reading
        // only emails, the match stays in cache; the planning reads each user whole.
        fn emails(d: &UserDecl) -> (&str, &[String]) {
            (&d.email, &d.previously)
        }
        let candidates = Candidates::of(&self.users, |u| &u.email, &self.roster.users, emails);
        for (k, decl) in self.roster.users.iter().enumerate() {
            d.survey.add(decl);
            let found = candidates.get(k, &self.users, |u| &u.email, emails(decl));
            let decl = &*calendar::on(decl, self.today);
            if decl.status() == Status::Active
                && self.is_admin(Some(&decl.role))
                && (decl.expects_pending() || found.is_some_and(|i| self.users[i].pending))
            {
                d.pending_admins += 1;
            }
            match found {
                // Validation refuses a roster that declares an email twice; a roster
                // that skipped it is refused here rather than planned twice.
                Some(idx) if d.matched[idx] => d.errors.push(PlanError {
                    pointer: format!("/users/{k}/email"),
                    message: format!(
                        "{} names live user {}, as a user above it does",
                        decl.email, self.users[idx].email
                    ),
                    hint: "declare each person once, with any former email under `previously:`"
                        .into(),
                }),
                Some(idx) => {
                    d.matched[idx] = true;
                    baseline.count(&self.users[idx], &|r| self.is_admin(r));
                    self.plan_matched(decl, idx, out);
                }
                None => self.plan_create(decl, out),
            }
        }
        d
    }

    /// A declared user no live user matches: created when declared active.
    fn plan_create(&self, decl: &UserDecl, out: &mut Out) {
        if decl.status() != Status::Active {
            return;
        }
        let after = desired_seat(decl, None, self.caps, &self.own, &|r| self.is_admin(r));
        out.planned.push(Planned {
            admin_order: after.admin,
            role: None,
            change: create(decl, self.caps),
            before: None,
            after,
        });
        if let Some(ext) = decl
            .extension
            .as_ref()
            .filter(|_| self.caps.read_only.contains(&Field::Extension))
        {
            out.manual_steps.push(format!(
                "{}: set extension {ext} in the vendor's console once the user exists (the API cannot set it)",
                decl.email
            ));
        }
    }

    /// A declared user matched to a live one: reactivated, updated, removed, or left
    /// alone when nothing differs or another system owns it.
    fn plan_matched(&self, decl: &UserDecl, idx: usize, out: &mut Out) {
        let live_user = &self.users[idx];
        if let Some(ext) = &live_user.external_id
            && decl.external_id.as_deref() != Some(ext.as_str())
        {
            out.warnings.push(format!(
                "{} is managed by another system (externalId `{ext}`) and is not modified; claim it with `external_id: \"{ext}\"`",
                live_user.email
            ));
            return;
        }
        let diff = update_fields(decl, live_user, self.caps, &self.own);
        out.manual_steps.extend(diff.steps);
        let mut fields = diff.fields;
        if !diff.held.is_empty() && live_user.status == Status::Active {
            out.planned.push(self.held_update(decl, idx, diff.held));
        }
        let action = match (live_user.status, decl.status()) {
            (Status::Inactive, Status::Active) => {
                fields.insert(Field::Status, change_of(json!("inactive"), json!("active")));
                Action::Reactivate
            }
            (Status::Active, Status::Inactive) => {
                fields = removal_fields(live_user, self.caps);
                self.removal()
            }
            (Status::Inactive, Status::Inactive) => return,
            (Status::Active, Status::Active) if fields.is_empty() => return,
            (Status::Active, Status::Active) => Action::Update,
        };
        let before = self.seat_of(live_user);
        let after = match action {
            Action::Deactivate | Action::Offboard => Seat {
                active: false,
                staffed: false,
                builtin_admin: false,
                ..before.clone()
            },
            _ => desired_seat(decl, Some(live_user), self.caps, &self.own, &|r| {
                self.is_admin(r)
            }),
        };
        let held = matches!(action, Action::Deactivate | Action::Offboard) && self.own.hold;
        out.planned.push(Planned {
            admin_order: after.admin,
            role: live_user.role.clone(),
            change: Change {
                action,
                kind: Kind::User,
                key: decl.email.clone(),
                name: Some(decl.name.clone()),
                held,
                id: Some(live_user.id.clone()),
                phase: phase_of(action, &before, &after),
                fields,
                precondition: Some(precondition(&self.live.users[idx])),
                needs: None,
            },
            before: Some(before),
            after,
        });
    }

    /// The membership removals of a declared user, held back: shown, never applied.
    fn held_update(
        &self,
        decl: &UserDecl,
        idx: usize,
        fields: BTreeMap<Field, FieldChange>,
    ) -> Planned {
        let live_user = &self.users[idx];
        let seat = self.seat_of(live_user);
        Planned {
            admin_order: false,
            role: live_user.role.clone(),
            change: Change {
                action: Action::Update,
                kind: Kind::User,
                key: decl.email.clone(),
                name: Some(decl.name.clone()),
                held: true,
                id: Some(live_user.id.clone()),
                phase: Phase::Updates,
                fields,
                precondition: Some(precondition(&self.live.users[idx])),
                needs: None,
            },
            before: Some(seat.clone()),
            after: seat,
        }
    }

    /// Active live users the roster does not declare: removed, unless ignored by policy
    /// or owned by another system. Counts each into `baseline`.
    fn plan_undeclared(&self, matched: &[bool], out: &mut Out, baseline: &mut Baseline) {
        let ignored = ignore_set(&self.roster.policy.ignore);
        for (idx, u) in self.users.iter().enumerate() {
            if matched[idx] {
                continue;
            }
            baseline.count(u, &|r| self.is_admin(r));
            if ignored.is_match(u.email.to_lowercase()) {
                continue;
            }
            if u.status != Status::Active || self.roster.policy.unmanaged_users == Unmanaged::Ignore
            {
                continue;
            }
            if let Some(ext) = &u.external_id {
                out.warnings.push(format!(
                    "{} is not in the roster but is managed by another system (externalId `{ext}`); deprovision it there",
                    u.email
                ));
                continue;
            }
            let before = self.seat_of(u);
            out.planned.push(Planned {
                admin_order: false,
                role: u.role.clone(),
                change: Change {
                    action: self.removal(),
                    kind: Kind::User,
                    key: u.email.clone(),
                    name: Some(u.name.clone()),
                    held: self.own.hold,
                    id: Some(u.id.clone()),
                    phase: Phase::Deactivations,
                    fields: removal_fields(u, self.caps),
                    precondition: Some(precondition(&self.live.users[idx])),
                    needs: None,
                },
                after: Seat {
                    active: false,
                    staffed: false,
                    builtin_admin: false,
                    ..before.clone()
                },
                before: Some(before),
            });
        }
    }
}

/// The phase a user change runs in: promotions before demotions, so the account never
/// has fewer administrators mid-apply than at either end.
fn phase_of(action: Action, before: &Seat, after: &Seat) -> Phase {
    match action {
        Action::Reactivate => Phase::CreateUsers,
        Action::Deactivate | Action::Offboard => Phase::Deactivations,
        _ if after.admin && !before.admin => Phase::Promotions,
        _ if before.admin && !after.admin => Phase::Demotions,
        _ => Phase::Updates,
    }
}

/// Live users in the roster's terms: renamed teams under their declared names; when
/// the provider cannot read roles, the roster's role for each declared user (so the
/// admin floor counts declared administrators); and when its status is only a hint
/// (CloudTalk), declared-active users as active. Copied only then: the common case
/// borrows.
fn in_roster_terms<'a>(
    roster: &Roster,
    live: &'a Account,
    caps: &Capabilities,
    live_to_declared: &HashMap<String, String>,
    today: NaiveDate,
) -> Cow<'a, [User]> {
    if caps.roles && caps.reliable_status && live_to_declared.is_empty() {
        return Cow::Borrowed(&live.users);
    }
    let declared: HashMap<String, &UserDecl> = roster
        .users
        .iter()
        .flat_map(|d| {
            std::iter::once(&d.email)
                .chain(&d.previously)
                .map(move |e| (e.to_lowercase(), d))
        })
        .collect();
    let rename = |t: &String| {
        live_to_declared
            .get(t)
            .cloned()
            .unwrap_or_else(|| t.clone())
    };
    Cow::Owned(
        live.users
            .iter()
            .map(|u| {
                let decl = declared.get(&u.email.to_lowercase());
                let mut u = User {
                    teams: u.teams.iter().map(rename).collect(),
                    ..u.clone()
                };
                if !caps.roles {
                    u.role = decl.map(|d| d.role.clone());
                }
                if !caps.reliable_status
                    && decl.is_some_and(|d| calendar::status_on(d, today) == Status::Active)
                {
                    u.status = Status::Active;
                }
                u
            })
            .collect(),
    )
}

/// Manual steps where the API cannot deactivate: set each offboarded user inactive in
/// the vendor's `console`.
fn console_steps(planned: &[Planned], console: &str) -> Vec<String> {
    planned
        .iter()
        .filter(|p| p.change.action == Action::Offboard)
        .map(|p| {
            format!(
                "set {} Inactive in {console} (the API cannot deactivate)",
                p.change.key
            )
        })
        .collect()
}
