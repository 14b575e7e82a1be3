//! Parse + expand + validate + evaluate a generated template of 2,000 tasks
//! (a dynamic block over 2,000 items, each with a dependency and an
//! interpolated command that also reads the first task's outputs).
//!
//! The baseline is hcl-edit parsing the same 2,000 tasks written out by hand:
//! the least any engine must do to read them. `cargo xtask bench` prints each
//! measurement as a ratio to it.

use criterion::{criterion_group, criterion_main, Criterion};
use phobos_core::template::{compile, CompileOptions, TemplateKind, Value, VariableInput};

const GREETING: &str = "hello";

/// The dynamic template, and the options that give `items` the values 1..n.
fn dynamic(n: usize) -> (String, CompileOptions) {
    let items = Value::Array((1..n as i64).map(Value::from).collect());
    let opts = CompileOptions::new(TemplateKind::Pipeline, chrono::DateTime::UNIX_EPOCH)
        .var("items", VariableInput::Value(items));
    let src = format!(
        r#"# generated: {n} tasks
variable "items" {{
  type = list(number)
}}
variable "greeting" {{
  default = "{GREETING}"
}}
stage "big" {{
  task "t0" {{
    action "exec_command" {{
      command = "echo start"
    }}
  }}
  dynamic "task" {{
    for_each = var.items
    labels   = ["t${{task.value}}"]
    content {{
      dependencies = ["t${{task.value - 1}}"]
      action "exec_command" {{
        command = "echo ${{upper(var.greeting)}} from task ${{task.value}} of ${{length(var.items) + 1}}, after ${{action_outputs.stage.big.task.t0.action.exec_command.exit_code}}"
      }}
    }}
  }}
}}
"#
    );
    (src, opts)
}

/// The same tasks written out, as the dynamic block expands them.
fn expanded(n: usize) -> String {
    let mut s = String::from("stage \"big\" {\n  task \"t0\" {\n    action \"exec_command\" {\n      command = \"echo start\"\n    }\n  }\n");
    let upper = GREETING.to_uppercase();
    for i in 1..n {
        s.push_str(&format!(
            "  task \"t{i}\" {{\n    dependencies = [\"t{}\"]\n    action \"exec_command\" {{\n      command = \"echo {upper} from task {i} of {n}, after ${{action_outputs.stage.big.task.t0.action.exec_command.exit_code}}\"\n    }}\n  }}\n",
            i - 1
        ));
    }
    s.push_str("}\n");
    s
}

fn bench(c: &mut Criterion) {
    let (src, opts) = dynamic(2000);
    let flat = expanded(2000);
    let plain = CompileOptions::new(TemplateKind::Pipeline, chrono::DateTime::UNIX_EPOCH);
    // Both templates are valid, have 2,000 tasks, and give the same graph.
    let a = compile(&src, &opts).expect("dynamic template is valid");
    let b = compile(&flat, &plain).expect("expanded template is valid");
    assert_eq!(a.graph.node_count(), 2000);
    // (compared as JSON: source spans differ, the graphs must not)
    let json = |c: &phobos_core::template::Compiled| serde_json::to_value(&c.graph.stages).unwrap();
    assert_eq!(json(&a), json(&b));

    let mut g = c.benchmark_group("template_2000_tasks");
    g.sample_size(20);
    g.bench_function("baseline_parse_expanded", |b| {
        b.iter(|| hcl_edit::parser::parse_body(&flat).unwrap())
    });
    g.bench_function("compile_dynamic", |b| {
        b.iter(|| compile(&src, &opts).unwrap())
    });
    g.bench_function("compile_expanded", |b| {
        b.iter(|| compile(&flat, &plain).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
