//! One command at a time per aggregate in this process. Commands on one
//! aggregate from the same instance wait for each other instead of racing
//! to append and re-running (a thousand concurrent approvals of one node
//! would otherwise exhaust their retries); optimistic concurrency still
//! settles races between instances.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// Unused entries are dropped once there are more than this.
const PRUNE_ABOVE: usize = 4096;

/// An aggregate: its type and id.
type Key = (&'static str, String);

#[derive(Default)]
pub(crate) struct AggregateLocks {
    by_id: Mutex<HashMap<Key, Weak<AsyncMutex<()>>>>,
}

impl AggregateLocks {
    /// Waits until no other command of this process runs on the aggregate.
    pub(crate) async fn lock(&self, kind: &'static str, id: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut map = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() > PRUNE_ABOVE {
                map.retain(|_, w| w.strong_count() > 0);
            }
            let key = (kind, id.to_string());
            match map.get(&key).and_then(Weak::upgrade) {
                Some(l) => l,
                None => {
                    let l = Arc::new(AsyncMutex::new(()));
                    map.insert(key, Arc::downgrade(&l));
                    l
                }
            }
        };
        lock.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_holder_per_aggregate_and_others_go_on() {
        let locks = AggregateLocks::default();
        let a = locks.lock("Pipeline", "1").await;
        // Another aggregate is not held up.
        let _b = locks.lock("Pipeline", "2").await;
        let waiting = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            locks.lock("Pipeline", "1"),
        )
        .await;
        assert!(waiting.is_err(), "a second holder got the lock");
        drop(a);
        let _again = locks.lock("Pipeline", "1").await;
    }
}
