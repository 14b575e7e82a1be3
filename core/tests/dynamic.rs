//! Dynamic blocks: every repeatable block, over lists, sets and maps, with
//! `labels`, `iterator`, and dynamics nested in dynamics.

use phobos_core::template::{compile, CompileOptions, TemplateKind, Value};

fn paths(kind: TemplateKind, src: &str) -> Vec<String> {
    let c = compile(
        src,
        &CompileOptions::new(kind, chrono::DateTime::UNIX_EPOCH),
    )
    .unwrap_or_else(|d| panic!("{}", d.render("t.hcl")));
    c.graph
        .stages
        .iter()
        .flat_map(|s| &s.nodes)
        .map(|n| n.path.clone())
        .collect()
}

#[test]
fn tasks_over_a_map_with_key_and_value() {
    let src = r#"
variable "envs" {
  type    = map(string)
  default = { dev = "us-east-1", prod = "eu-west-1" }
}
stage "deploy" {
  dynamic "task" {
    for_each = var.envs
    labels   = ["deploy_${task.key}"]
    content {
      action "exec_command" {
        command = "deploy --region ${task.value}"
      }
    }
  }
}
"#;
    let c = compile(
        src,
        &CompileOptions::new(TemplateKind::Pipeline, chrono::DateTime::UNIX_EPOCH),
    )
    .unwrap();
    let n = &c.graph.stages[0].nodes;
    assert_eq!(n[0].path, "stage.deploy.task.deploy_dev");
    assert_eq!(
        n[1].actions[0].inputs["command"],
        Value::from("deploy --region eu-west-1")
    );
}

#[test]
fn nested_dynamics_with_a_renamed_iterator_and_dependencies() {
    let src = r#"
variable "services" {
  type    = set(string)
  default = ["api", "web", "api"]
}
volume "repo" {
  type = "vcs"
  vcs_options {
    provider_id     = "prn:vcs_provider:o/gitlab"
    repository_path = "o/repo"
  }
}
stage "build" {
  task "prepare" {}
  dynamic "task" {
    for_each = var.services
    iterator = svc
    labels   = [svc.value]
    content {
      dependencies = ["prepare"]
      dynamic "mount_point" {
        for_each = ["repo"]
        content {
          volume = mount_point.value
          path   = "/src/${svc.value}"
        }
      }
      dynamic "action" {
        for_each = ["lint", "test"]
        labels   = ["exec_command"]
        content {
          alias   = "${action.value}_${svc.value}"
          command = "make ${action.value} SERVICE=${svc.value} STEP=${action.key}"
        }
      }
    }
  }
}
"#;
    let c = compile(
        src,
        &CompileOptions::new(TemplateKind::Pipeline, chrono::DateTime::UNIX_EPOCH),
    )
    .unwrap_or_else(|d| panic!("{}", d.render("t.hcl")));
    let n = &c.graph.stages[0].nodes;
    let names: Vec<&str> = n.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        ["prepare", "api", "web"],
        "a set drops the repeated \"api\""
    );
    let web = &n[2];
    assert_eq!(web.dependencies, ["prepare"]);
    assert_eq!(web.mount_points[0].path.as_deref(), Some("/src/web"));
    let keys: Vec<&str> = web.actions.iter().map(|a| a.key()).collect();
    assert_eq!(keys, ["lint_web", "test_web"]);
    assert_eq!(
        web.actions[1].inputs["command"],
        Value::from("make test SERVICE=web STEP=1")
    );
}

#[test]
fn dynamic_stages_pipelines_and_deployments() {
    let src = r#"
variable "regions" {
  default = ["east", "west"]
}
dynamic "stage" {
  for_each = var.regions
  labels   = [stage.value]
  content {
    dynamic "pipeline" {
      for_each = ["infra", "app"]
      labels   = [pipeline.value]
      content {
        template_id = "prn:pipeline_template:o/p/${pipeline.value}"
        variables   = { region = stage.value }
      }
    }
  }
}
"#;
    assert_eq!(
        paths(TemplateKind::Pipeline, src),
        [
            "stage.east.pipeline.infra",
            "stage.east.pipeline.app",
            "stage.west.pipeline.infra",
            "stage.west.pipeline.app"
        ]
    );
    let lifecycle = r#"
stage "rollout" {
  dynamic "deployment" {
    for_each = ["us", "eu"]
    content {
      environment  = deployment.value
      dependencies = deployment.key == 0 ? [] : ["us"]
    }
  }
}
"#;
    assert_eq!(
        paths(TemplateKind::Lifecycle, lifecycle),
        ["stage.rollout.deployment.us", "stage.rollout.deployment.eu"]
    );
}

#[test]
fn generated_names_are_checked_like_written_ones() {
    let src = r#"
stage "s" {
  dynamic "task" {
    for_each = ["a", "b", "a"]
    labels   = [task.value]
    content {
      dependencies = [task.value == "b" ? "c" : "b"]
    }
  }
}
"#;
    let d = compile(
        src,
        &CompileOptions::new(TemplateKind::Pipeline, chrono::DateTime::UNIX_EPOCH),
    )
    .unwrap_err()
    .render("t.hcl");
    assert!(d.contains("task \"a\" appears twice"), "{d}");
}
