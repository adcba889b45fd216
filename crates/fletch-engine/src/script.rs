//! SQL scripts: one or more `;`-separated statements, run in order, with
//! `$name` parameters bound as typed values.

use std::collections::BTreeSet;

use datafusion::common::TableReference;
use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::execution::SessionState;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::{DFParserBuilder, Statement};
use datafusion::sql::planner::object_name_to_table_reference;
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;

use crate::dialect::FletchDialect;
use crate::error::{Error, Result};
use crate::params::Params;

pub struct Script {
    /// Where the SQL came from (a file name or `sql/<job>/<step>.sql`), for errors.
    pub source: String,
    statements: Vec<Statement>,
}

impl Script {
    pub fn parse(source: &str, sql: &str) -> Result<Self> {
        let statements = DFParserBuilder::new(sql)
            .with_dialect(&FletchDialect)
            .build()
            .and_then(|mut p| p.parse_statements())
            .map_err(|error| Error::Sql { source: source.to_string(), error })?;
        if statements.is_empty() {
            return Err(Error::input(format!("{source}: no SQL statement")));
        }
        Ok(Self { source: source.to_string(), statements: statements.into() })
    }

    pub fn len(&self) -> usize {
        self.statements.len()
    }

    pub fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// The tables the script reads that it does not create itself: what must
    /// exist before it runs (common table expressions are not tables).
    pub fn inputs(&self, state: &SessionState) -> Result<BTreeSet<TableReference>> {
        let normalize = state.config().options().sql_parser.enable_ident_normalization;
        let mut created = BTreeSet::new();
        let mut inputs = BTreeSet::new();
        for (i, statement) in self.statements.iter().enumerate() {
            let fail = |error| Error::Sql { source: self.statement_source(i), error };
            let name = match statement {
                Statement::Statement(s) => match s.as_ref() {
                    SqlStatement::CreateView(v) => Some(&v.name),
                    SqlStatement::CreateTable(t) => Some(&t.name),
                    _ => None,
                },
                Statement::CreateExternalTable(t) => Some(&t.name),
                _ => None,
            };
            if let Some(name) = name {
                created.insert(object_name_to_table_reference(name.clone(), normalize).map_err(fail)?);
            }
            for table in state.resolve_table_references(statement).map_err(fail)? {
                // Table functions (`json_list(...)`) are resolved like tables but are none.
                if !created.contains(&table) && !state.table_functions().contains_key(table.table()) {
                    inputs.insert(table);
                }
            }
        }
        Ok(inputs)
    }

    fn statement_source(&self, i: usize) -> String {
        if self.len() == 1 { self.source.clone() } else { format!("{} (statement {} of {})", self.source, i + 1, self.len()) }
    }

    /// Plans statement `i` with `params` bound. DDL (`CREATE VIEW`, `SET`, ...)
    /// takes effect here; queries run when the returned frame is collected.
    pub async fn statement(&self, ctx: &SessionContext, i: usize, params: &Params) -> Result<DataFrame> {
        let fail = |error: DataFusionError| Error::Sql { source: self.statement_source(i), error };
        let plan = ctx.state().statement_to_plan(self.statements[i].clone()).await.map_err(fail)?;
        let plan = plan.with_param_values(params.to_param_values()).map_err(fail)?;
        ctx.execute_logical_plan(plan).await.map_err(fail)
    }

    /// Plans every statement, and returns the last one: statements that
    /// change the session (`CREATE VIEW`, `SET`) take effect, queries and
    /// writes (`COPY`, `INSERT`) before the last do not run. For dry runs.
    pub async fn plan_to_last(&self, ctx: &SessionContext, params: &Params) -> Result<DataFrame> {
        for i in 0..self.len() - 1 {
            self.statement(ctx, i, params).await?;
        }
        self.statement(ctx, self.len() - 1, params).await
    }

    /// Runs every statement but the last, and returns the last one planned.
    pub async fn run_to_last(&self, ctx: &SessionContext, params: &Params) -> Result<DataFrame> {
        for i in 0..self.len() - 1 {
            crate::remote::collect(self.statement(ctx, i, params).await?).await?;
        }
        self.statement(ctx, self.len() - 1, params).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_leave_out_ctes_and_what_the_script_creates() {
        let script = Script::parse(
            "t.sql",
            "CREATE VIEW v AS SELECT * FROM events;\n\
             WITH latest AS (SELECT * FROM v JOIN clients USING (id)) SELECT * FROM latest, range(1, 3);",
        )
        .unwrap();
        let state = SessionContext::new().state();
        let inputs: Vec<String> = script.inputs(&state).unwrap().iter().map(|t| t.to_string()).collect();
        assert_eq!(inputs, ["clients", "events"]);
    }

    #[test]
    fn parse_errors_keep_datafusions_error_and_name_the_source() {
        let e = Script::parse("q.sql", "SELEC 1").err().unwrap();
        assert!(matches!(e, Error::Sql { error: DataFusionError::SQL(..), .. }), "{e:?}");
        assert!(e.to_string().starts_with("q.sql: "), "{e}");
    }

    #[tokio::test]
    async fn lambdas_filter_and_map_a_rows_list_with_parameters_bound() {
        let script = Script::parse("l.sql", "SELECT array_transform(array_filter(l, x -> x > $min), x -> x * 10) AS l FROM (VALUES ([1, 5, 2, 7])) AS t(l)").unwrap();
        let mut params = Params::default();
        params.set_int("min", 2);
        let rows = script.run_to_last(&SessionContext::new(), &params).await.unwrap().collect().await.unwrap();
        let shown = datafusion::arrow::util::pretty::pretty_format_batches(&rows).unwrap().to_string();
        assert!(shown.contains("| [50, 70] |"), "{shown}");
    }
}
