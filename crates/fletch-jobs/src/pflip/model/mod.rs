//! pflip's model on the driver, with scikit-learn 1.0.2's semantics where
//! its decisions show (spec A8, A9): the feature pipeline over binary
//! blocks, the L1 logistic regression, the ROC threshold.

pub mod blocks;
pub mod clip;
pub mod file;
pub mod frame;
pub mod kbins;
pub mod logistic;
pub mod pipeline;
pub mod roc;
pub mod select;
pub mod tokens;

/// `f` of every item, the items split evenly across the machine's cores;
/// each result is computed as a sequential loop would, so the output does
/// not depend on the number of cores.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(cores).max(1);
    std::thread::scope(|scope| {
        let parts: Vec<_> = items.chunks(chunk).map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<_>>())).collect();
        parts.into_iter().flat_map(|part| part.join().expect("a worker panicked")).collect()
    })
}
