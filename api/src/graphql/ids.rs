//! Global ids: opaque, `base64url("<Type>:<uuid>")`, as Relay expects; and
//! PRNs, the human-readable names (`prn:project:acme/web`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use uuid::Uuid;

pub fn encode(kind: &str, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}

/// The global id of something named within a pipeline (a node by its path,
/// a stage by its name): `base64url("<kind>:<pipeline uuid>:<name>")`.
/// Stable, so a client's normalized cache keys on it.
pub fn encode_in_pipeline(kind: &str, pipeline: Uuid, name: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{pipeline}:{name}"))
}

/// The type and UUID inside a global id, if it is one.
pub fn decode(global: &str) -> Option<(String, Uuid)> {
    let raw = URL_SAFE_NO_PAD.decode(global).ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (kind, id) = s.split_once(':')?;
    Some((kind.to_string(), Uuid::parse_str(id).ok()?))
}

/// The UUID of a global id of `kind`, or of a bare UUID.
pub fn uuid_of(kind: &str, s: &str) -> Option<Uuid> {
    if let Ok(u) = Uuid::parse_str(s) {
        return Some(u);
    }
    match decode(s) {
        Some((k, u)) if k == kind => Some(u),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        let u = uuid::Uuid::new_v4();
        let g = super::encode("Pipeline", u);
        assert_eq!(super::decode(&g), Some(("Pipeline".to_string(), u)));
        assert_eq!(super::uuid_of("Pipeline", &g), Some(u));
        assert_eq!(super::uuid_of("Job", &g), None);
        assert_eq!(super::uuid_of("Job", &u.to_string()), Some(u));
        // A node's id is not mistaken for its pipeline's.
        let n = super::encode_in_pipeline("PipelineNode", u, "stage.s.main.task.a");
        assert_eq!(super::decode(&n), None);
        assert_ne!(
            n,
            super::encode_in_pipeline("PipelineNode", u, "stage.s.main.task.b")
        );
    }
}
