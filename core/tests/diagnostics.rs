//! Bad templates: each must fail with every expected diagnostic, at the right
//! line and column, and with a message that says what to do.

use phobos_core::template::{compile, CompileOptions, TemplateKind, VariableInput};

/// Compiles `src` and returns the rendered diagnostics (errors and warnings).
fn diags(kind: TemplateKind, src: &str, vars: &[(&str, &str)]) -> Vec<String> {
    let mut opts = CompileOptions::new(kind, chrono::DateTime::UNIX_EPOCH);
    for (k, v) in vars {
        opts = opts.var(*k, VariableInput::Raw(v.to_string()));
    }
    match compile(src, &opts) {
        Ok(c) => c.warnings.0.iter().map(|d| d.render("t.hcl")).collect(),
        Err(d) => d.0.iter().map(|d| d.render("t.hcl")).collect(),
    }
}

fn expect(kind: TemplateKind, src: &str, vars: &[(&str, &str)], wanted: &[&str]) {
    let got = diags(kind, src, vars);
    for w in wanted {
        assert!(
            got.iter().any(|g| g.contains(w)),
            "expected a diagnostic containing\n  {w}\nin:\n  {}\nfor:\n{src}",
            got.join("\n  ")
        );
    }
    let errors = got.iter().filter(|g| g.contains(": error: ")).count();
    let wanted_errors = wanted.iter().filter(|w| w.contains("error: ")).count();
    assert_eq!(
        errors,
        wanted_errors,
        "unexpected number of errors:\n  {}\nfor:\n{src}",
        got.join("\n  ")
    );
}

const P: TemplateKind = TemplateKind::Pipeline;
const L: TemplateKind = TemplateKind::Lifecycle;

#[test]
fn syntax_errors_have_a_position() {
    expect(
        P,
        "stage \"a\" {\n  task \"b\" {\n    when = \n  }\n}\n",
        &[],
        &["t.hcl:3:12: error: syntax error"],
    );
}

#[test]
fn a_number_literal_beyond_float64_says_what_to_write() {
    expect(
        P,
        "stage \"a\" {\n  task \"b\" {\n    action \"exec_command\" {\n      command = [1, 2.5e999]\n    }\n  }\n}\n",
        &[],
        &["t.hcl:4:21: error: the number 2.5e999 is too large to write as a literal (the largest is about 1.8e308); write it as a string and convert it: tonumber(\"2.5e999\")"],
    );
}

#[test]
fn an_unknown_escape_in_a_directive_has_a_position() {
    expect(
        P,
        "stage \"a\" {\n  task \"b\" {\n    action \"exec_command\" {\n      command = \"%{ if true }a\\qb%{ endif }\"\n    }\n  }\n}\n",
        &[],
        &["t.hcl:4:31: error: syntax error: invalid escape \\q"],
    );
}

#[test]
fn unknown_blocks_and_attributes() {
    let src = r#"stage "a" {
  task "b" {
    whn = "auto"
    actoin "exec_command" { command = "x" }
  }
  deployment { environment = "x" }
}
foo {}
"#;
    expect(
        P,
        src,
        &[],
        &[
            "t.hcl:3:5: error: unknown attribute `whn` in a task; did you mean `when`?",
            "t.hcl:4:5: error: unknown block `actoin` in a task; did you mean `action`?",
            "t.hcl:6:3: error: unknown block `deployment` in a stage",
            "t.hcl:8:1: error: unknown block `foo` in a pipeline template",
        ],
    );
    // agent is pipeline-only; pipeline blocks are not part of lifecycles.
    expect(L, "agent { tags = [\"a\"] }\nstage \"s\" {\n  pipeline \"p\" {}\n  deployment { environment = \"e\" }\n}\n", &[], &[
        "t.hcl:1:1: error: unknown block `agent` in a release lifecycle template",
        "t.hcl:3:3: error: unknown block `pipeline` in a stage",
    ]);
    expect(
        P,
        "stage \"s\" {\n  task \"t\" {\n    schedule = {}\n  }\n}\n",
        &[],
        &["t.hcl:3:5: error: `schedule` is a block in a task: write `schedule { … }`"],
    );
}

