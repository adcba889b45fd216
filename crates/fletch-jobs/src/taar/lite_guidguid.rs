//! `taar-lite-guidguid`: co-installation counts of whitelisted add-ons, a
//! port of mozetl's `taar_lite_guidguid` (docs/jobs/taar-lite.md). Counting
//! is SQL (on the executors on a cluster); the driver only shapes the JSON.

use async_trait::async_trait;
use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
use fletch_engine::batches::column;
use fletch_engine::params::ParamType;
use fletch_engine::Result;
use serde_json::{Map, Value, json};

use crate::framework::{Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext};

crate::sql_steps!("taar-lite" {
    window_rows in "taar": Check,
    client_addons: View,
    valid_addons in "taar": View,
    guid_coinstallation: Collected,
});

pub struct GuidGuid;

const SPEC: JobSpec = JobSpec {
    name: "taar-lite-guidguid",
    summary: "TAAR-lite: co-installation counts of whitelisted add-ons",
    params: &[
        super::LITE_DAYS,
        super::LITE_PREFIX,
        super::ALLOW_EMPTY,
        ParamSpec::new("whitelist", ParamType::String, "AMO whitelist dump (default <data-root>/telemetry-ml/addon_recommender/whitelist_addons_database.json)"),
        ParamSpec::new("legacy-join", ParamType::Bool, "weight every client-day by the client's days, as the original's join did").default("false"),
    ],
    outputs: &[OutputSpec { path: "<prefix>guid_coinstallation.json", format: OutputFormat::Json, about: "{key_guid: {other_guid: count}}" }],
};

#[async_trait]
impl Job for GuidGuid {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let prefix = args.prefix()?;
        let days = super::lite_days(args)?;
        let mut params = super::window_params(rc, days);
        let whitelist = super::amo_whitelist(rc, &rc.input_file(args.string("whitelist"), super::AMO_WHITELIST)).await?;
        params.set_strings("whitelist", &whitelist);
        params.set_bool("legacy", args.bool("legacy-join") == Some(true));
        rc.prepare(&STEPS.all(), &super::clients_daily_inputs()).await?;
        super::require_rows(rc, &STEPS.window_rows, &params, days, args).await?;
        rc.run(&STEPS.client_addons, &params).await?;
        rc.run(&STEPS.valid_addons, &params).await?;
        let counted = rc.run(&STEPS.guid_coinstallation, &params).await?;
        let pairs = coinstallations(&counted.batches)?;
        rc.progress.note(&format!("{} add-ons co-installed", pairs.len()));
        super::stage_dated_json(rc, &prefix, "guid_coinstallation", &Value::Object(pairs)).await
    }
}

fn coinstallations(batches: &[RecordBatch]) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for b in batches {
        let (keys, others, n) = (column::<StringArray>(b, "key_addon")?, column::<StringArray>(b, "coinstalled_addon")?, column::<Int64Array>(b, "n")?);
        for i in 0..b.num_rows() {
            let entry = out.entry(keys.value(i).to_string()).or_insert_with(|| Value::Object(Map::new()));
            entry.as_object_mut().expect("object").insert(others.value(i).to_string(), json!(n.value(i)));
        }
    }
    Ok(out)
}
