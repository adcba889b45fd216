//! `community-notes`: a synthetic Community Notes download (spec
//! pflip_logs.md A1) in the exact positional TSV layout, for the pflip jobs:
//! `community_notes/{notes,ratings,noteStatusHistory,userEnrollment,
//! prescoringRaterModelOutput}/<table>-0000N.tsv`.
//!
//! Posts arrive over `--days` days from `--start-date`; each gets one to a
//! few notes; raters (a latent viewpoint factor, Zipf activity, favourite
//! tags) rate them in bursts; a note's status history follows from its
//! ratings: notes whose raters agree across viewpoints enter stabilization
//! and go CRH, and the ones rated more one-sidedly or worse later flip back.
//! The last hours hold notes still in stabilization (pflip-predict's target).

use std::fmt::Write as _;

use chrono::{NaiveDate, NaiveTime};
use fletch_engine::tsv::community_notes::{self as cn, HELPFUL_TAGS, MISLEADING, MISLEADING_TAGS, NOT_HELPFUL_TAGS, NOT_MISLEADING, NOT_MISLEADING_TAGS};
use fletch_udfs::hash::splitmix;
use rand::Rng;

use crate::rng::{Weighted, stream};
use crate::{GenOptions, Result, Sinks};

/// Where the tables go under the output root.
pub const ROOT: &str = "community_notes";

const NOTES_AT_SCALE_1: f64 = 100_000.0;
const MEAN_RATINGS_PER_NOTE: f64 = 100.0;
const MAX_RATINGS_PER_FILE: usize = 500_000;
const SNOWFLAKE_EPOCH: i64 = 1_288_834_974_657;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// A note leaves stabilization this long after entering it at the latest
/// (maxStableCrhMinutesThreshold).
const MAX_STABLE: i64 = 180 * MINUTE;
/// Notes are locked this long after creation.
const LOCK_AFTER: i64 = 14 * DAY;

const STREAM_RATERS: u64 = 0xC0_0001;
const STREAM_POSTS: u64 = 0xC0_0002;
const STREAM_NOTE: u64 = 0xC0_0003;

const CRH: &str = "CURRENTLY_RATED_HELPFUL";
const CRNH: &str = "CURRENTLY_RATED_NOT_HELPFUL";
const NMR: &str = "NEEDS_MORE_RATINGS";

struct Rater {
    id: String,
    factor: f64,
    favourite_helpful: [usize; 2],
    favourite_not_helpful: [usize; 2],
}

struct Note {
    id: i64,
    author: usize,
    created: i64,
    /// -1: a note on no post.
    tweet_id: i64,
    misleading: bool,
    deleted: bool,
}

