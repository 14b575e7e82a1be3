//! The HCL template engine: pipeline and release lifecycle templates, parsed,
//! expanded, validated and evaluated into an [`ExecutionGraph`].
//!
//! ```
//! use phobos_core::template::{compile, CompileOptions, TemplateKind};
//!
//! let src = r#"
//! stage "build" {
//!   task "hello" {
//!     action "exec_command" {
//!       command = "echo hello"
//!     }
//!   }
//! }
//! "#;
//! let at = chrono::DateTime::UNIX_EPOCH; // the caller says when
//! let out = compile(src, &CompileOptions::new(TemplateKind::Pipeline, at)).unwrap();
//! assert_eq!(out.graph.stages[0].nodes[0].path, "stage.build.task.hello");
//! ```
//!
//! The steps: hcl-edit parses the text (keeping byte spans);
//! [`decode`] reads every body against its schema, expands `dynamic` blocks and
//! evaluates attributes ([`eval`]), deferring those that need run-time values;
//! [`validate`] checks what spans the whole template; [`graph`] orders it.
//! Every problem found along the way is reported, not just the first.

pub mod canonical;
pub mod diagnostic;
pub mod duration;
pub mod eval;
pub mod functions;
pub mod graph;
pub mod model;
pub mod nesting;
pub mod number;
pub mod schedule;
pub mod types;
mod unify;
pub mod value;

mod decode;
mod escapes;
mod validate;

use chrono::{DateTime, Utc};
use indexmap::IndexMap;

pub use diagnostic::{Diagnostic, DiagnosticCode, Diagnostics, Severity};
pub use graph::{ExecutionGraph, GraphStage, GRAPH_SHAPE};
pub use model::{Expr, Template, TemplateKind};
pub use types::Type;
pub use value::Value;

use eval::{Binding, Evaluator, Scope};
use functions::FuncContext;

/// Parses a body, refusing nesting deeper than [`nesting::MAX_NESTING`]
/// first (see `nesting.rs` for why). Errors come as one located diagnostic.
pub(crate) fn parse_body(source: &str) -> Result<hcl_edit::structure::Body, Diagnostic> {
    if let Some((at, what)) = nesting::too_deep(source) {
        return Err(Diagnostic::error(Some(at..at), nesting_message(what)));
    }
    let mut body = hcl_edit::parser::parse_body(source).map_err(|e| {
        let offset = e.location().offset();
        match number_too_large(source, offset) {
            Some((span, message)) => Diagnostic::error(Some(span), message),
            None => Diagnostic::error(
                Some(offset..offset),
                format!("syntax error: {}", e.message()),
            ),
        }
    })?;
    escapes::unescape_directives(&mut body)
        .map_err(|e| Diagnostic::error(e.span, format!("syntax error: {}", e.message)))?;
    Ok(body)
}

/// When a syntax error at `offset` is a number literal beyond float64's
/// range (`1e400`: hcl-edit reads literals as float64 and stops at the
/// exponent), the literal's span and a message saying what to write instead.
/// Terraform takes such literals; this is one of the deliberate differences.
fn number_too_large(source: &str, offset: usize) -> Option<(std::ops::Range<usize>, String)> {
    let b = source.as_bytes();
    // hcl-edit stops after the literal's integer part: go back over it (and
    // over a fraction, when it stopped at the exponent).
    let mut start = offset.min(b.len());
    while start > 0 && (b[start - 1].is_ascii_digit() || b[start - 1] == b'.') {
        start -= 1;
    }
    while start < offset && b[start] == b'.' {
        start += 1;
    }
    let before_is_word =
        start > 0 && (b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'_');
    if !b.get(start).is_some_and(u8::is_ascii_digit) || before_is_word {
        return None;
    }
    let digits = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut end = digits(start);
    if b.get(end) == Some(&b'.') {
        end = digits(end + 1);
    }
    if matches!(b.get(end), Some(b'e' | b'E')) {
        let mut i = end + 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        end = digits(i);
    }
    let text = &source[start..end];
    let big = text.parse::<f64>().is_ok_and(f64::is_infinite);
    big.then(|| {
        (
            start..end,
            format!(
                "the number {text} is too large to write as a literal (the largest is about 1.8e308); write it as a string and convert it: tonumber(\"{text}\")"
            ),
        )
    })
}

