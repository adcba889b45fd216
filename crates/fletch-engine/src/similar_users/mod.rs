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
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float32Array, ListArray, RecordBatch, StringArray, StructArray, UInt32Array, UInt64Array};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::{cast, concat, take};
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

/// Blocks computed at once in a process: two per core, so that one block's
/// reads overlap another's products. Each holds a candidate folder's
/// vectors, and an embedded write starts every partition (every block) at
/// once: unbounded, a million users took 11 GB.
static BLOCKS_AT_ONCE: LazyLock<tokio::sync::Semaphore> =
    LazyLock::new(|| tokio::sync::Semaphore::new(2 * std::thread::available_parallelism().map_or(2, |n| n.get())));

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
        futures::stream::once(async move {
            let computed = async {
                // Held while computing only, not while the batch waits for its reader.
                let _turn = BLOCKS_AT_ONCE.acquire().await.map_err(|e| DataFusionError::External(Box::new(e)))?;
                work.block(&runtime, &block).await
            };
            computed.await.map_err(|e| DataFusionError::Execution(format!("similar users of {block}: {e}")))
        })
        .boxed()
    }
}

impl SimilarUsers {
    async fn block(&self, runtime: &RuntimeEnv, folder: &str) -> Result<RecordBatch> {
        let users = read_vectors(runtime, folder, true).await?;
        let dim = users.vectors.dim;
        let mut top = TopN::new(users.dids.len(), dim, self.top_n);
        // Every candidate's did, folder after folder: candidate i is row i of their concatenation.
        let mut names: Vec<ArrayRef> = Vec::new();
        let mut seen = 0;
        // With an IVF index, per list the users probing it; without, every user meets every folder.
        let mut probing = self.ivf.as_ref().map(|ivf| {
            let points: Vec<f64> = users.vectors.values.iter().map(|x| f64::from(*x)).collect();
            let mut probing: Vec<Vec<usize>> = vec![Vec::new(); self.candidates.len()];
            for (at, list) in ivf.centroids.nearest(&points, ivf.probes).into_iter().enumerate() {
                probing[list].push(at / ivf.probes.min(ivf.centroids.len()));
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
            let first = seen;
            seen += candidates.dids.len();
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
            names.push(Arc::new(candidates.dids));
        }
        let (mut offsets, mut picked, mut scores) = (vec![0i32], Vec::new(), Vec::new());
        for kept in top.finish() {
            for (candidate, score) in kept {
                picked.push(candidate as u64);
                scores.push(score);
            }
            offsets.push(i32::try_from(picked.len()).map_err(|_| DataFusionError::Execution(format!("{folder}: more than 2^31 similar users in one block")))?);
        }
        let items = StructArray::try_new(similar_user_fields(), vec![take(&concat_strings(&names)?, &UInt64Array::from(picked), None)?, Arc::new(Float32Array::from(scores))], None)?;
        let item = Arc::new(Field::new_list_field(DataType::Struct(similar_user_fields()), true));
        let lists = ListArray::try_new(item, OffsetBuffer::new(offsets.into()), Arc::new(items), None)?;
        let columns = vec![Arc::new(users.dids) as _, Arc::new(lists) as _, Arc::new(users.buckets) as _];
        Ok(RecordBatch::try_new(SCHEMA.clone(), columns)?)
    }
}

/// The vectors of a folder, in did order.
struct Users {
    dids: StringArray,
    vectors: Vectors,
    /// `did_bucket` when asked for, else empty.
    buckets: StringArray,
}

/// Reads `did`, `score_vector`, `c1` (and `did_bucket` with `buckets`) of
/// every Parquet file under `folder`, sorted by did.
async fn read_vectors(runtime: &RuntimeEnv, folder: &str, buckets: bool) -> Result<Users> {
    let url = ListingTableUrl::parse(folder)?;
    let store = runtime.object_store(&url)?;
    let mut files: Vec<_> = store.list(Some(url.prefix())).try_filter(|m| futures::future::ready(m.location.as_ref().ends_with(".parquet"))).try_collect().await?;
    files.sort_by(|a, b| a.location.cmp(&b.location));
    // Read in file order into flat columns, then put in did order.
    let (mut dids, mut bucket_names): (Vec<ArrayRef>, Vec<ArrayRef>) = (Vec::new(), Vec::new());
    let mut read = Vectors::new(0);
    let mut dim = None;
    for file in files {
        let bytes = store.get(&file.location).await?.bytes().await?;
        for batch in ParquetRecordBatchReaderBuilder::try_new(bytes)?.build()? {
            let batch = batch?;
            let column = |name: &str, to: &DataType| -> Result<Arc<dyn Array>> {
                let c = batch.column_by_name(name).ok_or_else(|| DataFusionError::Execution(format!("{}: no column {name}", file.location)))?;
                Ok(cast(c, to)?)
            };
            let did = column("did", &DataType::Utf8)?;
            let vectors = column("score_vector", &DataType::List(Arc::new(Field::new_list_field(DataType::Float32, true))))?;
            let c1 = column("c1", &DataType::Float32)?;
            let (vectors, c1) = (vectors.as_list::<i32>(), c1.as_primitive::<Float32Type>());
            let values = vectors.values().as_primitive::<Float32Type>();
            for i in 0..batch.num_rows() {
                if did.is_null(i) || vectors.is_null(i) || c1.is_null(i) {
                    return Err(DataFusionError::Execution(format!("{}: row {i} has a NULL did, score_vector or c1", file.location)));
                }
                let range = vectors.value_offsets()[i] as usize..vectors.value_offsets()[i + 1] as usize;
                let expected = *dim.get_or_insert(range.len());
                if range.len() != expected {
                    return Err(DataFusionError::Execution(format!("{folder}: user {} has a vector of {} dimensions, others {expected}", did.as_string::<i32>().value(i), range.len())));
                }
                // A NULL score is 0.0, as a keyword the user lacks.
                read.values.extend(range.map(|j| if values.is_null(j) { 0.0 } else { values.value(j) }));
                read.c1.push(f64::from(c1.value(i)));
            }
            dids.push(did);
            if buckets {
                bucket_names.push(column("did_bucket", &DataType::Utf8)?);
            }
        }
    }
    let dim = dim.unwrap_or(0);
    let dids = concat_strings(&dids)?;
    // Stable (arrow's sort is not): equal dids keep their file order.
    let names = dids.as_string::<i32>();
    let mut order: Vec<u32> = (0..names.len() as u32).collect();
    order.sort_by(|&a, &b| names.value(a as usize).cmp(names.value(b as usize)));
    let order = UInt32Array::from(order);
    let mut out = Vectors::new(dim);
    out.values.reserve(read.values.len());
    out.c1.reserve(read.c1.len());
    for i in order.values().iter().map(|&i| i as usize) {
        out.values.extend_from_slice(&read.values[i * dim..(i + 1) * dim]);
        out.c1.push(read.c1[i]);
    }
    let sorted = |a: &ArrayRef| -> Result<StringArray> { Ok(take(a, &order, None)?.as_string::<i32>().clone()) };
    let buckets = if buckets { sorted(&concat_strings(&bucket_names)?)? } else { StringArray::new_null(0) };
    Ok(Users { dids: sorted(&dids)?, vectors: out, buckets })
}

/// String arrays one after another (none: an empty one).
fn concat_strings(arrays: &[ArrayRef]) -> Result<ArrayRef> {
    let arrays: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
    Ok(if arrays.is_empty() { Arc::new(StringArray::new_null(0)) } else { concat(&arrays)? })
}
