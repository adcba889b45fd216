//! The add-on catalogue shared by `clients-daily` and `amo`, so that the
//! guids Firefox clients report are the ones AMO describes.
//!
//! Index order is popularity order among the catalogue's AMO extensions.
//! Latent user groups each own a disjoint "core" of curated add-ons, which
//! is what clustering (TAAR similarity) should recover.

use chrono::NaiveDate;
use rand::Rng;

use crate::rng::{Weighted, stream};

pub const PIONEER_GUID: &str = "pioneer-opt-in@mozilla.org";
/// AMO extensions (searchable), including the Pioneer add-on.
pub const AMO_EXTENSIONS: usize = 2_000;
/// Themes, dictionaries and language packs: installed, but not AMO extensions.
pub const OTHER_TYPES: usize = 150;
/// The curated whitelist size (`only_guids_top_200.json`).
pub const CURATED: usize = 200;
pub const GROUPS: usize = 6;
pub const CORE_SIZE: usize = 25;
/// Popularity rank of the Pioneer add-on (popular enough to be installed).
const PIONEER_RANK: usize = 45;
/// Ranks among the curated add-ons that form the group cores (the most
/// popular ones before them are everybody's favourites).
const CORE_START: usize = 20;

const SYSTEM: &[&str] = &[
    "screenshots@mozilla.org",
    "webcompat@mozilla.org",
    "formautofill@mozilla.org",
    "fxmonitor@mozilla.org",
    "doh-rollout@mozilla.org",
    "pictureinpicture@mozilla.org",
];

const WORDS: &[&str] = &[
    "tab", "privacy", "dark", "reader", "video", "shop", "coupon", "translate", "grammar", "password",
    "ad", "block", "speed", "dial", "note", "clip", "image", "search", "mail", "cookie", "proxy", "vpn",
    "tube", "music", "weather", "news", "session", "theme", "font", "zoom", "scroll", "focus", "timer",
    "crypto", "price", "tracker", "sync", "download", "screen", "capture",
];
const SUFFIXES: &[&str] = &["helper", "plus", "pro", "lite", "manager", "guard", "tools", "master", "box", "kit"];

#[derive(Clone, Debug)]
pub struct Addon {
    pub guid: String,
    pub name: String,
    /// `type` as Firefox reports it: extension, theme, dictionary, locale.
    pub kind: &'static str,
    pub is_webextension: bool,
    pub is_system: bool,
    pub version: String,
    /// AMO `ratings.average`, 1.0 to 5.0.
    pub rating: f64,
    pub rating_count: u32,
    pub weekly_downloads: u64,
    pub is_featured: bool,
    /// Creation date of the first version on AMO.
    pub created: NaiveDate,
}

#[derive(Debug)]
pub struct Catalogue {
    pub addons: Vec<Addon>,
    /// Popularity over every installable, non-system add-on.
    pub popularity: Weighted,
    /// Curated whitelist, by popularity (the file lists them sorted by guid).
    pub curated: Vec<usize>,
    /// Each latent group's core add-ons (disjoint, all curated).
    pub cores: Vec<Vec<usize>>,
    pub system: Vec<usize>,
    pub pioneer: usize,
}

impl Catalogue {
    /// The AMO extensions: indices `0..AMO_EXTENSIONS`.
    pub fn amo_extensions(&self) -> &[Addon] {
        &self.addons[..AMO_EXTENSIONS]
    }
}

fn guid(rng: &mut impl Rng, i: usize) -> String {
    if rng.random_bool(0.35) {
        let h: u128 = rng.random();
        format!(
            "{{{:08x}-{:04x}-{:04x}-{:04x}-{:012x}}}",
            (h >> 96) as u32,
            (h >> 80) as u16,
            (h >> 64) as u16,
            (h >> 48) as u16,
            h as u64 & 0xffff_ffff_ffff
        )
    } else {
        let a = WORDS[rng.random_range(0..WORDS.len())];
        let b = SUFFIXES[rng.random_range(0..SUFFIXES.len())];
        format!("{a}-{b}-{i}@addons.fletch.example")
    }
}

