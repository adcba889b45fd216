//! `keyword_histories`: a user's train-ready arrays in one aggregate. Blue
//! Marlin built them with two `collect_list` group-bys in unspecified order;
//! an ordered `array_agg`/`string_agg` does it row at a time in DataFusion.
//! This collects (interval, keyword) counts per group in any order and sorts
//! once at the end, newest interval first and keyword indices ascending.

use std::fmt::Write;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, ListArray, ListBuilder, StringArray, StringBuilder, StructArray,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Int64Type};
use datafusion::common::{HashMap, ScalarValue, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Documentation, EmitTo, GroupsAccumulator, Signature, Volatility};
use datafusion_macros::user_doc;

use crate::util::list_of;

/// The result's fields: parallel string lists, one element per interval.
pub const HISTORY_FIELDS: [&str; 5] =
    ["interval_starting_time", "interval_keywords", "kwi", "kwi_show_counts", "kwi_click_counts"];

fn history_fields() -> Fields {
    HISTORY_FIELDS.iter().map(|n| Field::new(*n, list_of(DataType::Utf8), false)).collect()
}

fn entry_fields() -> Fields {
    Fields::from(vec![
        Field::new("interval", DataType::Int64, false),
        Field::new("keyword_index", DataType::Int64, false),
        Field::new("keyword", DataType::Utf8, false),
        Field::new("shows", DataType::Int64, false),
        Field::new("clicks", DataType::Int64, false),
    ])
}

#[user_doc(
    doc_section(label = "Lookalike Functions"),
    description = "A user's keyword history as Blue Marlin's train-ready table holds it: a struct of five \
        parallel string lists, one element per interval, newest interval first: \
        `interval_starting_time` ('1577836800'), `interval_keywords` ('info,video'), `kwi` \
        ('14,29'), `kwi_show_counts` ('14:2,29:4') and `kwi_click_counts` ('14:0,29:1'), the \
        keywords of an interval ordered by index. Rows of the same interval and keyword index \
        add up, so raw log rows (shows = 1 - is_click, clicks = is_click) and pre-counted rows \
        give the same result, in any order. Rows with a NULL interval or index are skipped; a \
        NULL keyword counts as '' and NULL counts as 0; the smallest keyword of an index wins.",
    syntax_example = "keyword_histories(interval_starting_time, keyword_index, keyword, shows, clicks)",
    sql_example = "SELECT keyword_histories(i, k, w, s, c) FROM (VALUES (86400, 29, 'video', 1, 0), (0, 14, 'info', 2, 0), (86400, 14, 'info', 0, 1), (86400, 29, 'video', 3, 1)) v(i, k, w, s, c);\n-- {interval_starting_time: [86400, 0], interval_keywords: [info,video, info], kwi: [14,29, 14], kwi_show_counts: [14:0,29:4, 14:2], kwi_click_counts: [14:1,29:1, 14:0]}",
    argument(name = "interval_starting_time", description = "Integer start of the interval."),
    argument(name = "keyword_index", description = "Integer index of the keyword."),
    argument(name = "keyword", description = "The keyword (a string)."),
    argument(name = "shows", description = "Integer show count of the row."),
    argument(name = "clicks", description = "Integer click count of the row.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct KeywordHistories {
    signature: Signature,
}

impl KeywordHistories {
    pub fn new() -> Self {
        Self { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl Default for KeywordHistories {
    fn default() -> Self {
        Self::new()
    }
}

impl AggregateUDFImpl for KeywordHistories {
    fn name(&self) -> &str {
        "keyword_histories"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let integer = |t: &DataType| t.is_integer() || t.is_null();
        let string = |t: &DataType| matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null);
        match arg_types {
            [i, k, w, s, c] if integer(i) && integer(k) && string(w) && integer(s) && integer(c) => {
                Ok(vec![DataType::Int64, DataType::Int64, DataType::Utf8, DataType::Int64, DataType::Int64])
            }
            other => plan_err!(
                "keyword_histories takes (integer interval, integer keyword_index, string keyword, integer shows, integer clicks), got {other:?}"
            ),
        }
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(history_fields()))
    }
    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(OneHistory { inner: Histories::default() }))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(format!("{}[entries]", args.name), state_type(), true))])
    }
    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }
    fn create_groups_accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::<Histories>::default())
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

fn state_type() -> DataType {
    list_of(DataType::Struct(entry_fields()))
}

/// Counts of one keyword index in one interval; `keyword` indexes [`Histories::names`].
#[derive(Clone, Copy, Debug)]
struct Entry {
    interval: i64,
    kwi: i64,
    keyword: u32,
    shows: i64,
    clicks: i64,
}

/// One group's entries; merged and sorted whenever it has doubled since the last time.
#[derive(Debug, Default)]
struct History {
    entries: Vec<Entry>,
    compacted: usize,
}

