//! Evaluates Kubernetes `x-kubernetes-validations` rules with the `cel` crate.
//!
//! kube-apiserver type-checks every rule when the CRD is written; the `cel` crate only
//! parses. To stay as strict as the real server, [`compile`] refuses rules that call a
//! function Kubernetes does not declare, and names the Kubernetes functions this simulator
//! does not implement instead of letting them fail (or short-circuit away) at run time.

mod convert;
pub mod cost;
pub mod decl;
mod library;
mod request_uri;

use std::sync::{Arc, LazyLock};

use cel::objects::OptionalValue;
use cel::{Context, Env, ExecutionError, Program};
use serde_json::Value;

pub use convert::{escape_property, to_cel};
pub use request_uri::parses_as_request_uri;

/// A compiled rule, ready to be evaluated against many values.
pub struct CompiledRule {
    program: Program,
    uses_old_self: bool,
}

impl std::fmt::Debug for CompiledRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledRule")
            .field("uses_old_self", &self.uses_old_self)
            .finish()
    }
}

static ENV: LazyLock<Arc<Env>> = LazyLock::new(|| Arc::new(library::kubernetes_env()));

/// The expression tree of `rule` with the macros expanded, as the cost estimator reads it.
pub fn parse(rule: &str) -> Result<cel::IdedExpr, String> {
    ENV.parser()
        .parse(rule)
        .map_err(|e| format!("compilation failed: {e}"))
}

/// Parses `rule` and checks that it only calls functions Kubernetes declares and the
/// simulator implements.
pub fn compile(rule: &str) -> Result<CompiledRule, String> {
    let program = ENV
        .compile(rule)
        .map_err(|e| format!("compilation failed: {e}"))?;
    let references = program.references();
    let mut functions = references.functions();
    functions.sort_unstable();
    for name in functions {
        library::check_function(name)?;
    }
    let uses_old_self = references.has_variable("oldSelf");
    Ok(CompiledRule {
        program,
        uses_old_self,
    })
}

impl CompiledRule {
    /// Transition rules (those reading `oldSelf`) only run on updates with an old value.
    pub fn uses_old_self(&self) -> bool {
        self.uses_old_self
    }

    /// Runs the rule with `self` (and `oldSelf`) bound; `schema` types the values the
    /// way the apiserver does (numbers, date-times, escaped property names).
    pub fn eval(
        &self,
        self_value: &Value,
        old_self: Option<&Value>,
        schema: Option<&Value>,
    ) -> Result<cel::Value, String> {
        let mut context = Context::with_env(Arc::clone(&ENV));
        context.add_variable_from_value("self", to_cel(self_value, schema));
        if let Some(old) = old_self {
            context.add_variable_from_value("oldSelf", to_cel(old, schema));
        }
        self.program.execute(&context).map_err(describe_error)
    }

    /// For rules marked `optionalOldSelf`: `oldSelf` is an optional value, empty on create.
    pub fn eval_bool_optional_old(
        &self,
        self_value: &Value,
        old_self: Option<&Value>,
        schema: Option<&Value>,
    ) -> Result<bool, String> {
        let mut context = Context::with_env(Arc::clone(&ENV));
        context.add_variable_from_value("self", to_cel(self_value, schema));
        let old = match old_self {
            Some(old) => OptionalValue::of(to_cel(old, schema)),
            None => OptionalValue::none(),
        };
        context.add_variable_from_value("oldSelf", cel::Value::Opaque(Arc::new(old)));
        as_bool(self.program.execute(&context).map_err(describe_error)?)
    }

    pub fn eval_bool(
        &self,
        self_value: &Value,
        old_self: Option<&Value>,
        schema: Option<&Value>,
    ) -> Result<bool, String> {
        as_bool(self.eval(self_value, old_self, schema)?)
    }
}

fn as_bool(value: cel::Value) -> Result<bool, String> {
    match value {
        cel::Value::Bool(b) => Ok(b),
        other => Err(format!(
            "rule must evaluate to a bool, got {}",
            other.type_of()
        )),
    }
}

