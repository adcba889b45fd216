//! Seed audiences as files, as an advertiser exports them: one did a line,
//! or CSV whose header names a `did` column. Read on the driver, with errors
//! naming the file and line; `fletch serve lookalike` checks an upload with
//! the same rules before it starts anything.

use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use fletch_engine::catalog::ColumnKind;
use fletch_engine::{Error, Result};

use crate::framework::{Input, RunContext};

/// The longest did accepted (the pipeline's are 64 hex characters).
const MAX_DID: usize = 256;
/// Seed dids per Parquet file of the staged seeds.
const SEEDS_PER_FILE: usize = 65_536;

/// `seed_rows` (did): the seed files, checked and staged for the executors;
/// without any, `lookalike_seeduser` as lookalike-seeds wrote it.
pub async fn seed_rows(rc: &mut RunContext, files: &[String]) -> Result<Input> {
    if files.is_empty() {
        return Ok(Input::new("seed_rows").at("lookalike_seeduser").made_by("lookalike-seeds").columns(&[("did", ColumnKind::Text)]));
    }
    let mut dids = Vec::new();
    for file in files {
        let (url, bytes) = rc.read_bytes("--seeds-file", file).await?;
        dids.extend(parse(&url, &bytes)?);
    }
    let schema = Arc::new(Schema::new(vec![Field::new("did", DataType::Utf8, false)]));
    let batches = dids
        .chunks(SEEDS_PER_FILE)
        .map(|chunk| RecordBatch::try_new(schema.clone(), vec![Arc::new(StringArray::from_iter_values(chunk))]))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    rc.outputs.scratch_batches(&rc.ctx, "seed_rows", &batches).await?;
    rc.progress.note(&format!("{} seed rows from {} file(s)", dids.len(), files.len()));
    Ok(Input::new("seed_rows"))
}

/// The dids of seed file `name`, in file order (repeats kept). Fails naming
/// the file and line on text that is not UTF-8, a CSV header without a
/// `did` column, a row without its did, or no did at all.
pub fn parse(name: &str, bytes: &[u8]) -> Result<Vec<String>> {
    let bad = |line: usize, why: String| Error::input(format!("seed file {name}, line {line}: {why}"));
    let text = std::str::from_utf8(bytes).map_err(|e| Error::input(format!("seed file {name}: not UTF-8 text ({e})")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some((first_at, first)) = text.lines().enumerate().find(|(_, l)| !l.trim().is_empty()) else {
        return Err(Error::input(format!("seed file {name}: no did (the file is empty)")));
    };
    let header: Vec<String> = first.split(',').map(|f| f.trim().trim_matches('"').to_ascii_lowercase()).collect();
    let dids = match (header.iter().position(|f| f == "did"), header.len()) {
        (Some(column), _) => csv_column(text, column, &bad)?,
        (None, 1) => {
            let mut dids = Vec::new();
            for (i, line) in text.lines().enumerate().skip(first_at) {
                let did = line.trim();
                if did.contains(',') {
                    return Err(bad(i + 1, "a comma in a file of one did a line (a CSV file needs a header naming its did column)".into()));
                }
                if !did.is_empty() {
                    dids.push(checked(did).map_err(|why| bad(i + 1, why))?);
                }
            }
            dids
        }
        (None, n) => return Err(bad(first_at + 1, format!("{n} comma-separated fields but none named `did`: give one did a line, or CSV with a header naming the did column"))),
    };
    if dids.is_empty() {
        return Err(Error::input(format!("seed file {name}: no did (only a header)")));
    }
    Ok(dids)
}

/// Column `column` of CSV `text`, whose first record is its header.
fn csv_column(text: &str, column: usize, bad: &impl Fn(usize, String) -> Error) -> Result<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let mut dids = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line() as usize);
            bad(line, format!("not valid CSV: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        match record.get(column).map(str::trim) {
            Some("") | None => return Err(bad(line, "no did in the did column".into())),
            Some(did) => dids.push(checked(did).map_err(|why| bad(line, why))?),
        }
    }
    Ok(dids)
}

fn checked(did: &str) -> std::result::Result<String, String> {
    if did.len() > MAX_DID {
        return Err(format!("a did of {} characters (at most {MAX_DID})", did.len()));
    }
    if let Some(c) = did.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("the did `{}` holds {c:?}", did.escape_debug()));
    }
    Ok(did.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_lines_and_csv_with_a_did_column() {
        assert_eq!(parse("a.txt", b"\xef\xbb\xbfd1\r\n\n  d2 \nd1\n").unwrap(), ["d1", "d2", "d1"]);
        assert_eq!(parse("b.txt", b"did\nd1\n").unwrap(), ["d1"]);
        assert_eq!(parse("c.csv", b"name,\"DID\",age\nx,d1,3\n\"y, z\",d2,4\n").unwrap(), ["d1", "d2"]);
    }

    #[test]
    fn names_the_file_and_line_of_bad_input() {
        let error = |bytes: &[u8]| parse("s.csv", bytes).unwrap_err().to_string();
        assert_eq!(error(b""), "seed file s.csv: no did (the file is empty)");
        assert_eq!(error(b"\n \n"), "seed file s.csv: no did (the file is empty)");
        assert_eq!(error(b"did\n"), "seed file s.csv: no did (only a header)");
        assert_eq!(error(b"\xff\xfe"), "seed file s.csv: not UTF-8 text (invalid utf-8 sequence of 1 bytes from index 0)");
        assert!(error(b"user,age\nd1,3\n").starts_with("seed file s.csv, line 1: 2 comma-separated fields but none named `did`"));
        assert!(error(b"d1\nd2,d3\n").starts_with("seed file s.csv, line 2: a comma in a file of one did a line"));
        assert_eq!(error(b"age,did\n3,d1\n4,\n"), "seed file s.csv, line 3: no did in the did column");
        assert!(error(b"age,did\n3,d1\n4\n").starts_with("seed file s.csv, line 3: not valid CSV"));
        assert_eq!(error(b"d1\nd 2\n"), "seed file s.csv, line 2: the did `d 2` holds ' '");
    }
}
