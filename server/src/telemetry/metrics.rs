//! Every metric of the server in one Prometheus registry (namespace `kato_`, help text on each),
//! the bounded in-memory history of samples behind `/stats` and `/metrics/{name}`, and the
//! session-service observer that feeds the engine-side metrics. It never labels by session id,
//! subject or raw path (cardinality stays bounded) and never blocks a request on I/O.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::session::{ServiceObserver, SessionService};

/// The Prometheus namespace of every metric.
pub const NAMESPACE: &str = "kato";

/// Request-duration buckets, in seconds: 50 µs up to 10 s.
/// Label values of `kato_ws_frames_total{type}`: every client frame type and the refusals.
pub const WS_FRAME_TYPES: [&str; 17] = [
    "hello",
    "observe",
    "observe_sequence",
    "learn",
    "get_predictions",
    "get_stm",
    "clear_stm",
    "clear_all",
    "config",
    "watch",
    "unwatch",
    "refresh",
    "ping",
    "invalid",
    "non_json",
    "binary",
    "rate_limited",
];

pub const REQUEST_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
];

/// Engine-time buckets (predictions, observes), in seconds: 10 µs up to 10 s.
pub const ENGINE_BUCKETS: &[f64] = &[
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// STM-length buckets, in events (the STM holds at most 1000).
pub const STM_BUCKETS: &[f64] = &[
    0.0, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0,
];

/// The `endpoint` label of a request that matched no route.
pub const UNMATCHED_ENDPOINT: &str = "unmatched";

/// Circuit-breaker states as the `kato_circuit_breaker_state` gauge encodes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed = 0,
    Open = 1,
    HalfOpen = 2,
}

/// Names of the sampled series served by `/stats` and `/metrics/{name}`, in sample order.
pub const SERIES: [&str; 12] = [
    "kato_requests_total",
    "kato_request_errors_total",
    "kato_request_duration_seconds",
    "kato_requests_per_second",
    "kato_cpu_usage_percent",
    "kato_memory_usage_percent",
    "kato_disk_usage_percent",
    "kato_process_resident_memory_bytes",
    "kato_active_sessions",
    "kato_sessions_created_total",
    "kato_observations_total",
    "kato_patterns_learned_total",
];

/// Seconds since the Unix epoch, as a float (the upstream JSON timestamps).
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// One sample of every series; `None` where a value could not be read (e.g. no `/proc`) or
/// does not exist (no request finished in the interval, so no mean duration).
#[derive(Debug, Clone)]
pub struct Sample {
    pub timestamp: f64,
    pub values: [Option<f64>; SERIES.len()],
}

/// Summary of one series over a time window.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesStats {
    pub count: usize,
    pub min: f64,
    pub max: f64,
    pub avg: f64,
}

/// Host resource readings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Resources {
    pub cpu_percent: Option<f64>,
    pub memory_percent: Option<f64>,
    pub disk_percent: Option<f64>,
    pub resident_bytes: Option<f64>,
}

#[derive(Debug, Clone, Copy)]
struct CpuTimes {
    busy: u64,
    total: u64,
}

struct History {
    samples: VecDeque<Sample>,
    capacity: usize,
    last_cpu: Option<CpuTimes>,
    last_cpu_percent: Option<f64>,
    /// Request count and summed duration at the previous sample (interval means).
    last_requests: u64,
    last_duration_nanos: u64,
    last_at: Option<Instant>,
}

/// Request totals kept beside the Prometheus families so the JSON endpoints need no gather.
#[derive(Default)]
struct Totals {
    requests: AtomicU64,
    errors: AtomicU64,
    duration_nanos: AtomicU64,
}

