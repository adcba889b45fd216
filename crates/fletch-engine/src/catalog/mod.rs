//! Input tables: a folder under the data root named after the table, holding
//! Parquet files, optionally Hive-partitioned (`day=2020-01-07/`). Partition
//! values are strings, as in the original Hive tables.

mod files;
mod skipping;

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use datafusion::prelude::{ParquetReadOptions, SessionContext};

use crate::error::{Error, Result};
use crate::location::Location;
pub use files::{find_non_utf8, rows_in};
use files::{DataFile, partition_cols, table_files};
pub use skipping::{Encoded as EncodedSkippingTable, SkippingTable, TAG as SKIPPING_TABLE_TAG};

/// What was registered for one input table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputTable {
    pub name: String,
    pub location: Location,
    pub files: usize,
    pub partition_cols: Vec<String>,
    /// The schema inferred from the files (partition columns included),
    /// whatever narrower schema the table is registered with later.
    pub schema: SchemaRef,
    /// Object store paths of the unreadable files left out ([`Unreadable::Skip`]).
    pub skipped: BTreeSet<String>,
}

/// What to do with a table's files that are not readable Parquet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unreadable {
    /// Fail naming them: DataFusion would skip an empty file without a word,
    /// and fail on a corrupt one without its name.
    #[default]
    Fail,
    /// Leave them out, saying how many and which in the log
    /// (`--skip-unreadable-files`); a table with no readable file still fails.
    Skip,
}

/// Registers `data_root/<name>/` as table `name`.
/// A missing or empty folder is an error naming the table and the path searched.
pub async fn register_input(ctx: &SessionContext, data_root: &Location, name: &str) -> Result<InputTable> {
    register_at(ctx, data_root.join(name), name, name, Unreadable::Fail).await
}

/// Registers the table folder at `location` as table `alias`; errors call it
/// `shown`. Files that are not readable Parquet are dealt with as `unreadable` says.
pub async fn register_at(ctx: &SessionContext, location: Location, shown: &str, alias: &str, unreadable: Unreadable) -> Result<InputTable> {
    let files = table_files(shown, &location).await?;
    if files.is_empty() {
        return Err(Error::input(format!(
            "input table `{shown}` not found: no Parquet files under {location}"
        )));
    }
    register_files(ctx, alias, shown, location, files, unreadable).await
}

/// What a column of an input table must hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Integer,
    /// Integers, or strings that hold them (cast later).
    TextOrInteger,
    /// Bytes (an encoded image).
    Binary,
}

/// Checks that registered table `table` (named `shown` in errors) has each
/// column with a type of its kind.
pub async fn check_columns(ctx: &SessionContext, table: &str, shown: &str, columns: &[(&str, ColumnKind)]) -> Result<()> {
    let schema = ctx.table_provider(table).await?.schema();
    for (name, kind) in columns {
        let Ok(field) = schema.field_with_name(name) else {
            let have: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(Error::input(format!("input table `{shown}` has no column `{name}` (it has {})", have.join(", "))));
        };
        let t = field.data_type();
        let text = matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Dictionary(_, _));
        let (ok, expected) = match kind {
            ColumnKind::Text => (text, "a string"),
            ColumnKind::Integer => (t.is_integer(), "an integer"),
            ColumnKind::TextOrInteger => (text || t.is_integer(), "a string or an integer"),
            ColumnKind::Binary => (matches!(t, DataType::Binary | DataType::BinaryView | DataType::LargeBinary), "bytes (BYTEA)"),
        };
        if !ok {
            return Err(Error::input(format!("input table `{shown}`: column `{name}` is {t}, expected {expected}")));
        }
    }
    Ok(())
}

async fn register_files(ctx: &SessionContext, name: &str, shown: &str, location: Location, files: Vec<DataFile>, unreadable: Unreadable) -> Result<InputTable> {
    let found = files::unreadable(ctx, &location, &files).await?;
    if !found.is_empty() && (unreadable == Unreadable::Fail || found.len() == files.len()) {
        return Err(files::unreadable_error(shown, &location, files.len(), &found));
    }
    let cols = partition_cols(&files[0].rel);
    let skipped: BTreeSet<String> = found.iter().map(|u| u.path.clone()).collect();
    let file_schema = match skipped.is_empty() {
        true => None,
        false => {
            log::warn!("input table {shown}: skipping {} of {} files, not readable Parquet (--skip-unreadable-files):", found.len(), files.len());
            for u in &found {
                log::warn!("  skipped {}", u.why);
            }
            let readable: Vec<_> = files.iter().filter(|f| !skipped.contains(f.meta.location.as_ref())).map(|f| f.meta.clone()).collect();
            Some(files::infer_schema(ctx, &location, &readable).await?)
        }
    };
    register_with_schema(ctx, name, &location, &cols, file_schema.as_deref(), &skipped).await?;
    log::info!("registered input table {name}: {} files under {location}", files.len() - skipped.len());
    let schema = ctx.table_provider(name).await?.schema();
    Ok(InputTable { name: name.to_string(), location, files: files.len() - skipped.len(), partition_cols: cols, schema, skipped })
}

