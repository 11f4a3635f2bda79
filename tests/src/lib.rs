//! Support code for the end-to-end tests: building and starting the real `kato-server` binary
//! and talking to it as a client would. Tests never link the server library; they only see
//! the process.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// Path of a freshly built `kato-server` binary. `KATO_SERVER_BIN` overrides it; otherwise the
/// binary is built (once per test process) with the same cargo that runs the tests, so a test
/// never runs a stale binary.
pub fn server_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            if let Ok(path) = std::env::var("KATO_SERVER_BIN") {
                return PathBuf::from(path);
            }
            let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("tests/ sits inside the workspace")
                .to_path_buf();
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = Command::new(cargo)
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "kato-server",
                    "--bin",
                    "kato-server",
                ])
                .current_dir(&workspace)
                .status()
                .expect("run cargo build");
            assert!(status.success(), "building kato-server failed");
            let target = std::env::var("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|_| workspace.join("target"));
            target.join("debug").join("kato-server")
        })
        .clone()
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