#[test]
fn values_outside_the_documented_sets() {
    let src = r#"stage "s" {
  task "t" { when = "sometimes" }
  pipeline "p" {
    template_id   = "prn:pipeline_template:o/p/t"
    pipeline_type = "nestd"
  }
  task "u" {
    schedule {
      type    = "weekly"
      options = {}
    }
  }
}
volume "v" {
  type = "git"
}
"#;
    expect(P, src, &[], &[
        "t.hcl:2:21: error: `when` must be one of \"auto\", \"manual\", \"never\", got \"sometimes\"",
        "t.hcl:5:21: error: `pipeline_type` must be one of \"nested\", \"deployment\", got \"nestd\" (did you mean \"nested\"?)",
        "t.hcl:9:17: error: `type` must be one of \"datetime\", \"cron\", got \"weekly\"",
        "t.hcl:15:10: error: `type` must be one of \"vcs\", got \"git\"",
    ]);
    expect(L, "stage \"s\" {\n  deployment {\n    environment = \"e\"\n    when = \"never\"\n    on_error = \"ignore\"\n  }\n}\n", &[], &[
        "t.hcl:4:12: error: `when` must be one of \"auto\", \"manual\", got \"never\"",
        "t.hcl:5:16: error: `on_error` must be one of \"fail\", \"continue\", got \"ignore\"",
    ]);
}

#[test]
fn wrong_types() {
    let src = r#"stage "s" {
  task "t" {
    dependencies = "u"
    attempts     = "many"
    interval     = "1m"
  }
}
"#;
    expect(
        P,
        src,
        &[],
        &[
            "t.hcl:3:20: error: `dependencies` must be a list of strings",
            "t.hcl:4:20: error: `attempts` must be a whole number of at least 1, got \"many\"",
        ],
    );
}

#[test]
fn duplicates() {
    let src = r#"stage "a" {
  task "t" {}
  task "t" {}
  pipeline "t" { template_id = "prn:pipeline_template:x/y" }
  pre {
    task "t" {}
  }
}
stage "a" {
  task "x" {}
}
"#;
    expect(
        P,
        src,
        &[],
        &[
            "t.hcl:3:3: error: task \"t\" appears twice in the main section of stage \"a\"",
            "t.hcl:4:3: error: the pipeline \"t\" has the same name as a task",
            "t.hcl:9:1: error: stage \"a\" is declared twice",
        ],
    );
    expect(L, "stage \"s\" {\n  deployment { environment = \"e\" }\n  deployment { environment = \"e\" }\n}\n", &[], &[
        "t.hcl:3:3: error: deployment \"e\" appears twice",
    ]);
}

#[test]
fn dependencies_unknown_misplaced_and_cyclic() {
    let src = r#"stage "a" {
  pre {
    task "p" {}
  }
  task "x" { dependencies = ["y"] }
  task "y" { dependencies = ["z"] }
  task "z" { dependencies = ["x"] }
  task "w" { dependencies = ["p", "q", "other", "w"] }
}
stage "b" {
  task "other" {}
}
"#;
    expect(P, src, &[], &[
        "t.hcl:5:3: error: dependency cycle in stage \"a\": x -> y -> z -> x",
        "t.hcl:8:30: error: dependency \"p\" is a task in the pre block of this stage, but dependencies can only name nodes in the same section",
        "t.hcl:8:35: error: dependency \"q\" names no node in the main section of stage \"a\"",
        "t.hcl:8:40: error: dependency \"other\" is a task in stage \"b\"",
        "t.hcl:8:49: error: task \"w\" depends on itself",
    ]);
}

#[test]
fn stage_order_must_name_every_stage_once() {
    let src = "stage_order = [\"a\", \"c\", \"a\"]\nstage \"a\" {\n  task \"t\" {}\n}\nstage \"b\" {\n  task \"t\" {}\n}\n";
    expect(
        P,
        src,
        &[],
        &[
            "t.hcl:1:21: error: stage_order names \"c\", but there is no such stage",
            "t.hcl:1:26: error: stage_order lists \"a\" twice",
            "t.hcl:5:1: error: stage \"b\" is missing from stage_order",
        ],
    );
}

