//! Reads an OpenAPI 3.0 document and checks one recorded exchange against it: the operation
//! (path template and method) exists, every query parameter sent is declared (and every
//! required one sent), the JSON request body fits the operation's `requestBody`, and the
//! response body fits the schema documented for that status.
//!
//! Schemas are made *closed* before they are compiled: an object schema that lists
//! `properties` and does not say `additionalProperties` gets `unevaluatedProperties: false`,
//! so a field the document does not have is an error. OpenAPI 3.0's `nullable: true` becomes
//! a JSON-schema `null` alternative. The result is compiled as JSON Schema 2020-12.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Mutex;

use backup_exporter::sim::record::Exchange;
use serde_json::{Map, Value, json};

pub struct Spec {
    pub name: String,
    /// The path of the document's first `servers` entry (`/actifio`), or empty.
    pub base: String,
    /// The document with every schema under `components/schemas` rewritten (closed,
    /// nullable made explicit).
    schemas: Map<String, Value>,
    /// The same, as written (what `allOf` parts are inlined from).
    raw: Map<String, Value>,
    parameters: Map<String, Value>,
    ops: Vec<Op>,
    compiled: Mutex<HashMap<String, std::sync::Arc<jsonschema::Validator>>>,
    /// Fields accepted in every closed object although the document lists none of them.
    everywhere: Vec<String>,
}

struct Op {
    template: String,
    segments: Vec<Option<String>>,
    method: String,
    /// `in: query` parameters: name → required.
    query: BTreeMap<String, bool>,
    request: Option<(bool, Value)>,
    responses: Map<String, Value>,
}

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

