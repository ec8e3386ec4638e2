//! What each vendor's API lets roster do, for the planner: the vendor knowledge the
//! pure core takes as data (see `roster_core::plan::Capabilities`).

use roster_core::plan::{Capabilities, Costs, Field, PermissionRule, PermissionSets};

/// The permission set a Salesforce license brings to a role: a role containing "Admin"
/// gets Talkdesk Admin, "Supervisor" gets Talkdesk Supervisor (Admin for Voice, which
/// has no supervisor set), any other Talkdesk Agent. Modeled: no public Talkdesk page
/// states this mapping.
const SALESFORCE: PermissionSets = PermissionSets {
    addon_prefix: "salesforce",
    rules: &[
        PermissionRule {
            role_contains: Some("Admin"),
            addon: None,
            set: "Talkdesk Admin",
        },
        PermissionRule {
            role_contains: Some("Supervisor"),
            addon: Some("salesforce_voice"),
            set: "Talkdesk Admin",
        },
        PermissionRule {
            role_contains: Some("Supervisor"),
            addon: None,
            set: "Talkdesk Supervisor",
        },
        PermissionRule {
            role_contains: None,
            addon: None,
            set: "Talkdesk Agent",
        },
    ],
    console: "Subscriptions → Change Permission Set",
};

/// Talkdesk with every surface granted: roles and teams by name through SCIM (no role
/// catalog, no team creation), deactivation, queues, Phone and add-ons; the extension
/// is read (REST) but no public API writes it; time zone and language are in no public
/// API.
pub fn talkdesk() -> Capabilities {
    Capabilities {
        create_teams: false,
        role_catalog: false,
        unmanaged: vec![Field::TimeZone, Field::Language],
        read_only: vec![Field::Extension],
        teams_by_name: true,
        // SCIM writes the user; a queue change is one bulk request per direction.
        costs: Costs {
            create: 1,
            update: 1,
            removal: 1,
            membership: 1,
        },
        published_limit: Some((240, "Talkdesk SCIM's 4 requests/s")),
        permission_sets: Some(SALESFORCE),
        ..Capabilities::all()
    }
}

/// CloudTalk: no deactivation (offboard, and a manual step in the Dashboard), roles
/// and group membership unreadable (roles are taken from the roster; teams are set on
/// create only), the extension fixed after creation, no team creation, no Phone or
/// add-ons.
pub fn cloudtalk() -> Capabilities {
    Capabilities {
        create_teams: false,
        deactivate: false,
        reliable_status: false,
        roles: false,
        immutable_fields: vec![Field::Extension],
        phone: false,
        addons: false,
        role_catalog: false,
        unmanaged: vec![Field::Queues, Field::TimeZone, Field::Language],
        write_only: vec![Field::Teams],
        // Updates read the agent before editing it; an offboard leaves each group.
        costs: Costs {
            create: 1,
            update: 2,
            removal: 2,
            membership: 1,
        },
        published_limit: Some((60, "CloudTalk's 60 requests/min")),
        deactivate_in_console: Some("Dashboard → Settings → Agents"),
        ..Capabilities::all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salesforce_licenses_bring_a_set_by_role() {
        let of = |role, addon| SALESFORCE.of(role, addon);
        assert_eq!(
            of("Administrator", "salesforce_crm"),
            Some("Talkdesk Admin")
        );
        assert_eq!(of("Supervisor", "salesforce_voice"), Some("Talkdesk Admin"));
        assert_eq!(
            of("Supervisor", "salesforce_crm"),
            Some("Talkdesk Supervisor")
        );
        assert_eq!(of("Agent", "salesforce_crm"), Some("Talkdesk Agent"));
        assert_eq!(of("Agent", "workforce_management"), None);
    }
}