/// (Re-)registers the Parquet table at `location`, with its file schema
/// inferred, or declared by `schema` (without the partition columns), and
/// without the `skipped` files (then `schema` is required).
async fn register_with_schema(ctx: &SessionContext, name: &str, location: &Location, cols: &[String], schema: Option<&Schema>, skipped: &BTreeSet<String>) -> Result<()> {
    let failed = |e: datafusion::error::DataFusionError| Error::input(format!("input table `{name}` at {location}: {}", e.find_root()));
    // Several jobs may share a session (the quickstart): the latest listing wins.
    ctx.deregister_table(name)?;
    if !skipped.is_empty() {
        let schema = schema.expect("an inferred schema when files are skipped");
        let encoded = skipping::Encoded { url: location.to_string(), partition_cols: cols.to_vec(), skipped: skipped.clone() };
        let table = SkippingTable::new(encoded, Arc::new(schema.clone()), ctx.state().config_options()).map_err(failed)?;
        ctx.register_table(name, Arc::new(table))?;
        return Ok(());
    }
    let mut options = ParquetReadOptions::default()
        .table_partition_cols(cols.iter().map(|c| (c.clone(), DataType::Utf8)).collect());
    if let Some(schema) = schema {
        options = options.schema(schema);
    }
    ctx.register_parquet(name, location.as_str(), options).await.map_err(failed)
}

/// Registers input table `table` as table `name` (itself, or a second view
/// of the same files) with each named list-of-struct column narrowed to the
/// struct fields given for it. DataFusion's Parquet reader then decodes only
/// those leaves (a 16-field add-on struct read for one field costs a
/// sixteenth); a field the job reads but did not name is a planning error, a
/// named field the files lack is an error naming it.
pub async fn narrow_struct_lists(ctx: &SessionContext, table: &InputTable, name: &str, narrowed: &[(&str, &[&str])]) -> Result<()> {
    let (shown, schema) = (&table.name, &table.schema);
    if let Some((column, _)) = narrowed.iter().find(|(c, _)| schema.field_with_name(c).is_err()) {
        return Err(Error::input(format!("input table `{shown}` has no column `{column}`")));
    }
    let mut fields = Vec::new();
    for field in skipping::file_schema(schema, &table.partition_cols).fields() {
        match narrowed.iter().find(|(column, _)| column == field.name()) {
            Some((column, keep)) => fields.push(Arc::new(narrow_list_field(field, keep).map_err(|e| {
                Error::input(format!("input table `{shown}`: column `{column}` {e}"))
            })?)),
            None => fields.push(field.clone()),
        }
    }
    let file_schema = Schema::new_with_metadata(fields, schema.metadata().clone());
    register_with_schema(ctx, name, &table.location, &table.partition_cols, Some(&file_schema), &table.skipped).await?;
    log::info!("input table {shown} as {name}: reading only {narrowed:?}");
    Ok(())
}

/// Registers input table `table` again as `name`, a second view of the same files.
pub async fn register_table_as(ctx: &SessionContext, table: &InputTable, name: &str) -> Result<()> {
    let file_schema = skipping::file_schema(&table.schema, &table.partition_cols);
    register_with_schema(ctx, name, &table.location, &table.partition_cols, Some(&file_schema), &table.skipped).await
}

/// `field`, a list of structs, with its struct cut down to `keep` (in the file's order).
fn narrow_list_field(field: &Field, keep: &[&str]) -> std::result::Result<Field, String> {
    let not_a_list = || format!("is {}, expected a list of structs", field.data_type());
    let DataType::List(item) = field.data_type() else { return Err(not_a_list()) };
    let DataType::Struct(members) = item.data_type() else { return Err(not_a_list()) };
    if let Some(missing) = keep.iter().find(|k| members.find(k).is_none()) {
        return Err(format!("has no struct field `{missing}`"));
    }
    let kept: Fields = members.iter().filter(|m| keep.contains(&m.name().as_str())).cloned().collect();
    let item = item.as_ref().clone().with_data_type(DataType::Struct(kept));
    Ok(field.clone().with_data_type(DataType::List(Arc::new(item))))
}

