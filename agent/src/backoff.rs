//! Capped exponential backoff between retries: 200 ms, 400 ms, … up to 5 s.

use std::time::Duration;

/// The first delay.
pub(crate) const MIN_DELAY: Duration = Duration::from_millis(200);
/// The longest delay.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(5);

/// Delays that double from [`MIN_DELAY`] up to [`MAX_DELAY`].
#[derive(Debug)]
pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        Self { next: MIN_DELAY }
    }

    /// The delay to wait now; the one after it is twice as long (capped).
    pub(crate) fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(MAX_DELAY);
        delay
    }

    /// Starts again from [`MIN_DELAY`] (after something worked).
    pub(crate) fn reset(&mut self) {
        self.next = MIN_DELAY;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_and_resets() {
        let mut backoff = Backoff::new();
        let delays: Vec<u64> = (0..7)
            .map(|_| backoff.next_delay().as_millis() as u64)
            .collect();
        assert_eq!(delays, [200, 400, 800, 1600, 3200, 5000, 5000]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), MIN_DELAY);
    }
}
