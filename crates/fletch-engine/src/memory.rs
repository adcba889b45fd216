//! The memory a process's queries may hold and where they spill beyond it.
//!
//! Every session's runtime of one process shares one pool, so concurrent
//! queries (a service's jobs) divide one budget. An executor hands its budget
//! to Ballista instead, which gives each task a pool of its share per task
//! slot. Sorts, grouped aggregations and sort-merge joins spill to disk when
//! the pool is full; a hash join's build side and open Parquet writers cannot,
//! and fail naming the limit.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{FairSpillPool, MemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;

use crate::error::{Error, Result};

/// The default share of the machine's (or the container's) memory.
pub const DEFAULT_LIMIT: &str = "75%";

struct Budget {
    pool: Arc<dyn MemoryPool>,
    spill_dir: Option<PathBuf>,
}

static BUDGET: OnceLock<Budget> = OnceLock::new();

/// Sets this process's budget: `limit` as `--memory-limit` takes it (bytes
/// with an optional K/M/G/T suffix, a percentage of the memory this process
/// may use, or `none`), spilling under `spill_dir` (the OS's temp directory
/// when `None`). Set once per process, before any query; later calls change nothing.
pub fn set_budget(limit: &str, spill_dir: Option<PathBuf>) -> Result<()> {
    let pool: Arc<dyn MemoryPool> = match limit_bytes(limit)? {
        Some(bytes) => Arc::new(TrackConsumersPool::new(FairSpillPool::new(bytes), std::num::NonZeroUsize::new(5).unwrap())),
        None => Arc::new(datafusion::execution::memory_pool::UnboundedMemoryPool::default()),
    };
    if let Some(dir) = &spill_dir {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("--spill-dir: cannot create {}: {e}", dir.display())))?;
    }
    let _ = BUDGET.set(Budget { pool, spill_dir });
    Ok(())
}

/// Bytes of `limit` as `--memory-limit` takes it, `None` for no limit.
pub fn limit_bytes(limit: &str) -> Result<Option<usize>> {
    parse_limit(limit, available_bytes())
}

/// `builder` with this process's pool and spill directory (DataFusion's
/// defaults when [`set_budget`] was never called: no limit, the temp directory).
pub(crate) fn apply(builder: RuntimeEnvBuilder) -> RuntimeEnvBuilder {
    let Some(budget) = BUDGET.get() else { return builder };
    let builder = builder.with_memory_pool(budget.pool.clone());
    match &budget.spill_dir {
        Some(dir) => builder.with_disk_manager_builder(DiskManagerBuilder::default().with_mode(DiskManagerMode::Directories(vec![dir.clone()]))),
        None => builder,
    }
}

/// Bytes of `limit`, `None` for no limit; a percentage is of `available`.
fn parse_limit(limit: &str, available: u64) -> Result<Option<usize>> {
    let bad = || Error::usage(format!("--memory-limit: expected bytes (e.g. 8G, 512M), a percentage (75%) or `none`, got `{limit}`"));
    let text = limit.trim();
    if text.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let bytes = if let Some(percent) = text.strip_suffix('%') {
        let p: f64 = percent.trim().parse().map_err(|_| bad())?;
        if !(p > 0.0 && p <= 100.0) {
            return Err(bad());
        }
        (available as f64 * p / 100.0) as u64
    } else {
        let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
        let n: u64 = digits.parse().map_err(|_| bad())?;
        let shift = match unit.trim().to_ascii_uppercase().trim_end_matches("IB").trim_end_matches('B') {
            "" => 0,
            "K" => 10,
            "M" => 20,
            "G" => 30,
            "T" => 40,
            _ => return Err(bad()),
        };
        n.checked_mul(1 << shift).ok_or_else(bad)?
    };
    if bytes == 0 {
        return Err(bad());
    }
    Ok(Some(bytes as usize))
}

/// The memory this process may use: a cgroup's limit (a Kubernetes pod's)
/// when lower than the machine's, else the machine's total.
fn available_bytes() -> u64 {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let total = read("/proc/meminfo")
        .and_then(|m| m.lines().find_map(|l| l.strip_prefix("MemTotal:").map(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())))
        .flatten()
        .map_or(8 << 30, |kb| kb * 1024);
    let cgroup = read("/sys/fs/cgroup/memory.max").and_then(|v| v.trim().parse::<u64>().ok());
    cgroup.map_or(total, |c| c.min(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_in_bytes_units_and_shares() {
        let gib = 1u64 << 30;
        assert_eq!(parse_limit("1073741824", 0).unwrap(), Some(gib as usize));
        assert_eq!(parse_limit("8G", 0).unwrap(), Some(8 * gib as usize));
        assert_eq!(parse_limit("512MiB", 0).unwrap(), Some(512 << 20));
        assert_eq!(parse_limit("64k", 0).unwrap(), Some(64 << 10));
        assert_eq!(parse_limit("75%", 4 * gib).unwrap(), Some(3 * gib as usize));
        assert_eq!(parse_limit("none", 0).unwrap(), None);
        for bad in ["", "0", "8X", "-1G", "0%", "150%", "lots", "G"] {
            let e = parse_limit(bad, gib).unwrap_err().to_string();
            assert!(e.contains("--memory-limit") && e.contains(&format!("`{bad}`")), "{bad}: {e}");
        }
    }
}
