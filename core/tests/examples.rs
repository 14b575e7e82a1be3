//! Every example template of the two syntax documents (001 release lifecycle,
//! 002 pipeline) parses and validates. Fragments are completed in the obvious
//! way; each file's header says how. The test also checks the execution graph
//! each one produces.

use std::path::Path;

use phobos_core::template::model::{Expr, NodeKind, Schedule, When};
use phobos_core::template::{
    compile, parse_var_file, CompileOptions, Compiled, TemplateKind, Value, VariableInput,
};

fn load(kind: TemplateKind, name: &str) -> Compiled {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/examples")
        .join(kind.as_str());
    let path = dir.join(name);
    let src = std::fs::read_to_string(&path).unwrap();
    let mut opts = CompileOptions::new(kind, chrono::DateTime::UNIX_EPOCH);
    let vars = path.with_extension("vars.hcl");
    if vars.exists() {
        for (k, v) in parse_var_file(
            &std::fs::read_to_string(vars).unwrap(),
            chrono::DateTime::UNIX_EPOCH,
        )
        .unwrap()
        {
            opts = opts.var(k, VariableInput::Value(v));
        }
    }
    match compile(&src, &opts) {
        Ok(c) => c,
        Err(d) => panic!("{name} does not validate:\n{}", d.render(name)),
    }
}

fn paths(c: &Compiled) -> Vec<&str> {
    c.graph
        .stages
        .iter()
        .flat_map(|s| &s.nodes)
        .map(|n| n.path.as_str())
        .collect()
}

#[test]
fn every_example_file_is_covered() {
    // A new example file must be added to a test below.
    let mut names = Vec::new();
    for kind in ["pipeline", "lifecycle"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/examples")
            .join(kind);
        for e in std::fs::read_dir(dir).unwrap() {
            let n = e.unwrap().file_name().into_string().unwrap();
            if !n.ends_with(".vars.hcl") {
                names.push(format!("{kind}/{n}"));
            }
        }
    }
    names.sort();
    assert_eq!(names.len(), 23, "{names:?}");
}

#[test]
fn pipeline_stage_example() {
    let c = load(TemplateKind::Pipeline, "01_stage.hcl");
    assert_eq!(
        paths(&c),
        [
            "stage.simple.pre.task.pre_task",
            "stage.simple.task.main_task",
            "stage.simple.post.task.post_task"
        ]
    );
    let cmd = &c.graph.stages[0].nodes[0].actions[0].inputs["command"];
    assert_eq!(
        cmd,
        &Value::from("echo \"This is pre task sleeps for 10 seconds :)\"\nsleep 10\n")
    );
    assert!(c.warnings.0.is_empty());
}

#[test]
fn pipeline_stage_order_example() {
    let c = load(TemplateKind::Pipeline, "02_stage_order.hcl");
    let names: Vec<&str> = c.graph.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["dev", "prod", "test"]);
}

#[test]
fn pipeline_agent_example() {
    let c = load(TemplateKind::Pipeline, "03_agent.hcl");
    let nodes = &c.graph.stages[0].nodes;
    assert_eq!(
        nodes[0].agent_tags.as_deref(),
        Some(&["example-tag".to_string(), "example-tag-2".to_string()][..])
    );
    assert_eq!(
        nodes[1].agent_tags.as_deref(),
        Some(&["special".to_string()][..])
    );
}

#[test]
fn pipeline_variable_example() {
    let c = load(TemplateKind::Pipeline, "04_variable.hcl");
    assert_eq!(c.graph.variables["account_name"], Value::from("account1"));
    assert_eq!(
        c.graph.stages[0].nodes[0].actions[0].inputs["command"],
        Value::from("echo account1")
    );
}

#[test]
fn pipeline_jwt_plugin_example() {
    let c = load(TemplateKind::Pipeline, "05_jwt_plugin.hcl");
    let tharsis = &c.graph.plugins[0];
    match &tharsis.config["service_account_token"] {
        Expr::Deferred(d) => {
            assert_eq!(d.expression, "jwt.tharsis");
            assert_eq!(d.references, ["jwt.tharsis"]);
        }
        other => panic!("jwt must be deferred, got {other:?}"),
    }
    assert_eq!(
        c.graph.plugin_requirements[0].source,
        "martian-cloud/tharsis"
    );
    assert_eq!(c.graph.stages[0].nodes[0].actions[0].plugin, "tharsis");
    assert_eq!(
        c.graph.stages[0].nodes[0].actions[0].action,
        "create_workspace"
    );
}

#[test]
fn pipeline_volume_example() {
    let c = load(TemplateKind::Pipeline, "06_volume.hcl");
    assert_eq!(
        c.graph.volumes[0]
            .vcs_options
            .as_ref()
            .unwrap()
            .repository_path,
        "martian/tools"
    );
    assert_eq!(c.graph.stages[0].nodes[0].mount_points[0].volume, "tools");
}

