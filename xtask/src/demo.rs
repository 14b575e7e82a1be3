//! `cargo xtask demo`: logs in, creates an organization and a project,
//! uploads `examples/hello.hcl`, runs a pipeline, follows it live over the
//! GraphQL subscription until it finishes, prints each task's log and the
//! pipeline's event history. Uses the server `cargo xtask up` runs, or
//! starts one (and stops it after).

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use tungstenite::Message;

use crate::up;

struct Client {
    url: String,
    http_port: u16,
    token: Option<String>,
}

impl Client {
    fn gql(&self, query: &str, variables: Value) -> Result<Value> {
        let mut req = ureq::post(&self.url).header("content-type", "application/json");
        if let Some(t) = &self.token {
            req = req.header("authorization", &format!("Bearer {t}"));
        }
        let mut resp = req
            .send_json(json!({ "query": query, "variables": variables }))
            .with_context(|| format!("POST {}", self.url))?;
        let v: Value = resp.body_mut().read_json()?;
        if let Some(errors) = v.get("errors") {
            bail!("GraphQL errors: {errors}");
        }
        Ok(v["data"].clone())
    }
}

/// Fails on problems other than "already exists" (a second demo run reuses
/// the organization and project).
fn check(payload: &Value, what: &str) -> Result<()> {
    for p in payload["problems"].as_array().into_iter().flatten() {
        if p["code"] != "CONFLICT" {
            bail!("{what}: {}", p["message"]);
        }
    }
    Ok(())
}

pub fn run(root: &Path, _args: &[String]) -> Result<()> {
    let port = up::http_port()?;
    let mut own = None;
    let (email, password) = if up::server_answers(port) {
        println!("==> using the server on http://localhost:{port}");
        up::admin_login(&root.join(".phobos"))?
    } else {
        println!("==> no server on port {port}: starting one (as `cargo xtask up` would)");
        let mut opts = up::Options::new(root);
        opts.echo_log = false;
        let running = up::start(&opts)?;
        let login = (running.admin_email.clone(), running.admin_password.clone());
        own = Some(running);
        login
    };
    let result = demo(port, &email, &password, root);
    if let Some(r) = own {
        println!("==> stopping the server this demo started");
        r.stop()?;
    }
    result
}

