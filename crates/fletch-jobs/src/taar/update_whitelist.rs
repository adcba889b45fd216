//! `taar-update-whitelist`: the curated whitelist `only_guids_top_200.json`
//! from AMO's editorial endpoint, a port of mozetl's `taar_update_whitelist`
//! (docs/jobs/taar-amo.md). Small and network-bound: it runs on the driver.

use std::collections::BTreeSet;

use async_trait::async_trait;
use fletch_engine::params::ParamType;
use fletch_engine::{Error, Result};
use futures::{StreamExt, TryStreamExt};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use super::amo_http::{self, AmoHttp};
use crate::framework::{Job, JobArgs, JobSpec, OutputFormat, OutputSpec, ParamSpec, RunContext};

/// Fewer guids than this is a short list (the original's threshold).
const SHORT_LIST: usize = 100;

pub struct UpdateWhitelist;

const SPEC: JobSpec = JobSpec {
    name: "taar-update-whitelist",
    summary: "TAAR: the curated whitelist from AMO's editorial endpoint (what taar-locale and taar-similarity read)",
    params: &[
        ParamSpec::new("url", ParamType::String, "AMO's editorial endpoint").default("https://addons.mozilla.org/api/v4/discovery/editorial/"),
        ParamSpec::new("all", ParamType::Bool, "every editorial add-on, not only the recommended ones (no `recommended=true`)").default("false"),
        ParamSpec::new("validate-guids", ParamType::Bool, "look every guid up in the AMO search API; one that does not answer 200 fails the job").default("false"),
        ParamSpec::new("amo-url", ParamType::String, "AMO server of the search API (--validate-guids)").default("https://addons.mozilla.org"),
        ParamSpec::new("allow-shortlist", ParamType::Bool, "write a list of fewer than 100 guids (else fail, keeping the previous list)").default("false"),
        amo_http::PARAMS[0],
        amo_http::PARAMS[1],
        amo_http::PARAMS[2],
        ParamSpec::new("prefix", ParamType::String, "output prefix under the output root").default(super::ADDON_RECOMMENDER),
    ],
    outputs: &[OutputSpec { path: "<prefix>only_guids_top_200.json", format: OutputFormat::Json, about: "sorted list of guids, indented as json.dumps(indent=2)" }],
};

#[async_trait]
impl Job for UpdateWhitelist {
    fn spec(&self) -> &'static JobSpec {
        &SPEC
    }

    async fn run(&self, rc: &mut RunContext, args: &JobArgs) -> Result<()> {
        let prefix = args.prefix()?;
        let url = args.string("url").unwrap_or_default();
        let amo = args.string("amo-url").unwrap_or_default().trim_end_matches('/').to_string();
        for (flag, value) in [("--url", &url), ("--amo-url", &amo)] {
            if !value.starts_with("http://") && !value.starts_with("https://") {
                return Err(Error::usage(format!("{flag}: expected an http(s) URL, got `{value}`")));
            }
        }
        let (http, workers) = AmoHttp::from_args(args)?;
        let editorial = match args.bool("all") == Some(true) {
            true => url.clone(),
            false => format!("{url}{}recommended=true", if url.contains('?') { '&' } else { '?' }),
        };

        let step = rc.progress.step("read the editorial endpoint");
        let answer = http.get(&editorial).await?;
        let (guids, invalid) = editorial_guids(&answer).map_err(|e| Error::input(format!("{editorial}: {e}")))?;
        step.done_counting(guids.len() as u64, "guids");
        if invalid > 0 {
            log::warn!("taar-update-whitelist: {invalid} editorial rows without a usable guid (null, \"null\" or \"\") left out");
        }
        if args.bool("validate-guids") == Some(true) && !rc.dry_run() {
            let step = rc.progress.counted_step("validate guids", guids.len() as u64, "guids");
            let (http, amo) = (&http, amo.as_str());
            futures::stream::iter(guids.iter().cloned())
                .map(|guid| async move {
                    let search = format!("{amo}/api/v3/addons/search/?app=firefox&sort=created&type=extension&guid={}", utf8_percent_encode(&guid, NON_ALPHANUMERIC));
                    http.get(&search).await.map_err(|e| Error::input(format!("cannot validate guid {guid}: {e}")))
                })
                .buffer_unordered(workers)
                .inspect_ok(|_| step.advance(1))
                .try_collect::<Vec<_>>()
                .await?;
            step.done(None);
        }
        if guids.len() < SHORT_LIST && args.bool("allow-shortlist") != Some(true) && !rc.dry_run() {
            return Err(Error::input(format!(
                "only {} editorial reviewed add-ons from {editorial} (fewer than {SHORT_LIST}); the previous whitelist stays (--allow-shortlist writes it anyway)",
                guids.len()
            )));
        }
        let list: Vec<&String> = guids.iter().collect();
        // As the original wrote it: json.dumps(list, indent=2).
        let body = serde_json::to_vec_pretty(&list).expect("strings serialise");
        super::stage_dated_bytes(rc, &prefix, "only_guids_top_200", body).await
    }
}

/// The sorted, distinct guids of an editorial answer's `results`, and how
/// many rows had none that is usable (`null`, `"null"`, `""`, no `addon`).
fn editorial_guids(answer: &Value) -> std::result::Result<(BTreeSet<String>, usize), String> {
    let results = answer["results"].as_array().ok_or("no `results` list in the answer")?;
    let mut guids = BTreeSet::new();
    let mut invalid = 0;
    for row in results {
        match row["addon"]["guid"].as_str() {
            Some(guid) if !guid.is_empty() && guid != "null" => {
                guids.insert(guid.to_string());
            }
            _ => invalid += 1,
        }
    }
    Ok((guids, invalid))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rows_without_a_usable_guid_are_counted_and_left_out() {
        let answer = json!({"results": [
            {"addon": {"guid": "b@x"}}, {"addon": {"guid": "a@x"}}, {"addon": {"guid": "b@x"}},
            {"addon": {"guid": null}}, {"addon": {"guid": "null"}}, {"addon": {"guid": ""}}, {"addon": {}}, {}
        ]});
        let (guids, invalid) = editorial_guids(&answer).unwrap();
        assert_eq!(guids.into_iter().collect::<Vec<_>>(), ["a@x", "b@x"]);
        assert_eq!(invalid, 5);
        assert_eq!(editorial_guids(&json!({"detail": "nope"})).unwrap_err(), "no `results` list in the answer");
    }
}
