//! The job's own working directory: the current directory and `HOME` of its
//! commands, private to the executor's user, removed when the job ends.

use std::path::{Path, PathBuf};

use tracing::warn;

/// A directory that is removed when dropped.
pub struct WorkDir(PathBuf);

impl WorkDir {
    /// Creates `phobos-job-<job_id>` in the system's temporary directory,
    /// empty (what an earlier executor of the same job left is removed).
    pub fn create(job_id: &str) -> std::io::Result<Self> {
        // `job_id` comes from the server: keep only what is safe in a name.
        let safe: String = job_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = std::env::temp_dir().join(format!("phobos-job-{safe}"));
        if path.exists() {
            std::fs::remove_dir_all(&path)?;
        }
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&path)?;
        Ok(Self(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if let Err(error) = std::fs::remove_dir_all(&self.0) {
            warn!(%error, dir = %self.0.display(), "could not remove the job's working directory");
        }
    }
}
