//! `tag_tokens`: a rating's tags as pflip's user-tag tokens.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListBuilder, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int64Type};
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::functions::utils::make_scalar_function;
use datafusion::logical_expr::{ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use datafusion_macros::user_doc;

use super::{HELPFUL_TAGS, NOT_HELPFUL_TAGS};

#[user_doc(
    doc_section(label = "Community Notes Functions"),
    description = "The tokens `rater:tag` of the tags a rating set (flag 1), for pflip's \
        USER_HELPFUL_TAGS and USER_NOT_HELPFUL_TAGS sets: `kind` 'helpful' takes the 9 helpful \
        tag flags, 'notHelpful' the 13 not-helpful ones, in the ratings file's order. NULL flags \
        count as unset.",
    syntax_example = "tag_tokens(raterParticipantId, kind, flag1, ..., flagN)",
    sql_example = "SELECT tag_tokens('A1', 'helpful', 0, 1, 0, 0, 0, 0, 0, 0, 1); -- [A1:helpfulInformative, A1:helpfulUnbiasedLanguage]",
    argument(name = "raterParticipantId", description = "The rater's id."),
    argument(name = "kind", description = "'helpful' or 'notHelpful'."),
    argument(name = "flags", description = "The tag columns, 0 or 1, in file order.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TagTokens {
    signature: Signature,
}

impl TagTokens {
    pub fn new() -> Self {
        Self { signature: Signature::variadic_any(Volatility::Immutable) }
    }
}

impl Default for TagTokens {
    fn default() -> Self {
        Self::new()
    }
}

fn tags_of(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "helpful" => Some(&HELPFUL_TAGS),
        "notHelpful" => Some(&NOT_HELPFUL_TAGS),
        _ => None,
    }
}

impl ScalarUDFImpl for TagTokens {
    fn name(&self) -> &str {
        "tag_tokens"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if arg_types.len() != 2 + HELPFUL_TAGS.len() && arg_types.len() != 2 + NOT_HELPFUL_TAGS.len() {
            return plan_err!("tag_tokens: expected a rater, a kind and 9 or 13 tag flags, got {} arguments", arg_types.len());
        }
        Ok(DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        make_scalar_function(tag_tokens_inner, vec![])(&args.args)
    }
    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

fn tag_tokens_inner(args: &[ArrayRef]) -> Result<ArrayRef> {
    let (raters, kinds, flags) = (cast(&args[0], &DataType::Utf8)?, cast(&args[1], &DataType::Utf8)?, &args[2..]);
    let (raters, kinds) = (raters.as_string::<i32>(), kinds.as_string::<i32>());
    let flags = flags.iter().map(|f| cast(f, &DataType::Int64)).collect::<Result<Vec<_>, _>>()?;
    let flags: Vec<_> = flags.iter().map(|f| f.as_primitive::<Int64Type>()).collect();
    let mut out = ListBuilder::new(StringBuilder::new());
    for row in 0..raters.len() {
        if raters.is_null(row) {
            out.append_null();
            continue;
        }
        let kind = kinds.is_valid(row).then(|| kinds.value(row)).unwrap_or("");
        let Some(tags) = tags_of(kind).filter(|t| t.len() == flags.len()) else {
            return exec_err!("tag_tokens: kind `{kind}` with {} flags: expected 'helpful' with 9 or 'notHelpful' with 13", flags.len());
        };
        for (tag, f) in tags.iter().zip(&flags) {
            if f.is_valid(row) && f.value(row) == 1 {
                out.values().append_value(format!("{}:{tag}", raters.value(row)));
            }
        }
        out.append(true);
    }
    Ok(Arc::new(out.finish()))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn names_the_set_flags_in_file_order() {
        let ctx = SessionContext::new();
        ctx.register_udf((*crate::community_notes::tag_tokens()).clone());
        let sql = "SELECT tag_tokens('A1', 'helpful', 0, 1, 0, 0, 0, 0, 0, 0, 1) AS h, \
                   tag_tokens('B2', 'notHelpful', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL) AS n, \
                   tag_tokens('C3', 'helpful', 0, 0, 0, 0, 0, 0, 0, 0, 0) AS none";
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let out = pretty_format_batches(&batches).unwrap().to_string();
        let row: Vec<&str> = out.lines().nth(3).unwrap().split('|').map(str::trim).filter(|c| !c.is_empty()).collect();
        assert_eq!(row, ["[A1:helpfulInformative, A1:helpfulUnbiasedLanguage]", "[B2:notHelpfulOther]", "[]"], "{out}");
        let e = async { ctx.sql("SELECT tag_tokens('A', 'notHelpful', 0, 0, 0, 0, 0, 0, 0, 0, 0)").await?.collect().await }.await.unwrap_err();
        assert!(e.to_string().contains("kind `notHelpful` with 9 flags"), "{e}");
    }
}
