//! The emulated account: what the sandbox persists, and the records it keeps of every
//! request and every state change.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use roster_core::model::{Named, PhoneSettings};

/// An add-on license: its entitlement and the users holding it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxAddon {
    /// Add-on name, e.g. salesforce.
    pub name: String,
    /// Seats the contract allows.
    pub entitlement: u32,
    /// IDs of the users holding it.
    pub assigned: Vec<String>,
}

/// A user as the emulators store it: role, teams and queues by ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxUser {
    /// Immutable UUID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Login email.
    pub email: String,
    /// Role ID.
    pub role: String,
    /// `active` or `inactive`.
    pub status: String,
    /// Invited and not confirmed yet: active, holding a seat, unable to sign in. Only
    /// Guardian's list says so (`PENDING`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending: bool,
    /// Extension.
    #[serde(default)]
    pub extension: Option<String>,
    /// Queue IDs.
    #[serde(default)]
    pub queues: Vec<String>,
    /// Team IDs.
    #[serde(default)]
    pub teams: Vec<String>,
    /// IANA time zone.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Language tag.
    #[serde(default)]
    pub language: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change time (RFC 3339 with a sequence suffix, so every change differs).
    pub updated_at: String,
    /// Set when an identity provider provisioned the user over SCIM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

impl SandboxUser {
    /// A new active user with only the required fields set.
    pub fn new(id: String, email: String, name: String, role: String, stamp: String) -> Self {
        SandboxUser {
            id,
            name,
            email,
            role,
            status: "active".into(),
            pending: false,
            extension: None,
            queues: Vec::new(),
            teams: Vec::new(),
            time_zone: None,
            language: None,
            created_at: stamp.clone(),
            updated_at: stamp,
            external_id: None,
        }
    }
}

/// The whole emulated account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Roles.
    pub roles: Vec<Named>,
    /// Teams.
    pub teams: Vec<Named>,
    /// Queues.
    pub queues: Vec<Named>,
    /// Users in creation order.
    pub users: Vec<SandboxUser>,
    /// Phone settings by user ID (users without an entry have the defaults).
    #[serde(default)]
    pub phone: BTreeMap<String, PhoneSettings>,
    /// Purchased numbers (DIDs).
    #[serde(default)]
    pub phone_numbers: Vec<String>,
    /// SIP phone IDs.
    #[serde(default)]
    pub phone_devices: Vec<String>,
    /// Add-on licenses.
    #[serde(default)]
    pub addons: Vec<SandboxAddon>,
    /// Base-edition licenses: a user created or activated while every one is taken
    /// stays inactive (doc: https://docs.talkdesk.com/docs/scim-api). None: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licenses: Option<usize>,
    /// Counter behind `updated_at` and IDs.
    pub seq: u64,
}

impl State {
    /// Reads a state file.
    pub fn load(path: &Path) -> std::io::Result<State> {
        let bytes = std::fs::read(path)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })
    }

    /// Writes the state file atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        roster_core::config::write_atomic(path, &bytes)
    }

    /// A fresh timestamp that differs from every earlier one.
    pub fn stamp(&mut self) -> String {
        self.seq += 1;
        format!(
            "{}#{}",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
            self.seq
        )
    }

    /// Whether a role ID names an administrative role (its name contains "admin").
    pub fn is_admin_role(&self, role_id: &str) -> bool {
        self.roles
            .iter()
            .any(|r| r.id == role_id && r.name.to_lowercase().contains("admin"))
    }

    /// Active users whose role is administrative.
    pub fn active_admins(&self) -> usize {
        self.users
            .iter()
            .filter(|u| u.status == "active" && self.is_admin_role(&u.role))
            .count()
    }

    /// The phone settings of a user: stored ones, or the defaults of a new user.
    pub fn phone_of(&self, user_id: &str) -> PhoneSettings {
        self.phone
            .get(user_id)
            .cloned()
            .unwrap_or_else(|| PhoneSettings {
                extension: None,
                caller_id: None,
                numbers: Some(Vec::new()),
                sip_phones: Some(Vec::new()),
                call_waiting: Some(false),
                call_forward: Some(roster_core::model::CallForward {
                    enabled: false,
                    number: None,
                }),
                default_country_code: Some("US".into()),
                do_not_disturb: Some(false),
            })
    }

    /// The default roles of a new Talkdesk account.
    pub fn default_roles() -> Vec<Named> {
        ["Administrator", "Supervisor", "Agent"]
            .iter()
            .enumerate()
            .map(|(i, n)| Named {
                id: format!("00000000-0000-4000-8000-00000000000{}", i + 1),
                name: n.to_string(),
            })
            .collect()
    }

    /// An account of `n` agents and two administrators, for load tests and benchmarks.
    pub fn synthetic(n: usize) -> State {
        let mut s = State {
            roles: State::default_roles(),
            ..State::default()
        };
        s.teams = vec![Named {
            id: "team-1".into(),
            name: "Support".into(),
        }];
        s.queues = vec![Named {
            id: "rg-1".into(),
            name: "support".into(),
        }];
        for i in 0..n {
            let role = if i < 2 {
                &s.roles[0].id
            } else {
                &s.roles[2].id
            };
            let stamp = format!("2026-01-01T00:00:00Z#{i}");
            s.users.push(SandboxUser {
                id: format!("user-{i:06}"),
                name: format!("Agent {i:06}"),
                email: format!("agent{i:06}@acme.example"),
                role: role.clone(),
                status: "active".into(),
                pending: false,
                extension: Some(format!("{}", 10_000 + i)),
                queues: vec!["rg-1".into()],
                teams: vec!["team-1".into()],
                time_zone: Some("Europe/Lisbon".into()),
                language: Some("en-US".into()),
                created_at: stamp.clone(),
                updated_at: stamp,
                external_id: None,
            });
        }
        s.seq = n as u64;
        s
    }
}

/// One request the sandbox received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// When it arrived, in milliseconds since the server started.
    #[serde(default)]
    pub at_ms: u64,
    /// HTTP method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// Status sent back.
    pub status: u16,
    /// The fault injected instead of or after handling, if any.
    pub fault: Option<String>,
    /// The JSON body the request carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
}

/// One state change and the invariants after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Position in the history.
    pub seq: u64,
    /// Method and path that changed the state.
    pub request: String,
    /// The user changed.
    pub email: String,
    /// Active administrators after the change.
    pub active_admins: usize,
    /// Active users after the change.
    pub active_users: usize,
    /// Whether every email is still unique (case-insensitively).
    pub emails_unique: bool,
}
