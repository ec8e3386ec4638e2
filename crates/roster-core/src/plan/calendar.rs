//! Seasonal staff: a user's `active_from` and `active_until` days, compared with today
//! in the roster's time zone.

use std::borrow::Cow;
use std::str::FromStr;

use chrono::{Days, NaiveDate};
use foldhash::{HashMap, HashMapExt};

use crate::config::{DeclaredStatus, Roster, UserDecl};
use crate::model::Status;

/// How far ahead the plan lists starts and expiries.
const AHEAD: Days = Days::new(7);

/// Today in `policy.time_zone` (UTC when unset).
pub(super) fn today(roster: &Roster) -> NaiveDate {
    let tz = roster
        .policy
        .time_zone
        .as_deref()
        .and_then(|t| chrono_tz::Tz::from_str(t).ok())
        .unwrap_or(chrono_tz::UTC);
    chrono::Utc::now().with_timezone(&tz).date_naive()
}

/// Whether a user is outside their dates on `day`.
fn out_of_season(u: &UserDecl, day: NaiveDate) -> bool {
    let (from, until) = u.dates();
    outside(from, until, day)
}

/// Whether `day` is before `from` or after `until`.
fn outside(from: Option<NaiveDate>, until: Option<NaiveDate>, day: NaiveDate) -> bool {
    from.is_some_and(|f| day < f) || until.is_some_and(|t| day > t)
}

/// The user as of `today`: declared inactive when before `active_from` or after
/// `active_until` (a new one is then not created). Copied only then.
pub(super) fn on(u: &UserDecl, today: NaiveDate) -> Cow<'_, UserDecl> {
    if !out_of_season(u, today) {
        return Cow::Borrowed(u);
    }
    Cow::Owned(UserDecl {
        status: Some(DeclaredStatus::Inactive),
        ..u.clone()
    })
}

/// The status [`on`] gives the user, without the copy.
pub(super) fn status_on(u: &UserDecl, today: NaiveDate) -> Status {
    if out_of_season(u, today) {
        Status::Inactive
    } else {
        u.status()
    }
}

/// Starts and expiries within the next 7 days, with a warning when an expiring
/// administrator would take the account below its admin floor.
pub(super) fn upcoming<'r>(roster: &'r Roster, today: NaiveDate) -> Vec<String> {
    let end = today.checked_add_days(AHEAD).unwrap_or(today);
    let admins = roster.admin_roles();
    // Decided once per role spelling, not lowercased again for every user.
    let mut of_role: HashMap<&str, bool> = HashMap::new();
    let mut is_admin = |u: &'r UserDecl| -> bool {
        *of_role
            .entry(u.role.as_str())
            .or_insert_with(|| admins.contains(&u.role.to_lowercase()))
    };
    let mut out = Vec::new();
    let mut expiring_admins = 0;
    // Only dated users are looked at closely: at 100,000 users, reading every user's
    // role (another allocation each) is what a pass costs.
    for u in &roster.users {
        let (from, until) = u.dates();
        if let Some(f) = from.filter(|f| *f > today && *f <= end) {
            out.push(format!("{f}: {} starts (active_from)", u.email));
        }
        if let Some(t) = until.filter(|t| *t >= today && *t < end) {
            let admin = is_admin(u);
            let role = if admin { " (administrator)" } else { "" };
            out.push(format!(
                "{t}: {}{role} ends (active_until); deactivated the day after",
                u.email
            ));
            expiring_admins += usize::from(admin && u.status() == Status::Active);
        }
    }
    // The floor matters only when an administrator expires.
    let active_admins = if expiring_admins == 0 {
        0
    } else {
        roster
            .users
            .iter()
            .filter(|u| u.status() == Status::Active && !out_of_season(u, today) && is_admin(u))
            .count()
    };
    let floor = roster.policy.min_admins.max(1) as usize;
    let left = active_admins.saturating_sub(expiring_admins);
    if expiring_admins > 0 && left < floor {
        out.push(format!(
            "warning: when the administrators above expire, the roster declares {left} active administrator(s), below the floor of {floor}: that day's plan will be refused; declare another administrator"
        ));
    }
    out.sort();
    out
}