impl Spec {
    /// Reads a JSON or YAML OpenAPI 3.0 document.
    pub fn load(path: &Path) -> Result<Spec, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let doc: Value = if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        } else {
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::from_doc(name, &doc)
    }

    pub fn from_doc(name: String, doc: &Value) -> Result<Spec, String> {
        let version = doc["openapi"].as_str().unwrap_or_default();
        if !version.starts_with("3.") {
            return Err(format!(
                "{name}: only OpenAPI 3.x is read (found {version:?})"
            ));
        }
        let base = doc["servers"][0]["url"]
            .as_str()
            .map(|u| match url::Url::parse(u) {
                Ok(abs) => abs.path().to_owned(),
                Err(_) => u.to_owned(),
            })
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned();
        let raw_schemas = doc["components"]["schemas"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let schemas = raw_schemas
            .iter()
            .map(|(k, v)| (k.clone(), rewrite(v, &raw_schemas, false)))
            .collect();
        let parameters = doc["components"]["parameters"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut ops = Vec::new();
        for (template, item) in doc["paths"].as_object().into_iter().flatten() {
            let shared: Vec<Value> = item["parameters"].as_array().cloned().unwrap_or_default();
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let mut query = BTreeMap::new();
                let own = op["parameters"].as_array().cloned().unwrap_or_default();
                for p in shared.iter().chain(own.iter()) {
                    let p = resolve_param(p, &parameters);
                    if p["in"] == "query" {
                        let name = p["name"].as_str().unwrap_or_default().to_owned();
                        query.insert(name, p["required"].as_bool().unwrap_or(false));
                    }
                }
                let request = op["requestBody"]["content"]["application/json"]["schema"]
                    .is_object()
                    .then(|| {
                        (
                            op["requestBody"]["required"].as_bool().unwrap_or(false),
                            rewrite(
                                &op["requestBody"]["content"]["application/json"]["schema"],
                                &raw_schemas,
                                false,
                            ),
                        )
                    });
                let responses = op["responses"].as_object().cloned().unwrap_or_default();
                ops.push(Op {
                    segments: template
                        .split('/')
                        .skip(1)
                        .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_owned()))
                        .collect(),
                    template: template.clone(),
                    method: method.to_uppercase(),
                    query,
                    request,
                    responses,
                });
            }
        }
        Ok(Spec {
            name,
            base,
            schemas,
            raw: raw_schemas,
            parameters,
            ops,
            compiled: Mutex::new(HashMap::new()),
            everywhere: Vec::new(),
        })
    }

    /// Accepts `fields` in every closed object (a field the vendor's notes confirm that the
    /// document leaves out, such as the Actifio console's `@type`).
    pub fn allow_everywhere(mut self, fields: &[&str]) -> Self {
        self.everywhere = fields.iter().map(|f| (*f).to_owned()).collect();
        let names = self.everywhere.clone();
        for s in self.schemas.values_mut() {
            open_to(s, &names);
        }
        self
    }

    /// Whether the document has an operation for `path` (relative to its server base).
    pub fn has_path(&self, path: &str) -> bool {
        self.matching(path).next().is_some()
    }

    fn matching<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Op> + 'a {
        let sent: Vec<&str> = path.split('/').skip(1).collect();
        self.ops.iter().filter(move |op| {
            op.segments.len() == sent.len()
                && op
                    .segments
                    .iter()
                    .zip(&sent)
                    .all(|(t, s)| t.as_deref().map_or(!s.is_empty(), |lit| lit == *s))
        })
    }

    /// Every way `ex` (whose path, relative to the server base, is `path`) breaks the
    /// document; empty when it conforms.
    pub fn check(&self, path: &str, ex: &Exchange) -> Vec<String> {
        let mut problems = Vec::new();
        // The most literal template wins (`/audit/{id}/options` over `/audit/{id}/{x}`).
        let candidates: Vec<&Op> = self.matching(path).collect();
        if candidates.is_empty() {
            return vec![format!("path {path} is not in {}", self.name)];
        }
        let literal = |op: &Op| op.segments.iter().filter(|s| s.is_some()).count();
        let best = candidates.iter().map(|o| literal(o)).max().unwrap_or(0);
        let Some(op) = candidates
            .iter()
            .filter(|o| literal(o) == best)
            .find(|o| o.method == ex.method)
        else {
            let templates: BTreeSet<&str> =
                candidates.iter().map(|o| o.template.as_str()).collect();
            return vec![format!(
                "method {} is not documented for {templates:?} in {}",
                ex.method, self.name
            )];
        };
        let what = format!("{} {}", op.method, op.template);
        let sent: BTreeSet<&str> = ex.query.iter().map(|(k, _)| k.as_str()).collect();
        for name in &sent {
            if !op.query.contains_key(*name) {
                problems.push(format!(
                    "{what}: query parameter `{name}` is not declared (declared: {:?})",
                    op.query.keys().collect::<Vec<_>>()
                ));
            }
        }
        for (name, required) in &op.query {
            if *required && !sent.contains(name.as_str()) {
                problems.push(format!(
                    "{what}: required query parameter `{name}` not sent"
                ));
            }
        }
        match (&op.request, &ex.request_body) {
            (Some((_, schema)), Some(body)) => {
                let mut schema = schema.clone();
                open_to(&mut schema, &self.everywhere);
                for e in self.validate(&format!("{what} request"), &schema, body) {
                    problems.push(format!("{what}: request body: {e}"));
                }
            }
            (Some((true, _)), None) => problems.push(format!("{what}: required body not sent")),
            (None, Some(_)) => problems.push(format!("{what}: sends a JSON body it does not take")),
            _ => {}
        }
        let status = ex.status.to_string();
        let class = format!("{}XX", ex.status / 100);
        let Some(response) = op
            .responses
            .get(&status)
            .or_else(|| op.responses.get(&class))
            .or_else(|| op.responses.get("default"))
        else {
            problems.push(format!("{what}: status {status} is not documented"));
            return problems;
        };
        let schema = response["content"]["application/json"]["schema"]
            .as_object()
            .or_else(|| response["content"]["*/*"]["schema"].as_object());
        match (schema, &ex.body) {
            (Some(schema), Some(body)) => {
                let mut schema = rewrite(&Value::Object(schema.clone()), &self.raw, false);
                open_to(&mut schema, &self.everywhere);
                for e in self.validate(&format!("{what} {status}"), &schema, body) {
                    problems.push(format!("{what} → {status}: {e}"));
                }
            }
            (Some(_), None) => problems.push(format!(
                "{what} → {status}: the document gives a JSON body, the answer has none ({:?})",
                ex.content_type
            )),
            (None, Some(_)) => problems.push(format!(
                "{what} → {status}: a JSON body where the document gives none"
            )),
            (None, None) => {}
        }
        problems
    }

    /// The validation errors of `instance` against `schema` (already rewritten), at most a
    /// few per instance; the compiled validator is kept under `key`.
    fn validate(&self, key: &str, schema: &Value, instance: &Value) -> Vec<String> {
        let validator = {
            let mut cache = self.compiled.lock().unwrap_or_else(|e| e.into_inner());
            match cache.get(key) {
                Some(v) => v.clone(),
                None => {
                    let root = self.root(schema);
                    let v = match jsonschema::options()
                        .with_draft(jsonschema::Draft::Draft202012)
                        .build(&root)
                    {
                        Ok(v) => std::sync::Arc::new(v),
                        Err(e) => return vec![format!("schema does not compile: {e}")],
                    };
                    cache.insert(key.to_owned(), v.clone());
                    v
                }
            }
        };
        // One line per problem, not one per array element: indexes become `*`, so the
        // caller's sort and dedup fold them.
        validator
            .iter_errors(instance)
            .map(|e| {
                let at: String = e
                    .instance_path()
                    .to_string()
                    .split('/')
                    .map(|s| if s.parse::<usize>().is_ok() { "*" } else { s })
                    .collect::<Vec<_>>()
                    .join("/");
                let msg = e.to_string();
                let msg = if msg.len() > 300 {
                    format!("{}…", &msg[..msg.floor_char_boundary(300)])
                } else {
                    msg
                };
                format!("at `{at}`: {msg}")
            })
            .take(50)
            .collect()
    }

    /// `schema` as a standalone document: itself plus the component schemas it reaches.
    fn root(&self, schema: &Value) -> Value {
        let mut needed = BTreeSet::new();
        let mut todo = Vec::new();
        refs(schema, &mut todo);
        while let Some(name) = todo.pop() {
            if needed.insert(name.clone())
                && let Some(s) = self.schemas.get(&name)
            {
                refs(s, &mut todo);
            }
        }
        let reached: Map<String, Value> = needed
            .into_iter()
            .filter_map(|n| self.schemas.get(&n).map(|s| (n, s.clone())))
            .collect();
        let mut root = match schema {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        root.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        root.insert("components".into(), json!({ "schemas": reached }));
        Value::Object(root)
    }

    #[allow(dead_code)]
    pub fn parameter_count(&self) -> usize {
        self.parameters.len()
    }
}

