//! `fletch scheduler --flight-sql`: Ballista's Arrow Flight SQL frontend with
//! a corrected result schema.
//!
//! Ballista 55 promises clients the schema of the first stage it finds
//! without consumers. Under the adaptive planner that can be an earlier
//! stage, whose column names (`count(Int64(1))`) are not those of the data
//! (`n`), and ADBC then rejects the result. fletch promises the schema of the
//! query's physical plan instead, planned once more on the scheduler.

use std::sync::Arc;

use arrow_flight::flight_service_server::FlightServiceServer;
use async_trait::async_trait;
use ballista_core::error::Result as BallistaResult;
use ballista_core::flight_proxy_service::BallistaFlightProxyService;
use ballista_flight_sql::{BallistaFlightSqlService, QueryBackend, QueryResult};
use ballista_scheduler::scheduler_server::SchedulerServer;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};

use crate::auth::Token;

pub type Scheduler = SchedulerServer<LogicalPlanNode, PhysicalPlanNode>;

/// Ballista's scheduler as a Flight SQL backend, promising the right schema.
pub struct Backend(Arc<Scheduler>);

#[async_trait]
impl QueryBackend for Backend {
    async fn session(&self, session_id: &str) -> BallistaResult<Arc<SessionContext>> {
        self.0.session(session_id).await
    }

    async fn close_session(&self, session_id: &str) -> BallistaResult<()> {
        self.0.close_session(session_id).await
    }

    async fn execute(&self, job_name: &str, ctx: Arc<SessionContext>, plan: LogicalPlan) -> BallistaResult<QueryResult> {
        let mut result = self.0.execute(job_name, ctx.clone(), plan.clone()).await?;
        result.schema = ctx.state().create_physical_plan(&plan).await?.schema();
        Ok(result)
    }
}

/// The Flight SQL service of `scheduler`. It also redeems Ballista's own
/// partition tickets, so fletch clients work on the same port. With a token,
/// clients authenticate with the Flight handshake ([`crate::auth`]).
pub fn service(scheduler: Scheduler, token: Option<Token>) -> FlightServiceServer<BallistaFlightSqlService<Backend>> {
    let config = scheduler.state.config.clone();
    let (max_decoding, max_encoding) =
        (config.grpc_server_max_decoding_message_size as usize, config.grpc_server_max_encoding_message_size as usize);
    let proxy = BallistaFlightProxyService::new(max_decoding, max_encoding, config.use_tls, None);
    let mut service = BallistaFlightSqlService::new(Arc::new(Backend(Arc::new(scheduler))), proxy);
    if let Some(token) = token {
        service = service.with_authenticator(Arc::new(token));
    }
    FlightServiceServer::new(service)
        .max_decoding_message_size(max_decoding)
        .max_encoding_message_size(max_encoding)
}
