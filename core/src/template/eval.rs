//! Expression evaluation over the hcl-edit syntax tree, with Terraform's
//! conversions, and partial evaluation of expressions that can only be known at
//! run time.
//!
//! Some roots (`action_outputs`, `jwt`, `vcs_token`) are bound to
//! [`Binding::Runtime`]: their values exist only when a job runs. An expression
//! that reaches one of them is not evaluated now; [`Evaluator::partial`] folds
//! every part of it that *is* known into literals and leaves the rest, so the
//! executor later needs nothing but the runtime roots to finish it.
//!
//! Evaluation works on hcl-edit expressions because they keep byte spans, so an
//! error points at the sub-expression that caused it.

use std::borrow::Cow;
use std::cell::Cell;
use std::cmp::Ordering;
use std::ops::Range;
use std::rc::Rc;

use hcl_edit::expr::{
    BinaryOperator, Expression, ForExpr, FuncCall, ObjectKey, TraversalOperator, UnaryOperator,
};
use hcl_edit::template::{Directive, Element, Strip, Template};
use hcl_edit::Span;

use super::canonical;
use super::functions::{self, FuncContext, FuncError};
use super::value::{self, describe, type_name, Map, Number, NumberError, Value};

/// How deeply expressions may nest before evaluation gives up (protects the stack).
const MAX_DEPTH: u32 = 200;

/// How many evaluation steps (expressions and loop iterations) one evaluator
/// may take: nested `for` loops over large ranges would otherwise let one
/// template hold a server's CPU and memory. The 2,000-task benchmark template
/// (core/benches) compiles well within it.
pub const MAX_STEPS: u64 = 2_000_000;

/// What a name in scope stands for.
#[derive(Debug, Clone)]
pub enum Binding {
    /// A value known now.
    Known(Value),
    /// A value that exists only at run time (`action_outputs`, `jwt`, `vcs_token`).
    Runtime,
}

/// An immutable chain of name bindings; cheap to extend and to clone.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    node: Option<Rc<ScopeNode>>,
}

#[derive(Debug)]
struct ScopeNode {
    name: String,
    binding: Binding,
    parent: Option<Rc<ScopeNode>>,
}

impl Scope {
    /// A scope with `name` bound in front of this one.
    pub fn with(&self, name: impl Into<String>, binding: Binding) -> Scope {
        Scope {
            node: Some(Rc::new(ScopeNode {
                name: name.into(),
                binding,
                parent: self.node.clone(),
            })),
        }
    }

    /// The innermost binding of `name`.
    pub fn get(&self, name: &str) -> Option<&Binding> {
        let mut cur = self.node.as_deref();
        while let Some(n) = cur {
            if n.name == name {
                return Some(&n.binding);
            }
            cur = n.parent.as_deref();
        }
        None
    }

    /// Every bound name, innermost first, without duplicates.
    pub fn names(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        let mut cur = self.node.as_deref();
        while let Some(n) = cur {
            if !out.contains(&n.name.as_str()) {
                out.push(&n.name);
            }
            cur = n.parent.as_deref();
        }
        out
    }

    fn is_runtime(&self, name: &str) -> bool {
        matches!(self.get(name), Some(Binding::Runtime))
    }
}

/// An evaluation failure, with the span of the sub-expression at fault when known.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalError {
    pub span: Option<Range<usize>>,
    pub message: String,
}

impl EvalError {
    fn at(span: Option<Range<usize>>, message: impl Into<String>) -> EvalError {
        EvalError {
            span,
            message: message.into(),
        }
    }
}

type Result<T> = std::result::Result<T, EvalError>;

/// A reference from an expression to a name in scope: `action_outputs.stage.x`,
/// `var.y`. `path` holds the attribute names (and literal indexes) that follow
/// the root, as far as they are static.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    pub root: String,
    pub path: Vec<String>,
    pub span: Option<Range<usize>>,
}

