//! Every fletch function, one module per family, and the single place that
//! installs them. Client, scheduler and executors all call [`register_all`]
//! (through `fletch_engine::session::session_state`), so a function exists
//! on every process or on none: Ballista ships functions by name only.
//!
//! A function is one module: its struct documented with `#[user_doc]`, its
//! `ScalarUDFImpl`/`AggregateUDFImpl`, a shared instance made by
//! [`scalar_udf!`]/[`aggregate_udf!`], and its tests.

#[macro_use]
mod macros;
pub mod clustering;
pub mod community_notes;
pub mod density;
pub mod docs;
pub mod factorization;
pub mod hash;
pub mod http;
pub mod ising;
pub mod lookalike;
pub mod taar;
pub mod text;
mod util;
pub mod vector;
pub mod weblog;

use std::sync::Arc;

use datafusion::catalog::TableFunctionImpl;
use datafusion::error::Result;
use datafusion::execution::{FunctionRegistry, SessionState};
use datafusion::logical_expr::{AggregateUDF, Documentation, ScalarUDF};

/// Every fletch scalar function.
pub fn scalar_udfs() -> Vec<Arc<ScalarUDF>> {
    vec![
        clustering::bisecting_kmeans_leaf(),
        community_notes::tag_tokens(),
        factorization::als_user_factors(),
        hash::seeded_hash(),
        hash::spark_hashing_tf_index(),
        ising::ising_changes(),
        ising::ising_denoise(),
        ising::ising_image(),
        ising::ising_tiles(),
        lookalike::did_bucket(),
        lookalike::din_scores(),
        lookalike::naive_utc_seconds(),
        taar::cllr(),
        taar::taar_collaborative(),
        taar::taar_locale(),
        taar::taar_similarity(),
        text::to_python_json(),
        text::zlib_compress(),
        text::zlib_decompress(),
        vector::list_size(),
        vector::mean_top_similarity(),
        vector::nearest_centroid(),
        vector::normalize_scores(),
        vector::score_vector(),
        vector::squared_norm(),
        vector::taar_distance(),
        weblog::parse_access_log(),
        weblog::route_request(),
    ]
}

/// Every fletch aggregate function.
pub fn aggregate_udfs() -> Vec<Arc<AggregateUDF>> {
    vec![clustering::term_moments(), density::gaussian_kde(), factorization::factor_moments(), lookalike::keyword_histories()]
}

/// A table function with its name and documentation (DataFusion's table
/// function trait carries neither).
pub struct TableFunctionDef {
    pub name: &'static str,
    pub func: Arc<dyn TableFunctionImpl>,
    pub doc: Documentation,
}

/// Every fletch table function. Their providers cross to a cluster through
/// `fletch_engine::codec`.
pub fn table_functions() -> Vec<TableFunctionDef> {
    vec![text::json_list_def()]
}

/// Installs every fletch function into `state` next to the built-ins (never
/// replacing the lists, as `SessionStateBuilder::with_*_functions` does).
/// No fletch function takes a built-in's name (a test keeps it so), so
/// registering replaces nothing but an earlier registration of itself.
pub fn register_all(state: &mut SessionState) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use datafusion::execution::SessionStateBuilder;

    use super::*;

    #[test]
    fn no_fletch_function_takes_a_built_in_name() {
        let built_in = SessionStateBuilder::new().with_default_features().build();
        let ours = scalar_udfs()
            .iter()
            .flat_map(|f| std::iter::once(f.name().to_string()).chain(f.aliases().iter().cloned()))
            .chain(aggregate_udfs().iter().flat_map(|f| std::iter::once(f.name().to_string()).chain(f.aliases().iter().cloned())))
            .chain(table_functions().iter().map(|f| f.name.to_string()))
            .collect::<Vec<_>>();
        for name in &ours {
            let taken = built_in.scalar_functions().contains_key(name)
                || built_in.aggregate_functions().contains_key(name)
                || built_in.window_functions().contains_key(name)
                || built_in.table_functions().contains_key(name);
            assert!(!taken, "fletch function {name} would replace a DataFusion built-in");
        }
        // The check itself works: DataFusion's own names are found.
        assert!(built_in.scalar_functions().contains_key("cardinality") && built_in.aggregate_functions().contains_key("array_agg"));
    }

    #[test]
    fn registering_twice_replaces_nothing_but_itself() {
        let mut state = SessionStateBuilder::new().with_default_features().build();
        register_all(&mut state).unwrap();
        let before = state.scalar_functions().len();
        register_all(&mut state).unwrap();
        assert_eq!(state.scalar_functions().len(), before);
        assert!(Arc::ptr_eq(&state.scalar_functions()["did_bucket"], &lookalike::did_bucket()));
        assert!(Arc::ptr_eq(state.table_functions()["json_list"].function(), &text::json_list_def().func));
    }
}
