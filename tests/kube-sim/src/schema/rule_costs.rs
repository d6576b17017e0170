//! The cost budget kube-apiserver holds a CRD's CEL rules to when the CRD is written: each
//! rule's estimated cost, times the most times it can run (the maxItems/maxProperties of the
//! lists and maps above it, or what fits in a request where they are unbounded), must stay
//! under 10,000,000 (`StaticEstimatedCostLimit`), and all rules and message expressions
//! together under 100,000,000 (`StaticEstimatedCRDCostLimit`).

use serde_json::Value;

use super::error::{FieldError, FieldErrorKind as Kind};
use super::path;
use crate::cel_eval;
use crate::cel_eval::decl::{Decl, MAX_REQUEST_BYTES, decl_type};

pub const PER_EXPRESSION_LIMIT: u64 = 10_000_000;
pub const CRD_LIMIT: u64 = 100_000_000;

/// The rule cost errors of a version's schema, `at` naming it (`openAPIV3Schema`).
pub fn cost_errors(schema: &Value, at: &str) -> Vec<FieldError> {
    let mut walk = Walk::default();
    walk.node(schema, at, Some(1), true);
    let mut errors = walk.errors;
    if walk.total > CRD_LIMIT {
        for (rule, _) in &walk.most_expensive {
            errors.push(FieldError::new(
                rule,
                Kind::Forbidden,
                None,
                "contributed to estimated rule & messageExpression cost total exceeding cost limit for entire OpenAPIv3 schema",
            ));
        }
        errors.push(FieldError::new(
            at,
            Kind::Forbidden,
            None,
            exceeds_budget(
                "x-kubernetes-validations estimated rule & messageExpression cost total for entire OpenAPIv3 schema",
                walk.total,
                CRD_LIMIT,
            ),
        ));
    }
    errors
}

/// Nodes that carry rules but have no CEL type (untyped values that only preserve unknown
/// fields, or maps and lists of them): kube-apiserver cannot compile rules there and refuses
/// the CRD with "unable to convert structural schema to CEL declarations".
pub fn untyped_rule_nodes(schema: &Value, at: &str, root: bool, out: &mut Vec<String>) {
    if has_rules(schema) && decl_type(schema, root || embedded(schema)).is_none() {
        out.push(path::child(at, "x-kubernetes-validations"));
    }
    for_children(schema, at, |child, child_at| {
        untyped_rule_nodes(child, &child_at, false, out)
    });
}

/// `getCostErrorMessage`.
pub fn exceeds_budget(what: &str, cost: u64, limit: u64) -> String {
    let factor = cost as f64 / limit as f64;
    let factor = if factor > 100.0 {
        "more than 100x".to_string()
    } else if factor < 1.5 {
        format!("{factor:.6}x")
    } else {
        format!("{factor:.1}x")
    };
    format!(
        "{what} exceeds budget by factor of {factor} (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)"
    )
}

fn has_rules(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .is_some_and(|r| !r.is_empty())
}

fn embedded(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-embedded-resource")
        .and_then(Value::as_bool)
        == Some(true)
}

/// Properties, additionalProperties and items, with their error paths: the nodes CEL rules
/// are compiled at.
fn for_children(schema: &Value, at: &str, mut visit: impl FnMut(&Value, String)) {
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (key, prop) in props {
            visit(prop, path::key(&path::child(at, "properties"), key));
        }
    }
    if let Some(extra) = schema.get("additionalProperties").filter(|a| a.is_object()) {
        visit(extra, path::child(at, "additionalProperties"));
    }
    if let Some(items) = schema.get("items").filter(|i| i.is_object()) {
        visit(items, path::child(at, "items"));
    }
}

/// `extractMaxElements`: how many times a node's children may occur per occurrence of it.
fn fan_out(schema: &Value) -> Option<u64> {
    let bound = |key: &str| {
        schema
            .get(key)
            .and_then(Value::as_i64)
            .map(|n| u64::try_from(n).unwrap_or(0))
    };
    match schema.get("type").and_then(Value::as_str) {
        Some("object") if schema.get("additionalProperties").is_some() => bound("maxProperties"),
        Some("array") => bound("maxItems"),
        _ => Some(1),
    }
}

