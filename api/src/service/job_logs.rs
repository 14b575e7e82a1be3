//! Reading a job's log as it grows, for `jobLogEvents` and `GET
//! /jobs/{id}/log`: what is stored from an offset, and whether anything more
//! can come.
//!
//! A log is complete when its job is final and either its executor reported
//! the log's length (it stores every byte before its final report, see
//! `job_log_ends`) and the reader has reached it, or the job ended without
//! its executor and the executor's grace after the end
//! ([`crate::grpc::jobs::FINISHED_GRACE`]) has passed.

use phobos_commands::aggregates::JobStatus;
use phobos_projections::queries::{self, JobRow};

use super::{App, ServiceError};

/// How many stored chunks one read returns at most.
const CHUNKS_PER_READ: i64 = 500;

/// One read of a log.
#[derive(Debug)]
pub struct LogRead {
    /// The bytes stored contiguously from the offset asked for.
    pub data: Vec<u8>,
    /// The offset after `data`.
    pub next: i64,
    /// Nothing will ever come after `next`.
    pub complete: bool,
}

impl App {
    /// `job`'s log from byte `offset`, as stored now. The caller has been
    /// authorized for the job; `job` is re-read, so its status is current.
    pub async fn job_log_from(
        &self,
        job: uuid::Uuid,
        offset: i64,
    ) -> Result<LogRead, ServiceError> {
        let Some(row) = queries::job(&self.pool, job).await? else {
            return Ok(LogRead {
                data: Vec::new(),
                next: offset,
                complete: true,
            });
        };
        let (data, next) = queries::job_log(&self.pool, job, offset, CHUNKS_PER_READ).await?;
        let complete = if is_final(&row) {
            match queries::job_log_end(&self.pool, job).await? {
                Some(end) => next >= end,
                None => {
                    data.is_empty()
                        && row.finished_at.is_some_and(|at| {
                            self.clock.now() > at + crate::grpc::jobs::FINISHED_GRACE
                        })
                }
            }
        } else {
            false
        };
        Ok(LogRead {
            data,
            next,
            complete,
        })
    }
}

fn is_final(row: &JobRow) -> bool {
    JobStatus::ALL
        .iter()
        .any(|s| s.finished() && s.as_str() == row.status)
}

/// The longest prefix of `data` that does not end inside a UTF-8 sequence,
/// so that a character split between two chunks is sent whole with the
/// second; all of it when `complete` (a broken last character is then
/// replaced).
pub fn text_prefix(data: &[u8], complete: bool) -> (String, usize) {
    if complete {
        return (String::from_utf8_lossy(data).into_owned(), data.len());
    }
    // At most 3 bytes of an unfinished character at the end.
    let mut cut = data.len();
    for back in 1..=3.min(data.len()) {
        let b = data[data.len() - back];
        if b & 0xC0 != 0x80 {
            // The lead byte of the last sequence: is the sequence whole?
            let len = match b {
                0xC0..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF7 => 4,
                _ => 1,
            };
            if len > back {
                cut = data.len() - back;
            }
            break;
        }
    }
    (String::from_utf8_lossy(&data[..cut]).into_owned(), cut)
}

#[cfg(test)]
mod tests {
    use super::text_prefix;

    #[test]
    fn a_character_split_between_chunks_waits_for_its_end() {
        let e = "é".as_bytes(); // C3 A9
        assert_eq!(text_prefix(b"ab", false), ("ab".to_string(), 2));
        assert_eq!(text_prefix(&[b'a', e[0]], false), ("a".to_string(), 1));
        assert_eq!(
            text_prefix(&[b'a', e[0], e[1]], false),
            ("aé".to_string(), 3)
        );
        let crab = "🦀".as_bytes(); // 4 bytes
        for n in 1..4 {
            let mut d = b"x".to_vec();
            d.extend_from_slice(&crab[..n]);
            assert_eq!(text_prefix(&d, false), ("x".to_string(), 1), "{n}");
        }
        let mut d = b"x".to_vec();
        d.extend_from_slice(crab);
        assert_eq!(text_prefix(&d, false), ("x🦀".to_string(), 5));
        // At the end of a complete log a broken character is replaced.
        assert_eq!(
            text_prefix(&[b'a', e[0]], true),
            ("a\u{fffd}".to_string(), 2)
        );
        // Invalid bytes that are not a pending sequence pass (replaced).
        assert_eq!(
            text_prefix(&[b'a', 0xFF], false),
            ("a\u{fffd}".to_string(), 2)
        );
        assert_eq!(text_prefix(&[], false), (String::new(), 0));
    }
}
