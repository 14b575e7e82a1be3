//! Object store plugins: where template text (and later plugin binaries and
//! artifacts) live. Chosen by `PHOBOS_OBJECT_STORE_PLUGIN_TYPE`:
//! `filesystem` (files under one directory) or `aws_s3` (a bucket of S3 or
//! an S3-compatible server). Objects stream both ways: neither plugin holds
//! a whole object in memory (S3 uploads go in 8 MiB parts).

use std::path::PathBuf;

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncReadExt};

mod s3;

pub use s3::S3;

#[derive(Debug, thiserror::Error)]
pub enum ObjectStoreError {
    #[error("object {0} does not exist")]
    NotFound(String),
    #[error("object store: {0}")]
    Io(String),
    #[error("{0:?} is not a valid object key")]
    BadKey(String),
}

/// An object's content, read as it arrives.
pub type ObjectReader = Box<dyn AsyncRead + Send + Unpin>;

#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Stores everything `body` yields under `key` (replacing what was
    /// there; a reader never sees half an object). Returns its length.
    async fn put_stream(&self, key: &str, body: ObjectReader) -> Result<u64, ObjectStoreError>;
    /// The object under `key`, as a stream.
    async fn get_stream(&self, key: &str) -> Result<ObjectReader, ObjectStoreError>;

    /// Stores a small object held in memory.
    async fn put(&self, key: &str, data: &[u8]) -> Result<(), ObjectStoreError> {
        self.put_stream(key, Box::new(std::io::Cursor::new(data.to_vec())))
            .await
            .map(|_| ())
    }

    /// Reads a small object whole.
    async fn get(&self, key: &str) -> Result<Vec<u8>, ObjectStoreError> {
        let mut reader = self.get_stream(key).await?;
        let mut out = Vec::new();
        reader
            .read_to_end(&mut out)
            .await
            .map_err(|e| ObjectStoreError::Io(format!("reading {key}: {e}")))?;
        Ok(out)
    }
}

/// The one rule for object keys, for every plugin: `/`-separated segments
/// of letters, digits, `-`, `_` and `.`, none empty, `.` or `..`.
pub fn check_key(key: &str) -> Result<(), ObjectStoreError> {
    let ok = !key.is_empty()
        && key
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != "..")
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ObjectStoreError::BadKey(key.to_string()))
    }
}

/// Objects as files under one directory (`filesystem`).
pub struct Filesystem {
    root: PathBuf,
}

impl Filesystem {
    pub fn new(root: PathBuf) -> Self {
        Filesystem { root }
    }

    fn path(&self, key: &str) -> Result<PathBuf, ObjectStoreError> {
        check_key(key)?;
        Ok(self.root.join(key))
    }
}

#[async_trait]
impl ObjectStore for Filesystem {
    async fn put_stream(&self, key: &str, mut body: ObjectReader) -> Result<u64, ObjectStoreError> {
        let path = self.path(key)?;
        let io = |e: std::io::Error| ObjectStoreError::Io(format!("{}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io)?;
        }
        // Write aside and rename, so a reader never sees half an object.
        let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
        let written = async {
            let mut file = tokio::fs::File::create(&tmp).await?;
            let n = tokio::io::copy(&mut body, &mut file).await?;
            file.sync_all().await?;
            Ok::<_, std::io::Error>(n)
        }
        .await;
        match written {
            Ok(n) => {
                tokio::fs::rename(&tmp, &path).await.map_err(io)?;
                Ok(n)
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                Err(io(e))
            }
        }
    }

    async fn get_stream(&self, key: &str) -> Result<ObjectReader, ObjectStoreError> {
        let path = self.path(key)?;
        match tokio::fs::File::open(&path).await {
            Ok(f) => Ok(Box::new(f)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(ObjectStoreError::NotFound(key.to_string()))
            }
            Err(e) => Err(ObjectStoreError::Io(format!("{}: {e}", path.display()))),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
