//! Phobos Resource Names: `prn:<type>:<path>`, e.g.
//! `prn:approval_rule:my-org/release-managers`.

use std::fmt;
use std::str::FromStr;

/// A parsed PRN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prn {
    pub resource_type: String,
    pub path: String,
}

impl fmt::Display for Prn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "prn:{}:{}", self.resource_type, self.path)
    }
}

/// Why a string is not a PRN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a PRN: expected prn:<type>:<path>, e.g. prn:approval_rule:my-org/release-managers")]
pub struct PrnError(pub String);

impl FromStr for Prn {
    type Err = PrnError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || PrnError(s.to_string());
        let rest = s.strip_prefix("prn:").ok_or_else(err)?;
        let (ty, path) = rest.split_once(':').ok_or_else(err)?;
        let ty_ok = !ty.is_empty() && ty.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        let path_ok = !path.is_empty()
            && !path.starts_with('/')
            && !path.ends_with('/')
            && !path.contains("//")
            && path.chars().all(|c| !c.is_whitespace() && !c.is_control());
        if ty_ok && path_ok {
            Ok(Prn {
                resource_type: ty.to_string(),
                path: path.to_string(),
            })
        } else {
            Err(err())
        }
    }
}

/// Whether `s` has the shape of a resource id (a UUID or an opaque global id):
/// 1 to 128 ASCII letters, digits, `-` or `_`.
pub fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks that `s` names a resource of `resource_type` by PRN or by id, and
/// says what is wrong otherwise.
pub fn check_ref(s: &str, resource_type: &str) -> Result<(), String> {
    if s.starts_with("prn:") {
        let prn: Prn = s.parse().map_err(|e: PrnError| e.to_string())?;
        if prn.resource_type != resource_type {
            return Err(format!(
                "{s:?} is a PRN of a {}, but a {resource_type} is expected (prn:{resource_type}:<path>)",
                prn.resource_type
            ));
        }
        Ok(())
    } else if is_id(s) {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is neither a PRN (prn:{resource_type}:<path>) nor an id (letters, digits, - and _)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prns() {
        let p: Prn = "prn:approval_rule:org/security-team".parse().unwrap();
        assert_eq!(p.resource_type, "approval_rule");
        assert_eq!(p.path, "org/security-team");
        assert_eq!(p.to_string(), "prn:approval_rule:org/security-team");
        for bad in [
            "prn:",
            "prn:x",
            "prn::a",
            "prn:X:a",
            "prn:a: b",
            "prn:a:/b",
            "nope",
            "prn:a:b//c",
        ] {
            assert!(bad.parse::<Prn>().is_err(), "{bad}");
        }
    }

    #[test]
    fn checks_references() {
        assert!(check_ref("prn:approval_rule:a/b", "approval_rule").is_ok());
        assert!(check_ref("8a3e0f5c-1b2d-4e6f-9a0b-1c2d3e4f5a6b", "approval_rule").is_ok());
        let e = check_ref("prn:vcs_provider:a", "approval_rule").unwrap_err();
        assert!(e.contains("is a PRN of a vcs_provider"), "{e}");
        let e = check_ref("<pipeline_template_id>", "pipeline_template").unwrap_err();
        assert!(e.contains("neither a PRN"), "{e}");
    }
}
