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

/// `AgentSessionErrorReported` as this version writes it.
#[test]
fn a_session_error_report_decodes_and_round_trips() {
    use phobos_core::events::AgentEvent;
    let json = r#"{"AgentSessionErrorReported":{"session_id":"35c99a04-db4c-4654-aebe-07bc37e5e964","message":"job 1: could not start the job executor","reported_at":"2026-12-06T22:00:00Z"}}"#;
    let event: AgentEvent = serde_json::from_str(json).unwrap();
    let AgentEvent::AgentSessionErrorReported { ref message, .. } = event else {
        panic!("not AgentSessionErrorReported: {event:?}");
    };
    assert_eq!(message, "job 1: could not start the job executor");
    assert_eq!(serde_json::to_string(&event).unwrap(), json);
}

// ---- Logs frozen as this version wrote them -------------------------------
//
// `fixtures/run_log.jsonl` is the log of one pipeline run (two stages, a
// success, a failure, a `when = "never"` skip, a skipped stage) and
// `fixtures/job_events.jsonl` every job event, both as the build of
// 2026-12-01 wrote them. Later builds must fold them to the same states.
// Regenerate only when a new fixture is added (never to make a failing
// decode pass): `cargo test -p phobos-core --test event_fixtures -- --ignored`.

use chrono::{DateTime, TimeZone, Utc};
use phobos_core::events::PipelineEvent;
use phobos_core::pipeline::{NodeStatus, PipelineRun, PipelineStatus, StageStatus};
use phobos_core::template::{compile, CompileOptions, TemplateKind};

const RUN_TEMPLATE: &str = r#"
stage "build" {
  task "compile" {
    action "exec_command" {
      command = "make"
    }
  }
  task "test" {
    dependencies = ["compile"]
    action "exec_command" {
      command = "make test"
    }
  }
  task "lint" {
    when = "never"
    action "exec_command" {
      command = "make lint"
    }
  }
}
stage "deploy" {
  task "ship" {
    action "exec_command" {
      command = "make ship"
    }
  }
}
"#;

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 12, minute, 0).unwrap()
}

/// The run the fixture records, made by today's state machine.
fn record_run() -> Vec<PipelineEvent> {
    let opts = CompileOptions::new(TemplateKind::Pipeline, at(0));
    let graph = compile(RUN_TEMPLATE, &opts).unwrap().graph;
    let mut run = PipelineRun::default();
    let mut log = vec![PipelineEvent::PipelineCreated {
        pipeline_id: "7a1d9c52-0000-4000-8000-000000000001".into(),
        project_id: "proj".into(),
        template_id: "tmpl".into(),
        graph: Box::new(graph),
        created_at: at(0),
        origin: Default::default(),
    }];
    run.apply(&log[0]);
    let settle = |run: &mut PipelineRun, log: &mut Vec<PipelineEvent>, now| loop {
        let next = run.advance(now);
        if next.is_empty() {
            return;
        }
        for e in next {
            run.apply(&e);
            log.push(e);
        }
    };
    settle(&mut run, &mut log, at(0));
    let end = |run: &mut PipelineRun, log: &mut Vec<PipelineEvent>, path: &str, ok, m| {
        let job_id = run.node(path).unwrap().job_id.clone().unwrap();
        let started = PipelineEvent::NodeStarted {
            path: path.into(),
            job_id,
            at: at(m),
        };
        run.apply(&started);
        log.push(started);
        let outputs = [(
            "exec_command".to_string(),
            serde_json::json!({"exit_code": if ok { 0 } else { 2 }}),
        )]
        .into_iter()
        .collect();
        let e = if ok {
            PipelineEvent::NodeSucceeded {
                path: path.into(),
                outputs,
                at: at(m + 1),
            }
        } else {
            PipelineEvent::NodeFailed {
                path: path.into(),
                reason: "exit status 2".into(),
                outputs,
                at: at(m + 1),
            }
        };
        run.apply(&e);
        log.push(e);
    };
    end(&mut run, &mut log, "stage.build.task.compile", true, 1);
    settle(&mut run, &mut log, at(2));
    end(&mut run, &mut log, "stage.build.task.test", false, 3);
    settle(&mut run, &mut log, at(4));
    log
}

