//! `clients-daily`: Firefox telemetry's `clients_daily`, the columns the TAAR
//! jobs read, Hive-partitioned by `submission_date_s3`. Plus
//! `clients_daily_groups` (client_id, group): the latent group each client
//! was drawn from, for tests of clustering.
//!
//! Each client has fixed traits (locale, os, group, installed add-ons and
//! their flags) and is active on a random subset of days; its add-on list
//! grows over the window, so its latest row differs from earlier ones.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Decimal128Builder, Float64Builder, Int64Builder, RecordBatch, StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use rand::Rng;

use crate::addons::Catalogue;
use crate::population::{AddonLists, Client, addon_element, write_daily_table};
use crate::rng::{stream, unit};
use crate::{GenOptions, Result};

pub const TABLE: &str = "clients_daily";
pub const GROUPS_TABLE: &str = "clients_daily_groups";
/// Client-day rows at scale 1.0.
const ROWS_AT_SCALE_1: f64 = 1_000_000.0;
/// Mean of the per-client activity probability (uniform 0.15..0.95).
const MEAN_ACTIVITY: f64 = 0.55;
const STREAM_ACTIVE: u64 = 0xAC71;
const STREAM_DAY: u64 = 0xDA1;

/// The file schema (`submission_date_s3` is the partition folder, not a column).
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("client_id", DataType::Utf8, true),
        Field::new("app_name", DataType::Utf8, true),
        Field::new("channel", DataType::Utf8, true),
        Field::new("normalized_channel", DataType::Utf8, true),
        Field::new("locale", DataType::Utf8, true),
        Field::new("city", DataType::Utf8, true),
        Field::new("os", DataType::Utf8, true),
        Field::new("subsession_hours_sum", DataType::Decimal128(37, 6), true),
        Field::new("places_bookmarks_count_mean", DataType::Float64, true),
        Field::new("scalar_parent_browser_engagement_tab_open_event_count_sum", DataType::Int64, true),
        Field::new("scalar_parent_browser_engagement_total_uri_count_sum", DataType::Int64, true),
        Field::new("scalar_parent_browser_engagement_unique_domains_count_mean", DataType::Float64, true),
        Field::new("scalar_parent_browser_engagement_unique_domains_count_max", DataType::Int64, true),
        Field::new("active_addons", DataType::List(Arc::new(addon_element())), true),
    ]))
}

/// One day's rows.
fn day_batch(cat: &Catalogue, clients: &[Client], opts: &GenOptions, day: u32) -> Result<RecordBatch> {
    let mut rng = stream(opts.seed, &[STREAM_DAY, day as u64]);
    let mut id = StringBuilder::new();
    let (mut app, mut channel, mut normalized) = (StringBuilder::new(), StringBuilder::new(), StringBuilder::new());
    let (mut locale, mut city, mut os) = (StringBuilder::new(), StringBuilder::new(), StringBuilder::new());
    let mut hours = Decimal128Builder::new();
    let (mut bookmarks, mut domains) = (Float64Builder::new(), Float64Builder::new());
    let (mut tabs, mut uris, mut domains_max) = (Int64Builder::new(), Int64Builder::new(), Int64Builder::new());
    let mut addons = AddonLists::default();
    for (c, client) in clients.iter().enumerate() {
        if unit(opts.seed, &[STREAM_ACTIVE, c as u64, day as u64]) >= client.activity {
            continue;
        }
        id.append_value(&client.id);
        app.append_value(client.app);
        channel.append_value(client.channel);
        normalized.append_value(client.normalized_channel);
        locale.append_option(client.locale);
        city.append_option(client.city);
        os.append_value(client.os);
        let h = client.hours_scale * rng.random_range(0.1..2.0);
        hours.append_option((!rng.random_bool(0.01)).then_some((h * 1e6).round() as i128));
        bookmarks.append_option((!rng.random_bool(0.01)).then(|| (rng.random::<f64>() * 400.0).floor()));
        let t = (h * rng.random_range(2.0..30.0)) as i64;
        tabs.append_value(t);
        uris.append_value(t * rng.random_range(2..8));
        let mean = (!rng.random_bool(0.01)).then(|| (t as f64).sqrt().floor() + 1.0);
        domains.append_option(mean);
        // The day's busiest session: drawn from no stream, so earlier columns keep their values.
        domains_max.append_option(mean.map(|m| m as i64 + t % 4));
        addons.push(cat, client.addons_on(&mut rng, day, opts.days));
    }
    let lists = addons.finish()?;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(app.finish()),
        Arc::new(channel.finish()),
        Arc::new(normalized.finish()),
        Arc::new(locale.finish()),
        Arc::new(city.finish()),
        Arc::new(os.finish()),
        Arc::new(hours.finish().with_precision_and_scale(37, 6)?),
        Arc::new(bookmarks.finish()),
        Arc::new(tabs.finish()),
        Arc::new(uris.finish()),
        Arc::new(domains.finish()),
        Arc::new(domains_max.finish()),
        Arc::new(lists),
    ];
    Ok(RecordBatch::try_new(schema(), columns)?)
}

