//! `zlib_compress` and `zlib_decompress`: the zlib framing of Python's
//! `zlib.compress` (default level), which TAAR profile blobs use.

use std::io::{Read, Write};
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BinaryBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::utils::take_function_args;
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::functions::utils::make_scalar_function;
use datafusion::logical_expr::{ColumnarValue, DocSection, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;

/// `zlib_compress` or `zlib_decompress`: one implementation, two directions.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Zlib {
    compress: bool,
    signature: Signature,
}

impl Zlib {
    pub fn compress() -> Self {
        Self { compress: true, signature: Signature::any(1, Volatility::Immutable) }
    }

    pub fn decompress() -> Self {
        Self { compress: false, signature: Signature::any(1, Volatility::Immutable) }
    }
}

// Two functions share one struct, so their docs are built here rather than by
// `#[user_doc]`, which documents a struct once.
const SECTION: DocSection = DocSection { include: true, label: "Text and JSON Functions", description: None };

static COMPRESS_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        SECTION,
        "zlib-compressed bytes (header, deflate at the default level 6, Adler-32), as Python's \
         zlib.compress(data) makes: strings are compressed as their UTF-8 bytes. NULL gives NULL.",
        "zlib_compress(data)",
    )
    .with_sql_example("SELECT zlib_compress(to_python_json(named_struct('a', 1)))")
    .with_argument("data", "A string or binary value.")
    .build()
});

static DECOMPRESS_DOC: LazyLock<Documentation> = LazyLock::new(|| {
    Documentation::builder(
        SECTION,
        "The bytes inside a zlib stream (the inverse of zlib_compress); cast to VARCHAR to read \
         text. Bytes that are not a zlib stream are an error. NULL gives NULL.",
        "zlib_decompress(data)",
    )
    .with_sql_example("SELECT CAST(zlib_decompress(json_payload) AS VARCHAR) FROM client_profiles LIMIT 1")
    .with_argument("data", "A binary value holding a zlib stream.")
    .build()
});

impl ScalarUDFImpl for Zlib {
    fn name(&self) -> &str {
        if self.compress { "zlib_compress" } else { "zlib_decompress" }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        use DataType::*;
        match take_function_args(self.name(), arg_types)? {
            [Utf8 | LargeUtf8 | Utf8View | Binary | LargeBinary | BinaryView | Null] => Ok(Binary),
            [t] => plan_err!("{}: expected a string or binary value, got {t}", self.name()),
        }
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let compress = self.compress;
        make_scalar_function(move |args: &[ArrayRef]| zlib_inner(args, compress), vec![])(&args.args)
    }
    fn documentation(&self) -> Option<&Documentation> {
        Some(if self.compress { &COMPRESS_DOC } else { &DECOMPRESS_DOC })
    }
}

fn zlib_inner(args: &[ArrayRef], compressing: bool) -> Result<ArrayRef> {
    let [data] = take_function_args(if compressing { "zlib_compress" } else { "zlib_decompress" }, args)?;
    let data = cast(data, &DataType::Binary)?;
    let data = data.as_binary::<i32>();
    let mut out = BinaryBuilder::with_capacity(data.len(), data.values().len());
    for i in 0..data.len() {
        if data.is_null(i) {
            out.append_null();
        } else if compressing {
            out.append_value(compress(data.value(i)));
        } else {
            match decompress(data.value(i)) {
                Ok(bytes) => out.append_value(bytes),
                Err(e) => return exec_err!("zlib_decompress: row {i} is not a zlib stream: {e}"),
            }
        }
    }
    Ok(Arc::new(out.finish()))
}

pub fn compress(data: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::with_capacity(data.len() / 2 + 16), Compression::default());
    encoder.write_all(data).expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

pub fn decompress(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() * 3);
    ZlibDecoder::new(data).read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::prelude::SessionContext;

    #[test]
    fn zlib_framing_round_trips() {
        let text = "{\"city\": \"Rome\"}".repeat(20);
        let z = super::compress(text.as_bytes());
        // 0x78 0x9c: deflate, 32 KiB window, default level, as Python writes.
        assert_eq!(&z[..2], &[0x78, 0x9c]);
        assert!(z.len() < text.len() / 4, "{} bytes", z.len());
        assert_eq!(super::decompress(&z).unwrap(), text.as_bytes());
        // Python: zlib.compress(b"") == b"x\x9c\x03\x00\x00\x00\x00\x01"
        assert_eq!(super::compress(b""), b"x\x9c\x03\x00\x00\x00\x00\x01");
    }

    #[tokio::test]
    async fn sql_round_trip_and_bad_input() {
        let ctx = SessionContext::new();
        ctx.register_udf((*crate::text::zlib_compress()).clone());
        ctx.register_udf((*crate::text::zlib_decompress()).clone());
        let q = "SELECT CAST(zlib_decompress(zlib_compress(s)) AS VARCHAR) FROM (VALUES ('ä'), (NULL)) t(s)";
        let batches = ctx.sql(q).await.unwrap().collect().await.unwrap();
        let col = datafusion::arrow::compute::cast(batches[0].column(0), &datafusion::arrow::datatypes::DataType::Utf8).unwrap();
        let col = col.as_string::<i32>();
        assert_eq!((col.value(0), col.is_null(1)), ("ä", true));
        let e = async { ctx.sql("SELECT zlib_decompress(X'0102')").await?.collect().await }.await.unwrap_err();
        assert!(e.to_string().contains("zlib_decompress: row 0 is not a zlib stream"), "{e}");
    }
}
