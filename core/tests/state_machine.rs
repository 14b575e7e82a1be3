//! The pipeline state machine as a property: random graphs (rendered to HCL
//! and compiled, so each is one the compiler accepts), driven by random
//! sequences of what can happen to them (a job starts, succeeds, fails; a
//! person starts a WAITING node or tries one that is not, cancels the
//! pipeline or a node, retries a failed or canceled one; a nested
//! pipeline node's child starts, ends or is refused), never make a
//! status change outside `transitions`, a refused command changes nothing,
//! each `advance` loop settles, replaying the log (through JSON) gives the
//! same state, so does resuming a serialized state from any cut, and
//! finishing every job and starting every waiting node ends the pipeline.
//!
//! `PROPTEST_CASES` sets the number of cases (256 by default). Failing
//! cases are kept in `core/proptest-regressions/` and committed.

use chrono::{DateTime, TimeZone, Utc};
use phobos_core::events::PipelineEvent;
use phobos_core::pipeline::{transitions, NodeStatus, PipelineRun, StageStatus};
use phobos_core::template::{compile, CompileOptions, TemplateKind};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct NodeSpec {
    section: usize, // 0 pre, 1 main, 2 post
    when: usize,    // 0 auto, 1 manual, 2 never
    condition: Option<bool>,
    action: bool,
    /// A nested pipeline node (main section only) instead of a task.
    pipeline: bool,
    deps: Vec<usize>, // indices into earlier nodes, filtered to the same section
    /// A datetime schedule, minutes after the start (negative: in the past).
    schedule: Option<i64>,
    /// A gate on its own exit code: (interval in minutes or none, attempts).
    gate: Option<(Option<u32>, u32)>,
    /// Two approval rules (`rule-a` needs 1 approval, `rule-b` 2).
    approvals: bool,
}

#[derive(Debug, Clone)]
struct GraphSpec {
    stages: Vec<Vec<NodeSpec>>,
}

fn node_spec() -> impl Strategy<Value = NodeSpec> {
    (
        0usize..3,
        prop_oneof![6 => Just(0usize), 3 => Just(1), 1 => Just(2)],
        prop_oneof![8 => Just(None), 1 => Just(Some(true)), 1 => Just(Some(false))],
        prop::bool::weighted(0.8),
        prop::collection::vec(0usize..6, 0..3),
        prop_oneof![4 => Just(None), 1 => (-30i64..90).prop_map(Some)],
        prop_oneof![
            3 => Just(None),
            1 => (prop::option::of(1u32..5), 1u32..4).prop_map(Some)
        ],
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(section, when, condition, action, deps, schedule, gate, pipeline, approvals)| {
                let pipeline = pipeline && section == 1;
                NodeSpec {
                    section,
                    when,
                    condition,
                    action: action && !pipeline,
                    pipeline,
                    deps,
                    // A schedule needs `when = "auto"` (seed 002).
                    schedule: schedule.filter(|_| when == 0),
                    // A gate reads its own action's exit code.
                    gate: gate.filter(|_| action && !pipeline),
                    approvals,
                }
            },
        )
}

fn graph_spec() -> impl Strategy<Value = GraphSpec> {
    prop::collection::vec(prop::collection::vec(node_spec(), 1..6), 1..4)
        .prop_map(|stages| GraphSpec { stages })
}

