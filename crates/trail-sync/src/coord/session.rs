//! Upload sessions: the span from the first submit into an empty spool to
//! the end of `trail finish`.
//!
//! Every session gets an id, stored in `spool.json`, in the name of each
//! queue file, batch folder and outcome, and in the flusher's lease. A
//! flusher only takes files of its own session, so a flusher that outlives
//! its session never uploads a later session's results with its options.
//!
//! `session.lock` orders the changes of the session against the work done
//! for it. Submits that queue files and flushers that take them lock it
//! shared. `trail finish` locks it exclusively while it marks the session as
//! ending and while it removes `spool.json`.

use std::fs::{File, OpenOptions};
use std::path::Path;

use super::error::CoordError;

/// Prefix of the session id inside queue file and batch folder names.
const NAME_PREFIX: char = 's';

/// Returns a new session id: hexadecimal digits only, so that it can sit
/// between the dashes of a file name.
pub(crate) fn new_session_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{nanos:x}{:08x}", std::process::id())
}

/// Returns the name part that ties a file or folder to `session`.
pub(crate) fn name_part(session: &str) -> String {
    format!("{NAME_PREFIX}{session}")
}

/// Reads the session id from a queue file, batch folder or outcome name.
///
/// Names written before sessions had ids contain none and return the
/// empty id, which is also the session of a `spool.json` written then.
pub(crate) fn session_of_name(name: &str) -> &str {
    let stem = name.strip_suffix(".json").unwrap_or(name);
    stem.split('-')
        .find_map(|part| part.strip_prefix(NAME_PREFIX))
        .unwrap_or("")
}

/// A held `session.lock`; dropping it unlocks.
#[derive(Debug)]
pub(crate) struct SessionLock {
    _file: File,
}

impl SessionLock {
    /// Locks `{spool}/session.lock`, shared or exclusively.
    pub(crate) fn acquire(spool: &Path, exclusive: bool) -> Result<SessionLock, CoordError> {
        let path = spool.join("session.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| CoordError::io(&path, e))?;
        let locked = if exclusive {
            file.lock()
        } else {
            file.lock_shared()
        };
        locked.map_err(|e| CoordError::io(&path, e))?;
        Ok(SessionLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_is_read_from_names() {
        let id = new_session_id();
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
        let queue = format!("0001-42-7-{}-n3.json", name_part(&id));
        assert_eq!(session_of_name(&queue), id);
        let batch = format!("0001-42-7-{}", name_part(&id));
        assert_eq!(session_of_name(&batch), id);
        assert_eq!(session_of_name("0001-42-7-n3.json"), "");
    }
}
