//! Object stores by URL scheme, created on first use, so that every process
//! (client, scheduler, executor) resolves the same URLs the same way.
//!
//! - `file://` (and plain paths): the local file system, confined to the
//!   roots this process may use once [`confine_local_files`] is called.
//! - `s3://bucket/...`: Amazon S3 or any S3-compatible server, with AWS's
//!   credential chain and region ([`crate::aws`]) and `AWS_ENDPOINT_URL`. An
//!   `http://` endpoint turns on plain HTTP, for local test servers.
//! - `gs://bucket/...`: Google Cloud Storage with Google's credential chain
//!   ([`crate::gcs`]); `STORAGE_EMULATOR_HOST` points it at an emulator.
//! - `memory://name/...`: an in-memory store shared by the whole process
//!   (embedded runs and tests; a cluster's processes do not share it).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, OnceLock, RwLock};

use datafusion::common::{DataFusionError, Result};
use datafusion::execution::object_store::ObjectStoreRegistry;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use url::Url;

use crate::confined::Confined;

/// The local directories SQL may read and write in this process, once set.
static LOCAL_ROOTS: OnceLock<Vec<PathBuf>> = OnceLock::new();

/// Confines every `file://` access through the registry (so everything SQL
/// reads or writes) to `roots` and below. Set once per process, before any
/// local file is read; later calls change nothing and return `false`.
pub fn confine_local_files(roots: Vec<PathBuf>) -> bool {
    LOCAL_ROOTS.set(roots).is_ok()
}

/// The store of `url` without confinement: for files an operator names on
/// the command line (`--whitelist`, `--config`), which SQL does not choose.
pub fn unconfined(url: &Url) -> Result<Arc<dyn ObjectStore>> {
    match url.scheme() {
        "file" => Ok(Arc::new(LocalFileSystem::new())),
        _ => registry().get_store(url),
    }
}

/// The process-wide registry; every session's runtime uses it.
pub fn registry() -> Arc<StoreRegistry> {
    static REGISTRY: LazyLock<Arc<StoreRegistry>> = LazyLock::new(Default::default);
    REGISTRY.clone()
}

#[derive(Debug, Default)]
pub struct StoreRegistry {
    stores: RwLock<HashMap<String, Arc<dyn ObjectStore>>>,
}

/// Stores are shared per scheme and authority (`s3://bucket`, `memory://name`).
fn store_key(url: &Url) -> String {
    format!("{}://{}", url.scheme(), &url[url::Position::BeforeHost..url::Position::AfterPort])
}

fn open_store(url: &Url) -> Result<Arc<dyn ObjectStore>> {
    match url.scheme() {
        "file" => Ok(match LOCAL_ROOTS.get() {
            Some(roots) => Arc::new(Confined::new(Arc::new(LocalFileSystem::new()), roots)),
            None => Arc::new(LocalFileSystem::new()),
        }),
        "memory" => Ok(Arc::new(InMemory::new())),
        "s3" => {
            let bucket = url.host_str().filter(|b| !b.is_empty()).ok_or_else(|| {
                DataFusionError::Configuration(format!("s3 URL without a bucket: {url}"))
            })?;
            let builder = crate::aws::s3_builder()
                .map_err(|e| DataFusionError::Configuration(format!("cannot configure S3 for {url}: {e}")))?
                .with_bucket_name(bucket);
            let s3 = builder.build().map_err(|e| {
                DataFusionError::Configuration(format!("cannot configure S3 for {url}: {e}"))
            })?;
            Ok(Arc::new(s3))
        }
        "gs" => {
            let bucket = url.host_str().filter(|b| !b.is_empty()).ok_or_else(|| {
                DataFusionError::Configuration(format!("gs URL without a bucket: {url}"))
            })?;
            let gcs = crate::gcs::gcs_builder().with_bucket_name(bucket).build().map_err(|e| {
                DataFusionError::Configuration(format!("cannot configure Google Cloud Storage for {url}: {e}"))
            })?;
            Ok(Arc::new(gcs))
        }
        other => Err(DataFusionError::Configuration(format!(
            "unsupported URL scheme `{other}` in {url}; use a local path, file://, s3://, gs:// or memory://"
        ))),
    }
}

impl ObjectStoreRegistry for StoreRegistry {
    fn register_store(&self, url: &Url, store: Arc<dyn ObjectStore>) -> Option<Arc<dyn ObjectStore>> {
        self.stores.write().expect("store registry lock").insert(store_key(url), store)
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        let key = store_key(url);
        if let Some(store) = self.stores.read().expect("store registry lock").get(&key) {
            return Ok(store.clone());
        }
        let mut stores = self.stores.write().expect("store registry lock");
        if let Some(store) = stores.get(&key) {
            return Ok(store.clone());
        }
        let store = open_store(url)?;
        stores.insert(key, store.clone());
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_stores_are_shared_by_name() {
        let reg = StoreRegistry::default();
        let a = reg.get_store(&Url::parse("memory://m/x/").unwrap()).unwrap();
        let b = reg.get_store(&Url::parse("memory://m/y/z").unwrap()).unwrap();
        let c = reg.get_store(&Url::parse("memory://other/").unwrap()).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
    }

    #[test]
    fn unknown_schemes_are_named() {
        let err = StoreRegistry::default().get_store(&Url::parse("ftp://b/x").unwrap()).unwrap_err();
        assert!(err.to_string().contains("unsupported URL scheme `ftp`"), "{err}");
    }
}
