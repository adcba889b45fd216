//! Functions of the TAAR similarity job: the client distance the TAAR service
//! ranks donors by, and Spark 2.3's HashingTF term index.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Builder, Int32Builder, ListArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, DocSection, Documentation, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};

use crate::util::{columnar_result, list_of, string_and_int64_signature};

const SECTION: DocSection = DocSection { include: true, label: "TAAR Similarity Functions", description: None };

pub fn taar_distance_udf() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(TaarDistance::new()))
}

pub fn spark_hashing_tf_index_udf() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(SparkHashingTfIndex::new()))
}

/// The TAAR floor on the continuous distance (`FLOOR_DISTANCE_ADJUSTMENT`).
const FLOOR: f64 = 0.001;

/// TAAR's `compute_clients_dist` for one pair: `(canberra(continuous) + 0.001)
/// × hamming(categorical)`. NULL features count as `""` and `0` (the
/// original's `safe_get`); a 0/0 Canberra term counts as 0 (scipy's nansum).
pub fn client_distance(cat_a: &[Option<&str>], cont_a: &[Option<f64>], cat_b: &[Option<&str>], cont_b: &[Option<f64>]) -> f64 {
    let differing = cat_a.iter().zip(cat_b).filter(|(a, b)| a.unwrap_or("") != b.unwrap_or("")).count();
    let hamming = differing as f64 / cat_a.len() as f64;
    let canberra: f64 = cont_a
        .iter()
        .zip(cont_b)
        .map(|(a, b)| {
            let (a, b) = (a.unwrap_or(0.0), b.unwrap_or(0.0));
            let denominator = a.abs() + b.abs();
            if denominator == 0.0 { 0.0 } else { (a - b).abs() / denominator }
        })
        .sum();
    ((canberra + FLOOR) * hamming).abs()
}

/// `taar_distance(categorical_a, continuous_a, categorical_b, continuous_b)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TaarDistance {
    signature: Signature,
}

impl Default for TaarDistance {
    fn default() -> Self {
        Self::new()
    }
}

impl TaarDistance {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

static TAAR_DISTANCE_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        SECTION,
        "Distance between two clients as the TAAR service computes it for its similarity \
         recommender: (Canberra distance of the continuous features + 0.001) × Hamming distance \
         (share of differing positions) of the categorical features. NULL features count as '' \
         and 0; a Canberra term with 0/0 counts as 0. NULL when any list is NULL. Identical \
         categorical features give 0 whatever the continuous ones.",
        "taar_distance(categorical_a, continuous_a, categorical_b, continuous_b)",
    )
    .with_sql_example(
        "SELECT taar_distance(['Boston', 'en-US', 'Windows'], [10, 1, 2, 3, 4], \
         ['Boston', 'en-US', 'Linux'], [10, 1, 2, 3, 5]); -- 0.037370370370370366",
    )
    .with_argument("categorical_a", "List of strings, e.g. [city, locale, os]; at least one.")
    .with_argument("continuous_a", "List of numbers, e.g. [subsession_hours_sum, bookmark_count, tab_open_count, total_uri, unique_tlds].")
    .with_argument("categorical_b", "Same length as categorical_a.")
    .with_argument("continuous_b", "Same length as continuous_a.")
    .build()
});

impl ScalarUDFImpl for TaarDistance {
    fn name(&self) -> &str {
        "taar_distance"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() != 4 {
            return plan_err!("taar_distance takes 4 lists (categorical_a, continuous_a, categorical_b, continuous_b), got {} arguments", arg_types.len());
        }
        for (i, t) in arg_types.iter().enumerate() {
            if !matches!(t, DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) | DataType::Null) {
                return plan_err!("taar_distance: argument {} must be a list, got {t}", i + 1);
            }
        }
        Ok(vec![list_of(DataType::Utf8), list_of(DataType::Float64), list_of(DataType::Utf8), list_of(DataType::Float64)])
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let lists: Vec<&ListArray> = arrays.iter().map(|a| a.as_list::<i32>()).collect();
        let rows = lists[0].len();
        let mut out = Float64Builder::with_capacity(rows);
        for i in 0..rows {
            if lists.iter().any(|l| l.is_null(i)) {
                out.append_null();
                continue;
            }
            let values: Vec<ArrayRef> = lists.iter().map(|l| l.value(i)).collect();
            let (cat_a, cat_b): (Vec<_>, Vec<_>) = (values[0].as_string::<i32>().iter().collect(), values[2].as_string::<i32>().iter().collect());
            let (cont_a, cont_b): (Vec<_>, Vec<_>) =
                (values[1].as_primitive::<Float64Type>().iter().collect(), values[3].as_primitive::<Float64Type>().iter().collect());
            if cat_a.is_empty() || cat_a.len() != cat_b.len() || cont_a.len() != cont_b.len() {
                return exec_err!(
                    "taar_distance: categorical lists need one length of at least 1 and continuous lists one length; got {} and {}, {} and {}",
                    cat_a.len(),
                    cat_b.len(),
                    cont_a.len(),
                    cont_b.len()
                );
            }
            out.append_value(client_distance(&cat_a, &cont_a, &cat_b, &cont_b));
        }
        columnar_result(&args.args, Arc::new(out.finish()) as ArrayRef)
    }
    fn documentation(&self) -> Option<&Documentation> {
        Some(&TAAR_DISTANCE_DOC)
    }
}

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

/// `spark_hashing_tf_index(term, num_features)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SparkHashingTfIndex {
    signature: Signature,
}

