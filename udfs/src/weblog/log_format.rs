//! Apache `LogFormat` strings compiled into byte-level parsers: one pass
//! over a line, no regex. A format is literal text between directives; a
//! field ends where the text after it starts, a quoted field at its closing
//! quote (backslash escapes skipped), `%t` at its `]`.

use chrono::{FixedOffset, NaiveDate, TimeZone};

/// What a directive's value becomes in the parsed struct.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    ClientIp,
    Logname,
    User,
    Time,
    Request,
    Method,
    Path,
    Query,
    Protocol,
    Status,
    /// `%b`, `%B`, `%O`.
    Bytes,
    /// `%D` (µs), `%T` / `%{UNIT}T` (s, ms or µs): scaled to microseconds.
    Duration { micros_per_unit: i64 },
    Vhost,
    Referrer,
    UserAgent,
    /// Any other directive, kept as text under its own spelling.
    Other(String),
}

#[derive(Clone, Debug)]
enum Item {
    Literal(Vec<u8>),
    Field { field: Field, quoted: bool },
}

/// A compiled format.
#[derive(Clone, Debug)]
pub struct LogFormat {
    items: Vec<Item>,
}

pub const COMMON: &str = "%h %l %u %t \"%r\" %>s %b";
pub const COMBINED: &str = "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"";

/// One parsed line: values as they appear (escapes decoded), `-` as `None`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Parsed {
    pub client_ip: Option<String>,
    pub logname: Option<String>,
    pub user: Option<String>,
    /// Microseconds since the epoch, UTC.
    pub ts: Option<i64>,
    pub request: Option<String>,
    pub method: Option<String>,
    pub target: Option<String>,
    pub protocol: Option<String>,
    pub status: Option<i32>,
    pub bytes: Option<i64>,
    pub duration_us: Option<i64>,
    pub vhost: Option<String>,
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
    pub others: Vec<(String, String)>,
}

impl LogFormat {
    /// `common`, `combined`, or a `LogFormat` string (`\"` may stand for `"`, as in httpd's configuration).
    pub fn compile(format: &str) -> Result<Self, String> {
        let text = match format {
            "common" => COMMON.to_string(),
            "combined" => COMBINED.to_string(),
            f => f.replace("\\\"", "\""),
        };
        let mut items: Vec<Item> = Vec::new();
        let mut literal = Vec::new();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] != b'%' {
                literal.push(bytes[i]);
                i += 1;
                continue;
            }
            // %[<>][{arg}]letter, or %%.
            let start = i;
            i += 1;
            if bytes.get(i) == Some(&b'%') {
                literal.push(b'%');
                i += 1;
                continue;
            }
            while matches!(bytes.get(i), Some(b'<' | b'>' | b'!' | b',' | b'0'..=b'9')) {
                i += 1;
            }
            let mut arg = None;
            if bytes.get(i) == Some(&b'{') {
                let Some(end) = bytes[i..].iter().position(|&b| b == b'}') else {
                    return Err(format!("log format `{text}`: `{{` at byte {i} is never closed"));
                };
                arg = Some(String::from_utf8_lossy(&bytes[i + 1..i + end]).to_string());
                i += end + 1;
            }
            // `%^ti` and friends: a caret and two letters.
            let letter_len = if bytes.get(i) == Some(&b'^') { 3 } else { 1 };
            let Some(letter) = text.get(i..i + letter_len).filter(|l| l.chars().all(|c| c.is_ascii_alphabetic() || c == '^')) else {
                return Err(format!("log format `{text}`: `%` at byte {start} has no directive letter"));
            };
            i += letter_len;
            let spelled = &text[start..i];
            if !literal.is_empty() {
                items.push(Item::Literal(std::mem::take(&mut literal)));
            } else if matches!(items.last(), Some(Item::Field { .. })) {
                return Err(format!("log format `{text}`: {spelled} follows another directive with no text between them"));
            }
            let quoted = matches!(items.last(), Some(Item::Literal(l)) if l.last() == Some(&b'"'));
            items.push(Item::Field { field: field_of(letter, arg.as_deref(), spelled), quoted });
        }
        if !literal.is_empty() {
            items.push(Item::Literal(literal));
        }
        if !items.iter().any(|i| matches!(i, Item::Field { .. })) {
            return Err(format!("log format `{text}` has no directive"));
        }
        Ok(LogFormat { items })
    }

    /// The line's fields, or `None` when the line does not have the format's shape.
    pub fn parse(&self, line: &[u8]) -> Option<Parsed> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut at = 0;
        let mut out = Parsed::default();
        for (k, item) in self.items.iter().enumerate() {
            match item {
                Item::Literal(text) => {
                    if !line[at..].starts_with(text) {
                        return None;
                    }
                    at += text.len();
                }
                Item::Field { field, quoted } => {
                    let rest = &line[at..];
                    let len = if *quoted {
                        quoted_len(rest)?
                    } else if *field == Field::Time && rest.first() == Some(&b'[') {
                        rest.iter().position(|&b| b == b']')? + 1
                    } else {
                        match self.items.get(k + 1) {
                            Some(Item::Literal(next)) => find(rest, next)?,
                            _ => rest.len(),
                        }
                    };
                    let raw = &rest[..len];
                    at += len;
                    store(&mut out, field, raw, *quoted)?;
                }
            }
        }
        (at == line.len()).then_some(out)
    }
}

