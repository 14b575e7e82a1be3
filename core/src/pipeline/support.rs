//! What this server cannot run yet. A pipeline that would need it is refused
//! when it is created, with one message per place, rather than left waiting.

use crate::template::model::{NodeKind, Template};
use crate::template::{Diagnostics, ExecutionGraph};

/// Every use of a feature this server does not run yet, as
/// `(node path, what to change)`. Empty when the graph can run.
pub fn unsupported(graph: &ExecutionGraph) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for node in graph.stages.iter().flat_map(|s| &s.nodes) {
        let mut say = |what: &str| {
            out.push((
                node.path.clone(),
                format!(
                    "{} {what} is not supported by this server yet; remove it to run this pipeline",
                    node.path
                ),
            ))
        };
        match node.kind {
            NodeKind::Task | NodeKind::Pipeline => {}
            // A release fills in what its deployments run.
            NodeKind::Deployment if node.pipeline.is_some() => {}
            NodeKind::Deployment => say(
                "(a release lifecycle's deployment, which runs only in a release: createRelease)",
            ),
        }
    }
    out
}

/// Every block of `template` that this server cannot honour yet, as a
/// located error naming the block and what is missing: volumes and mount
/// points, `jwt` and `vcs_token` declarations, plugin blocks (but the
/// built-in `exec`'s), and actions of
/// plugins other than the built-in `exec`. Uploading such a template works;
/// creating a pipeline from it is refused with these.
pub fn unsupported_blocks(template: &Template) -> Diagnostics {
    let mut out = Diagnostics::default();
    let later = "; this server cannot do that yet, so remove it to run this pipeline";
    for v in &template.volumes {
        out.error(
            v.span.clone(),
            format!(
                "volume \"{}\" (type {}): volumes are not mounted by this server's executors{later}",
                v.name, v.volume_type
            ),
        );
    }
    for j in &template.jwts {
        out.error(
            j.span.clone(),
            format!(
                "jwt \"{}\": this server does not issue job JWTs yet{later}",
                j.name
            ),
        );
    }
    for t in &template.vcs_tokens {
        out.error(
            t.span.clone(),
            format!(
                "vcs_token \"{}\": this server has no VCS providers yet{later}",
                t.name
            ),
        );
    }
    for p in template.plugins.iter().filter(|p| p.name != "exec") {
        out.error(
            p.span.clone(),
            format!(
                "plugin \"{}\": this server runs no plugins but the built-in exec{later}",
                p.name
            ),
        );
    }
    for node in template.stages.iter().flat_map(|s| s.nodes()) {
        for m in &node.mount_points {
            out.error(
                m.span.clone(),
                format!(
                    "{}: mount_point of volume \"{}\": volumes are not mounted by this server's executors{later}",
                    node.path, m.volume
                ),
            );
        }
        for a in node.actions.iter().filter(|a| a.plugin != "exec") {
            out.error(
                a.span.clone(),
                format!(
                    "{}: action \"{}\" needs plugin \"{}\"; this server's executors run only exec_command{later}",
                    node.path, a.label, a.plugin
                ),
            );
        }
    }
    out
}