impl Reference {
    /// The reference in dotted form (`action_outputs.stage.dev.task.t`).
    pub fn dotted(&self) -> String {
        std::iter::once(self.root.as_str())
            .chain(self.path.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// Evaluates expressions; holds what functions need (the creation time).
pub struct Evaluator<'a> {
    funcs: &'a FuncContext,
    depth: Cell<u32>,
    steps: Cell<u64>,
}

impl<'a> Evaluator<'a> {
    pub fn new(funcs: &'a FuncContext) -> Self {
        Evaluator {
            funcs,
            depth: Cell::new(0),
            steps: Cell::new(0),
        }
    }

    /// Evaluates `expr` fully. Reaching a runtime root is an error; call
    /// [`Evaluator::needs_runtime`] first where deferring is allowed.
    pub fn eval(&self, expr: &Expression, scope: &Scope) -> Result<Value> {
        self.step(expr.span())?;
        let depth = self.depth.get();
        if depth >= MAX_DEPTH {
            return Err(EvalError::at(
                expr.span(),
                format!("expression nests more than {MAX_DEPTH} levels deep; simplify it"),
            ));
        }
        self.depth.set(depth + 1);
        let out = self.eval_inner(expr, scope);
        self.depth.set(depth);
        out
    }

    fn eval_inner(&self, expr: &Expression, scope: &Scope) -> Result<Value> {
        match expr {
            Expression::Null(_) => Ok(Value::Null),
            Expression::Bool(b) => Ok(Value::Bool(*b.value())),
            Expression::Number(n) => literal_number(n).map(Value::Number),
            Expression::String(s) => Ok(Value::String(canonical::nfc(s.value().clone()))),
            Expression::Array(items) => items
                .iter()
                .map(|e| self.eval(e, scope))
                .collect::<Result<Vec<_>>>()
                .map(Value::Array),
            Expression::Object(obj) => {
                let mut out = Map::with_capacity(obj.len());
                for (k, v) in obj.iter() {
                    let key = match k {
                        ObjectKey::Ident(id) => id.as_str().to_owned(),
                        ObjectKey::Expression(e) => {
                            let kv = self.eval(e, scope)?;
                            value::to_string(&kv).ok_or_else(|| {
                                EvalError::at(
                                    e.span(),
                                    format!(
                                        "an object key must be a string, got {}",
                                        type_name(&kv)
                                    ),
                                )
                            })?
                        }
                    };
                    let val = self.eval(v.expr(), scope)?;
                    out.insert(canonical::nfc(key), val);
                }
                canonical::sort_keys(&mut out);
                Ok(Value::Object(out))
            }
            Expression::StringTemplate(t) => self.eval_template(t, scope, expr.span()),
            Expression::HeredocTemplate(h) => self.eval_template(&h.template, scope, expr.span()),
            Expression::Parenthesis(p) => self.eval(p.inner(), scope),
            Expression::Variable(v) => self.lookup(v.as_str(), scope, v.span()).cloned(),
            Expression::Traversal(t) => match &t.expr {
                Expression::Variable(v) => self
                    .traverse_ref(v, &t.operators, scope)
                    .map(Cow::into_owned),
                other => {
                    let base = self.eval(other, scope)?;
                    self.apply_ops(base, &t.operators, scope)
                }
            },
            Expression::FuncCall(call) => self.eval_call(call, scope),
            Expression::Conditional(c) => {
                let cond = self.eval(&c.cond_expr, scope)?;
                match value::to_bool(&cond) {
                    Some(chosen) => {
                        let (taken, other) = if chosen {
                            (&c.true_expr, &c.false_expr)
                        } else {
                            (&c.false_expr, &c.true_expr)
                        };
                        let value = self.eval(taken, scope)?;
                        // Both results decide the type (errors of the other
                        // one are ignored, as in Terraform).
                        let other = self.eval(other, scope).ok();
                        super::unify::conditional(value, other.as_ref())
                            .map_err(|e| EvalError::at(expr.span(), e))
                    }
                    None => Err(EvalError::at(
                        c.cond_expr.span(),
                        format!(
                            "the condition of `? :` must be a bool, got {} {}",
                            type_name(&cond),
                            describe(&cond)
                        ),
                    )),
                }
            }
            Expression::UnaryOp(op) => {
                let v = self.eval(&op.expr, scope)?;
                match op.operator.value() {
                    UnaryOperator::Neg => value::to_number(&v)
                        .map(|n| Value::Number(n.neg()))
                        .ok_or_else(|| {
                            EvalError::at(
                                op.expr.span(),
                                format!("`-` needs a number, got {}", type_name(&v)),
                            )
                        }),
                    UnaryOperator::Not => {
                        value::to_bool(&v).map(|b| Value::Bool(!b)).ok_or_else(|| {
                            EvalError::at(
                                op.expr.span(),
                                format!("`!` needs a bool, got {}", type_name(&v)),
                            )
                        })
                    }
                }
            }
            Expression::BinaryOp(op) => self.eval_binary(
                &op.lhs_expr,
                *op.operator.value(),
                &op.rhs_expr,
                scope,
                expr.span(),
            ),
            Expression::ForExpr(f) => self.eval_for(f, scope),
        }
    }

    /// Counts one step against [`MAX_STEPS`].
    fn step(&self, span: Option<Range<usize>>) -> Result<()> {
        let n = self.steps.get() + 1;
        self.steps.set(n);
        if n > MAX_STEPS {
            return Err(EvalError::at(
                span,
                format!("evaluating this template takes more than {MAX_STEPS} steps; loops nested over large collections are the usual cause"),
            ));
        }
        Ok(())
    }

    fn lookup<'s>(
        &self,
        name: &str,
        scope: &'s Scope,
        span: Option<Range<usize>>,
    ) -> Result<&'s Value> {
        match scope.get(name) {
            Some(Binding::Known(v)) => Ok(v),
            Some(Binding::Runtime) => Err(EvalError::at(
                span,
                format!("`{name}` is only known when the job runs, and cannot be used here"),
            )),
            None => {
                let names = scope.names();
                let hint = match super::suggest(name, names.iter().copied()) {
                    Some(s) => format!("; did you mean `{s}`?"),
                    None if names.is_empty() => String::new(),
                    None => format!("; names in scope here: {}", names.join(", ")),
                };
                Err(EvalError::at(span, format!("unknown name `{name}`{hint}")))
            }
        }
    }