/// Adds `names` (any value) to the properties of every closed object in `v`.
fn open_to(v: &mut Value, names: &[String]) {
    match v {
        Value::Object(m) => {
            if !names.is_empty() && m.get("unevaluatedProperties") == Some(&Value::Bool(false)) {
                let props = m
                    .entry("properties")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(p) = props {
                    for n in names {
                        p.entry(n.clone()).or_insert(json!({}));
                    }
                }
            }
            m.values_mut().for_each(|v| open_to(v, names));
        }
        Value::Array(a) => a.iter_mut().for_each(|v| open_to(v, names)),
        _ => {}
    }
}

fn resolve_param(p: &Value, parameters: &Map<String, Value>) -> Value {
    match p["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/parameters/"))
    {
        Some(name) => parameters.get(name).cloned().unwrap_or(Value::Null),
        None => p.clone(),
    }
}

/// The component schema names `v` refers to.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                out.push(r.to_owned());
            }
            m.values().for_each(|v| refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// An OpenAPI 3.0 schema object as a closed JSON-schema 2020-12 schema. `open` leaves the
/// top level open: a part of an `allOf` must not refuse the fields of its siblings, so parts
/// that are references are inlined open and the `allOf` as a whole is closed instead.
fn rewrite(v: &Value, all: &Map<String, Value>, open: bool) -> Value {
    let Value::Object(m) = v else {
        return v.clone();
    };
    let mut out = Map::new();
    for (k, val) in m {
        let new = match k.as_str() {
            "properties" | "patternProperties" => Value::Object(
                val.as_object()
                    .into_iter()
                    .flatten()
                    .map(|(p, s)| (p.clone(), rewrite(s, all, false)))
                    .collect(),
            ),
            "items" | "not" => rewrite(val, all, false),
            "additionalProperties" if val.is_object() => rewrite(val, all, false),
            "oneOf" | "anyOf" => Value::Array(
                val.as_array()
                    .into_iter()
                    .flatten()
                    .map(|s| rewrite(s, all, false))
                    .collect(),
            ),
            "allOf" => {
                let parts = val.as_array().cloned().unwrap_or_default();
                if parts.len() == 1 {
                    // OpenAPI 3.0's way to put `nullable` beside a reference.
                    Value::Array(vec![rewrite(&parts[0], all, open)])
                } else {
                    Value::Array(parts.iter().map(|s| inline_open(s, all)).collect())
                }
            }
            // OpenAPI-only words; JSON schema would ignore them, but `example` values of
            // the wrong shape are noise in error output.
            "nullable" | "example" | "discriminator" | "xml" | "externalDocs" => continue,
            _ => val.clone(),
        };
        out.insert(k.clone(), new);
    }
    // `properties: {}` alone is how these documents write a free-form object (CloudTower's
    // `labels`, `args`): left open.
    let lists_properties = m
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty());
    let closes = !open
        && !m.contains_key("additionalProperties")
        && (lists_properties
            || m.get("allOf")
                .and_then(Value::as_array)
                .is_some_and(|a| a.len() > 1));
    if closes {
        out.insert("unevaluatedProperties".into(), json!(false));
    }
    if m.get("nullable").and_then(Value::as_bool) == Some(true) {
        return nullable(out);
    }
    Value::Object(out)
}