fn read_lines(name: &str) -> Vec<String> {
    std::fs::read_to_string(fixture(name))
        .unwrap_or_else(|e| panic!("{name}: {e} (regenerate with --ignored)"))
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_stored_run_log_folds_to_the_same_state() {
    let mut run = PipelineRun::default();
    for (i, line) in read_lines("run_log.jsonl").iter().enumerate() {
        let e: PipelineEvent = serde_json::from_str(line)
            .unwrap_or_else(|err| panic!("run_log.jsonl line {}: {err}", i + 1));
        run.apply(&e);
    }
    assert_eq!(run.status, PipelineStatus::Failed);
    let stages: Vec<_> = run
        .stages
        .iter()
        .map(|s| (s.name.as_str(), s.status))
        .collect();
    assert_eq!(
        stages,
        [
            ("build", StageStatus::Failed),
            ("deploy", StageStatus::Skipped)
        ]
    );
    let status = |p: &str| run.node(p).unwrap().status;
    assert_eq!(status("stage.build.task.compile"), NodeStatus::Succeeded);
    assert_eq!(status("stage.build.task.test"), NodeStatus::Failed);
    assert_eq!(status("stage.build.task.lint"), NodeStatus::Skipped);
    assert_eq!(status("stage.deploy.task.ship"), NodeStatus::Skipped);
    // Written before skips had causes: read from the reason, so a retry of
    // `test` would undo it.
    assert_eq!(
        run.node("stage.deploy.task.ship").unwrap().skip_cause,
        Some(phobos_core::events::SkipCause::StageFailed {
            stage: "build".into()
        })
    );
    assert_eq!(
        run.node("stage.build.task.compile").unwrap().outputs["exec_command"]["exit_code"],
        0
    );
    // The graph came back whole: advancing the folded run adds nothing.
    assert!(run.advance(at(9)).is_empty());
}

#[test]
fn a_graph_stored_before_it_had_a_shape_is_shape_one() {
    let line = &read_lines("run_log.jsonl")[0];
    let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
    v["PipelineCreated"]["graph"]
        .as_object_mut()
        .unwrap()
        .remove("shape")
        .expect("this build writes the shape");
    let PipelineEvent::PipelineCreated { graph, .. } = serde_json::from_value(v).unwrap() else {
        panic!("not PipelineCreated");
    };
    assert_eq!(graph.shape, 1);
}

#[test]
fn stored_job_events_decode() {
    let names: Vec<String> = read_lines("job_events.jsonl")
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let e: JobEvent = serde_json::from_str(line)
                .unwrap_or_else(|err| panic!("job_events.jsonl line {}: {err}", i + 1));
            use phobos_core::events::NamedEvent;
            e.name().to_string()
        })
        .collect();
    assert_eq!(
        names,
        [
            "JobQueued",
            "JobClaimed",
            "JobStarted",
            "ActionOutputsRecorded",
            "JobSucceeded",
            "JobFailed"
        ]
    );
}

#[test]
#[ignore = "writes the fixtures; run by hand when adding one"]
fn regenerate_fixtures() {
    use phobos_core::events::{JobAction, JobSpec};
    std::fs::create_dir_all(fixture("")).unwrap();
    let lines: Vec<String> = record_run()
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    std::fs::write(fixture("run_log.jsonl"), lines.join("\n") + "\n").unwrap();
    let outputs: indexmap::IndexMap<String, serde_json::Value> =
        [("build".to_string(), serde_json::json!({"exit_code": 0}))]
            .into_iter()
            .collect();
    let jobs = [
        JobEvent::JobQueued {
            pipeline_id: "p".into(),
            project_id: "proj".into(),
            node_path: "stage.build.task.compile".into(),
            spec: JobSpec {
                tags: vec!["linux".into()],
                actions: vec![JobAction {
                    name: "build".into(),
                    plugin: "exec".into(),
                    action: "command".into(),
                    inputs: serde_json::json!({"command": "make"}),
                }],
            },
            queued_at: at(0),
        },
        JobEvent::JobClaimed {
            agent_id: "a".into(),
            session_id: "s".into(),
            claimed_at: at(1),
            token_sha256: Some("ab".repeat(32)),
        },
        JobEvent::JobStarted {
            started_at: at(2),
            deadline: None,
        },
        JobEvent::ActionOutputsRecorded {
            action: "build".into(),
            outputs: serde_json::json!({"exit_code": 0}),
        },
        JobEvent::JobSucceeded {
            outputs: outputs.clone(),
            finished_at: at(3),
        },
        JobEvent::JobFailed {
            message: "exit status 2".into(),
            outputs,
            finished_at: at(4),
        },
    ];
    let lines: Vec<String> = jobs
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    std::fs::write(fixture("job_events.jsonl"), lines.join("\n") + "\n").unwrap();
}

