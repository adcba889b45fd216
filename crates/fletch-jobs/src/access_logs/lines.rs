//! The text files of an access log as the table `access_log_lines` (`line`):
//! plain files through DataFusion's CSV reader with a delimiter and quote no
//! log line holds, so that they are split by byte ranges at line boundaries
//! and read in parallel, and `.gz` files one per partition through
//! [`GzipLinesTable`]; on a cluster, both on the executors.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use fletch_engine::gzip_lines::GzipLinesTable;
use fletch_engine::{Error, Location, Result};

use crate::framework::RunContext;

pub const TABLE: &str = "access_log_lines";

/// Registers [`TABLE`] over the files `input` names under the data root (a
/// folder, a file, or a glob such as `logs/*/access.log*`). Returns how many files.
pub async fn register(rc: &RunContext, input: &str) -> Result<usize> {
    fletch_engine::outputs::check_path("--input", input)?;
    let (folder, pattern) = split_glob(input);
    let mut pattern = pattern.map(|p| glob::Pattern::new(p).map_err(|e| Error::usage(format!("--input: `{input}`: {e}")))).transpose()?;
    let mut location = rc.opts.data_root.join(folder.trim_end_matches('/'));
    let mut files = log_files(&location, pattern.as_ref()).await?;
    // No folder of that name: a single file, as the pattern of its own name in its folder.
    if files.is_empty() && pattern.is_none() && !input.ends_with('/') {
        let (parent, name) = input.rsplit_once('/').unwrap_or(("", input));
        let exact = glob::Pattern::new(&glob::Pattern::escape(name)).expect("an escaped name is a pattern");
        location = rc.opts.data_root.join(parent);
        files = log_files(&location, Some(&exact)).await?;
        pattern = Some(exact);
    }
    files.sort();
    if files.is_empty() {
        return Err(Error::input(format!("--input: no log files at {location}{}", pattern.map(|p| format!(" matching {p}")).unwrap_or_default())));
    }
    let schema = Arc::new(Schema::new(vec![Field::new("line", DataType::Utf8, true)]));
    let url = |f: &String| location.file_url(f).to_string();
    let (gzipped, plain): (Vec<&String>, Vec<&String>) = files.iter().partition(|f| f.ends_with(".gz"));
    let mut tables = Vec::new();
    if !plain.is_empty() {
        let urls = plain.iter().map(|f| ListingTableUrl::parse(url(f))).collect::<std::result::Result<Vec<_>, _>>()?;
        // Control bytes never appear in a log line: httpd and nginx escape them.
        let format = CsvFormat::default().with_has_header(false).with_delimiter(0x1F).with_quote(0x01).with_escape(None);
        let options = ListingOptions::new(Arc::new(format)).with_file_extension("");
        let config = ListingTableConfig::new_with_multi_paths(urls).with_listing_options(options).with_schema(schema);
        tables.push(rc.ctx.read_table(Arc::new(ListingTable::try_new(config)?))?);
    }
    if !gzipped.is_empty() {
        tables.push(rc.ctx.read_table(Arc::new(GzipLinesTable { urls: gzipped.into_iter().map(url).collect() }))?);
    }
    let mut lines = tables.pop().expect("at least one file");
    for t in tables {
        lines = t.union(lines)?;
    }
    rc.ctx.deregister_table(TABLE)?;
    rc.ctx.register_table(TABLE, lines.into_view())?;
    Ok(files.len())
}

/// The files under `location` (not hidden, not `_`-prefixed) that `pattern` matches.
async fn log_files(location: &Location, pattern: Option<&glob::Pattern>) -> Result<Vec<String>> {
    let listed = location.list_files().await.map_err(|e| Error::input(format!("--input: {e}")))?;
    Ok(listed
        .into_iter()
        .map(|(rel, _)| rel)
        .filter(|rel| !rel.split('/').any(|part| part.starts_with('.') || part.starts_with('_')))
        .filter(|rel| pattern.is_none_or(|p| p.matches(rel)))
        .collect())
}

/// `logs/2026-*/access.log*` → (`logs/`, `2026-*/access.log*`): the folder
/// to list, and the pattern its files' paths below it must match.
fn split_glob(input: &str) -> (&str, Option<&str>) {
    let Some(first) = input.find(['*', '?', '[']) else { return (input, None) };
    let cut = input[..first].rfind('/').map_or(0, |i| i + 1);
    (&input[..cut], Some(&input[cut..]))
}

#[cfg(test)]
mod tests {
    use super::split_glob;

    #[test]
    fn globs_split_at_the_last_folder_before_them() {
        assert_eq!(split_glob("access_logs"), ("access_logs", None));
        assert_eq!(split_glob("logs/2026-*/access.log*"), ("logs/", Some("2026-*/access.log*")));
        assert_eq!(split_glob("*.gz"), ("", Some("*.gz")));
    }
}