fn field_of(letter: &str, arg: Option<&str>, spelled: &str) -> Field {
    let header = |name: &str| arg.is_some_and(|a| a.eq_ignore_ascii_case(name));
    match (letter, arg) {
        ("h" | "a", None) => Field::ClientIp,
        ("l", None) => Field::Logname,
        ("u", None) => Field::User,
        ("t", None) => Field::Time,
        ("r", None) => Field::Request,
        ("m", None) => Field::Method,
        ("U", None) => Field::Path,
        ("q", None) => Field::Query,
        ("H", None) => Field::Protocol,
        ("s", None) => Field::Status,
        ("b" | "B" | "O", None) => Field::Bytes,
        ("D", None) => Field::Duration { micros_per_unit: 1 },
        ("T", None) => Field::Duration { micros_per_unit: 1_000_000 },
        ("T", Some("s")) => Field::Duration { micros_per_unit: 1_000_000 },
        ("T", Some("ms")) => Field::Duration { micros_per_unit: 1_000 },
        ("T", Some("us")) => Field::Duration { micros_per_unit: 1 },
        ("v" | "V", None) => Field::Vhost,
        ("i", _) if header("Referer") => Field::Referrer,
        ("i", _) if header("User-Agent") => Field::UserAgent,
        _ => Field::Other(spelled.to_string()),
    }
}

