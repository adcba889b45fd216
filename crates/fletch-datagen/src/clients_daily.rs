//! `clients-daily`: Firefox telemetry's `clients_daily`, the columns the TAAR
//! jobs read, Hive-partitioned by `submission_date_s3`. Plus
//! `clients_daily_groups` (client_id, group): the latent group each client
//! was drawn from, for tests of clustering.
//!
//! Each client has fixed traits (locale, os, group, installed add-ons and
//! their flags) and is active on a random subset of days; its add-on list
//! grows over the window, so its latest row differs from earlier ones.

use std::sync::Arc;

use chrono::{Days, NaiveDate};
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Decimal128Builder, Float64Builder, Int32Builder, Int64Builder, ListArray,
    RecordBatch, StringBuilder, StructArray,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::addons::{Catalogue, GROUPS};
use crate::rng::{Choice, Weighted, stream, unit};
use crate::sink::{in_waves, parquet_bytes};
use crate::{GenOptions, Result};

pub const TABLE: &str = "clients_daily";
pub const GROUPS_TABLE: &str = "clients_daily_groups";
/// Client-day rows at scale 1.0.
const ROWS_AT_SCALE_1: f64 = 1_000_000.0;
/// Mean of the per-client activity probability (uniform 0.15..0.95).
const MEAN_ACTIVITY: f64 = 0.55;
const STREAM_CLIENTS: u64 = 0xC11E;
const STREAM_ACTIVE: u64 = 0xAC71;
const STREAM_DAY: u64 = 0xDA1;

const LOCALES: &[(Option<&str>, f64)] = &[
    (Some("en-US"), 38.0), (Some("de"), 11.0), (Some("fr"), 7.0), (Some("es-ES"), 5.0), (Some("ru"), 5.0),
    (Some("pt-BR"), 5.0), (Some("pl"), 4.0), (Some("en-GB"), 4.0), (Some("it"), 3.0), (Some("ja"), 3.0),
    (Some("zh-CN"), 3.0), (Some("es-MX"), 2.0), (Some("nl"), 2.0), (Some("id"), 2.0), (Some("tr"), 2.0),
    (Some("cs"), 1.0), (Some("sv-SE"), 1.0), (Some("null"), 0.5), (None, 0.5),
];
const CITIES: &[(Option<&str>, f64)] = &[
    (Some("New York"), 6.0), (Some("Los Angeles"), 4.0), (Some("Chicago"), 3.0), (Some("Berlin"), 4.0),
    (Some("Munich"), 2.0), (Some("Paris"), 4.0), (Some("Lyon"), 1.5), (Some("Madrid"), 2.5), (Some("Moscow"), 3.0),
    (Some("São Paulo"), 3.0), (Some("Warsaw"), 2.0), (Some("London"), 3.5), (Some("Rome"), 2.0), (Some("Tokyo"), 2.5),
    (Some("Beijing"), 2.0), (Some("Mexico City"), 1.5), (Some("Amsterdam"), 1.5), (Some("Jakarta"), 1.5),
    (Some("Istanbul"), 1.5), (Some("Prague"), 1.0), (Some("Stockholm"), 1.0), (Some("Toronto"), 2.0),
    (Some("??"), 6.0), (None, 2.0),
];
const OSES: &[(&str, f64)] = &[("Windows_NT", 78.0), ("Darwin", 10.0), ("Linux", 12.0)];
const APPS: &[(&str, f64)] = &[("Firefox", 95.0), ("Fennec", 3.0), ("Thunderbird", 2.0)];
const CHANNELS: &[(&str, f64)] = &[("release", 86.0), ("beta", 6.0), ("nightly", 3.0), ("esr", 5.0)];

/// A flag that is usually `usual`, sometimes the opposite, sometimes NULL.
fn flag(rng: &mut ChaCha8Rng, usual: bool, p_other: f64, p_null: f64) -> Option<bool> {
    let u: f64 = rng.random();
    if u < p_null {
        None
    } else if u < p_null + p_other {
        Some(!usual)
    } else {
        Some(usual)
    }
}