// ---- The runtime's events, frozen as the build of 2026-12-01 wrote them ----
//
// `fixtures/runtime_log.jsonl`: a run that waits for a manual start, is
// scheduled (and rescheduled), has a gate attempt fail and the next succeed,
// and has a failed task retried. Regenerate only to add a fixture:
// `cargo test -p phobos-core --test event_fixtures regenerate_runtime -- --ignored`.

const RUNTIME_TEMPLATE: &str = r#"
stage "s" {
  task "approve" {
    when = "manual"
  }
  task "later" {
    schedule {
      type    = "datetime"
      options = { value = "2026-12-01T13:00:00Z" }
    }
    action "exec_command" {
      command = "true"
    }
  }
  task "health" {
    interval          = "1m"
    attempts          = 2
    success_condition = "action_outputs.stage.s.task.health.action.exec_command.exit_code == 0"
    action "exec_command" {
      command = "true"
    }
  }
  task "flaky" {
    dependencies = ["approve"]
    action "exec_command" {
      command = "true"
    }
  }
}
stage "final" {
  task "sign_off" {
    when = "manual"
  }
}
"#;

fn record_runtime() -> Vec<PipelineEvent> {
    use phobos_core::template::model::Schedule;
    let opts = CompileOptions::new(TemplateKind::Pipeline, at(0));
    let graph = compile(RUNTIME_TEMPLATE, &opts).unwrap().graph;
    let mut run = PipelineRun::default();
    let mut log = Vec::new();
    let push = |run: &mut PipelineRun, log: &mut Vec<PipelineEvent>, es: Vec<PipelineEvent>| {
        for e in es {
            run.apply(&e);
            log.push(e);
        }
    };
    let settle = |run: &mut PipelineRun, log: &mut Vec<PipelineEvent>, now| loop {
        let next = run.advance(now);
        if next.is_empty() {
            return;
        }
        for e in next {
            run.apply(&e);
            log.push(e);
        }
    };
    let created = PipelineEvent::PipelineCreated {
        pipeline_id: "7a1d9c52-0000-4000-8000-000000000002".into(),
        project_id: "proj".into(),
        template_id: "tmpl".into(),
        graph: Box::new(graph),
        created_at: at(0),
        origin: Default::default(),
    };
    push(&mut run, &mut log, vec![created]);
    settle(&mut run, &mut log, at(0));
    let exit = |code: i64| -> phobos_core::events::NodeOutputs {
        [(
            "exec_command".to_string(),
            serde_json::json!({ "exit_code": code }),
        )]
        .into_iter()
        .collect()
    };
    let job = |run: &mut PipelineRun, log: &mut Vec<PipelineEvent>, path: &str, code, m| {
        let job_id = run.node(path).unwrap().job_id.clone().unwrap();
        let started = PipelineEvent::NodeStarted {
            path: path.into(),
            job_id: job_id.clone(),
            at: at(m),
        };
        run.apply(&started);
        log.push(started);
        let ended = run
            .job_ended(path, &job_id, code == 0, "exit status 1", exit(code), at(m))
            .unwrap();
        for e in ended {
            run.apply(&e);
            log.push(e);
        }
    };
    // The gate's first attempt fails; the schedule moves earlier.
    job(&mut run, &mut log, "stage.s.task.health", 1, 1);
    settle(&mut run, &mut log, at(1));
    let sooner = Schedule::Datetime {
        value: "2026-12-01T12:05:00Z".into(),
    };
    let es = run
        .update_schedule("stage.s.task.later", Some(sooner), at(1))
        .unwrap();
    push(&mut run, &mut log, es);
    // Its next attempt, and the manual start.
    settle(&mut run, &mut log, at(2));
    job(&mut run, &mut log, "stage.s.task.health", 0, 2);
    let es = run.start_node("stage.s.task.approve", at(3)).unwrap();
    push(&mut run, &mut log, es);
    settle(&mut run, &mut log, at(3));
    settle(&mut run, &mut log, at(5));
    job(&mut run, &mut log, "stage.s.task.later", 0, 5);
    job(&mut run, &mut log, "stage.s.task.flaky", 1, 6);
    settle(&mut run, &mut log, at(6));
    // flaky failed, the pipeline failed; retried, it succeeds.
    let es = run.retry_node("stage.s.task.flaky", at(7)).unwrap();
    push(&mut run, &mut log, es);
    settle(&mut run, &mut log, at(7));
    job(&mut run, &mut log, "stage.s.task.flaky", 0, 8);
    settle(&mut run, &mut log, at(8));
    // The last stage waits for a person.
    let es = run.start_node("stage.final.task.sign_off", at(9)).unwrap();
    push(&mut run, &mut log, es);
    settle(&mut run, &mut log, at(9));
    log
}