/// Evaluates a validation rule with `self` (and `oldSelf`) bound to untyped JSON values.
pub fn eval_rule(rule: &str, self_value: &Value, old_self: Option<&Value>) -> Result<bool, String> {
    compile(rule)?.eval_bool(self_value, old_self, None)
}

/// Evaluates a `messageExpression`: it must produce a string.
pub fn eval_message_expression(
    expression: &str,
    self_value: &Value,
    old_self: Option<&Value>,
    schema: Option<&Value>,
) -> Result<String, String> {
    match compile(expression)?.eval(self_value, old_self, schema)? {
        cel::Value::String(s) => Ok(s.to_string()),
        other => Err(format!(
            "messageExpression must evaluate to a string, got {}",
            other.type_of()
        )),
    }
}

/// cel-go's wording where the apiserver shows it to users (`no such key: x`).
fn describe_error(error: ExecutionError) -> String {
    match error {
        ExecutionError::NoSuchKey(key) => format!("no such key: {key}"),
        ExecutionError::UndeclaredReference(name) => format!("undeclared reference to '{name}'"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rules_over_untyped_values() {
        let tags = json!({"team": "a", "Env": "prod"});
        type Case = (
            &'static str,
            Value,
            Option<Value>,
            Result<bool, &'static str>,
        );
        let cases: &[Case] = &[
            ("self.size <= 5", json!({"size": 5}), None, Ok(true)),
            ("self.size <= 5", json!({"size": 6}), None, Ok(false)),
            ("has(self.name)", json!({"name": "x"}), None, Ok(true)),
            ("has(self.name)", json!({}), None, Ok(false)),
            (
                "self.name == 'x'",
                json!({}),
                None,
                Err("no such key: name"),
            ),
            ("self == oldSelf", json!("a"), Some(json!("a")), Ok(true)),
            ("self == oldSelf", json!("a"), Some(json!("b")), Ok(false)),
            (
                "self.all(k, !k.lowerAscii().startsWith('aws:'))",
                tags.clone(),
                None,
                Ok(true),
            ),
            (
                "self.all(k, !k.lowerAscii().startsWith('aws:'))",
                json!({"AWS:x": "1"}),
                None,
                Ok(false),
            ),
            (
                "self.all(k, size(self[k]) <= 4)",
                tags.clone(),
                None,
                Ok(true),
            ),
            (
                "!('rolesmith.dev/owner' in self)",
                tags.clone(),
                None,
                Ok(true),
            ),
            (
                "!('rolesmith.dev/owner' in self)",
                json!({"rolesmith.dev/owner": "x"}),
                None,
                Ok(false),
            ),
            ("self.exists(k, k == 'team')", tags.clone(), None, Ok(true)),
            (
                "self.exists_one(x, x > 2)",
                json!([1, 2, 3]),
                None,
                Ok(true),
            ),
            (
                "self.map(x, x * 2) == [2, 4]",
                json!([1, 2]),
                None,
                Ok(true),
            ),
            (
                "self.filter(x, x > 1).size() == 1",
                json!([1, 2]),
                None,
                Ok(true),
            ),
            ("self.matches('^[a-z]+$')", json!("abc"), None, Ok(true)),
            (
                "self.matches('^[\\\\p{L}\\\\p{Z}]+$')",
                json!("é x"),
                None,
                Ok(true),
            ),
            (
                "self.startsWith('ab') && self.endsWith('c') && self.contains('b')",
                json!("abc"),
                None,
                Ok(true),
            ),
            ("self.upperAscii() == 'ABC'", json!("abc"), None, Ok(true)),
            ("self.indexOf('c') == 2", json!("abc"), None, Ok(true)),
            ("self.split(',').size() == 2", json!("a,b"), None, Ok(true)),
            ("['a', 'b'].join('-') == self", json!("a-b"), None, Ok(true)),
            (
                "self.replace('a', 'b') == 'bb'",
                json!("ab"),
                None,
                Ok(true),
            ),
            ("self.trim() == 'a'", json!(" a "), None, Ok(true)),
            (
                "self.?missing.orValue('d') == 'd'",
                json!({}),
                None,
                Ok(true),
            ),
            (
                "isURL(self)",
                json!("https://example.com/x?y=1"),
                None,
                Ok(true),
            ),
            ("isURL(self)", json!("example.com"), None, Ok(false)),
            ("self.isSorted()", json!([1, 2, 3]), None, Ok(true)),
            ("self.isSorted()", json!(["b", "a"]), None, Ok(false)),
            (
                "self.sum() == 6 && self.min() == 1 && self.max() == 3",
                json!([1, 2, 3]),
                None,
                Ok(true),
            ),
            (
                "self.indexOf(2) == 1 && self.lastIndexOf(9) == -1",
                json!([1, 2, 2]),
                None,
                Ok(true),
            ),
            (
                "self.find('[0-9]+') == '42'",
                json!("ab42cd7"),
                None,
                Ok(true),
            ),
            (
                "self.findAll('[0-9]+') == ['42', '7']",
                json!("ab42cd7"),
                None,
                Ok(true),
            ),
            (
                "sets.contains(self, [1]) && !sets.intersects(self, [9])",
                json!([1, 2]),
                None,
                Ok(true),
            ),
            (
                "sets.equivalent(self, [2, 1, 1])",
                json!([1, 2]),
                None,
                Ok(true),
            ),
            (
                "self",
                json!(1),
                None,
                Err("rule must evaluate to a bool, got int"),
            ),
        ];
        for (rule, value, old, expected) in cases {
            let got = eval_rule(rule, value, old.as_ref());
            match expected {
                Ok(b) => assert_eq!(got, Ok(*b), "{rule} on {value}"),
                Err(e) => assert_eq!(got, Err(e.to_string()), "{rule} on {value}"),
            }
        }
    }

    #[test]
    fn unknown_and_unimplemented_functions_are_refused_before_running() {
        // Short-circuiting would hide `foo` at run time; the real server refuses the CRD.
        let err = compile("true || foo(self)").unwrap_err();
        assert!(err.contains("undeclared reference to 'foo'"), "{err}");
        let err = compile("self.isQuantity()").unwrap_err();
        assert!(err.contains("not implemented by kube-sim"), "{err}");
        assert!(
            compile("self ==")
                .unwrap_err()
                .starts_with("compilation failed")
        );
        // Functions of the cel crate that Kubernetes does not offer are refused too.
        assert!(compile("[1].flatten() == [1]").is_err());
    }

    #[test]
    fn optional_old_self_is_empty_on_create() {
        let rule = compile("!oldSelf.hasValue() || self >= oldSelf.value()").unwrap();
        assert_eq!(rule.eval_bool_optional_old(&json!(1), None, None), Ok(true));
        assert_eq!(
            rule.eval_bool_optional_old(&json!(1), Some(&json!(2)), None),
            Ok(false)
        );
    }

    #[test]
    fn transition_rules_are_recognised() {
        assert!(compile("self == oldSelf").unwrap().uses_old_self());
        assert!(!compile("self == 'x'").unwrap().uses_old_self());
    }

    #[test]
    fn message_expressions_must_be_strings() {
        assert_eq!(
            eval_message_expression(
                "'size ' + string(self.size) + ' too big'",
                &json!({"size": 7}),
                None,
                None
            ),
            Ok("size 7 too big".to_string())
        );
        assert!(eval_message_expression("self.size", &json!({"size": 7}), None, None).is_err());
    }

    #[test]
    fn typed_values_follow_the_schema() {
        let schema = json!({"type": "object", "properties": {
            "ratio": {"type": "number"},
            "when": {"type": "string", "format": "date-time"},
            "my-field": {"type": "string"},
            "namespace": {"type": "string"}
        }});
        let value =
            json!({"ratio": 2, "when": "2024-01-02T03:04:05Z", "my-field": "x", "namespace": "n"});
        let rule = compile(
            "self.ratio == 2.0 && self.when.getFullYear() == 2024 && self.my__dash__field == 'x' && self.__namespace__ == 'n'",
        )
        .unwrap();
        assert_eq!(rule.eval_bool(&value, None, Some(&schema)), Ok(true));
    }
}
