//! Community Notes "pflip plus" (spec pflip_logs.md part A,
//! docs/jobs/pflip.md): `pflip-features` (the training table), `pflip-train`
//! (the model, [`model`]), `pflip-predict` (FLIP or CRH per note), and what
//! the pflip jobs share: the download's TSV tables, the input checks, and
//! the per-set features widened to the original's prefixed columns.

pub mod features;
mod model;
pub mod predict;
pub mod train;

use std::sync::Arc;

use datafusion::arrow::array::{Array, Int64Array, StringArray};
use datafusion::common::TableReference;
use fletch_engine::batches::column;
use fletch_engine::tsv::{TsvTable, community_notes};
use fletch_engine::{Error, Result};

use crate::framework::{Ran, RunContext};

/// Where the download's folders are, under the data root.
pub const INPUT: &str = "the folder of the download's tables under the data root (notes/, ratings/, noteStatusHistory/, prescoringRaterModelOutput/)";

/// The rating sets, as the prefixes of their features.
const SETS: [&str; 3] = ["LOCAL", "PEER_MISLEADING", "PEER_NON_MISLEADING"];

/// The SQL names columns as the download does (`noteId`): identifiers keep their case.
pub fn keep_identifier_case(rc: &RunContext) {
    rc.ctx.state_ref().write().config_mut().options_mut().sql_parser.enable_ident_normalization = false;
}

/// Registers the tables pflip reads, each from the `*.tsv` files of its
/// folder under `<data-root>/<input>/`.
pub async fn register_tables(rc: &RunContext, input: &str) -> Result<()> {
    fletch_engine::outputs::check_path("--input", input)?;
    keep_identifier_case(rc);
    for (folder, layout) in community_notes::tables() {
        if folder == "userEnrollment" {
            continue;
        }
        let location = rc.opts.data_root.join(&format!("{}/{folder}", input.trim_end_matches('/')));
        let listed = location.list_files().await.map_err(|e| Error::input(format!("--input: {e}")))?;
        let mut files: Vec<String> = listed.into_iter().map(|(rel, _)| rel).filter(|rel| rel.ends_with(".tsv") && !rel.contains("/.")).collect();
        if files.is_empty() {
            return Err(Error::input(format!("--input: no {folder} files (*.tsv) at {location}")));
        }
        files.sort();
        let urls = files.iter().map(|f| location.file_url(f).to_string()).collect();
        // Bare: a parsed name would be folded to lower case.
        let name = TableReference::bare(layout.table.clone());
        rc.ctx.deregister_table(name.clone())?;
        rc.ctx.register_table(name, Arc::new(TsvTable { layout, urls, positions: folder == "notes" }))?;
    }
    Ok(())
}

/// Fails naming every problem a check step found: rows of (problem, example, count).
pub fn fail_on_problems(checked: &Ran) -> Result<()> {
    let mut problems = Vec::new();
    for b in &checked.batches {
        let (problem, example, count) = (column::<StringArray>(b, "problem")?, column::<Int64Array>(b, "example")?, column::<Int64Array>(b, "count")?);
        for i in (0..b.num_rows()).filter(|&i| count.value(i) > 0) {
            let example = if example.is_valid(i) { format!(" (noteId {}, for one)", example.value(i)) } else { String::new() };
            problems.push(format!("{}: {}{example}", problem.value(i), count.value(i)));
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(Error::input(format!("the Community Notes tables do not hold what pflip assumes; nothing written:\n  {}", problems.join("\n  ")))),
    }
}

/// Registers `set_features_wide`: `set_features`' rows of one scored row
/// side by side, each set's features prefixed with its name (`LOCAL_helpfulOther`)
/// and its rating count named for the set, as the original's columns.
pub async fn widen_set_features(rc: &RunContext) -> Result<()> {
    let long = rc.ctx.table("set_features").await?;
    let keys = ["noteId", "SCORING_CUTOFF_MODE", "rating_set", "ratings"];
    let features: Vec<String> = long.schema().fields().iter().map(|f| f.name().clone()).filter(|n| !keys.contains(&n.as_str())).collect();
    let alias = |i: usize| format!("s{i}");
    let mut select = vec!["s0.noteId".to_string(), "s0.SCORING_CUTOFF_MODE".to_string()];
    for (i, set) in SETS.iter().enumerate() {
        select.extend(features.iter().map(|f| format!("{}.{f} AS {set}_{f}", alias(i))));
    }
    select.extend(SETS.iter().enumerate().map(|(i, set)| format!("{}.ratings AS {set}", alias(i))));
    let joins: String = (1..SETS.len())
        .map(|i| format!(" JOIN set_features {a} ON {a}.noteId = s0.noteId AND {a}.SCORING_CUTOFF_MODE = s0.SCORING_CUTOFF_MODE AND {a}.rating_set = '{}'", SETS[i], a = alias(i)))
        .collect();
    let sql = format!("SELECT {} FROM set_features s0{joins} WHERE s0.rating_set = '{}'", select.join(", "), SETS[0]);
    let wide = rc.ctx.sql(&sql).await.map_err(|e| crate::framework::in_sql("set_features_wide (pflip/mod.rs)", e.into()))?;
    rc.ctx.deregister_table("set_features_wide")?;
    rc.ctx.register_table("set_features_wide", wide.into_view())?;
    Ok(())
}
