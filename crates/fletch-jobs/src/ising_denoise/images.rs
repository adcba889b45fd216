//! The images of a run, read from a folder of files by the driver (their
//! bytes only: decoding, tiling and denoising run on the executors), or
//! given as a Parquet table.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{BinaryArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::prelude::{cast, col, lit};
use fletch_engine::catalog::ColumnKind;
use fletch_engine::{Error, Location, Result};
use object_store::ObjectStoreExt;

use crate::framework::{Input, RunContext};

/// The table the SQL steps read: `name`, `image`, `reference` (NULL without one).
pub const TABLE: &str = "ising_images";
const EXTENSIONS: &[&str] = &["png", "jpg", "jpeg"];
/// Most scratch files the images are spread over.
const MAX_FILES: usize = 16;

/// One image file: its name (the path under the folder, without extension) and bytes.
struct ImageFile {
    name: String,
    url: String,
    bytes: bytes::Bytes,
}

/// The image files under `folder`, by name; other files are counted in the log.
async fn read_folder(rc: &RunContext, flag: &str, folder: &str) -> Result<BTreeMap<String, ImageFile>> {
    fletch_engine::outputs::check_path(flag, folder)?;
    let location: Location = rc.opts.data_root.join(folder.trim_end_matches('/'));
    let store = location.store()?;
    let listed = location.list_files().await.map_err(|e| Error::input(format!("{flag}: {e}")))?;
    let (mut images, mut others) = (BTreeMap::new(), 0usize);
    for (rel, meta) in listed {
        let Some((stem, ext)) = rel.rsplit_once('.').filter(|(_, ext)| EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())) else {
            others += 1;
            continue;
        };
        let url = location.file_url(&rel).to_string();
        let bytes = store.get(&meta.location).await.map_err(|e| Error::input(format!("{flag}: cannot read {url}: {e}")))?.bytes().await?;
        if let Some(earlier) = images.insert(stem.to_string(), ImageFile { name: stem.to_string(), url: url.clone(), bytes }) {
            return Err(Error::input(format!("{flag}: two images named `{stem}`: {} and {url} ({ext})", earlier.url)));
        }
    }
    if others > 0 {
        log::info!("{flag} {location}: {others} files that are not PNG or JPEG left out");
    }
    if images.is_empty() {
        return Err(Error::input(format!("{flag}: no PNG or JPEG images under {location}")));
    }
    Ok(images)
}

/// Width and height from the file's header, or an error naming the file.
fn dimensions(file: &ImageFile) -> Result<(u32, u32)> {
    image::ImageReader::new(std::io::Cursor::new(&file.bytes))
        .with_guessed_format()
        .map_err(|e| Error::input(format!("image {}: {e}", file.url)))?
        .into_dimensions()
        .map_err(|e| Error::input(format!("image {}: not a readable PNG or JPEG: {e}", file.url)))
}

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("image", DataType::Binary, false),
        Field::new("reference", DataType::Binary, true),
    ]))
}

/// Registers [`TABLE`] from the image files under `folder` (and their clean
/// references under `reference`, matched by name). Returns the images' names.
pub async fn register_files(rc: &mut RunContext, folder: &str, reference: Option<&str>) -> Result<Vec<String>> {
    let images = read_folder(rc, "--images", folder).await?;
    let mut references = match reference {
        Some(r) => read_folder(rc, "--reference", r).await?,
        None => BTreeMap::new(),
    };
    let mut rows = Vec::with_capacity(images.len());
    for (name, file) in images {
        let size = dimensions(&file)?;
        let clean = match (reference, references.remove(&name)) {
            (None, _) => None,
            (Some(r), None) => return Err(Error::input(format!("--reference: no clean image named `{name}` under {r} (for {})", file.url))),
            (Some(_), Some(c)) => match dimensions(&c)? {
                same if same == size => Some(c),
                (w, h) => return Err(Error::input(format!("--reference: {} is {w}×{h} pixels, the image {} {}×{}", c.url, file.url, size.0, size.1))),
            },
        };
        rows.push((file, clean));
    }
    if !references.is_empty() {
        log::info!("--reference: {} clean images with no noisy image of their name left out", references.len());
    }
    let names = rows.iter().map(|(f, _)| f.name.clone()).collect();
    if rc.dry_run() {
        // Nothing is written: later steps plan against an empty table of the same shape.
        let empty = rc.ctx.read_empty()?.select(vec![
            cast(lit(""), DataType::Utf8).alias("name"),
            cast(lit(""), DataType::Binary).alias("image"),
            cast(lit(""), DataType::Binary).alias("reference"),
        ])?;
        let empty = empty.filter(lit(false))?;
        rc.ctx.register_table(TABLE, empty.into_view())?;
        return Ok(names);
    }
    let files = rows.len().clamp(1, MAX_FILES);
    let mut batches = Vec::with_capacity(files);
    for part in 0..files {
        let mine: Vec<&(ImageFile, Option<ImageFile>)> = rows.iter().skip(part).step_by(files).collect();
        let columns = vec![
            Arc::new(StringArray::from_iter_values(mine.iter().map(|(f, _)| f.name.as_str()))) as _,
            Arc::new(BinaryArray::from_iter_values(mine.iter().map(|(f, _)| f.bytes.as_ref()))) as _,
            Arc::new(mine.iter().map(|(_, c)| c.as_ref().map(|c| c.bytes.as_ref())).collect::<BinaryArray>()) as _,
        ];
        batches.push(RecordBatch::try_new(schema(), columns)?);
    }
    rc.outputs.scratch_batches(&rc.ctx, TABLE, &batches).await?;
    Ok(names)
}

/// Registers [`TABLE`] over the Parquet table `folder` (`name`, `image`,
/// optionally `reference`).
pub async fn register_table(rc: &mut RunContext, folder: &str) -> Result<()> {
    fletch_engine::outputs::check_path("--images-table", folder)?;
    let input = "ising_input";
    rc.register_input(&Input::new(input).at(folder).columns(&[("name", ColumnKind::Text), ("image", ColumnKind::Binary)])).await?;
    let table = rc.ctx.table(input).await?;
    let reference = if table.schema().has_column_with_unqualified_name("reference") {
        fletch_engine::catalog::check_columns(&rc.ctx, input, folder, &[("reference", ColumnKind::Binary)]).await?;
        cast(col("reference"), DataType::Binary)
    } else {
        cast(lit(datafusion::common::ScalarValue::Binary(None)), DataType::Binary)
    };
    let rows = table.select(vec![cast(col("name"), DataType::Utf8).alias("name"), cast(col("image"), DataType::Binary).alias("image"), reference.alias("reference")])?;
    rc.ctx.register_table(TABLE, rows.into_view())?;
    Ok(())
}

/// The names of the images in [`TABLE`] (read from the table: its name column only).
pub async fn names(rc: &RunContext) -> Result<Vec<String>> {
    let df = rc.ctx.table(TABLE).await?.select(vec![col("name")])?.sort(vec![col("name").sort(true, false)])?;
    let mut names = Vec::new();
    for b in fletch_engine::remote::collect(df).await? {
        let column = fletch_engine::batches::column::<StringArray>(&b, "name")?;
        names.extend(column.iter().flatten().map(str::to_string));
    }
    Ok(names)
}