struct Install {
    addon: usize,
    blocklisted: Option<bool>,
    user_disabled: Option<bool>,
    app_disabled: Option<bool>,
    foreign_install: Option<bool>,
    is_system: Option<bool>,
    type_is_null: bool,
    signed_state: Option<i32>,
    scope: i32,
    install_day: i32,
    update_day: i32,
    multiprocess_compatible: bool,
}

struct Client {
    id: String,
    group: usize,
    locale: Option<&'static str>,
    city: Option<&'static str>,
    os: &'static str,
    app: &'static str,
    channel: &'static str,
    normalized_channel: &'static str,
    activity: f64,
    /// Installs in the order Firefox lists them; the first `base` are there from day 0.
    installs: Vec<Install>,
    base: usize,
    hours_scale: f64,
}

fn client_id(rng: &mut ChaCha8Rng) -> String {
    let h: u128 = rng.random();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        (h >> 96) as u32,
        (h >> 80) as u16,
        (h >> 64) as u16 & 0xfff,
        0x8000 | ((h >> 48) as u16 & 0x3fff),
        h as u64 & 0xffff_ffff_ffff
    )
}

fn make_clients(cat: &Catalogue, opts: &GenOptions) -> Vec<Client> {
    let n = ((opts.scale * ROWS_AT_SCALE_1) / (opts.days as f64 * MEAN_ACTIVITY)).ceil().max(1.0) as usize;
    let mut rng = stream(opts.seed, &[STREAM_CLIENTS]);
    let (locales, cities, oses, apps, channels) =
        (Choice::new(LOCALES), Choice::new(CITIES), Choice::new(OSES), Choice::new(APPS), Choice::new(CHANNELS));
    let core_pick = Weighted::zipf(crate::addons::CORE_SIZE, 0.8);
    let first_day = (opts.start_date - NaiveDate::default()).num_days() as i32;
    (0..n)
        .map(|_| {
            let group = rng.random_range(0..GROUPS);
            let wanted = 3 + (rng.random::<f64>().powi(2) * 12.0) as usize;
            let mut picked: Vec<usize> = Vec::with_capacity(wanted + 3);
            for _ in 0..wanted * 3 {
                if picked.len() == wanted {
                    break;
                }
                let a = if rng.random_bool(0.7) {
                    cat.cores[group][core_pick.sample(&mut rng)]
                } else {
                    cat.popularity.sample(&mut rng)
                };
                if !picked.contains(&a) {
                    picked.push(a);
                }
            }
            for &s in &cat.system {
                if rng.random_bool(0.8) {
                    picked.push(s);
                }
            }
            let installs = picked
                .into_iter()
                .map(|a| {
                    let system = cat.addons[a].is_system;
                    let install_day = first_day - rng.random_range(0..2_000);
                    Install {
                        addon: a,
                        blocklisted: flag(&mut rng, false, 0.005, 0.005),
                        user_disabled: flag(&mut rng, false, 0.05, 0.02),
                        app_disabled: flag(&mut rng, false, 0.02, 0.01),
                        foreign_install: flag(&mut rng, false, 0.03, 0.01),
                        is_system: if rng.random_bool(0.005) { None } else { Some(system) },
                        type_is_null: rng.random_bool(0.003),
                        signed_state: match rng.random::<f64>() {
                            _ if system => Some(3),
                            u if u < 0.01 => None,
                            u if u < 0.05 => Some([0, 1, -1][(u * 1000.0) as usize % 3]),
                            _ => Some(2),
                        },
                        scope: if system { 8 } else { 1 },
                        install_day,
                        update_day: install_day + rng.random_range(0..400),
                        multiprocess_compatible: rng.random_bool(0.95),
                    }
                })
                .collect::<Vec<_>>();
            let base = installs.len().saturating_sub(rng.random_range(0..3)).max(1);
            let channel = channels.sample(&mut rng);
            Client {
                id: client_id(&mut rng),
                group,
                locale: locales.sample(&mut rng),
                city: cities.sample(&mut rng),
                os: oses.sample(&mut rng),
                app: apps.sample(&mut rng),
                channel,
                normalized_channel: if rng.random_bool(0.01) { "Other" } else { channel },
                activity: rng.random_range(0.15..0.95),
                installs,
                base,
                hours_scale: rng.random_range(0.2..6.0),
            }
        })
        .collect()
}

