//! `phobos template validate`, run as a real process.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/examples")
}

fn phobos(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phobos"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn valid_template_prints_a_summary_and_exits_0() {
    let f = examples().join("lifecycle/07_pre_post.hcl");
    let out = phobos(&["template", "validate", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(
        s.contains("valid lifecycle template: 1 stage, 4 nodes, 0 variables"),
        "{s}"
    );
    assert!(
        s.contains("pre  task       backup  (after health_check; actions: exec_command)"),
        "{s}"
    );
}

#[test]
fn json_format_prints_the_execution_graph() {
    let f = examples().join("pipeline/13_dynamic.hcl");
    let vars = examples().join("pipeline/13_dynamic.vars.hcl");
    let out = phobos(&[
        "template",
        "validate",
        "--format",
        "json",
        "--var-file",
        vars.to_str().unwrap(),
        "--var",
        "tharsis_groups=[{ group_path = \"g\", workspace_name = \"only\" }]",
        f.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The warning about `provider` goes to stderr, the graph to stdout.
    assert!(text(&out.stderr).contains(":22:1: warning: `provider` is an old name for `plugin`"));
    let g: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(g["kind"], "pipeline");
    let node = &g["stages"][0]["nodes"][0];
    assert_eq!(
        node["path"], "stage.create_workspaces.task.only",
        "--var wins over --var-file"
    );
    assert_eq!(node["kind"], "task");
    assert_eq!(node["name"], "only");
    assert_eq!(node["when"], "auto");
    assert_eq!(node["dependencies"], serde_json::json!([]));
    assert_eq!(node["actions"][0]["label"], "tharsis_create_workspace");
    assert_eq!(node["actions"][0]["inputs"]["group_path"], "g");
    assert_eq!(
        g["variables"]["tharsis_groups"][0]["workspace_name"],
        "only"
    );
}

#[test]
fn invalid_template_prints_diagnostics_and_exits_1() {
    let dir = std::env::temp_dir().join(format!("phobos-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.hcl");
    std::fs::write(&f, "stage \"s\" {\n  task \"a\" { dependencies = [\"b\"] }\n  task \"b\" { dependencies = [\"a\"] }\n  task \"c\" { when = \"later\" }\n}\n").unwrap();
    let out = phobos(&[
        "template",
        "validate",
        "--kind",
        "pipeline",
        f.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    let name = f.display().to_string();
    assert!(err.contains(&format!("{name}:4:21: error: `when` must be one of \"auto\", \"manual\", \"never\", got \"later\"")), "{err}");
    assert!(out.stdout.is_empty());
    // The cycle is a graph check: it shows once the field errors are fixed.
    std::fs::write(&f, "stage \"s\" {\n  task \"a\" { dependencies = [\"b\"] }\n  task \"b\" { dependencies = [\"a\"] }\n}\n").unwrap();
    let out = phobos(&["template", "validate", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(&format!(
            "{name}:2:3: error: dependency cycle in stage \"s\": a -> b -> a"
        )),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unreadable_file_and_bad_arguments() {
    let out = phobos(&["template", "validate", "/nonexistent/x.hcl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot read /nonexistent/x.hcl"));
    let out = phobos(&["template", "validate", "--var", "novalue", "x.hcl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("expected NAME=VALUE"));
}
