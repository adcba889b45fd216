//! `main-summary`: the columns of telemetry's `main_summary` v4 that the TAAR
//! profile export reads, one row per subsession, Hive-partitioned by
//! `submission_date_s3`. Drawn from the same clients as `clients-daily` (same
//! seed, same ids), with the quirks the export must handle: several
//! subsessions a day, tied latest start dates, mixed UTC offsets, unparseable
//! and pre-1970 start dates, NULL and empty client ids, zero counts.

use std::sync::Arc;

use chrono::{Days, NaiveDate};
use datafusion::arrow::array::{
    ArrayRef, Int32Builder, Int64Builder, ListBuilder, RecordBatch, StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::addons::Catalogue;
use crate::population::{AddonLists, Client, addon_element, write_daily_table};
use crate::rng::{stream, unit};
use crate::{GenOptions, Result};

pub const TABLE: &str = "main_summary";
/// Subsession rows at scale 1.0.
const ROWS_AT_SCALE_1: f64 = 1_000_000.0;
/// Mean activity (uniform 0.15..0.95) times mean subsessions per active day (1..=4).
const MEAN_ROWS_PER_CLIENT_DAY: f64 = 0.55 * 2.5;
const STREAM_ACTIVE: u64 = 0x3A1;
const STREAM_DAY: u64 = 0x3DA;
const OFFSETS: &[&str] = &["+00:00", "+01:00", "+02:00", "-05:00", "-08:00", "+09:00", "+05:30", "-03:00"];

/// The file schema (`submission_date_s3` is the partition folder, not a column).
pub fn schema() -> SchemaRef {
    let int = |name: &str| Field::new(name, DataType::Int32, true);
    Arc::new(Schema::new(vec![
        Field::new("client_id", DataType::Utf8, true),
        Field::new("subsession_start_date", DataType::Utf8, true),
        Field::new("subsession_length", DataType::Int64, true),
        Field::new("city", DataType::Utf8, true),
        Field::new("locale", DataType::Utf8, true),
        Field::new("os", DataType::Utf8, true),
        int("places_bookmarks_count"),
        int("scalar_parent_browser_engagement_tab_open_event_count"),
        int("scalar_parent_browser_engagement_total_uri_count"),
        int("scalar_parent_browser_engagement_unique_domains_count"),
        Field::new("active_addons", DataType::List(Arc::new(addon_element())), true),
        Field::new("disabled_addons_ids", DataType::List(Arc::new(Field::new("element", DataType::Utf8, true))), true),
    ]))
}

/// A count that is NULL or 0 now and then.
fn count(rng: &mut ChaCha8Rng, p_null: f64, p_zero: f64, max: i32) -> Option<i32> {
    let u: f64 = rng.random();
    if u < p_null {
        None
    } else if u < p_null + p_zero {
        Some(0)
    } else {
        Some(rng.random_range(1..=max))
    }
}

/// A subsession start as main_summary spells it (`2018-02-18T07:00:00.0+01:00`),
/// now and then empty, unparseable or before 1970.
fn start_date(rng: &mut ChaCha8Rng, day: NaiveDate, hour: u32, offset: &str) -> Option<String> {
    let u: f64 = rng.random();
    match u {
        _ if u < 0.002 => None,
        _ if u < 0.004 => Some(String::new()),
        _ if u < 0.006 => Some("not-a-date".into()),
        _ if u < 0.007 => Some(format!("1969-12-31T{hour:02}:00:00.0{offset}")),
        _ => Some(format!("{}T{hour:02}:00:00.0{offset}", day.format("%Y-%m-%d"))),
    }
}

/// One submission day's rows. Subsessions start on that day or the day before.
fn day_batch(cat: &Catalogue, clients: &[Client], opts: &GenOptions, day: u32) -> Result<RecordBatch> {
    let mut rng = stream(opts.seed, &[STREAM_DAY, day as u64]);
    let submission = opts.start_date + Days::new(day as u64);
    let (mut id, mut start, mut length) = (StringBuilder::new(), StringBuilder::new(), Int64Builder::new());
    let (mut city, mut locale, mut os) = (StringBuilder::new(), StringBuilder::new(), StringBuilder::new());
    let [mut bookmarks, mut tabs, mut uris, mut domains] = std::array::from_fn(|_| Int32Builder::new());
    let mut addons = AddonLists::default();
    let mut disabled = ListBuilder::new(StringBuilder::new()).with_field(Field::new("element", DataType::Utf8, true));
    for (c, client) in clients.iter().enumerate() {
        if unit(opts.seed, &[STREAM_ACTIVE, c as u64, day as u64]) >= client.activity {
            continue;
        }
        let home = OFFSETS[c % OFFSETS.len()];
        let subsessions = rng.random_range(1..=4usize);
        let mut hour = rng.random_range(0..12u32);
        // Now and then the last subsession is reported twice with the same start.
        let tied = rng.random_bool(0.015);
        for s in 0..subsessions + tied as usize {
            if s < subsessions {
                hour = (hour + rng.random_range(1..6)).min(47);
            }
            let travelling = rng.random_bool(0.02);
            let offset = if travelling { OFFSETS[rng.random_range(0..OFFSETS.len())] } else { home };
            let started = submission - Days::new(1) + Days::new(hour as u64 / 24);
            let u: f64 = rng.random();
            id.append_option(match u {
                _ if u < 0.002 => None,
                _ if u < 0.004 => Some(""),
                _ => Some(client.id.as_str()),
            });
            start.append_option(start_date(&mut rng, started, hour % 24, offset));
            length.append_value(if rng.random_bool(0.03) { 0 } else { rng.random_range(1..86_400) });
            city.append_option(client.city);
            locale.append_option(client.locale);
            os.append_value(client.os);
            bookmarks.append_option(count(&mut rng, 0.01, 0.1, 400));
            tabs.append_option(count(&mut rng, 0.05, 0.1, 200));
            uris.append_option(count(&mut rng, 0.05, 0.05, 2_000));
            domains.append_option(count(&mut rng, 0.05, 0.05, 60));
            let installs = client.addons_on(&mut rng, day, opts.days);
            addons.push(cat, installs);
            if rng.random_bool(0.01) {
                disabled.append_null();
            } else {
                let off = installs.unwrap_or_default().iter().filter(|i| i.user_disabled == Some(true));
                for install in off {
                    disabled.values().append_value(&cat.addons[install.addon].guid);
                }
                disabled.append(true);
            }
        }
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(start.finish()),
        Arc::new(length.finish()),
        Arc::new(city.finish()),
        Arc::new(locale.finish()),
        Arc::new(os.finish()),
        Arc::new(bookmarks.finish()),
        Arc::new(tabs.finish()),
        Arc::new(uris.finish()),
        Arc::new(domains.finish()),
        Arc::new(addons.finish()?),
        Arc::new(disabled.finish()),
    ];
    Ok(RecordBatch::try_new(schema(), columns)?)
}

pub async fn generate(cat: &Catalogue, opts: &GenOptions, sinks: &mut crate::Sinks) -> Result<()> {
    write_daily_table(cat, opts, sinks, TABLE, (ROWS_AT_SCALE_1, MEAN_ROWS_PER_CLIENT_DAY), |clients, day| day_batch(cat, clients, opts, day)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use fletch_engine::catalog::register_input;
    use fletch_engine::session::{Mode, connect};

    use crate::Dataset;
    use crate::testing::{gen_into, read_tree, scalar_i64};

    #[tokio::test]
    async fn schema_quirks_and_determinism() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let root = gen_into(Dataset::MainSummary, a.path(), 0.01, 42).await;
        gen_into(Dataset::MainSummary, b.path(), 0.01, 42).await;
        assert_eq!(read_tree(a.path()), read_tree(b.path()));

        let ctx = connect(&Mode::Embedded).await.unwrap();
        register_input(&ctx, &root, super::TABLE).await.unwrap();
        let schema = ctx.table(super::TABLE).await.unwrap().schema().as_arrow().clone();
        let got: Vec<_> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let mut expected: Vec<_> = super::schema().fields().iter().map(|f| f.name().clone()).collect();
        expected.push("submission_date_s3".into());
        assert_eq!(got, expected);

        // Scale 0.01 is about 10,000 subsession rows of one day.
        let rows = scalar_i64(&ctx, "SELECT count(*) FROM main_summary WHERE submission_date_s3 = '20261121'").await;
        assert!((8_500..11_500).contains(&rows), "{rows}");
        for (what, q) in [
            ("several subsessions per client", "SELECT count(*) FROM (SELECT client_id FROM main_summary GROUP BY client_id HAVING count(*) > 2)"),
            ("tied latest starts", "SELECT count(*) FROM (SELECT client_id, subsession_start_date FROM main_summary GROUP BY 1, 2 HAVING count(*) > 1)"),
            ("mixed offsets per client", "SELECT count(*) FROM (SELECT client_id FROM main_summary GROUP BY client_id HAVING count(DISTINCT substr(subsession_start_date, 22)) > 1)"),
            ("NULL client ids", "SELECT count(*) FROM main_summary WHERE client_id IS NULL"),
            ("empty client ids", "SELECT count(*) FROM main_summary WHERE client_id = ''"),
            ("unparseable starts", "SELECT count(*) FROM main_summary WHERE subsession_start_date = 'not-a-date' OR subsession_start_date = ''"),
            ("pre-1970 starts", "SELECT count(*) FROM main_summary WHERE subsession_start_date LIKE '1969-%'"),
            ("zero lengths", "SELECT count(*) FROM main_summary WHERE subsession_length = 0"),
            ("zero bookmarks", "SELECT count(*) FROM main_summary WHERE places_bookmarks_count = 0"),
            ("empty add-on lists", "SELECT count(*) FROM main_summary WHERE cardinality(active_addons) = 0"),
            ("disabled add-ons", "SELECT count(*) FROM main_summary WHERE cardinality(disabled_addons_ids) > 0"),
            ("non-ASCII cities", "SELECT count(*) FROM main_summary WHERE city = 'São Paulo'"),
        ] {
            assert!(scalar_i64(&ctx, q).await > 0, "{what}");
        }
    }
}