/// Every metric of the server. One per process, shared as `Arc<Metrics>`.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    request_duration: HistogramVec,
    active_sessions: IntGauge,
    stm_size: Histogram,
    database_connections: IntGaugeVec,
    circuit_breaker_state: IntGaugeVec,
    prediction_seconds: Histogram,
    observe_seconds: Histogram,
    rate_limited: IntCounterVec,
    observations: IntCounter,
    patterns_learned: IntCounter,
    sessions_created: IntCounter,
    sessions_deleted: IntCounter,
    sessions_expired: IntCounter,
    cpu_usage_percent: Gauge,
    memory_usage_percent: Gauge,
    disk_usage_percent: Gauge,
    resident_memory_bytes: Gauge,
    uptime_seconds: Gauge,
    ws_connections: IntGauge,
    ws_connections_total: IntCounter,
    ws_closes: IntCounterVec,
    ws_frames: IntCounterVec,
    ws_command_seconds: HistogramVec,
    totals: Totals,
    history: Mutex<History>,
    started: Instant,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn opts(name: &str, help: &str) -> Opts {
    Opts::new(name, help).namespace(NAMESPACE)
}

fn histogram_opts(name: &str, help: &str, buckets: &[f64]) -> HistogramOpts {
    HistogramOpts::new(name, help)
        .namespace(NAMESPACE)
        .buckets(buckets.to_vec())
}

/// Registers a collector. Every definition is a compile-time constant with a unique name, so
/// a failure here is a programming error (caught by the unit tests), never a runtime condition.
fn register<C: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    made: prometheus::Result<C>,
) -> C {
    let collector = made.expect("static metric definition is valid");
    registry
        .register(Box::new(collector.clone()))
        .expect("static metric names are unique");
    collector
}

impl Metrics {
    /// A registry with every metric, with the default history (one hour of 5 s samples).
    pub fn new() -> Self {
        Self::with_history(720)
    }

