//! Strings as views inside embedded queries, plain `Utf8` where they leave one.
//!
//! Embedded sessions read Parquet strings as `Utf8View`
//! ([`crate::session::embedded_config`]): a dictionary page decodes to views
//! of its dictionary instead of a copy of the string per row, and filters and
//! joins move 16-byte views instead of the strings. Collected batches,
//! streams and written files get `Utf8` (and `Binary`) back, as a cluster
//! makes them (Ballista turns view types off), so readers of results and of
//! files see the same types in both modes.

use std::sync::Arc;

use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, FieldRef, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::Column;
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::StreamExt;

use crate::error::Result;

/// `df` with every view-typed column cast to its plain type (`df` itself
/// when it has none), for a write: a sink keeps the order of its input.
/// Results are converted batch by batch instead ([`plain_batches`]): on top of
/// a sorted query, DataFusion spreads such a projection over partitions and
/// the order is lost.
pub fn plain_strings(df: DataFrame) -> Result<DataFrame> {
    let schema = Arc::new(df.schema().as_arrow().clone());
    let plain = plain_schema(&schema);
    if Arc::ptr_eq(&plain, &schema) {
        return Ok(df);
    }
    let exprs: Vec<Expr> = df
        .schema()
        .iter()
        .zip(plain.fields())
        .map(|((qualifier, field), plain)| {
            let column = Expr::Column(Column::new(qualifier.cloned(), field.name()));
            if plain.data_type() == field.data_type() {
                return column;
            }
            datafusion::logical_expr::cast(column, plain.data_type().clone()).alias_qualified(qualifier.cloned(), field.name())
        })
        .collect();
    Ok(df.select(exprs)?)
}

/// `batches` (of one schema) with every view-typed column cast to its plain type.
pub fn plain_batches(batches: Vec<RecordBatch>) -> std::result::Result<Vec<RecordBatch>, ArrowError> {
    let Some(first) = batches.first() else { return Ok(batches) };
    let schema = plain_schema(first.schema_ref());
    if Arc::ptr_eq(&schema, first.schema_ref()) {
        return Ok(batches);
    }
    batches.into_iter().map(|b| plain_batch_as(&schema, b)).collect()
}

/// `stream` with every view-typed column cast to its plain type.
pub fn plain_stream(stream: SendableRecordBatchStream) -> SendableRecordBatchStream {
    let schema = plain_schema(&stream.schema());
    if Arc::ptr_eq(&schema, &stream.schema()) {
        return stream;
    }
    let converted = {
        let schema = schema.clone();
        stream.map(move |batch| batch.and_then(|b| plain_batch_as(&schema, b).map_err(DataFusionError::from)))
    };
    Box::pin(RecordBatchStreamAdapter::new(schema, converted))
}

fn plain_batch_as(schema: &SchemaRef, batch: RecordBatch) -> std::result::Result<RecordBatch, ArrowError> {
    let columns = batch.columns().iter().zip(schema.fields()).map(|(c, f)| cast(c, f.data_type())).collect::<std::result::Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), columns)
}

