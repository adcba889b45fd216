//! The local file system, confined to allowed roots: what SQL may read or
//! write on a machine (`CREATE EXTERNAL TABLE ... LOCATION`, `COPY ... TO`,
//! `json_list`, table scans). A scheduler or executor reachable over the
//! network otherwise serves and overwrites any file its user can.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions,
    PutPayload, PutResult, RenameOptions, Result,
};

/// A store that answers only for paths under its roots.
#[derive(Debug)]
pub struct Confined {
    inner: Arc<dyn ObjectStore>,
    roots: Vec<Path>,
    shown: String,
}

impl Confined {
    /// `roots` are absolute directories.
    pub fn new(inner: Arc<dyn ObjectStore>, roots: &[std::path::PathBuf]) -> Self {
        let shown = if roots.is_empty() { "none".to_string() } else { roots.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", ") };
        let roots = roots.iter().filter_map(|r| Path::from_absolute_path(r).ok()).collect();
        Self { inner, roots, shown }
    }

    fn check(&self, path: &Path) -> Result<()> {
        check(&self.roots, &self.shown, path)
    }

    fn refused<T: Send + 'static>(&self, path: &Path) -> Option<BoxStream<'static, Result<T>>> {
        self.check(path).err().map(|e| futures::stream::once(async { Err(e) }).boxed())
    }
}

fn check(roots: &[Path], shown: &str, path: &Path) -> Result<()> {
    if roots.iter().any(|root| path.prefix_matches(root)) {
        return Ok(());
    }
    Err(object_store::Error::PermissionDenied {
        path: format!("/{path}"),
        source: format!("/{path} is outside the allowed roots ({shown}); allow it with --allowed-roots").into(),
    })
}

impl fmt::Display for Confined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} confined to {}", self.inner, self.shown)
    }
}

#[async_trait]
impl ObjectStore for Confined {
    async fn put_opts(&self, location: &Path, payload: PutPayload, opts: PutOptions) -> Result<PutResult> {
        self.check(location)?;
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(&self, location: &Path, opts: PutMultipartOptions) -> Result<Box<dyn MultipartUpload>> {
        self.check(location)?;
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.check(location)?;
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.check(location)?;
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(&self, locations: BoxStream<'static, Result<Path>>) -> BoxStream<'static, Result<Path>> {
        let (roots, shown) = (self.roots.clone(), self.shown.clone());
        let checked = locations.map(move |p| {
            let p = p?;
            check(&roots, &shown, &p)?;
            Ok(p)
        });
        self.inner.delete_stream(checked.boxed())
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let root = Path::default();
        let prefix = prefix.unwrap_or(&root);
        self.refused(prefix).unwrap_or_else(|| self.inner.list(Some(prefix)))
    }

    fn list_with_offset(&self, prefix: Option<&Path>, offset: &Path) -> BoxStream<'static, Result<ObjectMeta>> {
        let root = Path::default();
        let prefix = prefix.unwrap_or(&root);
        self.refused(prefix).unwrap_or_else(|| self.inner.list_with_offset(Some(prefix), offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let root = Path::default();
        let prefix = prefix.unwrap_or(&root);
        self.check(prefix)?;
        self.inner.list_with_delimiter(Some(prefix)).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.check(from)?;
        self.check(to)?;
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.check(from)?;
        self.check(to)?;
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use object_store::ObjectStoreExt;
    use object_store::local::LocalFileSystem;

    use super::*;

    #[tokio::test]
    async fn only_paths_under_the_roots_are_served() {
        let dir = tempfile::tempdir().unwrap();
        let allowed = dir.path().join("allowed");
        std::fs::create_dir_all(&allowed).unwrap();
        std::fs::write(dir.path().join("secret"), "s").unwrap();
        let store = Confined::new(Arc::new(LocalFileSystem::new()), std::slice::from_ref(&allowed));
        let inside = Path::from_absolute_path(allowed.join("t/x.json")).unwrap();
        store.put(&inside, PutPayload::from_static(b"{}")).await.unwrap();
        assert_eq!(&store.get(&inside).await.unwrap().bytes().await.unwrap()[..], b"{}");
        let secret = Path::from_absolute_path(dir.path().join("secret")).unwrap();
        let e = store.get(&secret).await.unwrap_err().to_string();
        assert!(e.contains("is outside the allowed roots") && e.contains("--allowed-roots"), "{e}");
        assert!(store.put(&secret, PutPayload::from_static(b"x")).await.is_err());
        assert!(store.copy(&inside, &secret).await.is_err());
        assert!(store.list(None).next().await.unwrap().is_err());
        assert_eq!(store.list(Some(&Path::from_absolute_path(&allowed).unwrap())).count().await, 1);
        // A sibling whose name starts like a root is no root.
        let sibling = Path::from_absolute_path(dir.path().join("allowed2/x")).unwrap();
        assert!(store.head(&sibling).await.is_err());
    }
}