#[test]
fn a_stored_runtime_log_folds_to_the_same_state() {
    use phobos_core::events::NamedEvent;
    let mut run = PipelineRun::default();
    let mut names = std::collections::BTreeSet::new();
    for (i, line) in read_lines("runtime_log.jsonl").iter().enumerate() {
        let e: PipelineEvent = serde_json::from_str(line)
            .unwrap_or_else(|err| panic!("runtime_log.jsonl line {}: {err}", i + 1));
        names.insert(e.name());
        run.apply(&e);
    }
    for name in [
        "NodeWaitingForStart",
        "StageWaiting",
        "PipelineWaiting",
        "StageResumed",
        "PipelineResumed",
        "NodeScheduled",
        "NodeScheduleUpdated",
        "NodeGateAttemptFailed",
        "NodeRetried",
        "StageReopened",
        "PipelineReopened",
    ] {
        assert!(names.contains(name), "the fixture has no {name}: {names:?}");
    }
    assert_eq!(run.status, PipelineStatus::Succeeded);
    let node = |p: &str| run.node(p).unwrap();
    assert_eq!(node("stage.s.task.health").attempt, 2);
    assert_eq!(node("stage.s.task.flaky").attempt, 2);
    assert_eq!(node("stage.s.task.later").scheduled_start, Some(at(5)));
    assert!(run.advance(at(30)).is_empty());
}

#[test]
#[ignore = "writes the runtime fixture; run by hand when adding one"]
fn regenerate_runtime_fixture() {
    let lines: Vec<String> = record_runtime()
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    std::fs::write(fixture("runtime_log.jsonl"), lines.join("\n") + "\n").unwrap();
}

// ---- Cancellation's events, frozen as the build of 2026-12-01 (third
// session) wrote them ----
//
// `fixtures/cancel_log.jsonl`: a running task canceled gracefully (its job
// confirms), retried, then the pipeline canceled while the retry runs, and
// forced. `fixtures/job_cancel_events.jsonl`: a job asked to cancel that
// confirms, and one canceled with force. Regenerate only to add a fixture:
// `cargo test -p phobos-core --test event_fixtures regenerate_cancel -- --ignored`.

const CANCEL_TEMPLATE: &str = r#"
stage "s" {
  task "long" {
    action "exec_command" {
      command = "sleep 60"
    }
  }
  task "next" {
    dependencies = ["long"]
    action "exec_command" {
      command = "true"
    }
  }
}
stage "later" {
  task "t" {
    action "exec_command" {
      command = "true"
    }
  }
}
"#;

