//! Stored events keep decoding: payloads as earlier versions of Phobos
//! wrote them, read by today's types.

use phobos_core::events::JobEvent;

/// `JobClaimed` as recorded before job tokens were bound to claims (no
/// `token_sha256`).
const JOB_CLAIMED_BEFORE_TOKEN_HASH: &str = r#"{"JobClaimed":{"agent_id":"6f1c2a4e-0000-5000-8000-000000000001","session_id":"2d3c","claimed_at":"2026-11-30T10:00:00Z"}}"#;

#[test]
fn job_claimed_without_a_token_hash_still_decodes() {
    let event: JobEvent = serde_json::from_str(JOB_CLAIMED_BEFORE_TOKEN_HASH).unwrap();
    let JobEvent::JobClaimed {
        agent_id,
        token_sha256,
        ..
    } = event
    else {
        panic!("not JobClaimed: {event:?}");
    };
    assert_eq!(agent_id, "6f1c2a4e-0000-5000-8000-000000000001");
    assert_eq!(token_sha256, None);
}

#[test]
fn job_claimed_with_a_token_hash_round_trips() {
    let json = r#"{"JobClaimed":{"agent_id":"a","session_id":"s","claimed_at":"2026-12-01T10:00:00Z","token_sha256":"ab12"}}"#;
    let event: JobEvent = serde_json::from_str(json).unwrap();
    assert_eq!(serde_json::to_string(&event).unwrap(), json);
}
