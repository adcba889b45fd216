//! `webapp`: a small web application's data, consistent across its parts
//! (the blog seed's warehouse): its users, accounts and transactions as SQL
//! that psql, mysql and sqlite load, the routes file of its URLs, and a
//! Combined-format access log per day whose requests hit those routes with
//! ids that exist, plus what real logs hold: bots, 404s, redirects without a
//! byte count, IPv6 clients, servers in several time zones, and a few
//! malformed lines. The first day is gzipped.

use std::fmt::Write as _;
use std::io::Write as _;

use chrono::{Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use rand::Rng;

use crate::rng::{Choice, stream};
use crate::sink::in_waves;
use crate::{Error, GenOptions, Result, Sinks};

pub const ROUTES_FILE: &str = "webapp/routes.tsv";
pub const SCHEMA_FILE: &str = "webapp/schema.sql";
pub const DATA_FILE: &str = "webapp/data.sql";
/// The same tables and rows as a SQLite database (`db-import --connect sqlite://webapp/webapp.sqlite`).
pub const SQLITE_FILE: &str = "webapp/webapp.sqlite";
pub const LOG_FOLDER: &str = "access_logs";
const USERS_AT_SCALE_1: f64 = 10_000.0;
const LINES_PER_DAY_AT_SCALE_1: f64 = 500_000.0;
const STREAM: u64 = 0x3EB_A99;
/// Malformed lines per million.
const MALFORMED_PPM: u32 = 500;

/// Django-style routes, in the order the application lists them (first match wins).
pub const ROUTES: &str = "\
# name<TAB>pattern (matched against the path without its leading /)
home\t^$
signup\t^signup/$
login\t^login/$
user_profile\t^user/(?P<user_id>\\d+)/$
add_user\t^user/(?P<user_id>\\d+)/add/$
account\t^account/(?P<account_id>\\d+)/(?:#/?)?$
transactions\t^account/(?P<account_id>\\d+)/transactions/(?:(?P<page>\\d+)/)?$
checkout\t^checkout/(?P<plan>free|pro|team)/$
search\t^search/$
static\t^static/(?P<asset>.+)$
";

const SCHEMA: &str = "\
CREATE TABLE users (
  user_id INTEGER PRIMARY KEY,
  username VARCHAR(32) NOT NULL,
  country CHAR(2) NOT NULL,
  gender CHAR(1),
  plan VARCHAR(8) NOT NULL,
  signup_date DATE NOT NULL
);
CREATE TABLE accounts (
  account_id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users (user_id),
  opened_at TIMESTAMP NOT NULL
);
CREATE TABLE transactions (
  transaction_id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES accounts (account_id),
  amount DECIMAL(10, 2) NOT NULL,
  created_at TIMESTAMP NOT NULL
);
";

const COUNTRIES: &[(&str, f64)] = &[("US", 0.35), ("DE", 0.15), ("GB", 0.12), ("IN", 0.12), ("BR", 0.1), ("JP", 0.08), ("FR", 0.08)];
const PLANS: &[(&str, f64)] = &[("free", 0.7), ("pro", 0.25), ("team", 0.05)];
/// The offsets the application's servers log in.
const OFFSETS: &[i32] = &[0, -5 * 3600, 3600, 5 * 3600 + 1800];
const BROWSERS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
];
const BOTS: &[&str] = &["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"];

struct User {
    country: &'static str,
    plan: &'static str,
    signup: NaiveDate,
    accounts: Vec<u32>,
}

pub async fn generate(opts: &GenOptions, sinks: &mut Sinks) -> Result<()> {
    let users = build_users(opts);
    sinks.file(ROUTES_FILE, ROUTES.as_bytes().to_vec()).await?;
    sinks.file(SCHEMA_FILE, SCHEMA.as_bytes().to_vec()).await?;
    let data = data_sql(opts, &users);
    sinks.file(SQLITE_FILE, sqlite_database(&data)?).await?;
    sinks.file(DATA_FILE, data.into_bytes()).await?;
    let days: Vec<u32> = (0..opts.days).collect();
    let step = opts.progress.counted_step("generate access logs", days.len() as u64, "days");
    in_waves(&days, |&day| log_day(opts, &users, day), async |_, (name, body)| {
        sinks.file(&format!("{LOG_FOLDER}/{name}"), body).await?;
        step.advance(1);
        Ok(())
    })
    .await?;
    step.done(None);
    Ok(())
}

