//! What a plan does to people, for a contact-center manager: the comment's heading
//! ("3 people join, 2 leave, 1 becomes an administrator") and one line per person with
//! each person-level change from → to. Values come back unescaped except where a row
//! is built: the caller's Markdown escaping applies to the sentence.

use serde_json::Value;

use super::escape::{self, code_span};
use crate::plan::{Action, Change, Field, Plan};

/// The fields of an update that concern the person, not the engineering.
const PERSON_FIELDS: [Field; 6] = [
    Field::Role,
    Field::Teams,
    Field::Queues,
    Field::Email,
    Field::Addons,
    Field::Status,
];

/// Whether a change joins, removes, re-roles, moves, renames or licenses a person.
pub(super) fn is_person(c: &Change) -> bool {
    match c.action {
        Action::CreateTeam => false,
        Action::Update => PERSON_FIELDS.iter().any(|f| c.fields.contains_key(f)),
        _ => true,
    }
}

/// Whether `role` is one the plan counts as administrative.
fn admin(plan: &Plan, role: Option<&Value>) -> bool {
    role.and_then(Value::as_str)
        .is_some_and(|r| plan.admin_roles.contains(&r.to_lowercase()))
}

/// How a change moves a person in and out of administration: gains, loses or neither.
fn admin_move(plan: &Plan, c: &Change) -> Option<bool> {
    let role = c.fields.get(&Field::Role)?;
    match c.action {
        Action::Create | Action::Reactivate => admin(plan, Some(&role.to)).then_some(true),
        Action::Update => {
            let (was, is) = (admin(plan, Some(&role.from)), admin(plan, Some(&role.to)));
            (was != is).then_some(is)
        }
        _ => None,
    }
}

/// "3 people join, 2 leave, 1 becomes an administrator, 2 move team or queue", or
/// `None` when no change concerns a person.
pub(super) fn sentence(plan: &Plan) -> Option<String> {
    let live = || plan.changes.iter().filter(|c| !c.held);
    let count = |f: &dyn Fn(&Change) -> bool| live().filter(|c| f(c)).count();
    let joins = count(&|c| matches!(c.action, Action::Create | Action::Reactivate));
    let leaves = count(&|c| matches!(c.action, Action::Deactivate | Action::Offboard));
    let gains = count(&|c| admin_move(plan, c) == Some(true));
    let losses = count(&|c| admin_move(plan, c) == Some(false));
    let updated =
        |f: Field| move |c: &Change| c.action == Action::Update && c.fields.contains_key(&f);
    let roles = count(&|c| updated(Field::Role)(c) && admin_move(plan, c).is_none());
    let moves = count(&|c| updated(Field::Teams)(c) || updated(Field::Queues)(c));
    let renames = count(&updated(Field::Email));
    let items = [
        (joins, "joins", "join"),
        (leaves, "leaves", "leave"),
        (gains, "becomes an administrator", "become administrators"),
        (
            losses,
            "is no longer an administrator",
            "are no longer administrators",
        ),
        (roles, "changes role", "change role"),
        (moves, "moves team or queue", "move team or queue"),
        (renames, "changes email", "change email"),
    ];
    // The first names its noun: "3 people join, 2 leave", "1 person leaves".
    let parts: Vec<String> = items
        .into_iter()
        .filter(|(n, ..)| *n > 0)
        .enumerate()
        .map(|(i, (n, one, many))| {
            let verb = if n == 1 { one } else { many };
            match (i, n) {
                (0, 1) => format!("1 person {verb}"),
                (0, _) => format!("{n} people {verb}"),
                _ => format!("{n} {verb}"),
            }
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// A list value as names: `billing, support`, nothing as "—".
fn names(v: &Value) -> String {
    match v {
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(", "),
        Value::String(s) if !s.is_empty() => s.clone(),
        _ => "—".into(),
    }
}

/// The Markdown cell of one person's changes, each from → to, escaped.
pub(super) fn cell(plan: &Plan, c: &Change) -> String {
    let md = |s: &str| escape::inline(s, false).into_owned();
    let field = |f: Field| c.fields.get(&f);
    let mut parts = Vec::new();
    match c.action {
        Action::Create => {
            let role = field(Field::Role).map_or("—".into(), |r| names(&r.to));
            parts.push(format!("joins as {}", md(&role)));
        }
        Action::Reactivate => parts.push("rejoins (reactivated)".into()),
        Action::Deactivate => parts.push("leaves (deactivated)".into()),
        Action::Offboard => parts.push("leaves (offboarded)".into()),
        _ => {}
    }
    if let (Some(r), Action::Update | Action::Reactivate) = (field(Field::Role), c.action) {
        parts.push(format!(
            "role {} → {}",
            md(&names(&r.from)),
            md(&names(&r.to))
        ));
    }
    match admin_move(plan, c) {
        Some(true) => parts.push("**becomes an administrator**".into()),
        Some(false) => parts.push("**no longer an administrator**".into()),
        None => {}
    }
    for (f, label) in [
        (Field::Teams, "team"),
        (Field::Queues, "queues"),
        (Field::Addons, "add-ons"),
    ] {
        if let Some(v) = field(f) {
            let shown = if c.action == Action::Create {
                md(&names(&v.to))
            } else {
                format!("{} → {}", md(&names(&v.from)), md(&names(&v.to)))
            };
            parts.push(format!("{label} {shown}"));
        }
    }
    if let (Some(e), Action::Update) = (field(Field::Email), c.action) {
        let (from, to) = (names(&e.from), names(&e.to));
        parts.push(format!("email {} → {}", code_span(&from), code_span(&to)));
    }
    if c.action == Action::Create {
        parts.push("welcome email".into());
    }
    if c.held {
        parts.push("held: not applied".into());
    }
    parts.join("; ")
}