#[derive(Default)]
struct Walk {
    errors: Vec<FieldError>,
    total: u64,
    /// The four costliest expressions of at least 1% of the CRD limit, costliest first.
    most_expensive: Vec<(String, u64)>,
}

impl Walk {
    fn observe(&mut self, at: &str, cost: u64) {
        self.total = self.total.saturating_add(cost);
        if cost < CRD_LIMIT / 100 {
            return;
        }
        self.most_expensive.push((at.to_string(), cost));
        self.most_expensive.sort_by_key(|e| std::cmp::Reverse(e.1));
        self.most_expensive.truncate(4);
    }

    /// `cardinality`: the most times this node occurs in one object, `None` when unbounded.
    fn node(&mut self, schema: &Value, at: &str, cardinality: Option<u64>, root: bool) {
        if has_rules(schema)
            && let Some(decl) = decl_type(schema, root || embedded(schema))
        {
            self.rules(schema, at, cardinality, &decl);
        }
        let below = cardinality
            .zip(fan_out(schema))
            .map(|(c, f)| c.saturating_mul(f));
        for_children(schema, at, |child, child_at| {
            self.node(child, &child_at, below, false)
        });
    }

    fn rules(&mut self, schema: &Value, at: &str, cardinality: Option<u64>, decl: &Decl) {
        let rules = schema
            .get("x-kubernetes-validations")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        // Where the cardinality is unbounded, the most copies of this node a request can hold.
        let runs =
            cardinality.unwrap_or_else(|| MAX_REQUEST_BYTES / (decl.min_serialized_size() + 1));
        for (i, rule) in rules.iter().enumerate() {
            let here = path::index(&path::child(at, "x-kubernetes-validations"), i);
            if let Some(raw) = raw_cost(rule.get("rule"), decl) {
                let rule_at = path::child(&here, "rule");
                let cost = if raw == 0 {
                    0
                } else {
                    raw.saturating_mul(runs)
                };
                if cost > PER_EXPRESSION_LIMIT {
                    self.errors.push(FieldError::new(
                        &rule_at,
                        Kind::Forbidden,
                        None,
                        exceeds_budget("estimated rule cost", cost, PER_EXPRESSION_LIMIT),
                    ));
                }
                self.observe(&rule_at, cost);
            }
            // Message expressions run once per failure, so they are not multiplied.
            if let Some(cost) = raw_cost(rule.get("messageExpression"), decl) {
                let message_at = path::child(&here, "messageExpression");
                if cost > PER_EXPRESSION_LIMIT {
                    self.errors.push(FieldError::new(
                        &message_at,
                        Kind::Forbidden,
                        None,
                        exceeds_budget(
                            "estimated messageExpression cost",
                            cost,
                            PER_EXPRESSION_LIMIT,
                        ),
                    ));
                }
                self.observe(&message_at, cost);
            }
        }
    }
}

