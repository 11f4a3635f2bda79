//! Measurements and their report: round-trip and server-time histograms (microseconds,
//! hdrhistogram), counts of errors by code, frame sizes; printed as text or one JSON object.
//! Never interprets the numbers (no pass/fail): the README compares them with the bars.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;
use serde_json::{json, Value};

/// Highest latency the histograms track (60 s, in µs); larger values are clamped.
const MAX_TRACKED_US: u64 = 60_000_000;

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_TRACKED_US, 3)
        .expect("constant bounds: 1 <= low, high >= 2 * low, 3 significant figures")
}

/// What one connection (or, merged, the whole run) measured.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Round-trip latency of each measured observe (or echo), µs.
    pub latency: Histogram<u64>,
    /// The server's `elapsed_us` of each measured observe.
    pub server: Histogram<u64>,
    pub round_trips: u64,
    pub errors: BTreeMap<String, u64>,
    pub request_bytes: u64,
    pub reply_bytes: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            latency: histogram(),
            server: histogram(),
            round_trips: 0,
            errors: BTreeMap::new(),
            request_bytes: 0,
            reply_bytes: 0,
        }
    }
}

impl Stats {
    pub fn error(&mut self, label: impl Into<String>) {
        *self.errors.entry(label.into()).or_insert(0) += 1;
    }

    pub fn round_trip(&mut self, latency_us: u64, request: usize, reply: usize) {
        self.latency.saturating_record(latency_us.max(1));
        self.round_trips += 1;
        self.request_bytes += request as u64;
        self.reply_bytes += reply as u64;
    }

    pub fn merge(&mut self, other: &Stats) {
        // Same bounds on both sides, so adding cannot fail; a failure would only lose samples.
        let _ = self.latency.add(&other.latency);
        let _ = self.server.add(&other.server);
        self.round_trips += other.round_trips;
        for (label, count) in &other.errors {
            *self.errors.entry(label.clone()).or_insert(0) += count;
        }
        self.request_bytes += other.request_bytes;
        self.reply_bytes += other.reply_bytes;
    }

    fn percentiles(h: &Histogram<u64>) -> Value {
        if h.is_empty() {
            return Value::Null;
        }
        json!({
            "p50": h.value_at_quantile(0.50),
            "p90": h.value_at_quantile(0.90),
            "p99": h.value_at_quantile(0.99),
            "max": h.max(),
            "mean": (h.mean() * 10.0).round() / 10.0,
        })
    }

    fn mean_bytes(&self, total: u64) -> u64 {
        total.checked_div(self.round_trips).unwrap_or(0)
    }
}

/// The run's settings echoed in the report.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub mode: String,
    pub url: String,
    pub node: Option<String>,
    pub connections: usize,
    pub connected: usize,
    /// Target round trips per second in total; 0 = flat out.
    pub rate: f64,
    pub warmup_s: f64,
    pub duration_s: f64,
    pub stm_events: usize,
    pub threads: usize,
}

/// CPU seconds over the window, as cores busy and milliseconds per round trip.
fn cpu_json(seconds: Option<f64>, window_s: f64, round_trips: u64) -> Value {
    match seconds {
        Some(s) if window_s > 0.0 => json!({
            "cores": (s / window_s * 100.0).round() / 100.0,
            "ms_per_round_trip": if round_trips > 0 {
                json!((s * 1000.0 / round_trips as f64 * 1000.0).round() / 1000.0)
            } else {
                Value::Null
            },
        }),
        _ => Value::Null,
    }
}

