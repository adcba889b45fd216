//! Incremental imports (Sqoop's `--incremental append|lastmodified`): the
//! rows past the last value imported, up to the check column's maximum when
//! the import starts (a row written meanwhile comes next time), and that
//! maximum kept as `<prefix>_imports/<target>.json`, committed with the table.

use datafusion::arrow::datatypes::SchemaRef;
use fletch_engine::db::{Pool, Select, Source};
use fletch_engine::{Error, Result};
use object_store::ObjectStoreExt;
use serde::{Deserialize, Serialize};

use crate::framework::{JobArgs, RunContext};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Append,
    LastModified,
}

/// What `<prefix>_imports/<target>.json` holds.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    mode: Mode,
    check_column: String,
    /// A literal of the source's dialect (`42`, `'2026-12-01 10:00:00.000000'`).
    last_value: String,
    imported_at: String,
}

pub struct Incremental {
    mode: Mode,
    check_column: String,
    last_value: Option<String>,
    merge_key: Option<String>,
    state_path: String,
    table_folder: String,
    /// The check column's maximum at the start: the next import's last value.
    upper: Option<String>,
}

impl Incremental {
    /// The incremental flags, checked together; `None` for a full import.
    pub fn from_args(args: &JobArgs, prefix: &str, target: &str) -> Result<Option<Self>> {
        let mode = match args.string("incremental").as_deref() {
            None => {
                if let Some(flag) = ["check-column", "last-value", "merge-key"].into_iter().find(|f| args.string(f).is_some()) {
                    return Err(Error::usage(format!("--{flag} goes with --incremental")));
                }
                return Ok(None);
            }
            Some("append") => Mode::Append,
            Some("lastmodified") => Mode::LastModified,
            Some(other) => return Err(Error::usage(format!("--incremental: expected append or lastmodified, got `{other}`"))),
        };
        let check_column = args.string("check-column").ok_or_else(|| Error::usage("--incremental needs --check-column"))?;
        let merge_key = args.string("merge-key");
        if mode == Mode::LastModified && merge_key.is_none() {
            return Err(Error::usage("--incremental lastmodified needs --merge-key: a changed row replaces its old version, found by that key"));
        }
        Ok(Some(Incremental {
            mode,
            check_column,
            last_value: args.string("last-value"),
            merge_key,
            state_path: format!("{prefix}{STATE_FOLDER}/{target}.json"),
            table_folder: format!("{prefix}{target}"),
            upper: None,
        }))
    }

    pub fn merge_key(&self) -> Option<&str> {
        self.merge_key.as_deref()
    }

    /// Adds this import's bounds on the check column to `select`; returns
    /// the folder of the table the last import wrote, if there is one.
    pub async fn bound(&mut self, rc: &RunContext, pool: &Pool, select: &mut Select, schema: &SchemaRef, source: &Source) -> Result<Option<String>> {
        let c = self.check_column.clone();
        if let Some(key) = &self.merge_key
            && schema.field_with_name(key).is_err()
        {
            return Err(Error::usage(format!("--merge-key: no column `{key}` among the imported ones")));
        }
        let state = self.read_state(rc).await?;
        if let Some(state) = &state
            && state.check_column != c
        {
            return Err(Error::usage(format!("--check-column {c}: the last import of this table ({}) compared {}; give that column, or --last-value", self.state_path, state.check_column)));
        }
        let last = self.last_value.clone().or(state.map(|s| s.last_value));
        let sql = select.bounds_sql(&c);
        let failed = |e: &dyn std::fmt::Display| Error::input(format!("{source}: --check-column {c}: `{sql}`: {}", source.redact(&e.to_string())));
        let batches = pool.collect(&sql).await.map_err(|e| failed(&e))?;
        let upper = match batches.iter().find(|b| b.num_rows() > 0) {
            Some(row) => select.literal(&c, row.column(1))?,
            None => None,
        };
        let quoted = select.quote(&c);
        if let Some(last) = &last {
            select.conditions.push(format!("{quoted} > {last}"));
        }
        match &upper {
            Some(upper) => select.conditions.push(format!("{quoted} <= {upper}")),
            None => select.conditions.push("1 = 0".to_string()),
        }
        rc.progress.note(&format!("incremental {:?}: {c} in ({}, {}]", self.mode, last.as_deref().unwrap_or("-∞"), upper.as_deref().unwrap_or("no rows")));
        self.upper = upper.or(last);
        let exists = !rc.outputs.root().join(&self.table_folder).list_files().await?.is_empty();
        Ok(exists.then(|| self.table_folder.clone()))
    }

    async fn read_state(&self, rc: &RunContext) -> Result<Option<State>> {
        let location = rc.outputs.root().join(&self.state_path);
        let store = location.store()?;
        match store.get(&location.prefix()).await {
            Ok(got) => {
                let bytes = got.bytes().await?;
                serde_json::from_slice(&bytes).map(Some).map_err(|e| Error::input(format!("{location}: {e}")))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(Error::io(format!("cannot read {location}: {e}"))),
        }
    }

    /// Stages the state for the next import, with the table.
    pub async fn stage(self, rc: &mut RunContext) -> Result<()> {
        let Some(last_value) = self.upper else { return Ok(()) };
        let state = State { mode: self.mode, check_column: self.check_column, last_value, imported_at: chrono::Utc::now().to_rfc3339() };
        let value = serde_json::to_value(&state).map_err(|e| Error::io(e.to_string()))?;
        rc.stage_json(&self.state_path, &value).await
    }
}

/// Beside the imported tables, under the prefix.
pub const STATE_FOLDER: &str = "_imports";
