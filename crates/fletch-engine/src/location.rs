//! A directory-like location given by a user: a local path, `file://`,
//! `s3://`, `gs://` or `memory://` URL. Always normalised to an absolute URL ending in `/`.

use std::fmt;
use std::sync::Arc;

use datafusion::execution::object_store::ObjectStoreRegistry;
use futures::TryStreamExt;
use object_store::{ObjectMeta, ObjectStore};
use object_store::path::Path;
use url::Url;

use crate::error::{Error, Result};
use crate::stores;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    url: Url,
}

impl Location {
    /// Parses a user-given root. `what` names the flag or setting in errors.
    pub fn parse(what: &str, s: &str) -> Result<Self> {
        if s.trim().is_empty() {
            return Err(Error::usage(format!("{what}: empty location")));
        }
        let url = match Url::parse(s) {
            // One-letter schemes are Windows drive letters, not URLs.
            Ok(url) if url.scheme().len() > 1 => url,
            _ => {
                let abs = std::path::absolute(s)
                    .map_err(|e| Error::usage(format!("{what}: cannot resolve path {s}: {e}")))?;
                Url::from_directory_path(&abs)
                    .map_err(|_| Error::usage(format!("{what}: not a usable path: {s}")))?
            }
        };
        if !matches!(url.scheme(), "file" | "s3" | "gs" | "memory") {
            return Err(Error::usage(format!(
                "{what}: unsupported URL scheme `{}` in {s}; use a local path, file://, s3://, gs:// or memory://",
                url.scheme()
            )));
        }
        if url.scheme() != "file" && url.host_str().is_none_or(str::is_empty) {
            return Err(Error::usage(format!("{what}: {s} names no bucket")));
        }
        Ok(Self::dir(url))
    }

    /// A comma-separated list of roots (empty: none).
    pub fn parse_list(what: &str, list: &str) -> Result<Vec<Self>> {
        list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| Self::parse(what, s)).collect()
    }

    fn dir(mut url: Url) -> Self {
        if !url.path().ends_with('/') {
            let p = format!("{}/", url.path());
            url.set_path(&p);
        }
        Self { url }
    }

    /// A sub-directory, `rel` being a relative path such as `clients_daily` or `taar/locale/`.
    pub fn join(&self, rel: &str) -> Self {
        Self::dir(self.url.join(rel.trim_start_matches('/')).expect("relative path joins"))
    }

    /// The URL of a file directly in or below this directory.
    pub fn file_url(&self, rel: &str) -> Url {
        self.url.join(rel.trim_start_matches('/')).expect("relative path joins")
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// The local directory, for `file://` locations.
    pub fn local_path(&self) -> Option<std::path::PathBuf> {
        self.url.to_file_path().ok()
    }

    /// The store holding this location.
    pub fn store(&self) -> Result<Arc<dyn ObjectStore>> {
        Ok(stores::registry().get_store(&self.url)?)
    }

    /// This directory's key prefix inside its store.
    pub fn prefix(&self) -> Path {
        key_of(&self.url)
    }

    /// Every object under this location: its path relative to it, and its metadata.
    pub async fn list_files(&self) -> Result<Vec<(String, ObjectMeta)>> {
        let prefix = self.prefix();
        let listed: Vec<ObjectMeta> = self.store()?.list(Some(&prefix)).try_collect().await.map_err(|e| Error::io(format!("cannot list {self}: {e}")))?;
        Ok(listed.into_iter().map(|meta| (relative_key(&prefix, &meta.location), meta)).collect())
    }
}

/// `path` relative to `prefix`, as `a/b/c` (empty when `path` is not under it).
pub fn relative_key(prefix: &Path, path: &Path) -> String {
    path.prefix_match(prefix)
        .map(|parts| parts.map(|p| p.as_ref().to_string()).collect::<Vec<_>>().join("/"))
        .unwrap_or_default()
}

/// The object key of any URL inside its store.
pub fn key_of(url: &Url) -> Path {
    Path::from_url_path(url.path()).expect("URL paths are valid object paths")
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.url.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_paths_and_urls() {
        let l = Location::parse("--data-root", "s3://bucket/some/prefix").unwrap();
        assert_eq!(l.as_str(), "s3://bucket/some/prefix/");
        assert_eq!(l.join("clients_daily").as_str(), "s3://bucket/some/prefix/clients_daily/");
        assert_eq!(l.prefix().as_ref(), "some/prefix");
        let local = Location::parse("--output-root", "/tmp/out").unwrap();
        assert_eq!(local.as_str(), "file:///tmp/out/");
        assert_eq!(local.file_url("taar/a.json").as_str(), "file:///tmp/out/taar/a.json");
        assert!(Location::parse("x", "relative/dir").unwrap().as_str().ends_with("/relative/dir/"));
    }

    #[test]
    fn rejects_bad_roots_naming_the_flag() {
        let e = Location::parse("--data-root", "ftp://b/x").unwrap_err().to_string();
        assert!(e.starts_with("--data-root: unsupported URL scheme `ftp`"), "{e}");
        assert!(Location::parse("--data-root", "gs://b/x").is_ok());
        let e = Location::parse("--output-root", "s3:///x").unwrap_err().to_string();
        assert!(e.contains("names no bucket"), "{e}");
    }
}