fn render(g: &GraphSpec) -> String {
    let mut src = String::new();
    for (si, nodes) in g.stages.iter().enumerate() {
        src.push_str(&format!("stage \"s{si}\" {{\n"));
        for (section, wrap) in [(0, Some("pre")), (1, None), (2, Some("post"))] {
            let mine: Vec<usize> = (0..nodes.len())
                .filter(|&i| nodes[i].section == section)
                .collect();
            if mine.is_empty() {
                continue;
            }
            if let Some(w) = wrap {
                src.push_str(&format!("  {w} {{\n"));
            }
            for &i in &mine {
                let n = &nodes[i];
                let block = if n.pipeline { "pipeline" } else { "task" };
                src.push_str(&format!("  {block} \"n{i}\" {{\n"));
                if n.pipeline {
                    src.push_str("    template_id = \"0d6c1a52-6c55-4b0e-9e43-6f1e7b5a8c11\"\n");
                }
                let deps: Vec<String> = n
                    .deps
                    .iter()
                    .filter(|&&d| d < i && nodes[d].section == section)
                    .map(|d| format!("\"n{d}\""))
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                if !deps.is_empty() {
                    src.push_str(&format!("    dependencies = [{}]\n", deps.join(", ")));
                }
                match n.when {
                    1 => src.push_str("    when = \"manual\"\n"),
                    2 => src.push_str("    when = \"never\"\n"),
                    _ => {}
                }
                if let Some(m) = n.schedule {
                    let at = (t0() + chrono::Duration::minutes(m)).to_rfc3339();
                    src.push_str(&format!(
                        "    schedule {{\n      type    = \"datetime\"\n      options = {{ value = \"{at}\" }}\n    }}\n"
                    ));
                }
                if let Some((interval, attempts)) = n.gate {
                    let section = ["pre.", "", "post."][n.section];
                    src.push_str(&format!(
                        "    success_condition = \"action_outputs.stage.s{si}.{section}task.n{i}.action.exec_command.exit_code == 0\"\n"
                    ));
                    if let Some(m) = interval {
                        src.push_str(&format!(
                            "    interval = \"{m}m\"\n    attempts = {attempts}\n"
                        ));
                    }
                }
                if let Some(c) = n.condition {
                    src.push_str(&format!("    if = {c}\n"));
                }
                if n.approvals {
                    src.push_str("    approval_rules = [\"rule-a\", \"rule-b\"]\n");
                }
                if n.action {
                    src.push_str(&format!(
                        "    action \"exec_command\" {{\n      command = \"echo s{si} n{i}\"\n    }}\n"
                    ));
                }
                src.push_str("  }\n");
            }
            if wrap.is_some() {
                src.push_str("  }\n");
            }
        }
        src.push_str("}\n");
    }
    src
}

/// What can happen next, read against the current state: `pick` chooses
/// among the nodes the kind applies to.
#[derive(Debug, Clone)]
enum Op {
    JobStarts(usize),
    JobEnds {
        pick: usize,
        ok: bool,
    },
    Start(usize),
    StartAny(usize),
    /// Time passes (minutes); due timers fire.
    Advance(i64),
    /// Someone retries a FAILED node.
    Retry(usize),
    /// Someone gives a node a datetime schedule (minutes from now) or none.
    Reschedule(usize, Option<i64>),
    /// Someone cancels the pipeline.
    CancelPipeline {
        force: bool,
    },
    /// Someone cancels any node (refused if it has finished).
    CancelNode {
        pick: usize,
        force: bool,
    },
    /// The job of a CANCELING node reports CANCELED.
    JobCanceled(usize),
    /// The job of a READY node is queued.
    JobQueued(usize),
    /// The child pipeline of a READY nested pipeline node exists.
    ChildStarts(usize),
    /// A nested pipeline node's child ends (0 succeeded, 1 failed, 2
    /// canceled), or (3) cannot be created.
    ChildEnds {
        pick: usize,
        how: u8,
    },
    /// Approver `who` (0: rule-a, 1: both, 2: rule-b) approves an
    /// APPROVAL_PENDING node, or takes its approval back; its rules are
    /// fixed first, as the policy worker does.
    Approve {
        pick: usize,
        who: u8,
        revoke: bool,
    },
    /// An Owner overrides a pending node's approvals.
    Override(usize),
}

fn fixed_rules() -> Vec<phobos_core::events::ApprovalRuleSnapshot> {
    [("rule-a", 1), ("rule-b", 2)]
        .into_iter()
        .map(|(id, n)| phobos_core::events::ApprovalRuleSnapshot {
            id: id.into(),
            prn: format!("prn:approval_rule:o/{id}"),
            name: id.into(),
            principals: vec![],
            approvals_required: n,
            allow_self_approval: false,
        })
        .collect()
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..32).prop_map(Op::JobStarts),
        (0usize..32, prop::bool::weighted(0.8)).prop_map(|(pick, ok)| Op::JobEnds { pick, ok }),
        (0usize..32).prop_map(Op::Start),
        (0usize..32).prop_map(Op::StartAny),
        (0i64..40).prop_map(Op::Advance),
        (0usize..32).prop_map(Op::Retry),
        (0usize..32, prop::option::of(-5i64..30)).prop_map(|(i, m)| Op::Reschedule(i, m)),
        prop::bool::weighted(0.3).prop_map(|force| Op::CancelPipeline { force }),
        (0usize..32, prop::bool::weighted(0.3))
            .prop_map(|(pick, force)| Op::CancelNode { pick, force }),
        (0usize..32).prop_map(Op::JobCanceled),
        (0usize..32).prop_map(Op::JobQueued),
        (0usize..32).prop_map(Op::ChildStarts),
        (
            0usize..32,
            prop_oneof![4 => Just(0u8), 1 => Just(1), 1 => Just(2), 1 => Just(3)]
        )
            .prop_map(|(pick, how)| Op::ChildEnds { pick, how }),
        (0usize..32, 0u8..3, prop::bool::weighted(0.25))
            .prop_map(|(pick, who, revoke)| Op::Approve { pick, who, revoke }),
        (0usize..32).prop_map(Op::Override),
    ]
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
}

