//! `taar-amodump`: crawls the AMO v3 API into `extended_addons_database.json`,
//! a port of mozetl's `taar_amodump` (docs/jobs/taar-amo.md). Network-bound
//! and small (thousands of records), so it runs on the driver.

use async_trait::async_trait;
use fletch_engine::params::ParamType;
use fletch_engine::{Error, Result};
use futures::{StreamExt, TryStreamExt};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};

use crate::framework::{Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext};
use super::amo_http::{self, AmoHttp};

/// Escape everything in a guid but unreserved characters (the original did not escape at all).
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

pub struct AmoDump;

const SPEC: JobSpec = JobSpec {
    name: "taar-amodump",
    summary: "TAAR: dump AMO's extensions, with each one's first creation date",
    params: &[
        ParamSpec::new("amo-url", ParamType::String, "AMO server").default("https://addons.mozilla.org"),
        amo_http::PARAMS[0],
        amo_http::PARAMS[1],
        amo_http::PARAMS[2],
        ParamSpec::new("prefix", ParamType::String, "output prefix under the output root").default(super::ADDON_RECOMMENDER),
    ],
    outputs: &[OutputSpec {
        path: "<prefix>extended_addons_database.json",
        format: OutputFormat::Json,
        about: "{guid: AMO search record + first_create_date}",
    }],
};

#[async_trait]
impl Job for AmoDump {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let prefix = args.prefix()?;
        let base = args.string("amo-url").unwrap_or_default().trim_end_matches('/').to_string();
        if !base.starts_with("http://") && !base.starts_with("https://") {
            return Err(Error::usage(format!("--amo-url: expected an http(s) URL, got `{base}`")));
        }
        let (http, workers) = AmoHttp::from_args(args)?;

        let search = format!("{base}/api/v3/addons/search/?app=firefox&sort=created&type=extension");
        let pages = http.get(&search).await?["page_count"]
            .as_u64()
            .ok_or_else(|| Error::input(format!("{search}: no page_count in the response")))?;
        if rc.dry_run() {
            // The API answered; a dry run fetches no more.
            rc.progress.note(&format!("{search}: {pages} search pages to fetch"));
            return super::stage_dated_json(rc, &prefix, "extended_addons_database", &Value::Null).await;
        }
        let step = rc.progress.counted_step("fetch search pages", pages, "pages");
        let mut fetched: Vec<(u64, Value)> = futures::stream::iter(1..=pages)
            .map(|p| {
                let (http, url) = (&http, format!("{search}&page={p}"));
                async move { Ok::<_, Error>((p, http.get(&url).await?)) }
            })
            .buffer_unordered(workers)
            .inspect_ok(|_| step.advance(1))
            .try_collect()
            .await?;
        fetched.sort_by_key(|(p, _)| *p);
        let mut records = Map::new();
        for (_, page) in fetched {
            for record in page["results"].as_array().into_iter().flatten() {
                if let Some(guid) = record["guid"].as_str() {
                    records.insert(guid.to_string(), record.clone());
                }
            }
        }
        step.done_counting(records.len() as u64, "add-ons");

        let step = rc.progress.counted_step("fetch add-ons' versions", records.len() as u64, "add-ons");
        let created: Vec<(String, Option<String>)> = futures::stream::iter(records.keys().cloned())
            .map(|guid| {
                let http = &http;
                let url = format!("{base}/api/v3/addons/addon/{}/versions/", utf8_percent_encode(&guid, PATH_SEGMENT));
                async move { Ok::<_, Error>((guid, first_created(http, &url).await?)) }
            })
            .buffer_unordered(workers)
            .inspect_ok(|_| step.advance(1))
            .try_collect()
            .await?;
        let mut undated = 0;
        for (guid, date) in created {
            match date {
                Some(d) => {
                    records[&guid]["first_create_date"] = Value::String(d);
                }
                None => {
                    records.remove(&guid);
                    undated += 1;
                }
            }
        }
        if undated > 0 {
            log::warn!("{undated} add-ons without a version file date were left out, as the original did");
        }
        step.done_counting(records.len() as u64, "add-ons");
        super::stage_dated_json(rc, &prefix, "extended_addons_database", &Value::Object(records)).await
    }
}

/// The oldest version's first file's `created`: versions are listed newest
/// first, so it is the last entry of the last page.
async fn first_created(http: &AmoHttp, url: &str) -> Result<Option<String>> {
    let first = http.get(url).await?;
    let pages = first["page_count"].as_u64().unwrap_or(1);
    let last = if pages > 1 { http.get(&format!("{url}?page={pages}")).await? } else { first };
    Ok(last["results"]
        .as_array()
        .and_then(|r| r.last())
        .and_then(|v| v["files"][0]["created"].as_str())
        .map(str::to_string))
}