    /// `capacity`: most samples kept (at least 1).
    pub fn with_history(capacity: usize) -> Self {
        let registry = Registry::new();
        let requests = register(
            &registry,
            IntCounterVec::new(
                opts(
                    "requests_total",
                    "HTTP requests answered, by method, matched route (parameters as :name) and status code.",
                ),
                &["method", "endpoint", "status"],
            ),
        );
        let request_duration = register(
            &registry,
            HistogramVec::new(
                histogram_opts(
                    "request_duration_seconds",
                    "Time to produce an HTTP response, by method and matched route (parameters as :name).",
                    REQUEST_BUCKETS,
                ),
                &["method", "endpoint"],
            ),
        );
        let active_sessions = register(
            &registry,
            IntGauge::with_opts(opts("active_sessions", "Live sessions on this instance.")),
        );
        let stm_size = register(
            &registry,
            Histogram::with_opts(histogram_opts(
                "stm_size",
                "Short-term-memory length (events) of a session after each observe.",
                STM_BUCKETS,
            )),
        );
        let database_connections = register(
            &registry,
            IntGaugeVec::new(
                opts(
                    "database_connections",
                    "Open connections per database backend (embedded store: open node logs).",
                ),
                &["database"],
            ),
        );
        let circuit_breaker_state = register(
            &registry,
            IntGaugeVec::new(
                opts(
                    "circuit_breaker_state",
                    "Circuit-breaker state per backend service: 0 closed, 1 open, 2 half-open.",
                ),
                &["service"],
            ),
        );
        let prediction_seconds = register(
            &registry,
            Histogram::with_opts(histogram_opts(
                "prediction_seconds",
                "Engine time to compute one prediction set on request (GET predictions).",
                ENGINE_BUCKETS,
            )),
        );
        let observe_seconds = register(
            &registry,
            Histogram::with_opts(histogram_opts(
                "observe_seconds",
                "Engine time of one observe, including its observe-time predictions and any auto-learn.",
                ENGINE_BUCKETS,
            )),
        );
        let rate_limited = register(
            &registry,
            IntCounterVec::new(
                opts(
                    "rate_limited_total",
                    "Commands refused by a rate limit, by the limit's scope (session or subject).",
                ),
                &["scope"],
            ),
        );
        let counter =
            |name: &str, help: &str| register(&registry, IntCounter::with_opts(opts(name, help)));
        let observations = counter(
            "observations_total",
            "Observations applied (single observes and every item of observe-sequence).",
        );
        let patterns_learned = counter(
            "patterns_learned_total",
            "Learns that stored or reinforced a pattern (manual, auto and sequence learns).",
        );
        let sessions_created = counter("sessions_created_total", "Sessions created.");
        let sessions_deleted = counter(
            "sessions_deleted_total",
            "Sessions deleted explicitly by a client.",
        );
        let sessions_expired = counter(
            "sessions_expired_total",
            "Sessions removed because their TTL ran out.",
        );
        let gauge =
            |name: &str, help: &str| register(&registry, Gauge::with_opts(opts(name, help)));
        let cpu_usage_percent = gauge(
            "cpu_usage_percent",
            "Host CPU busy percentage over the last sampling interval (/proc/stat).",
        );
        let memory_usage_percent = gauge(
            "memory_usage_percent",
            "Host memory in use, percent of total (MemTotal - MemAvailable).",
        );
        let disk_usage_percent = gauge(
            "disk_usage_percent",
            "Used space of the file system holding the data directory, percent.",
        );
        let resident_memory_bytes = gauge(
            "process_resident_memory_bytes",
            "Resident memory of this server process, in bytes.",
        );
        let uptime_seconds = gauge("uptime_seconds", "Seconds since this process started.");
        let ws_connections = register(
            &registry,
            IntGauge::with_opts(opts(
                "ws_connections",
                "Open WebSocket connections (/v2/ws and /ws) on this instance.",
            )),
        );
        let ws_connections_total = counter(
            "ws_connections_total",
            "WebSocket connections accepted (upgraded).",
        );
        let ws_closes = register(
            &registry,
            IntCounterVec::new(
                opts(
                    "ws_closes_total",
                    "WebSocket connections ended, by close code (PROTOCOL.md §7; 1000 also when the client closed or vanished).",
                ),
                &["code"],
            ),
        );
        let ws_frames = register(
            &registry,
            IntCounterVec::new(
                opts(
                    "ws_frames_total",
                    "Inbound WebSocket frames, by frame type; invalid, non_json, binary and rate_limited for refused ones.",
                ),
                &["type"],
            ),
        );
        let ws_command_seconds = register(
            &registry,
            HistogramVec::new(
                histogram_opts(
                    "ws_command_seconds",
                    "Server time of one WebSocket command, from parsed frame to queued reply (includes waiting for the session's command lock).",
                    REQUEST_BUCKETS,
                ),
                &["type"],
            ),
        );
        let build_info = register(
            &registry,
            GaugeVec::new(
                opts(
                    "build_info",
                    "Always 1; the labels carry the server version and the upstream API version served.",
                ),
                &["version", "api_version"],
            ),
        );
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION"), super::API_VERSION])
            .set(1.0);
        // Children that exist from the start, so every series is scraped even before traffic.
        for scope in ["session", "subject"] {
            rate_limited.with_label_values(&[scope]).inc_by(0);
        }
        for code in kato_protocol::close::CloseCode::ALL {
            ws_closes
                .with_label_values(&[code.code().to_string().as_str()])
                .inc_by(0);
        }
        for kind in WS_FRAME_TYPES {
            ws_frames.with_label_values(&[kind]).inc_by(0);
        }
        database_connections.with_label_values(&["embedded"]).set(0);
        circuit_breaker_state
            .with_label_values(&["embedded"])
            .set(BreakerState::Closed as i64);
        Metrics {
            registry,
            requests,
            request_duration,
            active_sessions,
            stm_size,
            database_connections,
            circuit_breaker_state,
            prediction_seconds,
            observe_seconds,
            rate_limited,
            observations,
            patterns_learned,
            sessions_created,
            sessions_deleted,
            sessions_expired,
            cpu_usage_percent,
            memory_usage_percent,
            disk_usage_percent,
            resident_memory_bytes,
            uptime_seconds,
            ws_connections,
            ws_connections_total,
            ws_closes,
            ws_frames,
            ws_command_seconds,
            totals: Totals::default(),
            history: Mutex::new(History {
                samples: VecDeque::new(),
                capacity: capacity.max(1),
                last_cpu: None,
                last_cpu_percent: None,
                last_requests: 0,
                last_duration_nanos: 0,
                last_at: None,
            }),
            started: Instant::now(),
        }
    }

