//! Checks across the whole template, once every block is decoded: unique
//! names, `stage_order`, dependencies (unknown, misplaced, cyclic) and the
//! targets of `action_outputs` references.

use std::collections::HashMap;

use super::decode::RuntimeRef;
use super::diagnostic::Diagnostics;
use super::model::{Node, NodeKind, Section, Template};
use super::suggest;

pub(crate) fn validate(t: &Template, refs: &[RuntimeRef], diags: &mut Diagnostics) {
    unique_names(t, diags);
    stage_order(t, diags);
    let graphs = dependencies(t, diags);
    action_outputs(t, refs, &graphs, diags);
}

fn unique_names(t: &Template, diags: &mut Diagnostics) {
    let mut stages: HashMap<&str, ()> = HashMap::new();
    for s in &t.stages {
        if stages.insert(&s.name, ()).is_some() {
            diags.error(
                s.span.clone(),
                format!(
                    "stage \"{}\" is declared twice; stage names must be unique",
                    s.name
                ),
            );
        }
        for section in [Section::Pre, Section::Main, Section::Post] {
            let mut seen: HashMap<&str, &Node> = HashMap::new();
            for n in s.section(section) {
                if let Some(prev) = seen.insert(&n.name, n) {
                    let msg = if prev.kind == n.kind {
                        format!("{} \"{}\" appears twice in {} of stage \"{}\"; names must be unique there", n.kind.as_str(), n.name, where_(section), s.name)
                    } else {
                        format!("the {} \"{}\" has the same name as a {} in {} of stage \"{}\"; dependencies could not tell them apart, so rename one", n.kind.as_str(), n.name, prev.kind.as_str(), where_(section), s.name)
                    };
                    diags.error(n.span.clone(), msg);
                }
            }
        }
    }
}

fn where_(s: Section) -> &'static str {
    match s {
        Section::Pre => "the pre block",
        Section::Main => "the main section",
        Section::Post => "the post block",
    }
}

fn stage_order(t: &Template, diags: &mut Diagnostics) {
    let Some(order) = &t.stage_order else { return };
    let names: Vec<&str> = t.stages.iter().map(|s| s.name.as_str()).collect();
    let mut seen = Vec::new();
    for (i, o) in order.iter().enumerate() {
        let span = t.stage_order_spans.get(i).cloned().flatten();
        if seen.contains(&o.as_str()) {
            diags.error(span, format!("stage_order lists \"{o}\" twice"));
        } else if !names.contains(&o.as_str()) {
            let hint = suggest(o, names.iter().copied())
                .map(|s| format!("; did you mean \"{s}\"?"))
                .unwrap_or_default();
            diags.error(
                span,
                format!("stage_order names \"{o}\", but there is no such stage{hint}"),
            );
        }
        seen.push(o.as_str());
    }
    for s in &t.stages {
        if !order.contains(&s.name) {
            diags.error(s.span.clone(), format!("stage \"{}\" is missing from stage_order; list every stage there, or remove stage_order to run stages in file order", s.name));
        }
    }
}

/// The dependency edges of one section, by node index.
struct SectionGraph<'t> {
    index: HashMap<&'t str, usize>,
    edges: Vec<Vec<usize>>,
}

impl SectionGraph<'_> {
    /// Whether node `from` depends, directly or transitively, on node `to`.
    fn reaches(&self, from: usize, to: usize) -> bool {
        let mut seen = vec![false; self.edges.len()];
        let mut todo = vec![from];
        while let Some(n) = todo.pop() {
            for &m in &self.edges[n] {
                if m == to {
                    return true;
                }
                if !std::mem::replace(&mut seen[m], true) {
                    todo.push(m);
                }
            }
        }
        false
    }
}

type Graphs<'t> = HashMap<(usize, Section), SectionGraph<'t>>;

