//! Helpers shared by the integration tests.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `roster` binary in `dir` with `args`.
pub fn roster(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("TALKDESK_CLIENT_ID")
        .env_remove("TALKDESK_CLIENT_SECRET")
        .output()
        .expect("the roster binary runs");
    keep_plan_out(dir, args);
    out
}

/// After `roster plan … --out FILE` ran in `dir`, checks FILE with [`keep_plan`].
fn keep_plan_out(dir: &Path, args: &[&str]) {
    if args.first() != Some(&"plan") {
        return;
    }
    let joined = args.iter().find_map(|a| a.strip_prefix("--out="));
    let apart = args.windows(2).find(|w| w[0] == "--out").map(|w| w[1]);
    if let Some(file) = joined.or(apart) {
        keep_plan(&dir.join(file));
    }
}

/// Checks a plan file a test wrote against `roster schema --plan` (with the `jsonschema`
/// crate, not the schemars that made the schema) and keeps a copy under
/// `target/tmp/plans/`, which CI checks again with check-jsonschema. A plan a guard
/// refused writes no file, and is skipped.
pub fn keep_plan(path: &Path) {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    static KEPT: AtomicUsize = AtomicUsize::new(0);
    let Ok(text) = fs::read(path) else {
        return;
    };
    let plan: serde_json::Value = serde_json::from_slice(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let validator = VALIDATOR.get_or_init(|| {
        jsonschema::draft202012::new(&roster_core::plan_file::schema())
            .expect("the plan schema compiles")
    });
    let errors: Vec<String> = validator
        .iter_errors(&plan)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{} does not match `roster schema --plan`: {errors:#?}",
        path.display()
    );
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plans");
    fs::create_dir_all(&dir).unwrap();
    let n = KEPT.fetch_add(1, Ordering::Relaxed);
    fs::write(dir.join(format!("{}-{n}.json", std::process::id())), text).unwrap();
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A `roster sandbox serve` child process on 127.0.0.1:0, killed on drop.
pub struct Server {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The directory holding its state file; commands run here.
    pub dir: tempfile::TempDir,
}

/// The seed of every sandbox's injected faults: `ROSTER_FAULT_SEED`, or 1. Fixed, so
/// every run of the suite meets the same faults; failure messages name it so a
/// failure can be repeated, and another seed tried on purpose.
pub fn fault_seed() -> u64 {
    std::env::var("ROSTER_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// `--fault-seed` for a sandbox that injects faults and names no seed of its own.
fn fault_seed_flag(flags: &[&str]) -> Vec<String> {
    if flags.contains(&"--fault-rate") && !flags.contains(&"--fault-seed") {
        // The harness shows a test's output when it fails, so the seed comes with it.
        println!(
            "sandbox fault seed {} (ROSTER_FAULT_SEED=N cargo test to repeat or vary it)",
            fault_seed()
        );
        vec!["--fault-seed".into(), fault_seed().to_string()]
    } else {
        Vec::new()
    }
}

impl Server {
    /// Starts a sandbox seeded from `seed` (a roster path relative to the repository)
    /// or from the state `state`, with extra flags.
    pub fn start(
        seed: Option<&str>,
        state: Option<&roster_sandbox::State>,
        flags: &[&str],
    ) -> Server {
        let dir = tempfile::tempdir().unwrap();
        if let Some(s) = state {
            s.save(&dir.path().join("state.json")).unwrap();
        }
        let (child, url) = Self::spawn(dir.path(), seed, flags);
        Server { child, url, dir }
    }

    /// Stops the sandbox and starts it again over the same state file with `flags`,
    /// as after a crash.
    pub fn restart(&mut self, flags: &[&str]) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, url) = Self::spawn(self.dir.path(), None, flags);
        self.child = child;
        self.url = url;
    }

    fn spawn(dir: &Path, seed: Option<&str>, flags: &[&str]) -> (std::process::Child, String) {
        use std::io::BufRead;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_roster"));
        cmd.args([
            "sandbox",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--state",
            "state.json",
        ])
        .args(flags)
        .args(fault_seed_flag(flags))
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
        if let Some(seed) = seed {
            cmd.arg("--seed").arg(root().join(seed));
        }
        let mut child = cmd.spawn().expect("the sandbox starts");
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .expect("first line names the address")
            .to_string();
        (child, url)
    }

    /// Runs `roster` in the server's directory with credentials for it.
    pub fn roster(&self, args: &[&str]) -> Output {
        self.roster_env(args, &[])
    }

    /// Runs `roster` like [`roster`](Self::roster) with extra environment variables.
    pub fn roster_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("the roster binary runs");
        keep_plan_out(self.dir.path(), args);
        out
    }

    /// Starts `roster` in the background with credentials for the server; its output is
    /// captured for `wait_with_output`.
    pub fn spawn_roster(&self, args: &[&str]) -> std::process::Child {
        self.command(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the roster binary starts")
    }

    /// A `roster` command in the server's directory, with credentials for it and the
    /// apply lock under that directory.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_roster"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env("TALKDESK_BASE_URL", &self.url)
            .env("TALKDESK_CLIENT_ID", roster_sandbox::CLIENT_ID)
            .env("TALKDESK_CLIENT_SECRET", roster_sandbox::CLIENT_SECRET)
            .env("TALKDESK_TOKEN_URL", format!("{}/oauth/token", self.url))
            .env("ROSTER_STATE_DIR", self.dir.path())
            .env_remove("TALKDESK_SCIM_TOKEN")
            .env_remove("TALKDESK_SCIM_URL");
        cmd
    }

    /// Replaces a user through SCIM as another administrator would: reads it, lets
    /// `edit` change it, PUTs it back. Returns the status of the PUT.
    pub fn scim_edit(&self, id: &str, edit: impl FnOnce(&mut serde_json::Value)) -> u16 {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let c = reqwest_client();
            let url = format!("{}/scim/v2/Users/{id}", self.url);
            let token = format!("Bearer {}", roster_sandbox::SCIM_TOKEN);
            let mut user: serde_json::Value = c
                .get(&url)
                .header("authorization", &token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            edit(&mut user);
            c.put(&url)
                .header("authorization", &token)
                .json(&user)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    }

    /// Waits out the vendor's one-second SCIM window before the next command: Talkdesk
    /// counts any second, whoever sends, so a command started within a second of the
    /// last one's requests shares that second (and is answered 429 and retries). Tests
    /// that assert one command's pacing call this between commands.
    pub fn next_command(&self) {
        std::thread::sleep(std::time::Duration::from_millis(1_100));
    }

    /// Asserts that no request was answered 429 by the server's own rate limit (the
    /// client paced itself).
    pub fn assert_no_429(&self) {
        let limited: Vec<_> = self
            .requests()
            .into_iter()
            .filter(|r| r.status == 429 && r.fault.is_none())
            .collect();
        assert!(
            limited.is_empty(),
            "the client went past the rate limit: {limited:?}"
        );
    }

    fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            reqwest_client()
                .get(format!("{}{path}", self.url))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        })
    }

    /// Every request the sandbox received.
    pub fn requests(&self) -> Vec<roster_sandbox::RequestRecord> {
        self.get("/_sandbox/requests")
    }

    /// Every state change.
    pub fn history(&self) -> Vec<roster_sandbox::HistoryEntry> {
        self.get("/_sandbox/history")
    }

    /// Asserts the promise every test checks: no DELETE ever reached a users or agents
    /// endpoint (membership removals from queues and groups are the only DELETEs).
    pub fn assert_no_delete(&self) {
        let deletes: Vec<_> = self
            .requests()
            .into_iter()
            .filter(|r| r.method == "DELETE")
            .filter(|r| r.path != "/ccaas/queues/users" && !r.path.starts_with("/groups/delete/"))
            .collect();
        assert!(
            deletes.is_empty(),
            "DELETE requests reached the sandbox: {deletes:?}"
        );
    }

    /// A path inside the server's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP client for poking the sandbox directly.
