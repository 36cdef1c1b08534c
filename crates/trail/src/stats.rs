//! `--stats FILE` and the one-line cost summary of an upload.

use std::path::Path;

use anyhow::Context as _;
use serde_json::json;
use testrail_api::StatsSnapshot;
use trail_sync::Summary;

use crate::output::plural;

/// Peak resident memory of this process in KiB, read from
/// `/proc/self/status` (`VmHWM`); `None` where that file does not exist.
pub fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Writes what the upload cost as JSON.
pub fn write_stats(path: &Path, client: &StatsSnapshot, summary: &Summary) -> anyhow::Result<()> {
    let value = json!({
        "requests": client.total_requests(),
        "methods": client.methods,
        "slow_requests": client.slow_requests,
        "rate_limit_per_minute": client.rate_limit_per_minute,
        "phases_ms": summary.timings,
        "cache": summary.cache,
        "peak_memory_kib": peak_memory_kib(),
    });
    let text = serde_json::to_string_pretty(&value)?;
    std::fs::write(path, text)
        .with_context(|| format!("cannot write stats file `{}`", path.display()))
}

/// Formats what the upload cost as one line.
pub fn cost_line(client: &StatsSnapshot, summary: &Summary) -> String {
    let methods = client.methods.values();
    let failures: u64 = methods.clone().map(|m| m.failures).sum();
    let retries: u64 = methods.clone().map(|m| m.retries).sum();
    let limited: u64 = methods.clone().map(|m| m.rate_limited).sum();
    let sent: u64 = methods.clone().map(|m| m.bytes_sent).sum();
    let received: u64 = methods.map(|m| m.bytes_received).sum();
    let timings = summary.timings;
    let memory = peak_memory_kib()
        .map(|kib| format!(", peak memory {:.1} MiB", kib as f64 / 1024.0))
        .unwrap_or_default();
    format!(
        "cost: {} ({} failed, {} retried, {} answered 429), {} sent, {} received; read {} ms, match {} ms, plan {} ms, execute {} ms; cache {} hits, {} misses{memory}",
        plural(client.total_requests() as usize, "request"),
        failures,
        retries,
        limited,
        bytes(sent),
        bytes(received),
        timings.read_ms,
        timings.match_ms,
        timings.plan_ms,
        timings.execute_ms,
        summary.cache.hits,
        summary.cache.misses,
    )
}

fn bytes(count: u64) -> String {
    if count >= 1 << 20 {
        format!("{:.1} MiB", count as f64 / f64::from(1 << 20))
    } else if count >= 1 << 10 {
        format!("{:.1} KiB", count as f64 / f64::from(1 << 10))
    } else {
        format!("{count} B")
    }
}
