use chrono::{TimeZone, Utc};

use super::*;
use crate::events::PipelineEvent as E;
use crate::template::{compile, CompileOptions, TemplateKind};

fn run_of(src: &str) -> PipelineRun {
    let now = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
    let mut opts = CompileOptions::new(TemplateKind::Pipeline, chrono::DateTime::UNIX_EPOCH);
    opts.now = now;
    let compiled = compile(src, &opts).expect("template compiles");
    let mut run = PipelineRun::default();
    run.apply(&E::PipelineCreated {
        pipeline_id: "p1".into(),
        project_id: "proj".into(),
        template_id: "t".into(),
        graph: Box::new(compiled.graph),
        created_at: now,
        origin: Default::default(),
    });
    run
}

/// Applies `advance` until it settles; returns the events, in order. Each
/// event's status changes are checked against the transition tables.
fn settle(run: &mut PipelineRun) -> Vec<E> {
    let mut all = Vec::new();
    loop {
        let next = run.advance(Utc::now());
        if next.is_empty() {
            return all;
        }
        for e in next {
            apply_checked(run, &e);
            all.push(e);
        }
    }
}

fn apply_checked(run: &mut PipelineRun, e: &E) {
    let before = run.clone();
    run.apply(e);
    if let Err(m) = transitions::check(&before, e, run) {
        panic!("{m}");
    }
}

fn ready_paths(events: &[E]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            E::NodeBecameReady { path, .. } => Some(path.clone()),
            _ => None,
        })
        .collect()
}

fn finish(run: &mut PipelineRun, path: &str, exit_code: i64) -> Vec<E> {
    let outputs: NodeOutputs = run
        .graph
        .as_ref()
        .unwrap()
        .node(path)
        .unwrap()
        .actions
        .iter()
        .map(|a| {
            (
                a.key().to_string(),
                serde_json::json!({ "exit_code": exit_code }),
            )
        })
        .collect();
    let e = if exit_code == 0 {
        E::NodeSucceeded {
            path: path.into(),
            outputs,
            at: Utc::now(),
        }
    } else {
        E::NodeFailed {
            path: path.into(),
            reason: "exit".into(),
            outputs,
            at: Utc::now(),
        }
    };
    apply_checked(run, &e);
    settle(run)
}

const HELLO: &str = include_str!("../../../examples/hello.hcl");

#[test]
fn stages_and_sections_run_in_order_with_dependencies() {
    let mut run = run_of(HELLO);
    let first = settle(&mut run);
    assert!(matches!(first[0], E::PipelineStarted { .. }));
    assert!(matches!(&first[1], E::StageStarted { stage, .. } if stage == "build"));
    assert_eq!(ready_paths(&first), ["stage.build.pre.task.prepare"]);

    let next = finish(&mut run, "stage.build.pre.task.prepare", 0);
    assert_eq!(
        ready_paths(&next),
        ["stage.build.task.compile"],
        "unit_test waits for compile"
    );
    let next = finish(&mut run, "stage.build.task.compile", 0);
    assert_eq!(ready_paths(&next), ["stage.build.task.unit_test"]);
    // The dependency's exit code was folded into the command.
    let E::NodeBecameReady {
        job: Some(job),
        job_id: Some(id),
        ..
    } = &next[0]
    else {
        panic!("expected a ready task, got {next:?}")
    };
    assert_eq!(id, &job_id_for("p1", "stage.build.task.unit_test", 1));
    assert_eq!(
        job.actions[0].inputs["command"],
        "echo testing after compile exited with 0"
    );
    let next = finish(&mut run, "stage.build.task.unit_test", 0);
    assert_eq!(ready_paths(&next), ["stage.build.post.task.report"]);
    let next = finish(&mut run, "stage.build.post.task.report", 0);
    assert!(matches!(&next[0], E::StageSucceeded { stage, .. } if stage == "build"));
    assert_eq!(ready_paths(&next), ["stage.release.task.publish"]);
    let E::NodeBecameReady { job: Some(job), .. } = next.last().unwrap() else {
        panic!()
    };
    assert_eq!(
        job.actions[0].inputs["command"],
        "echo publishing; echo prepare exited 0"
    );
    let next = finish(&mut run, "stage.release.task.publish", 0);
    assert!(matches!(next.last(), Some(E::PipelineSucceeded { .. })));
    assert_eq!(run.status, PipelineStatus::Succeeded);
    assert!(
        run.advance(Utc::now()).is_empty(),
        "a finished pipeline stays finished"
    );
}

