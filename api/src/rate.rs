//! Rate limits on `/graphql`: `PHOBOS_HTTP_RATE_LIMIT` requests a second
//! per principal (per IP address for unauthenticated calls), kept in
//! memory (`governor`, per instance) or in Redis (one budget for every
//! instance that shares it). Over the limit: HTTP 429 with `Retry-After`.

use std::num::NonZeroU32;

use async_trait::async_trait;

/// What a check decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    Allowed,
    /// Try again after this many seconds.
    Limited {
        retry_after: u64,
    },
}

/// Where request counts are kept (`PHOBOS_RATE_LIMIT_STORE_PLUGIN_TYPE`).
#[async_trait]
pub trait RateLimitStore: Send + Sync {
    /// Counts one request of `key` and says whether it may go on.
    async fn check(&self, key: &str) -> RateDecision;
}

/// No limit (`PHOBOS_HTTP_RATE_LIMIT=0`).
pub struct Unlimited;

#[async_trait]
impl RateLimitStore for Unlimited {
    async fn check(&self, _: &str) -> RateDecision {
        RateDecision::Allowed
    }
}

/// Per instance, in memory: a token bucket per key (`governor`), which
/// allows a burst of one second's worth.
pub struct MemoryStore {
    limiter: governor::DefaultKeyedRateLimiter<String>,
}

impl MemoryStore {
    pub fn new(per_second: NonZeroU32) -> MemoryStore {
        MemoryStore::with_quota(governor::Quota::per_second(per_second))
    }

    pub fn with_quota(quota: governor::Quota) -> MemoryStore {
        MemoryStore {
            limiter: governor::RateLimiter::keyed(quota),
        }
    }
}

#[async_trait]
impl RateLimitStore for MemoryStore {
    async fn check(&self, key: &str) -> RateDecision {
        use governor::clock::Clock;
        // Keys of callers that stopped are dropped now and then.
        if self.limiter.len() > 100_000 {
            self.limiter.retain_recent();
        }
        match self.limiter.check_key(&key.to_string()) {
            Ok(()) => RateDecision::Allowed,
            Err(not_until) => {
                let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
                RateDecision::Limited {
                    retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
                }
            }
        }
    }
}

/// Shared by every instance on one Redis: a counter per key and second.
pub struct RedisStore {
    conn: redis::aio::ConnectionManager,
    per_second: u32,
}

impl RedisStore {
    pub async fn connect(endpoint: &str, per_second: u32) -> Result<RedisStore, String> {
        let client = redis::Client::open(endpoint).map_err(|e| {
            format!("PHOBOS_RATE_LIMIT_STORE_PLUGIN_DATA_REDIS_ENDPOINT {endpoint:?}: {e}")
        })?;
        let conn = redis::aio::ConnectionManager::new(client)
            .await
            .map_err(|e| format!("cannot reach Redis at {endpoint} (PHOBOS_RATE_LIMIT_STORE_PLUGIN_DATA_REDIS_ENDPOINT): {e}"))?;
        Ok(RedisStore { conn, per_second })
    }
}

#[async_trait]
impl RateLimitStore for RedisStore {
    async fn check(&self, key: &str) -> RateDecision {
        let second = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let k = format!("phobos:ratelimit:{key}:{second}");
        let mut conn = self.conn.clone();
        let counted: Result<(u64,), redis::RedisError> = redis::pipe()
            .atomic()
            .incr(&k, 1u64)
            .expire(&k, 2)
            .ignore()
            .query_async(&mut conn)
            .await;
        match counted {
            Ok((n,)) if n > u64::from(self.per_second) => RateDecision::Limited { retry_after: 1 },
            Ok(_) => RateDecision::Allowed,
            Err(e) => {
                // The limit is a guard, not a gate: without Redis, requests
                // go on (and the failure is logged).
                tracing::warn!(error = %e, "rate limit store unavailable; not limiting");
                RateDecision::Allowed
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_store_limits_each_key_on_its_own() {
        let s = MemoryStore::new(NonZeroU32::new(3).unwrap());
        for _ in 0..3 {
            assert_eq!(s.check("user:a").await, RateDecision::Allowed);
        }
        assert!(
            matches!(s.check("user:a").await, RateDecision::Limited { retry_after } if retry_after >= 1)
        );
        assert_eq!(s.check("user:b").await, RateDecision::Allowed);
        assert_eq!(Unlimited.check("x").await, RateDecision::Allowed);
    }
}
