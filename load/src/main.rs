//! `kato-load`: a WebSocket load generator for the KATO server (issue 4). Seeds a node's
//! knowledge base, then drives observe round trips (or the same frames against the dev echo
//! endpoint) and reports throughput and latency percentiles, or measures the server's memory
//! per idle connection. Every loop is bounded in time and count; only loopback by default.

/// jemalloc, as the server: less client CPU per round trip leaves more for the server.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod conn;
mod drive;
mod frames;
mod idle;
mod report;
mod seed;
mod target;
mod token;
mod workload;

use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use serde_json::Value;

use crate::drive::{Endpoint, Plan};
use crate::report::RunInfo;
use crate::target::Target;
use crate::token::Minter;

/// Upper bounds of the knobs, so a typo cannot start an endless or unbounded run.
const MAX_DURATION_S: f64 = 3600.0;
const MAX_CONNECTIONS: usize = 100_000;
const MAX_SEED_PATTERNS: usize = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// observe → predictions round trips on /v2/ws (default).
    Observe,
    /// The same frames against /dev/echo (server started with KATO_DEV_ECHO=true).
    Echo,
    /// Open C bound connections, leave them idle, report server RSS per connection.
    Idle,
    /// Only seed the knowledge base (--seed-patterns), then exit.
    Seed,
}

/// WebSocket load generator for the KATO server.
#[derive(Debug, Parser)]
#[command(name = "kato-load", version)]
struct Args {
    /// What to measure.
    #[arg(long, value_enum, default_value = "observe")]
    mode: Mode,
    /// Server base URL (ws:// or http://); the endpoint path is chosen by mode.
    #[arg(long, default_value = "ws://127.0.0.1:8000")]
    url: String,
    /// Allow a target that is not a loopback address.
    #[arg(long)]
    allow_remote: bool,
    /// The server's HS256 secret (KATO_JWT_SECRET), to mint one token per connection.
    #[arg(long, env = "KATO_LOAD_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// Node (knowledge base) the sessions are created on.
    #[arg(long, default_value = "load")]
    node: String,
    /// Concurrent connections.
    #[arg(short, long, default_value_t = 100)]
    connections: usize,
    /// Target total round trips per second; 0 = flat out, one frame in flight per connection.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Measured seconds (after the warm-up).
    #[arg(short, long, default_value_t = 10.0)]
    duration: f64,
    /// Warm-up seconds (load runs, nothing is recorded).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Observes per STM: after this many the connection clears its STM (keeps the STM short,
    /// as in the engine benchmarks' 3-event STM).
    #[arg(long, default_value_t = 3)]
    stm_events: usize,
    /// Learn this many patterns into --node before the run (0 = none). Not idempotent: use a
    /// fresh node.
    #[arg(long, default_value_t = 0)]
    seed_patterns: usize,
    /// Connections used for seeding.
    #[arg(long, default_value_t = 8)]
    seed_connections: usize,
    /// Seed of the learned patterns (7 = the engine benchmarks' knowledge base).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Symbols patterns and observed events are drawn from (`s0…`); 1000 is the engine
    /// benchmarks' dense shape, larger values give a sparser knowledge base. Use the same value
    /// for seeding and for the run.
    #[arg(long, default_value_t = workload::DEFAULT_VOCABULARY)]
    vocabulary: usize,
    /// Seed of the observed events (connection i uses seed + i).
    #[arg(long, default_value_t = 99)]
    query_seed: u64,
    /// Subjects are <prefix>-<i> (one per connection), seeders <prefix>-seed-<k>.
    #[arg(long, default_value = "load")]
    subject_prefix: String,
    /// Handshakes in flight while opening connections.
    #[arg(long, default_value_t = 256)]
    connect_concurrency: usize,
    /// The server's process id: idle mode reads its RSS (/proc/<pid>/status, required); observe
    /// and echo report its CPU time per round trip (/proc/<pid>/stat, optional).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Idle mode: open the connections on /dev/echo instead (no token check, no session), to
    /// tell the cost of a bare WebSocket from that of an authenticated, bound one.
    #[arg(long)]
    idle_on_echo: bool,
    /// Idle mode: seconds the connections sit idle before the second RSS reading.
    #[arg(long, default_value_t = 3.0)]
    settle: f64,
    /// Client runtime threads (default: all cores; the client shares them with a local server).
    #[arg(long)]
    threads: Option<usize>,
    /// Print the report as one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

fn seconds(name: &str, value: f64) -> anyhow::Result<Duration> {
    if !(0.0..=MAX_DURATION_S).contains(&value) {
        bail!("--{name} must be between 0 and {MAX_DURATION_S} seconds");
    }
    Ok(Duration::from_secs_f64(value))
}

/// Raises the soft open-files limit to the hard one; returns the limit in force.
fn raise_fd_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(_) => rlimit::getrlimit(rlimit::Resource::NOFILE)
            .map(|(soft, _)| soft)
            .unwrap_or(1024),
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .clamp(1, 64);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(run(args, threads))
}