#[test]
fn gates_need_attempts_and_a_valid_interval() {
    let src = r#"stage "s" {
  task "a" { interval = "2m" }
  task "b" {
    interval = "2 minutes"
    attempts = 3
  }
  task "c" {
    interval = "1m"
    attempts = 0
  }
  task "d" { attempts = 2 }
}
"#;
    expect(
        P,
        src,
        &[],
        &[
            "t.hcl:2:14: error: a task with `interval` also needs `attempts`",
            "t.hcl:4:16: error: `interval`: invalid duration",
            "t.hcl:9:16: error: `attempts` must be a whole number of at least 1, got 0",
            "t.hcl:11:14: warning: `attempts` has no effect without `interval`",
        ],
    );
}

#[test]
fn schedules() {
    let src = r#"stage "s" {
  task "a" {
    when = "manual"
    schedule {
      type    = "datetime"
      options = { value = "2024-11-25T14:50:00Z" }
    }
  }
  task "b" {
    schedule {
      type    = "datetime"
      options = { value = "tomorrow" }
    }
  }
  task "c" {
    schedule {
      type    = "cron"
      options = { expression = "0 0 12 * * *", timezone = "UTC" }
    }
  }
  task "d" {
    schedule {
      type    = "cron"
      options = { expression = "* * * * 5#3", timezone = "Mars/Base" }
    }
  }
  task "e" {
    schedule {
      type    = "cron"
      options = { expression = "* * * * *" }
    }
  }
}
"#;
    expect(
        P,
        src,
        &[],
        &[
            "t.hcl:3:12: error: a schedule starts a node automatically, so `when` must be \"auto\"",
            "t.hcl:12:17: error: schedule value \"tomorrow\" is not an RFC 3339 time",
            "t.hcl:18:17: error: cron expression \"0 0 12 * * *\" has 6 field(s); write 5",
            "t.hcl:24:17: error: \"Mars/Base\" is not an IANA time zone",
            "t.hcl:30:17: error: a cron schedule needs options = { expression",
        ],
    );
}

#[test]
fn conditions_must_be_boolean() {
    let src = r#"variable "n" {
  default = 3
}
stage "s" {
  task "a" {
    if = var.n
  }
  task "b" {
    if = var.n > 2
  }
  task "c" {
    action "exec_command" { command = "true" }
  }
  task "d" {
    dependencies      = ["c"]
    if                = action_outputs.stage.s.task.c.action.exec_command.exit_code + 1
    success_condition = "action_outputs.stage.s.task.d.action.exec_command.exit_code"
    action "exec_command" { command = "x" }
  }
}
"#;
    expect(
        P,
        src,
        &[],
        &[
            "t.hcl:6:10: error: `if` must be a boolean expression, got number 3",
            "t.hcl:16:25: error: `if` must be a boolean expression (a comparison",
        ],
    );
}

#[test]
fn approval_rules_and_ids_must_be_prns_or_ids() {
    let src = r#"stage "s" {
  task "a" {
    approval_rules = ["prn:approval_rule:org/team", "8a3e0f5c-1b2d-4e6f-9a0b-1c2d3e4f5a6b", "release managers", "prn:team:x"]
  }
  pipeline "p" {
    template_id = "<pipeline_template_id>"
  }
}
vcs_token "t" {
  provider_id = "prn:vcs_provider"
}
"#;
    expect(P, src, &[], &[
        "t.hcl:3:93: error: approval rule: \"release managers\" is neither a PRN",
        "t.hcl:3:113: error: approval rule: \"prn:team:x\" is a PRN of a team, but a approval_rule is expected",
        "t.hcl:6:19: error: `template_id`: \"<pipeline_template_id>\" is neither a PRN",
        "t.hcl:10:17: error: `provider_id`: \"prn:vcs_provider\" is not a PRN",
    ]);
}

#[test]
fn action_labels_need_a_declared_plugin() {
    let src = r#"plugin_requirements {
  tharsis = { source = "martian-cloud/tharsis" }
}
stage "s" {
  task "a" {
    action "tharsis_create_run" {}
    action "gitlab_merge" {}
    action "exec_command" {}
    action "exec_script" { script = "x" }
    action "exec_command" {
      alias   = "second"
      command = "x"
      shell   = "bash"
    }
    action "nounderscore" {}
  }
}
"#;
    expect(P, src, &[], &[
        "t.hcl:7:12: error: action \"gitlab_merge\" uses plugin \"gitlab\", which is not declared",
        "t.hcl:8:5: error: action \"exec_command\" needs `command = …`",
        "t.hcl:9:12: error: unknown action `exec_script` in the built-in exec plugin",
        "t.hcl:13:7: error: unknown input `shell` in action \"exec_command\"",
        "t.hcl:15:12: error: action \"nounderscore\" must be labelled <plugin>_<action>",
    ]);
}

