//! Expressions as users write them in templates: interpolation, heredocs,
//! template directives, conditionals, `for`, splats, indexes, conversions,
//! `timestamp()`, and deferred expressions finished at run time.

use chrono::{TimeZone, Utc};
use phobos_core::template::model::Expr;
use phobos_core::template::{
    compile, evaluate_deferred, CompileOptions, TemplateKind, Value, VariableInput,
};
use serde_json::json;

const VARS: &str = r#"
variable "a" {
  default = "A"
}
variable "n" {
  type    = number
  default = 5
}
variable "l" {
  default = [{ name = "x", tags = ["t1"] }, { name = "y", tags = [] }]
}
variable "m" {
  type    = map(string)
  default = { k = "v", other = "w" }
}
variable "empty" {
  default = null
}
"#;

fn template(expr: &str) -> String {
    format!("{VARS}\nplugin \"test\" {{}}\nstage \"s\" {{\n  task \"t\" {{\n    action \"test_echo\" {{\n      v = {expr}\n    }}\n  }}\n}}\n")
}

fn opts() -> CompileOptions {
    let mut o = CompileOptions::new(TemplateKind::Pipeline, chrono::DateTime::UNIX_EPOCH);
    o.now = Utc.with_ymd_and_hms(2026, 11, 21, 7, 30, 0).unwrap();
    o
}

/// The value of `v = <expr>`, or the rendered diagnostics.
fn eval(expr: &str) -> Result<Value, String> {
    let src = template(expr);
    match compile(&src, &opts()) {
        Ok(c) => {
            let a = &c.graph.stages[0].nodes[0].actions[0];
            match a.inputs.get("v") {
                Some(v) => Ok(v.clone()),
                None => Err(format!("deferred: {}", a.deferred_inputs["v"].expression)),
            }
        }
        Err(d) => Err(d.render("t.hcl")),
    }
}

fn v(j: serde_json::Value) -> Value {
    serde_json::from_value(j).unwrap()
}

