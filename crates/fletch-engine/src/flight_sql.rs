//! `fletch scheduler --flight-sql`: the scheduler's gRPC service and Ballista's
//! Arrow Flight SQL frontend on one port, with a corrected result schema.
//!
//! Ballista 55 promises clients the schema of the first stage it finds
//! without consumers. Under the adaptive planner that can be an earlier
//! stage, whose column names (`count(Int64(1))`) are not those of the data
//! (`n`), and ADBC then rejects the result. fletch promises the schema of the
//! query's physical plan instead, planned once more on the scheduler.

use std::net::SocketAddr;
use std::sync::Arc;

use arrow_flight::flight_service_server::FlightServiceServer;
use async_trait::async_trait;
use ballista_core::error::Result as BallistaResult;
use ballista_core::flight_proxy_service::BallistaFlightProxyService;
use ballista_core::serde::protobuf::scheduler_grpc_server::SchedulerGrpcServer;
use ballista_flight_sql::{BallistaFlightSqlService, QueryBackend, QueryResult};
use ballista_scheduler::scheduler_server::SchedulerServer;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};

use crate::error::{Error, Result};

type Scheduler = SchedulerServer<LogicalPlanNode, PhysicalPlanNode>;

/// Ballista's scheduler as a Flight SQL backend, promising the right schema.
struct Backend(Arc<Scheduler>);

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

/// Serves the scheduler with Flight SQL on `bind` until the future is dropped.
pub async fn serve(scheduler: Scheduler, bind: SocketAddr) -> Result<()> {
    let config = scheduler.state.config.clone();
    let (max_decoding, max_encoding) =
        (config.grpc_server_max_decoding_message_size as usize, config.grpc_server_max_encoding_message_size as usize);
    let grpc = SchedulerGrpcServer::new(scheduler.clone())
        .max_decoding_message_size(max_decoding)
        .max_encoding_message_size(max_encoding);
    // Redeems Ballista's own partition tickets too, so fletch clients work on this port.
    let proxy = BallistaFlightProxyService::new(max_decoding, max_encoding, config.use_tls, None);
    let flight_sql = BallistaFlightSqlService::new(Arc::new(Backend(Arc::new(scheduler))), proxy);
    log::warn!("Arrow Flight SQL on {bind} accepts every client: keep the port on a trusted network");
    let mut routes = tonic::service::RoutesBuilder::default();
    routes.add_service(grpc);
    routes.add_service(
        FlightServiceServer::new(flight_sql).max_decoding_message_size(max_decoding).max_encoding_message_size(max_encoding),
    );
    // The scheduler reads each executor's address from axum's connection info.
    let app = routes.routes().into_axum_router().into_make_service_with_connect_info::<SocketAddr>();
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| Error::Cluster(format!("cannot listen on {bind}: {e}")))?;
    axum::serve(listener, app).await.map_err(|e| Error::Cluster(format!("scheduler on {bind} stopped: {e}")))
}