/// A note's status history, from its ratings.
#[derive(Default)]
struct Status {
    first_non_nmr: Option<(i64, &'static str)>,
    current: Option<(i64, &'static str)>,
    latest_non_nmr: Option<(i64, &'static str)>,
    locked: Option<(i64, &'static str)>,
    decided_by: &'static str,
    first_stable: Option<i64>,
    /// timestampMillisOfNmrDueToMinStableCrhTime: set while in stabilization, -1 after.
    in_stable: Option<i64>,
}

pub async fn generate(opts: &GenOptions, sinks: &mut Sinks) -> Result<()> {
    let start = opts.start_date.and_time(NaiveTime::MIN).and_utc().timestamp_millis();
    let now = start + i64::from(opts.days) * DAY;
    let raters = raters(opts);
    let notes = notes(opts, start, now);
    let per_file = ((notes.len() as f64 * MEAN_RATINGS_PER_NOTE / 2.0).ceil() as usize).clamp(1, MAX_RATINGS_PER_FILE);

    let step = opts.progress.counted_step("generate notes and ratings", notes.len() as u64, "notes");
    let activity = Weighted::zipf(raters.len(), 0.8);
    let mut ratings = String::new();
    let (mut in_file, mut files) = (0, 0);
    let mut history = String::new();
    for (i, note) in notes.iter().enumerate() {
        let mut rng = stream(opts.seed, &[STREAM_NOTE, i as u64]);
        let rated = rate(note, &raters, &activity, now, &mut rng);
        for r in &rated {
            if in_file == 0 {
                ratings.push_str(&cn::ratings().header());
                ratings.push('\n');
            }
            write_rating(&mut ratings, note, &raters[r.rater], r);
            in_file += 1;
            if in_file == per_file {
                sinks.file(&format!("{ROOT}/ratings/ratings-{files:05}.tsv"), std::mem::take(&mut ratings).into_bytes()).await?;
                (in_file, files) = (0, files + 1);
            }
        }
        let status = status(note, &rated, &raters, now, &mut rng);
        write_history(&mut history, note, &author_id(opts.seed, note.author), &status, now);
        step.advance(1);
    }
    // The last file's rest; a header alone when there is no rating at all.
    if in_file > 0 || files == 0 {
        if ratings.is_empty() {
            ratings = format!("{}\n", cn::ratings().header());
        }
        sinks.file(&format!("{ROOT}/ratings/ratings-{files:05}.tsv"), ratings.into_bytes()).await?;
    }
    step.done(None);

    let mut notes_tsv = format!("{}\n", cn::notes().header());
    for note in notes.iter().filter(|n| !n.deleted) {
        write_note(&mut notes_tsv, note, &author_id(opts.seed, note.author), opts.seed);
    }
    sinks.file(&format!("{ROOT}/notes/notes-00000.tsv"), notes_tsv.into_bytes()).await?;
    sinks.file(&format!("{ROOT}/noteStatusHistory/noteStatusHistory-00000.tsv"), format!("{}\n{history}", cn::note_status_history().header()).into_bytes()).await?;
    sinks.file(&format!("{ROOT}/userEnrollment/userEnrollment-00000.tsv"), enrollment(&raters, now).into_bytes()).await?;
    sinks.file(&format!("{ROOT}/prescoringRaterModelOutput/prescoringRaterModelOutput-00000.tsv"), prescoring(&raters, opts.seed).into_bytes()).await?;
    Ok(())
}

fn participant_id(seed: u64, kind: u64, i: usize) -> String {
    let h = |k: u64| splitmix(seed ^ splitmix(kind ^ splitmix(i as u64 ^ k)));
    format!("{:016X}{:016X}{:016X}{:016X}", h(1), h(2), h(3), h(4))
}

fn author_id(seed: u64, author: usize) -> String {
    participant_id(seed, 2, author)
}

fn normal(rng: &mut impl Rng) -> f64 {
    let (u, v): (f64, f64) = (rng.random::<f64>().max(f64::MIN_POSITIVE), rng.random());
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

fn raters(opts: &GenOptions) -> Vec<Rater> {
    let mut rng = stream(opts.seed, &[STREAM_RATERS]);
    let count = ((20_000.0 * opts.scale.sqrt()).round() as usize).max(300);
    (0..count)
        .map(|i| Rater {
            id: participant_id(opts.seed, 1, i),
            factor: (normal(&mut rng) * 0.45).clamp(-1.2, 1.2),
            favourite_helpful: [rng.random_range(0..HELPFUL_TAGS.len()), rng.random_range(0..HELPFUL_TAGS.len())],
            favourite_not_helpful: [rng.random_range(0..NOT_HELPFUL_TAGS.len()), rng.random_range(0..NOT_HELPFUL_TAGS.len())],
        })
        .collect()
}

/// Posts over the window, one to a few notes each, in creation order.
fn notes(opts: &GenOptions, start: i64, now: i64) -> Vec<Note> {
    let mut rng = stream(opts.seed, &[STREAM_POSTS]);
    let wanted = ((NOTES_AT_SCALE_1 * opts.scale).round() as usize).max(200);
    let per_post = Weighted::new(&[0.55, 0.25, 0.12, 0.05, 0.03]);
    let authors = Weighted::zipf((wanted / 4).max(10), 1.0);
    let mut notes = Vec::with_capacity(wanted + 5);
    // The last posts come in the hours before `now`, so that some of their
    // notes are in stabilization when the download is taken.
    let recent = (wanted / 100).max(100);
    let mut sequence = 0i64;
    while notes.len() < wanted {
        let posted = if notes.len() + recent >= wanted {
            now - rng.random_range(2 * HOUR..8 * HOUR)
        } else {
            start + (rng.random::<f64>().powf(0.9) * (now - start - HOUR) as f64) as i64
        };
        let tweet_id = ((posted - SNOWFLAKE_EPOCH) << 22) | rng.random_range(0..1i64 << 22);
        let no_post = rng.random_bool(0.01);
        for _ in 0..=per_post.sample(&mut rng) {
            let latency = ((normal(&mut rng) * 1.2 + 180f64.ln()).exp() * MINUTE as f64) as i64;
            let created = (posted + latency.max(MINUTE)).min(now - MINUTE);
            sequence += 1;
            notes.push(Note {
                id: ((created - SNOWFLAKE_EPOCH) << 22) | (sequence & 0x3F_FFFF),
                author: authors.sample(&mut rng),
                created,
                tweet_id: if no_post { -1 } else { tweet_id },
                misleading: rng.random_bool(0.75),
                deleted: rng.random_bool(0.02),
            });
        }
    }
    notes.sort_by_key(|n| (n.created, n.id));
    notes
}

struct Rated {
    rater: usize,
    at: i64,
    /// Index into HELPFULNESS_LEVELS; None for a v1 rating.
    level: Option<usize>,
    helpful_v1: bool,
    helpful_tags: u16,
    not_helpful_tags: u16,
}

/// A note's ratings in time order: early ratings after creation, a burst,
/// a long tail; the level from the note's quality and slant against the rater's factor.
fn rate(note: &Note, raters: &[Rater], activity: &Weighted, now: i64, rng: &mut impl Rng) -> Vec<Rated> {
    let quality = normal(rng) + if note.misleading { 0.4 } else { -0.6 };
    let slant = if rng.random_bool(0.5) { 1.0 } else { -1.0 } * rng.random::<f64>();
    let count = if rng.random_bool(0.05) { 0 } else { ((normal(rng) * 0.9).exp() * MEAN_RATINGS_PER_NOTE * 0.67) as usize };
    let count = count.min(raters.len() / 2);
    let burst = note.created + rng.random_range(0..DAY);
    let v1 = note.created < now - 200 * DAY;
    let mut seen = std::collections::HashSet::with_capacity(count);
    let mut out = Vec::with_capacity(count);
    // Raters already drawn and ratings past the window are drawn again, a bounded number of times.
    for _ in 0..4 * count {
        if out.len() == count {
            break;
        }
        let rater = activity.sample(rng);
        if !seen.insert(rater) {
            continue;
        }
        let u: f64 = rng.random();
        let delay = if u < 0.6 {
            -(rng.random::<f64>().max(1e-12)).ln() * 2.0 * HOUR as f64
        } else if u < 0.85 {
            (burst - note.created) as f64 - (rng.random::<f64>().max(1e-12)).ln() * 5.0 * MINUTE as f64
        } else {
            rng.random::<f64>() * 7.0 * DAY as f64
        };
        let at = note.created + 1_000 + delay as i64;
        if at >= now {
            continue;
        }
        let r = &raters[rater];
        let z = quality - 1.5 * slant * r.factor + normal(rng) * 0.7;
        let level = if z > 0.5 { 0 } else if z > -0.3 { 1 } else { 2 };
        out.push(Rated {
            rater,
            at,
            level: (!(v1 && rng.random_bool(0.3))).then_some(level),
            helpful_v1: level == 0,
            helpful_tags: if level < 2 { tags(r.favourite_helpful, HELPFUL_TAGS.len(), rng) } else { 0 },
            not_helpful_tags: if level > 0 { tags(r.favourite_not_helpful, NOT_HELPFUL_TAGS.len(), rng) } else { 0 },
        });
    }
    out.sort_by_key(|r| r.at);
    out
}

/// Tags as bits: a rater's two favourites often, the others rarely.
fn tags(favourites: [usize; 2], n: usize, rng: &mut impl Rng) -> u16 {
    (0..n).filter(|t| rng.random_bool(if favourites.contains(t) { 0.6 } else { 0.04 })).fold(0, |acc, t| acc | 1 << t)
}

/// The status history its ratings imply: bridging helpfulness (helpful
/// from both sides) takes a misleading note into stabilization; the notes
/// whose later ratings turn or whose early ones were one-sided flip back.
fn status(note: &Note, rated: &[Rated], raters: &[Rater], now: i64, rng: &mut impl Rng) -> Status {
    let helpful_share = |rs: &[Rated], side: f64| {
        let on_side: Vec<_> = rs.iter().filter(|r| raters[r.rater].factor * side > 0.0).collect();
        on_side.iter().filter(|r| r.level == Some(0)).count() as f64 / on_side.len().max(1) as f64
    };
    let old = note.created < now - LOCK_AFTER;
    let lock = |s: &'static str| old.then_some((note.created + LOCK_AFTER, s));
    let mut st = Status { decided_by: "CoreModel (v1.1)", ..Status::default() };
    let enough = 8;
    let bridging = rated.len() >= enough && helpful_share(&rated[..enough.max(rated.len() / 2)], 1.0).min(helpful_share(&rated[..enough.max(rated.len() / 2)], -1.0)) > 0.35;
    if !note.misleading || !bridging {
        let unhelpful = rated.iter().filter(|r| r.level == Some(2)).count() * 2 > rated.len() && rated.len() >= enough;
        if unhelpful {
            let at = rated[enough - 1].at + 30 * MINUTE;
            st.first_non_nmr = Some((at, CRNH));
            st.current = Some((at, CRNH));
            st.latest_non_nmr = st.first_non_nmr;
            st.locked = lock(CRNH);
            st.decided_by = if rng.random_bool(0.2) { "InsufficientExplanation (v1.0)" } else { "CoreModel (v1.1)" };
        } else {
            st.current = Some((note.created, NMR));
            st.locked = lock(NMR);
        }
        return st;
    }
    let stable = rated[enough - 1].at + 20 * MINUTE;
    let later = rated.iter().filter(|r| r.at > stable).collect::<Vec<_>>();
    let turned = later.iter().filter(|r| r.level == Some(2)).count() as f64 / later.len().max(1) as f64;
    let split = (helpful_share(rated, 1.0) - helpful_share(rated, -1.0)).abs();
    let flips = rng.random_bool(1.0 / (1.0 + (-(-2.0 + 5.0 * turned + 3.0 * split)).exp()));
    // Before the stabilization timestamp became reliable (2024-08-19), most notes skipped it.
    let skips = note.tweet_id < 1_825_679_568_688_054_351 && rng.random_bool(0.7);
    if stable > now {
        // Not yet in stabilization.
        st.current = Some((note.created, NMR));
        return st;
    }
    if stable + MAX_STABLE > now {
        // In stabilization now.
        st.first_stable = Some(stable);
        st.in_stable = Some(stable);
        st.current = Some((stable, NMR));
        return st;
    }
    if !skips {
        st.first_stable = Some(stable);
        st.in_stable = Some(-1);
    }
    let crh_at = stable + rng.random_range(30..180) * MINUTE;
    let never_crh = flips && !skips && rng.random_bool(0.5);
    if never_crh || crh_at > now {
        st.current = Some((stable + 60 * MINUTE, NMR));
        st.locked = lock(NMR);
        return st;
    }
    st.first_non_nmr = Some((crh_at, CRH));
    st.latest_non_nmr = st.first_non_nmr;
    if flips {
        let back = (crh_at + rng.random_range(1..48) * HOUR).min(now - MINUTE);
        st.current = Some((back, NMR));
        st.locked = lock(NMR);
        // Drift guard sometimes had a flipped note scored CRH again.
        if rng.random_bool(0.1) {
            st.decided_by = "ScoringDriftGuard (v1.0)";
        }
    } else {
        st.current = Some((crh_at, CRH));
        st.locked = lock(CRH);
        st.decided_by = match rng.random_range(0..20) {
            0 => "ScoringDriftGuard (v1.0)",
            1 | 2 => "ExpansionModel (v1.1)",
            _ => "CoreModel (v1.1)",
        };
    }
    st
}

fn flag(b: bool) -> &'static str {
    if b { "1" } else { "0" }
}

fn write_rating(out: &mut String, note: &Note, rater: &Rater, r: &Rated) {
    let level = r.level.map_or("", |l| cn::HELPFULNESS_LEVELS[l]);
    let version = if r.level.is_some() { 2 } else { 1 };
    let (helpful, not_helpful) = if r.level.is_some() { ("0", "0") } else { (flag(r.helpful_v1), flag(!r.helpful_v1)) };
    let _ = write!(out, "{}\t{}\t{}\t{version}\t0\t0\t{helpful}\t{not_helpful}\t{level}", note.id, rater.id, r.at);
    for t in 0..HELPFUL_TAGS.len() {
        let _ = write!(out, "\t{}", flag(r.helpful_tags & (1 << t) != 0));
    }
    for t in 0..NOT_HELPFUL_TAGS.len() {
        let _ = write!(out, "\t{}", flag(r.not_helpful_tags & (1 << t) != 0));
    }
    let _ = writeln!(out, "\t{}", note.tweet_id);
}

fn write_note(out: &mut String, note: &Note, author: &str, seed: u64) {
    let classification = if note.misleading { MISLEADING } else { NOT_MISLEADING };
    let _ = write!(out, "{}\t{author}\t{}\t{}\t{classification}\t\t\t", note.id, note.created, note.tweet_id);
    let pick = splitmix(seed ^ note.id as u64);
    for (t, _) in MISLEADING_TAGS.iter().enumerate() {
        let _ = write!(out, "\t{}", flag(note.misleading && (pick >> t) & 3 == 0 || note.misleading && t == 1 && pick % 5 == 0));
    }
    for (t, _) in NOT_MISLEADING_TAGS.iter().enumerate() {
        let _ = write!(out, "\t{}", flag(!note.misleading && (pick >> (t + 8)) & 1 == 0));
    }
    let words = ["the", "post", "claims", "source", "shows", "data", "context", "report", "figure", "missing"];
    let summary: Vec<&str> = (0..12).map(|w| words[((pick >> (w * 3)) % words.len() as u64) as usize]).collect();
    let _ = writeln!(out, "\t{}\t{} https://example.org/{:x}\t{}", flag(pick % 3 != 0), summary.join(" "), pick >> 40, flag(pick % 20 == 0));
}

fn write_history(out: &mut String, note: &Note, author: &str, st: &Status, now: i64) {
    let ts = |v: Option<i64>| v.map(|t| t.to_string()).unwrap_or_default();
    let part = |v: Option<(i64, &str)>| (ts(v.map(|(t, _)| t)), v.map(|(_, s)| s).unwrap_or("").to_string());
    let (first_ts, first) = part(st.first_non_nmr);
    let (current_ts, current) = part(st.current);
    let (latest_ts, latest) = part(st.latest_non_nmr);
    let (lock_ts, locked) = part(st.locked);
    let changed = st.current.map(|(t, _)| t).filter(|&t| t != note.created).unwrap_or(-1);
    let group = if note.id % 7 == 0 { String::new() } else { format!("{}.0", note.id.rem_euclid(13) + 1) };
    let _ = writeln!(
        out,
        "{}\t{author}\t{}\t{first_ts}\t{first}\t{current_ts}\t{current}\t{latest_ts}\t{latest}\t{lock_ts}\t{locked}\t\t{current}\t\t\t{}\t{group}\t{changed}\t{}\t\t{group}\t{}.0\t{}",
        note.id,
        note.created,
        st.decided_by,
        ts(st.in_stable),
        now / MINUTE,
        ts(st.first_stable),
    );
}

fn enrollment(raters: &[Rater], now: i64) -> String {
    let mut out = format!("{}\n", cn::user_enrollment().header());
    for (i, r) in raters.iter().enumerate() {
        let state = ["earnedIn", "earnedIn", "earnedIn", "atRisk", "newUser", "earnedOutNoAcknowledge"][i % 6];
        let population = if i % 5 == 0 { "EXPANSION" } else { "CORE" };
        let _ = writeln!(out, "{}\t{state}\t{}\t{}\t0\t{population}\t{}\t0", r.id, if state == "newUser" { 5 } else { 0 }, now - (i as i64 % 90) * DAY, (i % 13) + 1);
    }
    out
}

/// Rater factors per scorer: most raters in Core, some only in Expansion
/// or ExpansionPlus, a few in none (their ratings count, without a factor),
/// and group-scorer rows pflip ignores.
fn prescoring(raters: &[Rater], seed: u64) -> String {
    let mut out = format!("{}\n", cn::prescoring_rater_model_output().header());
    for (i, r) in raters.iter().enumerate() {
        let u = splitmix(seed ^ 0xFAC7 ^ i as u64) % 100;
        let scorers: &[&str] = match u {
            0..75 => &["MFCoreScorer", "MFExpansionScorer"],
            75..85 => &["MFExpansionScorer"],
            85..91 => &["MFExpansionPlusScorer"],
            91..95 => &["MFGroupScorer_1"],
            _ => &[],
        };
        for (k, scorer) in scorers.iter().enumerate() {
            // The Expansion factor differs a little from Core's, so the priority shows.
            let factor = r.factor + k as f64 * 0.05;
            let _ = writeln!(out, "{}\t0.1\t{factor:.6}\t0.0\t0.2\t0.8\tTrue\t{scorer}\t1.0\t0.0\t0.0\t1.0\t0.0\t0\t{}\t0\t3\t1\t0\t0\t0.0\t0.8", r.id, 10 + i % 50);
        }
    }
    out
}

/// The default window's first day.
pub fn default_start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 6, 1).expect("date")
}