fn record_cancel() -> Vec<PipelineEvent> {
    let opts = CompileOptions::new(TemplateKind::Pipeline, at(0));
    let graph = compile(CANCEL_TEMPLATE, &opts).unwrap().graph;
    let mut run = PipelineRun::default();
    let mut log = Vec::new();
    let mut push = |run: &mut PipelineRun, es: Vec<PipelineEvent>, now| {
        let mut es = es;
        loop {
            for e in es {
                run.apply(&e);
                log.push(e);
            }
            es = run.advance(now);
            if es.is_empty() {
                return;
            }
        }
    };
    let created = PipelineEvent::PipelineCreated {
        pipeline_id: "7a1d9c52-0000-4000-8000-000000000003".into(),
        project_id: "proj".into(),
        template_id: "tmpl".into(),
        graph: Box::new(graph),
        created_at: at(0),
        origin: Default::default(),
    };
    push(&mut run, vec![created], at(0));
    let long = "stage.s.task.long";
    let started = |run: &PipelineRun, m| PipelineEvent::NodeStarted {
        path: long.into(),
        job_id: run.node(long).unwrap().job_id.clone().unwrap(),
        at: at(m),
    };
    let e = started(&run, 1);
    push(&mut run, vec![e], at(1));
    let es = run.cancel_node(long, false, 30, at(2)).unwrap();
    push(&mut run, es, at(2));
    let job = run.node(long).unwrap().job_id.clone().unwrap();
    let es = run
        .job_canceled(long, &job, "SIGTERM", Default::default(), at(3))
        .unwrap();
    push(&mut run, es, at(3));
    let es = run.retry_node(long, at(4)).unwrap();
    push(&mut run, es, at(4));
    let e = started(&run, 5);
    push(&mut run, vec![e], at(5));
    let es = run.cancel_pipeline(false, 30, at(6)).unwrap();
    push(&mut run, es, at(6));
    let es = run.cancel_pipeline(true, 30, at(7)).unwrap();
    push(&mut run, es, at(7));
    log
}

#[test]
fn a_stored_cancel_log_folds_to_the_same_state() {
    use phobos_core::events::NamedEvent;
    let mut run = PipelineRun::default();
    let mut names = std::collections::BTreeSet::new();
    for (i, line) in read_lines("cancel_log.jsonl").iter().enumerate() {
        let e: PipelineEvent = serde_json::from_str(line)
            .unwrap_or_else(|err| panic!("cancel_log.jsonl line {}: {err}", i + 1));
        names.insert(e.name());
        run.apply(&e);
    }
    for name in [
        "NodeCancelRequested",
        "NodeCanceled",
        "StageCanceled",
        "PipelineCanceled",
        "PipelineCancelRequested",
        "NodeRetried",
    ] {
        assert!(names.contains(name), "the fixture has no {name}: {names:?}");
    }
    assert_eq!(run.status, PipelineStatus::Canceled);
    let long = run.node("stage.s.task.long").unwrap();
    assert_eq!(long.attempt, 2);
    assert_eq!(long.status, phobos_core::pipeline::NodeStatus::Canceled);
    assert!(run.cancel.is_some_and(|c| c.force));
    assert!(run.advance(at(30)).is_empty());
}

#[test]
fn stored_job_cancel_events_decode() {
    use phobos_core::events::NamedEvent;
    let names: Vec<&str> = read_lines("job_cancel_events.jsonl")
        .iter()
        .map(|line| serde_json::from_str::<JobEvent>(line).unwrap().name())
        .collect();
    assert_eq!(names, ["JobCancelRequested", "JobCanceled", "JobCanceled"]);
}

#[test]
#[ignore = "writes the cancel fixtures; run by hand when adding one"]
fn regenerate_cancel_fixtures() {
    let lines: Vec<String> = record_cancel()
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    std::fs::write(fixture("cancel_log.jsonl"), lines.join("\n") + "\n").unwrap();
    let jobs = [
        JobEvent::JobCancelRequested {
            reason: "the pipeline or node was canceled".into(),
            grace_seconds: 30,
            confirm_by: at(1),
            requested_at: at(0),
        },
        JobEvent::JobCanceled {
            message: "action a was canceled: SIGTERM sent".into(),
            outputs: [("a".to_string(), serde_json::json!({ "exit_code": -1 }))]
                .into_iter()
                .collect(),
            forced: false,
            finished_at: at(1),
        },
        JobEvent::JobCanceled {
            message: "the pipeline or node was canceled with force".into(),
            outputs: Default::default(),
            forced: true,
            finished_at: at(2),
        },
    ];
    let lines: Vec<String> = jobs
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    std::fs::write(fixture("job_cancel_events.jsonl"), lines.join("\n") + "\n").unwrap();
}

