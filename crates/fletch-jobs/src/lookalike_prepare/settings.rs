//! The job's settings: flags over the original `config.yml` over defaults.

use chrono::NaiveDate;
use fletch_engine::params::{ParamType, Params};
use fletch_engine::{Error, Result};

use super::config::Config;
use crate::framework::{JobArgs, ParamSpec, RunContext};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Keywords,
    Clean,
    Logs,
    Trainready,
    Tfrecords,
}

/// Every stage, in the order they run.
pub const STAGES: [Stage; 5] = [Stage::Keywords, Stage::Clean, Stage::Logs, Stage::Trainready, Stage::Tfrecords];

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Keywords => "keywords",
            Stage::Clean => "clean",
            Stage::Logs => "logs",
            Stage::Trainready => "trainready",
            Stage::Tfrecords => "tfrecords",
        }
    }
}

/// The kept slot ids' default file under the data root (`fletch gen lookalike` writes it).
pub const SLOT_IDS_FILE: &str = "slot_ids.json";

pub const PARAMS: &[ParamSpec] = &[
    ParamSpec::new("config", ParamType::String, "the original pipeline's config.yml (path or URL); flags override its values"),
    ParamSpec::new("stages", ParamType::String, "comma-separated stages to run; each reads the previous stage's output").default("keywords,clean,logs,trainready,tfrecords"),
    ParamSpec::new("start-date", ParamType::Date, "first day of logs, YYYY-MM-DD (config starting_date; default: all)"),
    ParamSpec::new("end-date", ParamType::Date, "day after the last day of logs, YYYY-MM-DD, exclusive (config ending_date; default: all)"),
    ParamSpec::new("did-bucket-num", ParamType::Int, "number of user buckets (config did_bucket_num; default 2)"),
    ParamSpec::new("interval-seconds", ParamType::Int, "length of a train-ready interval (config interval_time_in_seconds; default 86400)"),
    ParamSpec::new("keyword-threshold", ParamType::Float, "share of shows above which a keyword is effective (config keyword_threshold; default 0.01)"),
    ParamSpec::new("slot-ids", ParamType::String, "JSON list of kept slot ids (path or URL; default the config's new_slot_id_list, else <data-root>/slot_ids.json)"),
];

/// Folder names of inputs (under the data root) and outputs (under the output root).
#[derive(Clone, Debug)]
pub struct Tables {
    pub persona: String,
    pub showlog: String,
    pub clicklog: String,
    pub mapping: String,
    pub keywords: String,
    pub clean_persona: String,
    pub clean_showlog: String,
    pub clean_clicklog: String,
    pub logs: String,
    pub trainready: String,
    pub tfrecords: String,
}

impl Tables {
    /// Each name from its config key, or the default.
    fn from_config(c: &Config) -> Result<Self> {
        let name = |key: &str, default: &str| -> Result<String> {
            let name = c.string(key)?.unwrap_or_else(|| default.to_string());
            let safe = !name.is_empty() && !name.starts_with('/') && name.split('/').all(|p| !p.is_empty() && p != "." && p != "..");
            if !safe {
                return Err(Error::input(format!("{key}: `{name}` is not a table folder name")));
            }
            Ok(name)
        };
        Ok(Self {
            persona: name("persona_table_name", "ads_persona")?,
            showlog: name("showlog_table_name", "ads_showlog")?,
            clicklog: name("clicklog_table_name", "ads_clicklog")?,
            mapping: name("keywords_table", "ad_keywords")?,
            keywords: name("pipeline.main_keywords.keyword_output_table", "lookalike_keywords")?,
            clean_persona: name("pipeline.main_clean.persona_output_table", "lookalike_persona")?,
            clean_showlog: name("pipeline.main_clean.showlog_output_table", "lookalike_showlog")?,
            clean_clicklog: name("pipeline.main_clean.clicklog_output_table", "lookalike_clicklog")?,
            logs: name("pipeline.main_logs.logs_output_table_name", "lookalike_logs")?,
            trainready: name("pipeline.main_trainready.trainready_output_table", "lookalike_trainready")?,
            tfrecords: name("pipeline.tfrecords.tfrecords_hdfs_path", "lookalike_tfrecords")?,
        })
    }
}

pub struct Settings {
    stages: Vec<Stage>,
    pub tables: Tables,
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    pub did_bucket_num: i64,
    pub interval: i64,
    pub threshold: f64,
    /// Read only when the clean stage runs.
    pub slot_ids: Vec<String>,
}

/// Bounds that every well-formed time lies within, for runs without dates.
const NO_START: &str = "0000-01-01 00:00:00";
const NO_END: &str = "9999-12-31 23:59:60";

