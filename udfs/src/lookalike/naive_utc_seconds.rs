//! `naive_utc_seconds`: the lookalike log times as epoch seconds.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Builder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::utils::take_function_args;
use datafusion::error::Result;
use datafusion::functions::utils::make_scalar_function;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_macros::user_doc;

#[user_doc(
    doc_section(label = "Lookalike Functions"),
    description = "Seconds since 1970-01-01 00:00:00 UTC of a naive time 'YYYY-MM-DD HH:MM:SS' with an \
        optional fraction of 1 to 6 digits (truncated), read as UTC, as Blue Marlin's main_logs \
        computes action_time_seconds. NULL when the text is not such a time (wrong shape, \
        impossible date or time of day) or is NULL, so callers can count and drop those rows.",
    syntax_example = "naive_utc_seconds(text)",
    sql_example = "SELECT naive_utc_seconds('2020-01-01 12:34:56.78'); -- 1577882096",
    argument(name = "text", description = "The time (any string type).")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct NaiveUtcSeconds {
    signature: Signature,
}

impl NaiveUtcSeconds {
    pub fn new() -> Self {
        Self { signature: Signature::string(1, Volatility::Immutable) }
    }
}

impl Default for NaiveUtcSeconds {
    fn default() -> Self {
        Self::new()
    }
}

/// The seconds of a well-formed time, `None` otherwise.
pub fn naive_utc_seconds_of(text: &str) -> Option<i64> {
    LastDate::default().seconds(text)
}

/// The last date read and its day number: a batch of log times holds a few
/// dates, so each is parsed and checked once, not once per time.
#[derive(Default)]
struct LastDate {
    date: Option<([u8; 10], Option<i64>)>,
}

impl LastDate {
    fn seconds(&mut self, text: &str) -> Option<i64> {
        let b = text.as_bytes();
        if b.len() < 19 || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let date: [u8; 10] = b[..10].try_into().ok()?;
        let days = match self.date {
            Some((last, days)) if last == date => days,
            _ => {
                let days = day_number(&date);
                self.date = Some((date, days));
                days
            }
        }?;
        let (hour, minute, second) = (digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?);
        match &b[19..] {
            [] => {}
            [b'.', fraction @ ..] if (1..=6).contains(&fraction.len()) && fraction.iter().all(u8::is_ascii_digit) => {}
            _ => return None,
        }
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        Some(days * 86_400 + hour * 3600 + minute * 60 + second)
    }
}

fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |n, d| d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0')))
}

/// Days since 1970-01-01 of 'YYYY-MM-DD', if it is a real date.
fn day_number(b: &[u8; 10]) -> Option<i64> {
    if b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (digits(&b[..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    if year == 0 || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl ScalarUDFImpl for NaiveUtcSeconds {
    fn name(&self) -> &str {
        "naive_utc_seconds"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        make_scalar_function(naive_utc_seconds_inner, vec![])(&args.args)
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

fn naive_utc_seconds_inner(args: &[ArrayRef]) -> Result<ArrayRef> {
    let [texts] = take_function_args("naive_utc_seconds", args)?;
    // Views (embedded Parquet reads) are read in place, not copied to Utf8.
    Ok(match texts.data_type() {
        DataType::Utf8View => seconds_of(texts.len(), texts.as_string_view().iter()),
        _ => {
            let texts = cast(texts, &DataType::Utf8)?;
            seconds_of(texts.len(), texts.as_string::<i32>().iter())
        }
    })
}

fn seconds_of<'a>(len: usize, texts: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    let mut out = Int64Builder::with_capacity(len);
    let mut last = LastDate::default();
    for text in texts {
        out.append_option(text.and_then(|t| last.seconds(t)));
    }
    Arc::new(out.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_naive_times_as_utc() {
        // Worked values of the lookalike spec, section 6.
        assert_eq!(naive_utc_seconds_of("2020-01-01 12:34:56.78"), Some(1_577_882_096));
        assert_eq!(naive_utc_seconds_of("2019-12-19 13:04:14.708"), Some(1_576_760_654));
        assert_eq!(naive_utc_seconds_of("2020-01-11 12:34:56.78"), Some(1_577_882_096 + 10 * 86_400));
        assert_eq!(naive_utc_seconds_of("1970-01-01 00:00:00"), Some(0));
        assert_eq!(naive_utc_seconds_of("1969-12-31 23:59:59.999999"), Some(-1));
        assert_eq!(naive_utc_seconds_of("2020-02-29 23:59:59.1"), Some(1_583_020_799));
        assert_eq!(naive_utc_seconds_of("2000-03-01 00:00:00"), Some(951_868_800));
    }

    #[test]
    fn rejects_what_is_not_a_time() {
        for bad in [
            "", "not a time", "2020/01/03 10:00:00.000", "2020-13-45 99:99:99.999", "2019-02-29 00:00:00",
            "2100-02-29 00:00:00", "2020-04-31 00:00:00", "2020-01-01 24:00:00", "2020-01-01 23:60:00",
            "2020-01-01 23:59:60", "2020-01-01 12:00:00.", "2020-01-01 12:00:00.1234567", "2020-01-01 12:00:00Z",
            "2020-01-01T12:00:00", "2020-1-01 12:00:00", "0000-01-01 00:00:00", "2020-01-01 1:00:00.000",
        ] {
            assert_eq!(naive_utc_seconds_of(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_remembered_date_gives_the_same_answers() {
        let mut last = LastDate::default();
        for (text, want) in [
            ("2020-01-01 00:00:01", Some(1_577_836_801)),
            ("2020-01-01 23:59:59.5", Some(1_577_923_199)),
            ("2020-01-01 24:00:00", None),
            ("2020-01-01X00:00:00", None),
            ("2019-02-29 00:00:00", None),
            ("2019-02-29 00:00:01", None),
            ("2020-01-01 00:00:02", Some(1_577_836_802)),
        ] {
            assert_eq!(last.seconds(text), want, "{text:?}");
            assert_eq!(naive_utc_seconds_of(text), want, "{text:?}");
        }
    }

    #[tokio::test]
    async fn in_sql_malformed_and_null_give_null() {
        use datafusion::prelude::SessionContext;
        let ctx = SessionContext::new();
        ctx.register_udf((*crate::lookalike::naive_utc_seconds()).clone());
        for text in ["t", "arrow_cast(t, 'Utf8View')", "arrow_cast(t, 'LargeUtf8')"] {
            let sql = format!("SELECT naive_utc_seconds({text}) AS s FROM (VALUES ('2020-01-01 00:00:01'), ('bad'), (NULL)) v(t)");
            let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
            let values: Vec<Option<i64>> = batches[0].column(0).as_primitive::<datafusion::arrow::datatypes::Int64Type>().iter().collect();
            assert_eq!(values, [Some(1_577_836_801), None, None], "{text}");
        }
    }
}