    /// One attribute or legacy-index step on a borrowed value.
    fn step_ref<'v>(
        &self,
        cur: &'v Value,
        op: &hcl_edit::Decorated<TraversalOperator>,
        _scope: &Scope,
    ) -> Result<&'v Value> {
        match &**op {
            TraversalOperator::GetAttr(name) => match cur {
                Value::Object(m) => m.get(name.as_str()).ok_or_else(|| {
                    let hint = super::suggest(name.as_str(), m.keys().map(String::as_str))
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_default();
                    EvalError::at(
                        name.span(),
                        format!("this object has no attribute `{}`{hint}", name.as_str()),
                    )
                }),
                Value::Null => Err(EvalError::at(
                    name.span(),
                    format!("cannot read attribute `{}` of null", name.as_str()),
                )),
                other => Err(EvalError::at(
                    name.span(),
                    format!(
                        "cannot read attribute `{}` of a {}; only objects and maps have attributes",
                        name.as_str(),
                        type_name(other)
                    ),
                )),
            },
            TraversalOperator::LegacyIndex(i) => {
                index_ref(cur, &value::int(*i.value() as i64), i.span())
            }
            _ => unreachable!("step_ref is only called for attribute and legacy index steps"),
        }
    }

    fn apply_ops(
        &self,
        mut cur: Value,
        ops: &[hcl_edit::Decorated<TraversalOperator>],
        scope: &Scope,
    ) -> Result<Value> {
        let mut i = 0;
        while i < ops.len() {
            match &*ops[i] {
                TraversalOperator::GetAttr(_) | TraversalOperator::LegacyIndex(_) => {
                    cur = self.step_ref(&cur, &ops[i], scope)?.clone();
                    i += 1;
                }
                TraversalOperator::Index(e) => {
                    let key = self.eval(e, scope)?;
                    cur = index_ref(&cur, &key, e.span())?.clone();
                    i += 1;
                }
                TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => {
                    let full = matches!(&*ops[i], TraversalOperator::FullSplat(_));
                    // An attribute splat applies only the attribute steps that follow it.
                    let end = if full {
                        ops.len()
                    } else {
                        ops[i + 1..]
                            .iter()
                            .position(|o| {
                                !matches!(
                                    &**o,
                                    TraversalOperator::GetAttr(_)
                                        | TraversalOperator::LegacyIndex(_)
                                )
                            })
                            .map_or(ops.len(), |p| i + 1 + p)
                    };
                    let rest = &ops[i + 1..end];
                    let items = match cur {
                        Value::Null => Vec::new(),
                        Value::Array(items) => items,
                        other => vec![other],
                    };
                    let mut out = Vec::with_capacity(items.len());
                    for item in items {
                        out.push(self.apply_ops(item, rest, scope)?);
                    }
                    cur = Value::Array(out);
                    i = end;
                }
            }
        }
        Ok(cur)
    }

    /// Like [`Evaluator::eval`], but a variable, or the attribute steps into
    /// one, is borrowed from the scope instead of copied.
    fn eval_cow<'s>(&self, expr: &Expression, scope: &'s Scope) -> Result<Cow<'s, Value>> {
        match expr {
            Expression::Variable(v) => {
                self.step(expr.span())?;
                self.lookup(v.as_str(), scope, v.span()).map(Cow::Borrowed)
            }
            Expression::Traversal(t) => match &t.expr {
                Expression::Variable(v) => {
                    self.step(expr.span())?;
                    self.traverse_ref(v, &t.operators, scope)
                }
                _ => self.eval(expr, scope).map(Cow::Owned),
            },
            _ => self.eval(expr, scope).map(Cow::Owned),
        }
    }

    /// Walks `base` and its leading attribute steps by reference, then applies
    /// the remaining operators to a copy (only when there are any).
    fn traverse_ref<'s>(
        &self,
        base: &hcl_edit::Decorated<hcl_edit::Ident>,
        ops: &[hcl_edit::Decorated<TraversalOperator>],
        scope: &'s Scope,
    ) -> Result<Cow<'s, Value>> {
        let root = self.lookup(base.as_str(), scope, base.span())?;
        if let (Value::Object(vars), Some(TraversalOperator::GetAttr(name))) =
            (root, ops.first().map(|o| &**o))
        {
            if base.as_str() == "var" && !vars.contains_key(name.as_str()) {
                let hint = super::suggest(name.as_str(), vars.keys().map(String::as_str))
                    .map(|s| format!("; did you mean `var.{s}`?"))
                    .unwrap_or_else(|| "; declare it with a variable block".into());
                return Err(EvalError::at(
                    name.span(),
                    format!("variable `{}` is not declared{hint}", name.as_str()),
                ));
            }
        }
        let borrowed = ops
            .iter()
            .take_while(|o| {
                matches!(
                    &***o,
                    TraversalOperator::GetAttr(_) | TraversalOperator::LegacyIndex(_)
                )
            })
            .count();
        let mut cur = root;
        for op in &ops[..borrowed] {
            cur = self.step_ref(cur, op, scope)?;
        }
        if borrowed == ops.len() {
            Ok(Cow::Borrowed(cur))
        } else {
            self.apply_ops(cur.clone(), &ops[borrowed..], scope)
                .map(Cow::Owned)
        }
    }

    fn eval_call(&self, call: &FuncCall, scope: &Scope) -> Result<Value> {
        let name = call.name.name.as_str();
        let name_span = call.name.name.span();
        if call.name.is_namespaced() {
            return Err(EvalError::at(
                name_span,
                format!(
                    "provider functions (`{}::…`) are not supported",
                    call.name.namespace[0].as_str()
                ),
            ));
        }
        if !functions::exists(name) {
            return Err(func_error(
                functions::call(name, Vec::new(), self.funcs).unwrap_err(),
                call,
                &[],
            ));
        }
        let mut args = Vec::with_capacity(call.args.len());
        let mut spans = Vec::with_capacity(call.args.len());
        let count = call.args.len();
        for (i, a) in call.args.iter().enumerate() {
            let v = self.eval_cow(a, scope)?;
            if i + 1 == count && call.args.expand_final() {
                match v.into_owned() {
                    Value::Array(items) => {
                        for item in items {
                            args.push(Cow::Owned(item));
                            spans.push(a.span());
                        }
                    }
                    other => {
                        return Err(EvalError::at(
                            a.span(),
                            format!(
                                "the argument before `...` must be a list, got {}",
                                type_name(&other)
                            ),
                        ))
                    }
                }
            } else {
                args.push(v);
                spans.push(a.span());
            }
        }
        let mut result = functions::call_borrowed(name, args, self.funcs)
            .map_err(|e| func_error(e, call, &spans))?;
        canonical::canonical(&mut result);
        Ok(result)
    }

    fn eval_binary(
        &self,
        lhs: &Expression,
        op: BinaryOperator,
        rhs: &Expression,
        scope: &Scope,
        span: Option<Range<usize>>,
    ) -> Result<Value> {
        use BinaryOperator::*;
        // Both operands are evaluated, `&&` and `||` included: Terraform does
        // not stop early (`x != null && x.y` is an error there too; use try()).
        let l = self.eval(lhs, scope)?;
        let r = self.eval(rhs, scope)?;
        let sym = op.as_str();
        let num = |v: &Value, e: &Expression| {
            value::to_number(v).ok_or_else(|| {
                EvalError::at(
                    e.span(),
                    format!(
                        "`{sym}` needs numbers, got {} {}",
                        type_name(v),
                        describe(v)
                    ),
                )
            })
        };
        let boolean = |v: &Value, e: &Expression| {
            value::to_bool(v).ok_or_else(|| {
                EvalError::at(
                    e.span(),
                    format!("`{sym}` needs bools, got {} {}", type_name(v), describe(v)),
                )
            })
        };
        let number = |n: std::result::Result<Number, NumberError>| {
            n.map(Value::Number)
                .map_err(|e| EvalError::at(span.clone(), format!("`{sym}` failed: {e}")))
        };
        let cmp = |want: fn(Ordering) -> bool| -> Result<Value> {
            Ok(Value::Bool(want(num(&l, lhs)?.compare(&num(&r, rhs)?))))
        };
        match op {
            Eq => Ok(Value::Bool(value::equals(&l, &r))),
            NotEq => Ok(Value::Bool(!value::equals(&l, &r))),
            // Both operands are checked, as in Terraform: `false && "x"` is an
            // error, not false (HCL does not short-circuit).
            And => {
                let (a, b) = (boolean(&l, lhs)?, boolean(&r, rhs)?);
                Ok(Value::Bool(a && b))
            }
            Or => {
                let (a, b) = (boolean(&l, lhs)?, boolean(&r, rhs)?);
                Ok(Value::Bool(a || b))
            }
            Less => cmp(Ordering::is_lt),
            LessEq => cmp(Ordering::is_le),
            Greater => cmp(Ordering::is_gt),
            GreaterEq => cmp(Ordering::is_ge),
            Plus => number(num(&l, lhs)?.add(&num(&r, rhs)?)),
            Minus => number(num(&l, lhs)?.sub(&num(&r, rhs)?)),
            Mul => number(num(&l, lhs)?.mul(&num(&r, rhs)?)),
            // As in Terraform: `1 / 0` is infinity, `0 / 0` an error.
            Div => number(num(&l, lhs)?.div(&num(&r, rhs)?)),
            // As in Terraform: `x % 0` is `x`.
            Mod => number(num(&l, lhs)?.rem(&num(&r, rhs)?)),
        }
    }

    fn eval_for(&self, f: &ForExpr, scope: &Scope) -> Result<Value> {
        let coll = self.eval(&f.intro.collection_expr, scope)?;
        let pairs = match value::entries(coll) {
            Ok(pairs) => pairs,
            Err(other) => {
                return Err(EvalError::at(
                    f.intro.collection_expr.span(),
                    format!(
                        "a `for` expression needs a list, set, map or object, got {}",
                        type_name(&other)
                    ),
                ))
            }
        };
        let mut list = Vec::new();
        let mut obj: Map<String, Value> = Map::new();
        for (k, v) in pairs {
            self.step(f.intro.collection_expr.span())?;
            let mut s = scope.with(f.intro.value_var.as_str(), Binding::Known(v));
            if let Some(kv) = &f.intro.key_var {
                s = s.with(kv.as_str(), Binding::Known(k));
            }
            if let Some(cond) = &f.cond {
                let c = self.eval(&cond.expr, &s)?;
                match value::to_bool(&c) {
                    Some(true) => {}
                    Some(false) => continue,
                    None => {
                        return Err(EvalError::at(
                            cond.expr.span(),
                            format!(
                                "the `if` of a `for` expression must be a bool, got {}",
                                type_name(&c)
                            ),
                        ))
                    }
                }
            }
            let val = self.eval(&f.value_expr, &s)?;
            match &f.key_expr {
                None => list.push(val),
                Some(ke) => {
                    let key = self.eval(ke, &s)?;
                    let key = value::to_string(&key).ok_or_else(|| {
                        EvalError::at(
                            ke.span(),
                            format!(
                                "a `for` expression's key must be a string, got {}",
                                type_name(&key)
                            ),
                        )
                    })?;
                    let key = canonical::nfc(key);
                    if f.grouping {
                        match obj.entry(key).or_insert_with(|| Value::Array(Vec::new())) {
                            Value::Array(items) => items.push(val),
                            _ => unreachable!("grouped entries are always lists"),
                        }
                    } else if obj.contains_key(&key) {
                        return Err(EvalError::at(
                            ke.span(),
                            format!("two elements produce the key {key:?}; add `...` after the value to group them"),
                        ));
                    } else {
                        obj.insert(key, val);
                    }
                }
            }
        }
        Ok(if f.key_expr.is_some() {
            canonical::sort_keys(&mut obj);
            Value::Object(obj)
        } else {
            Value::Array(list)
        })
    }

    fn eval_template(
        &self,
        t: &Template,
        scope: &Scope,
        span: Option<Range<usize>>,
    ) -> Result<Value> {
        // A template that is one interpolation and nothing else yields the value itself.
        if let Some(Element::Interpolation(i)) = t.as_single_element() {
            return self.eval(&i.expr, scope);
        }
        let mut out = String::new();
        self.render(t, scope, &mut out, false, false)?;
        if out.len() > MAX_STRING {
            return Err(EvalError::at(
                span,
                "this template renders more than 10 MiB",
            ));
        }
        Ok(Value::String(canonical::nfc(out)))
    }

    /// Renders `t`; `lead` and `trail` say whether the markers around it
    /// (`%{ if x ~}` … `%{~ endif }`) strip its first and last white space.
    fn render(
        &self,
        t: &Template,
        scope: &Scope,
        out: &mut String,
        lead: bool,
        trail: bool,
    ) -> Result<()> {
        let elems: Vec<&Element> = t.iter().collect();
        let mut strip_next = lead;
        for (idx, el) in elems.iter().enumerate() {
            // `~` on the next element strips the white space this literal ends with.
            let strip_end = match elems.get(idx + 1) {
                Some(Element::Interpolation(i)) => i.strip.strip_start(),
                Some(Element::Directive(d)) => directive_strip_start(d),
                Some(Element::Literal(_)) => false,
                None => trail,
            };
            match el {
                Element::Literal(lit) => {
                    let mut s: &str = lit.value();
                    if strip_next {
                        s = s.trim_start();
                    }
                    if strip_end {
                        s = s.trim_end();
                    }
                    out.push_str(s);
                    strip_next = false;
                }
                Element::Interpolation(i) => {
                    let v = self.eval(&i.expr, scope)?;
                    match value::to_string(&v) {
                        Some(s) => out.push_str(&s),
                        None => {
                            return Err(EvalError::at(
                                i.expr.span(),
                                match v {
                                    Value::Null => "cannot interpolate null into a string; use coalesce() or a conditional to give a default".to_string(),
                                    _ => format!("cannot interpolate a {} into a string; use jsonencode() or join() to make it a string", type_name(&v)),
                                },
                            ))
                        }
                    }
                    strip_next = i.strip.strip_end();
                }
                Element::Directive(d) => match &**d {
                    Directive::If(dir) => {
                        let c = self.eval(&dir.if_expr.cond_expr, scope)?;
                        let end_strip = dir.endif_expr.strip.strip_start();
                        match value::to_bool(&c) {
                            Some(true) => {
                                let trail = dir
                                    .else_expr
                                    .as_ref()
                                    .map_or(end_strip, |e| e.strip.strip_start());
                                let lead = dir.if_expr.strip.strip_end();
                                self.render(&dir.if_expr.template, scope, out, lead, trail)?
                            }
                            Some(false) => {
                                if let Some(e) = &dir.else_expr {
                                    let lead = e.strip.strip_end();
                                    self.render(&e.template, scope, out, lead, end_strip)?;
                                }
                            }
                            None => {
                                return Err(EvalError::at(
                                    dir.if_expr.cond_expr.span(),
                                    format!(
                                        "the condition of `%{{if}}` must be a bool, got {}",
                                        type_name(&c)
                                    ),
                                ))
                            }
                        }
                        strip_next = dir.endif_expr.strip.strip_end();
                    }
                    Directive::For(dir) => {
                        let fe = &dir.for_expr;
                        let coll = self.eval(&fe.collection_expr, scope)?;
                        let pairs = match value::entries(coll) {
                            Ok(pairs) => pairs,
                            Err(other) => {
                                return Err(EvalError::at(
                                    fe.collection_expr.span(),
                                    format!(
                                        "`%{{for}}` needs a list or map, got {}",
                                        type_name(&other)
                                    ),
                                ))
                            }
                        };
                        for (k, v) in pairs {
                            self.step(fe.collection_expr.span())?;
                            let mut s = scope.with(fe.value_var.as_str(), Binding::Known(v));
                            if let Some(kv) = &fe.key_var {
                                s = s.with(kv.as_str(), Binding::Known(k));
                            }
                            let (lead, trail) =
                                (fe.strip.strip_end(), dir.endfor_expr.strip.strip_start());
                            self.render(&fe.template, &s, out, lead, trail)?;
                            if out.len() > MAX_STRING {
                                return Err(EvalError::at(
                                    fe.collection_expr.span(),
                                    "this template renders more than 10 MiB",
                                ));
                            }
                        }
                        strip_next = dir.endfor_expr.strip.strip_end();
                    }
                },
            }
        }
        Ok(())
    }

    /// True when `expr` reaches a runtime root and so must be deferred.
    pub fn needs_runtime(&self, expr: &Expression, scope: &Scope) -> bool {
        let mut refs = Vec::new();
        references(expr, &mut Vec::new(), &mut refs);
        refs.iter().any(|r| scope.is_runtime(&r.root))
    }

    /// Folds every part of `expr` that is known in `scope` into a literal and
    /// returns what remains: an expression over runtime roots only.
    pub fn partial(&self, expr: &Expression, scope: &Scope) -> Result<Expression> {
        if !self.needs_runtime(expr, scope) {
            let v = self.eval(expr, scope)?;
            return Ok(value_to_expr(v));
        }
        let mut out = expr.clone();
        self.partial_in_place(&mut out, scope)?;
        Ok(out)
    }

    fn partial_in_place(&self, expr: &mut Expression, scope: &Scope) -> Result<()> {
        if !self.needs_runtime(expr, scope) {
            // Keep locals of an enclosing `for` symbolic: they are runtime-bound in
            // `scope`, so needs_runtime is true for them and we never get here.
            let v = self.eval(expr, scope)?;
            *expr = value_to_expr(v);
            return Ok(());
        }
        match expr {
            Expression::Array(items) => {
                for e in items.iter_mut() {
                    self.partial_in_place(e, scope)?;
                }
            }
            Expression::Object(obj) => {
                for (_, v) in obj.iter_mut() {
                    self.partial_in_place(v.expr_mut(), scope)?;
                }
            }
            Expression::StringTemplate(t) => self.partial_template(t, scope)?,
            Expression::HeredocTemplate(h) => self.partial_template(&mut h.template, scope)?,
            Expression::Parenthesis(p) => self.partial_in_place(p.inner_mut(), scope)?,
            Expression::Traversal(t) => {
                if !matches!(t.expr, Expression::Variable(_)) {
                    self.partial_in_place(&mut t.expr, scope)?;
                }
                for op in t.operators.iter_mut() {
                    if let TraversalOperator::Index(e) = op.value_mut() {
                        self.partial_in_place(e, scope)?;
                    }
                }
            }
            Expression::FuncCall(c) => {
                for a in c.args.iter_mut() {
                    self.partial_in_place(a, scope)?;
                }
            }
            Expression::Conditional(c) => {
                self.partial_in_place(&mut c.cond_expr, scope)?;
                self.partial_in_place(&mut c.true_expr, scope)?;
                self.partial_in_place(&mut c.false_expr, scope)?;
            }
            Expression::UnaryOp(op) => self.partial_in_place(&mut op.expr, scope)?,
            Expression::BinaryOp(op) => {
                self.partial_in_place(&mut op.lhs_expr, scope)?;
                self.partial_in_place(&mut op.rhs_expr, scope)?;
            }
            Expression::ForExpr(f) => {
                self.partial_in_place(&mut f.intro.collection_expr, scope)?;
                let mut s = scope.with(f.intro.value_var.as_str(), Binding::Runtime);
                if let Some(k) = &f.intro.key_var {
                    s = s.with(k.as_str(), Binding::Runtime);
                }
                if let Some(k) = &mut f.key_expr {
                    self.partial_in_place(k, &s)?;
                }
                self.partial_in_place(&mut f.value_expr, &s)?;
                if let Some(c) = &mut f.cond {
                    self.partial_in_place(&mut c.expr, &s)?;
                }
            }
            Expression::Variable(_)
            | Expression::Null(_)
            | Expression::Bool(_)
            | Expression::Number(_)
            | Expression::String(_) => {}
        }
        Ok(())
    }

    fn partial_template(&self, t: &mut Template, scope: &Scope) -> Result<()> {
        self.partial_template_elements(t, scope)?;
        // Fold interpolations that became literals into the surrounding text,
        // so `"echo ${var.x} ${action_outputs…}"` stays readable.
        let mut out: Vec<Element> = Vec::with_capacity(t.len());
        for el in std::mem::take(t) {
            let el = match el {
                Element::Interpolation(i) if i.strip == Strip::None => {
                    match literal_text(&i.expr) {
                        Some(text) => Element::from(text),
                        None => Element::Interpolation(i),
                    }
                }
                other => other,
            };
            match (out.last_mut(), el) {
                (Some(Element::Literal(prev)), Element::Literal(next)) => {
                    let joined = format!("{}{}", prev.value(), next.value());
                    *prev = hcl_edit::Spanned::new(joined);
                }
                (_, el) => out.push(el),
            }
        }
        *t = Template::from(out);
        Ok(())
    }

    fn partial_template_elements(&self, t: &mut Template, scope: &Scope) -> Result<()> {
        for el in t.iter_mut() {
            match el {
                Element::Literal(_) => {}
                Element::Interpolation(i) => self.partial_in_place(&mut i.expr, scope)?,
                Element::Directive(d) => match &mut **d {
                    Directive::If(dir) => {
                        self.partial_in_place(&mut dir.if_expr.cond_expr, scope)?;
                        self.partial_template(&mut dir.if_expr.template, scope)?;
                        if let Some(e) = &mut dir.else_expr {
                            self.partial_template(&mut e.template, scope)?;
                        }
                    }
                    Directive::For(dir) => {
                        let fe = &mut dir.for_expr;
                        self.partial_in_place(&mut fe.collection_expr, scope)?;
                        let mut s = scope.with(fe.value_var.as_str(), Binding::Runtime);
                        if let Some(k) = &fe.key_var {
                            s = s.with(k.as_str(), Binding::Runtime);
                        }
                        self.partial_template(&mut fe.template, &s)?;
                    }
                },
            }
        }
        Ok(())
    }
}