impl History {
    /// Adds an entry; returns the change in the entries allocated.
    fn push(&mut self, e: Entry, names: &[String]) -> isize {
        let allocated = self.entries.capacity();
        if allocated == 0 {
            // Users have tens of entries: skip the first doublings.
            self.entries.reserve_exact(16);
        }
        self.entries.push(e);
        if self.entries.len() >= 2 * self.compacted.max(32) {
            self.compact(names);
        }
        self.entries.capacity() as isize - allocated as isize
    }

    /// Sorts newest interval first, indices ascending, and adds up equal keys.
    fn compact(&mut self, names: &[String]) {
        self.entries.sort_unstable_by_key(|e| (std::cmp::Reverse(e.interval), e.kwi));
        let mut merged: Vec<Entry> = Vec::with_capacity(self.entries.len());
        for e in self.entries.drain(..) {
            match merged.last_mut() {
                Some(last) if (last.interval, last.kwi) == (e.interval, e.kwi) => {
                    last.shows += e.shows;
                    last.clicks += e.clicks;
                    if e.keyword != last.keyword && names[e.keyword as usize] < names[last.keyword as usize] {
                        last.keyword = e.keyword;
                    }
                }
                _ => merged.push(e),
            }
        }
        self.compacted = merged.len();
        self.entries = merged;
    }
}

/// The groups of one aggregation, with the keyword names they share.
#[derive(Debug, Default)]
struct Histories {
    groups: Vec<History>,
    /// Entries allocated by all groups, kept up to date so `size` is cheap.
    entries_allocated: usize,
    names: Vec<String>,
    ids: HashMap<String, u32>,
}

impl Histories {
    fn keyword_id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }

    /// Adds rows of (interval, index, keyword, shows, clicks) columns to their groups.
    fn add(&mut self, columns: &[&ArrayRef], groups: &[usize], filter: Option<&BooleanArray>, total: usize) {
        self.groups.resize_with(total, History::default);
        let [interval, kwi] = [0, 1].map(|c| columns[c].as_primitive::<Int64Type>());
        let keyword = columns[2].as_string::<i32>();
        let [shows, clicks] = [3, 4].map(|c| columns[c].as_primitive::<Int64Type>());
        let count = |a: &Int64Array, i: usize| if a.is_valid(i) { a.value(i) } else { 0 };
        for (i, &g) in groups.iter().enumerate() {
            if filter.is_some_and(|f| !f.is_valid(i) || !f.value(i)) || interval.is_null(i) || kwi.is_null(i) {
                continue;
            }
            let keyword = self.keyword_id(if keyword.is_valid(i) { keyword.value(i) } else { "" });
            let e = Entry { interval: interval.value(i), kwi: kwi.value(i), keyword, shows: count(shows, i), clicks: count(clicks, i) };
            self.entries_allocated = self.entries_allocated.saturating_add_signed(self.groups[g].push(e, &self.names));
        }
    }

    fn merge(&mut self, state: &ArrayRef, groups: &[usize], total: usize) -> Result<()> {
        let lists = state.as_list::<i32>();
        let structs = lists.values().as_struct();
        let columns: Vec<&ArrayRef> = structs.columns().iter().collect();
        // Expand each group's list into rows of its group, then add them like input rows.
        let mut row_groups = Vec::with_capacity(structs.len());
        let mut row_filter = Vec::with_capacity(structs.len());
        for (i, &g) in groups.iter().enumerate() {
            let keep = lists.is_valid(i);
            let (start, end) = (lists.value_offsets()[i] as usize, lists.value_offsets()[i + 1] as usize);
            row_groups.resize(start, 0);
            row_filter.resize(start, false);
            row_groups.extend(std::iter::repeat_n(g, end - start));
            row_filter.extend(std::iter::repeat_n(keep, end - start));
        }
        row_groups.resize(structs.len(), 0);
        row_filter.resize(structs.len(), false);
        self.add(&columns, &row_groups, Some(&BooleanArray::from(row_filter)), total);
        Ok(())
    }

    /// Takes the groups `emit_to` asks for.
    fn take(&mut self, emit_to: EmitTo) -> Vec<History> {
        let taken = emit_to.take_needed(&mut self.groups);
        self.entries_allocated -= taken.iter().map(|h| h.entries.capacity()).sum::<usize>().min(self.entries_allocated);
        taken
    }

    fn memory(&self) -> usize {
        size_of_val(self)
            + self.groups.capacity() * size_of::<History>()
            + self.entries_allocated * size_of::<Entry>()
            + self.names.iter().map(|n| 2 * (n.capacity() + 24) + 8).sum::<usize>()
    }
}