    /// A WebSocket connection was accepted.
    pub fn ws_opened(&self) {
        self.ws_connections.inc();
        self.ws_connections_total.inc();
    }

    /// A WebSocket connection ended with `code`.
    pub fn ws_closed(&self, code: u16) {
        self.ws_connections.dec();
        self.ws_closes
            .with_label_values(&[code.to_string().as_str()])
            .inc();
    }

    /// One inbound frame of `kind` (a `WS_FRAME_TYPES` entry) and, for commands, its time.
    pub fn ws_frame(&self, kind: &'static str, took: Option<Duration>) {
        self.ws_frames.with_label_values(&[kind]).inc();
        if let Some(took) = took {
            self.ws_command_seconds
                .with_label_values(&[kind])
                .observe(took.as_secs_f64());
        }
    }

    /// Records one answered request. `endpoint` is the matched route pattern (`None`: no route
    /// matched); `method` is reduced to the standard methods so the label stays bounded.
    pub fn record_request(
        &self,
        method: &str,
        endpoint: Option<&str>,
        status: u16,
        elapsed: Duration,
    ) {
        let method = bounded_method(method);
        let endpoint = endpoint.unwrap_or(UNMATCHED_ENDPOINT);
        let status_label = status.to_string();
        self.requests
            .with_label_values(&[method, endpoint, &status_label])
            .inc();
        self.request_duration
            .with_label_values(&[method, endpoint])
            .observe(elapsed.as_secs_f64());
        self.totals.requests.fetch_add(1, Ordering::Relaxed);
        if status >= 400 {
            self.totals.errors.fetch_add(1, Ordering::Relaxed);
        }
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.totals
            .duration_nanos
            .fetch_add(nanos, Ordering::Relaxed);
    }

    /// Requests answered so far.
    pub fn total_requests(&self) -> u64 {
        self.totals.requests.load(Ordering::Relaxed)
    }

    /// Requests answered with a status ≥ 400.
    pub fn total_errors(&self) -> u64 {
        self.totals.errors.load(Ordering::Relaxed)
    }

    /// Mean time to answer a request since start, in seconds (0 before the first).
    pub fn average_response_seconds(&self) -> f64 {
        let count = self.total_requests();
        if count == 0 {
            return 0.0;
        }
        self.totals.duration_nanos.load(Ordering::Relaxed) as f64 / 1e9 / count as f64
    }

    pub fn observations_total(&self) -> u64 {
        self.observations.get()
    }

    pub fn patterns_learned_total(&self) -> u64 {
        self.patterns_learned.get()
    }