/// `schema` with plain types; `schema` itself when it has no views.
fn plain_schema(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<FieldRef> = schema.fields().iter().map(without_view_field).collect();
    if fields.iter().eq(schema.fields().iter()) {
        return schema.clone();
    }
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

fn without_view_field(f: &FieldRef) -> FieldRef {
    Arc::new(f.as_ref().clone().with_data_type(without_views(f.data_type())))
}

/// `t` with `Utf8View` as `Utf8` and `BinaryView` as `Binary`, inside lists,
/// structs and maps too.
fn without_views(t: &DataType) -> DataType {
    match t {
        DataType::Utf8View => DataType::Utf8,
        DataType::BinaryView => DataType::Binary,
        DataType::List(f) => DataType::List(without_view_field(f)),
        DataType::LargeList(f) => DataType::LargeList(without_view_field(f)),
        DataType::FixedSizeList(f, n) => DataType::FixedSizeList(without_view_field(f), *n),
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(without_view_field).collect()),
        DataType::Map(f, sorted) => DataType::Map(without_view_field(f), *sorted),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::Int64Type;
    use datafusion::datasource::file_format::format_as_file_type;
    use datafusion::datasource::file_format::parquet::ParquetFormatFactory;
    use datafusion::logical_expr::LogicalPlanBuilder;
    use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext, col, lit};

    use super::*;
    use crate::session::{embedded_config, session_state};

    const NESTED: &str = "SELECT arrow_cast('a', 'Utf8View') AS s, [arrow_cast('b', 'Utf8View')] AS l, \
        named_struct('x', arrow_cast('c', 'Utf8View'), 'n', 1) AS st, 2 AS n, arrow_cast(X'01', 'BinaryView') AS b";

    fn types(schema: &Schema) -> Vec<String> {
        schema.fields().iter().map(|f| format!("{}: {}", f.name(), f.data_type())).collect()
    }

    const PLAIN: [&str; 5] = ["s: Utf8", "l: List(Utf8)", "st: Struct(\"x\": Utf8, \"n\": Int64)", "n: Int64", "b: Binary"];

    #[tokio::test]
    async fn views_become_plain_types_at_any_depth_and_keep_their_values() {
        let ctx = SessionContext::new();
        let in_plan = plain_strings(ctx.sql(NESTED).await.unwrap()).unwrap().collect().await.unwrap();
        let by_batch = plain_batches(ctx.sql(NESTED).await.unwrap().collect().await.unwrap()).unwrap().remove(0);
        for batch in [&in_plan[0], &by_batch] {
            assert_eq!(types(&batch.schema()), PLAIN);
            assert_eq!(batch.column(0).as_string::<i32>().value(0), "a");
            assert_eq!(batch.column(3).as_primitive::<Int64Type>().value(0), 2);
        }
    }

    #[tokio::test]
    async fn what_has_no_views_is_left_as_it_is() {
        let ctx = SessionContext::new();
        let df = ctx.sql("SELECT 'a' AS s, 1 AS n").await.unwrap();
        let plan = df.logical_plan().clone();
        assert_eq!(plain_strings(df.clone()).unwrap().logical_plan(), &plan);
        let stream = df.execute_stream().await.unwrap();
        let schema = stream.schema();
        assert!(Arc::ptr_eq(&plain_stream(stream).schema(), &schema));
    }

    /// Rows sorted in a two-partition session: streamed and written, they
    /// keep their order.
    #[tokio::test]
    async fn sorted_rows_keep_their_order_streamed_and_written() {
        let ctx = SessionContext::new_with_state(session_state(embedded_config().with_target_partitions(2)).unwrap());
        let rows = "SELECT arrow_cast(CAST(value % 7 AS VARCHAR), 'Utf8View') AS s, value AS i FROM generate_series(1, 100000)";
        ctx.sql(&format!("CREATE TABLE t AS {rows}")).await.unwrap().collect().await.unwrap();
        let sorted = ctx.table("t").await.unwrap().filter(col("i").gt(lit(5))).unwrap().sort(vec![col("i").sort(false, false)]).unwrap();
        let descending = |batches: &[RecordBatch]| {
            let i: Vec<i64> = batches.iter().flat_map(|b| b.column(1).as_primitive::<Int64Type>().values().to_vec()).collect();
            i.windows(2).all(|w| w[0] > w[1])
        };

        let mut stream = plain_stream(sorted.clone().execute_stream().await.unwrap());
        let mut streamed = Vec::new();
        while let Some(batch) = stream.next().await {
            streamed.push(batch.unwrap());
        }
        assert_eq!(types(&streamed[0].schema())[0], "s: Utf8");
        assert_eq!(streamed.iter().map(|b| b.num_rows()).sum::<usize>(), 99_995);
        assert!(descending(&streamed));

        let dir = tempfile::tempdir().unwrap();
        let (state, plan) = plain_strings(sorted).unwrap().into_parts();
        let file_type = format_as_file_type(Arc::new(ParquetFormatFactory::new()));
        let copy = LogicalPlanBuilder::copy_to(plan, format!("{}/", dir.path().display()), file_type, Default::default(), vec![]).unwrap().build().unwrap();
        DataFrame::new(state, copy).collect().await.unwrap();
        // Each file in order (a write spreads rows over files), read by a
        // reader that does not force views: the files' own Arrow schema.
        let reader = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1).set_bool("datafusion.execution.parquet.schema_force_view_types", false));
        let mut rows = 0;
        for file in std::fs::read_dir(dir.path()).unwrap() {
            let written = reader.read_parquet(file.unwrap().path().to_str().unwrap(), ParquetReadOptions::default()).await.unwrap().collect().await.unwrap();
            assert_eq!(types(&written[0].schema())[0], "s: Utf8");
            assert!(descending(&written));
            rows += written.iter().map(|b| b.num_rows()).sum::<usize>();
        }
        assert_eq!(rows, 99_995);
    }
}
