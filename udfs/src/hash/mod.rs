//! Hashes with fixed, documented results: reproducible random choices, and
//! Spark's feature hashing.

mod seeded_hash;
mod spark_hashing_tf_index;

pub use seeded_hash::{SeededHash, seeded_hash_of, splitmix};
pub use spark_hashing_tf_index::{SparkHashingTfIndex, hashing_tf_index, spark_legacy_murmur3};

scalar_udf!(seeded_hash, SeededHash::new());
scalar_udf!(spark_hashing_tf_index, SparkHashingTfIndex::new());