const MAX_STRING: usize = 10 << 20;

/// The text a literal interpolation renders as (strings, numbers, bools).
fn literal_text(e: &Expression) -> Option<String> {
    match e {
        Expression::String(s) => Some(s.value().clone()),
        Expression::Number(n) => literal_number(n).ok().map(|n| n.to_string()),
        Expression::Bool(b) => Some(b.value().to_string()),
        _ => None,
    }
}

fn directive_strip_start(d: &Directive) -> bool {
    match d {
        Directive::If(i) => i.if_expr.strip.strip_start(),
        Directive::For(f) => f.for_expr.strip.strip_start(),
    }
}

fn index_ref<'v>(cur: &'v Value, key: &Value, span: Option<Range<usize>>) -> Result<&'v Value> {
    match cur {
        Value::Array(items) => {
            let i = value::to_i64(key).ok_or_else(|| {
                EvalError::at(
                    span.clone(),
                    format!(
                        "a list index must be a whole number, got {} {}",
                        type_name(key),
                        describe(key)
                    ),
                )
            })?;
            usize::try_from(i)
                .ok()
                .and_then(|i| items.get(i))
                .ok_or_else(|| {
                    EvalError::at(
                        span,
                        format!(
                            "index {i} is out of range for a list of {} elements",
                            items.len()
                        ),
                    )
                })
        }
        Value::Object(m) => {
            let k = value::to_string(key).ok_or_else(|| {
                EvalError::at(
                    span.clone(),
                    format!("a map key must be a string, got {}", type_name(key)),
                )
            })?;
            m.get(&k).ok_or_else(|| {
                EvalError::at(span, format!("this map has no element with the key {k:?}"))
            })
        }
        Value::Null => Err(EvalError::at(span, "cannot index into null")),
        other => Err(EvalError::at(
            span,
            format!(
                "cannot index into a {}; only lists and maps can be indexed",
                type_name(other)
            ),
        )),
    }
}