    /// `(session, subject)` refusals by the rate limits.
    pub fn rate_limited_total(&self) -> (u64, u64) {
        (
            self.rate_limited.with_label_values(&["session"]).get(),
            self.rate_limited.with_label_values(&["subject"]).get(),
        )
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Sets the gauges that describe current state (call before exposing them).
    pub fn refresh_gauges(&self, active_sessions: usize, open_node_logs: usize) {
        self.active_sessions
            .set(i64::try_from(active_sessions).unwrap_or(i64::MAX));
        self.database_connections
            .with_label_values(&["embedded"])
            .set(i64::try_from(open_node_logs).unwrap_or(i64::MAX));
        self.uptime_seconds.set(self.uptime().as_secs_f64());
    }

    /// Sets a backend's circuit-breaker state.
    pub fn set_breaker(&self, service: &str, state: BreakerState) {
        self.circuit_breaker_state
            .with_label_values(&[service])
            .set(state as i64);
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn prometheus_text(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(%error, "prometheus encoding failed");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }

    /// The content type of [`Metrics::prometheus_text`].
    pub fn prometheus_content_type() -> &'static str {
        "text/plain; version=0.0.4; charset=utf-8"
    }

    /// Takes one sample of every series (the sampler calls this every few seconds).
    pub fn sample(&self, active_sessions: usize, data_dir: &Path) -> Sample {
        let cpu = read_cpu_times();
        let requests = self.total_requests();
        let duration_nanos = self.totals.duration_nanos.load(Ordering::Relaxed);
        let resources_now = Resources {
            cpu_percent: None,
            memory_percent: read_memory_percent(),
            disk_percent: disk_percent(data_dir),
            resident_bytes: read_resident_bytes(),
        };
        let now = Instant::now();
        let mut history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        let cpu_percent = match (history.last_cpu, cpu) {
            (Some(before), Some(after)) if after.total > before.total => {
                let busy = after.busy.saturating_sub(before.busy) as f64;
                Some((busy / (after.total - before.total) as f64 * 100.0).clamp(0.0, 100.0))
            }
            _ => history.last_cpu_percent,
        };
        history.last_cpu = cpu.or(history.last_cpu);
        history.last_cpu_percent = cpu_percent;
        let new_requests = requests.saturating_sub(history.last_requests);
        let mean_duration = (new_requests > 0).then(|| {
            duration_nanos.saturating_sub(history.last_duration_nanos) as f64
                / 1e9
                / new_requests as f64
        });
        let per_second = history.last_at.map(|at| {
            let seconds = now.duration_since(at).as_secs_f64();
            if seconds > 0.0 {
                new_requests as f64 / seconds
            } else {
                0.0
            }
        });
        history.last_requests = requests;
        history.last_duration_nanos = duration_nanos;
        history.last_at = Some(now);
        let sample = Sample {
            timestamp: unix_now(),
            values: [
                Some(requests as f64),
                Some(self.total_errors() as f64),
                mean_duration,
                per_second,
                cpu_percent,
                resources_now.memory_percent,
                resources_now.disk_percent,
                resources_now.resident_bytes,
                Some(active_sessions as f64),
                Some(self.sessions_created.get() as f64),
                Some(self.observations_total() as f64),
                Some(self.patterns_learned_total() as f64),
            ],
        };
        if history.samples.len() >= history.capacity {
            history.samples.pop_front();
        }
        history.samples.push_back(sample.clone());
        drop(history);
        let gauges = [
            (&self.cpu_usage_percent, cpu_percent),
            (&self.memory_usage_percent, resources_now.memory_percent),
            (&self.disk_usage_percent, resources_now.disk_percent),
            (&self.resident_memory_bytes, resources_now.resident_bytes),
        ];
        for (gauge, value) in gauges {
            if let Some(value) = value {
                gauge.set(value);
            }
        }
        self.active_sessions
            .set(i64::try_from(active_sessions).unwrap_or(i64::MAX));
        sample
    }

    /// Resource readings now: memory and disk read live, CPU from the last sampling interval.
    pub fn resources(&self, data_dir: &Path) -> Resources {
        let cpu_percent = self
            .history
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last_cpu_percent;
        Resources {
            cpu_percent,
            memory_percent: read_memory_percent(),
            disk_percent: disk_percent(data_dir),
            resident_bytes: read_resident_bytes(),
        }
    }

    /// How many samples the history holds, and the time of the newest.
    pub fn collection_status(&self) -> (usize, Option<f64>) {
        let history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        (
            history.samples.len(),
            history.samples.back().map(|s| s.timestamp),
        )
    }

    /// Whether `name` is one of the sampled series.
    pub fn is_series(name: &str) -> bool {
        SERIES.contains(&name)
    }

    /// `(timestamp, value)` points of series `name` within the last `window`, oldest first.
    pub fn series(&self, name: &str, window: Duration) -> Vec<(f64, f64)> {
        let Some(index) = SERIES.iter().position(|s| *s == name) else {
            return Vec::new();
        };
        let cutoff = unix_now() - window.as_secs_f64();
        self.history
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .samples
            .iter()
            .filter(|s| s.timestamp >= cutoff)
            .filter_map(|s| s.values[index].map(|v| (s.timestamp, v)))
            .collect()
    }

    /// Per-second rate of a cumulative series over the last `window`: from the oldest sample in
    /// the window to `current` now. 0 without a sample in the window.
    pub fn rate(&self, name: &str, current: f64, window: Duration) -> f64 {
        let points = self.series(name, window);
        match points.first() {
            Some(&(at, value)) => {
                let seconds = unix_now() - at;
                if seconds > 0.0 {
                    ((current - value) / seconds).max(0.0)
                } else {
                    0.0
                }
            }
            None => 0.0,
        }
    }
}

/// count/min/max/avg of the values.
pub fn statistics(points: &[(f64, f64)]) -> Option<SeriesStats> {
    if points.is_empty() {
        return None;
    }
    let mut min = f64::INFINITY;
    let mut max = f64::NEG_INFINITY;
    let mut sum = 0.0;
    for &(_, value) in points {
        min = min.min(value);
        max = max.max(value);
        sum += value;
    }
    Some(SeriesStats {
        count: points.len(),
        min,
        max,
        avg: sum / points.len() as f64,
    })
}

/// Starts the sampler: one sample right away, then one every `interval`, until the metrics are
/// dropped. Reads only `/proc` and `statvfs`, which answer from memory.
pub fn spawn_sampler(
    metrics: &Arc<Metrics>,
    sessions: SessionService,
    data_dir: PathBuf,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    let metrics: Weak<Metrics> = Arc::downgrade(metrics);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(100)));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let Some(metrics) = metrics.upgrade() else {
                break;
            };
            let loaded = sessions.knowledge_bases().loaded().len();
            metrics.refresh_gauges(sessions.count(), loaded);
            metrics.sample(sessions.count(), &data_dir);
        }
    })
}

