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
    });
    run
}

/// Applies `advance` until it settles; returns the events, in order.
fn settle(run: &mut PipelineRun) -> Vec<E> {
    let mut all = Vec::new();
    loop {
        let next = run.advance(Utc::now());
        if next.is_empty() {
            return all;
        }
        for e in next {
            run.apply(&e);
            all.push(e);
        }
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
    run.apply(&e);
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
    when = "manual"
    action "exec_command" { command = "true" }
  }
  task "b" {
    action "exec_command" { command = "true" }
  }
}"#;
    let run = run_of(src);
    let u = unsupported(run.graph.as_ref().unwrap());
    assert_eq!(u.len(), 1, "{u:?}");
    assert_eq!(u[0].0, "stage.s.task.a");
    assert!(u[0].1.contains("manual"));
    assert!(unsupported(run_of(HELLO).graph.as_ref().unwrap()).is_empty());
}
