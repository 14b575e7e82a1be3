//! Parse + expand + validate + evaluate a generated template of 2,000 tasks
//! (a dynamic block over 2,000 items, each with a dependency and an
//! interpolated command that also reads the first task's outputs), against a baseline of parsing the same text alone.
//! `cargo xtask bench` prints the ratio.

use criterion::{criterion_group, criterion_main, Criterion};
use phobos_core::template::{compile, CompileOptions, TemplateKind, Value, VariableInput};

/// The template, and the options that give `items` the values 1..n.
pub fn generated(n: usize) -> (String, CompileOptions) {
    let items = Value::Array((1..n as i64).map(Value::from).collect());
    let opts =
        CompileOptions::new(TemplateKind::Pipeline).var("items", VariableInput::Value(items));
    let src = format!(
        r#"# generated: {n} tasks
variable "items" {{
  type = list(number)
}}
variable "greeting" {{
  default = "hello"
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

fn bench(c: &mut Criterion) {
    let (src, opts) = generated(2000);
    // Sanity: the template is valid and really has 2,000 tasks.
    let compiled = compile(&src, &opts).expect("generated template is valid");
    assert_eq!(compiled.graph.node_count(), 2000);

    let mut g = c.benchmark_group("template_2000_tasks");
    g.sample_size(20);
    g.bench_function("baseline_parse_only", |b| {
        b.iter(|| hcl_edit::parser::parse_body(&src).unwrap())
    });
    g.bench_function("compile", |b| b.iter(|| compile(&src, &opts).unwrap()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