fn build_users(opts: &GenOptions) -> Vec<User> {
    let mut rng = stream(opts.seed, &[STREAM, 0]);
    let (countries, plans) = (Choice::new(COUNTRIES), Choice::new(PLANS));
    let count = ((USERS_AT_SCALE_1 * opts.scale).round() as usize).max(20);
    let mut next_account = 1u32;
    (0..count)
        .map(|_| {
            let accounts = (0..if rng.random_bool(0.1) { 2 } else { 1 })
                .map(|_| {
                    next_account += 1;
                    next_account - 1
                })
                .collect();
            User {
                country: countries.sample(&mut rng),
                plan: plans.sample(&mut rng),
                signup: opts.start_date - Duration::days(rng.random_range(1..=730)),
                accounts,
            }
        })
        .collect()
}

/// INSERTs in batches of 500 rows, in SQL every one of psql, mysql and sqlite takes.
fn data_sql(opts: &GenOptions, users: &[User]) -> String {
    let mut rng = stream(opts.seed, &[STREAM, 1]);
    let mut sql = String::new();
    let mut insert = |table: &str, rows: Vec<String>| {
        for chunk in rows.chunks(500) {
            let _ = writeln!(sql, "INSERT INTO {table} VALUES\n  {};", chunk.join(",\n  "));
        }
    };
    insert(
        "users",
        users
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let gender = match i % 7 {
                    0 => "NULL".to_string(),
                    k => format!("'{}'", if k % 2 == 0 { "f" } else { "m" }),
                };
                format!("({}, 'user{}', '{}', {gender}, '{}', '{}')", i + 1, i + 1, u.country, u.plan, u.signup)
            })
            .collect(),
    );
    let accounts = users.iter().enumerate().flat_map(|(i, u)| u.accounts.iter().map(move |&a| (i + 1, a, u.signup)));
    insert("accounts", accounts.clone().map(|(user, a, signup)| format!("({a}, {user}, '{signup} 12:00:00')")).collect());
    let mut transactions = Vec::new();
    for (_, a, signup) in accounts {
        for _ in 0..rng.random_range(0..4) {
            let cents = rng.random_range(100..50_000);
            let at = signup + Duration::days(rng.random_range(0..30));
            transactions.push(format!("({}, {a}, {}.{:02}, '{at} 08:30:00')", transactions.len() + 1, cents / 100, cents % 100));
        }
    }
    insert("transactions", transactions);
    sql
}

/// The bytes of a SQLite database file holding [`SCHEMA`] and `data`.
fn sqlite_database(data: &str) -> Result<Vec<u8>> {
    let failed = |e: &dyn std::fmt::Display| Error::io(format!("{SQLITE_FILE}: {e}"));
    let dir = tempfile::tempdir().map_err(|e| failed(&e))?;
    let path = dir.path().join("webapp.sqlite");
    let db = rusqlite::Connection::open(&path).map_err(|e| failed(&e))?;
    db.execute_batch(&format!("BEGIN;\n{SCHEMA}{data}COMMIT;")).map_err(|e| failed(&e))?;
    db.close().map_err(|(_, e)| failed(&e))?;
    std::fs::read(&path).map_err(|e| failed(&e))
}