fn nesting_message(what: &str) -> String {
    if what == "block" {
        format!(
            "blocks nest more than {} levels deep here",
            nesting::MAX_BLOCK_NESTING
        )
    } else {
        format!(
            "brackets nest more than {} levels deep in this expression; split it or move parts into variables",
            nesting::MAX_NESTING
        )
    }
}

/// Parses one expression, with the same guard as [`parse_body`].
pub(crate) fn parse_expr(source: &str) -> Result<hcl_edit::expr::Expression, String> {
    if let Some((_, what)) = nesting::expression_too_deep(source) {
        return Err(nesting_message(what));
    }
    let mut expr = hcl_edit::parser::parse_expr(source).map_err(|e| {
        number_too_large(source, e.location().offset())
            .map_or_else(|| e.message().to_string(), |(_, message)| message)
    })?;
    escapes::unescape_directives_in_expr(&mut expr).map_err(|e| e.message)?;
    Ok(expr)
}

/// A value supplied for a variable when a pipeline is created.
#[derive(Debug, Clone, PartialEq)]
pub enum VariableInput {
    /// A typed value (from the API, or a variables file).
    Value(Value),
    /// Text from a command line. For `string`, `number` and `bool` variables it
    /// is the value itself (`--var n=01` keeps the zero); for other types it is
    /// read as an HCL expression, falling back to the plain string.
    Raw(String),
}

impl VariableInput {
    fn resolve(&self, ty: &Type) -> Value {
        match self {
            VariableInput::Value(v) => v.clone(),
            VariableInput::Raw(s) if ty.is_primitive() => match parse_expr(s) {
                Ok(hcl_edit::expr::Expression::String(q)) => Value::String(q.value().clone()),
                _ => Value::String(s.clone()),
            },
            VariableInput::Raw(s) => parse_value(s).unwrap_or_else(|| Value::String(s.clone())),
        }
    }
}

/// Reads text as a constant HCL expression (`[1, 2]`, `{ a = "b" }`, `true`).
pub fn parse_value(s: &str) -> Option<Value> {
    let e = parse_expr(s).ok()?;
    let ctx = FuncContext {
        now: DateTime::UNIX_EPOCH,
    };
    Evaluator::new(&ctx).eval(&e, &Scope::default()).ok()
}

/// What to compile a template as, and with which inputs.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    pub kind: TemplateKind,
    pub variables: IndexMap<String, VariableInput>,
    /// The pipeline's creation time: what `timestamp()` returns.
    pub now: DateTime<Utc>,
}

impl CompileOptions {
    /// Options for a template of `kind` compiled at `now` (the pipeline's
    /// creation time; core reads no clock, its callers pass the time).
    pub fn new(kind: TemplateKind, now: DateTime<Utc>) -> Self {
        CompileOptions {
            kind,
            variables: IndexMap::new(),
            now,
        }
    }

    pub fn var(mut self, name: impl Into<String>, input: VariableInput) -> Self {
        self.variables.insert(name.into(), input);
        self
    }
}

/// A valid template: its model, its execution graph, and any warnings.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub template: Template,
    pub graph: ExecutionGraph,
    pub warnings: Diagnostics,
}

/// The names of the variables a template declares, in file order (a
/// release gives each template only the variables it declares).
pub fn declared_variables(source: &str) -> Result<Vec<String>, Diagnostics> {
    let body = parse_body(source).map_err(|d| {
        let mut diags = Diagnostics::default();
        diags.push(d);
        diags.locate(source);
        diags
    })?;
    Ok(body
        .blocks()
        .filter(|b| b.ident.as_str() == "variable")
        .filter_map(|b| b.labels.first().map(|l| l.as_str().to_string()))
        .collect())
}

