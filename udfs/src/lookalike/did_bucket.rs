//! `did_bucket`: Blue Marlin's user bucket hash.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::common::exec_err;
use datafusion::common::utils::take_function_args;
use datafusion::error::Result;
use datafusion::functions::utils::make_scalar_function;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature};
use datafusion_macros::user_doc;
use sha2::{Digest, Sha256};

use crate::util::string_and_int64_signature;

#[user_doc(
    doc_section(label = "Lookalike Functions"),
    description = "Bucket of a device id: the SHA-256 digest of its UTF-8 bytes read as a big-endian \
        unsigned integer, modulo n, as a string ('0', '1', ...), exactly as Blue Marlin's \
        add_did_bucket. NULL did or n gives NULL; n must be positive.",
    syntax_example = "did_bucket(did, n)",
    sql_example = "SELECT did_bucket('0000006', 2); -- '0'",
    argument(name = "did", description = "Device id (any string type)."),
    argument(name = "n", description = "Number of buckets, a positive integer.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DidBucket {
    signature: Signature,
}

impl DidBucket {
    pub fn new() -> Self {
        Self { signature: string_and_int64_signature() }
    }
}

impl Default for DidBucket {
    fn default() -> Self {
        Self::new()
    }
}

/// `int(sha256(did).hexdigest(), 16) % n` without a 256-bit integer.
pub fn bucket_of(did: &str, n: u64) -> u64 {
    Sha256::digest(did.as_bytes())
        .iter()
        .fold(0u64, |r, b| ((r as u128 * 256 + *b as u128) % n as u128) as u64)
}

impl ScalarUDFImpl for DidBucket {
    fn name(&self) -> &str {
        "did_bucket"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        make_scalar_function(did_bucket_inner, vec![])(&args.args)
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

fn did_bucket_inner(args: &[ArrayRef]) -> Result<ArrayRef> {
    let [dids, ns] = take_function_args("did_bucket", args)?;
    let dids = cast(dids, &DataType::Utf8)?;
    let (dids, ns) = (dids.as_string::<i32>(), ns.as_primitive::<Int64Type>());
    let mut out = StringBuilder::with_capacity(dids.len(), dids.len() * 2);
    for i in 0..dids.len() {
        if dids.is_null(i) || ns.is_null(i) {
            out.append_null();
            continue;
        }
        let n = ns.value(i);
        if n <= 0 {
            return exec_err!("did_bucket: n must be a positive integer, got {n}");
        }
        out.append_value(bucket_of(dids.value(i), n as u64).to_string());
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Check values from the lookalike spec, section 5.1.
    const VECTORS: &[(&str, [u64; 4])] = &[
        ("0000001", [1, 1, 5, 85]),
        ("0000002", [1, 3, 1, 51]),
        ("0000003", [1, 3, 7, 27]),
        ("0000004", [1, 3, 3, 23]),
        ("0000005", [1, 3, 9, 99]),
        ("0000006", [0, 0, 4, 84]),
        ("0000007", [0, 0, 8, 28]),
        ("0000008", [0, 2, 8, 78]),
        ("0000009", [0, 2, 0, 30]),
        ("0000010", [1, 1, 7, 57]),
        ("0000011", [1, 1, 3, 53]),
    ];

    #[test]
    fn matches_the_original_hash() {
        for (did, expected) in VECTORS {
            let got = [2, 4, 10, 100].map(|n| bucket_of(did, n));
            assert_eq!(&got, expected, "did {did}");
        }
    }

    #[test]
    fn large_moduli_do_not_overflow() {
        // n close to u64::MAX exercises the u128 step of the fold.
        let n = u64::MAX - 58;
        assert!(bucket_of("0000001", n) < n);
    }
}

#[cfg(test)]
mod sql_tests {
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn works_on_every_string_type_and_nulls() {
        let ctx = SessionContext::new();
        ctx.register_udf((*crate::lookalike::did_bucket()).clone());
        let sql = "SELECT did_bucket(d, 10) AS a, did_bucket(arrow_cast(d, 'Utf8View'), 100) AS b, \
                   did_bucket(arrow_cast(d, 'LargeUtf8'), 4) AS c, did_bucket(NULL, 2) AS n \
                   FROM (VALUES ('0000001'), ('0000006')) t(d) ORDER BY a";
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let out = pretty_format_batches(&batches).unwrap().to_string();
        let rows: Vec<_> = out.lines().skip(3).take(2).collect();
        assert_eq!(rows, ["| 4 | 84 | 0 |   |", "| 5 | 85 | 1 |   |"]);
        // Constant folding may raise it while planning; either way it must surface.
        let e = async { ctx.sql("SELECT did_bucket('x', 0)").await?.collect().await }.await.unwrap_err();
        assert!(e.to_string().contains("did_bucket: n must be a positive integer, got 0"), "{e}");
    }
}
