//! SQL scripts: one or more `;`-separated statements, run in order, with
//! `$name` parameters bound as typed values.

use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::{DFParserBuilder, Statement};
use datafusion::sql::sqlparser::dialect::GenericDialect;

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
            .with_dialect(&GenericDialect {})
            .build()
            .and_then(|mut p| p.parse_statements())
            .map_err(|e| Error::input(format!("{source}: {}", e.find_root())))?;
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

    /// Plans statement `i` with `params` bound. DDL (`CREATE VIEW`, `SET`, ...)
    /// takes effect here; queries run when the returned frame is collected.
    pub async fn statement(&self, ctx: &SessionContext, i: usize, params: &Params) -> Result<DataFrame> {
        let fail = |e: DataFusionError| {
            Error::input(format!("{} (statement {} of {}): {}", self.source, i + 1, self.len(), e.find_root()))
        };
        let plan = ctx.state().statement_to_plan(self.statements[i].clone()).await.map_err(fail)?;
        let plan = plan.with_param_values(params.to_param_values()).map_err(fail)?;
        ctx.execute_logical_plan(plan).await.map_err(fail)
    }

    /// Runs every statement but the last, and returns the last one planned.
    pub async fn run_to_last(&self, ctx: &SessionContext, params: &Params) -> Result<DataFrame> {
        for i in 0..self.len() - 1 {
            self.statement(ctx, i, params).await?.collect().await?;
        }
        self.statement(ctx, self.len() - 1, params).await
    }
}
