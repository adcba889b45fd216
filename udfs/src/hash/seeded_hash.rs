//! Seeded randomness that is the same on every process and every run, for
//! the jobs' random choices (the originals used unseeded `RAND()`).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Builder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::utils::take_function_args;
use datafusion::error::Result;
use datafusion::functions::utils::make_scalar_function;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_macros::user_doc;

use crate::util::{int64_coercion, string_coercion};

/// SplitMix64's finaliser: a well-mixed 64-bit function of `x`.
pub fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// FNV-1a over the bytes, started from and finished with SplitMix64, as a
/// non-negative 63-bit integer.
pub fn seeded_hash_of(seed: i64, value: &str) -> i64 {
    let h = value.bytes().fold(splitmix(seed as u64) ^ 0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    });
    (splitmix(h) >> 1) as i64
}

#[user_doc(
    doc_section(label = "Hashing Functions"),
    description = "A pseudo-random non-negative BIGINT determined by the seed and the value: the same on \
        every process, run and machine. Ordering rows by it picks a uniformly random, \
        reproducible subset (fletch's replacement for the originals' unseeded RAND()). \
        NULL seed or value gives NULL.",
    syntax_example = "seeded_hash(seed, value)",
    sql_example = "SELECT addon FROM t ORDER BY seeded_hash(42, client_id || '/' || addon) LIMIT 1",
    argument(name = "seed", description = "The run's seed (BIGINT)."),
    argument(name = "value", description = "What to hash (any string type).")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SeededHash {
    signature: Signature,
}

impl SeededHash {
    pub fn new() -> Self {
        Self { signature: Signature::coercible(vec![int64_coercion(), string_coercion()], Volatility::Immutable) }
    }
}

impl Default for SeededHash {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for SeededHash {
    fn name(&self) -> &str {
        "seeded_hash"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        make_scalar_function(seeded_hash_inner, vec![])(&args.args)
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

fn seeded_hash_inner(args: &[ArrayRef]) -> Result<ArrayRef> {
    let [seeds, values] = take_function_args("seeded_hash", args)?;
    let seeds = seeds.as_primitive::<Int64Type>();
    let values = cast(values, &DataType::Utf8)?;
    let values = values.as_string::<i32>();
    let mut out = Int64Builder::with_capacity(values.len());
    for i in 0..values.len() {
        if seeds.is_null(i) || values.is_null(i) {
            out.append_null();
        } else {
            out.append_value(seeded_hash_of(seeds.value(i), values.value(i)));
        }
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_values_and_spread() {
        // Pinned: changing these changes every job's random choices.
        assert_eq!(seeded_hash_of(42, "a"), 5_438_785_482_560_758_512);
        assert_eq!(seeded_hash_of(0, ""), 3_283_400_414_962_907_302);
        assert_ne!(seeded_hash_of(42, "a"), seeded_hash_of(43, "a"));
        assert_ne!(seeded_hash_of(42, "ab"), seeded_hash_of(42, "ba"));
        // Picking the smaller of two keys is a fair coin over many clients.
        let firsts = (0..10_000).filter(|c| seeded_hash_of(7, &format!("c{c}/x")) < seeded_hash_of(7, &format!("c{c}/y"))).count();
        assert!((4_700..5_300).contains(&firsts), "{firsts}");
        assert!((0..1000).all(|i| seeded_hash_of(i, "v") >= 0));
    }
}
