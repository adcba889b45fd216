//! `lookalike`: Blue Marlin's did-era raw tables. `ads_persona`,
//! `ads_showlog`, `ads_clicklog` (all strings, as the Hive tables were),
//! `ad_keywords` (the spread_app_id → keyword mapping) and `slot_ids.json`
//! (the kept slot-id list). Scale 1.0 is the seed document's sizes.
//!
//! Planted for the cleaning steps: ~1% of dids have two personas, ~2% of
//! persona rows are exact duplicates, ~70% of log rows are on slot ids
//! outside the list, ~8% come from dids unknown to persona, ~5% from apps
//! without a keyword, and a few timestamps are malformed. Cleaning keeps
//! roughly a quarter of the log rows, as in the seed.

use std::sync::Arc;

use chrono::{Days, NaiveDate};
use datafusion::arrow::array::{ArrayRef, Int32Array, RecordBatch, StringArray, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::rng::{Choice, Weighted, stream};
use crate::sink::{in_waves, parquet_bytes};
use crate::{GenOptions, Result, Sinks};

pub const PERSONA: &str = "ads_persona";
pub const SHOWLOG: &str = "ads_showlog";
pub const CLICKLOG: &str = "ads_clicklog";
pub const KEYWORDS: &str = "ad_keywords";
pub const SLOT_IDS_FILE: &str = "slot_ids.json";

const PERSONA_ROWS: f64 = 380_000.0;
const SHOW_ROWS: f64 = 44_946_000.0;
const CLICK_ROWS: f64 = 1_036_183.0;
const CONFLICT_SHARE: f64 = 0.01;
const DUPLICATE_SHARE: f64 = 0.02;
const IN_SLOT_LIST: f64 = 0.30;
const UNKNOWN_DID: f64 = 0.08;
const UNMAPPED_APP: f64 = 0.05;
const MALFORMED_TIME: f64 = 0.0001;
/// Rows per log file.
const CHUNK: usize = 1 << 20;

const STREAM_PERSONA: u64 = 0x9E25;
const STREAM_KEYWORDS: u64 = 0x4E7;
const STREAM_POOLS: u64 = 0x9001;
const STREAM_SHOW: u64 = 0x5409;
const STREAM_CLICK: u64 = 0xC11C;

/// The kept slot ids, in the order of the original config (spec 4.3).
pub const SLOT_IDS: &[&str] = &[
    "06", "11", "05", "04", "03", "02", "01", "l03493p0r3", "x0ej5xhk60kjwq", "g7m2zuits8", "w3wx3nv9ow5i97",
    "a1nvkhk62q", "g9iv6p4sjy", "d47737w664", "c4n08ku47t", "b6le0s4qo8", "d9jucwkpr3", "p7gsrebd4m", "a8syykhszz",
    "l2d4ec6csv", "j1430itab9wj3b", "h034y5sp0i", "s4z85pd1h8", "z041bf6g4s", "71bcd2720e5011e79bc8fa163e05184e",
    "a47eavw7ex", "68bcd2720e5011e79bc8fa163e05184e", "66bcd2720e5011e79bc8fa163e05184e",
    "72bcd2720e5011e79bc8fa163e05184e", "f1iprgyl13", "q4jtehrqn2", "m1040xexan", "d971z9825e", "a83jryvehg",
    "7b0d7b55ab0c11e68b7900163e3e481d", "a290af82884e11e5bdec00163e291137", "w9fmyd5r0i", "x2fpfbm8rt",
    "e351de37263311e6af7500163e291137", "k4werqx13k", "5cd1c663263511e6af7500163e291137",
    "17dd6d8098bf11e5bdec00163e291137", "d4d7362e879511e5bdec00163e291137", "15e9ddce941b11e5bdec00163e291137",
];

/// Apps per keyword in the original mapping (282 apps, 29 keywords; spec 4.1).
pub const KEYWORD_APPS: &[(&str, usize)] = &[
    ("video", 31), ("info", 28), ("game-fishing", 24), ("social", 22), ("game-rpg", 21), ("reading", 19),
    ("education", 17), ("game-slg", 17), ("shopping", 17), ("travel", 14), ("game-cnc", 12), ("living-mon", 10),
    ("living-house", 8), ("other", 8), ("entertainment", 6), ("game-avg", 6), ("health", 4), ("game-act", 2),
    ("game-moba", 2), ("living-food", 2), ("living-map", 2), ("living-photo", 2), ("sports", 2), ("game-ent", 1),
    ("game-mon", 1), ("game-sim", 1), ("living-car", 1), ("living-insurance", 1), ("living-makeup", 1),
];
/// Mappings the spec quotes, kept verbatim.
const KNOWN_APPS: &[(&str, &str)] = &[
    ("C10374976", "shopping"), ("C10608", "info"), ("C100203741", "education"),
    ("PDB", "other"), ("RTB", "other"), ("n/a", "other"),
];
const DEVICES: &[&str] = &[
    "MAR-AL00", "LIO-AN00", "ELE-AL00", "VOG-AL00", "TAS-AL00", "ANA-AN00", "NOH-AN00", "OXF-AN00", "JEF-AN00",
    "SEA-AL10", "HMA-AL00", "LYA-AL00", "EML-AL00", "CLT-AL00", "PCT-AL10", "YAL-AL00", "STK-AL00", "JNY-AL10",
    "WLZ-AN00", "CDY-AN00", "TNNH-AN00", "BMH-AN10", "JSN-AL00", "COL-AL10", "BKL-AL20", "DUB-AL00", "POT-AL00",
    "FRD-AL10", "DVC-AN20", "ART-AL00",
];

fn strings(schema_names: &[&str]) -> SchemaRef {
    Arc::new(Schema::new(schema_names.iter().map(|n| Field::new(*n, DataType::Utf8, true)).collect::<Vec<_>>()))
}

pub fn persona_schema() -> SchemaRef {
    strings(&["did", "gender_new_dev", "forecast_age_dev"])
}

pub fn log_schema(time_column: &str) -> SchemaRef {
    strings(&["did", "adv_id", "adv_type", "slot_id", "spread_app_id", "device_name", "net_type", "adv_bill_mode_cd", time_column])
}

fn hex(rng: &mut ChaCha8Rng, chars: usize) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    (0..chars).map(|_| DIGITS[rng.random_range(0..16)] as char).collect()
}

