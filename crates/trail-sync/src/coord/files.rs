//! Small file helpers: atomic writes, JSON reads, directory syncs.

use std::fs;
use std::io::Write;
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::CoordError;

/// Writes `bytes` to `path` so that readers see the whole file or none of
/// it: a temporary file in the same folder is written, synced and renamed.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CoordError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let fail = |e: std::io::Error| CoordError::io(path, e);
    let mut file = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(fail)?;
    file.write_all(bytes).map_err(fail)?;
    file.as_file().sync_all().map_err(fail)?;
    file.persist(path).map_err(|e| fail(e.error))?;
    sync_dir(dir);
    Ok(())
}

/// Writes `value` as JSON to `path` atomically.
pub(crate) fn write_json(path: &Path, value: &impl Serialize) -> Result<(), CoordError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| CoordError::io(path, e))?;
    write_atomically(path, &bytes)
}

/// Reads JSON from `path`; `None` when the file does not exist.
pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, CoordError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CoordError::io(path, e)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| CoordError::io(path, format!("invalid content ({e})")))
}

/// Syncs a folder so that a rename inside it survives a crash of the
/// machine. Failures are ignored because some file systems reject it.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(handle) = fs::File::open(dir) {
        let _ = handle.sync_all();
    }
}

/// Creates a folder and its parents.
pub(crate) fn create_dir(dir: &Path) -> Result<(), CoordError> {
    fs::create_dir_all(dir).map_err(|e| CoordError::io(dir, format!("cannot create: {e}")))
}

/// Removes a file, ignoring one that is already gone.
pub(crate) fn remove_file(path: &Path) -> Result<(), CoordError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CoordError::io(path, e)),
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