struct Harness {
    run: PipelineRun,
    log: Vec<PipelineEvent>,
    now: DateTime<Utc>,
    max_steps: usize,
}

impl Harness {
    fn apply(&mut self, e: PipelineEvent) -> Result<(), TestCaseError> {
        let before = self.run.clone();
        self.run.apply(&e);
        // A node leaves APPROVAL_PENDING for a run only once approved.
        for (path, n) in &self.run.nodes {
            let Some(was) = before.nodes.get(path) else {
                continue;
            };
            if was.status == NodeStatus::ApprovalPending
                && matches!(
                    n.status,
                    NodeStatus::Waiting | NodeStatus::Scheduled | NodeStatus::Ready
                )
            {
                let ok = was.approval.as_ref().is_some_and(|a| a.satisfied());
                prop_assert!(ok, "{path} went on unapproved: {:?}", was.approval);
            }
        }
        if let Err(m) = transitions::check(&before, &e, &self.run) {
            return Err(TestCaseError::fail(format!("{m}\nevent: {e:?}")));
        }
        self.log.push(e);
        Ok(())
    }

    /// The aggregate's loop: what follows, one step at a time, to a fixed
    /// point, within a bound.
    fn settle(&mut self) -> Result<(), TestCaseError> {
        for _ in 0..self.max_steps {
            let next = self.run.advance(self.now);
            if next.is_empty() {
                return Ok(());
            }
            for e in next {
                self.apply(e)?;
            }
        }
        Err(TestCaseError::fail("advance did not settle"))
    }

