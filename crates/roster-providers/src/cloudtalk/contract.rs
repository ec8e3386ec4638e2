//! CloudTalk's wire contract in one place: the paths, page size, pace and envelope the
//! client sends or reads, each with its source. The source is CloudTalk's OpenAPI
//! document (v1.7), copied unchanged as tests/fixtures/cloudtalk-openapi.json: "doc"
//! names its operation or section; "modeled" means the document does not show it. The
//! emulator serves these same constants.

/// The API base. Doc: the document's `servers`.
pub const DEFAULT_BASE_URL: &str = "https://my.cloudtalk.io/api";

/// The largest page a list serves. Doc: the `limit` parameter of `/agents/index.json`.
pub const LIMIT: usize = 1000;

/// Operations a minute per company. Doc: the "Usage" section (60 a minute).
pub const PER_MINUTE: u32 = 60;

/// The envelope every answer comes in, errors included. Doc: every response schema.
pub const ENVELOPE: &str = "responseData";

/// The rate-limit headers, lowercased as HTTP carries them. Doc: the "Usage" section.
pub mod headers {
    /// Operations allowed per window.
    pub const LIMIT: &str = "x-cloudtalkapi-limit";
    /// Operations left in this window.
    pub const REMAINING: &str = "x-cloudtalkapi-remaining";
    /// When the window resets, in Unix seconds.
    pub const RESET_TIME: &str = "x-cloudtalkapi-resettime";
}

/// The paths roster sends, relative to the API base. Doc: the operations of the same
/// paths.
pub mod paths {
    /// List agents (`GET`).
    pub const AGENTS: &str = "/agents/index.json";
    /// Create an agent (`PUT`).
    pub const AGENT_ADD: &str = "/agents/add.json";
    /// Edit an agent (`POST`), under `/{id}.json`.
    pub const AGENT_EDIT: &str = "/agents/edit";
    /// Delete an agent (`DELETE`), under `/{id}.json`: the emulator serves it as the
    /// vendor does; roster never sends it.
    pub const AGENT_DELETE: &str = "/agents/delete";
    /// List groups (`GET`).
    pub const GROUPS: &str = "/groups/index.json";
    /// Add an agent to a group (`PUT`).
    pub const GROUP_ADD: &str = "/groups/add.json";
    /// Take an agent out of a group (`DELETE`, body `group_id`), under `/{agent_id}.json`.
    /// The document summarises it "Delete an agent" (tag Groups, 404 "Group not
    /// found"); roster reads it as leaving a group and checks that reading on the first
    /// one it sends.
    pub const GROUP_LEAVE: &str = "/groups/delete";

    /// `/agents/edit/{id}.json`.
    pub fn agent_edit(id: &str) -> String {
        format!("{AGENT_EDIT}/{id}.json")
    }

    /// `/groups/delete/{agent_id}.json`.
    pub fn group_leave(agent_id: &str) -> String {
        format!("{GROUP_LEAVE}/{agent_id}.json")
    }
}