fn func_error(e: FuncError, call: &FuncCall, spans: &[Option<Range<usize>>]) -> EvalError {
    let span = match &e {
        FuncError::Arg { index, .. } => spans.get(*index).cloned().flatten(),
        FuncError::Unknown { .. } => call.name.name.span(),
        _ => None,
    }
    .or_else(|| call.name.name.span());
    EvalError::at(span, e.to_string())
}

/// A number literal's value, read from its source text at go-cty's
/// precision (the parser's own value is a float64 and loses digits).
fn literal_number(n: &hcl_edit::Formatted<hcl::Number>) -> Result<Number> {
    let span = n.span();
    let fallback = || {
        let v = n.value();
        if let Some(i) = v.as_i64() {
            Ok(Number::from_i64(i))
        } else if let Some(u) = v.as_u64() {
            Ok(Number::from_u64(u))
        } else {
            Number::from_f64(v.as_f64().unwrap_or(f64::NAN))
                .ok_or_else(|| EvalError::at(span.clone(), "this number literal is not a number"))
        }
    };
    let Some(text) = n.as_repr().map(|r| &**r) else {
        return fallback();
    };
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, text),
    };
    match Number::parse(digits) {
        Ok(Some(x)) => Ok(if neg { x.neg() } else { x }),
        Ok(None) => fallback(),
        Err(e) => Err(EvalError::at(span, format!("this number literal: {e}"))),
    }
}