/// The result for each of `groups` (compacted first), written straight into
/// the string builders rather than through a `String` per entry.
fn histories(groups: &mut [History], names: &[String]) -> Result<ArrayRef> {
    let mut lists: [ListBuilder<StringBuilder>; 5] = std::array::from_fn(|_| ListBuilder::new(StringBuilder::new()));
    for h in groups.iter_mut() {
        h.compact(names);
        for interval in h.entries.chunk_by(|a, b| a.interval == b.interval) {
            let [times, keywords, kwi, shows, clicks] = &mut lists;
            write!(times.values(), "{}", interval[0].interval).ok();
            for (i, e) in interval.iter().enumerate() {
                let sep = if i == 0 { "" } else { "," };
                write!(keywords.values(), "{sep}{}", names[e.keyword as usize]).ok();
                write!(kwi.values(), "{sep}{}", e.kwi).ok();
                write!(shows.values(), "{sep}{}:{}", e.kwi, e.shows).ok();
                write!(clicks.values(), "{sep}{}:{}", e.kwi, e.clicks).ok();
            }
            lists.iter_mut().for_each(|l| l.values().append_value(""));
        }
        lists.iter_mut().for_each(|l| l.append(true));
    }
    let columns: Vec<ArrayRef> = lists.iter_mut().map(|l| Arc::new(l.finish()) as ArrayRef).collect();
    let fields: Fields = history_fields().iter().map(|f| f.as_ref().clone().with_nullable(false)).collect();
    Ok(Arc::new(StructArray::try_new(fields, columns, None)?))
}

/// Each group's entries as a list of structs (compacted first).
fn entries(groups: &mut [History], names: &[String]) -> Result<ArrayRef> {
    let mut offsets = vec![0i32];
    let mut cols = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for h in groups.iter_mut() {
        h.compact(names);
        for e in &h.entries {
            cols.0.push(e.interval);
            cols.1.push(e.kwi);
            cols.2.push(names[e.keyword as usize].as_str());
            cols.3.push(e.shows);
            cols.4.push(e.clicks);
        }
        offsets.push(offsets.last().copied().unwrap_or(0) + h.entries.len() as i32);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(cols.0)),
        Arc::new(Int64Array::from(cols.1)),
        Arc::new(StringArray::from(cols.2)),
        Arc::new(Int64Array::from(cols.3)),
        Arc::new(Int64Array::from(cols.4)),
    ];
    let structs = StructArray::try_new(entry_fields(), columns, None)?;
    let item = Arc::new(Field::new_list_field(DataType::Struct(entry_fields()), true));
    Ok(Arc::new(ListArray::try_new(item, OffsetBuffer::new(offsets.into()), Arc::new(structs), None)?))
}

impl GroupsAccumulator for Histories {
    fn update_batch(&mut self, values: &[ArrayRef], groups: &[usize], filter: Option<&BooleanArray>, total: usize) -> Result<()> {
        self.add(&values.iter().collect::<Vec<_>>(), groups, filter, total);
        Ok(())
    }
    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        histories(&mut self.take(emit_to), &self.names)
    }
    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        Ok(vec![entries(&mut self.take(emit_to), &self.names)?])
    }
    fn merge_batch(&mut self, values: &[ArrayRef], groups: &[usize], total: usize) -> Result<()> {
        self.merge(&values[0], groups, total)
    }
    /// Each row as a group of its own: used when partial aggregation does not reduce the rows.
    fn convert_to_state(&self, values: &[ArrayRef], filter: Option<&BooleanArray>) -> Result<Vec<ArrayRef>> {
        let mut rows = Histories::default();
        let n = values[0].len();
        rows.add(&values.iter().collect::<Vec<_>>(), &(0..n).collect::<Vec<_>>(), filter, n);
        Ok(vec![entries(&mut rows.groups, &rows.names)?])
    }
    fn size(&self) -> usize {
        self.memory()
    }
}

/// The same aggregation for one group, where DataFusion asks for a plain accumulator.
#[derive(Debug)]
struct OneHistory {
    inner: Histories,
}

