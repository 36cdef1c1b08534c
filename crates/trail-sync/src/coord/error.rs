//! Errors of the spool, the lease and the flusher.

use std::path::PathBuf;

use crate::error::SyncError;

/// A coordination step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoordError {
    /// A spool file or folder could not be read or written.
    #[error("spool `{}`: {message}\nhint: check that the spool directory is writable, or pass --spool DIR", path.display())]
    Io {
        /// File or folder.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The spool was set up for other upload options, or an input is invalid.
    #[error("invalid {setting}: {message}\nhint: {hint}")]
    Config {
        /// Flag, variable or field name.
        setting: String,
        /// What is wrong with it.
        message: String,
        /// What to do instead.
        hint: String,
    },
    /// The upload of a batch failed.
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// The upload session that a submit or flush belongs to has ended, or
    /// `trail finish` is ending it.
    #[error("the upload session of the spool `{}` has ended or is being finished by `trail finish`\nhint: submit again after `trail finish` has exited, so that the results start a new session", spool.display())]
    SessionEnded {
        /// Spool directory.
        spool: PathBuf,
    },
    /// The spool still held results when the wait ended.
    #[error("the spool `{}` still holds {pending} results after waiting {waited_secs} s\nhint: check the flusher log `{}` and TestRail's reachability, then run `trail finish` again", spool.display(), spool.join("flusher.log").display())]
    TimedOut {
        /// Spool directory.
        spool: PathBuf,
        /// Results still queued or in flight.
        pending: usize,
        /// Seconds waited.
        waited_secs: u64,
    },
}

impl CoordError {
    /// Wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: impl Into<PathBuf>, error: impl std::fmt::Display) -> CoordError {
        CoordError::Io {
            path: path.into(),
            message: error.to_string(),
        }
    }
}
