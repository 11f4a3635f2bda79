//! Support code for the end-to-end tests: building and starting the real `kato-server` binary
//! and talking to it as a client would. Tests never link the server library; they only see
//! the process.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

pub use reqwest;

mod http;
pub mod ws;
pub use http::{invalid, observation_id, pattern_name, send, session_not_found, Answer, Caller};

/// Path of a freshly built `kato-server` binary. `KATO_SERVER_BIN` overrides it; otherwise the
/// binary is built (once per test process) with the same cargo that runs the tests, so a test
/// never runs a stale binary.
pub fn server_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| match std::env::var("KATO_SERVER_BIN") {
            Ok(path) => PathBuf::from(path),
            Err(_) => build_binary("kato-server", "kato-server"),
        })
        .clone()
}

/// Builds binary `bin` of workspace package `package` (debug) with the cargo running the tests,
/// honouring `CARGO_TARGET_DIR`, and returns its path. Callers cache the result.
pub fn build_binary(package: &str, bin: &str) -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits inside the workspace")
        .to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "-p", package, "--bin", bin])
        .current_dir(&workspace)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "building {bin} failed");
    std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace.join("target"))
        .join("debug")
        .join(bin)
}

/// A running engine shell (`kato-server` reading JSON commands on stdin).
pub struct ShellProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl ShellProcess {
    /// Starts the server with its embedded store in `data_dir`.
    pub fn start(data_dir: &Path) -> Self {
        let mut child = Command::new(server_binary())
            .arg("shell")
            .env("KATO_DATA_DIR", data_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start kato-server");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        ShellProcess {
            child,
            stdin,
            stdout,
        }
    }

    /// Sends one command and waits for its reply.
    pub fn call(&mut self, command: Value) -> Value {
        writeln!(self.stdin, "{command}").expect("write command");
        self.stdin.flush().expect("flush");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read reply");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad reply {line:?}: {e}"))
    }

    /// SIGKILL: no chance to flush or clean up, as in a crash.
    pub fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("reap");
    }
}

impl Drop for ShellProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// HS256 secret every [`TestApp`] is started with (unless a test overrides it).
pub const TEST_SECRET: &str = "kato-e2e-test-secret-0123456789abcdef";

/// A real `kato-server` process serving HTTP on a free loopback port, with its own data
/// directory. Built with [`TestApp::builder`]; killed on drop.
pub struct TestApp {
    child: Child,
    pub base_url: String,
    pub data_dir: tempfile::TempDir,
    /// Every line the server printed on stdout after the address (e.g. the dev token).
    pub banner: Vec<String>,
    env: Vec<(String, String)>,
    /// Where stderr goes when captured ([`TestAppBuilder::capture_stderr`]); kept across
    /// restarts (appended to).
    stderr_log: Option<tempfile::NamedTempFile>,
    client: reqwest::blocking::Client,
}

/// Configures a [`TestApp`] before it starts: `TestApp::builder().env("KATO_AUTH", "disabled").start()`.
#[derive(Default)]
pub struct TestAppBuilder {
    env: Vec<(String, String)>,
    no_secret: bool,
    capture_stderr: bool,
}

impl TestAppBuilder {
    /// Sets a `KATO_*` variable for the server process.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Starts without `KATO_JWT_SECRET` (the server then generates one and prints a dev token).
    pub fn without_secret(mut self) -> Self {
        self.no_secret = true;
        self
    }

    /// Sends the server's stderr (its log) to a file instead of the test's stderr; read it
    /// with [`TestApp::stderr`].
    pub fn capture_stderr(mut self) -> Self {
        self.capture_stderr = true;
        self
    }