/// The cost of one expression, if it compiles (compile errors are reported on their own).
fn raw_cost(source: Option<&Value>, decl: &Decl) -> Option<u64> {
    let source = source.and_then(Value::as_str)?;
    if source.trim().is_empty() || cel_eval::compile(source).is_err() {
        return None;
    }
    let expr = cel_eval::parse(source).ok()?;
    Some(cel_eval::cost::estimate(&expr, decl))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(schema: &Value) -> Vec<String> {
        cost_errors(schema, "openAPIV3Schema")
            .iter()
            .map(FieldError::message)
            .collect()
    }

    fn root(spec: Value) -> Value {
        json!({"type": "object", "properties": {"spec": spec}})
    }

    #[test]
    fn cheap_rules_pass() {
        let schema = root(json!({"type": "object",
            "x-kubernetes-validations": [{"rule": "self.n >= 0", "messageExpression": "'n is ' + string(self.n)"}],
            "properties": {"n": {"type": "integer"}}}));
        // The message expression concatenates a string of unknown size: a real server refuses it.
        assert_eq!(
            messages(&schema),
            [
                "openAPIV3Schema.properties[spec].x-kubernetes-validations[0].messageExpression: Forbidden: estimated messageExpression cost exceeds budget by factor of more than 100x (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)",
                "openAPIV3Schema.properties[spec].x-kubernetes-validations[0].messageExpression: Forbidden: contributed to estimated rule & messageExpression cost total exceeding cost limit for entire OpenAPIv3 schema",
                "openAPIV3Schema: Forbidden: x-kubernetes-validations estimated rule & messageExpression cost total for entire OpenAPIv3 schema exceeds budget by factor of more than 100x (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)",
            ]
        );
        let fine = root(json!({"type": "object",
            "x-kubernetes-validations": [{"rule": "self.n >= 0", "messageExpression": "'n must not be negative'"}],
            "properties": {"n": {"type": "integer"}}}));
        assert!(messages(&fine).is_empty());
    }

    #[test]
    fn regexes_over_unbounded_lists_are_refused() {
        let schema = root(json!({"type": "object", "properties": {"names": {
            "type": "array", "items": {"type": "string"},
            "x-kubernetes-validations": [{"rule": "self.all(x, x.matches('^a.*$'))"}]}}}));
        let got = messages(&schema);
        assert!(
            got[0].starts_with("openAPIV3Schema.properties[spec].properties[names].x-kubernetes-validations[0].rule: Forbidden: estimated rule cost exceeds budget by factor of more than 100x"),
            "{got:?}"
        );
        assert_eq!(got.len(), 3, "{got:?}");
    }

    #[test]
    fn rules_under_unbounded_lists_run_once_per_item() {
        // self.s (2) + (400 + 1) / 10 -> 41 times 8 / 4 -> 2: 84 per run. Under maxItems 10:
        // 840; without maxItems, as many items as fit in a request: 3 MiB / ("{}" + a comma)
        // = 1,048,576 runs, 88,080,384 in all.
        let item = |max: Option<u64>| {
            let mut list = json!({"type": "array", "items": {"type": "object",
                "x-kubernetes-validations": [{"rule": "self.s.matches('^[a-z]+$')"}],
                "properties": {"s": {"type": "string", "maxLength": 100}}}});
            if let Some(max) = max {
                list["maxItems"] = json!(max);
            }
            root(list)
        };
        assert!(messages(&item(Some(10))).is_empty());
        let got = messages(&item(None));
        assert_eq!(got.len(), 1, "under the CRD total: {got:?}");
        assert!(
            got[0].ends_with("rule: Forbidden: estimated rule cost exceeds budget by factor of 8.8x (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)"),
            "{got:?}"
        );
    }

    fn crd_schema(path: &str) -> Value {
        let text =
            std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let crd: Value = serde_saphyr::from_str(&text).unwrap();
        crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
    }

    #[test]
    fn the_project_crd_and_the_widgets_fixture_are_within_budget() {
        for path in [
            "../../crds/iamroles.iam.rolesmith.dev.yaml",
            "tests/fixtures/widgets-crd.yaml",
        ] {
            assert_eq!(messages(&crd_schema(path)), Vec::<String>::new(), "{path}");
        }
    }

    #[test]
    fn the_factor_is_printed_like_go() {
        assert!(exceeds_budget("x", 10_485_760, 10_000_000).contains("factor of 1.048576x"));
        assert!(exceeds_budget("x", 181_000_000, 10_000_000).contains("factor of 18.1x"));
        assert!(exceeds_budget("x", u64::MAX, 10_000_000).contains("factor of more than 100x"));
    }

    #[test]
    fn untyped_nodes_with_rules_are_found() {
        let schema = root(json!({"type": "object", "properties": {
            "free": {"type": "object", "additionalProperties": {"x-kubernetes-preserve-unknown-fields": true},
                     "x-kubernetes-validations": [{"rule": "self.size() < 5"}]},
            "typed": {"type": "object", "additionalProperties": {"type": "string"},
                      "x-kubernetes-validations": [{"rule": "self.size() < 5"}]}}}));
        let mut out = Vec::new();
        untyped_rule_nodes(&schema, "openAPIV3Schema", true, &mut out);
        assert_eq!(
            out,
            ["openAPIV3Schema.properties[spec].properties[free].x-kubernetes-validations"]
        );
    }
}
