//! Idle-connection memory: reads the server process's resident set (`VmRSS` in
//! `/proc/<pid>/status`), opens C authenticated connections each bound to its own session (or
//! bare ones on `/dev/echo`, `--idle-on-echo`),
//! leaves them idle (only answering pings), reads the RSS again and reports the difference per
//! connection. Reads nothing but that one file; never signals the server.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::drive::{self, Plan};
use crate::target::Target;
use crate::token::Minter;

/// The resident set size of process `pid`, in bytes.
pub fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_rss(&status).with_context(|| format!("no VmRSS line in {path}"))
}

fn parse_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut parts = line.split_whitespace().skip(1);
    let value: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        Some("kB") | None => Some(value * 1024),
        _ => None,
    }
}

/// CPU time (user + system) process `pid` has used so far, in seconds (`/proc/<pid>/stat`,
/// at the kernel's `USER_HZ` of 100).
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_cpu(&stat).with_context(|| format!("unexpected format of {path}"))
}

fn parse_cpu(stat: &str) -> Option<f64> {
    // The command name (field 2) may contain spaces; fields after its ')' start at field 3.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// Runs the idle measurement; `settle` is how long the connections sit idle before the second
/// reading.
pub async fn measure(
    target: &Target,
    minter: &Minter,
    plan: &Plan,
    pid: u32,
    settle: Duration,
) -> anyhow::Result<Value> {
    let before = rss_bytes(pid)?;
    let started = Instant::now();
    let (sockets, setup) = drive::open(target, minter, plan).await;
    let connect_s = started.elapsed().as_secs_f64();
    let connected = sockets.len();
    if connected == 0 {
        bail!("no connection could be opened: {:?}", setup.errors);
    }
    // Each connection is read (so pings are answered) until told to stop.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut readers = Vec::with_capacity(connected);
    for mut socket in sockets {
        let mut stop = stop_rx.clone();
        readers.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    message = socket.next() => match message {
                        Some(Ok(_)) => continue,
                        _ => return false,
                    },
                }
            }
            crate::conn::close(socket).await;
            true
        }));
    }
    tokio::time::sleep(settle).await;
    let after = rss_bytes(pid)?;
    let _ = stop_tx.send(true);
    let mut dropped = 0usize;
    for reader in readers {
        if !matches!(reader.await, Ok(true)) {
            dropped += 1;
        }
    }
    let per_connection = after.saturating_sub(before) as f64 / connected as f64;
    Ok(json!({
        "run": {
            "mode": "idle",
            "url": target.url(match plan.endpoint {
                drive::Endpoint::Observe => "/v2/ws",
                drive::Endpoint::Echo => "/dev/echo",
            }),
            "node": plan.node,
            "connections": plan.connections,
            "connected": connected,
            "settle_s": settle.as_secs_f64(),
        },
        "setup_errors": setup.errors,
        "connect_s": (connect_s * 100.0).round() / 100.0,
        "server_pid": pid,
        "rss_before_bytes": before,
        "rss_after_bytes": after,
        "bytes_per_connection": per_connection.round(),
        "closed_by_server_while_idle": dropped,
    }))
}

/// Prints an idle report for people.
pub fn print(report: &Value) {
    let run = &report["run"];
    println!(
        "mode idle | {} | node {} | {} of {} connections bound (in {} s) | idle {} s",
        run["url"].as_str().unwrap_or("?"),
        run["node"].as_str().unwrap_or("-"),
        run["connected"],
        run["connections"],
        report["connect_s"],
        run["settle_s"],
    );
    let mib = |v: &Value| v.as_u64().unwrap_or(0) as f64 / (1024.0 * 1024.0);
    println!(
        "server pid {} RSS: before {:.1} MiB, after {:.1} MiB",
        report["server_pid"],
        mib(&report["rss_before_bytes"]),
        mib(&report["rss_after_bytes"]),
    );
    println!(
        "per idle connection: {} bytes ({:.1} KiB)",
        report["bytes_per_connection"],
        report["bytes_per_connection"].as_f64().unwrap_or(0.0) / 1024.0
    );
    println!(
        "setup errors: {} | closed by the server while idle: {}",
        report["setup_errors"], report["closed_by_server_while_idle"]
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vmrss() {
        let status = "Name:\tkato-server\nVmPeak:\t  9000 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
        assert_eq!(parse_rss(status), Some(12345 * 1024));
        assert_eq!(parse_rss("Name: x\n"), None);
        assert!(rss_bytes(std::process::id()).unwrap() > 0);
    }

    #[test]
    fn reads_cpu_ticks() {
        let stat = "123 (tokio (rt) x) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 4 0";
        assert_eq!(parse_cpu(stat), Some(3.0));
        assert_eq!(parse_cpu("garbage"), None);
        assert!(cpu_seconds(std::process::id()).unwrap() >= 0.0);
    }
}
