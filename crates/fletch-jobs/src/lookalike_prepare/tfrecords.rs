//! Rows as `tf.train.Example` records in TFRecord files, as the
//! spark-tensorflow-connector wrote them for the did-era trainer: one feature
//! per column (integers as Int64List, strings and string arrays as
//! BytesList), a NULL value leaves its feature out.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Int32Type, Int64Type};
use fletch_engine::{Error, Result};
use prost::Message;

#[derive(Clone, PartialEq, Message)]
pub struct Example {
    #[prost(message, optional, tag = "1")]
    pub features: Option<Features>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Features {
    /// A sorted map, so the same row always encodes to the same bytes.
    #[prost(btree_map = "string, message", tag = "1")]
    pub feature: BTreeMap<String, Feature>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Feature {
    #[prost(oneof = "Kind", tags = "1, 3")]
    pub kind: Option<Kind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Kind {
    #[prost(message, tag = "1")]
    BytesList(BytesList),
    #[prost(message, tag = "3")]
    Int64List(Int64List),
}

#[derive(Clone, PartialEq, Message)]
pub struct BytesList {
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub value: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Int64List {
    #[prost(int64, repeated, tag = "1")]
    pub value: Vec<i64>,
}

/// TFRecord's CRC: CRC32C rotated right by 15 bits plus a constant.
fn masked_crc(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Appends one TFRecord: length, its masked CRC, the payload, its masked CRC.
pub fn frame(payload: &[u8], out: &mut Vec<u8>) {
    let len = (payload.len() as u64).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&masked_crc(payload).to_le_bytes());
}

fn feature(column: &dyn Array, row: usize) -> Result<Option<Feature>> {
    if column.is_null(row) {
        return Ok(None);
    }
    let kind = match column.data_type() {
        DataType::Int32 => Kind::Int64List(Int64List { value: vec![column.as_primitive::<Int32Type>().value(row).into()] }),
        DataType::Int64 => Kind::Int64List(Int64List { value: vec![column.as_primitive::<Int64Type>().value(row)] }),
        DataType::Utf8 => Kind::BytesList(BytesList { value: vec![column.as_string::<i32>().value(row).as_bytes().to_vec()] }),
        DataType::List(_) => {
            let items = column.as_list::<i32>().value(row);
            let items = datafusion::arrow::compute::cast(&items, &DataType::Utf8)?;
            let items = items.as_string::<i32>();
            Kind::BytesList(BytesList { value: items.iter().map(|s| s.unwrap_or_default().as_bytes().to_vec()).collect() })
        }
        other => return Err(Error::input(format!("TFRecords: no feature type for a column of {other}"))),
    };
    Ok(Some(Feature { kind: Some(kind) }))
}

/// Appends every row of `batch` as a framed `tf.train.Example`; returns the rows.
pub fn append_examples(batch: &RecordBatch, out: &mut Vec<u8>) -> Result<usize> {
    let schema = batch.schema();
    let mut payload = Vec::new();
    for row in 0..batch.num_rows() {
        let mut features = BTreeMap::new();
        for (field, column) in schema.fields().iter().zip(batch.columns()) {
            if let Some(f) = feature(column.as_ref(), row)? {
                features.insert(field.name().clone(), f);
            }
        }
        payload.clear();
        Example { features: Some(Features { feature: features }) }.encode(&mut payload).expect("a Vec grows as needed");
        frame(&payload, out);
    }
    Ok(batch.num_rows())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int32Array, ListBuilder, StringArray, StringBuilder};
    use datafusion::arrow::datatypes::{Field, Schema};

    use super::*;

    #[test]
    fn crc_matches_tensorflow() {
        // CRC32C check value of "123456789", and TensorFlow's masking of it.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(masked_crc(b"123456789"), 0xe306_9283u32.rotate_right(15).wrapping_add(0xa282_ead8));
        let mut out = Vec::new();
        frame(b"abc", &mut out);
        assert_eq!(out.len(), 8 + 4 + 3 + 4);
        assert_eq!(&out[..8], &3u64.to_le_bytes());
        assert_eq!(&out[12..15], b"abc");
    }

    #[test]
    fn rows_become_examples_with_one_feature_per_column() {
        let mut list = ListBuilder::new(StringBuilder::new());
        list.values().append_value("14,29");
        list.values().append_value("3");
        list.append(true);
        list.append(false);
        let kwi = list.finish();
        let schema = Arc::new(Schema::new(vec![
            Field::new("age", DataType::Int32, true),
            Field::new("did", DataType::Utf8, true),
            Field::new("kwi", kwi.data_type().clone(), true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![Arc::new(Int32Array::from(vec![Some(3), None])), Arc::new(StringArray::from(vec!["d1", "d2"])), Arc::new(kwi)],
        )
        .unwrap();
        let mut out = Vec::new();
        assert_eq!(append_examples(&batch, &mut out).unwrap(), 2);
        let len = u64::from_le_bytes(out[..8].try_into().unwrap()) as usize;
        let first = Example::decode(&out[12..12 + len]).unwrap().features.unwrap().feature;
        assert_eq!(first.keys().collect::<Vec<_>>(), ["age", "did", "kwi"]);
        assert_eq!(first["age"].kind, Some(Kind::Int64List(Int64List { value: vec![3] })));
        assert_eq!(first["kwi"].kind, Some(Kind::BytesList(BytesList { value: vec![b"14,29".to_vec(), b"3".to_vec()] })));
        let second_at = 12 + len + 4;
        let len2 = u64::from_le_bytes(out[second_at..second_at + 8].try_into().unwrap()) as usize;
        let second = Example::decode(&out[second_at + 12..second_at + 12 + len2]).unwrap().features.unwrap().feature;
        // NULLs leave their feature out.
        assert_eq!(second.keys().collect::<Vec<_>>(), ["did"]);
    }
}
