//! `taar-lite-guidranking`: installs per add-on, a port of mozetl's
//! `taar_lite_guidranking` (docs/jobs/taar-lite.md). Counting is SQL (on the
//! executors on a cluster); the driver only shapes the JSON.

use async_trait::async_trait;
use datafusion::arrow::array::{Array, Int64Array, StringArray};
use fletch_engine::batches::column;
use fletch_engine::Result;
use serde_json::{Map, Value, json};

use crate::framework::{Input, Job, JobArgs, JobSpec, OutputFormat, OutputSpec, RunContext};

crate::sql_steps!("taar-lite" {
    window_rows in "taar": Check,
    guid_install_ranking: Collected,
});

pub struct GuidRanking;

const SPEC: JobSpec = JobSpec {
    name: "taar-lite-guidranking",
    summary: "TAAR-lite: installs per add-on over Firefox release client-days",
    params: &[super::LITE_DAYS, super::LITE_PREFIX, super::ALLOW_EMPTY],
    outputs: &[OutputSpec { path: "<prefix>guid_install_ranking.json", format: OutputFormat::Json, about: "{guid: install_count}" }],
};

#[async_trait]
impl Job for GuidRanking {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let prefix = args.prefix()?;
        let days = super::lite_days(args)?;
        let params = super::window_params(rc, days);
        rc.prepare(&STEPS.all(), &[Input::new("clients_daily").reading("active_addons", &["addon_id"])]).await?;
        super::require_rows(rc, &STEPS.window_rows, &params, days, args).await?;
        let counted = rc.run(&STEPS.guid_install_ranking, &params).await?;
        let mut ranking = Map::new();
        let mut unnamed = 0;
        for b in &counted.batches {
            let (guids, counts) = (column::<StringArray>(b, "addon_guid")?, column::<Int64Array>(b, "install_count")?);
            for i in 0..b.num_rows() {
                if guids.is_valid(i) {
                    ranking.insert(guids.value(i).to_string(), json!(counts.value(i)));
                } else {
                    unnamed += counts.value(i);
                }
            }
        }
        if unnamed > 0 {
            log::warn!("{unnamed} installs without an addon_id were not ranked");
        }
        rc.progress.note(&format!("{} add-ons ranked", ranking.len()));
        super::stage_dated_json(rc, &prefix, "guid_install_ranking", &Value::Object(ranking)).await
    }
}