fn alnum(rng: &mut ChaCha8Rng, chars: usize) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..chars).map(|_| DIGITS[rng.random_range(0..36)] as char).collect()
}

/// Values the log rows draw from, shared by shows and clicks.
struct Pools {
    dids: Vec<String>,
    did_activity: Weighted,
    unknown_dids: Vec<String>,
    mapped_apps: Vec<String>,
    app_popularity: Weighted,
    unmapped_apps: Vec<String>,
    other_slots: Vec<String>,
    adv_ids: Vec<String>,
    adv_popularity: Weighted,
}

struct Persona {
    batch: RecordBatch,
    dids: Vec<String>,
}

fn persona(opts: &GenOptions) -> Result<Persona> {
    let mut rng = stream(opts.seed, &[STREAM_PERSONA]);
    let unique = ((PERSONA_ROWS * opts.scale) / (1.0 + CONFLICT_SHARE + DUPLICATE_SHARE)).round().max(1.0) as usize;
    let (mut did, mut gender, mut age) = (StringBuilder::new(), StringBuilder::new(), StringBuilder::new());
    let mut dids = Vec::with_capacity(unique);
    for _ in 0..unique {
        let d = hex(&mut rng, 64);
        let g = rng.random_range(0..2u8);
        let a = rng.random_range(1..7u8);
        let mut push = |g: u8, a: u8| {
            did.append_value(&d);
            gender.append_value(g.to_string());
            age.append_value(a.to_string());
        };
        push(g, a);
        if rng.random_bool(CONFLICT_SHARE) {
            push(g, 1 + a % 6);
        }
        if rng.random_bool(DUPLICATE_SHARE) {
            push(g, a);
        }
        dids.push(d);
    }
    let columns: Vec<ArrayRef> = vec![Arc::new(did.finish()), Arc::new(gender.finish()), Arc::new(age.finish())];
    Ok(Persona { batch: RecordBatch::try_new(persona_schema(), columns)?, dids })
}

/// The users `persona` generates, each once.
pub(crate) fn persona_dids(opts: &GenOptions) -> Result<Vec<String>> {
    Ok(persona(opts)?.dids)
}