    pub fn start(self) -> TestApp {
        let data_dir = tempfile::tempdir().expect("tempdir");
        let mut env = vec![
            ("KATO_BIND".to_string(), "127.0.0.1:0".to_string()),
            ("KATO_LOG_FILTER".to_string(), "warn".to_string()),
        ];
        if !self.no_secret {
            env.push(("KATO_JWT_SECRET".to_string(), TEST_SECRET.to_string()));
        }
        env.extend(self.env);
        let stderr_log = self
            .capture_stderr
            .then(|| tempfile::NamedTempFile::new().expect("stderr log file"));
        TestApp::spawn(data_dir, env, stderr_log)
    }
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder::default()
    }

    /// A server with the test secret and default settings.
    pub fn start() -> TestApp {
        TestApp::builder().start()
    }

    fn spawn(
        data_dir: tempfile::TempDir,
        env: Vec<(String, String)>,
        stderr_log: Option<tempfile::NamedTempFile>,
    ) -> TestApp {
        let stderr = match &stderr_log {
            Some(log) => Stdio::from(
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(log.path())
                    .expect("open stderr log"),
            ),
            None => Stdio::inherit(),
        };
        let mut command = Command::new(server_binary());
        command
            .env("KATO_DATA_DIR", data_dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        for (key, value) in &env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start kato-server");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first = lines
            .next()
            .and_then(Result::ok)
            .unwrap_or_else(|| match &stderr_log {
                Some(log) => panic!(
                    "kato-server exited before listening; stderr:\n{}",
                    std::fs::read_to_string(log.path()).unwrap_or_default()
                ),
                None => panic!("kato-server exited before listening (see stderr above)"),
            });
        let base_url = first
            .strip_prefix("kato-server listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_string();
        // The rest of stdout (the dev-token banner) is read on a thread so the pipe never fills.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut banner = Vec::new();
        while let Ok(line) = rx.recv_timeout(std::time::Duration::from_millis(200)) {
            banner.push(line);
        }
        TestApp {
            child,
            base_url,
            data_dir,
            banner,
            env,
            stderr_log,
            client: reqwest::blocking::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .expect("http client"),
        }
    }

    /// Stops the process (SIGKILL) and starts a new one on the same data directory and settings.
    pub fn restart(mut self) -> TestApp {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let data_dir = std::mem::replace(&mut self.data_dir, tempfile::tempdir().expect("tempdir"));
        let env = std::mem::take(&mut self.env);
        let env: Vec<(String, String)> = env
            .into_iter()
            .map(|(k, v)| {
                if k == "KATO_BIND" {
                    (k, "127.0.0.1:0".into())
                } else {
                    (k, v)
                }
            })
            .collect();
        let stderr_log = self.stderr_log.take();
        TestApp::spawn(data_dir, env, stderr_log)
    }

    /// Everything the server wrote to stderr so far (empty unless started with
    /// [`TestAppBuilder::capture_stderr`]).
    pub fn stderr(&self) -> String {
        self.stderr_log
            .as_ref()
            .map(|log| {
                String::from_utf8_lossy(&std::fs::read(log.path()).unwrap_or_default()).into_owned()
            })
            .unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    pub fn client(&self) -> &reqwest::blocking::Client {
        &self.client
    }

    /// A request with `Authorization: Bearer <token>` for `subject` (all scopes but admin).
    pub fn as_user(
        &self,
        method: reqwest::Method,
        path: &str,
        subject: &str,
    ) -> reqwest::blocking::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token(subject, &serde_json::json!({})))
    }

    /// `process id`, for tests that signal the server.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM (a graceful shutdown request).
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits up to `timeout` for the process to exit; its status, or `None` if still running.
    pub fn wait_exit(&mut self, timeout: std::time::Duration) -> Option<std::process::ExitStatus> {
        let until = std::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if std::time::Instant::now() >= until {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// An HS256 token signed with [`TEST_SECRET`] for `subject`, valid for an hour; `extra`
/// claims (an object) are merged in and may override `exp`, `sub`, etc.
pub fn token(subject: &str, extra: &Value) -> String {
    token_with_secret(TEST_SECRET.as_bytes(), subject, extra)
}

pub fn token_with_secret(secret: &[u8], subject: &str, extra: &Value) -> String {
    let mut claims = serde_json::json!({"sub": subject, "exp": now() + 3600, "iat": now()});
    if let (Some(claims), Some(extra)) = (claims.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            claims.insert(k.clone(), v.clone());
        }
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .expect("sign test token")
}
