//! The SQL dialect of fletch's scripts: sqlparser's generic dialect, plus
//! lambdas (`array_filter(list, a -> a['type'] = 'extension')`), so a step
//! can filter or map each row's list in place with DataFusion's higher-order
//! functions instead of unnesting its elements and grouping them back, a
//! shuffle on a cluster.
//!
//! sqlparser decides most generic syntax by the dialect's type
//! ([`Dialect::dialect`]) and the rest by the methods the generic dialect
//! overrides; both are delegated here, every method by name (on a sqlparser
//! upgrade, against its `src/dialect/generic.rs`).

use std::any::TypeId;

use datafusion::sql::sqlparser::dialect::{Dialect, GenericDialect};

#[derive(Debug, Default)]
pub struct FletchDialect;

/// Methods of the generic dialect answered as it answers them.
macro_rules! as_generic {
    ($($method:ident),+ $(,)?) => {
        $(fn $method(&self) -> bool {
            GenericDialect.$method()
        })+
    };
}

impl Dialect for FletchDialect {
    fn dialect(&self) -> TypeId {
        TypeId::of::<GenericDialect>()
    }

    fn supports_lambda_functions(&self) -> bool {
        true
    }

    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        GenericDialect.is_delimited_identifier_start(ch)
    }

    fn is_identifier_start(&self, ch: char) -> bool {
        GenericDialect.is_identifier_start(ch)
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        GenericDialect.is_identifier_part(ch)
    }

    as_generic!(
        supports_unicode_string_literal,
        supports_partition_by_after_order_by,
        supports_array_join_syntax,
        supports_group_by_expr,
        supports_group_by_with_modifier,
        supports_left_associative_joins_without_parens,
        supports_connect_by,
        supports_match_recognize,
        supports_pipe_operator,
        supports_start_transaction_modifier,
        supports_window_function_null_treatment_arg,
        supports_dictionary_syntax,
        supports_window_clause_named_window_reference,
        supports_parenthesized_set_variables,
        supports_select_wildcard_except,
        support_map_literal_syntax,
        allow_extract_custom,
        allow_extract_single_quotes,
        supports_extract_comma_syntax,
        supports_create_view_comment_syntax,
        supports_parens_around_table_factor,
        supports_values_as_table_factor,
        supports_create_index_with_clause,
        supports_explain_with_utility_options,
        supports_limit_comma,
        supports_update_order_by,
        supports_from_first_select,
        supports_projection_trailing_commas,
        supports_asc_desc_in_column_definition,
        supports_try_convert,
        supports_bitwise_shift_operators,
        supports_comment_on,
        supports_load_extension,
        supports_named_fn_args_with_assignment_operator,
        supports_struct_literal,
        supports_empty_projections,
        supports_nested_comments,
        supports_multiline_comment_hints,
        supports_user_host_grantee,
        supports_string_escape_constant,
        supports_array_typedef_with_brackets,
        supports_match_against,
        supports_set_names,
        supports_comma_separated_set_assignments,
        supports_filter_during_aggregation,
        supports_select_wildcard_exclude,
        supports_data_type_signed_suffix,
        supports_interval_options,
        supports_quote_delimited_string,
        supports_select_wildcard_replace,
        supports_select_wildcard_ilike,
        supports_select_wildcard_rename,
        supports_optimize_table,
        supports_install,
        supports_detach,
        supports_prewhere,
        supports_with_fill,
        supports_limit_by,
        supports_interpolate,
        supports_settings,
        supports_select_format,
        supports_comment_optimizer_hint,
        supports_constraint_keyword_without_name,
        supports_key_column_option,
        supports_comma_separated_trim,
        supports_cte_without_as,
        supports_select_item_multi_column_alias,
        supports_xml_expressions,
    );
}

#[cfg(test)]
mod tests {
    use datafusion::sql::sqlparser::ast::Statement;
    use datafusion::sql::sqlparser::parser::Parser;

    use super::*;

    fn parse(dialect: &dyn Dialect, sql: &str) -> Statement {
        Parser::parse_sql(dialect, sql).unwrap().remove(0)
    }

    #[test]
    fn parses_what_the_generic_dialect_parses_and_lambdas() {
        // Generic syntax decided by type and by method, and `$name` placeholders.
        for sql in [
            "SELECT * EXCLUDE (a) FROM t",
            "SELECT a FROM t GROUP BY ALL",
            "SELECT count(*) FILTER (WHERE a > 1) FROM t",
            "SELECT {'a': 1}",
            "SELECT x FROM t WHERE d > $start AND d <= $end",
            "SELECT a::BIGINT, a['f'] FROM t DISTRIBUTE BY a",
        ] {
            assert_eq!(parse(&FletchDialect, sql), parse(&GenericDialect, sql), "{sql}");
        }
        // The generic dialect reads `a -> ...` as an operator on a column `a`.
        let lambda = "SELECT array_filter(l, a -> a['type'] = 'extension') FROM t";
        assert!(format!("{:?}", parse(&FletchDialect, lambda)).contains("Lambda(LambdaFunction"));
        assert!(!format!("{:?}", parse(&GenericDialect, lambda)).contains("Lambda("));
    }
}