#[test]
fn a_failed_task_skips_the_rest_and_fails_the_pipeline() {
    let mut run = run_of(HELLO);
    settle(&mut run);
    finish(&mut run, "stage.build.pre.task.prepare", 0);
    let next = finish(&mut run, "stage.build.task.compile", 3);
    let skipped: Vec<_> = next
        .iter()
        .filter_map(|e| match e {
            E::NodeSkipped { path, .. } => Some(path.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        skipped,
        [
            "stage.build.task.unit_test",
            "stage.build.post.task.report",
            "stage.release.task.publish"
        ]
    );
    assert!(next
        .iter()
        .any(|e| matches!(e, E::StageFailed { stage, .. } if stage == "build")));
    assert!(next
        .iter()
        .any(|e| matches!(e, E::StageSkipped { stage, .. } if stage == "release")));
    assert!(
        matches!(next.last(), Some(E::PipelineFailed { reason, .. }) if reason == "stage build failed")
    );
    assert_eq!(
        run.nodes["stage.build.task.compile"].status,
        NodeStatus::Failed
    );
}

#[test]
fn a_running_sibling_finishes_before_the_stage_fails() {
    let src = r#"
stage "s" {
  task "a" {
    action "exec_command" { command = "true" }
  }
  task "b" {
    action "exec_command" { command = "false" }
  }
}"#;
    let mut run = run_of(src);
    let first = settle(&mut run);
    assert_eq!(
        ready_paths(&first).len(),
        2,
        "independent tasks are ready together"
    );
    let next = finish(&mut run, "stage.s.task.b", 1);
    assert!(next.is_empty(), "a is still running: {next:?}");
    let next = finish(&mut run, "stage.s.task.a", 0);
    assert!(matches!(next[0], E::StageFailed { .. }));
    assert!(matches!(next[1], E::PipelineFailed { .. }));
}

#[test]
fn never_and_false_conditions_skip() {
    let src = r#"
stage "s" {
  task "a" {
    when = "never"
    action "exec_command" { command = "true" }
  }
  task "b" {
    if = false
    action "exec_command" { command = "true" }
  }
  task "c" {
    dependencies = ["a", "b"]
    action "exec_command" { command = "true" }
  }
}"#;
    let mut run = run_of(src);
    let first = settle(&mut run);
    assert_eq!(ready_paths(&first), ["stage.s.task.c"]);
}

#[test]
fn replaying_the_events_rebuilds_the_same_state() {
    let mut run = run_of(HELLO);
    let mut log = vec![];
    log.extend(settle(&mut run));
    for p in ["stage.build.pre.task.prepare", "stage.build.task.compile"] {
        let e = E::NodeSucceeded {
            path: p.into(),
            outputs: [("x".to_string(), serde_json::json!({"exit_code": 0}))]
                .into_iter()
                .collect(),
            at: Utc::now(),
        };
        run.apply(&e);
        log.push(e);
        log.extend(settle(&mut run));
    }
    let mut replayed = run_of(HELLO);
    for e in &log {
        // Events survive a JSON round trip, as they do in the store.
        let e: E = serde_json::from_value(serde_json::to_value(e).unwrap()).unwrap();
        replayed.apply(&e);
    }
    assert_eq!(replayed, run);
}

#[test]
fn unsupported_features_are_named() {
    let src = r#"
stage "s" {
  task "a" {
    approval_rules = ["prn:approval_rule:acme/release"]
    action "exec_command" { command = "true" }
  }
  task "b" {
    when              = "manual"
    interval          = "1m"
    attempts          = 3
    success_condition = true
    action "exec_command" { command = "true" }
  }
}"#;
    let run = run_of(src);
    let u = unsupported(run.graph.as_ref().unwrap());
    assert!(
        u.is_empty(),
        "approvals, manual starts and gates run now: {u:?}"
    );
    assert!(unsupported(run_of(HELLO).graph.as_ref().unwrap()).is_empty());
}

const MANUAL: &str = r#"
stage "s" {
  task "build" {
    action "exec_command" { command = "make" }
  }
  task "approve" {
    when         = "manual"
    dependencies = ["build"]
  }
  task "ship" {
    dependencies = ["approve"]
    action "exec_command" { command = "echo ${action_outputs.stage.s.task.build.action.exec_command.exit_code}" }
  }
}
stage "after" {
  task "done" {
    action "exec_command" { command = "true" }
  }
}"#;

fn names(events: &[E]) -> Vec<&'static str> {
    use crate::events::NamedEvent;
    events.iter().map(|e| e.name()).collect()
}

#[test]
fn a_stage_starts_with_its_nodes_blocked() {
    let mut run = run_of(MANUAL);
    run.apply(&E::PipelineStarted { at: Utc::now() });
    apply_checked(
        &mut run,
        &E::StageStarted {
            stage: "s".into(),
            at: Utc::now(),
        },
    );
    for p in [
        "stage.s.task.build",
        "stage.s.task.approve",
        "stage.s.task.ship",
    ] {
        assert_eq!(run.nodes[p].status, NodeStatus::Blocked, "{p}");
    }
    assert_eq!(
        run.nodes["stage.after.task.done"].status,
        NodeStatus::Created
    );
}

#[test]
fn a_manual_node_waits_and_so_do_its_stage_and_pipeline() {
    let mut run = run_of(MANUAL);
    settle(&mut run);
    let next = finish(&mut run, "stage.s.task.build", 0);
    assert_eq!(
        names(&next),
        ["NodeWaitingForStart", "StageWaiting", "PipelineWaiting"]
    );
    assert_eq!(
        run.nodes["stage.s.task.approve"].status,
        NodeStatus::Waiting
    );
    assert_eq!(run.stages[0].status, StageStatus::Waiting);
    assert_eq!(run.status, PipelineStatus::Waiting);
    assert!(
        run.advance(Utc::now()).is_empty(),
        "it waits: nothing follows"
    );

    // Started: the actionless task needs no job and succeeds at once; its
    // stage and pipeline run again; the next task is ready.
    let started = run.start_node("stage.s.task.approve", Utc::now()).unwrap();
    assert!(matches!(
        &started[..],
        [E::NodeBecameReady {
            job: None,
            job_id: None,
            ..
        }]
    ));
    apply_checked(&mut run, &started[0]);
    let next = settle(&mut run);
    assert_eq!(
        names(&next),
        [
            "StageResumed",
            "PipelineResumed",
            "NodeSucceeded",
            "NodeBecameReady"
        ]
    );
    assert_eq!(ready_paths(&next), ["stage.s.task.ship"]);
    let E::NodeBecameReady { job: Some(job), .. } = next.last().unwrap() else {
        panic!("{next:?}")
    };
    assert_eq!(job.actions[0].inputs["command"], "echo 0");
    finish(&mut run, "stage.s.task.ship", 0);
    finish(&mut run, "stage.after.task.done", 0);
    assert_eq!(run.status, PipelineStatus::Succeeded);
}

#[test]
fn only_a_waiting_node_can_be_started() {
    let mut run = run_of(MANUAL);
    settle(&mut run);
    let err = run
        .start_node("stage.s.task.build", Utc::now())
        .unwrap_err();
    assert_eq!(
        err,
        Refusal::WrongState("stage.s.task.build is READY; only a WAITING node (when = \"manual\") can be started; it is already on its way".into())
    );
    let err = run
        .start_node("stage.s.task.approve", Utc::now())
        .unwrap_err();
    assert!(err.to_string().contains("is BLOCKED"), "{err}");
    assert!(err.to_string().contains("not reached its turn"), "{err}");
    assert_eq!(
        run.start_node("stage.s.task.nope", Utc::now()).unwrap_err(),
        Refusal::NotFound("node stage.s.task.nope".into())
    );
}

#[test]
fn a_waiting_node_is_skipped_when_a_sibling_fails() {
    let src = r#"
stage "s" {
  task "gate" {
    when = "manual"
    action "exec_command" { command = "true" }
  }
  task "work" {
    action "exec_command" { command = "false" }
  }
}"#;
    let mut run = run_of(src);
    let first = settle(&mut run);
    assert_eq!(ready_paths(&first), ["stage.s.task.work"]);
    assert_eq!(run.nodes["stage.s.task.gate"].status, NodeStatus::Waiting);
    assert_eq!(run.stages[0].status, StageStatus::Running, "work runs");
    let next = finish(&mut run, "stage.s.task.work", 1);
    assert_eq!(
        names(&next),
        ["NodeSkipped", "StageFailed", "PipelineFailed"]
    );
    assert_eq!(run.nodes["stage.s.task.gate"].status, NodeStatus::Skipped);
}

#[test]
fn a_task_without_actions_succeeds_without_a_job() {
    let src = r#"
stage "s" {
  task "marker" {}
}"#;
    let mut run = run_of(src);
    let events = settle(&mut run);
    assert_eq!(
        names(&events),
        [
            "PipelineStarted",
            "StageStarted",
            "NodeBecameReady",
            "NodeSucceeded",
            "StageSucceeded",
            "PipelineSucceeded"
        ]
    );
}

#[test]
fn every_status_has_a_name_that_parses_back() {
    for s in NodeStatus::ALL {
        assert_eq!(NodeStatus::parse(s.as_str()), Some(*s));
    }
    for s in StageStatus::ALL {
        assert_eq!(StageStatus::parse(s.as_str()), Some(*s));
    }
    for s in PipelineStatus::ALL {
        assert_eq!(PipelineStatus::parse(s.as_str()), Some(*s));
    }
    assert_eq!(NodeStatus::ALL.len(), 13);
    assert_eq!(
        NodeStatus::parse("APPROVAL_PENDING"),
        Some(NodeStatus::ApprovalPending)
    );
}

const SCHEDULED: &str = r#"
stage "s" {
  task "first" {
    action "exec_command" { command = "true" }
  }
  task "later" {
    dependencies = ["first"]
    schedule {
      type    = "datetime"
      options = { value = "2026-12-01T15:00:00Z" }
    }
    action "exec_command" { command = "true" }
  }
  task "past" {
    schedule {
      type    = "datetime"
      options = { value = "2020-01-01T00:00:00Z" }
    }
  }
}"#;

#[test]
fn a_scheduled_node_waits_for_its_time_and_a_past_one_starts_at_once() {
    let t = |h, m| Utc.with_ymd_and_hms(2026, 12, 1, h, m, 0).unwrap();
    let mut run = run_of(SCHEDULED);
    let mut log = Vec::new();
    let mut settle_at = |run: &mut PipelineRun, now| loop {
        let next = run.advance(now);
        if next.is_empty() {
            break;
        }
        for e in next {
            apply_checked(run, &e);
            log.push(e);
        }
    };
    settle_at(&mut run, t(12, 0));
    // The past schedule: scheduled for now, then ready (no actions: done).
    assert_eq!(run.nodes["stage.s.task.past"].status, NodeStatus::Succeeded);
    assert_eq!(
        run.nodes["stage.s.task.past"].scheduled_start,
        Some(t(12, 0))
    );
    let job_id = run.nodes["stage.s.task.first"].job_id.clone().unwrap();
    apply_checked(
        &mut run,
        &E::NodeStarted {
            path: "stage.s.task.first".into(),
            job_id,
            at: t(12, 1),
        },
    );
    apply_checked(
        &mut run,
        &E::NodeSucceeded {
            path: "stage.s.task.first".into(),
            outputs: Default::default(),
            at: t(12, 2),
        },
    );
    settle_at(&mut run, t(12, 2));
    let later = &run.nodes["stage.s.task.later"];
    assert_eq!(later.status, NodeStatus::Scheduled);
    assert_eq!(later.scheduled_start, Some(t(15, 0)));
    assert_eq!(
        run.stages[0].status,
        StageStatus::Running,
        "a timer is not a person"
    );
    // Early (a timer that fired twice, or an instance's clock behind):
    // nothing. On time: ready.
    assert!(run.advance(t(14, 59)).is_empty());
    let next = run.advance(t(15, 0));
    assert!(
        matches!(&next[..], [E::NodeBecameReady { path, job: Some(_), .. }] if path == "stage.s.task.later"),
        "{next:?}"
    );
}

#[test]
fn a_cron_schedule_is_worked_out_when_the_node_leaves_blocked() {
    let src = r#"
stage "s" {
  task "t" {
    schedule {
      type    = "cron"
      options = { expression = "0 12 * * 5#3", timezone = "UTC" }
    }
    action "exec_command" { command = "true" }
  }
}"#;
    let mut run = run_of(src);
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    loop {
        let next = run.advance(now);
        if next.is_empty() {
            break;
        }
        for e in next {
            apply_checked(&mut run, &e);
        }
    }
    let t = &run.nodes["stage.s.task.t"];
    assert_eq!(t.status, NodeStatus::Scheduled);
    // The third Friday of December 2026.
    assert_eq!(
        t.scheduled_start,
        Some(Utc.with_ymd_and_hms(2026, 12, 18, 12, 0, 0).unwrap())
    );
}

#[test]
fn a_task_without_actions_ends_even_when_a_sibling_fails_beside_it() {
    // Found in review: `b` failed (its inputs could not be evaluated) in
    // the same step as `a`, which has no actions, became READY; the
    // failure branch then waited for `a`, which has no job to end it.
    let src = r#"
stage "s" {
  task "a" {}
  task "b" {
    action "exec_command" { command = "true" }
  }
}"#;
    let mut run = run_of(src);
    let now = Utc::now();
    for e in [
        E::PipelineStarted { at: now },
        E::StageStarted {
            stage: "s".into(),
            at: now,
        },
        E::NodeBecameReady {
            path: "stage.s.task.a".into(),
            job_id: None,
            job: None,
            at: now,
            attempt: 1,
            child: None,
        },
        E::NodeFailed {
            path: "stage.s.task.b".into(),
            reason: "its inputs cannot be evaluated".into(),
            outputs: Default::default(),
            at: now,
        },
    ] {
        apply_checked(&mut run, &e);
    }
    let events = settle(&mut run);
    assert_eq!(
        run.nodes["stage.s.task.a"].status,
        NodeStatus::Succeeded,
        "{events:?}"
    );
    assert_eq!(run.status, PipelineStatus::Failed, "{events:?}");
}

/// Seed 001's health check, with a 2-minute interval and 3 attempts.
const GATE: &str = r#"
stage "production" {
  pre {
    task "health_check" {
      interval          = "2m"
      attempts          = 3
      success_condition = "action_outputs.stage.production.pre.task.health_check.action.check_service.exit_code == 0"
      action "exec_command" {
        alias   = "check_service"
        command = "curl -f https://api.example.com/health"
      }
    }
  }
  task "deploy" {
    action "exec_command" { command = "true" }
  }
}"#;

const HEALTH: &str = "stage.production.pre.task.health_check";

/// Runs the node's current job to `exit_code` at `now`; returns the events.
fn gate_run(run: &mut PipelineRun, exit_code: i64, now: chrono::DateTime<Utc>) -> Vec<E> {
    let job_id = run.nodes[HEALTH].job_id.clone().unwrap();
    apply_checked(
        run,
        &E::NodeStarted {
            path: HEALTH.into(),
            job_id: job_id.clone(),
            at: now,
        },
    );
    let outputs: NodeOutputs = [(
        "check_service".to_string(),
        serde_json::json!({ "exit_code": exit_code }),
    )]
    .into_iter()
    .collect();
    let events = run
        .job_ended(
            HEALTH,
            &job_id,
            exit_code == 0,
            "exit status 22",
            outputs,
            now,
        )
        .unwrap();
    for e in &events {
        apply_checked(run, e);
    }
    let mut all = events;
    loop {
        let next = run.advance(now);
        if next.is_empty() {
            return all;
        }
        for e in next {
            apply_checked(run, &e);
            all.push(e);
        }
    }
}

#[test]
fn a_gate_runs_again_after_its_interval_until_its_condition_holds() {
    let t = |m| Utc.with_ymd_and_hms(2026, 12, 1, 12, m, 0).unwrap();
    let mut run = run_of(GATE);
    settle(&mut run);
    let first_job = run.nodes[HEALTH].job_id.clone().unwrap();
    assert_eq!(first_job, job_id_for("p1", HEALTH, 1));

    let events = gate_run(&mut run, 22, t(0));
    assert_eq!(names(&events), ["NodeGateAttemptFailed"]);
    assert_eq!(run.nodes[HEALTH].status, NodeStatus::Scheduled);
    assert_eq!(
        run.nodes[HEALTH].scheduled_start,
        Some(t(2)),
        "interval after the end"
    );
    // The repeated report of the first job changes nothing.
    let again = run
        .job_ended(HEALTH, &first_job, false, "again", Default::default(), t(0))
        .unwrap();
    assert!(again.is_empty());
    // Not before its time; then attempt 2, a job of its own.
    assert!(run.advance(t(1)).is_empty());
    let next = run.advance(t(2));
    let [E::NodeBecameReady {
        job_id: Some(j),
        attempt: 2,
        ..
    }] = &next[..]
    else {
        panic!("{next:?}")
    };
    assert_eq!(j, &job_id_for("p1", HEALTH, 2));
    apply_checked(&mut run, &next[0]);
    assert_eq!(
        names(&gate_run(&mut run, 22, t(2))),
        ["NodeGateAttemptFailed"]
    );
    let e = run.advance(t(4))[0].clone();
    apply_checked(&mut run, &e);
    assert_eq!(run.nodes[HEALTH].attempt, 3);
    // The third attempt's condition holds: the gate succeeds, deploy runs.
    let events = gate_run(&mut run, 0, t(4));
    assert_eq!(names(&events)[0], "NodeSucceeded");
    assert_eq!(ready_paths(&events), ["stage.production.task.deploy"]);
}

#[test]
fn a_gate_that_runs_out_of_attempts_fails_naming_its_condition() {
    let t = |m| Utc.with_ymd_and_hms(2026, 12, 1, 12, m, 0).unwrap();
    let mut run = run_of(GATE);
    settle(&mut run);
    for m in [0, 2] {
        gate_run(&mut run, 22, t(m));
        let e = run.advance(t(m + 2))[0].clone();
        apply_checked(&mut run, &e);
    }
    let events = gate_run(&mut run, 22, t(4));
    let E::NodeFailed { reason, .. } = &events[0] else {
        panic!("{events:?}")
    };
    assert!(reason.contains("action_outputs.stage.production.pre.task.health_check.action.check_service.exit_code == 0"), "{reason}");
    assert!(reason.contains("after 3 of 3 attempts"), "{reason}");
    assert!(reason.contains("exit status 22"), "{reason}");
    assert_eq!(run.status, PipelineStatus::Failed);
    assert_eq!(
        run.nodes["stage.production.task.deploy"].status,
        NodeStatus::Skipped
    );
}

#[test]
fn a_condition_without_interval_is_checked_once() {
    let src = r#"
stage "s" {
  task "check" {
    success_condition = "action_outputs.stage.s.task.check.action.exec_command.exit_code == 3"
    action "exec_command" { command = "exit 3" }
  }
}"#;
    let mut run = run_of(src);
    settle(&mut run);
    let path = "stage.s.task.check";
    let job_id = run.nodes[path].job_id.clone().unwrap();
    let outputs: NodeOutputs = [(
        "exec_command".to_string(),
        serde_json::json!({ "exit_code": 3 }),
    )]
    .into_iter()
    .collect();
    // The job succeeded, but the condition is false when exit_code is 0.
    let ok = run
        .job_ended(path, &job_id, true, "", outputs.clone(), Utc::now())
        .unwrap();
    assert_eq!(
        names(&ok),
        ["NodeSucceeded"],
        "the condition held on this run's outputs"
    );
    let mut zero = outputs;
    zero["exec_command"] = serde_json::json!({ "exit_code": 0 });
    let failed = run
        .job_ended(path, &job_id, true, "", zero, Utc::now())
        .unwrap();
    let [E::NodeFailed { reason, .. }] = &failed[..] else {
        panic!("{failed:?}")
    };
    assert!(reason.contains("after 1 run"), "{reason}");
}

#[test]
fn a_gate_between_attempts_goes_on_when_a_sibling_fails() {
    // Found by the state machine property test: the failure branch
    // returned before a due gate attempt was made ready, so the pipeline
    // stayed RUNNING for ever.
    let src = r#"
stage "s" {
  task "gate" {
    success_condition = "action_outputs.stage.s.task.gate.action.exec_command.exit_code == 0"
    interval          = "1m"
    attempts          = 2
    action "exec_command" { command = "true" }
  }
  task "other" {
    action "exec_command" { command = "false" }
  }
}"#;
    // Ahead of the wall clock, which `finish` settles at.
    let base = Utc::now() + chrono::Duration::hours(1);
    let t = |m: i64| base + chrono::Duration::minutes(m);
    let mut run = run_of(src);
    settle(&mut run);
    let gate = "stage.s.task.gate";
    let job = run.nodes[gate].job_id.clone().unwrap();
    let outputs: NodeOutputs = [(
        "exec_command".to_string(),
        serde_json::json!({"exit_code": 1}),
    )]
    .into_iter()
    .collect();
    for e in run
        .job_ended(gate, &job, false, "exit 1", outputs, t(0))
        .unwrap()
    {
        apply_checked(&mut run, &e);
    }
    finish(&mut run, "stage.s.task.other", 1);
    assert_eq!(run.nodes[gate].status, NodeStatus::Scheduled);
    let next = run.advance(t(1));
    assert!(
        matches!(&next[..], [E::NodeBecameReady { attempt: 2, .. }]),
        "the second attempt runs: {next:?}"
    );
}

#[test]
fn a_retried_node_runs_again_and_undoes_what_its_failure_caused() {
    let mut run = run_of(HELLO);
    settle(&mut run);
    finish(&mut run, "stage.build.pre.task.prepare", 0);
    finish(&mut run, "stage.build.task.compile", 3);
    assert_eq!(run.status, PipelineStatus::Failed);
    let first_job = run.nodes["stage.build.task.compile"]
        .job_id
        .clone()
        .unwrap();

    let events = run
        .retry_node("stage.build.task.compile", Utc::now())
        .unwrap();
    assert_eq!(
        names(&events),
        [
            "PipelineReopened",
            "StageReopened",
            "StageReset",
            "NodeReset",
            "NodeReset",
            "NodeReset",
            "NodeRetried"
        ]
    );
    for e in &events {
        apply_checked(&mut run, e);
    }
    let next = settle(&mut run);
    // compile runs again at once, as attempt 2 with a job of its own; what
    // succeeded (prepare) does not run again.
    let [E::NodeBecameReady {
        path,
        job_id: Some(j),
        attempt: 2,
        ..
    }] = &next[..]
    else {
        panic!("{next:?}")
    };
    assert_eq!(path, "stage.build.task.compile");
    assert_ne!(j, &first_job);
    assert_eq!(j, &job_id_for("p1", "stage.build.task.compile", 2));
    assert_eq!(
        run.nodes["stage.build.pre.task.prepare"].status,
        NodeStatus::Succeeded
    );
    assert_eq!(
        run.nodes["stage.build.task.unit_test"].status,
        NodeStatus::Blocked
    );
    assert_eq!(
        run.nodes["stage.release.task.publish"].status,
        NodeStatus::Created
    );
    assert_eq!(run.stages[1].status, StageStatus::Created);
    assert_eq!(run.status, PipelineStatus::Running);

    // The late report of the first attempt's job changes nothing.
    let late = run
        .job_ended(
            "stage.build.task.compile",
            &first_job,
            false,
            "late",
            Default::default(),
            Utc::now(),
        )
        .unwrap();
    assert!(late.is_empty());

    for p in [
        "stage.build.task.compile",
        "stage.build.task.unit_test",
        "stage.build.post.task.report",
        "stage.release.task.publish",
    ] {
        finish(&mut run, p, 0);
    }
    assert_eq!(run.status, PipelineStatus::Succeeded);
}

#[test]
fn only_a_failed_node_can_be_retried() {
    let mut run = run_of(HELLO);
    settle(&mut run);
    let err = run
        .retry_node("stage.build.pre.task.prepare", Utc::now())
        .unwrap_err();
    assert_eq!(
        err,
        Refusal::WrongState(
            "stage.build.pre.task.prepare is READY; only a FAILED or CANCELED node can be retried"
                .into()
        )
    );
}

#[test]
fn a_retried_manual_node_runs_at_once() {
    let src = r#"
stage "s" {
  task "m" {
    when = "manual"
    action "exec_command" { command = "false" }
  }
}"#;
    let mut run = run_of(src);
    settle(&mut run);
    for e in run.start_node("stage.s.task.m", Utc::now()).unwrap() {
        apply_checked(&mut run, &e);
    }
    settle(&mut run);
    finish(&mut run, "stage.s.task.m", 1);
    assert_eq!(run.status, PipelineStatus::Failed);
    for e in run.retry_node("stage.s.task.m", Utc::now()).unwrap() {
        apply_checked(&mut run, &e);
    }
    let next = settle(&mut run);
    assert!(
        next.iter()
            .any(|e| matches!(e, E::NodeBecameReady { attempt: 2, .. })),
        "not WAITING again: {next:?}"
    );
}

#[test]
fn skips_recorded_before_causes_were_read_from_their_reason() {
    use crate::events::SkipCause;
    assert_eq!(
        SkipCause::from_reason("when = \"never\""),
        Some(SkipCause::Never)
    );
    assert_eq!(
        SkipCause::from_reason("stage build failed"),
        Some(SkipCause::StageFailed {
            stage: "build".into()
        })
    );
    assert_eq!(
        SkipCause::from_reason("stage.build.task.compile failed"),
        Some(SkipCause::NodeFailed {
            path: "stage.build.task.compile".into()
        })
    );
    // The stored fixture's skips, written without causes, fold with them.
    let old: E = serde_json::from_str(r#"{"NodeSkipped":{"path":"stage.s.task.b","reason":"stage.s.task.a failed","at":"2026-12-01T12:00:00Z"}}"#).unwrap();
    let E::NodeSkipped { cause, .. } = &old else {
        panic!()
    };
    assert_eq!(cause, &None);
}

#[test]
fn a_scheduled_node_gets_another_schedule_or_none() {
    use crate::template::model::Schedule;
    let t = |h, m| Utc.with_ymd_and_hms(2026, 12, 1, h, m, 0).unwrap();
    let mut run = run_of(SCHEDULED);
    let at = |run: &mut PipelineRun, now| loop {
        let next = run.advance(now);
        if next.is_empty() {
            break;
        }
        for e in next {
            apply_checked(run, &e);
        }
    };
    at(&mut run, t(12, 0));
    let later = "stage.s.task.later";
    // BLOCKED (behind `first`): taken when it leaves BLOCKED.
    let cron = Schedule::Cron {
        expression: "30 13 * * *".into(),
        timezone: "UTC".into(),
    };
    for e in run.update_schedule(later, Some(cron), t(12, 0)).unwrap() {
        apply_checked(&mut run, &e);
    }
    let job_id = run.nodes["stage.s.task.first"].job_id.clone().unwrap();
    for e in [
        E::NodeStarted {
            path: "stage.s.task.first".into(),
            job_id,
            at: t(12, 1),
        },
        E::NodeSucceeded {
            path: "stage.s.task.first".into(),
            outputs: Default::default(),
            at: t(12, 2),
        },
    ] {
        apply_checked(&mut run, &e);
    }
    at(&mut run, t(12, 2));
    assert_eq!(run.nodes[later].status, NodeStatus::Scheduled);
    assert_eq!(
        run.nodes[later].scheduled_start,
        Some(t(13, 30)),
        "the new schedule, not 15:00"
    );

    // SCHEDULED: worked out again at once.
    let sooner = Schedule::Datetime {
        value: "2026-12-01T12:10:00Z".into(),
    };
    let events = run.update_schedule(later, Some(sooner), t(12, 3)).unwrap();
    assert_eq!(names(&events), ["NodeScheduleUpdated", "NodeScheduled"]);
    for e in &events {
        apply_checked(&mut run, e);
    }
    assert_eq!(run.nodes[later].scheduled_start, Some(t(12, 10)));
    // A bad one is refused, naming what is wrong, and changes nothing.
    let bad = Schedule::Cron {
        expression: "61 * * * *".into(),
        timezone: "UTC".into(),
    };
    let err = run.update_schedule(later, Some(bad), t(12, 4)).unwrap_err();
    assert!(
        matches!(&err, Refusal::Invalid(m) if m.contains("not valid")),
        "{err:?}"
    );
    // Removed: ready at once.
    let events = run.update_schedule(later, None, t(12, 5)).unwrap();
    assert_eq!(names(&events), ["NodeScheduleUpdated", "NodeBecameReady"]);
    for e in &events {
        apply_checked(&mut run, e);
    }
    // Now it has started: refused, naming its state.
    let err = run.update_schedule(later, None, t(12, 6)).unwrap_err();
    assert!(
        matches!(&err, Refusal::WrongState(m) if m.contains("is READY")),
        "{err:?}"
    );
}

#[test]
fn a_removed_schedule_survives_a_snapshot() {
    // Found by the property test: an `Option<Option<Schedule>>` wrote
    // "removed" as null and read it back as "never set".
    let state = NodeState {
        schedule_override: Some(ScheduleOverride::Removed),
        ..NodeState::default()
    };
    let back: NodeState = serde_json::from_value(serde_json::to_value(&state).unwrap()).unwrap();
    assert_eq!(back, state);
}

fn apply_all(run: &mut PipelineRun, events: Vec<E>) -> Vec<E> {
    for e in &events {
        apply_checked(run, e);
    }
    let mut all = events;
    all.extend(settle(run));
    all
}

#[test]
fn a_graceful_cancel_waits_for_the_job_in_flight_then_cancels_everything() {
    let mut run = run_of(HELLO);
    settle(&mut run);
    let job = run.nodes["stage.build.pre.task.prepare"].job_id.clone();
    apply_checked(
        &mut run,
        &E::NodeStarted {
            path: "stage.build.pre.task.prepare".into(),
            job_id: job.clone().unwrap(),
            at: Utc::now(),
        },
    );
    let events = run.cancel_pipeline(false, 30, Utc::now()).unwrap();
    let out = apply_all(&mut run, events);
    assert_eq!(run.status, PipelineStatus::Canceling);
    assert!(out.iter().any(|e| matches!(e,
        E::NodeCancelRequested { path, job_id, grace_seconds: 30, .. }
            if path == "stage.build.pre.task.prepare" && *job_id == job)));
    // What had not started is canceled at once, in every stage.
    for p in ["stage.build.task.compile", "stage.release.task.publish"] {
        assert_eq!(run.nodes[p].status, NodeStatus::Canceled, "{p}");
    }
    assert_eq!(run.stages[0].status, StageStatus::Canceling);
    assert_eq!(run.stages[1].status, StageStatus::Canceled);
    // A second graceful cancel is refused; a forced one is not.
    assert!(matches!(
        run.cancel_pipeline(false, 30, Utc::now()),
        Err(Refusal::WrongState(m)) if m.contains("force = true")
    ));
    // The job reports CANCELED: the node, stage and pipeline end.
    let events = run
        .job_canceled(
            "stage.build.pre.task.prepare",
            job.as_deref().unwrap(),
            "SIGTERM",
            Default::default(),
            Utc::now(),
        )
        .unwrap();
    let out = apply_all(&mut run, events);
    assert_eq!(
        run.nodes["stage.build.pre.task.prepare"].status,
        NodeStatus::Canceled
    );
    assert!(
        matches!(out.last(), Some(E::PipelineCanceled { .. })),
        "{out:?}"
    );
    assert_eq!(run.stages[0].status, StageStatus::Canceled);
    assert!(run.cancel_pipeline(true, 30, Utc::now()).is_err());
}

#[test]
fn a_forced_cancel_ends_the_node_with_its_job_at_once() {
    let mut run = run_of(HELLO);
    settle(&mut run);
    let job = run.nodes["stage.build.pre.task.prepare"].job_id.clone();
    let events = run.cancel_pipeline(true, 30, Utc::now()).unwrap();
    let out = apply_all(&mut run, events);
    assert!(out.iter().any(|e| matches!(e,
        E::NodeCanceled { path, forced: true, job_id, .. }
            if path == "stage.build.pre.task.prepare" && *job_id == job)));
    assert_eq!(run.status, PipelineStatus::Canceled);
    // The job's late report changes nothing.
    let late = run
        .job_ended(
            "stage.build.pre.task.prepare",
            job.as_deref().unwrap(),
            true,
            "",
            Default::default(),
            Utc::now(),
        )
        .unwrap();
    assert!(late.is_empty());
}

#[test]
fn a_canceled_node_stops_its_stage_like_a_failure_and_retry_undoes_it() {
    let mut run = run_of(HELLO);
    settle(&mut run);
    let prepare = "stage.build.pre.task.prepare";
    // A node that has not started is canceled at once (and, like a
    // failure, would stop its stage).
    let events = run
        .cancel_node("stage.build.task.unit_test", false, 30, Utc::now())
        .unwrap();
    assert!(matches!(
        &events[0],
        E::NodeCanceled {
            forced: false,
            job_id: None,
            ..
        }
    ));
    // The job in flight: CANCELING, then CANCELED when the job says so.
    let job = run.nodes[prepare].job_id.clone().unwrap();
    let events = run.cancel_node(prepare, false, 5, Utc::now()).unwrap();
    apply_all(&mut run, events);
    assert_eq!(run.nodes[prepare].status, NodeStatus::Canceling);
    assert!(matches!(
        run.cancel_node(prepare, false, 5, Utc::now()),
        Err(Refusal::WrongState(m)) if m.contains("CANCELING already")
    ));
    let events = run
        .job_canceled(prepare, &job, "", Default::default(), Utc::now())
        .unwrap();
    let out = apply_all(&mut run, events);
    assert!(out.iter().any(|e| matches!(e,
        E::NodeSkipped { path, cause: Some(crate::events::SkipCause::NodeCanceled { .. }), .. }
            if path == "stage.build.task.compile")));
    assert_eq!(run.stages[0].status, StageStatus::Canceled);
    assert_eq!(run.stages[1].status, StageStatus::Skipped);
    assert!(
        matches!(out.last(), Some(E::PipelineCanceled { reason, .. }) if reason == "stage build was canceled")
    );
    assert!(matches!(
        run.cancel_node(prepare, false, 5, Utc::now()),
        Err(Refusal::WrongState(m)) if m.contains("CANCELED")
    ));
    // Retry: the canceled node runs again, what it skipped waits again.
    let events = run.retry_node(prepare, Utc::now()).unwrap();
    let out = apply_all(&mut run, events);
    assert_eq!(run.status, PipelineStatus::Running);
    assert_eq!(ready_paths(&out), [prepare]);
    assert_eq!(run.nodes[prepare].attempt, 2);
    assert_eq!(
        run.nodes["stage.build.task.compile"].status,
        NodeStatus::Blocked
    );
}

#[test]
fn a_job_that_ends_before_the_cancel_reaches_it_ends_the_node_as_it_did() {
    let mut run = run_of(HELLO);
    settle(&mut run);
    let prepare = "stage.build.pre.task.prepare";
    let events = run.cancel_pipeline(false, 30, Utc::now()).unwrap();
    apply_all(&mut run, events);
    let out = finish(&mut run, prepare, 0);
    assert_eq!(run.nodes[prepare].status, NodeStatus::Succeeded);
    assert_eq!(run.stages[0].status, StageStatus::Canceled, "{out:?}");
    assert_eq!(run.status, PipelineStatus::Canceled);
    // Retrying a node of a canceled pipeline runs again what it canceled.
    let events = run
        .retry_node("stage.build.task.compile", Utc::now())
        .unwrap();
    let out = apply_all(&mut run, events);
    assert_eq!(ready_paths(&out), ["stage.build.task.compile"]);
    assert_eq!(
        run.nodes["stage.release.task.publish"].status,
        NodeStatus::Created
    );
}

const NESTED: &str = r#"
stage "s" {
  task "build" {
    action "exec_command" { command = "true" }
  }
  pipeline "child" {
    template_id  = "prn:pipeline_template:acme/web/0d6c1a52-6c55-4b0e-9e43-6f1e7b5a8c11"
    dependencies = ["build"]
    variables = {
      code = action_outputs.stage.s.task.build.action.exec_command.exit_code
      name = "x"
    }
  }
  pipeline "deploy" {
    pipeline_type = "deployment"
    environment   = "prod"
    template_id   = "0d6c1a52-6c55-4b0e-9e43-6f1e7b5a8c11"
    dependencies  = ["child"]
  }
}"#;

#[test]
fn a_nested_pipeline_node_starts_its_child_and_ends_as_it_does() {
    let mut run = run_of(NESTED);
    settle(&mut run);
    let next = finish(&mut run, "stage.s.task.build", 0);
    let child = "stage.s.pipeline.child";
    let [E::NodeBecameReady {
        path,
        job_id: None,
        child: Some(spec),
        ..
    }] = &next[..]
    else {
        panic!("expected the child ready: {next:?}")
    };
    assert_eq!(path, child);
    assert_eq!(spec.pipeline_type, crate::events::PipelineType::Nested);
    assert_eq!(
        spec.child_pipeline_id,
        child_pipeline_id_for("p1", child, 1)
    );
    assert_eq!(spec.variables["code"], serde_json::json!(0));
    assert_eq!(spec.variables["name"], serde_json::json!("x"));
    assert_eq!(spec.environment, None);
    let id = spec.child_pipeline_id.clone();
    // Nothing happens until the child exists: no job, no success.
    assert!(settle(&mut run).is_empty());
    // A report for another child changes nothing.
    assert!(run
        .child_started(child, "other", Utc::now())
        .unwrap()
        .is_empty());
    let started = run.child_started(child, &id, Utc::now()).unwrap();
    let out = apply_all(&mut run, started);
    assert_eq!(run.nodes[child].status, NodeStatus::Running, "{out:?}");
    assert!(run
        .child_started(child, &id, Utc::now())
        .unwrap()
        .is_empty());
    let ended = run
        .child_ended(child, &id, ChildOutcome::Succeeded, "", Utc::now())
        .unwrap();
    let out = apply_all(&mut run, ended);
    assert_eq!(run.nodes[child].status, NodeStatus::Succeeded);
    // The deployment is next, in its environment.
    let Some(E::NodeBecameReady {
        child: Some(deploy),
        ..
    }) = out.last()
    else {
        panic!("expected the deployment ready: {out:?}")
    };
    assert_eq!(
        deploy.pipeline_type,
        crate::events::PipelineType::Deployment
    );
    assert_eq!(deploy.environment.as_deref(), Some("prod"));
    let id = deploy.child_pipeline_id.clone();
    let path = "stage.s.pipeline.deploy";
    let refused = run
        .child_refused(path, &id, "template … does not exist", Utc::now())
        .unwrap();
    apply_all(&mut run, refused);
    assert_eq!(run.nodes[path].status, NodeStatus::Failed);
    assert_eq!(run.status, PipelineStatus::Failed);
    // Retried, it starts another child.
    let retried = run.retry_node(path, Utc::now()).unwrap();
    let out = apply_all(&mut run, retried);
    let Some(E::NodeBecameReady {
        child: Some(again), ..
    }) = out.last()
    else {
        panic!("expected the deployment ready again: {out:?}")
    };
    assert_eq!(
        again.child_pipeline_id,
        child_pipeline_id_for("p1", path, 2)
    );
}

#[test]
fn canceling_a_nested_pipeline_node_cancels_its_child() {
    let mut run = run_of(NESTED);
    settle(&mut run);
    finish(&mut run, "stage.s.task.build", 0);
    let child = "stage.s.pipeline.child";
    let id = run.nodes[child].child_pipeline_id.clone().unwrap();
    let started = run.child_started(child, &id, Utc::now()).unwrap();
    apply_all(&mut run, started);
    let graceful = run.cancel_node(child, false, 30, Utc::now()).unwrap();
    assert!(matches!(&graceful[..],
        [E::NodeCancelRequested { job_id: None, child_pipeline_id: Some(c), .. }] if *c == id));
    let forced = run.cancel_node(child, true, 30, Utc::now()).unwrap();
    assert!(matches!(&forced[..],
        [E::NodeCanceled { forced: true, child_pipeline_id: Some(c), .. }] if *c == id));
    apply_all(&mut run, graceful);
    assert_eq!(run.nodes[child].status, NodeStatus::Canceling);
    let ended = run
        .child_ended(child, &id, ChildOutcome::Canceled, "canceled", Utc::now())
        .unwrap();
    apply_all(&mut run, ended);
    assert_eq!(run.nodes[child].status, NodeStatus::Canceled);
    assert_eq!(run.status, PipelineStatus::Canceled);
}

#[test]
fn a_queued_job_makes_its_node_pending_until_it_starts() {
    let mut run = run_of(HELLO);
    settle(&mut run);
    let prepare = "stage.build.pre.task.prepare";
    let job = run.nodes[prepare].job_id.clone().unwrap();
    // Another job's queueing changes nothing.
    assert!(run
        .job_queued(prepare, "other", Utc::now())
        .unwrap()
        .is_empty());
    let queued = run.job_queued(prepare, &job, Utc::now()).unwrap();
    apply_all(&mut run, queued);
    assert_eq!(run.nodes[prepare].status, NodeStatus::Pending);
    assert!(run
        .job_queued(prepare, &job, Utc::now())
        .unwrap()
        .is_empty());
    // A job that ends without having started (a launch failure) ends it.
    let ended = run
        .job_ended(
            prepare,
            &job,
            false,
            "no executor",
            Default::default(),
            Utc::now(),
        )
        .unwrap();
    assert!(matches!(&ended[..], [E::NodeFailed { .. }]), "{ended:?}");
    apply_checked(
        &mut run,
        &E::NodeStarted {
            path: prepare.into(),
            job_id: job,
            at: Utc::now(),
        },
    );
    assert_eq!(run.nodes[prepare].status, NodeStatus::Running);
}