pub fn reqwest_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// The exit code.
pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// Checks a roster YAML file as an editor would: its first line names a schema
/// (`# yaml-language-server: $schema=PATH`, relative to the file) that exists, and the
/// file on its own validates against it. Returns the schema's path.
pub fn assert_valid_against_its_schema(file: &Path) -> PathBuf {
    let text = std::fs::read_to_string(file).unwrap();
    let named = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# yaml-language-server: $schema="))
        .unwrap_or_else(|| panic!("{}: no $schema line first", file.display()));
    let schema_path = file.parent().unwrap().join(named);
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&schema_path)
            .unwrap_or_else(|e| panic!("{}: {}: {e}", file.display(), schema_path.display())),
    )
    .unwrap();
    let doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path().as_str()))
        .collect();
    assert!(
        errors.is_empty(),
        "{} does not validate against {}: {errors:#?}",
        file.display(),
        schema_path.display()
    );
    schema_path
}

/// Writes `plan` (JSON) to `path` with its checksum made anew, as `roster plan --out`
/// would have written such a plan: for tests that make a plan a planner could have made.
pub fn write_plan(path: &Path, plan: &serde_json::Value) {
    let mut parsed: roster_core::plan::Plan = serde_json::from_value(plan.clone()).unwrap();
    parsed.checksum = roster_core::plan_file::checksum(&parsed);
    fs::write(path, roster_core::plan_file::to_json(&parsed)).unwrap();
    keep_plan(path);
}

/// The example roster `examples/acme`, as a path argument.
pub fn acme() -> String {
    root().join("examples/acme").display().to_string()
}

/// The text of the example roster's `roster.yaml`, for tests that write a variant.
pub fn acme_text() -> String {
    fs::read_to_string(root().join("examples/acme/roster.yaml")).unwrap()
}