fn demo(port: u16, email: &str, password: &str, root: &Path) -> Result<()> {
    let mut c = Client {
        url: format!("http://127.0.0.1:{port}/graphql"),
        http_port: port,
        token: None,
    };
    let d = c.gql(
        "mutation($i: LoginInput!) { login(input: $i) { accessToken problems { message } } }",
        json!({ "i": { "email": email, "password": password } }),
    )?;
    c.token = Some(
        d["login"]["accessToken"]
            .as_str()
            .ok_or_else(|| anyhow!("login failed: {}", d["login"]["problems"]))?
            .to_string(),
    );
    println!("==> logged in as {email}");

    let d = c.gql("mutation { createOrganization(input: {name: \"demo\", description: \"cargo xtask demo\"}) { problems { message code } } }", json!({}))?;
    check(&d["createOrganization"], "create organization")?;
    let d = c.gql("mutation { createProject(input: {organizationName: \"demo\", name: \"hello\"}) { problems { message code } } }", json!({}))?;
    check(&d["createProject"], "create project")?;
    let project = c.gql(
        "{ node(id: \"prn:project:demo/hello\") { id prn } }",
        json!({}),
    )?;
    let project_id = project["node"]["id"]
        .as_str()
        .ok_or_else(|| anyhow!("project demo/hello not found"))?
        .to_string();
    println!(
        "==> organization demo, project {}",
        project["node"]["prn"].as_str().unwrap_or("")
    );

    let hcl = std::fs::read_to_string(root.join("examples/hello.hcl"))
        .context("reading examples/hello.hcl")?;
    let d = c.gql(
        "mutation($i: CreatePipelineTemplateInput!) { createPipelineTemplate(input: $i) { pipelineTemplate { id prn } problems { message line column } } }",
        json!({ "i": { "projectId": project_id, "name": "hello", "hcl": hcl } }),
    )?;
    let t = &d["createPipelineTemplate"];
    if let Some(p) = t["problems"].as_array().and_then(|p| p.first()) {
        bail!(
            "examples/hello.hcl:{}:{}: {}",
            p["line"],
            p["column"],
            p["message"]
        );
    }
    println!(
        "==> uploaded examples/hello.hcl as {}",
        t["pipelineTemplate"]["prn"].as_str().unwrap_or("")
    );
    let d = c.gql(
        "mutation($i: CreatePipelineInput!) { createPipeline(input: $i) { pipeline { id prn } problems { message } } }",
        json!({ "i": { "pipelineTemplateId": t["pipelineTemplate"]["id"] } }),
    )?;
    let p = &d["createPipeline"];
    if let Some(problem) = p["problems"].as_array().and_then(|p| p.first()) {
        bail!("create pipeline: {}", problem["message"]);
    }
    let pipeline_id = p["pipeline"]["id"].as_str().unwrap_or_default().to_string();
    println!(
        "==> pipeline {} created; following it live\n",
        p["pipeline"]["prn"].as_str().unwrap_or("")
    );

    let outcome = follow(&c, &pipeline_id)?;

    let d = c.gql(
        "query($id: ID!) { pipeline(id: $id) { status jobs { nodePath status logs { text } } } }",
        json!({ "id": pipeline_id }),
    )?;
    println!("\n==> task logs");
    for j in d["pipeline"]["jobs"].as_array().into_iter().flatten() {
        println!(
            "--- {} ({})",
            j["nodePath"].as_str().unwrap_or(""),
            j["status"].as_str().unwrap_or("")
        );
        print!("{}", j["logs"]["text"].as_str().unwrap_or(""));
    }
    let d = c.gql(
        "query($id: ID!) { pipelineEvents(pipelineId: $id) { recordedAt actor eventType aggregateType payload } }",
        json!({ "id": pipeline_id }),
    )?;
    println!("\n==> event history (when, who, what)");
    for e in d["pipelineEvents"].as_array().into_iter().flatten() {
        let when = e["recordedAt"].as_str().unwrap_or("");
        println!(
            "{}  {:<48} {:<22} {}",
            when.get(11..23).unwrap_or(when),
            e["actor"].as_str().unwrap_or(""),
            e["eventType"].as_str().unwrap_or(""),
            subject(e)
        );
    }
    println!("\n==> pipeline {outcome}");
    if outcome != "SUCCEEDED" {
        bail!("the demo pipeline did not succeed");
    }
    Ok(())
}

/// What an event is about, for one line of history.
fn subject(e: &Value) -> String {
    let inner = e["payload"]
        .as_object()
        .and_then(|o| o.values().next())
        .cloned()
        .unwrap_or(Value::Null);
    for k in ["path", "stage", "node_path", "action", "reason", "message"] {
        if let Some(s) = inner.get(k).and_then(|v| v.as_str()) {
            return s.to_string();
        }
    }
    String::new()
}

/// Prints the pipeline's events as they happen; returns the final status.
fn follow(c: &Client, pipeline_id: &str) -> Result<String> {
    let url = format!("ws://127.0.0.1:{}/graphql", c.http_port);
    let mut req = tungstenite::client::IntoClientRequest::into_client_request(url.as_str())?;
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse()?);
    let stream = std::net::TcpStream::connect(("127.0.0.1", c.http_port))?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let (mut ws, _) = tungstenite::client(req, stream).map_err(|e| anyhow!("websocket: {e}"))?;
    let auth = format!("Bearer {}", c.token.as_deref().unwrap_or(""));
    ws.send(Message::text(
        json!({ "type": "connection_init", "payload": { "Authorization": auth } }).to_string(),
    ))?;
    ws.send(Message::text(
        json!({ "id": "1", "type": "subscribe", "payload": {
            "query": "subscription($id: ID!) { pipelineEvents(pipelineId: $id) { recordedAt eventType payload } }",
            "variables": { "id": pipeline_id } } })
        .to_string(),
    ))?;
    loop {
        let Message::Text(t) = ws.read().context("waiting for pipeline events")? else {
            continue;
        };
        let v: Value = serde_json::from_str(&t)?;
        match v["type"].as_str() {
            Some("next") => {
                let e = &v["payload"]["data"]["pipelineEvents"];
                let ty = e["eventType"].as_str().unwrap_or("");
                println!("  {:<20} {}", ty, subject(e));
                match ty {
                    "PipelineSucceeded" => return Ok("SUCCEEDED".into()),
                    "PipelineFailed" => return Ok("FAILED".into()),
                    _ => {}
                }
            }
            Some("error") => bail!("subscription error: {}", v["payload"]),
            _ => {}
        }
    }
}
