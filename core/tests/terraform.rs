//! The engine against Terraform: every expression of
//! `tests/terraform/corpus.txt`, evaluated here, compared with what
//! Terraform gave for it (`tests/terraform/expected.jsonl`, made by
//! `regen.sh` with Terraform 1.11). Where `terraform` is on the machine, a
//! sample of the fixture is also checked against it live; where it is not,
//! that part says it was skipped.
//!
//! Values are compared as their JSON shows them, numbers digit for digit;
//! types are not compared yet (Terraform's list/tuple and map/object
//! distinctions).
//!
//! Apart from the deliberate differences ([`DELIBERATE`], README), every
//! expression agrees. `tests/terraform/known_differences.txt` lists any that
//! still disagree (none now): the test fails when an expression not listed
//! disagrees, and when a listed one agrees (take it off the list), so the
//! list only shrinks. `PHOBOS_PRUNE_KNOWN_DIFFERENCES=1 cargo test -p
//! phobos-core --test terraform` takes off the ones that now agree.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use phobos_core::template::functions::{self, FuncContext};
use phobos_core::template::number::Number;
use phobos_core::template::{compile, CompileOptions, TemplateKind, Value};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/terraform")
}

struct Expected {
    expr: String,
    /// Terraform's value, or `None` when it failed.
    value: Option<Value>,
}

fn ctx() -> FuncContext {
    FuncContext {
        now: Utc.with_ymd_and_hms(2026, 11, 21, 7, 30, 0).unwrap(),
    }
}

fn expected() -> Vec<Expected> {
    let text = std::fs::read_to_string(dir().join("expected.jsonl")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let j = meta(l);
            let expr = j["expr"].as_str().unwrap().to_string();
            let value = (j["ok"] == true).then(|| decode(raw_value(l)));
            Expected { expr, value }
        })
        .collect()
}

/// The text of a fixture line's `value`: Terraform's `jsonencode` output,
/// spliced in verbatim, so it keeps every digit of a number.
fn raw_value(line: &str) -> &str {
    let start = line.find("\"value\": ").expect("a value") + "\"value\": ".len();
    let end = start
        + line[start..]
            .find(", \"type\"")
            .expect("a type after the value");
    &line[start..end]
}

/// JSON text as a value, its numbers exact (the engine's `jsondecode`);
/// `-0` keeps its sign (Terraform writes it so; reading it back gives 0).
fn decode(json: &str) -> Value {
    if json == "-0" {
        return Value::Number(Number::zero().neg());
    }
    functions::call("jsondecode", vec![Value::String(json.to_string())], &ctx())
        .unwrap_or_else(|e| panic!("{e}: {json}"))
}

/// The engine's value of `v = <expr>`; `Err` with the diagnostics, or when
/// `jsonencode` fails on it (an infinity), as the fixture records Terraform.
fn ours(expr: &str) -> Result<Value, String> {
    let src = format!(
        "plugin \"test\" {{}}\nstage \"s\" {{\n  task \"t\" {{\n    action \"test_echo\" {{\n      v = {expr}\n    }}\n  }}\n}}\n"
    );
    let mut opts = CompileOptions::new(TemplateKind::Pipeline, chrono::DateTime::UNIX_EPOCH);
    opts.now = ctx().now;
    match compile(&src, &opts) {
        Ok(c) => {
            let action = &c.graph.stages[0].nodes[0].actions[0];
            match action.inputs.get("v") {
                Some(v) => {
                    json(v)?;
                    Ok(v.clone())
                }
                None => Err("deferred".into()),
            }
        }
        Err(d) => Err(d.render("t.hcl")),
    }
}