#[test]
fn mount_points_name_declared_volumes() {
    let src = r#"volume "tools" {
  type = "vcs"
  vcs_options {
    provider_id     = "p1"
    repository_path = "a/b"
  }
}
stage "s" {
  task "a" {
    mount_point { volume = "tool" }
  }
}
"#;
    expect(P, src, &[], &["t.hcl:10:28: error: mount_point names volume \"tool\", which is not declared; did you mean \"tools\"?"]);
}

#[test]
fn runtime_references_must_exist() {
    let src = r#"jwt "a" {
  audience = "x"
}
plugin "p" {
  token = jwt.b
  other = vcs_token.none.value
  out   = action_outputs.stage.s.task.t.action.x.y
}
stage "s" {
  pre {
    task "first" {
      action "exec_command" { command = "true" }
    }
  }
  task "t" {
    action "exec_command" {
      command = "echo ${action_outputs.stage.s.pre.task.first.action.exec_command.exit_code}"
    }
    action "exec_command" {
      alias   = "two"
      command = "echo ${action_outputs.stage.s.pre.task.frist.action.exec_command.exit_code}"
    }
    action "exec_command" {
      alias   = "three"
      command = "echo ${action_outputs.stage.s.task.t.action.four.exit_code}"
    }
    action "exec_command" {
      alias   = "four"
      command = "echo ${action_outputs.stage.s.task.u.action.exec_command.exit_code} ${action_outputs.stage.nope.task.x}"
    }
  }
  task "u" {
    action "exec_command" { command = "true" }
  }
}
"#;
    expect(
        P,
        src,
        &[],
        &[
            "t.hcl:5:11: error: no jwt named \"b\" is declared",
            "t.hcl:6:11: error: no vcs_token named \"none\" is declared",
            "t.hcl:7:11: error: action_outputs can only be used inside tasks",
        ],
    );
    // Those stop decoding before the graph checks; fix them and the rest shows.
    let src = src
        .replace("jwt.b", "jwt.a")
        .replace("  other = vcs_token.none.value\n", "")
        .replace("  out   = action_outputs.stage.s.task.t.action.x.y\n", "");
    expect(P, &src, &[], &[
        "t.hcl:19:25: error: action_outputs.stage.s.pre.task.frist.action.exec_command.exit_code: there is no node at stage.s.pre.task.frist; did you mean stage.s.pre.task.first?",
        "t.hcl:23:25: error: action_outputs.stage.s.task.t.action.four.exit_code: an action can only read the outputs of actions before it in the same task",
        "t.hcl:27:25: error: action_outputs.stage.s.task.u.action.exec_command.exit_code: stage.s.task.u does not run before stage.s.task.t, so its outputs may not exist yet; add \"u\" to its dependencies",
        "t.hcl:27:88: error: action_outputs.stage.nope.task.x: there is no stage \"nope\"",
    ]);
}

#[test]
fn dynamic_block_errors() {
    let src = r#"stage "s" {
  dynamic "task" {
    for_each = "abc"
    content {}
  }
  dynamic "task" {
    for_each = ["a"]
  }
  dynamic "schedule" {
    for_each = []
    content {}
  }
  dynamic "task" {
    for_each = action_outputs.stage.s.task.x.action.y.z
    content {}
  }
}
"#;
    expect(
        P,
        src,
        &[],
        &[
            "t.hcl:3:16: error: `for_each` must be a list, set or map, got string \"abc\"",
            "t.hcl:6:3: error: dynamic \"task\" needs a `content { … }` block",
            "t.hcl:9:11: error: unknown block `schedule` in a stage",
            "t.hcl:14:16: error: `for_each` must be known when the pipeline is created",
        ],
    );
    // Generated blocks without labels.
    expect(
        P,
        "stage \"s\" {\n  dynamic \"task\" {\n    for_each = [1]\n    content {}\n  }\n}\n",
        &[],
        &["t.hcl:2:3: error: a task block needs a name"],
    );
}