/// `(spread_app_id, keyword, keyword_index)`, index = 1 + alphabetical rank.
fn keywords(opts: &GenOptions) -> Vec<(String, &'static str, i32)> {
    let mut sorted: Vec<&str> = KEYWORD_APPS.iter().map(|(k, _)| *k).collect();
    sorted.sort_unstable();
    let index = |k: &str| sorted.iter().position(|s| *s == k).expect("listed") as i32 + 1;
    let mut rng = stream(opts.seed, &[STREAM_KEYWORDS]);
    let mut taken: std::collections::HashSet<String> = KNOWN_APPS.iter().map(|(a, _)| a.to_string()).collect();
    let mut rows = Vec::new();
    for &(keyword, apps) in KEYWORD_APPS {
        let known: Vec<_> = KNOWN_APPS.iter().filter(|(_, k)| *k == keyword).map(|(a, _)| a.to_string()).collect();
        let mut ids = known;
        while ids.len() < apps {
            let id = format!("C{}", rng.random_range(10_000..1_000_000_000u64));
            if taken.insert(id.clone()) {
                ids.push(id);
            }
        }
        rows.extend(ids.into_iter().map(|id| (id, keyword, index(keyword))));
    }
    rows
}

fn keywords_batch(rows: &[(String, &'static str, i32)]) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("spread_app_id", DataType::Utf8, true),
        Field::new("keyword", DataType::Utf8, true),
        Field::new("keyword_index", DataType::Int32, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0.as_str()))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
        Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.2))),
    ];
    Ok(RecordBatch::try_new(schema, columns)?)
}

fn pools(opts: &GenOptions, dids: Vec<String>, apps: Vec<String>) -> Pools {
    let mut rng = stream(opts.seed, &[STREAM_POOLS]);
    let n_unknown = (dids.len() / 10).max(1);
    Pools {
        did_activity: Weighted::zipf(dids.len(), 0.5),
        dids,
        unknown_dids: (0..n_unknown).map(|_| hex(&mut rng, 64)).collect(),
        app_popularity: Weighted::zipf(apps.len(), 0.9),
        mapped_apps: apps,
        unmapped_apps: (0..40).map(|_| format!("C{}", rng.random_range(10_000..1_000_000_000u64))).collect(),
        other_slots: (0..200).map(|_| alnum(&mut rng, 10)).collect(),
        adv_popularity: Weighted::zipf(5_000, 0.8),
        adv_ids: (0..5_000).map(|_| rng.random_range(10_000_000..99_999_999u32).to_string()).collect(),
    }
}

/// `YYYY-MM-DD HH:MM:SS.fff` without going through a formatter per row.
fn write_time(buf: &mut [u8; 23], date: &[u8; 10], seconds: u32, millis: u32) {
    buf[..10].copy_from_slice(date);
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    for (at, v) in [(11, h), (14, m), (17, s)] {
        buf[at] = b'0' + (v / 10) as u8;
        buf[at + 1] = b'0' + (v % 10) as u8;
    }
    buf[10] = b' ';
    buf[13] = b':';
    buf[16] = b':';
    buf[19] = b'.';
    buf[20] = b'0' + (millis / 100) as u8;
    buf[21] = b'0' + (millis / 10 % 10) as u8;
    buf[22] = b'0' + (millis % 10) as u8;
}

/// Values a malformed timestamp takes: no fraction (accepted by the unifier),
/// and really broken ones (rejected and counted).
const MALFORMED: &[&str] = &["", "2020-13-45 99:99:99.999", "not a time", "2020/01/03 10:00:00.000"];

/// One file of log rows for `day`.
fn log_chunk(pools: &Pools, schema: &SchemaRef, mut rng: ChaCha8Rng, date: NaiveDate, rows: usize) -> Result<Vec<u8>> {
    let (types, nets, bills) = (
        Choice::new(&[("native", 0.8), ("splash", 0.2)]),
        Choice::new(&[("4G", 0.55), ("WIFI", 0.45)]),
        Choice::new(&[("CPC", 0.6), ("CPM", 0.25), ("CPD", 0.1), ("CPT", 0.05)]),
    );
    let day: [u8; 10] = date.format("%Y-%m-%d").to_string().into_bytes().try_into().expect("10 chars");
    let mut cols: Vec<StringBuilder> = (0..9).map(|_| StringBuilder::with_capacity(rows, rows * 12)).collect();
    let mut time = [0u8; 23];
    for _ in 0..rows {
        let did = if rng.random_bool(UNKNOWN_DID) {
            &pools.unknown_dids[rng.random_range(0..pools.unknown_dids.len())]
        } else {
            &pools.dids[pools.did_activity.sample(&mut rng)]
        };
        let slot = if rng.random_bool(IN_SLOT_LIST) {
            SLOT_IDS[rng.random_range(0..SLOT_IDS.len())]
        } else {
            &pools.other_slots[rng.random_range(0..pools.other_slots.len())]
        };
        let app = if rng.random_bool(UNMAPPED_APP) {
            &pools.unmapped_apps[rng.random_range(0..pools.unmapped_apps.len())]
        } else {
            &pools.mapped_apps[pools.app_popularity.sample(&mut rng)]
        };
        cols[0].append_value(did);
        cols[1].append_value(&pools.adv_ids[pools.adv_popularity.sample(&mut rng)]);
        cols[2].append_value(types.sample(&mut rng));
        cols[3].append_value(slot);
        cols[4].append_value(app);
        cols[5].append_value(DEVICES[rng.random_range(0..DEVICES.len())]);
        cols[6].append_value(nets.sample(&mut rng));
        cols[7].append_value(bills.sample(&mut rng));
        write_time(&mut time, &day, rng.random_range(0..86_400), rng.random_range(0..1_000));
        if rng.random_bool(MALFORMED_TIME) {
            match rng.random_range(0..=MALFORMED.len()) {
                0 => cols[8].append_value(std::str::from_utf8(&time[..19]).expect("ascii")),
                k => cols[8].append_value(MALFORMED[k - 1]),
            }
        } else {
            cols[8].append_value(std::str::from_utf8(&time).expect("ascii"));
        }
    }
    let columns: Vec<ArrayRef> = cols.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef).collect();
    parquet_bytes(&RecordBatch::try_new(schema.clone(), columns)?)
}

