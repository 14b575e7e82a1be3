//! Stages and their nodes: tasks (with gates, agents, mount points and
//! actions), nested pipelines, deployments, and schedules.

use super::*;

/// An action's inputs: (name, required).
type Inputs = &'static [(&'static str, bool)];
/// A plugin's actions and their inputs.
type Actions = &'static [(&'static str, Inputs)];

/// Built-in plugins, their actions and each action's inputs (name, required).
const BUILTIN_PLUGINS: &[(&str, Actions)] = &[("exec", &[("command", &[("command", true)])])];

impl Decoder<'_> {
    pub(super) fn stage(
        &mut self,
        item: &Item,
        default_tags: Option<&Vec<String>>,
    ) -> Option<Stage> {
        let (name, _) = self.one_label(item, "stage \"name\" { … }")?;
        let pipeline = self.pipeline();
        let schema = Schema {
            what: "a stage",
            attrs: Some(&[]),
            // The lifecycle syntax lists pre, post and deployment, but its own mount_point
            // example puts a task directly in a stage, so lifecycles take main tasks too.
            blocks: if pipeline {
                &["pre", "post", "task", "pipeline"]
            } else {
                &["pre", "post", "task", "deployment"]
            },
            dynamic: if pipeline {
                &["task", "pipeline"]
            } else {
                &["task", "deployment"]
            },
        };
        let r = self.read(item.body, &item.scope, &schema);
        let mut stage = Stage {
            name: name.clone(),
            pre: Vec::new(),
            main: Vec::new(),
            post: Vec::new(),
            span: item.span.clone(),
        };
        for (section, ident) in [(Section::Pre, "pre"), (Section::Post, "post")] {
            let blocks: Vec<&Item> = r.blocks(ident).collect();
            for extra in blocks.iter().skip(1) {
                self.diags.error(
                    extra.span.clone(),
                    format!(
                        "a stage has at most one {ident} block; put all its tasks in the first"
                    ),
                );
            }
            if let Some(b) = blocks.first() {
                self.no_labels(b);
                let sr = self.read(
                    b.body,
                    &b.scope,
                    &Schema {
                        what: if ident == "pre" {
                            "a pre block"
                        } else {
                            "a post block"
                        },
                        attrs: Some(&[]),
                        blocks: &["task"],
                        dynamic: &["task"],
                    },
                );
                let mut nodes = Vec::new();
                for t in sr.blocks("task") {
                    if let Some(n) = self.task(t, &name, section, default_tags) {
                        nodes.push(n);
                    }
                }
                if nodes.is_empty() && !sr.blocks.iter().any(|_| true) {
                    self.diags
                        .warning(b.span.clone(), format!("this {ident} block has no tasks"));
                }
                match section {
                    Section::Pre => stage.pre = nodes,
                    _ => stage.post = nodes,
                }
            }
        }
        for b in &r.blocks {
            let node = match b.ident.as_str() {
                "task" => self.task(b, &name, Section::Main, default_tags),
                "pipeline" => self.nested_pipeline(b, &name),
                "deployment" => self.deployment(b, &name),
                _ => continue,
            };
            stage.main.extend(node);
        }
        Some(stage)
    }

    fn path(stage: &str, section: Section, kind: NodeKind, name: &str) -> String {
        match section {
            Section::Main => format!("stage.{stage}.{}.{name}", kind.as_str()),
            s => format!("stage.{stage}.{}.{}.{name}", s.as_str(), kind.as_str()),
        }
    }

    /// Fields every node has: when, dependencies, approval rules, schedule, if.
    fn node(
        &mut self,
        item: &Item,
        r: &Read,
        kind: NodeKind,
        section: Section,
        name: String,
        site: &Site,
    ) -> Node {
        let scope = &item.scope;
        let path = site.node.clone().unwrap_or_default();
        let allowed_when: &[&str] = if self.pipeline() {
            &["auto", "manual", "never"]
        } else {
            &["auto", "manual"]
        };
        let when_attr = r.attr("when");
        let when = match when_attr.and_then(|a| self.one_of(a, scope, allowed_when)) {
            Some(w) if w == "manual" => When::Manual,
            Some(w) if w == "never" => When::Never,
            _ => When::Auto,
        };
        let (dependencies, dependency_spans) = match r.attr("dependencies") {
            Some(a) => self
                .strings(a, scope)
                .unwrap_or_default()
                .into_iter()
                .unzip(),
            None => (Vec::new(), Vec::new()),
        };
        let mut approval_rules = Vec::new();
        if let Some(a) = r.attr("approval_rules") {
            for (rule, sp) in self.strings(a, scope).unwrap_or_default() {
                match prn::check_ref(&rule, "approval_rule") {
                    Ok(()) => approval_rules.push(rule),
                    Err(m) => self.diags.error(sp, format!("approval rule: {m}")),
                }
            }
        }
        let schedules: Vec<&Item> = r.blocks("schedule").collect();
        for extra in schedules.iter().skip(1) {
            self.diags
                .error(extra.span.clone(), "a node has at most one schedule block");
        }
        let schedule = schedules.first().and_then(|s| self.schedule(s));
        if schedule.is_some() && when != When::Auto {
            let sp = when_attr.map(value_span).unwrap_or(item.span.clone());
            self.diags.error(sp, "a schedule starts a node automatically, so `when` must be \"auto\" (or left out) when a schedule block is present");
        }
        let condition = r.attr("if").and_then(|a| {
            self.condition(
                a,
                scope,
                &Site {
                    allow_self: false,
                    ..site.clone()
                },
            )
        });
        Node {
            path,
            kind,
            name,
            section,
            when,
            dependencies,
            approval_rules,
            schedule,
            condition,
            gate: None,
            agent_tags: None,
            mount_points: Vec::new(),
            actions: Vec::new(),
            pipeline: None,
            on_error: None,
            span: item.span.clone(),
            dependency_spans,
        }
    }

    fn task(
        &mut self,
        item: &Item,
        stage: &str,
        section: Section,
        default_tags: Option<&Vec<String>>,
    ) -> Option<Node> {
        let (name, _) = self.one_label(item, "task \"name\" { … }")?;
        let pipeline = self.pipeline();
        let schema = Schema {
            what: "a task",
            attrs: Some(&[
                "dependencies",
                "success_condition",
                "approval_rules",
                "when",
                "interval",
                "attempts",
                "if",
            ]),
            blocks: if pipeline {
                &["action", "mount_point", "schedule", "agent"]
            } else {
                &["action", "mount_point", "schedule"]
            },
            dynamic: &["action", "mount_point"],
        };
        let r = self.read(item.body, &item.scope, &schema);
        let path = Self::path(stage, section, NodeKind::Task, &name);
        let site = Site {
            node: Some(path),
            action: None,
            allow_self: false,
        };
        let mut node = self.node(item, &r, NodeKind::Task, section, name, &site);
        let scope = &item.scope;

        // Gate settings.
        let interval_attr = r.attr("interval");
        let mut interval = None;
        let mut interval_seconds = None;
        if let Some(a) = interval_attr {
            if let Some(s) = self.string(a, scope) {
                match crate::template::duration::parse_go_duration(&s) {
                    Ok(d) if d > chrono::Duration::zero() => {
                        interval_seconds = Some(d.num_milliseconds() as f64 / 1000.0);
                        interval = Some(s);
                    }
                    Ok(_) => self.diags.error(
                        value_span(a),
                        format!("`interval` must be longer than zero, got {s:?}"),
                    ),
                    Err(m) => self.diags.error(value_span(a), format!("`interval`: {m}")),
                }
            }
        }
        let attempts = r.attr("attempts").and_then(|a| self.positive_int(a, scope));
        if interval_attr.is_some() && r.attr("attempts").is_none() {
            self.diags.error(interval_attr.map(span_of).unwrap_or(item.span.clone()), "a task with `interval` also needs `attempts`, the most times it runs (e.g. attempts = 10)");
        }
        if interval_attr.is_none() {
            if let Some(a) = r.attr("attempts") {
                self.diags
                    .warning(span_of(a), "`attempts` has no effect without `interval`");
            }
        }
        let success_condition = r.attr("success_condition").and_then(|a| {
            self.condition(
                a,
                scope,
                &Site {
                    allow_self: true,
                    ..site.clone()
                },
            )
        });
        if interval.is_some() || attempts.is_some() || success_condition.is_some() {
            node.gate = Some(Gate {
                interval,
                interval_seconds,
                attempts,
                success_condition,
            });
        }

        // Agent tags: the task's own override the template's.
        let agents: Vec<&Item> = r.blocks("agent").collect();
        for extra in agents.iter().skip(1) {
            self.diags
                .error(extra.span.clone(), "a task has at most one agent block");
        }
        node.agent_tags = match agents.first() {
            Some(a) => self.agent(a),
            None => default_tags.cloned(),
        };

        for m in r.blocks("mount_point") {
            self.no_labels(m);
            let mr = self.read(
                m.body,
                &m.scope,
                &Schema::leaf("a mount_point block", &["path", "volume"]),
            );
            let Some((volume, vsp)) = self.required_string(&mr, "volume", m, &m.scope) else {
                continue;
            };
            if !self.volumes.contains(&volume) {
                let hint = suggest(&volume, self.volumes.iter().map(String::as_str))
                    .map(|s| format!("; did you mean \"{s}\"?"))
                    .unwrap_or_else(|| "; declare it with a volume block".into());
                self.diags.error(
                    vsp,
                    format!("mount_point names volume \"{volume}\", which is not declared{hint}"),
                );
                continue;
            }
            let path = mr.attr("path").and_then(|a| self.string(a, &m.scope));
            node.mount_points.push(MountPoint {
                volume,
                path,
                span: m.span.clone(),
            });
        }

        for (i, a) in r.blocks("action").enumerate() {
            let asite = Site {
                action: Some(i),
                ..site.clone()
            };
            if let Some(action) = self.action(a, &asite) {
                if let Some(prev) = node.actions.iter().find(|p| p.key() == action.key()) {
                    let msg = if action.alias.is_some() {
                        format!(
                            "two actions in this task are named \"{}\"; aliases must be unique",
                            action.key()
                        )
                    } else {
                        format!("this task already has an action \"{}\"; give one of them an `alias` so action_outputs can tell them apart", prev.label)
                    };
                    self.diags.error(a.span.clone(), msg);
                    continue;
                }
                node.actions.push(action);
            }
        }
        Some(node)
    }

    fn action(&mut self, item: &Item, site: &Site) -> Option<Action> {
        let (label, lsp) = self.one_label(item, "action \"exec_command\" { command = \"…\" }")?;
        let r = self.read(item.body, &item.scope, &Schema::any("an action"));
        // The plugin is the longest declared (or built-in) name that prefixes the label.
        let mut best: Option<&str> = None;
        for p in self
            .plugins
            .iter()
            .map(String::as_str)
            .chain(BUILTIN_PLUGINS.iter().map(|(n, _)| *n))
        {
            if label.len() > p.len() + 1
                && label.starts_with(p)
                && label.as_bytes()[p.len()] == b'_'
                && best.is_none_or(|b| p.len() > b.len())
            {
                best = Some(p);
            }
        }
        let Some(plugin) = best.map(str::to_owned) else {
            let prefix = label.split('_').next().unwrap_or(&label);
            let msg = if label.contains('_') {
                format!("action \"{label}\" uses plugin \"{prefix}\", which is not declared: add a `plugin \"{prefix}\" {{ … }}` block or list it in plugin_requirements (built in: exec)")
            } else {
                format!(
                    "action \"{label}\" must be labelled <plugin>_<action>, e.g. \"exec_command\""
                )
            };
            self.diags.error(lsp, msg);
            return None;
        };
        let action = label[plugin.len() + 1..].to_owned();
        let mut alias = None;
        if let Some(a) = r.attr("alias") {
            if let Some(s) = self.string(a, &item.scope) {
                if hcl_edit::Ident::try_new(s.as_str()).is_err() {
                    self.diags.error(value_span(a), format!("alias {s:?} must be a plain name (letters, digits, _ and -) so it can be used in action_outputs"));
                } else {
                    alias = Some(s);
                }
            }
        }
        let builtin = BUILTIN_PLUGINS
            .iter()
            .find(|(n, _)| *n == plugin && !self.plugins.iter().any(|p| p == n));
        let mut inputs = IndexMap::new();
        let mut deferred_inputs = IndexMap::new();
        for a in r.attrs.iter().filter(|a| a.key.as_str() != "alias") {
            let key = a.key.as_str();
            if let Some((_, actions)) = builtin {
                match actions.iter().find(|(n, _)| *n == action) {
                    Some((_, params)) if !params.iter().any(|(p, _)| *p == key) => {
                        let names: Vec<&str> = params.iter().map(|(p, _)| *p).collect();
                        self.diags.error(
                            a.key.span(),
                            unknown("input", key, &format!("action \"{label}\""), &names),
                        );
                        continue;
                    }
                    _ => {}
                }
            }
            match self.expr(&a.value, &item.scope, value_span(a), site) {
                Some(Expr::Value(v)) => {
                    inputs.insert(key.to_owned(), v);
                }
                Some(Expr::Deferred(d)) => {
                    deferred_inputs.insert(key.to_owned(), d);
                }
                None => {}
            }
        }
        if let Some((_, actions)) = builtin {
            match actions.iter().find(|(n, _)| *n == action) {
                None => {
                    let names: Vec<String> = actions
                        .iter()
                        .map(|(n, _)| format!("{plugin}_{n}"))
                        .collect();
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    self.diags.error(
                        lsp,
                        unknown(
                            "action",
                            &label,
                            &format!("the built-in {plugin} plugin"),
                            &names,
                        ),
                    );
                    return None;
                }
                Some((_, params)) => {
                    for (p, required) in params.iter() {
                        if *required
                            && !inputs.contains_key(*p)
                            && !deferred_inputs.contains_key(*p)
                            && r.attr(p).is_none()
                        {
                            self.diags.error(
                                item.span.clone(),
                                format!("action \"{label}\" needs `{p} = …`"),
                            );
                        }
                    }
                    if let Some(v) = inputs.get("command") {
                        if !matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
                            let sp = r.attr("command").and_then(value_span);
                            self.diags.error(
                                sp,
                                format!("`command` must be a string, got {}", type_name(v)),
                            );
                        }
                    }
                }
            }
        }
        Some(Action {
            label,
            alias,
            plugin,
            action,
            inputs,
            deferred_inputs,
            span: item.span.clone(),
        })
    }

    fn nested_pipeline(&mut self, item: &Item, stage: &str) -> Option<Node> {
        let (name, _) = self.one_label(item, "pipeline \"name\" { template_id = \"…\" }")?;
        let schema = Schema {
            what: "a pipeline block",
            attrs: Some(&[
                "variables",
                "template_id",
                "environment",
                "when",
                "pipeline_type",
                "dependencies",
                "approval_rules",
                "if",
            ]),
            blocks: &["schedule"],
            dynamic: &[],
        };
        let r = self.read(item.body, &item.scope, &schema);
        let path = Self::path(stage, Section::Main, NodeKind::Pipeline, &name);
        let site = Site {
            node: Some(path),
            action: None,
            allow_self: false,
        };
        let mut node = self.node(item, &r, NodeKind::Pipeline, Section::Main, name, &site);
        let scope = &item.scope;
        let pipeline_type = match r.attr("pipeline_type") {
            Some(a) => self.one_of(a, scope, &["nested", "deployment"]),
            None => Some("nested".to_owned()),
        };
        let environment = r.attr("environment").and_then(|a| self.string(a, scope));
        if pipeline_type.as_deref() == Some("deployment")
            && environment.is_none()
            && r.attr("environment").is_none()
        {
            self.diags.error(
                item.span.clone(),
                "a pipeline with pipeline_type = \"deployment\" needs `environment = \"…\"`",
            );
        }
        if pipeline_type.as_deref() == Some("nested") {
            if let Some(a) = r.attr("environment") {
                self.diags.warning(span_of(a), "`environment` only applies to pipeline_type = \"deployment\"; it is ignored here");
            }
        }
        let template_id = self.required_string(&r, "template_id", item, scope);
        if let Some((id, sp)) = &template_id {
            if let Err(m) = prn::check_ref(id, "pipeline_template") {
                self.diags.error(sp.clone(), format!("`template_id`: {m}"));
            }
        }
        let variables = r.attr("variables").and_then(|a| {
            let e = self.expr(&a.value, scope, value_span(a), &site)?;
            if let Expr::Value(v) = &e {
                if !matches!(v, Value::Object(_) | Value::Null) {
                    self.diags.error(
                        value_span(a),
                        format!(
                            "`variables` must be a map of variable names to values, got {}",
                            type_name(v)
                        ),
                    );
                    return None;
                }
            }
            Some(e)
        });
        if let (Some((template_id, _)), Some(pipeline_type)) = (template_id, pipeline_type) {
            node.pipeline = Some(PipelineSpec {
                template_id,
                pipeline_type,
                environment,
                variables,
            });
        }
        Some(node)
    }

    fn deployment(&mut self, item: &Item, stage: &str) -> Option<Node> {
        self.no_labels(item);
        let schema = Schema {
            what: "a deployment block",
            attrs: Some(&[
                "approval_rules",
                "when",
                "environment",
                "dependencies",
                "if",
                "on_error",
            ]),
            blocks: &["schedule"],
            dynamic: &[],
        };
        let r = self.read(item.body, &item.scope, &schema);
        let (environment, _) = self.required_string(&r, "environment", item, &item.scope)?;
        if environment.is_empty() || hcl_edit::Ident::try_new(environment.as_str()).is_err() {
            let sp = r
                .attr("environment")
                .map(value_span)
                .unwrap_or(item.span.clone());
            self.diags.error(sp, format!("environment {environment:?} must be a plain name (letters, digits, _ and -): it names the deployment in dependencies and action_outputs"));
            return None;
        }
        let path = Self::path(stage, Section::Main, NodeKind::Deployment, &environment);
        let site = Site {
            node: Some(path),
            action: None,
            allow_self: false,
        };
        let mut node = self.node(
            item,
            &r,
            NodeKind::Deployment,
            Section::Main,
            environment,
            &site,
        );
        node.on_error = Some(
            match r
                .attr("on_error")
                .and_then(|a| self.one_of(a, &item.scope, &["fail", "continue"]))
            {
                Some(s) if s == "continue" => OnError::Continue,
                _ => OnError::Fail,
            },
        );
        Some(node)
    }

    fn schedule(&mut self, item: &Item) -> Option<Schedule> {
        self.no_labels(item);
        let r = self.read(
            item.body,
            &item.scope,
            &Schema::leaf("a schedule block", &["type", "options"]),
        );
        let Some(ta) = r.attr("type") else {
            self.diags.error(
                item.span.clone(),
                "a schedule needs `type = \"datetime\"` or `type = \"cron\"`",
            );
            return None;
        };
        let ty = self.one_of(ta, &item.scope, &["datetime", "cron"])?;
        let Some(oa) = r.attr("options") else {
            let example = if ty == "cron" {
                "options = { expression = \"0 12 * * *\", timezone = \"UTC\" }"
            } else {
                "options = { value = \"2024-11-25T14:50:00Z\" }"
            };
            self.diags.error(
                item.span.clone(),
                format!("a {ty} schedule needs {example}"),
            );
            return None;
        };
        let ov = self.known(oa, &item.scope)?;
        let Value::Object(opts) = ov else {
            self.diags.error(
                value_span(oa),
                format!("`options` must be an object, got {}", type_name(&ov)),
            );
            return None;
        };
        let sp = value_span(oa);
        let allowed: &[&str] = if ty == "cron" {
            &["expression", "timezone"]
        } else {
            &["value"]
        };
        for k in opts.keys() {
            if !allowed.contains(&k.as_str()) {
                self.diags.error(
                    sp.clone(),
                    unknown("option", k, &format!("a {ty} schedule"), allowed),
                );
                return None;
            }
        }
        let get = |k: &str| {
            opts.get(k).and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                _ => None,
            })
        };
        if ty == "datetime" {
            let Some(v) = get("value") else {
                self.diags.error(sp, "a datetime schedule needs options = { value = \"<RFC 3339 time>\" }, e.g. \"2024-11-25T14:50:00Z\"");
                return None;
            };
            match crate::template::schedule::check_datetime(&v) {
                Ok(()) => Some(Schedule::Datetime { value: v }),
                Err(m) => {
                    self.diags.error(sp, m);
                    None
                }
            }
        } else {
            let (Some(expression), Some(timezone)) = (get("expression"), get("timezone")) else {
                self.diags.error(sp, "a cron schedule needs options = { expression = \"<5-field cron>\", timezone = \"<IANA zone>\" }, e.g. { expression = \"0 12 * * *\", timezone = \"UTC\" }");
                return None;
            };
            let mut ok = true;
            if let Err(m) = crate::template::schedule::check_cron(&expression) {
                self.diags.error(sp.clone(), m);
                ok = false;
            }
            if let Err(m) = crate::template::schedule::check_timezone(&timezone) {
                self.diags.error(sp, m);
                ok = false;
            }
            ok.then_some(Schedule::Cron {
                expression,
                timezone,
            })
        }
    }
}
