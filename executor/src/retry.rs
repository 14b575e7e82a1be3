//! Retrying calls that failed because the server was unavailable.

use std::future::Future;
use std::time::Duration;

use tonic::{Code, Status};
use tracing::warn;

/// How many times a call is tried in all.
pub const ATTEMPTS: u32 = 5;
const FIRST_DELAY: Duration = Duration::from_millis(200);
const MAX_DELAY: Duration = Duration::from_secs(2);

/// True for failures worth retrying.
pub fn is_transient(status: &Status) -> bool {
    status.code() == Code::Unavailable
}

/// The delay before retry number `retry` (1-based): 200 ms, 400 ms, … 2 s.
pub fn delay(retry: u32) -> Duration {
    FIRST_DELAY
        .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)))
        .min(MAX_DELAY)
}

/// Runs `call` until it succeeds, fails for a non-transient reason, or has
/// been tried [`ATTEMPTS`] times.
pub async fn retry<T, F, Fut>(what: &str, mut call: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Status>>,
{
    let mut attempt = 1;
    loop {
        match call().await {
            Err(status) if is_transient(&status) && attempt < ATTEMPTS => {
                let delay = delay(attempt);
                warn!(
                    call = what,
                    attempt,
                    ?delay,
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
        let delays: Vec<u128> = (1..=6).map(|n| delay(n).as_millis()).collect();
        assert_eq!(delays, [200, 400, 800, 1600, 2000, 2000]);
    }
}
