//! Every user's most similar users, exactly (Blue Marlin's top-N similarity,
//! spec lookalike.md §10.4), as a table whose scan runs on the executors:
//! each partition is one block of users (a folder of their vectors), which
//! reads the candidates bucket by bucket and keeps each user's top N
//! ([`top_n`]). The blocks travel as data ([`crate::work_items`]).
//!
//! Memory per task: the block's users' vectors (4 bytes per dimension), their
//! lists, one candidate folder's vectors (4 bytes per dimension) and the dids
//! of every candidate.

pub mod top_n;

use std::fmt;
use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use datafusion::arrow::array::{Array, AsArray, Float32Builder, ListBuilder, RecordBatch, StringArray, StringBuilder, StructBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Float32Type, Schema, SchemaRef};
use datafusion::catalog::{Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::datasource::listing::ListingTableUrl;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::logical_expr::Expr;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use object_store::ObjectStoreExt;
use datafusion::physical_plan::ExecutionPlan;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::work_items::{Work, WorkExec};
use fletch_udfs::vector::Centroids;
use top_n::{TopN, Vectors};

/// Marks a [`SimilarUsersTable`] or a [`SimilarUsersExec`] in a plan (JSON follows).
pub const SIMILAR_USERS_TAG: &[u8] = b"fletch.similar_users\0";

fn similar_user_fields() -> Fields {
    Fields::from(vec![Field::new("did", DataType::Utf8, true), Field::new("score", DataType::Float32, true)])
}

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let list = DataType::List(Arc::new(Field::new_list_field(DataType::Struct(similar_user_fields()), true)));
    Arc::new(Schema::new(vec![
        Field::new("did", DataType::Utf8, true),
        Field::new("top_n_similar_user", list, true),
        Field::new("did_bucket", DataType::Utf8, true),
    ]))
});

/// What every block is compared with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimilarUsers {
    /// Folders of Parquet files (`did`, `score_vector`, `c1`), one per
    /// candidate bucket (with `ivf`: per inverted list), merged in order.
    pub candidates: Vec<String>,
    pub top_n: usize,
    /// Approximate: each user is compared with the candidates of the
    /// inverted lists of its `probes` nearest centroids only.
    pub ivf: Option<Ivf>,
}

/// An inverted-file index: the candidate folders are its lists, by centroid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ivf {
    pub centroids: Centroids,
    pub probes: usize,
}

/// The `did`, `top_n_similar_user`, `did_bucket` of the users in `blocks`
/// (folders of Parquet files with `did`, `score_vector`, `c1`, `did_bucket`).
#[derive(Debug, Serialize, Deserialize)]
pub struct SimilarUsersTable {
    pub work: SimilarUsers,
    pub blocks: Vec<String>,
}

/// The top-N lists of the blocks its input's partitions name.
pub type SimilarUsersExec = WorkExec<SimilarUsers>;

#[async_trait]
impl TableProvider for SimilarUsersTable {
    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(&self, _state: &dyn Session, projection: Option<&Vec<usize>>, _filters: &[Expr], _limit: Option<usize>) -> Result<Arc<dyn ExecutionPlan>> {
        let exec: Arc<dyn ExecutionPlan> = Arc::new(SimilarUsersExec::over(self.work.clone(), crate::work_items::plan(&self.blocks)?));
        match projection {
            Some(p) if p.len() != SCHEMA.fields().len() || p.iter().enumerate().any(|(i, c)| i != *c) => {
                let columns = p.iter().map(|&c| (Arc::new(datafusion::physical_expr::expressions::Column::new(SCHEMA.field(c).name(), c)) as _, SCHEMA.field(c).name().clone()));
                Ok(Arc::new(datafusion::physical_plan::projection::ProjectionExec::try_new(columns.collect::<Vec<_>>(), exec)?))
            }
            _ => Ok(exec),
        }
    }
}

impl fmt::Display for SimilarUsers {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match &self.ivf {
            None => write!(f, "SimilarUsersExec: top {} of {} candidate buckets", self.top_n, self.candidates.len()),
            Some(ivf) => write!(f, "SimilarUsersExec: top {} of {} of {} inverted lists", self.top_n, ivf.probes, self.candidates.len()),
        }
    }
}

impl Work for SimilarUsers {
    const NAME: &'static str = "SimilarUsersExec";

    fn schema(&self) -> SchemaRef {
        SCHEMA.clone()
    }

    fn run(&self, block: String, _partition: usize, context: &Arc<TaskContext>) -> BoxStream<'static, Result<RecordBatch>> {
        let (work, runtime) = (self.clone(), context.runtime_env());
        futures::stream::once(async move { work.block(&runtime, &block).await.map_err(|e| DataFusionError::Execution(format!("similar users of {block}: {e}"))) }).boxed()
    }
}

