//! Top-level declarations: variables (first, since everything else may use
//! them), JWTs, VCS tokens, volumes, plugins and their requirements, the agent
//! block, and the template that holds them.

use super::*;

impl Decoder<'_> {
    pub(crate) fn template(
        &mut self,
        body: &Body,
        inputs: &IndexMap<String, VariableInput>,
    ) -> Template {
        let (variables, var_value) = self.variables(body, inputs);
        let mut scope = Scope::default().with("var", Binding::Known(var_value));
        for r in RUNTIME_ROOTS {
            scope = scope.with(r, Binding::Runtime);
        }
        let pipeline = self.pipeline();
        let schema = Schema {
            what: if pipeline {
                "a pipeline template"
            } else {
                "a release lifecycle template"
            },
            attrs: Some(&["stage_order"]),
            blocks: if pipeline {
                &[
                    "stage",
                    "agent",
                    "variable",
                    "plugin",
                    "plugin_requirements",
                    "jwt",
                    "volume",
                    "vcs_token",
                ]
            } else {
                &[
                    "stage",
                    "variable",
                    "plugin",
                    "plugin_requirements",
                    "jwt",
                    "volume",
                    "vcs_token",
                ]
            },
            dynamic: &["stage", "plugin", "jwt", "volume", "vcs_token"],
        };
        let r = self.read(body, &scope, &schema);

        let mut t = Template {
            kind: self.kind,
            variables,
            stage_order: None,
            stage_order_spans: Vec::new(),
            agent_tags: None,
            plugins: Vec::new(),
            plugin_requirements: Vec::new(),
            jwts: Vec::new(),
            volumes: Vec::new(),
            vcs_tokens: Vec::new(),
            stages: Vec::new(),
        };
        if let Some(a) = r.attr("stage_order") {
            if let Some(entries) = self.strings(a, &scope) {
                let (names, spans) = entries.into_iter().unzip();
                t.stage_order = Some(names);
                t.stage_order_spans = spans;
            }
        }
        for item in r.blocks("jwt") {
            self.jwt(item, &mut t);
        }
        for item in r.blocks("vcs_token") {
            self.vcs_token(item, &mut t);
        }
        for item in r.blocks("volume") {
            self.volume(item, &mut t);
        }
        for item in r.blocks("plugin_requirements") {
            self.plugin_requirements(item, &mut t);
        }
        // Plugin names first, so actions can be checked against them.
        for item in r.blocks("plugin") {
            if let [(name, _)] = item.labels.as_slice() {
                self.plugins.push(name.clone());
            }
        }
        self.plugins
            .extend(t.plugin_requirements.iter().map(|p| p.name.clone()));
        for item in r.blocks("plugin") {
            self.plugin(item, &mut t);
        }
        let agents: Vec<&Item> = r.blocks("agent").collect();
        if let Some(item) = agents.first() {
            t.agent_tags = self.agent(item);
        }
        for extra in agents.iter().skip(1) {
            self.diags
                .error(extra.span.clone(), "a template has at most one agent block");
        }
        for item in r.blocks("stage") {
            if let Some(stage) = self.stage(item, t.agent_tags.as_ref()) {
                t.stages.push(stage);
            }
        }
        if t.stages.is_empty() && !self.diags.has_errors() {
            self.diags.error(
                Some(0..0),
                "the template has no stages; add at least one `stage \"name\" { … }`",
            );
        }
        t
    }

    fn variables(
        &mut self,
        body: &Body,
        inputs: &IndexMap<String, VariableInput>,
    ) -> (Vec<Variable>, Value) {
        let mut vars: Vec<Variable> = Vec::new();
        let mut values = Map::new();
        let empty = Scope::default();
        for b in body.blocks().filter(|b| b.ident.as_str() == "variable") {
            let item = Item::written("variable", b, &empty);
            let Some((name, name_span)) =
                self.one_label(&item, "variable \"name\" { type = string }")
            else {
                continue;
            };
            if vars.iter().any(|v| v.name == name) || self.failed_vars.contains(&name) {
                self.diags
                    .error(name_span, format!("variable \"{name}\" is declared twice"));
                continue;
            }
            let r = self.read(
                &b.body,
                &empty,
                &Schema::leaf("a variable block", &["type", "default"]),
            );
            let ty = match r.attr("type") {
                None => Type::Any,
                Some(a) => match Type::parse(&a.value) {
                    Ok(t) => t,
                    Err(e) => {
                        self.eval_error(e, value_span(a));
                        self.failed_vars.push(name.clone());
                        continue;
                    }
                },
            };
            let mut default = None;
            if let Some(a) = r.attr("default") {
                if let Expression::Variable(_) | Expression::Traversal(_) = &a.value {
                    let mut refs = Vec::new();
                    references(&a.value, &mut Vec::new(), &mut refs);
                    if !refs.is_empty() {
                        self.diags.error(value_span(a), "a variable's default must be a constant; it cannot refer to other values");
                        self.failed_vars.push(name.clone());
                        continue;
                    }
                }
                match self.ev.eval(&a.value, &empty) {
                    Ok(v) => match convert(v, &ty) {
                        Ok(v) => default = Some(v),
                        Err(m) => {
                            self.diags.error(value_span(a), format!("the default of variable \"{name}\" does not fit its type {ty}: {m}"));
                            self.failed_vars.push(name.clone());
                            continue;
                        }
                    },
                    Err(e) => {
                        self.eval_error(e, value_span(a));
                        self.failed_vars.push(name.clone());
                        continue;
                    }
                }
            }
            let value = match inputs.get(&name) {
                Some(input) => {
                    let raw = input.resolve(&ty);
                    match convert(raw, &ty) {
                        Ok(v) => v,
                        Err(m) => {
                            self.diags.error(name_span.clone(), format!("the value given for variable \"{name}\" does not fit its type {ty}: {m}"));
                            self.failed_vars.push(name.clone());
                            continue;
                        }
                    }
                }
                None => match &default {
                    Some(d) => d.clone(),
                    None => {
                        let mut d = Diagnostic::error(
                            name_span.clone(),
                            format!("variable \"{name}\" has no value: give one when creating the pipeline (e.g. --var {name}=…), or add a default"),
                        );
                        d.code = Some(DiagnosticCode::VariableWithoutValue);
                        self.diags.push(d);
                        self.failed_vars.push(name.clone());
                        continue;
                    }
                },
            };
            values.insert(name.clone(), value.clone());
            vars.push(Variable {
                name,
                ty,
                default,
                value,
            });
        }
        // Failed variables stay visible (as null) so references to them are
        // recognised, and skipped, rather than reported as undeclared.
        for f in &self.failed_vars {
            values.entry(f.clone()).or_insert(Value::Null);
        }
        for name in inputs.keys() {
            if !values.contains_key(name) {
                let hint = suggest(name, values.keys().map(String::as_str))
                    .map(|s| format!("; did you mean \"{s}\"?"))
                    .unwrap_or_default();
                self.diags.error(None, format!("a value was given for variable \"{name}\", but the template declares no such variable{hint}"));
            }
        }
        (vars, Value::Object(values))
    }

    /// Reads a named top-level block (`jwt "x" { … }`), rejecting a second
    /// declaration of the same name.
    fn declare<'b>(
        &mut self,
        item: &Item<'b>,
        kind: Declared,
        example: &str,
        schema: &Schema,
    ) -> Option<(String, Read<'b>)> {
        let (name, sp) = self.one_label(item, example)?;
        let r = self.read(item.body, &item.scope, schema);
        let (seen, what) = match kind {
            Declared::Jwt => (&mut self.jwts, "jwt"),
            Declared::VcsToken => (&mut self.vcs_tokens, "vcs_token"),
            Declared::Volume => (&mut self.volumes, "volume"),
        };
        if seen.contains(&name) {
            self.diags
                .error(sp, format!("{what} \"{name}\" is declared twice"));
            return None;
        }
        seen.push(name.clone());
        Some((name, r))
    }

    fn jwt(&mut self, item: &Item, t: &mut Template) {
        let schema = Schema::leaf("a jwt block", &["audience"]);
        let Some((name, r)) = self.declare(
            item,
            Declared::Jwt,
            "jwt \"name\" { audience = \"…\" }",
            &schema,
        ) else {
            return;
        };
        if let Some((audience, _)) = self.required_string(&r, "audience", item, &item.scope) {
            t.jwts.push(Jwt {
                name,
                audience,
                span: item.span.clone(),
            });
        }
    }

    fn vcs_token(&mut self, item: &Item, t: &mut Template) {
        let schema = Schema::leaf("a vcs_token block", &["provider_id"]);
        let example = "vcs_token \"name\" { provider_id = \"prn:vcs_provider:…\" }";
        let Some((name, r)) = self.declare(item, Declared::VcsToken, example, &schema) else {
            return;
        };
        if let Some((provider_id, psp)) = self.required_string(&r, "provider_id", item, &item.scope)
        {
            if let Err(m) = prn::check_ref(&provider_id, "vcs_provider") {
                self.diags.error(psp, format!("`provider_id`: {m}"));
            }
            t.vcs_tokens.push(VcsToken {
                name,
                provider_id,
                span: item.span.clone(),
            });
        }
    }

    fn volume(&mut self, item: &Item, t: &mut Template) {
        let schema = Schema {
            what: "a volume block",
            attrs: Some(&["type"]),
            blocks: &["vcs_options"],
            dynamic: &[],
        };
        let Some((name, r)) = self.declare(
            item,
            Declared::Volume,
            "volume \"name\" { type = \"vcs\" … }",
            &schema,
        ) else {
            return;
        };
        let Some(ty_attr) = r.attr("type") else {
            self.diags
                .error(item.span.clone(), "a volume block needs `type = \"vcs\"`");
            return;
        };
        let Some(volume_type) = self.one_of(ty_attr, &item.scope, &["vcs"]) else {
            return;
        };
        let opts: Vec<&Item> = r.blocks("vcs_options").collect();
        let vcs_options = match opts.as_slice() {
            [] => {
                self.diags.error(item.span.clone(), "a volume of type \"vcs\" needs a `vcs_options { provider_id = …, repository_path = … }` block");
                None
            }
            [o, rest @ ..] => {
                for extra in rest {
                    self.diags.error(
                        extra.span.clone(),
                        "a volume has at most one vcs_options block",
                    );
                }
                self.no_labels(o);
                let or = self.read(
                    o.body,
                    &o.scope,
                    &Schema::leaf(
                        "a vcs_options block",
                        &["ref", "repository_path", "provider_id"],
                    ),
                );
                let provider = self.required_string(&or, "provider_id", o, &o.scope);
                if let Some((p, psp)) = &provider {
                    if let Err(m) = prn::check_ref(p, "vcs_provider") {
                        self.diags.error(psp.clone(), format!("`provider_id`: {m}"));
                    }
                }
                let repo = self.required_string(&or, "repository_path", o, &o.scope);
                let reference = or.attr("ref").and_then(|a| self.string(a, &o.scope));
                match (provider, repo) {
                    (Some((provider_id, _)), Some((repository_path, _))) => Some(VcsOptions {
                        provider_id,
                        repository_path,
                        reference,
                    }),
                    _ => None,
                }
            }
        };
        t.volumes.push(Volume {
            name,
            volume_type,
            vcs_options,
            span: item.span.clone(),
        });
    }

    fn plugin_requirements(&mut self, item: &Item, t: &mut Template) {
        self.no_labels(item);
        let r = self.read(item.body, &item.scope, &Schema::any("plugin_requirements"));
        for a in &r.attrs {
            let name = a.key.as_str().to_owned();
            if t.plugin_requirements.iter().any(|p| p.name == name) {
                self.diags
                    .error(a.key.span(), format!("plugin \"{name}\" is required twice"));
                continue;
            }
            let Some(v) = self.known(a, &item.scope) else {
                continue;
            };
            let Value::Object(m) = v else {
                self.diags.error(value_span(a), format!("`{name}` must be an object: {name} = {{ source = \"org/{name}\", version = \"1.0.0\" }}"));
                continue;
            };
            let mut source = None;
            let mut version = None;
            let mut replace = None;
            let mut ok = true;
            for (k, v) in m {
                let slot = match k.as_str() {
                    "source" => &mut source,
                    "version" => &mut version,
                    "replace" => &mut replace,
                    other => {
                        self.diags.error(
                            value_span(a),
                            unknown(
                                "attribute",
                                other,
                                "a plugin requirement",
                                &["source", "version", "replace"],
                            ),
                        );
                        ok = false;
                        continue;
                    }
                };
                match v {
                    Value::String(s) => *slot = Some(s),
                    other => {
                        self.diags.error(
                            value_span(a),
                            format!(
                                "`{k}` of plugin requirement \"{name}\" must be a string, got {}",
                                type_name(&other)
                            ),
                        );
                        ok = false;
                    }
                }
            }
            match source {
                Some(source) if ok => t.plugin_requirements.push(PluginRequirement { name, source, version, replace }),
                None if ok => self.diags.error(value_span(a), format!("plugin requirement \"{name}\" needs `source`, e.g. source = \"martian-cloud/{name}\"")),
                _ => {}
            }
        }
    }

    fn plugin(&mut self, item: &Item, t: &mut Template) {
        let Some((name, sp)) = self.one_label(item, "plugin \"name\" { … }") else {
            return;
        };
        if t.plugins.iter().any(|p| p.name == name) {
            self.diags
                .error(sp, format!("plugin \"{name}\" is configured twice"));
            return;
        }
        let r = self.read(item.body, &item.scope, &Schema::any("a plugin block"));
        let site = Site::default();
        let mut config = IndexMap::new();
        for a in &r.attrs {
            if let Some(e) = self.expr(&a.value, &item.scope, value_span(a), &site) {
                config.insert(a.key.as_str().to_owned(), e);
            }
        }
        t.plugins.push(Plugin {
            name,
            config,
            span: item.span.clone(),
        });
    }

    pub(super) fn agent(&mut self, item: &Item) -> Option<Vec<String>> {
        self.no_labels(item);
        let r = self.read(
            item.body,
            &item.scope,
            &Schema::leaf("an agent block", &["tags"]),
        );
        match r.attr("tags") {
            Some(a) => self
                .strings(a, &item.scope)
                .map(|v| v.into_iter().map(|(s, _)| s).collect()),
            None => {
                self.diags
                    .error(item.span.clone(), "an agent block needs `tags = [\"…\"]`");
                None
            }
        }
    }
}