/// The standard methods keep their name; anything else is `OTHER` (bounded label).
fn bounded_method(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "OTHER",
    }
}

/// Host CPU times from the first line of `/proc/stat` (busy = all but idle and iowait).
fn read_cpu_times() -> Option<CpuTimes> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    parse_cpu_times(stat.lines().next()?)
}

fn parse_cpu_times(line: &str) -> Option<CpuTimes> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let values: Vec<u64> = fields.filter_map(|f| f.parse().ok()).collect();
    if values.len() < 4 {
        return None;
    }
    // user nice system idle iowait irq softirq steal (guest times are already in user/nice).
    let total: u64 = values.iter().take(8).sum();
    let idle = values[3] + values.get(4).copied().unwrap_or(0);
    Some(CpuTimes {
        busy: total.saturating_sub(idle),
        total,
    })
}

/// Host memory in use, percent: `(MemTotal - MemAvailable) / MemTotal` from `/proc/meminfo`.
fn read_memory_percent() -> Option<f64> {
    parse_memory_percent(&std::fs::read_to_string("/proc/meminfo").ok()?)
}

fn parse_memory_percent(meminfo: &str) -> Option<f64> {
    let field = |name: &str| -> Option<f64> {
        meminfo
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.trim_start_matches(':').split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    let total = field("MemTotal")?;
    let available = field("MemAvailable")?;
    (total > 0.0).then(|| ((total - available) / total * 100.0).clamp(0.0, 100.0))
}

/// Resident set size of this process, from `/proc/self/statm`.
fn read_resident_bytes() -> Option<f64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * rustix::param::page_size() as f64)
}

/// Used space of the file system holding `path`, percent (as `df`: used / (used + available
/// to unprivileged users)).
fn disk_percent(path: &Path) -> Option<f64> {
    let stat = rustix::fs::statvfs(path).ok()?;
    let used = stat.f_blocks.saturating_sub(stat.f_bfree) as f64;
    let available = stat.f_bavail as f64;
    (used + available > 0.0).then(|| used / (used + available) * 100.0)
}

/// Which scope a rate-limit refusal came from.
fn scope_label(scope: &str) -> &'static str {
    if scope == "subject" {
        "subject"
    } else {
        "session"
    }
}

impl ServiceObserver for Metrics {
    fn session_created(&self) {
        self.sessions_created.inc();
    }

    fn session_removed(&self, reason: &'static str) {
        if reason == "expired" {
            self.sessions_expired.inc();
        } else {
            self.sessions_deleted.inc();
        }
    }

    fn rate_limited(&self, scope: &'static str) {
        self.rate_limited
            .with_label_values(&[scope_label(scope)])
            .inc();
    }