impl Default for SparkHashingTfIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl SparkHashingTfIndex {
    pub fn new() -> Self {
        Self { signature: string_and_int64_signature() }
    }
}

static SPARK_HASHING_TF_INDEX_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        SECTION,
        "Column of a term in Spark 2.3's HashingTF (the version TAAR's similarity job ran on): \
         the non-negative remainder of Spark's legacy Murmur3 x86_32 hash (seed 42) of the \
         term's UTF-8 bytes by num_features. Spark 3 changed the hash of strings whose length \
         is not a multiple of 4, so its indices differ. NULL term or num_features gives NULL.",
        "spark_hashing_tf_index(term, num_features)",
    )
    .with_sql_example("SELECT spark_hashing_tf_index('a', 10); -- Spark 2.3 puts 'a', 'b', 'c' in columns 0, 1, 2")
    .with_argument("term", "The term (any string type).")
    .with_argument("num_features", "Number of columns, 1 to 2^31 - 1 (Spark's default is 262144).")
    .build()
});

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
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let terms = cast(&arrays[0], &DataType::Utf8)?;
        let (terms, ns) = (terms.as_string::<i32>(), arrays[1].as_primitive::<Int64Type>());
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
        columnar_result(&args.args, Arc::new(out.finish()) as ArrayRef)
    }
    fn documentation(&self) -> Option<&Documentation> {
        Some(&SPARK_HASHING_TF_INDEX_DOC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOSTON: [Option<&str>; 3] = [Some("Boston"), Some("en-US"), Some("Windows")];
    const U1: [Option<f64>; 5] = [Some(10.0), Some(1.0), Some(2.0), Some(3.0), Some(4.0)];

    #[test]
    fn client_distance_matches_taar() {
        // taar.md 10.7, checked there with scipy.
        let linux = [Some("Boston"), Some("en-US"), Some("Linux")];
        let u = [Some(10.0), Some(1.0), Some(2.0), Some(3.0), Some(5.0)];
        assert_eq!(client_distance(&BOSTON, &U1, &linux, &u), 0.037370370370370366);
        assert_eq!(client_distance(&BOSTON, &U1, &BOSTON, &U1), 0.0);
        // Categorical equal: 0 whatever the continuous features.
        assert_eq!(client_distance(&BOSTON, &U1, &BOSTON, &[Some(0.0); 5]), 0.0);
        // All categorical differ, continuous equal: the floor alone.
        let other = [Some("Rome"), Some("it"), Some("Linux")];
        assert_eq!(client_distance(&BOSTON, &U1, &other, &U1), 0.001);
        // Against zeros every Canberra term is 1: (5 + 0.001) × 1.
        assert_eq!(client_distance(&BOSTON, &U1, &other, &[Some(0.0); 5]), 5.001);
    }

    #[test]
    fn nulls_are_empty_and_zero_and_zero_over_zero_is_zero() {
        // NULL city = '' (equal), en-US vs de differ: hamming 1/3. NULL tab count = 0
        // against 0: a 0/0 term, counted as 0, so only the floor remains.
        let a = [None, Some("en-US"), Some("Linux")];
        let b = [Some(""), Some("de"), Some("Linux")];
        let (x, y) = ([Some(1.0), Some(1.0), None, Some(3.0), Some(4.0)], [Some(1.0), Some(1.0), Some(0.0), Some(3.0), Some(4.0)]);
        assert_eq!(client_distance(&a, &x, &b, &y), 0.001 / 3.0);
        // NULL city against 'Boston' differs, as '' does.
        let c = [None, Some("en-US"), Some("Windows")];
        assert_eq!(client_distance(&c, &U1, &BOSTON, &U1), 0.001 / 3.0);
    }

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
}

#[cfg(test)]
mod sql_tests {
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::prelude::SessionContext;

    async fn rows(ctx: &SessionContext, sql: &str) -> Vec<String> {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        pretty_format_batches(&batches).unwrap().to_string().lines().skip(3).filter(|l| l.starts_with('|')).map(str::to_string).collect()
    }

    #[tokio::test]
    async fn works_in_sql_with_nulls_and_coercion() {
        let ctx = SessionContext::new();
        ctx.register_udf((*super::taar_distance_udf()).clone());
        ctx.register_udf((*super::spark_hashing_tf_index_udf()).clone());
        // Integer continuous features and a NULL element coerce; a NULL list gives NULL.
        let sql = "SELECT taar_distance(['Boston', 'en-US', 'Windows'], [10, 1, 2, 3, 4], ['Boston', 'en-US', 'Linux'], [10, 1, 2, 3, 5]) AS d, \
                   taar_distance([NULL, 'x'], [NULL], ['', 'y'], [0.0]) AS n, \
                   taar_distance(['a'], [1.0], ['b'], CAST(NULL AS DOUBLE[])) AS z, \
                   spark_hashing_tf_index(arrow_cast('a', 'Utf8View'), 10) AS i";
        assert_eq!(rows(&ctx, sql).await, ["| 0.037370370370370366 | 0.0005 |   | 0 |"]);
        let e = async { ctx.sql("SELECT taar_distance(['a'], [1.0], ['a', 'b'], [1.0])").await?.collect().await }.await.unwrap_err();
        assert!(e.to_string().contains("taar_distance: categorical lists need one length"), "{e}");
        let e = async { ctx.sql("SELECT spark_hashing_tf_index('a', 0)").await?.collect().await }.await.unwrap_err();
        assert!(e.to_string().contains("num_features must be between 1 and 2147483647, got 0"), "{e}");
    }
}