fn addon_fields() -> Fields {
    Fields::from(vec![
        Field::new("addon_id", DataType::Utf8, true),
        Field::new("blocklisted", DataType::Boolean, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("user_disabled", DataType::Boolean, true),
        Field::new("app_disabled", DataType::Boolean, true),
        Field::new("version", DataType::Utf8, true),
        Field::new("scope", DataType::Int32, true),
        Field::new("type", DataType::Utf8, true),
        Field::new("foreign_install", DataType::Boolean, true),
        Field::new("has_binary_components", DataType::Boolean, true),
        Field::new("install_day", DataType::Int32, true),
        Field::new("update_day", DataType::Int32, true),
        Field::new("signed_state", DataType::Int32, true),
        Field::new("is_system", DataType::Boolean, true),
        Field::new("is_web_extension", DataType::Boolean, true),
        Field::new("multiprocess_compatible", DataType::Boolean, true),
    ])
}

/// The file schema (`submission_date_s3` is the partition folder, not a column).
pub fn schema() -> SchemaRef {
    let element = Field::new("element", DataType::Struct(addon_fields()), true);
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
        Field::new("active_addons", DataType::List(Arc::new(element)), true),
    ]))
}

/// Builders for one day's `active_addons` elements.
#[derive(Default)]
struct AddonColumns {
    addon_id: StringBuilder,
    blocklisted: BooleanBuilder,
    name: StringBuilder,
    user_disabled: BooleanBuilder,
    app_disabled: BooleanBuilder,
    version: StringBuilder,
    scope: Int32Builder,
    kind: StringBuilder,
    foreign_install: BooleanBuilder,
    has_binary_components: BooleanBuilder,
    install_day: Int32Builder,
    update_day: Int32Builder,
    signed_state: Int32Builder,
    is_system: BooleanBuilder,
    is_web_extension: BooleanBuilder,
    multiprocess_compatible: BooleanBuilder,
}

impl AddonColumns {
    fn push(&mut self, cat: &Catalogue, i: &Install) {
        let a = &cat.addons[i.addon];
        self.addon_id.append_value(&a.guid);
        self.blocklisted.append_option(i.blocklisted);
        self.name.append_value(&a.name);
        self.user_disabled.append_option(i.user_disabled);
        self.app_disabled.append_option(i.app_disabled);
        self.version.append_value(&a.version);
        self.scope.append_value(i.scope);
        self.kind.append_option((!i.type_is_null).then_some(a.kind));
        self.foreign_install.append_option(i.foreign_install);
        self.has_binary_components.append_value(false);
        self.install_day.append_value(i.install_day);
        self.update_day.append_value(i.update_day);
        self.signed_state.append_option(i.signed_state);
        self.is_system.append_option(i.is_system);
        self.is_web_extension.append_value(a.is_webextension);
        self.multiprocess_compatible.append_value(i.multiprocess_compatible);
    }

    fn finish(mut self) -> Result<StructArray> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.addon_id.finish()),
            Arc::new(self.blocklisted.finish()),
            Arc::new(self.name.finish()),
            Arc::new(self.user_disabled.finish()),
            Arc::new(self.app_disabled.finish()),
            Arc::new(self.version.finish()),
            Arc::new(self.scope.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(self.foreign_install.finish()),
            Arc::new(self.has_binary_components.finish()),
            Arc::new(self.install_day.finish()),
            Arc::new(self.update_day.finish()),
            Arc::new(self.signed_state.finish()),
            Arc::new(self.is_system.finish()),
            Arc::new(self.is_web_extension.finish()),
            Arc::new(self.multiprocess_compatible.finish()),
        ];
        Ok(StructArray::try_new(addon_fields(), columns, None)?)
    }
}