/// Length of a quoted field's content: up to the first `"` not escaped.
fn quoted_len(s: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `\"`, `\\`, `\xhh`, `\n`, `\t`, ... decoded, as httpd escapes them; the
/// bytes read as UTF-8 (invalid sequences replaced).
fn unescape(raw: &[u8]) -> String {
    if !raw.contains(&b'\\') {
        return String::from_utf8_lossy(raw).into_owned();
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] != b'\\' || i + 1 == raw.len() {
            out.push(raw[i]);
            i += 1;
            continue;
        }
        let c = raw[i + 1];
        let hex = |b: u8| (b as char).to_digit(16);
        match c {
            b'x' if i + 3 < raw.len() => match (hex(raw[i + 2]), hex(raw[i + 3])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 4;
                    continue;
                }
                _ => out.push(b'x'),
            },
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'b' => out.push(8),
            b'v' => out.push(11),
            b'f' => out.push(12),
            other => out.push(other),
        }
        i += 2;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn store(out: &mut Parsed, field: &Field, raw: &[u8], quoted: bool) -> Option<()> {
    let dash = raw == b"-";
    let text = || (!dash).then(|| unescape(raw));
    let int = |raw: &[u8]| -> Option<Option<i64>> {
        if dash {
            return Some(None);
        }
        if raw.is_empty() || raw.len() > 18 || !raw.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(Some(raw.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0'))))
    };
    match field {
        Field::ClientIp => out.client_ip = text(),
        Field::Logname => out.logname = text(),
        // `%u` writes an empty name as `""`, which unquoted reads as two quotes.
        Field::User => out.user = if !quoted && raw == b"\"\"" { Some(String::new()) } else { text() },
        Field::Time => out.ts = if dash { None } else { Some(timestamp(raw)?) },
        Field::Request => {
            out.request = text();
            if let Some(r) = &out.request {
                let parts: Vec<&str> = r.split(' ').collect();
                if let [method, target, protocol] = parts[..]
                    && !method.is_empty()
                    && !target.is_empty()
                    && protocol.starts_with("HTTP/")
                {
                    out.method = Some(method.to_string());
                    out.target = Some(target.to_string());
                    out.protocol = Some(protocol.to_string());
                }
            }
        }
        Field::Method => out.method = text(),
        Field::Path => out.target = Some(format!("{}{}", text().unwrap_or_default(), out.target.take().unwrap_or_default())),
        Field::Query => out.target = Some(format!("{}{}", out.target.take().unwrap_or_default(), unescape(raw))),
        Field::Protocol => out.protocol = text(),
        Field::Status => out.status = if dash { None } else { Some(i32::try_from(int(raw)??).ok().filter(|s| (100..=999).contains(s))?) },
        Field::Bytes => out.bytes = int(raw)?,
        Field::Duration { micros_per_unit } => out.duration_us = int(raw)?.map(|v| v.saturating_mul(*micros_per_unit)),
        Field::Vhost => out.vhost = text(),
        Field::Referrer => out.referrer = text(),
        Field::UserAgent => out.user_agent = text(),
        Field::Other(name) => {
            if let Some(v) = text() {
                out.others.push((name.clone(), v));
            }
        }
    }
    Some(())
}

const MONTHS: [&[u8; 3]; 12] = [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

/// `[10/Oct/2000:13:55:36 -0700]` as microseconds since the epoch, UTC.
fn timestamp(raw: &[u8]) -> Option<i64> {
    let s = raw.strip_prefix(b"[")?.strip_suffix(b"]")?;
    // dd/Mon/yyyy:HH:MM:SS ±hhmm
    if s.len() != 26 || s[2] != b'/' || s[6] != b'/' || s[11] != b':' || s[14] != b':' || s[17] != b':' || s[20] != b' ' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        s[r].iter().try_fold(0u32, |n, &d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')))
    };
    let month = MONTHS.iter().position(|m| m[..] == s[3..6])? as u32 + 1;
    let date = NaiveDate::from_ymd_opt(num(7..11)? as i32, month, num(0..2)?)?;
    let time = date.and_hms_opt(num(12..14)?, num(15..17)?, num(18..20)?)?;
    let sign = match s[21] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (oh, om) = (num(22..24)?, num(24..26)?);
    if om >= 60 {
        return None;
    }
    let offset = FixedOffset::east_opt(sign * (oh as i32 * 3600 + om as i32 * 60))?;
    Some(offset.from_local_datetime(&time).single()?.timestamp_micros())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn combined(line: &str) -> Option<Parsed> {
        LogFormat::compile("combined").unwrap().parse(line.as_bytes())
    }

    #[test]
    fn the_httpd_docs_example() {
        let p = combined(r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#).unwrap();
        assert_eq!(p.client_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!((p.logname, p.user.as_deref()), (None, Some("frank")));
        // 13:55:36 at −07:00 is 20:55:36 UTC: 971211336 s.
        assert_eq!(p.ts, Some(971_211_336_000_000));
        assert_eq!((p.method.as_deref(), p.target.as_deref(), p.protocol.as_deref()), (Some("GET"), Some("/apache_pb.gif"), Some("HTTP/1.0")));
        assert_eq!((p.status, p.bytes), (Some(200), Some(2326)));
        assert_eq!(p.referrer.as_deref(), Some("http://www.example.com/start.html"));
        assert_eq!(p.user_agent.as_deref(), Some("Mozilla/4.08 [en] (Win98; I ;Nav)"));
    }

    #[test]
    fn dashes_escapes_ipv6_and_odd_requests() {
        let p = combined(r#"::1 - - [01/Jan/2026:00:00:00 +0000] "GET /a\"b\\c\x41 HTTP/1.1" 404 - "-" "-""#).unwrap();
        assert_eq!((p.client_ip.as_deref(), p.user, p.bytes, p.referrer, p.user_agent), (Some("::1"), None, None, None, None));
        assert_eq!(p.target.as_deref(), Some("/a\"b\\cA"));
        // A request line that is not METHOD target PROTOCOL keeps the raw text only.
        for request in ["-", "GET /only-a-path", "\\x16\\x03\\x01"] {
            let p = combined(&format!(r#"10.0.0.1 - - [01/Jan/2026:00:00:00 +0000] "{request}" 400 0 "-" "-""#)).unwrap();
            assert_eq!((p.method, p.target, p.protocol), (None, None, None), "{request}");
            assert_eq!(p.request.is_none(), request == "-");
        }
        // Nine-digit byte counts are fine.
        assert_eq!(combined(r#"h - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 123456789 "-" "-""#).unwrap().bytes, Some(123_456_789));
    }

    #[test]
    fn malformed_lines_are_none() {
        for line in [
            r#"h - - [01/Foo/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-""#,
            r#"h - - [31/Feb/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-""#,
            r#"h - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "trunc"#,
            r#"h - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 2x0 1 "-" "-""#,
            r#"h - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-" extra"#,
            "",
        ] {
            assert_eq!(combined(line), None, "{line}");
        }
    }

    #[test]
    fn any_log_format() {
        let f = LogFormat::compile(r#"%v:%p %h %l %u %t \"%r\" %>s %O %D %{ms}T \"%{X-Forwarded-For}i\""#).unwrap();
        let p = f.parse(br#"example.org:443 10.1.1.1 - - [02/Dec/2026:10:00:00 +0100] "POST /x?y=1 HTTP/2.0" 201 512 1500 2 "1.2.3.4""#).unwrap();
        // %D then %{ms}T: the last duration wins.
        assert_eq!((p.vhost.as_deref(), p.status, p.bytes, p.duration_us), (Some("example.org"), Some(201), Some(512), Some(2_000)));
        assert_eq!(p.others, [("%p".to_string(), "443".to_string()), ("%{X-Forwarded-For}i".to_string(), "1.2.3.4".to_string())]);
        assert_eq!(LogFormat::compile("%h%l").unwrap_err(), "log format `%h%l`: %l follows another directive with no text between them");
        assert!(LogFormat::compile("%{Referer").unwrap_err().contains("never closed"));
    }
}