fn title(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

pub fn build(seed: u64) -> Catalogue {
    let mut rng = stream(seed, &[0xADD0]);
    let epoch = NaiveDate::from_ymd_opt(2012, 1, 1).expect("date");
    let mut addons = Vec::with_capacity(AMO_EXTENSIONS + OTHER_TYPES + SYSTEM.len());
    for i in 0..AMO_EXTENSIONS + OTHER_TYPES {
        let amo = i < AMO_EXTENSIONS;
        let kind = if amo {
            "extension"
        } else {
            ["theme", "theme", "dictionary", "locale"][i % 4]
        };
        let guid = if i == PIONEER_RANK { PIONEER_GUID.to_string() } else { guid(&mut rng, i) };
        let a = WORDS[rng.random_range(0..WORDS.len())];
        let b = SUFFIXES[rng.random_range(0..SUFFIXES.len())];
        // Low ranks are older and better rated on average; a tail is young or poorly rated.
        let age_days = if rng.random_bool(0.08) { rng.random_range(0..60) } else { rng.random_range(60..5_000) };
        addons.push(Addon {
            guid,
            name: format!("{} {} {i}", title(a), title(b)),
            kind,
            // Legacy (pre-WebExtension) add-ons are a sixth of the catalogue, never the top ones.
            is_webextension: i < 100 || i == PIONEER_RANK || !rng.random_bool(1.0 / 6.0),
            is_system: false,
            version: format!("{}.{}.{}", rng.random_range(1..12), rng.random_range(0..20), rng.random_range(0..10)),
            rating: if rng.random_bool(0.15) { rng.random_range(1.0..3.0) } else { rng.random_range(3.0..5.0) },
            rating_count: rng.random_range(0..50_000),
            weekly_downloads: (2_000_000.0 / (i + 1) as f64) as u64 + rng.random_range(0..100),
            is_featured: rng.random_bool(0.05),
            created: NaiveDate::from_ymd_opt(2026, 10, 31).expect("date") - chrono::Days::new(age_days),
        });
    }
    let system: Vec<usize> = (0..SYSTEM.len()).map(|k| addons.len() + k).collect();
    for (k, g) in SYSTEM.iter().enumerate() {
        addons.push(Addon {
            guid: g.to_string(),
            name: title(g.split('@').next().unwrap_or(g)),
            kind: "extension",
            is_webextension: true,
            is_system: true,
            version: format!("{}.0.{k}", 10 + k),
            rating: 0.0,
            rating_count: 0,
            weekly_downloads: 0,
            is_featured: false,
            created: epoch,
        });
    }
    let curated: Vec<usize> = (0..AMO_EXTENSIONS)
        .filter(|&i| addons[i].is_webextension && i != PIONEER_RANK)
        .take(CURATED)
        .collect();
    let cores = (0..GROUPS)
        .map(|g| curated[CORE_START..CORE_START + GROUPS * CORE_SIZE].iter().copied().skip(g).step_by(GROUPS).collect())
        .collect();
    Catalogue {
        popularity: Weighted::zipf(AMO_EXTENSIONS + OTHER_TYPES, 1.05),
        addons,
        curated,
        cores,
        system,
        pioneer: PIONEER_RANK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_deterministic_and_well_formed() {
        let a = build(42);
        let b = build(42);
        assert_eq!(a.addons.iter().map(|x| &x.guid).collect::<Vec<_>>(), b.addons.iter().map(|x| &x.guid).collect::<Vec<_>>());
        let guids: std::collections::HashSet<_> = a.addons.iter().map(|x| &x.guid).collect();
        assert_eq!(guids.len(), a.addons.len(), "guids are unique");
        assert_eq!(a.curated.len(), CURATED);
        assert_eq!(a.addons[a.pioneer].guid, PIONEER_GUID);
        assert!(a.cores.iter().all(|c| c.len() == CORE_SIZE));
        let core_members: std::collections::HashSet<_> = a.cores.iter().flatten().collect();
        assert_eq!(core_members.len(), GROUPS * CORE_SIZE, "cores are disjoint");
        assert!(a.amo_extensions().iter().any(|x| !x.is_webextension), "legacy add-ons exist");
        assert!(a.amo_extensions().iter().any(|x| x.rating < 3.0), "low-rated add-ons exist");
    }
}
