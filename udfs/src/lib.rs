//! Every fletch function, one module per domain, and the single place that
//! installs them. Client, scheduler and executors all call [`register`] (through
//! `fletch_engine::session::session_state`), so a function exists on every
//! process or on none: Ballista ships functions by name only.

pub mod lookalike;
pub mod vector;
mod util;

use std::sync::Arc;

use datafusion::error::Result;
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};

/// Every fletch scalar function.
pub fn scalar_udfs() -> Vec<Arc<ScalarUDF>> {
    vec![lookalike::did_bucket_udf()]
}

/// Every fletch aggregate function.
pub fn aggregate_udfs() -> Vec<Arc<AggregateUDF>> {
    vec![vector::vector_sum_udaf()]
}

/// Installs every fletch function into `registry` next to the built-ins
/// (never replacing them, unlike `SessionStateBuilder::with_*_functions`).
pub fn register(registry: &mut dyn FunctionRegistry) -> Result<()> {
    for f in scalar_udfs() {
        registry.register_udf(f)?;
    }
    for f in aggregate_udfs() {
        registry.register_udaf(f)?;
    }
    Ok(())
}