/// Parses, expands, validates and evaluates a template. On failure, returns
/// every diagnostic found (errors and warnings), located and in source order.
pub fn compile(source: &str, opts: &CompileOptions) -> Result<Compiled, Diagnostics> {
    let mut diags = Diagnostics::default();
    let body = match parse_body(source) {
        Ok(b) => b,
        Err(d) => {
            diags.push(d);
            diags.locate(source);
            return Err(diags);
        }
    };
    let ctx = FuncContext { now: opts.now };
    let mut dec = decode::Decoder::new(Evaluator::new(&ctx), opts.kind);
    let template = dec.template(&body, &opts.variables);
    let mut diags = std::mem::take(&mut dec.diags);
    if !diags.has_errors() {
        validate::validate(&template, &dec.runtime_refs, &mut diags);
    }
    diags.locate(source);
    if diags.has_errors() {
        return Err(diags);
    }
    let graph = ExecutionGraph::new(&template);
    Ok(Compiled {
        template,
        graph,
        warnings: diags,
    })
}

/// Reads a variables file: `name = value` lines of constant HCL, evaluated
/// at `now` (what `timestamp()` gives in it).
pub fn parse_var_file(
    source: &str,
    now: DateTime<Utc>,
) -> Result<IndexMap<String, Value>, Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut out = IndexMap::new();
    match parse_body(source) {
        Err(d) => diags.push(d),
        Ok(body) => {
            let ctx = FuncContext { now };
            let ev = Evaluator::new(&ctx);
            for s in body.iter() {
                use hcl_edit::Span;
                match s {
                    hcl_edit::structure::Structure::Block(b) => diags.error(
                        b.ident.span(),
                        "a variables file holds only `name = value` lines, not blocks",
                    ),
                    hcl_edit::structure::Structure::Attribute(a) => {
                        match ev.eval(&a.value, &Scope::default()) {
                            Ok(v) => {
                                if out.insert(a.key.as_str().to_owned(), v).is_some() {
                                    diags.error(
                                        a.key.span(),
                                        format!("\"{}\" is set twice", a.key.as_str()),
                                    );
                                }
                            }
                            Err(e) => diags.error(e.span.or(a.value.span()), e.message),
                        }
                    }
                }
            }
        }
    }
    diags.locate(source);
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(out)
    }
}

/// Finishes a deferred expression at run time, given the run-time roots.
pub fn evaluate_deferred(
    expression: &str,
    action_outputs: Value,
    jwt: Value,
    vcs_token: Value,
    now: DateTime<Utc>,
) -> Result<Value, eval::EvalError> {
    let e = parse_expr(expression).map_err(|m| eval::EvalError {
        span: None,
        message: format!("deferred expression does not parse: {m}"),
    })?;
    let scope = Scope::default()
        .with("action_outputs", Binding::Known(action_outputs))
        .with("jwt", Binding::Known(jwt))
        .with("vcs_token", Binding::Known(vcs_token));
    let ctx = FuncContext { now };
    Evaluator::new(&ctx).eval(&e, &scope)
}

/// The candidate closest to `name` by edit distance, if it is close enough to
/// be a likely typo.
pub(crate) fn suggest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = ((name.chars().count() + 1) / 3).min(3);
    candidates
        .into_iter()
        .map(|c| (strsim::osa_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Guesses a template's kind: a stage holding a `deployment` block (or a
/// dynamic one) makes it a release lifecycle; anything else is a pipeline.
pub fn detect_kind(source: &str) -> TemplateKind {
    let Ok(body) = parse_body(source) else {
        return TemplateKind::Pipeline;
    };
    let lifecycle = body
        .blocks()
        .filter(|b| b.ident.as_str() == "stage")
        .any(|stage| {
            stage.body.blocks().any(|b| {
                b.ident.as_str() == "deployment"
                    || (b.ident.as_str() == "dynamic"
                        && b.labels.first().is_some_and(|l| l.as_str() == "deployment"))
            })
        });
    if lifecycle {
        TemplateKind::Lifecycle
    } else {
        TemplateKind::Pipeline
    }
}