/// Checks every `dependencies` list and returns each section's graph.
fn dependencies<'t>(t: &'t Template, diags: &mut Diagnostics) -> Graphs<'t> {
    let mut graphs = Graphs::new();
    for (si, s) in t.stages.iter().enumerate() {
        for section in [Section::Pre, Section::Main, Section::Post] {
            let nodes = s.section(section);
            let index: HashMap<&str, usize> = nodes
                .iter()
                .enumerate()
                .map(|(i, n)| (n.name.as_str(), i))
                .collect();
            let mut edges: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
            for (i, n) in nodes.iter().enumerate() {
                for (d, sp) in n.dependencies.iter().zip(&n.dependency_spans) {
                    let sp = sp.clone().or(n.span.clone());
                    if d == &n.name {
                        diags.error(
                            sp,
                            format!("{} \"{}\" depends on itself", n.kind.as_str(), n.name),
                        );
                        continue;
                    }
                    if let Some(&j) = index.get(d.as_str()) {
                        edges[i].push(j);
                        continue;
                    }
                    // Explain where the name is, if it is anywhere.
                    let elsewhere = t.stages.iter().find_map(|st| {
                        [Section::Pre, Section::Main, Section::Post]
                            .into_iter()
                            .find_map(|sec| {
                                st.section(sec)
                                    .iter()
                                    .find(|m| &m.name == d)
                                    .map(|m| (st, sec, m))
                            })
                    });
                    let msg = match elsewhere {
                        Some((st, sec, m)) if st.name == s.name => format!(
                            "dependency \"{d}\" is a {} in {} of this stage, but dependencies can only name nodes in the same section ({}); sections already run in order pre, main, post",
                            m.kind.as_str(), where_(sec), where_(section)
                        ),
                        Some((st, _, m)) => format!(
                            "dependency \"{d}\" is a {} in stage \"{}\", but dependencies can only name nodes in the same stage and section; stages already run in order",
                            m.kind.as_str(), st.name
                        ),
                        None => {
                            let hint = suggest(d, nodes.iter().map(|n| n.name.as_str())).map(|s| format!("; did you mean \"{s}\"?")).unwrap_or_default();
                            format!("dependency \"{d}\" names no node in {} of stage \"{}\"{hint}", where_(section), s.name)
                        }
                    };
                    diags.error(sp, msg);
                }
            }
            for cycle in cycles(&edges) {
                let names: Vec<&str> = cycle
                    .iter()
                    .chain(cycle.first())
                    .map(|&i| nodes[i].name.as_str())
                    .collect();
                let first = &nodes[cycle[0]];
                diags.error(
                    first.span.clone(),
                    format!(
                        "dependency cycle in stage \"{}\": {}",
                        s.name,
                        names.join(" -> ")
                    ),
                );
            }
            graphs.insert((si, section), SectionGraph { index, edges });
        }
    }
    graphs
}

/// Every elementary cycle found by a depth-first search (one per back edge),
/// in dependency order.
fn cycles(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark = vec![Mark::New; edges.len()];
    let mut out = Vec::new();
    for start in 0..edges.len() {
        if mark[start] != Mark::New {
            continue;
        }
        // Iterative DFS: (node, next edge index); `stack` is the open path.
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        mark[start] = Mark::Open;
        while let Some(&mut (n, ref mut e)) = stack.last_mut() {
            if let Some(&m) = edges[n].get(*e) {
                *e += 1;
                match mark[m] {
                    Mark::New => {
                        mark[m] = Mark::Open;
                        stack.push((m, 0));
                    }
                    Mark::Open => {
                        let pos = stack.iter().position(|&(x, _)| x == m).unwrap_or(0);
                        out.push(stack[pos..].iter().map(|&(x, _)| x).collect());
                    }
                    Mark::Done => {}
                }
            } else {
                mark[n] = Mark::Done;
                stack.pop();
            }
        }
    }
    out
}

