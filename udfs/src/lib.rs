//! Every fletch function, one module per domain, and the single place that
//! installs them. Client, scheduler and executors all call [`register`] (through
//! `fletch_engine::session::session_state`), so a function exists on every
//! process or on none: Ballista ships functions by name only.

pub mod docs;
pub mod json_list;
pub mod kde;
pub mod kmeans;
pub mod list_size;
pub mod lookalike;
pub mod python_json;
pub mod random;
pub mod taar_similarity;
pub mod vector;
pub mod zlib;
mod util;

use std::sync::Arc;

use datafusion::catalog::TableFunctionImpl;
use datafusion::error::Result;
use datafusion::execution::{FunctionRegistry, SessionState};
use datafusion::logical_expr::{AggregateUDF, Documentation, ScalarUDF};

/// Every fletch scalar function.
pub fn scalar_udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        lookalike::did_bucket_udf(),
        lookalike::naive_utc_seconds_udf(),
        random::seeded_hash_udf(),
        python_json::to_python_json_udf(),
        zlib::zlib_compress_udf(),
        zlib::zlib_decompress_udf(),
        taar_similarity::taar_distance_udf(),
        taar_similarity::spark_hashing_tf_index_udf(),
        kmeans::bisecting_kmeans_leaf_udf(),
        list_size::list_size_udf(),
    ]
}

/// Every fletch aggregate function.
pub fn aggregate_udfs() -> Vec<Arc<AggregateUDF>> {
    vec![
        vector::vector_sum_udaf(),
        kde::gaussian_kde_udaf(),
        kmeans::term_moments_udaf(),
        lookalike::keyword_histories_udaf(),
    ]
}

/// A table function with its name and documentation (DataFusion's table
/// function trait carries neither).
pub struct TableFunctionDef {
    pub name: &'static str,
    pub func: Arc<dyn TableFunctionImpl>,
    pub doc: &'static Documentation,
}

/// Every fletch table function. Their providers cross to a cluster through
/// `fletch_engine::codec`.
pub fn table_functions() -> Vec<TableFunctionDef> {
    vec![TableFunctionDef { name: json_list::NAME, func: Arc::new(json_list::JsonListFunc), doc: &json_list::DOC }]
}

/// Installs every fletch function into `state` next to the built-ins
/// (never replacing them, unlike `SessionStateBuilder::with_*_functions`).
pub fn register(state: &mut SessionState) -> Result<()> {
    for f in scalar_udfs() {
        state.register_udf(f)?;
    }
    for f in aggregate_udfs() {
        state.register_udaf(f)?;
    }
    for f in table_functions() {
        state.register_udtf(f.name, f.func);
    }
    Ok(())
}