/// One day's rows.
fn day_batch(cat: &Catalogue, clients: &[Client], opts: &GenOptions, day: u32) -> Result<RecordBatch> {
    let mut rng = stream(opts.seed, &[STREAM_DAY, day as u64]);
    let mut id = StringBuilder::new();
    let (mut app, mut channel, mut normalized) = (StringBuilder::new(), StringBuilder::new(), StringBuilder::new());
    let (mut locale, mut city, mut os) = (StringBuilder::new(), StringBuilder::new(), StringBuilder::new());
    let mut hours = Decimal128Builder::new();
    let (mut bookmarks, mut domains) = (Float64Builder::new(), Float64Builder::new());
    let (mut tabs, mut uris) = (Int64Builder::new(), Int64Builder::new());
    let mut addons = AddonColumns::default();
    let mut offsets = vec![0i32];
    let mut list_valid = Vec::new();
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
        domains.append_option((!rng.random_bool(0.01)).then(|| (t as f64).sqrt().floor() + 1.0));
        // A NULL list or an empty one now and then; otherwise the installs so far.
        let u: f64 = rng.random();
        let shown = if u < 0.01 {
            None
        } else if u < 0.025 {
            Some(0)
        } else {
            let extra = client.installs.len() - client.base;
            Some(client.base + extra * day as usize / opts.days.max(1) as usize)
        };
        for install in &client.installs[..shown.unwrap_or(0)] {
            addons.push(cat, install);
        }
        offsets.push(offsets.last().copied().unwrap_or(0) + shown.unwrap_or(0) as i32);
        list_valid.push(shown.is_some());
    }
    let element = Arc::new(Field::new("element", DataType::Struct(addon_fields()), true));
    let lists = ListArray::try_new(
        element,
        OffsetBuffer::new(offsets.into()),
        Arc::new(addons.finish()?),
        Some(NullBuffer::from(list_valid)),
    )?;
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
    let clients = make_clients(cat, opts);
    opts.progress.note(&format!("clients-daily: {} clients over {} days", clients.len(), opts.days));
    let sink = sinks.open(TABLE);
    let days: Vec<u32> = (0..opts.days).collect();
    let make = |&day: &u32| {
        let batch = day_batch(cat, &clients, opts, day)?;
        Ok((batch.num_rows(), parquet_bytes(&batch)?))
    };
    in_waves(&days, make, async |&day, (rows, bytes)| {
        let date = opts.start_date + Days::new(day as u64);
        let sink = sinks.get(sink);
        sink.write_bytes(&format!("submission_date_s3={}/part-00000.parquet", date.format("%Y%m%d")), bytes).await?;
        sink.add_rows(rows as u64);
        Ok(())
    })
    .await?;
    let groups = sinks.open(GROUPS_TABLE);
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

    use crate::testing::{gen_into, read_tree, scalar_i64};
    use crate::{Dataset, addons};

    async fn sql(ctx: &SessionContext, q: &str) -> Vec<RecordBatch> {
        ctx.sql(q).await.unwrap().collect().await.unwrap()
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

        let schema = ctx.table(super::TABLE).await.unwrap().schema().as_arrow().clone();
        let mut expected: Vec<_> = super::schema().fields().iter().map(|f| (f.name().clone(), f.data_type().clone())).collect();
        expected.push(("submission_date_s3".into(), datafusion::arrow::datatypes::DataType::Utf8));
        let got: Vec<_> = schema.fields().iter().map(|f| (f.name().clone(), f.data_type().clone())).collect();
        assert_eq!(got, expected);

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
