//! What a provider can do: the planner never plans what it cannot.

use super::{Action, Change};

/// What a provider can do; the planner never plans what it cannot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Teams can be created through the API.
    pub create_teams: bool,
    /// Users can be deactivated (otherwise removal is an offboard).
    pub deactivate: bool,
    /// The live status is a true seat status. When false (CloudTalk, whose only switch
    /// is outbound calls), a live-inactive user the roster declares active is taken as
    /// active, and its status is never written.
    pub reliable_status: bool,
    /// Roles can be read and changed through the API.
    pub roles: bool,
    /// Fields that can be set at creation but never changed afterwards.
    pub immutable_fields: Vec<&'static str>,
    /// Talkdesk Phone settings can be read and written.
    pub phone: bool,
    /// Add-on licenses can be read and assigned.
    pub addons: bool,
    /// Roles can be listed, so a declared role that does not exist is an error.
    pub role_catalog: bool,
    /// User fields this API does not have; the roster may declare them, they are not
    /// planned.
    pub unmanaged: Vec<&'static str>,
    /// Fields the API can set but not read back: sent on create, never compared.
    pub write_only: Vec<&'static str>,
    /// Fields the API reads but cannot write: a difference is a manual step.
    pub read_only: Vec<&'static str>,
    /// Teams exist only as names on users (Talkdesk): a team no live user holds is
    /// sent by name with a warning, not refused.
    pub teams_by_name: bool,
    /// What the provider could not read and why, for the plan's warnings.
    pub notes: Vec<String>,
    /// Requests a change costs, for the plan's estimate of apply time.
    pub costs: Costs,
    /// The vendor's published write limit in requests per minute, and its name.
    pub published_limit: Option<(u32, &'static str)>,
    /// A write scope these credentials lack, and which changes need it: a plan marks
    /// them, and apply refuses a plan holding one before it sends anything.
    pub missing_write: Option<MissingWrite>,
}

/// A write scope the credentials lack, and the changes that need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingWrite {
    /// The scope, e.g. `scim`.
    pub scope: &'static str,
    /// Actions that always need it.
    pub actions: Vec<Action>,
    /// Fields whose change needs it.
    pub fields: Vec<&'static str>,
}

impl MissingWrite {
    /// Whether `c` cannot be carried out without the scope.
    pub fn blocks(&self, c: &Change) -> bool {
        !c.held
            && (self.actions.contains(&c.action)
                || c.fields.keys().any(|f| self.fields.contains(&f.as_str())))
    }
}

/// Requests one change costs on a provider (a typical count, for estimates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Costs {
    /// A create.
    pub create: usize,
    /// An update or reactivation.
    pub update: usize,
    /// A deactivation or offboard.
    pub removal: usize,
    /// Each team or queue membership a change writes.
    pub membership: usize,
}

impl Capabilities {
    /// Talkdesk with every surface granted: roles and teams by name through SCIM (no
    /// role catalog, no team creation), deactivation, queues, Phone and add-ons; the
    /// extension is read (REST) but no public API writes it; time zone and language
    /// are in no public API.
    pub fn talkdesk() -> Self {
        Capabilities {
            create_teams: false,
            deactivate: true,
            reliable_status: true,
            roles: true,
            immutable_fields: Vec::new(),
            phone: true,
            addons: true,
            role_catalog: false,
            unmanaged: vec!["time_zone", "language"],
            write_only: Vec::new(),
            read_only: vec!["extension"],
            teams_by_name: true,
            notes: Vec::new(),
            // SCIM writes the user; a queue change is one bulk request per direction.
            costs: Costs {
                create: 1,
                update: 1,
                removal: 1,
                membership: 1,
            },
            published_limit: Some((240, "Talkdesk SCIM's 4 requests/s")),
            missing_write: None,
        }
    }

    /// CloudTalk: no deactivation (offboard), roles and group membership unreadable
    /// (roles are taken from the roster; teams are set on create only), the extension
    /// fixed after creation, no team creation.
    pub fn cloudtalk() -> Self {
        Capabilities {
            create_teams: false,
            deactivate: false,
            reliable_status: false,
            roles: false,
            immutable_fields: vec!["extension"],
            phone: false,
            addons: false,
            role_catalog: false,
            unmanaged: vec!["queues", "time_zone", "language"],
            write_only: vec!["teams"],
            read_only: Vec::new(),
            teams_by_name: false,
            notes: Vec::new(),
            // Updates read the agent before editing it; an offboard leaves each group.
            costs: Costs {
                create: 1,
                update: 2,
                removal: 2,
                membership: 1,
            },
            published_limit: Some((60, "CloudTalk's 60 requests/min")),
            missing_write: None,
        }
    }

    /// Whether the provider plans changes to this roster field.
    pub fn manages(&self, field: &str) -> bool {
        let base = field.split('.').next().unwrap_or(field);
        !self.unmanaged.contains(&base)
            && (base != "addons" || self.addons)
            && (base != "phone" || self.phone)
    }
}
