//! One shared instance per function, as DataFusion's own functions are made
//! (`make_udf_function!`): every session and plan uses the same `Arc`.

/// `pub fn $name() -> Arc<ScalarUDF>`: the shared instance of `$make`.
macro_rules! scalar_udf {
    ($name:ident, $make:expr) => {
        #[doc = concat!("The shared instance of `", stringify!($name), "`.")]
        pub fn $name() -> std::sync::Arc<datafusion::logical_expr::ScalarUDF> {
            static INSTANCE: std::sync::LazyLock<std::sync::Arc<datafusion::logical_expr::ScalarUDF>> =
                std::sync::LazyLock::new(|| std::sync::Arc::new(datafusion::logical_expr::ScalarUDF::new_from_impl($make)));
            std::sync::Arc::clone(&INSTANCE)
        }
    };
}

/// `pub fn $name() -> Arc<AggregateUDF>`: the shared instance of `$make`.
macro_rules! aggregate_udf {
    ($name:ident, $make:expr) => {
        #[doc = concat!("The shared instance of `", stringify!($name), "`.")]
        pub fn $name() -> std::sync::Arc<datafusion::logical_expr::AggregateUDF> {
            static INSTANCE: std::sync::LazyLock<std::sync::Arc<datafusion::logical_expr::AggregateUDF>> =
                std::sync::LazyLock::new(|| std::sync::Arc::new(datafusion::logical_expr::AggregateUDF::new_from_impl($make)));
            std::sync::Arc::clone(&INSTANCE)
        }
    };
}

/// `pub fn $name() -> Arc<ScalarUDF>`: the shared instance of the async
/// function `$make`, wrapped for DataFusion's `AsyncFuncExec`.
macro_rules! async_scalar_udf {
    ($name:ident, $make:expr) => {
        #[doc = concat!("The shared instance of `", stringify!($name), "` (async).")]
        pub fn $name() -> std::sync::Arc<datafusion::logical_expr::ScalarUDF> {
            static INSTANCE: std::sync::LazyLock<std::sync::Arc<datafusion::logical_expr::ScalarUDF>> = std::sync::LazyLock::new(|| {
                let wrapped = datafusion::logical_expr::async_udf::AsyncScalarUDF::new(std::sync::Arc::new($make));
                std::sync::Arc::new(wrapped.into_scalar_udf())
            });
            std::sync::Arc::clone(&INSTANCE)
        }
    };
}
