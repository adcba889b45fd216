//! Text, JSON and compressed text: what TAAR's profile blobs and whitelists are made of.

mod json_list;
mod to_python_json;
mod zlib;

pub use json_list::{JsonListFunc, JsonListTable, definition as json_list_def};
pub use to_python_json::{ToPythonJson, write_float, write_string};
pub use zlib::{Zlib, compress, decompress};

scalar_udf!(to_python_json, ToPythonJson::new());
scalar_udf!(zlib_compress, Zlib::compress());
scalar_udf!(zlib_decompress, Zlib::decompress());