/// `jsonencode(v)`, as the fixture holds Terraform's values.
fn json(v: &Value) -> Result<String, String> {
    match functions::call("jsonencode", vec![v.clone()], &ctx()) {
        Ok(Value::String(s)) => Ok(s),
        Ok(other) => Err(format!("jsonencode gave {other:?}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Equality of values as their JSON shows them: numbers by their printed
/// digits (every one of them), objects with their keys in the same order
/// (Terraform iterates keys in lexical order).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.to_string() == y.to_string(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
        }
        _ => a == b,
    }
}

/// Why `e` disagrees, if it does.
fn disagreement(e: &Expected) -> Option<String> {
    let show = |v: &Value| json(v).unwrap_or_else(|e| e);
    match (&e.value, ours(&e.expr)) {
        (Some(tf), Ok(v)) if same(tf, &v) => None,
        (Some(tf), Ok(v)) => Some(format!("Terraform {}, ours {}", show(tf), show(&v))),
        (Some(tf), Err(err)) => Some(format!(
            "Terraform {}, ours an error: {}",
            show(tf),
            err.lines().next().unwrap_or("")
        )),
        (None, Ok(v)) => Some(format!("Terraform an error, ours {}", show(&v))),
        (None, Err(_)) => None,
    }
}

/// The deliberate differences (README, "Where templates differ from
/// Terraform"): what the engine gives for them, as JSON, or `None` for an
/// error. Terraform's result for each is in the fixture too.
const DELIBERATE: &[(&str, Option<&str>)] = &[
    // Not Terraform functions: Phobos's own (seed 002).
    (r#"regex_replace("hello", "l+", "L")"#, Some(r#""heLo""#)),
    (r#"regex_replace("abc", "(b)", "[$1]")"#, Some(r#""a[b]c""#)),
    (r#"strlen("abc")"#, Some("3")),
    (r#"strlen("e\u0301")"#, Some("1")),
    // Seed 002: index() also finds a map's element by key.
    (r#"index({a = 1, b = 2}, "b")"#, Some("2")),
    // A key written twice in one object is refused (Terraform keeps the last).
    ("{a = 1, a = 2}", None),
    // A number literal beyond float64's range is refused with a message
    // that says to write tonumber("1e400") (hcl-edit reads literals as
    // float64); Terraform takes it.
    ("1e400", None),
    // Values carry no collection type: a list, a tuple and a set are one
    // kind of value, a map and an object another (values pass through
    // events and action outputs as JSON, which keeps no such type).
    ("[1, 2] == tolist([1, 2])", Some("true")),
    ("{a = 1} == tomap({a = 1})", Some("true")),
    (r#"concat(tolist([1]), tolist(["a"]))"#, Some(r#"[1, "a"]"#)),
    (
        r#"concat(toset(["b", "a"]), [1])"#,
        Some(r#"["a", "b", 1]"#),
    ),
    ("toset([1, 2])[0]", Some("1")),
    (r#"element(toset(["b", "a"]), 0)"#, Some(r#""a""#)),
    ("slice(toset([1, 2]), 0, 1)", Some("[1]")),
    (r#"lookup(tomap({a = 1}), "a", "d")"#, Some("1")),
];

#[test]
fn the_deliberate_differences_are_as_documented() {
    let expected = expected();
    for (expr, ours_want) in DELIBERATE {
        let e = expected
            .iter()
            .find(|e| e.expr == *expr)
            .unwrap_or_else(|| panic!("{expr} is not in the corpus"));
        assert!(
            disagreement(e).is_some(),
            "{expr} agrees with Terraform now: take it off DELIBERATE and the README"
        );
        let got = ours(expr);
        match ours_want {
            Some(want) => {
                let want = decode(want);
                assert!(matches!(&got, Ok(v) if same(v, &want)), "{expr}: {got:?}");
            }
            None => assert!(got.is_err(), "{expr}: {got:?}"),
        }
    }
}

fn known() -> BTreeSet<String> {
    std::fs::read_to_string(dir().join("known_differences.txt"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("# "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_engine_agrees_with_terraform_on_the_corpus() {
    let expected = expected();
    assert!(
        expected.len() > 600,
        "the fixture has {} entries",
        expected.len()
    );
    let known = known();
    let mut differing = BTreeSet::new();
    let mut new = Vec::new();
    for e in &expected {
        if DELIBERATE.iter().any(|(x, _)| *x == e.expr) {
            continue;
        }
        if let Some(why) = disagreement(e) {
            differing.insert(e.expr.clone());
            if !known.contains(&e.expr) {
                new.push(format!("  {}\n      {why}", e.expr));
            }
        }
    }
    let fixed: Vec<&String> = known.difference(&differing).collect();
    if !fixed.is_empty() && std::env::var_os("PHOBOS_PRUNE_KNOWN_DIFFERENCES").is_some() {
        // Takes off what now agrees; never adds (a new difference is listed
        // by hand, deliberately).
        let path = dir().join("known_differences.txt");
        let text = std::fs::read_to_string(&path).unwrap();
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("# ") || l.trim().is_empty() || differing.contains(*l))
            .collect();
        std::fs::write(&path, kept.join("\n") + "\n").unwrap();
        println!("known_differences.txt: {} taken off", fixed.len());
        return;
    }
    println!(
        "{} expressions: {} agree with Terraform, {} known differences, {} deliberate",
        expected.len(),
        expected.len() - differing.len() - DELIBERATE.len(),
        differing.len(),
        DELIBERATE.len()
    );
    assert!(
        new.is_empty(),
        "{} expression(s) disagree with Terraform and are not in known_differences.txt:\n{}",
        new.len(),
        new.join("\n")
    );
    assert!(
        fixed.is_empty(),
        "these now agree with Terraform: remove them from known_differences.txt (PHOBOS_PRUNE_KNOWN_DIFFERENCES=1 does):\n{fixed:#?}"
    );
}

/// A sample of the fixture against the real `terraform`, when it is here.
#[test]
fn the_fixture_is_what_terraform_says() {
    let terraform = ["/usr/local/bin/terraform", "/usr/bin/terraform"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    let (Some(terraform), true) = (
        terraform,
        Path::new("/usr/bin/python3").exists() || which("python3"),
    ) else {
        println!("SKIPPED: terraform (or python3) is not on this machine; compared with the fixture only");
        return;
    };
    let expected = expected();
    // Every 40th expression: a sample that a minute of console runs covers.
    let sample: Vec<&Expected> = expected.iter().step_by(40).collect();
    let work = std::env::temp_dir().join(format!("phobos-tf-sample-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let corpus = work.join("corpus.txt");
    let lines: Vec<&str> = sample.iter().map(|e| e.expr.as_str()).collect();
    std::fs::write(&corpus, lines.join("\n") + "\n").unwrap();
    let out = work.join("expected.jsonl");
    let status = std::process::Command::new("bash")
        .arg(dir().join("regen.sh"))
        .arg(&corpus)
        .arg(&out)
        .env("TERRAFORM", &terraform)
        .status()
        .unwrap();
    assert!(status.success(), "regen.sh failed");
    let fresh = std::fs::read_to_string(&out).unwrap();
    let whole = std::fs::read_to_string(dir().join("expected.jsonl")).unwrap();
    let by_expr: std::collections::HashMap<String, &str> =
        whole.lines().map(|l| (expr_of(l), l)).collect();
    for line in fresh.lines() {
        let expr = expr_of(line);
        assert_eq!(
            by_expr[&expr], line,
            "the fixture is stale for {expr}: run regen.sh"
        );
    }
    let _ = std::fs::remove_dir_all(&work);
    println!(
        "{} fixture entries checked against {}",
        sample.len(),
        terraform.display()
    );
}

/// A fixture line's expression.
fn expr_of(line: &str) -> String {
    meta(line)["expr"].as_str().unwrap().to_string()
}

/// A fixture line without its value (which may hold a number beyond f64,
/// such as `1e308 * 10`; [`raw_value`] and [`decode`] read that).
fn meta(line: &str) -> serde_json::Value {
    let text = match line.find("\"value\": ") {
        Some(at) => {
            let start = at + "\"value\": ".len();
            let end = start + raw_value(line).len();
            format!("{}null{}", &line[..start], &line[end..])
        }
        None => line.to_string(),
    };
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {line}"))
}

fn which(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false)
}
