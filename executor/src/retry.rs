//! Retrying calls that failed because the server was unavailable: with
//! backoff, for as long as the job may still run. A server that restarts, or
//! an instance that dies behind a load balancer, loses nothing the executor
//! still has to report.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;
use tonic::{Code, Status};
use tracing::warn;

const FIRST_DELAY: Duration = Duration::from_millis(200);
const MAX_DELAY: Duration = Duration::from_secs(5);
/// How long calls are retried before the job's timeout is known.
const UNTIL_FETCHED: Duration = Duration::from_secs(10 * 60);

/// When to give up: [`UNTIL_FETCHED`] from start, then the job's deadline.
static GIVE_UP_AT: Mutex<Option<Instant>> = Mutex::new(None);

/// From now on, calls are retried until `deadline` (the job's timeout).
pub fn retry_until(deadline: Instant) {
    *GIVE_UP_AT.lock().unwrap_or_else(|p| p.into_inner()) = Some(deadline);
}

/// The instant after which a failed call is not tried again.
pub fn give_up_at() -> Instant {
    let mut at = GIVE_UP_AT.lock().unwrap_or_else(|p| p.into_inner());
    *at.get_or_insert_with(|| Instant::now() + UNTIL_FETCHED)
}

/// True for failures worth retrying: the server (or the way to it) is down
/// or restarting. A call cut off by a dying server surfaces as UNKNOWN or
/// CANCELLED rather than UNAVAILABLE.
pub fn is_transient(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::Unknown | Code::Cancelled | Code::DeadlineExceeded
    )
}

/// The delay before retry number `retry` (1-based): 200 ms, 400 ms, … 5 s.
pub fn delay(retry: u32) -> Duration {
    FIRST_DELAY
        .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1).min(16)))
        .min(MAX_DELAY)
}

/// Whether retry number `retry` may still be made (its delay ends before
/// the deadline).
pub fn may_retry(retry: u32) -> bool {
    Instant::now() + delay(retry) < give_up_at()
}

/// Runs `call` until it succeeds, fails for a non-transient reason, or the
/// deadline has passed.
pub async fn retry<T, F, Fut>(what: &str, mut call: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Status>>,
{
    let mut attempt = 1;
    loop {
        match call().await {
            Err(status) if is_transient(&status) && may_retry(attempt) => {
                let delay = delay(attempt);
                warn!(
                    call = what,
                    attempt,
                    ?delay,
                    code = ?status.code(),
                    error = status.message(),
                    "server unavailable; retrying"
                );
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let delays: Vec<u128> = (1..=7).map(|n| delay(n).as_millis()).collect();
        assert_eq!(delays, [200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(delay(1000), MAX_DELAY);
    }
}