/// Builds the JSON report of an observe or echo run.
pub fn run_report(
    info: &RunInfo,
    stats: &Stats,
    cpu: crate::drive::CpuUse,
    seeding: Option<&Value>,
) -> Value {
    let throughput = if info.duration_s > 0.0 {
        stats.round_trips as f64 / info.duration_s
    } else {
        0.0
    };
    json!({
        "run": info,
        "seeding": seeding,
        "round_trips": stats.round_trips,
        "throughput_per_s": (throughput * 10.0).round() / 10.0,
        "latency_us": Stats::percentiles(&stats.latency),
        "server_elapsed_us": Stats::percentiles(&stats.server),
        "errors": stats.errors,
        "request_bytes_mean": stats.mean_bytes(stats.request_bytes),
        "reply_bytes_mean": stats.mean_bytes(stats.reply_bytes),
        "server_cpu": cpu_json(cpu.server_s, info.duration_s, stats.round_trips),
        "client_cpu": cpu_json(cpu.client_s, info.duration_s, stats.round_trips),
    })
}

fn ms(v: &Value, key: &str) -> String {
    match v.get(key).and_then(Value::as_u64) {
        Some(us) => format!("{:.3} ms", us as f64 / 1000.0),
        None => "-".into(),
    }
}

/// Prints a run report for people.
pub fn print_run(report: &Value) {
    let run = &report["run"];
    println!(
        "mode {} | {} | node {} | {} of {} connections | rate {} | warm-up {} s | measured {} s | {} client threads",
        run["mode"].as_str().unwrap_or("?"),
        run["url"].as_str().unwrap_or("?"),
        run["node"].as_str().unwrap_or("-"),
        run["connected"],
        run["connections"],
        match run["rate"].as_f64() {
            Some(r) if r > 0.0 => format!("{r}/s"),
            _ => "flat out (1 in flight per connection)".into(),
        },
        run["warmup_s"],
        run["duration_s"],
        run["threads"],
    );
    if let Some(seeding) = report.get("seeding").filter(|s| !s.is_null()) {
        println!("seeding: {seeding}");
    }
    println!(
        "round trips {} | throughput {}/s | request {} B, reply {} B (mean)",
        report["round_trips"],
        report["throughput_per_s"],
        report["request_bytes_mean"],
        report["reply_bytes_mean"]
    );
    let latency = &report["latency_us"];
    println!(
        "round trip: p50 {} | p90 {} | p99 {} | max {} | mean {}",
        ms(latency, "p50"),
        ms(latency, "p90"),
        ms(latency, "p99"),
        ms(latency, "max"),
        latency
            .get("mean")
            .and_then(Value::as_f64)
            .map(|m| format!("{:.3} ms", m / 1000.0))
            .unwrap_or_else(|| "-".into()),
    );
    let server = &report["server_elapsed_us"];
    if !server.is_null() {
        println!(
            "server elapsed_us: p50 {} | p99 {}",
            ms(server, "p50"),
            ms(server, "p99")
        );
    }
    for (who, key) in [("server", "server_cpu"), ("client", "client_cpu")] {
        let cpu = &report[key];
        if !cpu.is_null() {
            println!(
                "{who} CPU: {} cores busy, {} ms per round trip",
                cpu["cores"], cpu["ms_per_round_trip"]
            );
        }
    }
    match report["errors"].as_object() {
        Some(errors) if !errors.is_empty() => {
            let list: Vec<String> = errors.iter().map(|(k, v)| format!("{k}: {v}")).collect();
            println!("errors: {}", list.join(", "));
        }
        _ => println!("errors: none"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_everything() {
        let mut a = Stats::default();
        a.round_trip(100, 10, 20);
        a.error("KATO_RATE_LIMITED");
        let mut b = Stats::default();
        b.round_trip(300, 10, 40);
        b.error("KATO_RATE_LIMITED");
        b.error("close:4029");
        a.merge(&b);
        assert_eq!(a.round_trips, 2);
        assert_eq!(a.errors["KATO_RATE_LIMITED"], 2);
        assert_eq!(a.errors["close:4029"], 1);
        assert_eq!(a.mean_bytes(a.reply_bytes), 30);
        assert_eq!(a.latency.max(), a.latency.highest_equivalent(300));
    }
}