/// A local data root must be a directory: "not found" for every table would hide that.
pub fn check_data_root(data_root: &Location) -> Result<()> {
    match data_root.local_path().filter(|d| !d.is_dir()) {
        Some(dir) => Err(Error::input(format!("--data-root: {} is not a directory", dir.display()))),
        None => Ok(()),
    }
}

/// Registers every table folder directly under `data_root` that holds Parquet files.
pub async fn register_all_inputs(ctx: &SessionContext, data_root: &Location, unreadable: Unreadable) -> Result<Vec<InputTable>> {
    check_data_root(data_root)?;
    let listing = data_root
        .store()?
        .list_with_delimiter(Some(&data_root.prefix()))
        .await
        .map_err(|e| Error::input(format!("--data-root: cannot list {data_root}: {e}")))?;
    let mut tables = Vec::new();
    for dir in listing.common_prefixes {
        let Some(name) = dir.filename().filter(|n| !n.starts_with(['.', '_'])) else { continue };
        let location = data_root.join(name);
        let files = table_files(name, &location).await?;
        if files.is_empty() {
            log::info!("{location} holds no Parquet table; not registered");
            continue;
        }
        tables.push(register_files(ctx, name, name, location, files, unreadable).await?);
    }
    Ok(tables)
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Mode, connect};

    /// A table of one list-of-structs column `l` (`a` short, `wide` 2 kB per element) in `dir/t/day=1/`.
    fn write_list_table(dir: &std::path::Path) -> Location {
        use datafusion::arrow::array::{ListBuilder, RecordBatch, StringBuilder, StructBuilder};
        let members = Fields::from(vec![Field::new("a", DataType::Utf8, true), Field::new("wide", DataType::Utf8, true)]);
        let mut list = ListBuilder::new(StructBuilder::from_fields(members, 0));
        for row in 0..200 {
            let items = list.values();
            items.field_builder::<StringBuilder>(0).unwrap().append_value(format!("a{row}"));
            items.field_builder::<StringBuilder>(1).unwrap().append_value(format!("{row:>2000}"));
            items.append(true);
            list.append(true);
        }
        let batch = RecordBatch::try_from_iter([("l", Arc::new(list.finish()) as _)]).unwrap();
        let folder = dir.join("t/day=1");
        std::fs::create_dir_all(&folder).unwrap();
        let file = std::fs::File::create(folder.join("part-0.parquet")).unwrap();
        let mut writer = datafusion::parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        Location::parse("--data-root", dir.to_str().unwrap()).unwrap()
    }

    /// Bytes the Parquet scan of `sql` read.
    async fn bytes_scanned(ctx: &SessionContext, sql: &str) -> usize {
        use datafusion::physical_plan::{ExecutionPlan, collect};
        let plan = ctx.sql(sql).await.unwrap().create_physical_plan().await.unwrap();
        collect(plan.clone(), ctx.task_ctx()).await.unwrap();
        fn sum(plan: &Arc<dyn ExecutionPlan>) -> usize {
            let own = plan.metrics().and_then(|m| m.sum_by_name("bytes_scanned")).map_or(0, |v| v.as_usize());
            own + plan.children().iter().map(|c| sum(c)).sum::<usize>()
        }
        sum(&plan)
    }

    /// The struct fields of table `name`'s list column `l`.
    async fn struct_members(ctx: &SessionContext, name: &str) -> Vec<String> {
        let schema = ctx.table_provider(name).await.unwrap().schema();
        let DataType::List(item) = schema.field_with_name("l").unwrap().data_type() else { panic!("l is no list") };
        let DataType::Struct(members) = item.data_type() else { panic!("l holds no structs") };
        members.iter().map(|m| m.name().clone()).collect()
    }

    #[tokio::test]
    async fn unreadable_files_are_skipped_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let root = write_list_table(dir.path());
        let table = dir.path().join("t");
        std::fs::create_dir_all(table.join("day=2")).unwrap();
        std::fs::copy(table.join("day=1/part-0.parquet"), table.join("day=2/part-0.parquet")).unwrap();
        std::fs::write(table.join("day=2/part-1.parquet"), b"").unwrap();
        std::fs::write(table.join("day=3.parquet"), b"not parquet").unwrap();
        let ctx = connect(&Mode::Embedded).await.unwrap();
        let e = register_at(&ctx, root.join("t"), "t", "t", Unreadable::Fail).await.unwrap_err().to_string();
        assert!(e.contains(": 2 of 4 files are not readable Parquet: day=2/part-1.parquet (empty, 0 bytes), day=3.parquet (Parquet error:"), "{e}");

        let t = register_at(&ctx, root.join("t"), "t", "t", Unreadable::Skip).await.unwrap();
        assert_eq!((t.files, t.skipped.len()), (2, 2));
        let count = |sql: &'static str| {
            let ctx = ctx.clone();
            async move {
                use datafusion::arrow::array::AsArray;
                let rows = ctx.sql(sql).await.unwrap().collect().await.unwrap();
                rows[0].column(0).as_primitive::<datafusion::arrow::datatypes::Int64Type>().value(0)
            }
        };
        assert_eq!(count("SELECT count(*) FROM t").await, 400);
        assert_eq!(count("SELECT count(*) FROM t WHERE day = '2'").await, 200, "partition values and pruning still work");
        // Narrowed and second views leave the same files out.
        narrow_struct_lists(&ctx, &t, "t", &[("l", &["a"])]).await.unwrap();
        register_table_as(&ctx, &t, "t2").await.unwrap();
        assert_eq!(count("SELECT count(*) FROM (SELECT unnest(l) FROM t)").await, 400);
        assert_eq!(count("SELECT count(*) FROM t2 WHERE day = '1'").await, 200);

        // Skipping never reads nothing.
        std::fs::remove_dir_all(table.join("day=1")).unwrap();
        std::fs::remove_dir_all(table.join("day=2")).unwrap();
        let e = register_at(&ctx, root.join("t"), "t", "t", Unreadable::Skip).await.unwrap_err().to_string();
        assert!(e.contains("1 of 1 files are not readable Parquet: day=3.parquet"), "{e}");
    }

    #[tokio::test]
    async fn narrowed_struct_lists_read_only_the_named_fields() {
        let dir = tempfile::tempdir().unwrap();
        let root = write_list_table(dir.path());
        let ctx = connect(&Mode::Embedded).await.unwrap();
        let table = register_input(&ctx, &root, "t").await.unwrap();
        let query = "SELECT count(DISTINCT a['a']) FROM (SELECT unnest(l) AS a FROM t WHERE day = '1')";
        let full = bytes_scanned(&ctx, query).await;

        narrow_struct_lists(&ctx, &table, "t", &[("l", &["a"])]).await.unwrap();
        assert_eq!(struct_members(&ctx, "t").await, ["a"]);
        assert!(ctx.table_provider("t").await.unwrap().schema().field_with_name("day").is_ok(), "partition columns stay");
        let narrow = bytes_scanned(&ctx, query).await;
        assert!(narrow * 20 < full, "narrowed scan read {narrow} bytes, the full one {full}");
        let rows = ctx.sql(query).await.unwrap().collect().await.unwrap();
        use datafusion::arrow::array::AsArray;
        assert_eq!(rows[0].column(0).as_primitive::<datafusion::arrow::datatypes::Int64Type>().value(0), 200);
        let e = ctx.sql("SELECT unnest(l)['wide'] FROM t").await.unwrap_err();
        assert!(e.to_string().contains("wide"), "{e}");

        // A second view of the same files, narrowed otherwise; `t` keeps its own.
        narrow_struct_lists(&ctx, &table, "t_wide", &[("l", &["wide"])]).await.unwrap();
        assert_eq!((struct_members(&ctx, "t").await, struct_members(&ctx, "t_wide").await), (vec!["a".into()], vec!["wide".into()]));

        let e = narrow_struct_lists(&ctx, &table, "t", &[("l", &["a", "b"])]).await.unwrap_err();
        assert_eq!(e.to_string(), "input table `t`: column `l` has no struct field `b`");
        let e = narrow_struct_lists(&ctx, &table, "t", &[("m", &["a"])]).await.unwrap_err();
        assert_eq!(e.to_string(), "input table `t` has no column `m`");
    }

    #[tokio::test]
    async fn missing_tables_name_the_table_and_the_path() {
        let ctx = connect(&Mode::Embedded).await.unwrap();
        let root = Location::parse("--data-root", "memory://catalog-test/data").unwrap();
        let e = register_input(&ctx, &root, "clients_daily").await.unwrap_err();
        assert_eq!(e.to_string(), "input table `clients_daily` not found: no Parquet files under memory://catalog-test/data/clients_daily/");
        assert_eq!(e.exit_code(), 1);
    }
}
