//! A bounded cache for metadata that does not change during an upload:
//! projects, suites, statuses, case fields, case types, priorities,
//! templates and users.
//!
//! Entries expire after a few minutes, so a long-lived process such as the
//! spool flusher sees changes an administrator makes between batches.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use moka::future::Cache;
use serde::{Deserialize, Serialize};

/// How long an entry stays valid.
const TIME_TO_LIVE: Duration = Duration::from_secs(300);

/// Maximum number of entries.
const MAX_ENTRIES: u64 = 256;

type Entry = Arc<dyn Any + Send + Sync>;

/// Hits and misses of a [`MetadataCache`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStats {
    /// Reads served from the cache.
    pub hits: u64,
    /// Reads that sent a request.
    pub misses: u64,
}

/// Caches the responses of metadata GET requests by API path.
#[derive(Clone)]
pub struct MetadataCache {
    entries: Cache<String, Entry>,
    hits: Arc<AtomicU64>,
    misses: Arc<AtomicU64>,
}

impl std::fmt::Debug for MetadataCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetadataCache")
            .field("stats", &self.stats())
            .finish()
    }
}

impl Default for MetadataCache {
    fn default() -> Self {
        MetadataCache::new()
    }
}

impl MetadataCache {
    /// Creates an empty cache.
    pub fn new() -> MetadataCache {
        MetadataCache {
            entries: Cache::builder()
                .max_capacity(MAX_ENTRIES)
                .time_to_live(TIME_TO_LIVE)
                .build(),
            hits: Arc::new(AtomicU64::new(0)),
            misses: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Returns the cached value for `key`, or runs `fetch` to fill it.
    ///
    /// A failed fetch is not cached. Two callers that miss at the same time
    /// both fetch; the uploads read each key once, so this costs nothing.
    pub async fn get_or_fetch<T, E, F>(&self, key: &str, fetch: F) -> Result<T, E>
    where
        T: Clone + Send + Sync + 'static,
        F: Future<Output = Result<T, E>>,
    {
        if let Some(entry) = self.entries.get(key).await
            && let Some(value) = entry.downcast_ref::<T>()
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(value.clone());
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let value = fetch.await?;
        self.entries
            .insert(key.to_owned(), Arc::new(value.clone()) as Entry)
            .await;
        Ok(value)
    }

    /// Counts hits and misses so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn second_read_is_a_hit() {
        let cache = MetadataCache::new();
        let first: Result<Vec<u64>, ()> = cache
            .get_or_fetch("get_statuses", async { Ok(vec![1, 2]) })
            .await;
        let second: Result<Vec<u64>, ()> = cache
            .get_or_fetch("get_statuses", async { Ok(vec![9]) })
            .await;
        assert_eq!(first, Ok(vec![1, 2]));
        assert_eq!(second, Ok(vec![1, 2]));
        assert_eq!(cache.stats(), CacheStats { hits: 1, misses: 1 });
    }

    #[tokio::test]
    async fn failed_fetch_is_not_cached() {
        let cache = MetadataCache::new();
        let failed: Result<u64, &str> = cache
            .get_or_fetch("get_projects", async { Err("down") })
            .await;
        let retried: Result<u64, &str> = cache.get_or_fetch("get_projects", async { Ok(7) }).await;
        assert_eq!(failed, Err("down"));
        assert_eq!(retried, Ok(7));
        assert_eq!(cache.stats().misses, 2);
    }
}