impl Accumulator for OneHistory {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let n = values[0].len();
        self.inner.update_batch(values, &vec![0; n], None, 1)
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let n = states[0].len();
        self.inner.merge_batch(states, &vec![0; n], 1)
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.inner.groups.resize_with(1, History::default);
        Ok(vec![ScalarValue::try_from_array(&entries(&mut self.inner.groups, &self.inner.names)?, 0)?])
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.inner.groups.resize_with(1, History::default);
        ScalarValue::try_from_array(&histories(&mut self.inner.groups, &self.inner.names)?, 0)
    }
    fn size(&self) -> usize {
        self.inner.memory()
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::prelude::{SessionConfig, SessionContext};

    use super::*;

    const ROWS: &str = "(VALUES (86400, 29, 'video', 1, 0), (0, 14, 'info', 2, 0), (86400, 14, 'info', 0, 1), \
                        (86400, 29, 'video', 3, 1), (NULL, 1, 'x', 5, 5)) v(i, k, w, s, c)";

    async fn run(ctx: &SessionContext, sql: &str) -> Vec<String> {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        pretty_format_batches(&batches).unwrap().to_string().lines().map(str::to_string).collect()
    }

    fn ctx(partitions: usize) -> SessionContext {
        let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(partitions));
        ctx.register_udaf((*crate::lookalike::keyword_histories()).clone());
        ctx
    }

    #[tokio::test]
    async fn the_documented_example() {
        let sql = format!("SELECT h['interval_starting_time'] AS t, h['interval_keywords'] AS w, h['kwi'] AS k, \
                           h['kwi_show_counts'] AS s, h['kwi_click_counts'] AS c FROM (SELECT keyword_histories(i, k, w, s, c) AS h FROM {ROWS})");
        let out = run(&ctx(1), &sql).await;
        assert_eq!(out[3], "| [86400, 0] | [info,video, info] | [14,29, 14] | [14:0,29:4, 14:2] | [14:1,29:1, 14:0] |");
    }

    #[tokio::test]
    async fn groups_split_across_partitions_merge_to_the_same_lists() {
        // Many rows per group in scrambled order; with 4 partitions, partial states are merged.
        let sql = "SELECT g, keyword_histories(i, k, 'kw' || CAST(k AS VARCHAR), 1 - c, c)['kwi_show_counts'] AS s FROM \
                   (SELECT value % 3 AS g, (value * 7919 % 5) * 86400 AS i, value * 31 % 4 AS k, value % 2 AS c \
                    FROM generate_series(1, 2000)) GROUP BY g ORDER BY g";
        let one = run(&ctx(1), sql).await;
        assert_eq!(one, run(&ctx(4), sql).await);
        // Every show is counted once: group 0 holds the 333 even multiples of 3 up to 2000.
        let shows: i64 = one[3]
            .split(['[', ']', ','])
            .filter_map(|cell| cell.trim().split_once(':'))
            .map(|(_, n)| n.parse::<i64>().unwrap())
            .sum();
        assert_eq!(shows, 333, "{}", one[3]);
    }

    #[test]
    fn compaction_adds_equal_keys_and_keeps_the_smallest_keyword() {
        let names = vec!["b".to_string(), "a".to_string()];
        let mut h = History::default();
        for (interval, kwi, keyword) in [(0, 2, 0), (5, 1, 0), (0, 2, 1), (5, 0, 0)] {
            h.push(Entry { interval, kwi, keyword, shows: 1, clicks: 0 }, &names);
        }
        h.compact(&names);
        let got: Vec<_> = h.entries.iter().map(|e| (e.interval, e.kwi, e.keyword, e.shows)).collect();
        assert_eq!(got, [(5, 0, 0, 1), (5, 1, 0, 1), (0, 2, 1, 2)]);
    }

    #[test]
    fn rows_converted_to_states_merge_like_rows_added() {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![Some(0), Some(0), None, Some(9)])),
            Arc::new(Int64Array::from(vec![2, 2, 1, 1])),
            Arc::new(StringArray::from(vec![Some("b"), None, Some("x"), Some("a")])),
            Arc::new(Int64Array::from(vec![Some(1), Some(2), Some(1), None])),
            Arc::new(Int64Array::from(vec![0, 1, 0, 1])),
        ];
        let filter = BooleanArray::from(vec![true, true, true, false]);
        let mut direct = Histories::default();
        direct.update_batch(&columns, &[0, 0, 0, 0], Some(&filter), 1).unwrap();
        let mut merged = Histories::default();
        let state = direct.convert_to_state(&columns, Some(&filter)).unwrap();
        merged.merge_batch(&state, &[0, 0, 0, 0], 1).unwrap();
        // Memory counts what the groups allocated, and none once they are emitted.
        assert_eq!(direct.entries_allocated, 16);
        let [a, b] = [direct, merged].map(|mut h| {
            let out = h.evaluate(EmitTo::All).unwrap();
            assert_eq!(h.entries_allocated, 0);
            out
        });
        assert_eq!(a.as_ref(), b.as_ref());
        let kwi_shows = a.as_struct().column(3).as_list::<i32>().value(0);
        assert_eq!(kwi_shows.as_string::<i32>().value(0), "2:3");
    }

    #[tokio::test]
    async fn rejects_wrong_argument_types() {
        let e = ctx(1).sql("SELECT keyword_histories(1.5, 1, 'a', 1, 0)").await.unwrap_err();
        assert!(e.to_string().contains("keyword_histories takes (integer interval"), "{e}");
    }
}
