//! fletch's long-running HTTP services. Each runs jobs of fletch-jobs through
//! the same framework as `fletch run` (one output transaction per run),
//! embedded or on the configured Ballista cluster.

pub mod lookalike;
