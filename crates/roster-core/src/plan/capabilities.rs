//! What a provider can do: the planner never plans what it cannot.

use super::{Action, Change, Field};

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
    pub immutable_fields: Vec<Field>,
    /// Talkdesk Phone settings can be read and written.
    pub phone: bool,
    /// Add-on licenses can be read and assigned.
    pub addons: bool,
    /// Roles can be listed, so a declared role that does not exist is an error.
    pub role_catalog: bool,
    /// User fields this API does not have; the roster may declare them, they are not
    /// planned.
    pub unmanaged: Vec<Field>,
    /// Fields the API can set but not read back: sent on create, never compared.
    pub write_only: Vec<Field>,
    /// Fields the API reads but cannot write: a difference is a manual step.
    pub read_only: Vec<Field>,
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
    /// Where the vendor's console sets a user inactive, when the API cannot: each
    /// offboard adds a manual step naming it.
    pub deactivate_in_console: Option<&'static str>,
    /// The permission sets add-on licenses bring, where the vendor has them.
    pub permission_sets: Option<PermissionSets>,
}

/// The permission sets add-on licenses bring to a user, by role: set when a license is
/// added, left as they are when the role changes later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermissionSets {
    /// Add-ons whose names start with this bring a set.
    pub addon_prefix: &'static str,
    /// The first rule that matches a role and add-on gives the set.
    pub rules: &'static [PermissionRule],
    /// Where in the vendor's console a set is changed by hand.
    pub console: &'static str,
}

/// One rule of [`PermissionSets`]: a role containing `role_contains` (any role when
/// `None`), licensed for `addon` (any when `None`), gets `set`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermissionRule {
    /// A word the role's name contains.
    pub role_contains: Option<&'static str>,
    /// The add-on, exactly.
    pub addon: Option<&'static str>,
    /// The permission set.
    pub set: &'static str,
}

impl PermissionSets {
    /// The set `addon` brings to `role`, or `None` when the add-on brings none.
    pub fn of(&self, role: &str, addon: &str) -> Option<&'static str> {
        if !addon.starts_with(self.addon_prefix) {
            return None;
        }
        self.rules
            .iter()
            .find(|r| {
                r.role_contains.is_none_or(|w| role.contains(w))
                    && r.addon.is_none_or(|a| a == addon)
            })
            .map(|r| r.set)
    }
}

/// A write scope the credentials lack, and the changes that need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingWrite {
    /// The scope, e.g. `scim`.
    pub scope: &'static str,
    /// Actions that always need it.
    pub actions: Vec<Action>,
    /// Fields whose change needs it.
    pub fields: Vec<Field>,
}

impl MissingWrite {
    /// Whether `c` cannot be carried out without the scope.
    pub fn blocks(&self, c: &Change) -> bool {
        !c.held
            && (self.actions.contains(&c.action)
                || c.fields.keys().any(|f| self.fields.contains(f)))
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
    /// A provider that can do everything roster plans: every surface, every field
    /// readable and writable, a role catalog, deactivation and team creation, one
    /// request per change and no published limit. Providers start from it and say
    /// what their vendor lacks; planner tests use it for the general behaviour.
    pub fn all() -> Self {
        Capabilities {
            create_teams: true,
            deactivate: true,
            reliable_status: true,
            roles: true,
            immutable_fields: Vec::new(),
            phone: true,
            addons: true,
            role_catalog: true,
            unmanaged: Vec::new(),
            write_only: Vec::new(),
            read_only: Vec::new(),
            teams_by_name: false,
            notes: Vec::new(),
            costs: Costs {
                create: 1,
                update: 1,
                removal: 1,
                membership: 1,
            },
            published_limit: None,
            missing_write: None,
            deactivate_in_console: None,
            permission_sets: None,
        }
    }

    /// Whether the provider plans changes to this field: phone settings and add-ons
    /// only where it has those surfaces.
    pub fn manages(&self, field: Field) -> bool {
        !self.unmanaged.contains(&field)
            && (field != Field::Addons || self.addons)
            && (field.phone_setting().is_none() || self.phone)
    }
}
