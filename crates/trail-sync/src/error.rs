//! Errors of the sync engine.

use std::path::PathBuf;

/// An upload failed as a whole.
///
/// Entries that TestRail rejects one by one are not errors of this type:
/// they are listed in the [`Summary`](crate::Summary) and the upload goes on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// A setting is missing or invalid.
    #[error("invalid {setting}: {message}\nhint: {hint}")]
    Config {
        /// Flag, variable or field name.
        setting: String,
        /// Description of the problem.
        message: String,
        /// Advice on what to do instead.
        hint: String,
    },
    /// A report could not be read.
    #[error(transparent)]
    Report(#[from] trail_reports::ReadError),
    /// TestRail rejected a request or could not be reached.
    #[error("{context}: {source}")]
    Api {
        /// Step of the upload that failed.
        context: String,
        /// The client error, which names the API method and status.
        #[source]
        source: Box<testrail_api::Error>,
    },
    /// The journal in the spool directory could not be read or written.
    #[error("journal `{}`: {message}\nhint: check that the spool directory is writable, or pass --spool DIR", path.display())]
    Journal {
        /// Journal file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// A journaled upload failed again when resumed, for a reason a retry
    /// cannot fix.
    #[error("cannot resume the upload journaled in `{}`: {source}\nhint: fix the cause and run `trail resume` again, or delete that file and its `.plan` file to discard the upload", path.display())]
    Unresumable {
        /// Progress file of the journal.
        path: PathBuf,
        /// Why it failed.
        source: Box<SyncError>,
    },
    /// The upload stopped part way; what is done is journaled.
    #[error("{message}\nthe results are kept in `{}`; run `trail resume --spool {}` or rerun the same command to finish the upload", spool.display(), spool.display())]
    Interrupted {
        /// Reason the upload stopped.
        message: String,
        /// Spool directory holding the journal.
        spool: PathBuf,
    },
}

impl SyncError {
    /// Wraps a client error with what trail was doing.
    pub fn api(context: impl Into<String>, source: testrail_api::Error) -> SyncError {
        SyncError::Api {
            context: context.into(),
            source: Box::new(source),
        }
    }
}
