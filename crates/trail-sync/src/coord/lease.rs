//! The flusher's lease: who flushes the spool, until when.
//!
//! `lease.json` names the owner, its pid and host and an expiry. Every read
//! and write of it happens while the process holds an exclusive lock on
//! `lease.lock`, so taking over an expired lease is atomic. The lock is
//! held for a few file operations only, never while uploading.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::CoordError;
use super::files::{now_ms, read_json, remove_file, write_json};

/// The current holder of the flusher role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Random id of the owning flusher.
    pub owner: String,
    /// Session whose results the owner uploads. Empty in leases written
    /// before sessions had ids.
    #[serde(default)]
    pub session: String,
    /// Process id of the owner.
    pub pid: u32,
    /// Host name of the owner.
    pub host: String,
    /// Unix time in milliseconds at which the owner took the lease.
    pub acquired_at_ms: u64,
    /// Unix time in milliseconds after which the lease is free.
    pub expires_at_ms: u64,
}

impl Lease {
    /// Returns true while the owner may still be flushing: the lease has
    /// not expired and, on this host, the owner's process exists.
    pub fn is_live(&self) -> bool {
        if now_ms() >= self.expires_at_ms {
            return false;
        }
        self.host != host_name() || process_alive(self.pid)
    }
}

/// The lease files of one spool.
#[derive(Debug, Clone)]
pub struct LeaseFile {
    path: PathBuf,
    lock_path: PathBuf,
}

impl LeaseFile {
    /// Uses `{spool}/lease.json` and `{spool}/lease.lock`.
    pub fn new(spool: &Path) -> LeaseFile {
        LeaseFile {
            path: spool.join("lease.json"),
            lock_path: spool.join("lease.lock"),
        }
    }

    fn lock(&self) -> Result<File, CoordError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock_path)
            .map_err(|e| CoordError::io(&self.lock_path, e))?;
        file.lock()
            .map_err(|e| CoordError::io(&self.lock_path, e))?;
        Ok(file)
    }

    /// Reads the lease, live or not.
    pub fn read(&self) -> Result<Option<Lease>, CoordError> {
        let _guard = self.lock()?;
        read_json(&self.path)
    }

    /// Returns the lease when it is live.
    pub fn live(&self) -> Result<Option<Lease>, CoordError> {
        Ok(self.read()?.filter(Lease::is_live))
    }

    /// Takes the lease for `owner`, a flusher of `session`, unless another
    /// owner has a live lease for the same session; returns true when
    /// `owner` has it afterwards.
    ///
    /// A live lease of another session is taken over. The caller must make
    /// sure that `session` is the spool's open session, because then the
    /// old owner flushes an ended session and stops at its next check. A lease reserved for `owner` by
    /// [`LeaseFile::reserve`] is taken over with this process's pid.
    pub fn acquire(&self, owner: &str, session: &str, ttl: Duration) -> Result<bool, CoordError> {
        let _guard = self.lock()?;
        let current: Option<Lease> = read_json(&self.path)?;
        if let Some(lease) = &current
            && lease.owner != owner
            && lease.session == session
            && lease.is_live()
        {
            return Ok(false);
        }
        let now = now_ms();
        let lease = Lease {
            owner: owner.to_owned(),
            session: session.to_owned(),
            pid: std::process::id(),
            host: host_name(),
            acquired_at_ms: now,
            expires_at_ms: now + ttl.as_millis() as u64,
        };
        write_json(&self.path, &lease)?;
        Ok(true)
    }

    /// Writes a lease for a flusher of `session` that `start` starts, unless
    /// a live lease for that session exists; returns true when it was
    /// written.
    ///
    /// `start` runs under the lock and returns the new process's pid, so
    /// that two submitters never both start a flusher. A live lease of
    /// another session is taken over, as in [`LeaseFile::acquire`].
    pub fn reserve(
        &self,
        owner: &str,
        session: &str,
        ttl: Duration,
        start: impl FnOnce() -> Result<u32, CoordError>,
    ) -> Result<bool, CoordError> {
        let _guard = self.lock()?;
        let current: Option<Lease> = read_json(&self.path)?;
        if current
            .as_ref()
            .is_some_and(|lease| lease.session == session && lease.is_live())
        {
            return Ok(false);
        }
        let pid = start()?;
        let now = now_ms();
        let lease = Lease {
            owner: owner.to_owned(),
            session: session.to_owned(),
            pid,
            host: host_name(),
            acquired_at_ms: now,
            expires_at_ms: now + ttl.as_millis() as u64,
        };
        write_json(&self.path, &lease)?;
        Ok(true)
    }

    /// Extends the lease of `owner`; returns false when another owner has
    /// taken it, in which case `owner` must stop flushing.
    pub fn renew(&self, owner: &str, ttl: Duration) -> Result<bool, CoordError> {
        let _guard = self.lock()?;
        let Some(mut lease) = read_json::<Lease>(&self.path)? else {
            return Ok(false);
        };
        if lease.owner != owner {
            return Ok(false);
        }
        lease.expires_at_ms = now_ms() + ttl.as_millis() as u64;
        write_json(&self.path, &lease)?;
        Ok(true)
    }

    /// Gives the lease up when `owner` holds it.
    pub fn release(&self, owner: &str) -> Result<(), CoordError> {
        let _guard = self.lock()?;
        if read_json::<Lease>(&self.path)?.is_some_and(|lease| lease.owner == owner) {
            remove_file(&self.path)?;
        }
        Ok(())
    }
}