#[test]
fn pipeline_vcs_token_example() {
    let c = load(TemplateKind::Pipeline, "07_vcs_token.hcl");
    match &c.graph.plugins[0].config["token_file"] {
        Expr::Deferred(d) => assert_eq!(d.expression, "vcs_token.gitlab_token.file_path"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn pipeline_task_action_mount_example() {
    let c = load(TemplateKind::Pipeline, "08_task_action_mount.hcl");
    let n = &c.graph.stages[0].nodes[0];
    assert_eq!(n.mount_points[0].path.as_deref(), Some("/"));
    assert!(n.actions[0].inputs["command"]
        .as_str()
        .unwrap()
        .starts_with("echo \"Simulated"));
}

#[test]
fn pipeline_schedule_example() {
    let c = load(TemplateKind::Pipeline, "09_schedule.hcl");
    let n = &c.graph.stages[0].nodes;
    assert_eq!(
        n[0].schedule,
        Some(Schedule::Datetime {
            value: "2024-11-25T14:50:00.000Z".into()
        })
    );
    assert_eq!(
        n[1].schedule,
        Some(Schedule::Cron {
            expression: "* * * * 5#3".into(),
            timezone: "America/New_York".into()
        })
    );
    assert_eq!(n[2].kind, NodeKind::Pipeline);
    assert_eq!(
        n[2].pipeline.as_ref().unwrap().template_id,
        "prn:pipeline_template:my-org/my-project/nested"
    );
    assert_eq!(n[2].pipeline.as_ref().unwrap().pipeline_type, "nested");
}

#[test]
fn pipeline_action_outputs_example() {
    let c = load(TemplateKind::Pipeline, "10_action_outputs.hcl");
    let ex2 = c.graph.node("stage.test.task.ex_2").unwrap();
    let d = &ex2.actions[0].deferred_inputs["workspace_path"];
    assert_eq!(
        d.expression,
        "action_outputs.stage.test.pre.task.ex_1.action.tharsis_create_workspace.path"
    );
    assert_eq!(ex2.actions[0].inputs["auto_approve"], Value::Bool(false));
    let ex1 = c.graph.node("stage.test.pre.task.ex_1").unwrap();
    assert_eq!(ex1.actions[0].inputs["group_path"], Value::from("my-group"));
}

#[test]
fn pipeline_nested_pipeline_examples() {
    let c = load(TemplateKind::Pipeline, "11_pipeline_1.hcl");
    let n = &c.graph.stages[0].nodes[0];
    assert_eq!(n.path, "stage.dev.pipeline.deploy");
    assert_eq!(n.when, When::Manual);
    assert_eq!(
        n.pipeline.as_ref().unwrap().environment.as_deref(),
        Some("account1")
    );
    assert_eq!(n.approval_rules.len(), 2);
    let c = load(TemplateKind::Pipeline, "12_pipeline_2.hcl");
    assert_eq!(
        c.graph.stages[0].nodes[0].actions[0].inputs["managed_identity_paths"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn pipeline_dynamic_example() {
    let c = load(TemplateKind::Pipeline, "13_dynamic.hcl");
    assert_eq!(
        paths(&c),
        [
            "stage.create_workspaces.task.alpha",
            "stage.create_workspaces.task.beta"
        ]
    );
    let beta = &c.graph.stages[0].nodes[1].actions[0].inputs;
    assert_eq!(beta["group_path"], Value::from("team-b"));
    assert_eq!(beta["name"], Value::from("beta"));
    let w: Vec<String> = c
        .warnings
        .warnings()
        .map(|d| d.render("13_dynamic.hcl"))
        .collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("13_dynamic.hcl:22:1: warning: `provider` is an old name for `plugin`"),
        "{w:?}"
    );
}

#[test]
fn lifecycle_examples() {
    let c = load(TemplateKind::Lifecycle, "01_stage.hcl");
    assert_eq!(paths(&c), ["stage.dev.deployment.dev"]);
    assert_eq!(c.graph.stages[0].nodes[0].when, When::Manual);

    let c = load(TemplateKind::Lifecycle, "02_stage_order.hcl");
    assert_eq!(
        paths(&c),
        [
            "stage.dev.deployment.dev",
            "stage.prod.deployment.prod",
            "stage.test.deployment.test"
        ]
    );

    let c = load(TemplateKind::Lifecycle, "03_variable.hcl");
    assert_eq!(paths(&c), ["stage.main.deployment.account1"]);

    load(TemplateKind::Lifecycle, "04_jwt_plugin.hcl");
    load(TemplateKind::Lifecycle, "05_volume.hcl");
    load(TemplateKind::Lifecycle, "06_vcs_token.hcl");

    let c = load(TemplateKind::Lifecycle, "07_pre_post.hcl");
    assert_eq!(
        paths(&c),
        [
            "stage.production.pre.task.health_check",
            "stage.production.pre.task.backup",
            "stage.production.deployment.production",
            "stage.production.post.task.verify",
        ]
    );
    assert_eq!(c.graph.stages[0].nodes[1].dependencies, ["health_check"]);

    let c = load(TemplateKind::Lifecycle, "08_mount_point.hcl");
    assert_eq!(paths(&c), ["stage.security_scans.task.scan"]);

    let c = load(TemplateKind::Lifecycle, "09_schedule.hcl");
    assert_eq!(
        paths(&c),
        [
            "stage.dev.deployment.dev-us-east-1",
            "stage.dev.deployment.dev-us-east-2"
        ]
    );

    let c = load(TemplateKind::Lifecycle, "10_approvals_gates.hcl");
    let gate = c
        .graph
        .node("stage.production.pre.task.health_check")
        .unwrap()
        .gate
        .clone()
        .unwrap();
    assert_eq!(gate.attempts, Some(10));
    assert_eq!(gate.interval_seconds, Some(120.0));
    match gate.success_condition.unwrap() {
        Expr::Deferred(d) => assert_eq!(d.expression, "action_outputs.stage.production.pre.task.health_check.action.check_service.exit_code == 0"),
        other => panic!("{other:?}"),
    }
}