impl Settings {
    pub async fn parse(rc: &RunContext, args: &JobArgs) -> Result<Self> {
        let stages = parse_stages(&args.string("stages").unwrap_or_default())?;
        let config = match args.string("config") {
            Some(location) => {
                let (url, text) = rc.read_text("config", &location).await?;
                Config::parse(&url, &text)?
            }
            None => Config::none(),
        };
        let conditions = "pipeline.main_clean.conditions";
        let start = args.date("start-date").or(config.date(&format!("{conditions}.starting_date"))?);
        let end = args.date("end-date").or(config.date(&format!("{conditions}.ending_date"))?);
        if let (Some(s), Some(e)) = (start, end)
            && s >= e
        {
            return Err(Error::usage(format!("--start-date {s} is not before --end-date {e} (the end date is exclusive)")));
        }
        let did_bucket_num = args.int("did-bucket-num").or(config.int("pipeline.main_clean.did_bucket_num")?).unwrap_or(2);
        let interval = args.int("interval-seconds").or(config.int("pipeline.main_logs.interval_time_in_seconds")?).unwrap_or(86_400);
        let threshold = args.float("keyword-threshold").or(config.float("pipeline.main_keywords.keyword_threshold")?).unwrap_or(0.01);
        if !(1..=1_000_000).contains(&did_bucket_num) {
            return Err(Error::usage(format!("--did-bucket-num: expected 1 to 1000000, got {did_bucket_num}")));
        }
        if !(1..=366 * 86_400).contains(&interval) {
            return Err(Error::usage(format!("--interval-seconds: expected 1 to 31622400 (a year), got {interval}")));
        }
        if !(0.0..1.0).contains(&threshold) {
            return Err(Error::usage(format!("--keyword-threshold: expected a share in [0, 1), got {threshold}")));
        }
        if let Some(minutes) = config.int("pipeline.main_clean.load_logs_in_minutes")? {
            log::info!("load_logs_in_minutes {minutes} has no effect: fletch reads all dates in one pass");
        }
        let tables = Tables::from_config(&config)?;
        let slot_ids = if stages.contains(&Stage::Clean) {
            slot_ids(rc, args, &config, &format!("{conditions}.new_slot_id_list")).await?
        } else {
            Vec::new()
        };
        Ok(Self { stages, tables, start, end, did_bucket_num, interval, threshold, slot_ids })
    }

    pub fn runs(&self, stage: Stage) -> bool {
        self.stages.contains(&stage)
    }

    pub fn stage_names(&self) -> String {
        self.stages.iter().map(|s| s.name()).collect::<Vec<_>>().join(",")
    }

    pub fn describe_dates(&self) -> String {
        match (self.start, self.end) {
            (None, None) => "all dates".to_string(),
            (s, e) => format!(
                "[{}, {})",
                s.map_or("the first day".to_string(), |d| d.to_string()),
                e.map_or("after the last day".to_string(), |d| d.to_string())
            ),
        }
    }

    /// Every SQL parameter the stages use.
    pub fn params(&self, rc: &RunContext) -> Params {
        let mut p = rc.base_params();
        let time = |d: Option<NaiveDate>, none: &str| d.map_or(none.to_string(), |d| format!("{d} 00:00:00"));
        let (start, end) = (time(self.start, NO_START), time(self.end, NO_END));
        // Partition pruning on `day`; the time bounds decide.
        p.set_string("start_day", &start[..10]);
        p.set_string("end_day", &end[..10]);
        p.set_string("start_time", start);
        p.set_string("end_time", end);
        p.set_float("threshold", self.threshold);
        p.set_int("did_bucket_num", self.did_bucket_num);
        p.set_int("interval", self.interval);
        // Empty unless the clean stage runs (log_profile.sql).
        p.set_strings("slot_ids", &self.slot_ids);
        p
    }
}

fn parse_stages(list: &str) -> Result<Vec<Stage>> {
    let mut stages = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let stage = STAGES.iter().copied().find(|s| s.name() == name).ok_or_else(|| {
            let valid: Vec<_> = STAGES.iter().map(|s| s.name()).collect();
            Error::usage(format!("--stages: unknown stage `{name}`; stages are {}", valid.join(",")))
        })?;
        if !stages.contains(&stage) {
            stages.push(stage);
        }
    }
    if stages.is_empty() {
        return Err(Error::usage("--stages: no stage given"));
    }
    stages.sort();
    Ok(stages)
}

/// The kept slot ids: `--slot-ids`, else the config's list, else `<data-root>/slot_ids.json`.
async fn slot_ids(rc: &RunContext, args: &JobArgs, config: &Config, key: &str) -> Result<Vec<String>> {
    let (source, ids) = match (args.string("slot-ids"), config.strings(key)?) {
        (None, Some(ids)) => (format!("config {key}"), ids),
        (given, _) => {
            let location = given.unwrap_or_else(|| rc.opts.data_root.file_url(SLOT_IDS_FILE).to_string());
            let (url, ids): (String, Vec<String>) =
                rc.read_json("slot-id list", &location).await.map_err(|e| Error::input(format!("{e} (expected a JSON list of strings)")))?;
            (format!("slot-id list {url}"), ids)
        }
    };
    if ids.is_empty() {
        return Err(Error::input(format!("{source} is empty: cleaning would drop every log row")));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_run_in_pipeline_order() {
        assert_eq!(parse_stages("logs, clean,logs").unwrap(), [Stage::Clean, Stage::Logs]);
        let e = parse_stages("clean,train").unwrap_err();
        assert_eq!(e.to_string(), "--stages: unknown stage `train`; stages are keywords,clean,logs,trainready,tfrecords");
        assert_eq!(e.exit_code(), 2);
        assert!(parse_stages(" , ").is_err());
    }
}