// ---- Nested and deployment pipelines' events, frozen as the build of
// 2026-12-01 (third session) wrote them ----
//
// `fixtures/nested_log.jsonl`: a parent whose nested node starts a child
// (its `NodeBecameReady` with the child's spec), sees it start and succeed,
// then a deployment node whose child fails; then the child's own
// `PipelineCreated` with its origin and an `EnvironmentCreated`.
// Regenerate only to add a fixture:
// `cargo test -p phobos-core --test event_fixtures regenerate_nested -- --ignored`.

const NESTED_TEMPLATE: &str = r#"
stage "s" {
  pipeline "child" {
    template_id = "0d6c1a52-6c55-4b0e-9e43-6f1e7b5a8c11"
    variables   = { greeting = "hi" }
  }
  pipeline "deploy" {
    pipeline_type = "deployment"
    environment   = "prod"
    template_id   = "0d6c1a52-6c55-4b0e-9e43-6f1e7b5a8c11"
    dependencies  = ["child"]
  }
}
"#;

fn record_nested() -> (
    Vec<PipelineEvent>,
    PipelineEvent,
    phobos_core::events::EnvironmentEvent,
) {
    use phobos_core::pipeline::ChildOutcome;
    let opts = CompileOptions::new(TemplateKind::Pipeline, at(0));
    let graph = compile(NESTED_TEMPLATE, &opts).unwrap().graph;
    let mut run = PipelineRun::default();
    let mut log = Vec::new();
    let mut push = |run: &mut PipelineRun, es: Vec<PipelineEvent>, now| {
        let mut es = es;
        loop {
            for e in es {
                run.apply(&e);
                log.push(e);
            }
            es = run.advance(now);
            if es.is_empty() {
                return;
            }
        }
    };
    let created = PipelineEvent::PipelineCreated {
        pipeline_id: "7a1d9c52-0000-4000-8000-000000000004".into(),
        project_id: "proj".into(),
        template_id: "tmpl".into(),
        graph: Box::new(graph.clone()),
        created_at: at(0),
        origin: Default::default(),
    };
    push(&mut run, vec![created], at(0));
    for (path, outcome, m) in [
        ("stage.s.pipeline.child", ChildOutcome::Succeeded, 1),
        ("stage.s.pipeline.deploy", ChildOutcome::Failed, 3),
    ] {
        let child = run.node(path).unwrap().child_pipeline_id.clone().unwrap();
        let es = run.child_started(path, &child, at(m)).unwrap();
        push(&mut run, es, at(m));
        let es = run
            .child_ended(path, &child, outcome, "stage s failed", at(m + 1))
            .unwrap();
        push(&mut run, es, at(m + 1));
    }
    let child = PipelineEvent::PipelineCreated {
        pipeline_id: run
            .node("stage.s.pipeline.deploy")
            .unwrap()
            .child_pipeline_id
            .clone()
            .unwrap(),
        project_id: "proj".into(),
        template_id: "0d6c1a52-6c55-4b0e-9e43-6f1e7b5a8c11".into(),
        graph: Box::new(graph),
        created_at: at(3),
        origin: phobos_core::events::PipelineOrigin {
            pipeline_type: phobos_core::events::PipelineType::Deployment,
            parent: Some(phobos_core::events::ParentRef {
                pipeline_id: "7a1d9c52-0000-4000-8000-000000000004".into(),
                node_path: "stage.s.pipeline.deploy".into(),
            }),
            environment: Some("prod".into()),
            ancestry: vec!["tmpl".into()],
            release_id: None,
        },
    };
    let env = phobos_core::events::EnvironmentEvent::EnvironmentCreated {
        project_id: "proj".into(),
        name: "prod".into(),
        description: String::new(),
        created_at: at(3),
    };
    (log, child, env)
}