/// Returns this machine's host name, or `localhost` when it is unknown.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Returns false when process `pid` of this host has exited.
///
/// On Linux this reads `/proc/PID/stat`, and a zombie counts as exited
/// because it will never renew a lease. Elsewhere every pid counts as
/// alive, so only the lease's expiry frees it.
pub fn process_alive(pid: u32) -> bool {
    if !Path::new("/proc/self/stat").exists() {
        return true;
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The command name in brackets may contain spaces, so the state is the
    // first field after the last closing bracket.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next());
    !matches!(state, Some("Z" | "X" | "x"))
}

/// Returns a random-enough owner id: time, pid and a counter.
pub(crate) fn new_owner_id() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{:x}-{}-{}",
        now_ms(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_owner_waits_for_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let lease = LeaseFile::new(dir.path());
        let ttl = Duration::from_secs(30);
        assert!(lease.acquire("a", "s1", ttl).unwrap());
        assert!(!lease.acquire("b", "s1", ttl).unwrap());
        assert!(lease.renew("a", ttl).unwrap());
        assert!(!lease.renew("b", ttl).unwrap());
        assert!(lease.acquire("a", "s1", Duration::from_secs(0)).unwrap());
        assert!(
            lease.acquire("b", "s1", ttl).unwrap(),
            "an expired lease is free"
        );
        assert!(!lease.renew("a", ttl).unwrap());
    }

    #[test]
    fn lease_of_other_session_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let lease = LeaseFile::new(dir.path());
        let ttl = Duration::from_secs(30);
        assert!(lease.acquire("a", "s1", ttl).unwrap());
        assert!(
            !lease
                .reserve("b", "s1", ttl, || Ok(std::process::id()))
                .unwrap()
        );
        assert!(
            lease
                .reserve("b", "s2", ttl, || Ok(std::process::id()))
                .unwrap()
        );
        assert_eq!(lease.live().unwrap().unwrap().session, "s2");
        assert!(!lease.renew("a", ttl).unwrap(), "the old owner lost it");
        assert!(!lease.acquire("a", "s2", ttl).unwrap());
    }

    #[test]
    fn lease_of_exited_process_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let lease = LeaseFile::new(dir.path());
        assert!(
            lease
                .reserve("a", "s1", Duration::from_secs(30), || Ok(pid))
                .unwrap()
        );
        assert_eq!(lease.read().unwrap().unwrap().pid, pid);
        if Path::new("/proc/self/stat").exists() {
            assert!(lease.live().unwrap().is_none());
            assert!(lease.acquire("b", "s1", Duration::from_secs(30)).unwrap());
        }
    }

    #[test]
    fn own_process_is_alive() {
        assert!(process_alive(std::process::id()));
    }
}