fn inline_open(part: &Value, all: &Map<String, Value>) -> Value {
    match part["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .and_then(|n| all.get(n))
    {
        Some(target) => rewrite(target, all, true),
        None => rewrite(part, all, true),
    }
}

/// `schema` or `null`.
fn nullable(mut schema: Map<String, Value>) -> Value {
    if let Some(Value::Array(e)) = schema.get_mut("enum")
        && !e.contains(&Value::Null)
    {
        e.push(Value::Null);
    }
    match schema.get("type").cloned() {
        Some(Value::String(t)) => {
            schema.insert("type".into(), json!([t, "null"]));
            Value::Object(schema)
        }
        _ => json!({ "anyOf": [Value::Object(schema), { "type": "null" }] }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        let doc = json!({
            "openapi": "3.0.1",
            "servers": [{ "url": "/api" }],
            "paths": {
                "/things/{id}": { "get": {
                    "parameters": [{ "name": "limit", "in": "query" }],
                    "responses": { "200": { "content": { "application/json": {
                        "schema": { "$ref": "#/components/schemas/Thing" } } } } }
                } }
            },
            "components": { "schemas": {
                "Base": { "type": "object", "properties": { "id": { "type": "string" } },
                          "required": ["id"] },
                "Thing": { "allOf": [ { "$ref": "#/components/schemas/Base" }, {
                    "type": "object",
                    "properties": {
                        "note": { "type": "string", "nullable": true },
                        "tags": { "type": "object", "properties": {} }
                    } } ] }
            } }
        });
        Spec::from_doc("t".into(), &doc).unwrap()
    }

    fn ex(query: &[(&str, &str)], body: Value) -> Exchange {
        Exchange {
            method: "GET".into(),
            path: "/api/things/7".into(),
            query: query
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            request_body: None,
            status: 200,
            content_type: Some("application/json".into()),
            body: Some(body),
        }
    }

    #[test]
    fn a_conforming_exchange_passes() {
        let s = spec();
        let body = json!({ "id": "a", "note": null, "tags": { "any": 1 } });
        assert_eq!(
            s.check("/things/7", &ex(&[("limit", "5")], body)),
            Vec::<String>::new()
        );
    }

    #[test]
    fn unknown_fields_missing_required_and_undeclared_parameters_fail() {
        let s = spec();
        let p = s.check(
            "/things/7",
            &ex(&[("page", "2")], json!({ "note": 3, "extra": 1 })),
        );
        let all = p.join("\n");
        assert!(
            all.contains("query parameter `page` is not declared"),
            "{all}"
        );
        assert!(all.contains("\"id\" is a required property"), "{all}");
        assert!(
            all.contains("Unevaluated properties are not allowed ('extra'"),
            "{all}"
        );
        assert!(all.contains("3 is not of types"), "{all}");
        assert!(!s.has_path("/things"));
        let mut wrong = ex(&[], json!({ "id": "a" }));
        wrong.method = "POST".into();
        assert!(s.check("/things/7", &wrong)[0].contains("method POST is not documented"));
        wrong.method = "GET".into();
        wrong.status = 404;
        assert!(s.check("/things/7", &wrong)[0].contains("status 404 is not documented"));
    }

    #[test]
    fn fields_allowed_everywhere_pass_only_when_allowed() {
        let body = json!({ "id": "a", "@type": "thingRest" });
        assert!(!spec().check("/things/7", &ex(&[], body.clone())).is_empty());
        let s = spec().allow_everywhere(&["@type"]);
        assert!(s.check("/things/7", &ex(&[], body)).is_empty());
    }
}