/// One day of the access log: `access-YYYYMMDD.log` (`.log.gz` for the first day).
fn log_day(opts: &GenOptions, users: &[User], day: u32) -> Result<(String, Vec<u8>)> {
    let mut rng = stream(opts.seed, &[STREAM, 2, u64::from(day)]);
    let date = opts.start_date + Duration::days(i64::from(day));
    let lines = ((LINES_PER_DAY_AT_SCALE_1 * opts.scale).round() as usize).max(50);
    let midnight = Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight")).timestamp();
    let mut times: Vec<i64> = (0..lines).map(|_| midnight + rng.random_range(0..86_400)).collect();
    times.sort_unstable();
    let mut out = String::with_capacity(lines * 230);
    for t in times {
        let offset = FixedOffset::east_opt(OFFSETS[rng.random_range(0..OFFSETS.len())]).expect("offset");
        let stamp = offset.timestamp_opt(t, 0).single().expect("valid instant").format("%d/%b/%Y:%H:%M:%S %z");
        let line = request_line(&mut rng, users, &stamp.to_string());
        if rng.random_range(0..1_000_000) < MALFORMED_PPM {
            // Cut mid-field, as a log rotated while written.
            out.push_str(&line[..line.len() * 2 / 3]);
        } else {
            out.push_str(&line);
        }
        out.push('\n');
    }
    let name = format!("access-{}.log", date.format("%Y%m%d"));
    if day > 0 {
        return Ok((name, out.into_bytes()));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(out.as_bytes()).and_then(|_| gz.finish()).map(|body| (format!("{name}.gz"), body)).map_err(|e| Error::io(format!("cannot gzip {name}: {e}")))
}

fn request_line(rng: &mut impl Rng, users: &[User], stamp: &str) -> String {
    let user = rng.random_range(0..users.len());
    let u = &users[user];
    let id = user + 1;
    let account = u.accounts[rng.random_range(0..u.accounts.len())];
    let bot = rng.random_bool(0.05);
    let (method, target, status) = if bot {
        match rng.random_range(0..3) {
            0 => ("GET", "/robots.txt".to_string(), 404),
            1 => ("GET", format!("/user/{id}/"), 200),
            _ => ("GET", "/".to_string(), 200),
        }
    } else {
        match rng.random_range(0..100) {
            0..20 => ("GET", "/".to_string(), 200),
            20..28 => ("GET", format!("/user/{id}/"), 200),
            28..30 => ("POST", format!("/user/{id}/add/"), 302),
            30..42 => ("GET", format!("/account/{account}/"), 200),
            42..50 => ("GET", format!("/account/{account}/transactions/{}", if rng.random_bool(0.5) { format!("{}/", rng.random_range(2..5)) } else { String::new() }), 200),
            50..53 => ("POST", "/signup/".to_string(), 302),
            53..60 => ("POST", "/login/".to_string(), if rng.random_bool(0.9) { 302 } else { 401 }),
            60..63 => ("GET", format!("/checkout/{}/", u.plan), 200),
            63..73 => ("GET", format!("/search/?q={}&page={}", ["shoes", "red+hat", "caf%C3%A9", "a%26b"][rng.random_range(0..4)], rng.random_range(1..4)), 200),
            73..95 => ("GET", format!("/static/{}", ["app.js", "app.css", "img/logo.png"][rng.random_range(0..3)]), if rng.random_bool(0.3) { 304 } else { 200 }),
            95..98 => ("GET", ["/wp-login.php", "/.env", "/admin/"][rng.random_range(0..3)].to_string(), 404),
            _ => ("GET", format!("/account/{account}/"), 500),
        }
    };
    let ip = if rng.random_bool(0.1) { format!("2001:db8::{:x}", rng.random_range(1..0xffff)) } else { format!("{}.{}.{}.{}", rng.random_range(1..224), rng.random_range(0..256), rng.random_range(0..256), rng.random_range(1..255)) };
    let bytes = if matches!(status, 302 | 304) { "-".to_string() } else { rng.random_range(200..60_000).to_string() };
    let referrer = if rng.random_bool(0.4) { "\"https://www.example.com/\"".to_string() } else { "\"-\"".to_string() };
    let agent = if bot { BOTS[rng.random_range(0..BOTS.len())] } else { BROWSERS[rng.random_range(0..BROWSERS.len())] };
    format!("{ip} - - [{stamp}] \"{method} {target} HTTP/1.1\" {status} {bytes} {referrer} \"{agent}\"")
}