/// Writes `total` log rows spread over the days, in files of at most [`CHUNK`]
/// rows, generating two files at a time.
async fn logs(pools: &Pools, opts: &GenOptions, sinks: &mut Sinks, table: &str, time_column: &str, stream_id: u64, total: usize) -> Result<()> {
    let sink = sinks.open(table)?;
    let schema = log_schema(time_column);
    let mut jobs = Vec::new();
    for day in 0..opts.days as usize {
        let rows = total / opts.days as usize + usize::from(day < total % opts.days as usize);
        for chunk in 0..rows.div_ceil(CHUNK) {
            jobs.push((day, chunk, CHUNK.min(rows - chunk * CHUNK)));
        }
    }
    let make = |&(day, chunk, rows): &(usize, usize, usize)| {
        let rng = stream(opts.seed, &[stream_id, day as u64, chunk as u64]);
        log_chunk(pools, &schema, rng, opts.start_date + Days::new(day as u64), rows)
    };
    in_waves(&jobs, make, async |&(day, chunk, rows), bytes| {
        let sink = sinks.get(sink);
        sink.write_bytes(&format!("part-{day:03}-{chunk:03}.parquet"), bytes).await?;
        sink.add_rows(rows as u64);
        opts.progress.note(&format!("{table}: {} rows", fletch_engine::progress::group_thousands(sink.rows())));
        Ok(())
    })
    .await?;
    Ok(())
}