    fn paths_in(&self, status: NodeStatus) -> Vec<String> {
        self.run
            .nodes
            .iter()
            .filter(|(_, n)| n.status == status)
            .map(|(p, _)| p.clone())
            .collect()
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        self.now += chrono::Duration::seconds(1);
        let pick = |v: Vec<String>, i: usize| (!v.is_empty()).then(|| v[i % v.len()].clone());
        match op {
            Op::ChildStarts(i) => {
                let ready: Vec<String> = self
                    .paths_in(NodeStatus::Ready)
                    .into_iter()
                    .filter(|p| self.run.nodes[p].child_pipeline_id.is_some())
                    .collect();
                if let Some(path) = pick(ready, *i) {
                    let child = self.run.nodes[&path].child_pipeline_id.clone().unwrap();
                    let events = self
                        .run
                        .child_started(&path, &child, self.now)
                        .map_err(|r| TestCaseError::fail(r.to_string()))?;
                    prop_assert_eq!(events.len(), 1);
                    for e in events {
                        self.apply(e)?;
                    }
                }
            }
            Op::ChildEnds { pick: i, how } => {
                let waiting: Vec<String> = self
                    .run
                    .nodes
                    .iter()
                    .filter(|(_, n)| {
                        n.child_pipeline_id.is_some()
                            && matches!(
                                n.status,
                                NodeStatus::Ready | NodeStatus::Running | NodeStatus::Canceling
                            )
                    })
                    .map(|(p, _)| p.clone())
                    .collect();
                if let Some(path) = pick(waiting, *i) {
                    use phobos_core::pipeline::ChildOutcome;
                    let child = self.run.nodes[&path].child_pipeline_id.clone().unwrap();
                    let events = match how {
                        0 => self.run.child_ended(
                            &path,
                            &child,
                            ChildOutcome::Succeeded,
                            "",
                            self.now,
                        ),
                        1 => {
                            self.run
                                .child_ended(&path, &child, ChildOutcome::Failed, "x", self.now)
                        }
                        2 => self.run.child_ended(
                            &path,
                            &child,
                            ChildOutcome::Canceled,
                            "x",
                            self.now,
                        ),
                        _ => self
                            .run
                            .child_refused(&path, &child, "no such template", self.now),
                    }
                    .map_err(|r| TestCaseError::fail(r.to_string()))?;
                    prop_assert_eq!(events.len(), 1);
                    for e in events {
                        self.apply(e)?;
                    }
                    // The child's end reported again changes nothing.
                    let again = self
                        .run
                        .child_ended(&path, &child, ChildOutcome::Succeeded, "", self.now)
                        .map_err(|r| TestCaseError::fail(r.to_string()))?;
                    prop_assert!(
                        again.is_empty(),
                        "a repeated child end did something: {again:?}"
                    );
                }
            }
            Op::JobQueued(i) => {
                let ready: Vec<String> = self
                    .paths_in(NodeStatus::Ready)
                    .into_iter()
                    .filter(|p| self.run.nodes[p].job_id.is_some())
                    .collect();
                if let Some(path) = pick(ready, *i) {
                    let job_id = self.run.nodes[&path].job_id.clone().unwrap();
                    let events = self
                        .run
                        .job_queued(&path, &job_id, self.now)
                        .map_err(|r| TestCaseError::fail(r.to_string()))?;
                    prop_assert_eq!(events.len(), 1);
                    for e in events {
                        self.apply(e)?;
                    }
                    let again = self
                        .run
                        .job_queued(&path, &job_id, self.now)
                        .map_err(|r| TestCaseError::fail(r.to_string()))?;
                    prop_assert!(again.is_empty(), "queued twice: {again:?}");
                }
            }
            Op::JobStarts(i) => {
                let mut ready: Vec<String> = self.paths_in(NodeStatus::Ready);
                ready.extend(self.paths_in(NodeStatus::Pending));
                let ready: Vec<String> = ready
                    .into_iter()
                    .filter(|p| self.run.nodes[p].job_id.is_some())
                    .collect();
                if let Some(path) = pick(ready, *i) {
                    let job_id = self.run.nodes[&path].job_id.clone().unwrap();
                    self.apply(PipelineEvent::NodeStarted {
                        path,
                        job_id,
                        at: self.now,
                    })?;
                }
            }
            Op::JobEnds { pick: i, ok } => {
                let mut running = self.paths_in(NodeStatus::Running);
                running.extend(self.paths_in(NodeStatus::Canceling));
                running.extend(
                    self.paths_in(NodeStatus::Pending)
                        .into_iter()
                        .filter(|_| *i % 3 == 0),
                );
                running.retain(|p| self.run.nodes[p].job_id.is_some());
                if let Some(path) = pick(running, *i) {
                    let outputs = [(
                        "exec_command".to_string(),
                        serde_json::json!({ "exit_code": if *ok { 0 } else { 1 } }),
                    )]
                    .into_iter()
                    .collect();
                    let job_id = self.run.nodes[&path].job_id.clone().unwrap();
                    let events = self
                        .run
                        .job_ended(&path, &job_id, *ok, "exit status 1", outputs, self.now)
                        .map_err(|r| TestCaseError::fail(r.to_string()))?;
                    prop_assert_eq!(events.len(), 1);
                    for e in events {
                        self.apply(e)?;
                    }
                    // A stale report of the same job changes nothing.
                    let again = self
                        .run
                        .job_ended(&path, &job_id, !*ok, "late", Default::default(), self.now)
                        .map_err(|r| TestCaseError::fail(r.to_string()))?;
                    prop_assert!(
                        again.is_empty(),
                        "a repeated report did something: {again:?}"
                    );
                }
            }
            Op::Start(i) => {
                if let Some(path) = pick(self.paths_in(NodeStatus::Waiting), *i) {
                    let events = self
                        .run
                        .start_node(&path, self.now)
                        .map_err(|r| TestCaseError::fail(format!("{path}: {r}")))?;
                    for e in events {
                        self.apply(e)?;
                    }
                }
            }
            Op::Retry(i) => {
                let mut ended = self.paths_in(NodeStatus::Failed);
                ended.extend(self.paths_in(NodeStatus::Canceled));
                let canceling = self.run.status == phobos_core::pipeline::PipelineStatus::Canceling;
                // A node behind a failed or canceled stage is refused.
                let behind = |path: &String| {
                    let stage = self.run.nodes[path].stage;
                    self.run.stages[..stage]
                        .iter()
                        .any(|s| matches!(s.status, StageStatus::Failed | StageStatus::Canceled))
                };
                let before = self.run.clone();
                match pick(ended, *i) {
                    Some(path) if !canceling && !behind(&path) => {
                        let events = self
                            .run
                            .retry_node(&path, self.now)
                            .map_err(|r| TestCaseError::fail(format!("{path}: {r}")))?;
                        for e in events {
                            self.apply(e)?;
                        }
                    }
                    // Canceling, or behind a stage that did not succeed:
                    // refused, and nothing changes.
                    Some(path) => {
                        prop_assert!(self.run.retry_node(&path, self.now).is_err());
                        prop_assert_eq!(&self.run, &before);
                    }
                    // Nothing FAILED or CANCELED: any retry is refused.
                    None => {
                        let any = self.run.nodes.keys().next().cloned().unwrap();
                        prop_assert!(self.run.retry_node(&any, self.now).is_err());
                        prop_assert_eq!(&self.run, &before);
                    }
                }
            }
            Op::Reschedule(i, minutes) => {
                let all: Vec<String> = self.run.nodes.keys().cloned().collect();
                let path = pick(all, *i).unwrap();
                let schedule = minutes.map(|m| phobos_core::template::model::Schedule::Datetime {
                    value: (self.now + chrono::Duration::minutes(m)).to_rfc3339(),
                });
                let before = self.run.clone();
                match self.run.update_schedule(&path, schedule, self.now) {
                    Ok(events) => {
                        let s = before.nodes[&path].status;
                        prop_assert!(
                            matches!(
                                s,
                                NodeStatus::Created | NodeStatus::Blocked | NodeStatus::Scheduled
                            ),
                            "{path} rescheduled while {s}"
                        );
                        for e in events {
                            self.apply(e)?;
                        }
                    }
                    Err(_) => prop_assert_eq!(&self.run, &before, "a refusal changed nothing"),
                }
            }
            Op::CancelPipeline { force } => {
                let before = self.run.clone();
                match self.run.cancel_pipeline(*force, 30, self.now) {
                    Ok(events) => {
                        prop_assert!(
                            !before.status.is_terminal(),
                            "a {} pipeline was canceled",
                            before.status
                        );
                        for e in events {
                            self.apply(e)?;
                        }
                    }
                    Err(_) => prop_assert_eq!(&self.run, &before, "a refusal changed nothing"),
                }
            }
            Op::CancelNode { pick: i, force } => {
                let all: Vec<String> = self.run.nodes.keys().cloned().collect();
                let path = pick(all, *i).unwrap();
                let before = self.run.clone();
                match self.run.cancel_node(&path, *force, 30, self.now) {
                    Ok(events) => {
                        let s = before.nodes[&path].status;
                        prop_assert!(!s.is_terminal(), "{path} canceled while {s}");
                        for e in events {
                            self.apply(e)?;
                        }
                    }
                    Err(_) => prop_assert_eq!(&self.run, &before, "a refusal changed nothing"),
                }
            }
            Op::JobCanceled(i) => {
                let canceling: Vec<String> = self
                    .paths_in(NodeStatus::Canceling)
                    .into_iter()
                    .filter(|p| self.run.nodes[p].job_id.is_some())
                    .collect();
                if let Some(path) = pick(canceling, *i) {
                    let job_id = self.run.nodes[&path].job_id.clone().unwrap();
                    let events = self
                        .run
                        .job_canceled(&path, &job_id, "SIGTERM", Default::default(), self.now)
                        .map_err(|r| TestCaseError::fail(r.to_string()))?;
                    prop_assert_eq!(events.len(), 1);
                    for e in events {
                        self.apply(e)?;
                    }
                }
            }
            Op::Advance(minutes) => {
                self.now += chrono::Duration::minutes(*minutes);
            }
            Op::Approve {
                pick: i,
                who,
                revoke,
            } => {
                if let Some(path) = pick(self.paths_in(NodeStatus::ApprovalPending), *i) {
                    let fix = self
                        .run
                        .fix_approval_rules(&path, fixed_rules(), self.now)
                        .map_err(|r| TestCaseError::fail(r.to_string()))?;
                    for e in fix {
                        self.apply(e)?;
                    }
                    let principal = phobos_core::access::Member {
                        kind: phobos_core::access::MemberKind::User,
                        id: format!("u{who}"),
                        name: format!("user {who}"),
                    };
                    let covers: Vec<String> = match who {
                        0 => vec!["rule-a".into()],
                        1 => vec!["rule-a".into(), "rule-b".into()],
                        _ => vec!["rule-b".into()],
                    };
                    let before = self.run.clone();
                    let r = if *revoke {
                        self.run.revoke_node_approval(&path, principal, self.now)
                    } else {
                        self.run.approve_node(&path, principal, covers, self.now)
                    };
                    match r {
                        Ok(events) => {
                            for e in events {
                                self.apply(e)?;
                            }
                        }
                        Err(_) => prop_assert_eq!(&self.run, &before, "a refusal changed nothing"),
                    }
                }
            }
            Op::Override(i) => {
                if let Some(path) = pick(self.paths_in(NodeStatus::ApprovalPending), *i) {
                    let events = self
                        .run
                        .override_node_approval(
                            &path,
                            "user:owner".into(),
                            "needed now".into(),
                            self.now,
                        )
                        .map_err(|r| TestCaseError::fail(r.to_string()))?;
                    for e in events {
                        self.apply(e)?;
                    }
                }
            }
            Op::StartAny(i) => {
                let all: Vec<String> = self.run.nodes.keys().cloned().collect();
                let path = pick(all, *i).unwrap();
                let waiting = self.run.nodes[&path].status == NodeStatus::Waiting;
                let before = self.run.clone();
                match self.run.start_node(&path, self.now) {
                    Ok(events) => {
                        prop_assert!(waiting, "{path} started while not WAITING");
                        for e in events {
                            self.apply(e)?;
                        }
                    }
                    Err(_) => {
                        prop_assert!(!waiting, "{path} is WAITING yet was refused");
                        prop_assert_eq!(&self.run, &before, "a refusal changed nothing");
                    }
                }
            }
        }
        self.settle()
    }
}