impl SimilarUsers {
    async fn block(&self, runtime: &RuntimeEnv, folder: &str) -> Result<RecordBatch> {
        let users = read_vectors(runtime, folder, true).await?;
        let dim = users.vectors.dim;
        let mut top = TopN::new(users.dids.len(), dim, self.top_n);
        let mut names: Vec<String> = Vec::new();
        // With an IVF index, per list the users probing it; without, every user meets every folder.
        let mut probing = self.ivf.as_ref().map(|ivf| {
            let mut probing: Vec<Vec<usize>> = vec![Vec::new(); self.candidates.len()];
            for u in 0..users.dids.len() {
                let point: Vec<f64> = users.vectors.row(u).iter().map(|x| f64::from(*x)).collect();
                for list in ivf.centroids.nearest(&point, ivf.probes) {
                    probing[list].push(u);
                }
            }
            probing
        });
        let users_vectors = Arc::new(users.vectors);
        for (folder, bucket) in self.candidates.iter().enumerate() {
            let which = probing.as_mut().map(|p| std::mem::take(&mut p[folder]));
            if which.as_ref().is_some_and(Vec::is_empty) {
                continue;
            }
            let candidates = read_vectors(runtime, bucket, false).await?;
            if candidates.dids.is_empty() {
                continue;
            }
            if candidates.vectors.dim != dim {
                return Err(DataFusionError::Execution(format!("{bucket}: vectors of {} dimensions, the users' have {dim}", candidates.vectors.dim)));
            }
            let first = names.len();
            // The comparison is CPU work: off the async threads.
            let vectors = Arc::clone(&users_vectors);
            top = tokio::task::spawn_blocking(move || {
                match which {
                    None => top.add_bucket(&vectors, &candidates.vectors, first),
                    Some(which) => top.add_bucket_for(&vectors, &which, &candidates.vectors, first),
                }
                top
            })
            .await
            .map_err(|e| DataFusionError::Execution(format!("comparing with {bucket}: {e}")))?;
            names.extend(candidates.dids);
        }
        let fields = similar_user_fields();
        let item = StructBuilder::new(fields.clone(), vec![Box::new(StringBuilder::new()), Box::new(Float32Builder::new())]);
        let mut lists = ListBuilder::new(item).with_field(Arc::new(Field::new_list_field(DataType::Struct(fields), true)));
        for kept in top.finish() {
            let item = lists.values();
            for (candidate, score) in kept {
                item.field_builder::<StringBuilder>(0).expect("did").append_value(&names[candidate]);
                item.field_builder::<Float32Builder>(1).expect("score").append_value(score);
                item.append(true);
            }
            lists.append(true);
        }
        let columns = vec![Arc::new(StringArray::from(users.dids)) as _, Arc::new(lists.finish()) as _, Arc::new(StringArray::from(users.buckets)) as _];
        Ok(RecordBatch::try_new(SCHEMA.clone(), columns)?)
    }
}

/// The vectors of a folder, in did order.
struct Users {
    dids: Vec<String>,
    vectors: Vectors,
    buckets: Vec<String>,
}

/// Reads `did`, `score_vector`, `c1` (and `did_bucket` with `buckets`) of
/// every Parquet file under `folder`, sorted by did.
async fn read_vectors(runtime: &RuntimeEnv, folder: &str, buckets: bool) -> Result<Users> {
    let url = ListingTableUrl::parse(folder)?;
    let store = runtime.object_store(&url)?;
    let mut files: Vec<_> = store.list(Some(url.prefix())).try_filter(|m| futures::future::ready(m.location.as_ref().ends_with(".parquet"))).try_collect().await?;
    files.sort_by(|a, b| a.location.cmp(&b.location));
    let mut rows: Vec<(String, Vec<f32>, f32, String)> = Vec::new();
    for file in files {
        let bytes = store.get(&file.location).await?.bytes().await?;
        for batch in ParquetRecordBatchReaderBuilder::try_new(bytes)?.build()? {
            let batch = batch?;
            let column = |name: &str, to: &DataType| -> Result<Arc<dyn Array>> {
                let c = batch.column_by_name(name).ok_or_else(|| DataFusionError::Execution(format!("{}: no column {name}", file.location)))?;
                Ok(cast(c, to)?)
            };
            let dids = column("did", &DataType::Utf8)?;
            let vectors = column("score_vector", &DataType::List(Arc::new(Field::new_list_field(DataType::Float32, true))))?;
            let c1 = column("c1", &DataType::Float32)?;
            let bucket = if buckets { Some(column("did_bucket", &DataType::Utf8)?) } else { None };
            let (dids, vectors, c1) = (dids.as_string::<i32>(), vectors.as_list::<i32>(), c1.as_primitive::<Float32Type>());
            for i in 0..batch.num_rows() {
                if dids.is_null(i) || vectors.is_null(i) || c1.is_null(i) {
                    return Err(DataFusionError::Execution(format!("{}: row {i} has a NULL did, score_vector or c1", file.location)));
                }
                let v = vectors.value(i);
                let v: Vec<f32> = v.as_primitive::<Float32Type>().iter().map(|x| x.unwrap_or(0.0)).collect();
                let b = bucket.as_ref().map(|b| b.as_string::<i32>().value(i).to_string()).unwrap_or_default();
                rows.push((dids.value(i).to_string(), v, c1.value(i), b));
            }
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let dim = rows.first().map_or(0, |r| r.1.len());
    let mut out = Users { dids: Vec::with_capacity(rows.len()), vectors: Vectors::new(dim), buckets: Vec::new() };
    for (did, vector, c1, bucket) in rows {
        if vector.len() != dim {
            return Err(DataFusionError::Execution(format!("{folder}: user {did} has a vector of {} dimensions, others {dim}", vector.len())));
        }
        out.vectors.push(vector, c1);
        out.dids.push(did);
        if buckets {
            out.buckets.push(bucket);
        }
    }
    Ok(out)
}