/// `action_outputs.stage.<s>[.pre|.post].task.<t>.action.<a>…` must name a
/// node and action that exist and finish before the expression is evaluated.
fn action_outputs(t: &Template, refs: &[RuntimeRef], graphs: &Graphs, diags: &mut Diagnostics) {
    let mut by_path: HashMap<&str, (usize, &Node)> = HashMap::new();
    for (si, s) in t.stages.iter().enumerate() {
        for n in s.nodes() {
            by_path.insert(&n.path, (si, n));
        }
    }
    const FORM: &str = "expected action_outputs.stage.<stage>.[pre.|post.]task.<task>.action.<alias or label>.<output>";
    for r in refs {
        let span = r.reference.span.clone();
        let p: Vec<&str> = r.reference.path.iter().map(String::as_str).collect();
        let dotted = r.reference.dotted();
        if let ["stage", s, ..] = p.as_slice() {
            if !t.stages.iter().any(|st| st.name == *s) {
                let hint = suggest(s, t.stages.iter().map(|st| st.name.as_str()))
                    .map(|x| format!("; did you mean \"{x}\"?"))
                    .unwrap_or_default();
                diags.error(span, format!("{dotted}: there is no stage \"{s}\"{hint}"));
                continue;
            }
        }
        let (node_path, rest) = match p.as_slice() {
            ["stage", s, sec @ ("pre" | "post"), "task", n, rest @ ..] => {
                (format!("stage.{s}.{sec}.task.{n}"), rest)
            }
            ["stage", s, kind @ ("task" | "pipeline" | "deployment"), n, rest @ ..] => {
                (format!("stage.{s}.{kind}.{n}"), rest)
            }
            _ => {
                diags.error(span, format!("{dotted} is incomplete or malformed; {FORM}"));
                continue;
            }
        };
        let Some(&(target_stage, target)) = by_path.get(node_path.as_str()) else {
            let candidates: Vec<&str> = by_path.keys().copied().collect();
            let hint = suggest(&node_path, candidates.iter().copied())
                .map(|x| format!("; did you mean {x}?"))
                .unwrap_or_default();
            diags.error(
                span,
                format!("{dotted}: there is no node at {node_path}{hint}"),
            );
            continue;
        };
        if target.kind == NodeKind::Task {
            match rest {
                ["action", a, ..] => {
                    let Some(ai) = target.actions.iter().position(|x| x.key() == *a) else {
                        let hint = suggest(a, target.actions.iter().map(|x| x.key()))
                            .map(|x| format!("; did you mean \"{x}\"?"))
                            .unwrap_or_default();
                        diags.error(span, format!("{dotted}: task {node_path} has no action with alias or label \"{a}\"{hint}"));
                        continue;
                    };
                    // Within the same task, only earlier actions (or a gate's condition) may be read.
                    if r.site.node.as_deref() == Some(node_path.as_str()) {
                        match r.site.action {
                            Some(cur) if ai >= cur => {
                                diags.error(span, format!("{dotted}: an action can only read the outputs of actions before it in the same task"));
                            }
                            None if !r.site.allow_self => {
                                diags.error(span, format!("{dotted}: a task's `if` cannot read its own outputs; they do not exist before it runs"));
                            }
                            _ => {}
                        }
                        continue;
                    }
                }
                _ => {
                    diags.error(
                        span,
                        format!("{dotted}: name the action after the task; {FORM}"),
                    );
                    continue;
                }
            }
        }
        // The referenced node must have finished when the reader runs.
        let Some(reader) = r.site.node.as_deref().and_then(|p| by_path.get(p)) else {
            continue;
        };
        let (reader_stage, reader) = *reader;
        if reader.path == target.path {
            if r.site.allow_self {
                continue;
            }
            diags.error(
                span,
                format!("{dotted}: a node cannot read its own outputs here"),
            );
            continue;
        }
        let before = (target_stage, target.section) < (reader_stage, reader.section)
            || (target_stage == reader_stage
                && target.section == reader.section
                && graphs
                    .get(&(reader_stage, reader.section))
                    .is_some_and(|g| {
                        match (
                            g.index.get(reader.name.as_str()),
                            g.index.get(target.name.as_str()),
                        ) {
                            (Some(&from), Some(&to)) => g.reaches(from, to),
                            _ => false,
                        }
                    }));
        if !before {
            let fix = if target_stage == reader_stage && target.section == reader.section {
                format!("; add \"{}\" to its dependencies", target.name)
            } else {
                String::new()
            };
            diags.error(
                span,
                format!(
                    "{dotted}: {} does not run before {}, so its outputs may not exist yet{fix}",
                    target.path, reader.path
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cycles;

    #[test]
    fn finds_cycles() {
        // 0 -> 1 -> 2 -> 0, 3 -> 3 is not possible (self edges are reported earlier), 4 -> 1
        let edges = vec![vec![1], vec![2], vec![0], vec![], vec![1]];
        assert_eq!(cycles(&edges), vec![vec![0, 1, 2]]);
        assert!(cycles(&[vec![1], vec![], vec![0, 1]]).is_empty());
    }
}
