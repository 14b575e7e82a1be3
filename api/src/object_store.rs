//! Object store plugins: where template text (and later artifacts) live.
//! Chosen by `PHOBOS_OBJECT_STORE_PLUGIN_TYPE`.

use std::path::PathBuf;

use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum ObjectStoreError {
    #[error("object {0} does not exist")]
    NotFound(String),
    #[error("object store: {0}")]
    Io(String),
    #[error("{0:?} is not a valid object key")]
    BadKey(String),
}

#[async_trait]
pub trait ObjectStore: Send + Sync {
    async fn put(&self, key: &str, data: &[u8]) -> Result<(), ObjectStoreError>;
    async fn get(&self, key: &str) -> Result<Vec<u8>, ObjectStoreError>;
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
        let ok = !key.is_empty()
            && key
                .split('/')
                .all(|p| !p.is_empty() && p != "." && p != "..")
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b));
        if !ok {
            return Err(ObjectStoreError::BadKey(key.to_string()));
        }
        Ok(self.root.join(key))
    }
}

#[async_trait]
impl ObjectStore for Filesystem {
    async fn put(&self, key: &str, data: &[u8]) -> Result<(), ObjectStoreError> {
        let path = self.path(key)?;
        let io = |e: std::io::Error| ObjectStoreError::Io(format!("{}: {e}", path.display()));
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io)?;
        }
        // Write aside and rename, so a reader never sees half an object.
        let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
        tokio::fs::write(&tmp, data).await.map_err(io)?;
        tokio::fs::rename(&tmp, &path).await.map_err(io)
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, ObjectStoreError> {
        let path = self.path(key)?;
        match tokio::fs::read(&path).await {
            Ok(d) => Ok(d),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(ObjectStoreError::NotFound(key.to_string()))
            }
            Err(e) => Err(ObjectStoreError::Io(format!("{}: {e}", path.display()))),
        }
    }
}