#[test]
fn a_stored_nested_log_folds_to_the_same_state() {
    use phobos_core::events::NamedEvent;
    let lines = read_lines("nested_log.jsonl");
    let (parent, rest) = lines.split_at(lines.len() - 2);
    let mut run = PipelineRun::default();
    let mut names = std::collections::BTreeSet::new();
    for (i, line) in parent.iter().enumerate() {
        let e: PipelineEvent = serde_json::from_str(line)
            .unwrap_or_else(|err| panic!("nested_log.jsonl line {}: {err}", i + 1));
        names.insert(e.name());
        run.apply(&e);
    }
    assert!(names.contains("NodeChildPipelineStarted"), "{names:?}");
    assert_eq!(run.status, PipelineStatus::Failed);
    let child = run.node("stage.s.pipeline.child").unwrap();
    assert_eq!(child.status, phobos_core::pipeline::NodeStatus::Succeeded);
    assert!(child.child_pipeline_id.is_some());
    let mut child_run = PipelineRun::default();
    child_run.apply(&serde_json::from_str(&rest[0]).unwrap());
    assert_eq!(
        child_run.origin.pipeline_type,
        phobos_core::events::PipelineType::Deployment
    );
    assert_eq!(child_run.origin.environment.as_deref(), Some("prod"));
    assert_eq!(child_run.origin.ancestry, ["tmpl"]);
    let env: phobos_core::events::EnvironmentEvent = serde_json::from_str(&rest[1]).unwrap();
    assert_eq!(env.name(), "EnvironmentCreated");
    assert!(run.advance(at(30)).is_empty());
}

#[test]
#[ignore = "writes the nested fixture; run by hand when adding one"]
fn regenerate_nested_fixture() {
    let (log, child, env) = record_nested();
    let mut lines: Vec<String> = log
        .iter()
        .chain(std::iter::once(&child))
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    lines.push(serde_json::to_string(&env).unwrap());
    std::fs::write(fixture("nested_log.jsonl"), lines.join("\n") + "\n").unwrap();
}

/// `fixtures/pending_event.jsonl`: `NodeJobQueued` as the build of
/// 2026-12-01 (third session) wrote it. Regenerate only to add a fixture:
/// `cargo test -p phobos-core --test event_fixtures regenerate_pending -- --ignored`.
#[test]
fn a_stored_node_job_queued_decodes() {
    let lines = read_lines("pending_event.jsonl");
    let e: PipelineEvent = serde_json::from_str(&lines[0]).unwrap();
    assert!(
        matches!(&e, PipelineEvent::NodeJobQueued { path, job_id, .. }
            if path == "stage.s.task.t" && job_id == "0d6c1a52-6c55-4b0e-9e43-6f1e7b5a8c11"),
        "{e:?}"
    );
}

#[test]
#[ignore = "writes the pending fixture; run by hand when adding one"]
fn regenerate_pending_fixture() {
    let e = PipelineEvent::NodeJobQueued {
        path: "stage.s.task.t".into(),
        job_id: "0d6c1a52-6c55-4b0e-9e43-6f1e7b5a8c11".into(),
        at: at(1),
    };
    std::fs::write(
        fixture("pending_event.jsonl"),
        serde_json::to_string(&e).unwrap() + "\n",
    )
    .unwrap();
}

// ---- Identity events (issue 9) ---------------------------------------------
//
// `fixtures/identity_events.jsonl`: users, teams, memberships, approval rules,
// node approvals, signing keys (with and without `provider`), service
// accounts, resource limits and agents' service accounts as the build
// of 2026-12-01 writes them (written by hand from its output). Each line
// decodes, names itself as stored, and encodes back to the same JSON; an
// organization's and a project's membership events share one shape.

#[test]
fn stored_identity_events_decode() {
    use phobos_core::events::{
        ApprovalRuleEvent, NamedEvent, OrganizationEvent, PipelineEvent, ProjectEvent, TeamEvent,
        UserEvent,
    };
    fn check<E: serde::de::DeserializeOwned + serde::Serialize + NamedEvent>(
        v: &serde_json::Value,
    ) {
        let e: E = serde_json::from_value(v.clone()).unwrap_or_else(|err| panic!("{v}: {err}"));
        let name = v.as_object().unwrap().keys().next().unwrap();
        assert_eq!(e.name(), name);
        assert_eq!(&serde_json::to_value(&e).unwrap(), v);
    }
    let lines = read_lines("identity_events.jsonl");
    assert_eq!(lines.len(), 31);
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let event = &v["event"];
        match v["aggregate"].as_str().unwrap() {
            "Organization" => check::<OrganizationEvent>(event),
            "Project" => check::<ProjectEvent>(event),
            "User" => check::<UserEvent>(event),
            "Team" => check::<TeamEvent>(event),
            "ApprovalRule" => check::<ApprovalRuleEvent>(event),
            "SigningKey" => check::<phobos_core::events::SigningKeyEvent>(event),
            "ServiceAccount" => check::<phobos_core::events::ServiceAccountEvent>(event),
            "ResourceLimit" => check::<phobos_core::events::ResourceLimitEvent>(event),
            "Pipeline" => check::<PipelineEvent>(event),
            "Agent" => check::<phobos_core::events::AgentEvent>(event),
            other => panic!("unknown aggregate {other}"),
        }
    }
}