/// A literal expression that evaluates to `v`. Numbers are written as their
/// shortest exact digits (which read back as the same number at literal
/// precision), infinities as `1/0` and `-1/0`.
pub fn value_to_expr(v: Value) -> Expression {
    match v {
        Value::Null => Expression::null(),
        Value::Bool(b) => Expression::Bool(b.into()),
        Value::Number(n) => {
            let text = if n.is_inf() {
                if n.is_sign_negative() {
                    "-1/0".to_string()
                } else {
                    "1/0".to_string()
                }
            } else {
                n.to_string()
            };
            hcl_edit::parser::parse_expr(&text)
                .unwrap_or_else(|_| Expression::Number(hcl::Number::from(0u64).into()))
        }
        Value::String(s) => Expression::String(s.into()),
        Value::Array(items) => Expression::Array(items.into_iter().map(value_to_expr).collect()),
        Value::Object(m) => {
            let mut obj = hcl_edit::expr::Object::new();
            for (k, v) in m {
                let key = match hcl_edit::Ident::try_new(k.as_str()) {
                    Ok(id) => ObjectKey::Ident(id.into()),
                    Err(_) => ObjectKey::Expression(Expression::String(k.into())),
                };
                obj.insert(key, hcl_edit::expr::ObjectValue::new(value_to_expr(v)));
            }
            Expression::Object(obj)
        }
    }
}

