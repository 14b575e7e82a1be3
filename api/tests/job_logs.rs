//! What the web UI reads of a job's log and of a template it edits, against
//! the real server, agent and executor: `jobLogEvents` follows a log live
//! and ends once the log is complete (the executor reports its length),
//! resumes from an offset, and keeps a character split between writes
//! whole; `GET /jobs/{id}/log` downloads it, authorized as `/graphql`;
//! `validatePipelineTemplate` gives `createPipelineTemplate`'s problems and
//! stores nothing.

mod support;

use std::time::Duration;

use serde_json::{json, Value};

const EVENTS: &str = "subscription($j: ID!, $o: Int) { jobLogEvents(jobId: $j, offset: $o) { offset nextOffset text } }";

/// The only job of a pipeline, once it has one.
fn job_of(server: &support::Server, pipeline: &str) -> String {
    for _ in 0..300 {
        let d = server.gql(
            "query($id: ID!) { pipeline(id: $id) { jobs { id } } }",
            json!({ "id": pipeline }),
        );
        if let Some(id) = d["pipeline"]["jobs"][0]["id"].as_str() {
            return id.to_string();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("pipeline {pipeline} has no job");
}

fn job(server: &support::Server, id: &str) -> Value {
    server.gql(
        "query($id: ID!) { job(id: $id) { status logBytes logs { text nextOffset } } }",
        json!({ "id": id }),
    )["job"]
        .clone()
}

/// The events' texts joined, checking that each starts where the one
/// before ended.
fn joined(events: &[Value], from: i64) -> (String, i64) {
    let mut at = from;
    let mut text = String::new();
    for e in events {
        assert_eq!(e["offset"].as_i64(), Some(at), "{events:?}");
        text.push_str(e["text"].as_str().unwrap());
        at = e["nextOffset"].as_i64().unwrap();
    }
    (text, at)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_is_followed_live_to_its_end_resumed_and_downloaded() {
    let mut server = support::start("job_logs", 1).await;
    let token = server.login();
    let project = server.project("acme", "logs");
    // `printf` writes the two bytes of "é" in two writes, a second apart:
    // the executor sends them in two chunks.
    let hcl = "stage \"s\" {\n  task \"t\" {\n    action \"exec_command\" {\n      command = \"echo first; sleep 2; printf 'caf\\\\303'; sleep 1; printf '\\\\251\\\\n'; echo last line\"\n    }\n  }\n}\n";
    let pipeline = server.run_pipeline(&project, hcl);
    let job_id = job_of(&server, &pipeline);

    // Followed from the start, while the job runs: the stream ends by
    // itself once the log is complete.
    let events = support::subscribe(
        &server,
        EVENTS,
        json!({ "j": job_id, "o": null }),
        "jobLogEvents",
        usize::MAX,
    );
    let (text, end) = joined(&events, 0);
    assert!(events.len() >= 2, "the log came in one piece: {events:?}");
    assert!(text.contains("first\n"), "{text:?}");
    assert!(text.contains("café\n"), "the split character: {text:?}");
    assert!(text.contains("last line\n"), "{text:?}");
    assert!(
        events
            .iter()
            .all(|e| !e["text"].as_str().unwrap().contains('\u{fffd}')),
        "{events:?}"
    );
    let done = server.wait_finished(&pipeline, Duration::from_secs(60));
    assert_eq!(done["status"], "SUCCEEDED");
    let j = job(&server, &job_id);
    assert_eq!(j["logBytes"].as_i64(), Some(end), "{j}");
    assert_eq!(j["logs"]["text"].as_str(), Some(text.as_str()));

    // Resumed from an offset: the rest, then the end at once.
    let from = text.find("last line").unwrap() as i64;
    let rest = support::subscribe(
        &server,
        EVENTS,
        json!({ "j": job_id, "o": from }),
        "jobLogEvents",
        usize::MAX,
    );
    let (tail, tail_end) = joined(&rest, from);
    assert_eq!(tail, &text[from as usize..]);
    assert_eq!(tail_end, end);
    // From the end: no event, and the stream ends.
    let none = support::subscribe(
        &server,
        EVENTS,
        json!({ "j": job_id, "o": end }),
        "jobLogEvents",
        usize::MAX,
    );
    assert!(none.is_empty(), "{none:?}");

    // The raw download.
    let url = format!("{}/jobs/{}/log", server.base(), job_id);
    let mut resp = ureq::get(&url)
        .header("authorization", &format!("Bearer {token}"))
        .call()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let disposition = resp
        .headers()
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"job-"),
        "{disposition}"
    );
    assert_eq!(resp.body_mut().read_to_string().unwrap(), text);
    // Without a token: 401; a job no one has: 404, as for one the caller
    // may not see.
    let anonymous = ureq::get(&url)
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let missing = ureq::get(&format!(
        "{}/jobs/{}/log",
        server.base(),
        uuid::Uuid::new_v4()
    ))
    .config()
    .http_status_as_error(false)
    .build()
    .header("authorization", &format!("Bearer {token}"))
    .call()
    .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validating_a_template_gives_its_problems_and_stores_nothing() {
    let mut server = support::start("validate_template", 0).await;
    server.login();
    let project = server.project("acme", "edit");
    let validate = |hcl: &str| {
        server.gql(
            "query($p: ID!, $h: String!) { validatePipelineTemplate(projectId: $p, hcl: $h) { problems { code message field line column } } }",
            json!({ "p": project, "h": hcl }),
        )["validatePipelineTemplate"]["problems"]
            .clone()
    };
    let bad = "stage \"s\" {\n  task \"t\" {\n    whn = \"auto\"\n  }\n}\n";
    let problems = validate(bad);
    assert_eq!(problems.as_array().unwrap().len(), 1, "{problems}");
    assert_eq!(problems[0]["code"], "BAD_REQUEST");
    assert_eq!(problems[0]["field"], "hcl");
    assert_eq!(
        (problems[0]["line"].as_i64(), problems[0]["column"].as_i64()),
        (Some(3), Some(5)),
        "{problems}"
    );
    assert!(
        problems[0]["message"].as_str().unwrap().contains("whn"),
        "{problems}"
    );
    // A variable without a value is not a problem of the template.
    let good = "variable \"v\" {\n  type = string\n}\nstage \"s\" {\n  task \"t\" {\n    action \"exec_command\" { command = \"echo ${var.v}\" }\n  }\n}\n";
    assert_eq!(validate(good), json!([]));
    // Nothing was stored.
    let d = server.gql(
        "query($id: ID!) { node(id: $id) { ... on Project { pipelineTemplates { edges { node { id } } } } } }",
        json!({ "id": project }),
    );
    assert_eq!(d["node"]["pipelineTemplates"]["edges"], json!([]), "{d}");
    // A project that does not exist: NOT_FOUND, as a problem.
    let d = server.gql(
        "query($p: ID!) { validatePipelineTemplate(projectId: $p, hcl: \"\") { problems { code field } } }",
        json!({ "p": uuid::Uuid::new_v4().to_string() }),
    );
    assert_eq!(
        d["validatePipelineTemplate"]["problems"][0]["code"], "NOT_FOUND",
        "{d}"
    );
}