#[test]
fn evaluates_what_users_write() {
    let cases: &[(&str, serde_json::Value)] = &[
        (r#""${var.a}-x""#, json!("A-x")),
        (r#""${var.n}""#, json!(5)),
        (
            r#""${var.l}""#,
            json!([{ "name": "x", "tags": ["t1"] }, { "name": "y", "tags": [] }]),
        ),
        ("var.n + \"5\"", json!(10)),
        ("var.n / 2", json!(2.5)),
        ("var.n % 3", json!(2)),
        ("-var.n", json!(-5)),
        ("1 == 1.0", json!(true)),
        ("\"1\" == 1", json!(false)),
        ("var.n > 3 && !false", json!(true)),
        ("var.empty == null ? \"none\" : var.empty", json!("none")),
        ("[for x in var.l : upper(x.name)]", json!(["X", "Y"])),
        (
            "[for i, x in var.l : \"${i}:${x.name}\" if length(x.tags) > 0]",
            json!(["0:x"]),
        ),
        (
            "{for k, x in var.m : x => k}",
            json!({ "v": "k", "w": "other" }),
        ),
        (
            "{for x in [\"a\", \"b\", \"a\"] : x => x...}",
            json!({ "a": ["a", "a"], "b": ["b"] }),
        ),
        ("var.l[*].name", json!(["x", "y"])),
        ("var.l.*.name", json!(["x", "y"])),
        ("var.empty[*]", json!([])),
        ("var.l[1].name", json!("y")),
        ("var.l.0.name", json!("x")),
        ("var.m[\"k\"]", json!("v")),
        ("var.m.other", json!("w")),
        ("length(var.m)", json!(2)),
        ("join(\",\", [for k in keys(var.m) : k])", json!("k,other")),
        ("timestamp()", json!("2026-11-21T07:30:00Z")),
        (
            "formatdate(\"YYYY-MM-DD\", timestamp())",
            json!("2026-11-21"),
        ),
        (
            "\"%{ if var.n > 1 }many%{ else }one%{ endif }\"",
            json!("many"),
        ),
        (
            "\"%{ for x in var.l }[${x.name}]%{ endfor }\"",
            json!("[x][y]"),
        ),
        ("\"a  %{~ if true ~}  b  %{~ endif ~}  c\"", json!("abc")),
        (
            "\"a  %{~ if false ~} b %{~ else ~}  e  %{~ endif}  c\"",
            json!("ae  c"),
        ),
        (
            "\"%{ for x in [1, 2] ~}\n  ${x}\n%{~ endfor ~}\n\"",
            json!("12"),
        ),
        ("\"${var.a} $${literal} %%{x}\"", json!("A ${literal} %{x}")),
        (
            "jsondecode(jsonencode({ b = 1, a = [true] }))",
            json!({ "a": [true], "b": 1 }),
        ),
        ("concat(var.l[*].name, [\"z\"])", json!(["x", "y", "z"])),
    ];
    for (expr, want) in cases {
        assert_eq!(eval(expr), Ok(v(want.clone())), "{expr}");
    }
    // `&&` and `||` evaluate both operands, as Terraform 1.11 does.
    let e = eval("var.empty != null && var.empty.x").unwrap_err();
    assert!(e.contains("cannot read attribute `x` of null"), "{e}");
    // A full splat applies the index to each element; an element without one is an error.
    let e = eval("var.l[*].tags[0]").unwrap_err();
    assert!(
        e.contains("index 0 is out of range for a list of 0 elements"),
        "{e}"
    );
    assert_eq!(eval("min([3, 1, 2]...)"), Ok(v(json!(1))));
}

#[test]
fn heredocs_keep_or_strip_indentation() {
    let plain = "<<EOF\n  one\n    two\nEOF\n";
    assert_eq!(eval(plain), Ok(Value::from("  one\n    two\n")));
    let stripped = "<<-EOF\n      one\n        two ${var.a}\n      EOF\n";
    assert_eq!(eval(stripped), Ok(Value::from("one\n  two A\n")));
}

#[test]
fn evaluation_errors_say_what_is_wrong() {
    let cases = [
        // As in Terraform, `var.n / 0` is infinity; zero by zero is no number.
        (
            "0 / 0",
            "t.hcl:24:11: error: `/` failed: can't divide zero by zero or infinity by infinity",
        ),
        (
            "lowr(var.a)",
            "error: there is no function named \"lowr\"; did you mean \"lower\"?",
        ),
        (
            "var.l[5]",
            "error: index 5 is out of range for a list of 2 elements",
        ),
        ("var.m.nope", "error: this object has no attribute `nope`"),
        ("\"x\" + 1", "error: `+` needs numbers, got string \"x\""),
        (
            "var.empty ? 1 : 2",
            "error: the condition of `? :` must be a bool, got null",
        ),
        (
            "\"x${var.empty}\"",
            "error: cannot interpolate null into a string",
        ),
        (
            "{for x in [\"a\", \"a\"] : x => 1}",
            "error: two elements produce the key \"a\"",
        ),
        (
            "element(var.l, \"x\")",
            "error: element(): argument 2 must be a whole number",
        ),
        ("tharsis::x()", "error: provider functions"),
        ("task.value", "error: unknown name `task`"),
        (
            "length(flatten([for a in range(1024) : [for b in range(1024) : [for c in range(1024) : c]]]))",
            "error: evaluating this template takes more than 2000000 steps",
        ),
        (
            "\"%{ for a in range(1024) }%{ for b in range(1024) }%{ for c in range(1024) }%{ endfor }%{ endfor }%{ endfor }\"",
            "error: evaluating this template takes more than 2000000 steps",
        ),
    ];
    for (expr, want) in cases {
        let e = eval(expr).expect_err(expr);
        assert!(e.contains(want), "{expr}:\n{e}\nshould contain\n{want}");
    }
}

#[test]
fn deferred_expressions_fold_what_is_known() {
    let src = r#"
variable "prefix" {
  default = "build"
}
stage "s" {
  pre {
    task "p" {
      action "exec_command" { command = "echo hi" }
    }
  }
  task "t" {
    action "exec_command" {
      command = "echo ${var.prefix}-${upper(var.prefix)} ${action_outputs.stage.s.pre.task.p.action.exec_command.exit_code}"
    }
  }
  task "u" {
    if = action_outputs.stage.s.pre.task.p.action.exec_command.exit_code == length(var.prefix) - 5
    action "exec_command" {
      command = join(" ", [for x in action_outputs.stage.s.pre.task.p.action.exec_command.lines : "${var.prefix}:${x}"])
    }
  }
}
"#;
    let c = compile(src, &opts()).unwrap();
    let t = c.graph.node("stage.s.task.t").unwrap();
    let d = &t.actions[0].deferred_inputs["command"];
    assert_eq!(
        d.expression,
        r#""echo build-BUILD ${action_outputs.stage.s.pre.task.p.action.exec_command.exit_code}""#
    );
    assert_eq!(
        d.references,
        ["action_outputs.stage.s.pre.task.p.action.exec_command.exit_code"]
    );

    let outputs = v(
        json!({ "stage": { "s": { "pre": { "task": { "p": { "action": { "exec_command": { "exit_code": 0, "lines": ["a", "b"] } } } } } } } }),
    );
    let run = |e: &str| evaluate_deferred(e, outputs.clone(), Value::Null, Value::Null, opts().now);
    assert_eq!(run(&d.expression), Ok(Value::from("echo build-BUILD 0")));

    let u = c.graph.node("stage.s.task.u").unwrap();
    let Some(Expr::Deferred(cond)) = &u.condition else {
        panic!("if must be deferred: {:?}", u.condition)
    };
    assert_eq!(
        cond.expression,
        "action_outputs.stage.s.pre.task.p.action.exec_command.exit_code == 0"
    );
    assert_eq!(run(&cond.expression), Ok(Value::Bool(true)));
    let cmd = &u.actions[0].deferred_inputs["command"].expression;
    assert!(!cmd.contains("var."), "{cmd}");
    assert_eq!(run(cmd), Ok(Value::from("build:a build:b")));
}

#[test]
fn deeply_nested_expressions_are_refused_before_parsing() {
    // Inputs the fuzzer found slow on the expression path (a `--var` value,
    // a deferred expression): each took 0.4 to 2.6 s in a release build.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/regressions");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if !path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("slow-")
        {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        let err =
            evaluate_deferred(&src, Value::Null, Value::Null, Value::Null, opts().now).unwrap_err();
        assert!(
            err.message
                .contains("brackets nest more than 10 levels deep in this expression"),
            "{}: {}",
            path.display(),
            err.message
        );
        n += 1;
    }
    assert!(n >= 2, "the slow regressions are missing");
    // As a `--var` value of a structured type it falls back to a plain string.
    let deep = format!("{}1{}", "[".repeat(11), "]".repeat(11));
    let src = "variable \"x\" {\n  type = any\n}\nstage \"s\" {\n  task \"t\" {}\n}\n";
    let c = compile(
        src,
        &CompileOptions::new(TemplateKind::Pipeline, chrono::DateTime::UNIX_EPOCH)
            .var("x", VariableInput::Raw(deep.clone())),
    )
    .unwrap();
    assert_eq!(c.graph.variables["x"], Value::from(deep));
}

#[test]
fn command_line_values_follow_the_variable_type() {
    let src = r#"
variable "s" { type = string }
variable "n" { type = number }
variable "l" { type = list(number) }
variable "o" { type = any }
variable "q" { type = string }
stage "x" {
  task "t" {}
}
"#;
    let o = CompileOptions::new(TemplateKind::Pipeline, chrono::DateTime::UNIX_EPOCH)
        .var("s", VariableInput::Raw("01".into()))
        .var("n", VariableInput::Raw("01".into()))
        .var("l", VariableInput::Raw("[1, \"2\"]".into()))
        .var("o", VariableInput::Raw("not an { expression".into()))
        .var("q", VariableInput::Raw("\"quoted\"".into()));
    let c = compile(src, &o).unwrap();
    assert_eq!(c.graph.variables["s"], Value::from("01"));
    assert_eq!(c.graph.variables["n"], v(json!(1)));
    assert_eq!(c.graph.variables["l"], v(json!([1, 2])));
    assert_eq!(c.graph.variables["o"], Value::from("not an { expression"));
    assert_eq!(c.graph.variables["q"], Value::from("quoted"));
}

#[test]
fn timestamp_is_the_creation_time_not_the_parse_time() {
    let src = template("timestamp()");
    let mut o = opts();
    let first = compile(&src, &o).unwrap();
    o.now = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap();
    let second = compile(&src, &o).unwrap();
    let get = |c: &phobos_core::template::Compiled| {
        c.graph.stages[0].nodes[0].actions[0].inputs["v"].clone()
    };
    assert_eq!(get(&first), Value::from("2026-11-21T07:30:00Z"));
    assert_eq!(get(&second), Value::from("2030-01-02T03:04:05Z"));
}
