//! `spark_hashing_tf_index`: the column of a term in Spark 2.3's HashingTF.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int32Builder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::exec_err;
use datafusion::common::utils::take_function_args;
use datafusion::error::Result;
use datafusion::functions::utils::make_scalar_function;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature};
use datafusion_macros::user_doc;

use crate::util::string_and_int64_signature;

/// Spark 2.3's `Murmur3_x86_32.hashUnsafeBytes`: MurmurHash3 x86_32, except
/// that each byte after the last whole 4-byte block is sign-extended and mixed
/// as a block of its own (fixed in Spark 3.0, SPARK-23469).
pub fn spark_legacy_murmur3(bytes: &[u8], seed: u32) -> i32 {
    fn mix_k1(k: u32) -> u32 {
        k.wrapping_mul(0xcc9e_2d51).rotate_left(15).wrapping_mul(0x1b87_3593)
    }
    fn mix_h1(h: u32, k: u32) -> u32 {
        (h ^ k).rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64)
    }
    let blocks = bytes.chunks_exact(4);
    let tail = blocks.remainder();
    let mut h = blocks.fold(seed, |h, b| mix_h1(h, mix_k1(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))));
    for &b in tail {
        h = mix_h1(h, mix_k1(b as i8 as i32 as u32));
    }
    h ^= bytes.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h as i32
}

/// The column of `term` in Spark 2.3's HashingTF with `num_features` columns.
pub fn hashing_tf_index(term: &str, num_features: i32) -> i32 {
    spark_legacy_murmur3(term.as_bytes(), 42).rem_euclid(num_features)
}

#[user_doc(
    doc_section(label = "Hashing Functions"),
    description = "Column of a term in Spark 2.3's HashingTF (the version TAAR's similarity job ran on): \
        the non-negative remainder of Spark's legacy Murmur3 x86_32 hash (seed 42) of the \
        term's UTF-8 bytes by num_features. Spark 3 changed the hash of strings whose length \
        is not a multiple of 4, so its indices differ. NULL term or num_features gives NULL.",
    syntax_example = "spark_hashing_tf_index(term, num_features)",
    sql_example = "SELECT spark_hashing_tf_index('a', 10); -- Spark 2.3 puts 'a', 'b', 'c' in columns 0, 1, 2",
    argument(name = "term", description = "The term (any string type)."),
    argument(name = "num_features", description = "Number of columns, 1 to 2^31 - 1 (Spark's default is 262144).")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SparkHashingTfIndex {
    signature: Signature,
}

impl SparkHashingTfIndex {
    pub fn new() -> Self {
        Self { signature: string_and_int64_signature() }
    }
}

impl Default for SparkHashingTfIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for SparkHashingTfIndex {
    fn name(&self) -> &str {
        "spark_hashing_tf_index"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int32)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        make_scalar_function(spark_hashing_tf_index_inner, vec![])(&args.args)
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

fn spark_hashing_tf_index_inner(args: &[ArrayRef]) -> Result<ArrayRef> {
    let [terms, ns] = take_function_args("spark_hashing_tf_index", args)?;
    let terms = cast(terms, &DataType::Utf8)?;
    let (terms, ns) = (terms.as_string::<i32>(), ns.as_primitive::<Int64Type>());
    let mut out = Int32Builder::with_capacity(terms.len());
    for i in 0..terms.len() {
        if terms.is_null(i) || ns.is_null(i) {
            out.append_null();
            continue;
        }
        let n = ns.value(i);
        let Some(n) = i32::try_from(n).ok().filter(|n| *n > 0) else {
            return exec_err!("spark_hashing_tf_index: num_features must be between 1 and 2147483647, got {n}");
        };
        out.append_value(hashing_tf_index(terms.value(i), n));
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur3_body_matches_the_reference() {
        // Whole 4-byte blocks hash as standard MurmurHash3 x86_32 (values from mmh3).
        assert_eq!(spark_legacy_murmur3(b"test", 0), -1_167_338_989);
        assert_eq!(spark_legacy_murmur3(b"abcd", 42), -396_302_900);
        assert_eq!(spark_legacy_murmur3(b"", 0), 0);
    }

    #[test]
    fn hashing_tf_matches_spark_2_3() {
        // PySpark 2.x's HashingTF doctest: ["a", "b", "c"] fill columns 0, 1, 2 with 10
        // and with 5 columns. Spark 3's fixed hash gives 5, 7, 8 instead.
        let mut ten: Vec<i32> = ["a", "b", "c"].iter().map(|t| hashing_tf_index(t, 10)).collect();
        let mut five: Vec<i32> = ["a", "b", "c"].iter().map(|t| hashing_tf_index(t, 5)).collect();
        ten.sort();
        five.sort();
        assert_eq!((ten, five), (vec![0, 1, 2], vec![0, 1, 2]));
        assert!((0..262_144).contains(&hashing_tf_index("uBlock0@raymondhill.net", 262_144)));
    }

    #[tokio::test]
    async fn in_sql_on_every_string_type_with_bad_sizes_named() {
        let ctx = datafusion::prelude::SessionContext::new();
        ctx.register_udf((*crate::hash::spark_hashing_tf_index()).clone());
        let batches = ctx.sql("SELECT spark_hashing_tf_index(arrow_cast('a', 'Utf8View'), 10) AS i").await.unwrap().collect().await.unwrap();
        assert_eq!(batches[0].column(0).as_primitive::<datafusion::arrow::datatypes::Int32Type>().value(0), hashing_tf_index("a", 10));
        let e = async { ctx.sql("SELECT spark_hashing_tf_index('a', 0)").await?.collect().await }.await.unwrap_err();
        assert!(e.to_string().contains("num_features must be between 1 and 2147483647, got 0"), "{e}");
    }
}