    fn observed(&self, observations: u64, stm_length: usize, engine_time: Option<Duration>) {
        self.observations.inc_by(observations);
        self.stm_size.observe(stm_length as f64);
        if let Some(elapsed) = engine_time {
            self.observe_seconds.observe(elapsed.as_secs_f64());
        }
    }

    fn learned(&self, patterns: u64) {
        self.patterns_learned.inc_by(patterns);
    }

    fn predicted(&self, engine_time: Duration) {
        self.prediction_seconds.observe(engine_time.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_registered_with_help_and_namespace() {
        let metrics = Metrics::new();
        metrics.record_request("GET", Some("/health"), 200, Duration::from_micros(70));
        metrics.observed(1, 3, Some(Duration::from_micros(20)));
        metrics.predicted(Duration::from_micros(40));
        let text = metrics.prometheus_text();
        for name in [
            "kato_requests_total",
            "kato_request_duration_seconds",
            "kato_active_sessions",
            "kato_stm_size",
            "kato_database_connections",
            "kato_circuit_breaker_state",
            "kato_prediction_seconds",
            "kato_observe_seconds",
            "kato_rate_limited_total",
            "kato_observations_total",
            "kato_patterns_learned_total",
            "kato_sessions_created_total",
            "kato_sessions_deleted_total",
            "kato_sessions_expired_total",
            "kato_cpu_usage_percent",
            "kato_memory_usage_percent",
            "kato_build_info",
        ] {
            assert!(text.contains(&format!("# HELP {name} ")), "{name}:\n{text}");
            assert!(text.contains(&format!("# TYPE {name} ")), "{name}");
        }
        assert!(!text.contains("kato_invalid"), "{text}");
        assert!(text
            .contains("kato_requests_total{endpoint=\"/health\",method=\"GET\",status=\"200\"} 1"));
        assert!(text.contains("kato_circuit_breaker_state{service=\"embedded\"} 0"));
        assert!(text.contains("kato_rate_limited_total{scope=\"subject\"} 0"));
    }

    #[test]
    fn labels_stay_bounded() {
        let metrics = Metrics::new();
        metrics.record_request("BREW", None, 404, Duration::ZERO);
        let text = metrics.prometheus_text();
        assert!(text.contains("method=\"OTHER\""), "{text}");
        assert!(text.contains("endpoint=\"unmatched\""), "{text}");
        assert_eq!(metrics.total_errors(), 1);
    }

    #[test]
    fn history_is_bounded_and_series_are_served() {
        let metrics = Metrics::with_history(3);
        let dir = std::env::temp_dir();
        for i in 0..5 {
            metrics.record_request("GET", Some("/"), 200, Duration::from_millis(2));
            metrics.sample(i, &dir);
        }
        assert_eq!(metrics.collection_status().0, 3);
        let points = metrics.series("kato_active_sessions", Duration::from_secs(60));
        assert_eq!(
            points.iter().map(|p| p.1).collect::<Vec<_>>(),
            vec![2.0, 3.0, 4.0]
        );
        let durations = metrics.series("kato_request_duration_seconds", Duration::from_secs(60));
        assert!(durations.iter().all(|p| (p.1 - 0.002).abs() < 1e-9));
        let stats = statistics(&points).expect("stats");
        assert_eq!(
            (stats.count, stats.min, stats.max, stats.avg),
            (3, 2.0, 4.0, 3.0)
        );
        assert!(metrics.series("nope", Duration::from_secs(60)).is_empty());
    }

    #[test]
    fn proc_parsers() {
        let cpu = parse_cpu_times("cpu  100 0 50 800 50 0 0 0 0 0").expect("cpu");
        assert_eq!((cpu.busy, cpu.total), (150, 1000));
        assert!(parse_cpu_times("intr 1 2 3").is_none());
        let mem = "MemTotal:       1000 kB\nMemFree:  10 kB\nMemAvailable:    250 kB\n";
        assert_eq!(parse_memory_percent(mem), Some(75.0));
        assert_eq!(
            parse_memory_percent("MemTotal: 0 kB\nMemAvailable: 0 kB"),
            None
        );
    }
}