async fn run(args: Args, threads: usize) -> anyhow::Result<()> {
    let target = Target::parse(&args.url, args.allow_remote)?;
    let warmup = seconds("warmup", args.warmup)?;
    let duration = seconds("duration", args.duration)?;
    let settle = seconds("settle", args.settle)?;
    if args.connections == 0 || args.connections > MAX_CONNECTIONS {
        bail!("--connections must be 1..={MAX_CONNECTIONS}");
    }
    if args.seed_patterns > MAX_SEED_PATTERNS {
        bail!("--seed-patterns must be at most {MAX_SEED_PATTERNS}");
    }
    if !args.rate.is_finite() || args.rate < 0.0 {
        bail!("--rate must be ≥ 0 (0 = flat out)");
    }
    if args.mode == Mode::Seed && args.seed_patterns == 0 {
        bail!("--mode seed needs --seed-patterns N");
    }
    let fd_limit = raise_fd_limit();
    let needed = args.connections.max(args.seed_connections) as u64 + 64;
    if fd_limit < needed {
        bail!(
            "the open-files limit is {fd_limit}, {needed} are needed for {} connections; raise it (ulimit -n, see load/README.md)",
            args.connections
        );
    }
    // Tokens outlive the whole run (the server warns 30 s before exp and closes at exp).
    let valid_for = (warmup + duration + settle).as_secs() + 3600;
    let needs_token = args.mode != Mode::Echo || args.seed_patterns > 0;
    let minter = match (&args.secret, needs_token) {
        (Some(secret), _) => Minter::new(secret, valid_for),
        (None, false) => Minter::new("unused", valid_for),
        (None, true) => bail!("--secret (or KATO_LOAD_SECRET) is required to mint tokens"),
    };

    let seeding = if args.seed_patterns > 0 {
        let plan = seed::SeedPlan {
            node: args.node.clone(),
            patterns: args.seed_patterns,
            connections: args.seed_connections,
            seed: args.seed,
            vocabulary: args.vocabulary,
            subject_prefix: args.subject_prefix.clone(),
        };
        let summary = seed::seed(&target, &minter, &plan).await?;
        if !args.json {
            eprintln!("seeded: {summary}");
        }
        Some(summary)
    } else {
        None
    };
    if args.mode == Mode::Seed {
        if args.json {
            println!("{}", serde_json::json!({"seeding": seeding}));
        }
        return Ok(());
    }

    let on_echo = args.mode == Mode::Echo || (args.mode == Mode::Idle && args.idle_on_echo);
    let plan = Plan {
        endpoint: if on_echo {
            Endpoint::Echo
        } else {
            Endpoint::Observe
        },
        node: args.node.clone(),
        connections: args.connections,
        rate: args.rate,
        warmup,
        duration,
        stm_events: args.stm_events.max(1),
        seed: args.query_seed,
        vocabulary: args.vocabulary,
        subject_prefix: args.subject_prefix.clone(),
        connect_concurrency: args.connect_concurrency,
        server_pid: args.server_pid,
    };

    if args.mode == Mode::Idle {
        let Some(pid) = args.server_pid else {
            bail!("--mode idle needs --server-pid PID (the server process whose RSS is read)");
        };
        let mut report = idle::measure(&target, &minter, &plan, pid, settle).await?;
        if let (Some(summary), Some(object)) = (seeding, report.as_object_mut()) {
            object.insert("seeding".into(), summary);
        }
        return print(&report, args.json, idle::print);
    }

    let (sockets, setup) = drive::open(&target, &minter, &plan).await;
    if sockets.is_empty() {
        bail!("no connection could be opened: {:?}", setup.errors);
    }
    let info = RunInfo {
        mode: format!("{:?}", args.mode).to_lowercase(),
        url: target.url(match plan.endpoint {
            Endpoint::Observe => "/v2/ws",
            Endpoint::Echo => "/dev/echo",
        }),
        node: (plan.endpoint == Endpoint::Observe).then(|| plan.node.clone()),
        connections: plan.connections,
        connected: sockets.len(),
        rate: plan.rate,
        warmup_s: warmup.as_secs_f64(),
        duration_s: duration.as_secs_f64(),
        stm_events: plan.stm_events,
        threads,
    };
    let (mut stats, cpu) = drive::run(sockets, &plan).await;
    stats.merge(&setup);
    let report = report::run_report(&info, &stats, cpu, seeding.as_ref());
    print(&report, args.json, report::print_run)
}

fn print(report: &Value, json: bool, text: fn(&Value)) -> anyhow::Result<()> {
    if json {
        println!("{report}");
    } else {
        text(report);
    }
    Ok(())
}
