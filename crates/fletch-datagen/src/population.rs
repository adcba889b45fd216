//! The simulated Firefox clients both telemetry tables are drawn from: fixed
//! traits (locale, city, os, latent group, installed add-ons and their flags)
//! and the `active_addons` column built from them.

use std::sync::Arc;

use chrono::{Days, NaiveDate};
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Int32Builder, ListArray, RecordBatch, StringBuilder, StructArray,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::addons::{Catalogue, GROUPS};
use crate::rng::{Choice, Weighted, stream};
use crate::sink::{in_waves, parquet_bytes};
use crate::{GenOptions, Result, Sinks};

const STREAM_CLIENTS: u64 = 0xC11E;
const STREAM_HOMES: u64 = 0x401E;

/// Each latent group's home (locale, city). A share of a group's clients live
/// there, so taste in add-ons and place go together, as language-specific
/// add-ons make them; TAAR similarity's curves need that signal.
const GROUP_HOMES: [(&str, &str); GROUPS] =
    [("en-US", "New York"), ("de", "Berlin"), ("fr", "Paris"), ("es-ES", "Madrid"), ("ru", "Moscow"), ("pt-BR", "São Paulo")];
const P_AT_HOME: f64 = 0.6;

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

pub struct Install {
    pub addon: usize,
    pub blocklisted: Option<bool>,
    pub user_disabled: Option<bool>,
    pub app_disabled: Option<bool>,
    pub foreign_install: Option<bool>,
    pub is_system: Option<bool>,
    pub type_is_null: bool,
    pub signed_state: Option<i32>,
    pub scope: i32,
    pub install_day: i32,
    pub update_day: i32,
    pub multiprocess_compatible: bool,
}

pub struct Client {
    pub id: String,
    pub group: usize,
    pub locale: Option<&'static str>,
    pub city: Option<&'static str>,
    pub os: &'static str,
    pub app: &'static str,
    pub channel: &'static str,
    pub normalized_channel: &'static str,
    pub activity: f64,
    /// Installs in the order Firefox lists them; the first `base` are there from day 0.
    pub installs: Vec<Install>,
    pub base: usize,
    pub hours_scale: f64,
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

impl Client {
    /// The `active_addons` of day `day` of `days`: NULL or empty now and
    /// then, otherwise the installs so far (the list grows over the window).
    pub fn addons_on(&self, rng: &mut ChaCha8Rng, day: u32, days: u32) -> Option<&[Install]> {
        let u: f64 = rng.random();
        if u < 0.01 {
            None
        } else if u < 0.025 {
            Some(&[])
        } else {
            let extra = self.installs.len() - self.base;
            Some(&self.installs[..self.base + extra * day as usize / days.max(1) as usize])
        }
    }
}

/// `n` clients; the same seed gives the same clients, so a smaller `n` is a
/// prefix of a larger one and both tables share their clients.
pub fn make_clients(cat: &Catalogue, seed: u64, n: usize, start_date: NaiveDate) -> Vec<Client> {
    let mut rng = stream(seed, &[STREAM_CLIENTS]);
    // Its own stream, so that adding homes left every other trait as it was.
    let mut homes = stream(seed, &[STREAM_HOMES]);
    let (locales, cities, oses, apps, channels) =
        (Choice::new(LOCALES), Choice::new(CITIES), Choice::new(OSES), Choice::new(APPS), Choice::new(CHANNELS));
    let core_pick = Weighted::zipf(crate::addons::CORE_SIZE, 0.8);
    let first_day = (start_date - NaiveDate::default()).num_days() as i32;
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
            let id = client_id(&mut rng);
            let (locale, city) = (locales.sample(&mut rng), cities.sample(&mut rng));
            let (locale, city) = if homes.random_bool(P_AT_HOME) {
                (Some(GROUP_HOMES[group].0), Some(GROUP_HOMES[group].1))
            } else {
                (locale, city)
            };
            Client {
                id,
                group,
                locale,
                city,
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

/// Builders for the elements of one batch's `active_addons`.
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

/// One batch's `active_addons` column, a row at a time.
#[derive(Default)]
pub struct AddonLists {
    elements: AddonColumns,
    offsets: Vec<i32>,
    valid: Vec<bool>,
}

impl AddonLists {
    /// Appends a row: the list of `installs`, or NULL.
    pub fn push(&mut self, cat: &Catalogue, installs: Option<&[Install]>) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        for install in installs.unwrap_or_default() {
            self.elements.push(cat, install);
        }
        let last = self.offsets.last().copied().unwrap_or(0);
        self.offsets.push(last + installs.map_or(0, <[Install]>::len) as i32);
        self.valid.push(installs.is_some());
    }

    pub fn finish(mut self) -> Result<ListArray> {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        Ok(ListArray::try_new(
            Arc::new(addon_element()),
            OffsetBuffer::new(self.offsets.into()),
            Arc::new(self.elements.finish()?),
            Some(NullBuffer::from(self.valid)),
        )?)
    }
}

/// The element field of `active_addons`.
pub fn addon_element() -> Field {
    Field::new("element", DataType::Struct(addon_fields()), true)
}

/// Draws enough clients for `rows_at_scale_1` × scale rows at
/// `rows_per_client_day` rows per client and day, and writes `table` as
/// one `submission_date_s3=YYYYMMDD` partition per day, built by `day_batch`
/// (days in parallel, see `in_waves`). Returns the clients.
pub async fn write_daily_table(
    cat: &Catalogue,
    opts: &GenOptions,
    sinks: &mut Sinks,
    table: &str,
    (rows_at_scale_1, rows_per_client_day): (f64, f64),
    day_batch: impl Fn(&[Client], u32) -> Result<RecordBatch> + Sync,
) -> Result<Vec<Client>> {
    let n = ((opts.scale * rows_at_scale_1) / (opts.days as f64 * rows_per_client_day)).ceil().max(1.0) as usize;
    let clients = make_clients(cat, opts.seed, n, opts.start_date);
    opts.progress.note(&format!("{table}: {} clients over {} days", clients.len(), opts.days));
    let sink = sinks.open(table)?;
    let days: Vec<u32> = (0..opts.days).collect();
    let make = |&day: &u32| {
        let batch = day_batch(&clients, day)?;
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
    Ok(clients)
}