#[test]
fn variables_missing_mistyped_or_undeclared() {
    let src = r#"variable "count" {
  type = number
}
variable "names" {
  type    = list(string)
  default = ["a", {}]
}
variable "obj" {
  type = object({ a = string })
}
stage "s" {
  task "t" {
    action "exec_command" { command = "echo ${var.cuont}" }
  }
}
"#;
    expect(P, src, &[("obj", "{ b = 1 }"), ("extra", "1")], &[
        "t.hcl:1:10: error: variable \"count\" has no value: give one when creating the pipeline (e.g. --var count=…), or add a default",
        "t.hcl:6:13: error: the default of variable \"names\" does not fit its type list(string): element 1: a string is required, got object",
        "t.hcl:8:10: error: the value given for variable \"obj\" does not fit its type object({ a = string }): attribute \"a\" is required",
        "t.hcl:13:51: error: variable `cuont` is not declared; did you mean `var.count`?",
        "t.hcl: error: a value was given for variable \"extra\", but the template declares no such variable",
    ]);
    expect(P, "variable \"n\" {\n  type = number\n}\nstage \"s\" {\n  task \"t\" {\n    action \"exec_command\" { command = \"echo ${var.n}\" }\n  }\n}\n", &[("n", "five")], &[
        "t.hcl:1:10: error: the value given for variable \"n\" does not fit its type number: a number is required, got string \"five\"",
    ]);
}

#[test]
fn evaluation_errors_point_at_the_expression() {
    let src = r#"variable "l" {
  default = [1, 2]
}
stage "s" {
  task "t" {
    action "exec_command" {
      command = "echo ${var.l}"
    }
  }
  task "u" {
    action "exec_command" {
      command = "echo ${var.nope}"
    }
  }
  task "v" {
    action "exec_command" {
      command = upper(var.l)
    }
  }
}
"#;
    expect(
        P,
        src,
        &[],
        &[
            "t.hcl:7:25: error: cannot interpolate a list into a string",
            "t.hcl:12:29: error: variable `nope` is not declared",
            "t.hcl:17:23: error: upper(): argument 1",
        ],
    );
}

#[test]
fn names_must_be_identifiers() {
    let src = "stage \"my stage\" {\n  task \"1st\" {}\n  task \"\" {}\n}\njwt \"a.b\" {\n  audience = \"x\"\n}\n";
    expect(
        P,
        src,
        &[],
        &[
            "t.hcl:1:7: error: stage name \"my stage\" must be a plain name",
            "t.hcl:5:5: error: jwt name \"a.b\" must be a plain name",
        ],
    );
    let src = "stage \"s\" {\n  task \"1st\" {}\n  task \"\" {}\n}\n";
    expect(
        P,
        src,
        &[],
        &[
            "t.hcl:2:8: error: task name \"1st\" must be a plain name",
            "t.hcl:3:8: error: task name \"\" must be a plain name",
        ],
    );
}

#[test]
fn nesting_too_deep_for_the_parser_is_refused_up_front() {
    // Found by the fuzzer: hcl-edit spends about 2^depth on this shape (810
    // bytes took 1.7 s in a release build); it is refused before parsing.
    // Blocks count apart: this template is three blocks deep.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/regressions/slow-backtracking-nested-index.hcl"
    );
    let src = std::fs::read_to_string(path).unwrap();
    expect(
        P,
        &src,
        &[],
        &["t.hcl:1:445: error: brackets nest more than 10 levels deep in this expression"],
    );
    let src = format!(
        "stage \"s\" {{\n  task \"t\" {{\n    if = {}true{}\n  }}\n}}\n",
        "[".repeat(20),
        "]".repeat(20)
    );
    expect(
        P,
        &src,
        &[],
        &["t.hcl:3:20: error: brackets nest more than 10 levels deep in this expression"],
    );
    // Inside a string the scan does not count brackets; a condition written as
    // a string is re-parsed, so the guard applies there too.
    let cond = format!("{}T!%T", "q*T*t[".repeat(30));
    let src = format!("stage \"s\" {{\n  task \"t\" {{\n    if = \"{cond}\"\n  }}\n}}\n");
    expect(
        P,
        &src,
        &[],
        &["t.hcl:3:10: error: `if` must be a boolean expression, got string"],
    );
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let src = "stage \"a\" {\n  task \"t\" { when = \"x\" }\n  task \"u\" { when = \"y\" }\n  task \"v\" { whn = \"auto\" }\n}\n";
    let got = diags(P, src, &[]);
    assert_eq!(got.len(), 3, "{got:?}");
}