// `fixtures/release_events.jsonl`: a lifecycle, a new version of it, a
// release (with its compiled lifecycle graph) and its update, as the build
// of 2026-12-01 (stop 18) wrote them (taken from a test's log). Each line
// decodes, names itself as stored, and encodes back to the same JSON.
#[test]
fn stored_release_events_decode() {
    use phobos_core::events::{NamedEvent, ReleaseEvent, ReleaseLifecycleEvent};
    fn check<E: serde::de::DeserializeOwned + serde::Serialize + NamedEvent>(
        v: &serde_json::Value,
    ) {
        let e: E = serde_json::from_value(v.clone()).unwrap_or_else(|err| panic!("{v}: {err}"));
        let name = v.as_object().unwrap().keys().next().unwrap();
        assert_eq!(e.name(), name);
        assert_eq!(&serde_json::to_value(&e).unwrap(), v);
    }
    let lines = read_lines("release_events.jsonl");
    assert_eq!(lines.len(), 4);
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        match v["aggregate"].as_str().unwrap() {
            "ReleaseLifecycle" => check::<ReleaseLifecycleEvent>(&v["event"]),
            "Release" => check::<ReleaseEvent>(&v["event"]),
            other => panic!("unknown aggregate {other}"),
        }
    }
}

// `fixtures/protection_events.jsonl`: environment protection rules (set,
// then cleared) and a release update naming participants, as the build of
// 2026-12-02 writes them. Each decodes, names itself, and encodes back to
// the same JSON; a `ReleaseUpdated` of before participants existed (in
// `release_events.jsonl`) reads as naming none.
#[test]
fn stored_protection_and_participant_events_decode() {
    use phobos_core::events::{EnvironmentEvent, NamedEvent, ReleaseEvent};
    fn check<E: serde::de::DeserializeOwned + serde::Serialize + NamedEvent>(
        v: &serde_json::Value,
    ) -> E {
        let e: E = serde_json::from_value(v.clone()).unwrap_or_else(|err| panic!("{v}: {err}"));
        let name = v.as_object().unwrap().keys().next().unwrap();
        assert_eq!(e.name(), name);
        assert_eq!(&serde_json::to_value(&e).unwrap(), v);
        e
    }
    let lines = read_lines("protection_events.jsonl");
    assert_eq!(lines.len(), 3);
    let v: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    match check::<EnvironmentEvent>(&v[0]["event"]) {
        EnvironmentEvent::EnvironmentProtectionRulesSet {
            principals, roles, ..
        } => {
            assert_eq!(principals.len(), 2);
            assert_eq!(principals[1].kind, phobos_core::access::MemberKind::Team);
            assert_eq!(roles, vec![phobos_core::access::Role::ReleaseManager]);
        }
        other => panic!("{other:?}"),
    }
    check::<EnvironmentEvent>(&v[1]["event"]);
    match check::<ReleaseEvent>(&v[2]["event"]) {
        ReleaseEvent::ReleaseUpdated { participants, .. } => {
            assert_eq!(participants[0].name, "rita")
        }
        other => panic!("{other:?}"),
    }
    let old = read_lines("release_events.jsonl")
        .into_iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(&l).unwrap())
        .find(|v| v["event"].get("ReleaseUpdated").is_some())
        .expect("an old ReleaseUpdated");
    match serde_json::from_value::<ReleaseEvent>(old["event"].clone()).unwrap() {
        ReleaseEvent::ReleaseUpdated { participants, .. } => assert!(participants.is_empty()),
        other => panic!("{other:?}"),
    }
}