fn groups_batch(clients: &[Client]) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("client_id", DataType::Utf8, false),
        Field::new("group", DataType::Int32, false),
    ]));
    let ids: Vec<&str> = clients.iter().map(|c| c.id.as_str()).collect();
    let groups: Vec<i32> = clients.iter().map(|c| c.group as i32).collect();
    Ok(RecordBatch::try_new(
        schema,
        vec![
            Arc::new(datafusion::arrow::array::StringArray::from(ids)),
            Arc::new(datafusion::arrow::array::Int32Array::from(groups)),
        ],
    )?)
}

pub async fn generate(cat: &Catalogue, opts: &GenOptions, sinks: &mut crate::Sinks) -> Result<()> {
    let clients = write_daily_table(cat, opts, sinks, TABLE, (ROWS_AT_SCALE_1, MEAN_ACTIVITY), |clients, day| day_batch(cat, clients, opts, day)).await?;
    let groups = sinks.open(GROUPS_TABLE)?;
    sinks.get(groups).write("part-00000.parquet", &groups_batch(&clients)?).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use datafusion::arrow::array::{AsArray, RecordBatch};
    use datafusion::arrow::datatypes::Int64Type;
    use datafusion::prelude::SessionContext;
    use fletch_engine::catalog::register_input;
    use fletch_engine::session::{Mode, connect};

    use crate::testing::{file_schema, gen_into, read_tree, scalar_i64};
    use crate::{Dataset, addons};

    async fn sql(ctx: &SessionContext, q: &str) -> Vec<RecordBatch> {
        fletch_engine::remote::collect(ctx.sql(q).await.unwrap()).await.unwrap()
    }

    #[tokio::test]
    async fn same_seed_same_bytes_other_seed_other_bytes() {
        let (a, b, c) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        gen_into(Dataset::ClientsDaily, a.path(), 0.005, 7).await;
        gen_into(Dataset::ClientsDaily, b.path(), 0.005, 7).await;
        gen_into(Dataset::ClientsDaily, c.path(), 0.005, 8).await;
        let (ta, tb, tc) = (read_tree(a.path()), read_tree(b.path()), read_tree(c.path()));
        assert_eq!(ta.len(), 28 + 1 + 1, "28 days, the groups file and the manifest: {:?}", ta.keys());
        assert_eq!(ta, tb);
        assert_ne!(ta.get("clients_daily/submission_date_s3=20261025/part-00000.parquet"), tc.get("clients_daily/submission_date_s3=20261025/part-00000.parquet"));
    }

    #[tokio::test]
    async fn schema_and_planted_properties() {
        let dir = tempfile::tempdir().unwrap();
        let root = gen_into(Dataset::ClientsDaily, dir.path(), 0.02, 42).await;
        let ctx = connect(&Mode::Embedded).await.unwrap();
        register_input(&ctx, &root, super::TABLE).await.unwrap();
        register_input(&ctx, &root, super::GROUPS_TABLE).await.unwrap();

        let expected: Vec<_> = super::schema().fields().iter().map(|f| (f.name().clone(), f.data_type().clone())).collect();
        let got: Vec<_> = file_schema(dir.path(), super::TABLE).fields().iter().map(|f| (f.name().clone(), f.data_type().clone())).collect();
        assert_eq!(got, expected);
        let table = ctx.table(super::TABLE).await.unwrap();
        assert_eq!(table.schema().field_with_unqualified_name("submission_date_s3").unwrap().data_type(), &datafusion::arrow::datatypes::DataType::Utf8);

        // Scale 0.02 is about 20,000 client-day rows.
        let rows = scalar_i64(&ctx, "SELECT count(*) FROM clients_daily").await;
        assert!((18_000..22_000).contains(&rows), "{rows}");
        assert!(scalar_i64(&ctx, "SELECT count(*) / count(DISTINCT client_id) FROM clients_daily").await >= 5, "several days per client");
        for (what, q) in [
            ("non-Firefox rows", "SELECT count(*) FROM clients_daily WHERE app_name <> 'Firefox'"),
            ("non-release rows", "SELECT count(*) FROM clients_daily WHERE channel <> 'release'"),
            ("NULL locale", "SELECT count(*) FROM clients_daily WHERE locale IS NULL"),
            ("'null' locale", "SELECT count(*) FROM clients_daily WHERE locale = 'null'"),
            ("NULL city", "SELECT count(*) FROM clients_daily WHERE city IS NULL"),
            ("NULL add-on list", "SELECT count(*) FROM clients_daily WHERE active_addons IS NULL"),
            ("empty add-on list", "SELECT count(*) FROM clients_daily WHERE cardinality(active_addons) = 0"),
        ] {
            assert!(scalar_i64(&ctx, q).await > 0, "{what}");
        }
        let flags = "SELECT \
            sum(CASE WHEN a['is_system'] THEN 1 ELSE 0 END), sum(CASE WHEN a['user_disabled'] THEN 1 ELSE 0 END), \
            sum(CASE WHEN a['app_disabled'] THEN 1 ELSE 0 END), sum(CASE WHEN a['foreign_install'] THEN 1 ELSE 0 END), \
            sum(CASE WHEN a['blocklisted'] THEN 1 ELSE 0 END), sum(CASE WHEN a['signed_state'] <> 2 THEN 1 ELSE 0 END), \
            sum(CASE WHEN a['type'] <> 'extension' THEN 1 ELSE 0 END), sum(CASE WHEN a['user_disabled'] IS NULL THEN 1 ELSE 0 END), \
            sum(CASE WHEN a['is_system'] IS NULL THEN 1 ELSE 0 END), sum(CASE WHEN a['type'] IS NULL THEN 1 ELSE 0 END), \
            sum(CASE WHEN a['addon_id'] = 'pioneer-opt-in@mozilla.org' THEN 1 ELSE 0 END) \
            FROM (SELECT unnest(active_addons) AS a FROM clients_daily)";
        let batch = &sql(&ctx, flags).await[0];
        for i in 0..batch.num_columns() {
            assert!(batch.column(i).as_primitive::<Int64Type>().value(0) > 0, "flag column {i} never set:\n{batch:?}");
        }

        // Zipf-like popularity: the most installed add-on far ahead of the 50th.
        let counts = sql(&ctx, "SELECT count(*) AS n FROM (SELECT unnest(active_addons)['addon_id'] AS id FROM clients_daily) GROUP BY id ORDER BY n DESC").await;
        let counts: Vec<i64> = counts.iter().flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec()).collect();
        assert!(counts[0] > 5 * counts[50], "{:?}", &counts[..60]);

        // The latent groups are recoverable from add-ons: assign each client to
        // the group whose core it shares most add-ons with.
        let catalogue = addons::build(42);
        let core_of: HashMap<&str, i32> = catalogue
            .cores
            .iter()
            .enumerate()
            .flat_map(|(g, core)| core.iter().map(move |&a| (a, g as i32)))
            .map(|(a, g)| (catalogue.addons[a].guid.as_str(), g))
            .collect();
        let rows = sql(&ctx, "SELECT c.client_id, g.\"group\", a['addon_id'] FROM \
                              (SELECT client_id, unnest(active_addons) AS a FROM clients_daily) c \
                              JOIN clients_daily_groups g ON c.client_id = g.client_id").await;
        let mut votes: HashMap<String, (i32, [usize; addons::GROUPS])> = HashMap::new();
        for b in &rows {
            let ids = b.column(0).as_string::<i32>();
            let groups = b.column(1).as_primitive::<datafusion::arrow::datatypes::Int32Type>();
            let addon_ids = b.column(2).as_string::<i32>();
            for i in 0..b.num_rows() {
                if let Some(&core) = core_of.get(addon_ids.value(i)) {
                    votes.entry(ids.value(i).to_string()).or_insert((groups.value(i), [0; addons::GROUPS])).1[core as usize] += 1;
                }
            }
        }
        let right = votes
            .values()
            .filter(|(truth, v)| v.iter().enumerate().max_by_key(|(g, n)| (**n, std::cmp::Reverse(*g))).map(|(g, _)| g as i32) == Some(*truth))
            .count();
        assert!(votes.len() > 900, "clients with core add-ons: {}", votes.len());
        assert!(right as f64 > 0.9 * votes.len() as f64, "group recovered for {right} of {} clients", votes.len());
    }
}
