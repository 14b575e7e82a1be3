//! Schedules against the real server and agent: a datetime a few seconds
//! ahead survives a `kill -9` and restart of the server in between and
//! fires once, by the timers worker; a cron schedule's start time matches
//! an independent computation; seed 002's schedule example runs.

mod support;

use std::time::{Duration, Instant};

use chrono::{DateTime, Timelike, Utc};
use serde_json::{json, Value};

const NODES: &str = "query($id: ID!) { pipeline(id: $id) { status stages { nodes { path status scheduledStartTime } } } }";

fn node(server: &support::Server, pipeline: &str, path: &str) -> Value {
    let d = server.gql(NODES, json!({ "id": pipeline }));
    d["pipeline"]["stages"][0]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["path"] == path)
        .unwrap_or_else(|| panic!("no {path}: {d}"))
        .clone()
}

fn events(server: &support::Server, pipeline: &str) -> Vec<Value> {
    server.gql(
        "query($id: ID!) { pipelineEvents(pipelineId: $id, first: 200) { eventType actor recordedAt payload } }",
        json!({ "id": pipeline }),
    )["pipelineEvents"]
        .as_array()
        .unwrap()
        .clone()
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .unwrap_or_else(|| panic!("not a time: {v}"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_datetime_schedule_fires_once_after_a_server_restart() {
    let mut server = support::start("schedule_restart", 1).await;
    server.login();
    let project = server.project("acme", "schedules");
    let at = (Utc::now() + chrono::Duration::seconds(4))
        .with_nanosecond(0)
        .unwrap();
    let hcl = format!(
        r#"
stage "s" {{
  task "soon" {{
    schedule {{
      type    = "datetime"
      options = {{ value = "{}" }}
    }}
    action "exec_command" {{
      command = "echo fired"
    }}
  }}
}}
"#,
        at.to_rfc3339()
    );
    let id = server.run_pipeline(&project, &hcl);
    let n = node(&server, &id, "stage.s.task.soon");
    assert_eq!(n["status"], "SCHEDULED", "{n}");
    assert_eq!(time(&n["scheduledStartTime"]), at);

    // The server dies before the time and comes back; the timer is in the
    // log, not in the dead process.
    server.kill9();
    std::thread::sleep(Duration::from_secs(1));
    server.restart();
    let back = Utc::now();
    server.login(); // user tokens are signed by a per-process key

    let done = server.wait_finished(&id, Duration::from_secs(30));
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    let jobs = done["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "it ran once: {done}");
    assert!(jobs[0]["logs"]["text"].as_str().unwrap().contains("fired"));

    let evs = events(&server, &id);
    let ready: Vec<&Value> = evs
        .iter()
        .filter(|e| e["eventType"] == "NodeBecameReady")
        .collect();
    assert_eq!(ready.len(), 1, "{evs:#?}");
    assert_eq!(ready[0]["actor"], "system:timers");
    let fired = time(&ready[0]["recordedAt"]);
    assert!(fired >= at, "fired at {fired}, before its time {at}");
    let due = at.max(back);
    assert!(
        fired <= due + chrono::Duration::milliseconds(1500),
        "fired at {fired}; due at {due} (time {at}, server back at {back})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cron_schedule_starts_at_its_next_time() {
    let mut server = support::start("schedule_cron", 1).await;
    server.login();
    let project = server.project("acme", "cron");
    // Every 5 minutes, UTC; with seed 002's schedule example beside it (a
    // datetime in the past: it starts at once).
    let hcl = r#"
stage "main" {
  task "t1" {
    schedule {
      type = "datetime"
      options = {
        value = "2024-11-25T14:50:00.000Z"
      }
    }
    action "exec_command" {
      command = "echo t1"
    }
  }
  task "t2" {
    schedule {
      type = "cron"
      options = {
        expression = "*/5 * * * *"
        timezone   = "UTC"
      }
    }
  }
}
"#;
    let id = server.run_pipeline(&project, hcl);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if node(&server, &id, "stage.main.task.t1")["status"] == "SUCCEEDED" {
            break;
        }
        assert!(Instant::now() < deadline, "t1 did not run");
        std::thread::sleep(Duration::from_millis(100));
    }
    let t2 = node(&server, &id, "stage.main.task.t2");
    assert_eq!(t2["status"], "SCHEDULED", "{t2}");

    // Independently: the first minute after the moment it was scheduled
    // whose number is a multiple of 5.
    let evs = events(&server, &id);
    let scheduled = evs
        .iter()
        .find(|e| {
            e["eventType"] == "NodeScheduled"
                && e["payload"]["NodeScheduled"]["path"] == "stage.main.task.t2"
        })
        .expect("t2 was scheduled");
    let from = time(&scheduled["payload"]["NodeScheduled"]["at"]);
    let mut want = from.with_second(0).unwrap().with_nanosecond(0).unwrap();
    loop {
        want += chrono::Duration::minutes(1);
        if want.minute().is_multiple_of(5) {
            break;
        }
    }
    assert_eq!(time(&t2["scheduledStartTime"]), want, "scheduled at {from}");
    assert_eq!(
        time(&scheduled["payload"]["NodeScheduled"]["start_at"]),
        want
    );
    // And the pipeline still runs: a timer is not a person.
    let d = server.gql(NODES, json!({ "id": id }));
    assert_eq!(d["pipeline"]["status"], "RUNNING", "{d}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_can_be_changed_or_removed_before_the_node_starts() {
    let mut server = support::start("schedule_update", 1).await;
    server.login();
    let project = server.project("acme", "reschedule");
    let hcl = r#"
stage "s" {
  task "later" {
    schedule {
      type    = "datetime"
      options = { value = "2099-01-01T00:00:00Z" }
    }
    action "exec_command" {
      command = "echo ran"
    }
  }
}
"#;
    let id = server.run_pipeline(&project, hcl);
    let path = "stage.s.task.later";
    let update = |schedule: Value| {
        server.gql(
            "mutation($i: UpdatePipelineNodeScheduleInput!) { updatePipelineNodeSchedule(input: $i) { pipeline { id } problems { code field message } } }",
            json!({ "i": { "pipelineId": id, "nodePath": path, "schedule": schedule } }),
        )["updatePipelineNodeSchedule"]
            .clone()
    };
    // Checked like the template's.
    let bad = update(json!({ "type": "CRON", "expression": "61 * * * *", "timezone": "UTC" }));
    assert_eq!(bad["problems"][0]["code"], "BAD_REQUEST", "{bad}");
    assert_eq!(bad["problems"][0]["field"], "schedule", "{bad}");
    let missing = update(json!({ "type": "CRON", "expression": "0 12 * * *" }));
    assert_eq!(
        missing["problems"][0]["field"], "schedule.timezone",
        "{missing}"
    );

    let moved = update(json!({ "type": "DATETIME", "value": "2098-06-01T10:00:00Z" }));
    assert_eq!(moved["problems"], json!([]), "{moved}");
    let n = node(&server, &id, path);
    assert_eq!(n["status"], "SCHEDULED");
    assert_eq!(
        time(&n["scheduledStartTime"]),
        time(&json!("2098-06-01T10:00:00Z"))
    );

    // Removed: it runs now.
    let removed = update(Value::Null);
    assert_eq!(removed["problems"], json!([]), "{removed}");
    let done = server.wait_finished(&id, Duration::from_secs(30));
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    // Started: refused, naming its state.
    let late = update(Value::Null);
    assert_eq!(late["problems"][0]["code"], "CONFLICT", "{late}");
    assert!(
        late["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("is SUCCEEDED"),
        "{late}"
    );
}
