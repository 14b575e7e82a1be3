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

/// The repository's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A compose value with its `${NAME:-default}` or `${NAME:?message}`
/// interpolated as Compose would with NAME unset (a required one gets a
/// stand-in).
fn interpolate(value: &str) -> String {
    let Some(inner) = value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) else {
        assert!(
            !value.contains("${"),
            "{value}: only whole-value interpolation is expected"
        );
        return value.to_string();
    };
    if let Some((_, default)) = inner.split_once(":-") {
        default.to_string()
    } else if inner.contains(":?") {
        "a-stand-in-for-a-required-value".to_string()
    } else {
        String::new()
    }
}

/// `compose/`, checked without a Docker daemon (these machines have none):
/// each Dockerfile is a multi-stage build to a small image run as a
/// non-root user, with a health check, whose `COPY` sources exist and are
/// not ignored; the compose file has the services, profiles and ports the
/// README documents; and `phobos check-config` accepts the environment it
/// gives the server (every `PHOBOS_*` it sets is a setting phobos reads).
#[test]
fn the_compose_setup_and_its_dockerfiles_hold_together() {
    let root = root();
    let ignored: Vec<String> = std::fs::read_to_string(root.join(".dockerignore"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.trim().to_string())
        .collect();
    for image in ["phobos", "agent", "job-executor"] {
        let file = root.join(format!("compose/{image}.Dockerfile"));
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains("FROM rust:") && text.contains("AS build"),
            "{image}: a build stage"
        );
        assert!(
            text.contains("FROM debian:bookworm-slim"),
            "{image}: a small runtime image"
        );
        assert!(
            text.contains("\nUSER phobos\n"),
            "{image}: runs as a non-root user"
        );
        assert!(
            text.contains("HEALTHCHECK"),
            "{image}: says how its health is known"
        );
        for line in text
            .lines()
            .filter(|l| l.starts_with("COPY ") && !l.contains("--from="))
        {
            let words: Vec<&str> = line.split_whitespace().collect();
            for source in &words[1..words.len() - 1] {
                assert!(
                    root.join(source).exists(),
                    "{image}: {line}: {source} does not exist"
                );
                let top = source.split('/').next().unwrap();
                assert!(
                    !ignored.iter().any(|i| i == top),
                    "{image}: {line}: {source} is in .dockerignore"
                );
            }
        }
        // Every workspace member is copied (cargo needs them all to build).
        for member in [
            "core",
            "commands",
            "projections",
            "proto",
            "api",
            "agent",
            "executor",
            "xtask",
        ] {
            assert!(
                text.contains(&format!("COPY {member} {member}\n")),
                "{image}: copies {member}"
            );
        }
    }

    let compose = std::fs::read_to_string(root.join("compose/docker-compose.yml")).unwrap();
    let docs = yaml_rust2::YamlLoader::load_from_str(&compose).expect("the compose file is YAML");
    let services = &docs[0]["services"];
    let profile = |s: &str| services[s]["profiles"][0].as_str().map(str::to_string);
    for s in ["postgres", "phobos"] {
        assert!(!services[s].is_badvalue(), "service {s}");
        assert_eq!(profile(s), None, "{s} starts by default");
    }
    for (s, p) in [("agent", "agent"), ("minio", "s3"), ("mailpit", "smtp")] {
        assert_eq!(profile(s).as_deref(), Some(p), "service {s}");
    }
    for s in ["phobos", "agent"] {
        let dockerfile = services[s]["build"]["dockerfile"].as_str().unwrap();
        assert!(root.join(dockerfile).exists(), "{s}: {dockerfile}");
    }
    let ports: Vec<&str> = services["phobos"]["ports"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    assert_eq!(ports, ["9000:9000", "9010:9010"]);

    let env = services["phobos"]["environment"].as_hash().unwrap();
    let mut check = Command::new(env!("CARGO_BIN_EXE_phobos"));
    check.arg("check-config").env_clear();
    for (k, v) in env {
        let (k, v) = (k.as_str().unwrap(), v.as_str().unwrap());
        assert!(k.starts_with("PHOBOS_"), "{k}");
        check.env(k, interpolate(v));
    }
    let out = check.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text_of(&out));
    // And it names a variable that is not a setting.
    let out = check.env("PHOBOS_DB_PASWORD", "x").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("PHOBOS_DB_PASWORD is set but nothing reads it"),
        "{}",
        text_of(&out)
    );
    // The agent service's variables are the agent's.
    let agent_env = services["agent"]["environment"].as_hash().unwrap();
    let agent = Path::new(env!("CARGO_BIN_EXE_phobos")).with_file_name("phobos-agent");
    let help = Command::new(&agent)
        .arg("--help")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (cargo build --workspace --bins builds it)",
                agent.display()
            )
        });
    let help = text(&help.stdout);
    for k in agent_env.keys() {
        let k = k.as_str().unwrap();
        assert!(
            help.contains(&format!("[env: {k}")),
            "{k} is not an option of phobos-agent:\n{help}"
        );
    }

    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for documented in [
        "docker compose -f compose/docker-compose.yml up",
        "--profile agent",
        "--profile s3",
        "--profile smtp",
        "cargo xtask images",
    ] {
        assert!(
            readme.contains(documented),
            "the README shows {documented:?}"
        );
    }
}

fn text_of(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}