pub async fn generate(opts: &GenOptions, sinks: &mut Sinks) -> Result<()> {
    let persona = persona(opts)?;
    let sink = sinks.open(PERSONA)?;
    sinks.get(sink).write("part-00000.parquet", &persona.batch).await?;

    let mapping = keywords(opts);
    let sink = sinks.open(KEYWORDS)?;
    sinks.get(sink).write("part-00000.parquet", &keywords_batch(&mapping)?).await?;
    sinks.file(SLOT_IDS_FILE, serde_json::to_vec_pretty(SLOT_IDS).expect("strings encode")).await?;

    let pools = pools(opts, persona.dids, mapping.into_iter().map(|r| r.0).collect());
    let scaled = |n: f64| (n * opts.scale).round().max(1.0) as usize;
    logs(&pools, opts, sinks, SHOWLOG, "show_time", STREAM_SHOW, scaled(SHOW_ROWS)).await?;
    logs(&pools, opts, sinks, CLICKLOG, "click_time", STREAM_CLICK, scaled(CLICK_ROWS)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use fletch_engine::catalog::register_all_inputs;
    use fletch_engine::session::{Mode, connect};

    use crate::Dataset;
    use crate::testing::{file_schema, gen_into, read_tree, scalar_i64};

    #[tokio::test]
    async fn deterministic_and_shaped_like_the_seed() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let root = gen_into(Dataset::Lookalike, a.path(), 0.002, 42).await;
        gen_into(Dataset::Lookalike, b.path(), 0.002, 42).await;
        assert_eq!(read_tree(a.path()), read_tree(b.path()));

        let ctx = connect(&Mode::Embedded).await.unwrap();
        let tables: Vec<_> = register_all_inputs(&ctx, &root, Default::default()).await.unwrap().into_iter().map(|t| t.name).collect();
        assert_eq!(tables, ["ad_keywords", "ads_clicklog", "ads_persona", "ads_showlog"]);
        for (table, time) in [("ads_showlog", "show_time"), ("ads_clicklog", "click_time")] {
            assert_eq!(file_schema(a.path(), table), *super::log_schema(time).as_ref(), "{table}");
        }
        // Exact sizes: the seed's counts times the scale.
        assert_eq!(scalar_i64(&ctx, "SELECT count(*) FROM ads_showlog").await, 89_892);
        assert_eq!(scalar_i64(&ctx, "SELECT count(*) FROM ads_clicklog").await, 2_072);
        let persona = scalar_i64(&ctx, "SELECT count(*) FROM ads_persona").await;
        assert!((700..820).contains(&persona), "{persona}");

        // Planted: conflicting personas and exact duplicates.
        let conflicted = scalar_i64(&ctx, "SELECT count(*) FROM (SELECT did FROM (SELECT DISTINCT * FROM ads_persona) GROUP BY did HAVING count(*) > 1)").await;
        let duplicates = scalar_i64(&ctx, "SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT * FROM ads_persona)) FROM ads_persona").await;
        assert!(conflicted > 0 && duplicates > 0, "conflicted {conflicted}, duplicates {duplicates}");

        // Most rows are on slot ids outside the kept list.
        let slots = root.file_url(super::SLOT_IDS_FILE).to_string();
        let listed = scalar_i64(&ctx, &format!("SELECT count(*) FROM ads_showlog s JOIN json_list('{slots}') w ON s.slot_id = w.value")).await;
        let share = listed as f64 / 89_892.0;
        assert!((0.27..0.33).contains(&share), "share on listed slots {share}");
        assert_eq!(scalar_i64(&ctx, &format!("SELECT count(*) FROM json_list('{slots}')")).await, 44);

        // Unknown dids, and malformed timestamps (some without a fraction).
        assert!(scalar_i64(&ctx, "SELECT count(*) FROM ads_showlog s LEFT JOIN ads_persona p ON s.did = p.did WHERE p.did IS NULL").await > 0);
        assert!(scalar_i64(&ctx, "SELECT count(*) FROM ads_showlog WHERE show_time NOT LIKE '____-__-__ __:__:__.___'").await > 0);

        // Cleaning (listed slot, one persona, keyword known) keeps about a quarter.
        let kept = scalar_i64(&ctx, &format!(
            "WITH p AS (SELECT did FROM (SELECT DISTINCT * FROM ads_persona) GROUP BY did HAVING count(*) = 1) \
             SELECT count(*) FROM ads_showlog s JOIN json_list('{slots}') w ON s.slot_id = w.value \
             JOIN p ON p.did = s.did JOIN ad_keywords k ON k.spread_app_id = s.spread_app_id"
        )).await;
        let kept = kept as f64 / 89_892.0;
        assert!((0.2..0.3).contains(&kept), "kept {kept}");
    }

    #[tokio::test]
    async fn keyword_mapping_matches_the_original() {
        let dir = tempfile::tempdir().unwrap();
        let root = gen_into(Dataset::Lookalike, dir.path(), 0.0001, 1).await;
        let ctx = connect(&Mode::Embedded).await.unwrap();
        register_all_inputs(&ctx, &root, Default::default()).await.unwrap();
        assert_eq!(scalar_i64(&ctx, "SELECT count(DISTINCT spread_app_id) FROM ad_keywords").await, 282);
        let q = "SELECT keyword, keyword_index, count(*) AS apps FROM ad_keywords GROUP BY 1, 2 ORDER BY 2";
        let out = pretty_format_batches(&ctx.sql(q).await.unwrap().collect().await.unwrap()).unwrap().to_string();
        let rows: Vec<String> = out.lines().skip(3).take(29).map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(rows.len(), 29);
        assert_eq!(rows[0], "|education|1|17|");
        assert_eq!(rows[13], "|info|14|28|");
        assert_eq!(rows[22], "|other|23|8|");
        assert_eq!(rows[28], "|video|29|31|");
        let known = scalar_i64(&ctx, "SELECT count(*) FROM ad_keywords WHERE \
            (spread_app_id = 'C10374976' AND keyword = 'shopping') OR (spread_app_id = 'C10608' AND keyword = 'info') \
            OR (spread_app_id = 'C100203741' AND keyword = 'education') OR (spread_app_id = 'PDB' AND keyword = 'other')").await;
        assert_eq!(known, 4);
    }
}