/// Collects every reference in `expr` to a name not bound by an enclosing `for`.
pub fn references(expr: &Expression, locals: &mut Vec<String>, out: &mut Vec<Reference>) {
    match expr {
        Expression::Null(_)
        | Expression::Bool(_)
        | Expression::Number(_)
        | Expression::String(_) => {}
        Expression::Array(items) => items.iter().for_each(|e| references(e, locals, out)),
        Expression::Object(obj) => {
            for (k, v) in obj.iter() {
                if let ObjectKey::Expression(e) = k {
                    references(e, locals, out);
                }
                references(v.expr(), locals, out);
            }
        }
        Expression::StringTemplate(t) => template_references(t, locals, out),
        Expression::HeredocTemplate(h) => template_references(&h.template, locals, out),
        Expression::Parenthesis(p) => references(p.inner(), locals, out),
        Expression::Variable(v) => {
            if !locals.iter().any(|l| l == v.as_str()) {
                out.push(Reference {
                    root: v.as_str().to_owned(),
                    path: Vec::new(),
                    span: v.span(),
                });
            }
        }
        Expression::Traversal(t) => {
            if let Expression::Variable(v) = &t.expr {
                if !locals.iter().any(|l| l == v.as_str()) {
                    let mut path = Vec::new();
                    for op in &t.operators {
                        match &**op {
                            TraversalOperator::GetAttr(a) => path.push(a.as_str().to_owned()),
                            TraversalOperator::LegacyIndex(i) => path.push(i.value().to_string()),
                            TraversalOperator::Index(Expression::String(s)) => {
                                path.push(s.value().clone())
                            }
                            TraversalOperator::Index(Expression::Number(n)) => {
                                path.push(n.value().to_string())
                            }
                            _ => break,
                        }
                    }
                    out.push(Reference {
                        root: v.as_str().to_owned(),
                        path,
                        span: t.span(),
                    });
                }
            } else {
                references(&t.expr, locals, out);
            }
            for op in &t.operators {
                if let TraversalOperator::Index(e) = &**op {
                    references(e, locals, out);
                }
            }
        }
        Expression::FuncCall(c) => c.args.iter().for_each(|a| references(a, locals, out)),
        Expression::Conditional(c) => {
            references(&c.cond_expr, locals, out);
            references(&c.true_expr, locals, out);
            references(&c.false_expr, locals, out);
        }
        Expression::UnaryOp(op) => references(&op.expr, locals, out),
        Expression::BinaryOp(op) => {
            references(&op.lhs_expr, locals, out);
            references(&op.rhs_expr, locals, out);
        }
        Expression::ForExpr(f) => {
            references(&f.intro.collection_expr, locals, out);
            let n = locals.len();
            locals.push(f.intro.value_var.as_str().to_owned());
            if let Some(k) = &f.intro.key_var {
                locals.push(k.as_str().to_owned());
            }
            if let Some(k) = &f.key_expr {
                references(k, locals, out);
            }
            references(&f.value_expr, locals, out);
            if let Some(c) = &f.cond {
                references(&c.expr, locals, out);
            }
            locals.truncate(n);
        }
    }
}

fn template_references(t: &Template, locals: &mut Vec<String>, out: &mut Vec<Reference>) {
    for el in t.iter() {
        match el {
            Element::Literal(_) => {}
            Element::Interpolation(i) => references(&i.expr, locals, out),
            Element::Directive(d) => match &**d {
                Directive::If(dir) => {
                    references(&dir.if_expr.cond_expr, locals, out);
                    template_references(&dir.if_expr.template, locals, out);
                    if let Some(e) = &dir.else_expr {
                        template_references(&e.template, locals, out);
                    }
                }
                Directive::For(dir) => {
                    let fe = &dir.for_expr;
                    references(&fe.collection_expr, locals, out);
                    let n = locals.len();
                    locals.push(fe.value_var.as_str().to_owned());
                    if let Some(k) = &fe.key_var {
                        locals.push(k.as_str().to_owned());
                    }
                    template_references(&fe.template, locals, out);
                    locals.truncate(n);
                }
            },
        }
    }
}