fn replay(log: &[PipelineEvent]) -> PipelineRun {
    let mut run = PipelineRun::default();
    for e in log {
        let json = serde_json::to_string(e).unwrap();
        run.apply(&serde_json::from_str(&json).unwrap());
    }
    run
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
        // Relative to the crate, where `cargo test` runs.
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/state_machine.txt"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn runs_keep_to_the_transition_table_and_replay(
        spec in graph_spec(),
        ops in prop::collection::vec(op(), 0..80),
        cut in 0usize..1000,
    ) {
        let src = render(&spec);
        let compiled = compile(&src, &CompileOptions::new(TemplateKind::Pipeline, t0()))
            .map_err(|d| TestCaseError::fail(format!("{src}\n{d:?}")))?;
        let nodes = compiled.graph.stages.iter().map(|s| s.nodes.len()).sum::<usize>();
        let mut h = Harness {
            run: PipelineRun::default(),
            log: vec![],
            now: t0(),
            max_steps: 4 * nodes + 16,
        };
        // The graph as the store keeps it (source spans are not stored).
        let graph = serde_json::from_value(serde_json::to_value(&compiled.graph).unwrap()).unwrap();
        h.apply(PipelineEvent::PipelineCreated {
            pipeline_id: "p".into(),
            project_id: "proj".into(),
            template_id: "t".into(),
            graph: Box::new(graph),
            created_at: t0(),
            origin: Default::default(),
        })?;
        h.settle()?;
        for o in &ops {
            h.step(o)?;
        }

        // Replay, through JSON, gives the same state.
        prop_assert_eq!(&replay(&h.log), &h.run);

        // A state serialized at any cut (the graph left out, as snapshots
        // do, and attached again), plus the rest of the log, gives the same.
        let cut = cut % (h.log.len() + 1);
        let at_cut = replay(&h.log[..cut]);
        let mut resumed: PipelineRun =
            serde_json::from_value(serde_json::to_value(&at_cut).unwrap()).unwrap();
        prop_assert!(resumed.graph.is_none());
        if resumed.exists() {
            resumed.attach_graph(h.run.graph.clone().unwrap());
        }
        for e in &h.log[cut..] {
            resumed.apply(e);
        }
        prop_assert_eq!(&resumed, &h.run);

        // Draining: every job ends well, every waiting node is started and
        // every pending one approved;
        // the pipeline then ends.
        for _ in 0..(4 * nodes + 4) {
            if h.run.status.is_terminal() {
                break;
            }
            h.step(&Op::JobStarts(0))?;
            h.step(&Op::JobEnds { pick: 0, ok: true })?;
            h.step(&Op::JobCanceled(0))?;
            h.step(&Op::ChildStarts(0))?;
            h.step(&Op::ChildEnds { pick: 0, how: 0 })?;
            h.step(&Op::Start(0))?;
            // Approver 1 counts for both rules, 2 completes rule-b.
            h.step(&Op::Approve { pick: 0, who: 1, revoke: false })?;
            h.step(&Op::Approve { pick: 0, who: 2, revoke: false })?;
            h.step(&Op::Advance(60))?;
        }
        prop_assert!(h.run.status.is_terminal(), "still {} after draining:\n{}", h.run.status, src);
    }
}
