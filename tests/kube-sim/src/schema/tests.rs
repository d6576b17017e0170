//! The whole write path (prune → defaults → validate) on the shared Widget CRD, with the
//! exact messages kubectl would print.

use serde_json::{Value, json};

use super::*;

fn widget_schema() -> Value {
    let text = include_str!("../../tests/fixtures/widgets-crd.yaml");
    let crd: Value = serde_saphyr::from_str(text).unwrap();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone()
}

fn widget(spec: Value) -> Value {
    json!({"apiVersion": "test.kube-sim.dev/v1", "kind": "Widget",
           "metadata": {"name": "w", "namespace": "default"}, "spec": spec})
}

/// Decodes like the server: prune, default, then validate.
fn write(obj: Value, old: Option<&Value>) -> (Value, Vec<String>) {
    let schema = widget_schema();
    let mut obj = obj;
    prune(&schema, &mut obj);
    apply_defaults(&schema, &mut obj);
    let errors = validate(&schema, &obj, old)
        .iter()
        .map(FieldError::message)
        .collect();
    (obj, errors)
}

fn not_checked() -> String {
    NOT_CHECKED.to_string()
}

const NOT_CHECKED: &str = "<nil>: Invalid value: \"null\": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation";

#[test]
fn defaults_fill_a_minimal_widget() {
    let (obj, errors) = write(widget(json!({"name": "a", "parts": [{"name": "p"}]})), None);
    assert_eq!(errors, Vec::<String>::new());
    assert_eq!(
        obj["spec"],
        json!({"name": "a", "color": "red", "size": 1, "parts": [{"name": "p", "count": 1}]})
    );
}

#[test]
fn unknown_fields_are_pruned_except_in_extra() {
    let schema = widget_schema();
    let mut obj = widget(json!({"name": "a", "bogus": 1, "extra": {"free": {"x": [1]}}}));
    obj["status"] = json!({"conditions": [{"type": "Ready", "status": "True", "junk": 2}]});
    let pruned = prune(&schema, &mut obj);
    assert_eq!(pruned, vec!["spec.bogus", "status.conditions[0].junk"]);
    assert_eq!(obj["spec"]["extra"], json!({"free": {"x": [1]}}));
    assert_eq!(obj["metadata"]["name"], "w");
}

#[test]
fn creates_are_judged_with_the_apiserver_messages() {
    let cases: Vec<(Value, Vec<String>)> = vec![
        (json!({"name": "ok", "color": "green", "size": 10, "tags": ["a", "b"]}), vec![]),
        (
            json!({"name": "ok", "size": 200}),
            vec!["spec.size: Invalid value: 200: spec.size in body should be less than or equal to 10".into()],
        ),
        (
            json!({"name": "ok", "size": 0}),
            vec!["spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1".into()],
        ),
        (
            json!({"name": "ok", "color": "pink"}),
            vec![
                "spec.color: Unsupported value: \"pink\": supported values: \"red\", \"green\", \"blue\"".into(),
                not_checked(),
            ],
        ),
        (json!({"color": "red"}), vec!["spec.name: Required value".into(), not_checked()]),
        (
            json!({"name": "a-very-long-widget-name"}),
            vec!["spec.name: Too long: may not be more than 20 bytes".into(), not_checked()],
        ),
        (
            json!({"name": "Bad_Name"}),
            vec!["spec.name: Invalid value: \"Bad_Name\": spec.name in body should match '^[a-z][a-z0-9-]*$'".into()],
        ),
        (
            json!({"name": "ok", "size": "big"}),
            vec![
                "spec.size: Invalid value: \"string\": spec.size in body must be of type integer: \"string\"".into(),
                not_checked(),
            ],
        ),
        (
            json!({"name": "ok", "tags": ["a", "b", "c", "d"]}),
            vec!["spec.tags: Too many: 4: must have at most 3 items".into(), not_checked()],
        ),
        (
            json!({"name": "ok", "tags": ["a", "a"]}),
            vec!["spec.tags[1]: Duplicate value: \"a\"".into()],
        ),
        (
            json!({"name": "ok", "parts": [{"name": "p"}, {"name": "p", "count": 2}]}),
            vec!["spec.parts[1]: Duplicate value: map[string]interface {}{\"name\":\"p\"}".into()],
        ),
        (
            json!({"name": "ok", "color": "blue", "size": 7}),
            vec!["spec: Invalid value: \"object\": blue widgets are at most size 5".into()],
        ),
        (json!({"name": "ok", "color": "blue", "size": 5}), vec![]),
    ];
    for (spec, want) in cases {
        let (_, errors) = write(widget(spec.clone()), None);
        assert_eq!(errors, want, "{spec}");
    }
}

/// Errors come in schema order (the apiserver's order varies with Go map iteration).
#[test]
fn status_fields_are_validated_too() {
    let mut obj = widget(json!({"name": "ok"}));
    obj["status"] = json!({"conditions": [
        {"type": "Ready", "status": "Maybe", "lastTransitionTime": "yesterday"}
    ]});
    let (_, errors) = write(obj, None);
    assert_eq!(
        errors,
        vec![
            "status.conditions[0].status: Unsupported value: \"Maybe\": supported values: \"True\", \"False\", \"Unknown\"",
            "status.conditions[0].lastTransitionTime: Invalid value: \"yesterday\": status.conditions[0].lastTransitionTime in body must be of type date-time: \"yesterday\"",
            NOT_CHECKED,
        ]
    );
}

#[test]
fn transition_rules_run_only_on_updates() {
    let (old, errors) = write(widget(json!({"name": "first"})), None);
    assert!(errors.is_empty());
    let (_, errors) = write(widget(json!({"name": "second"})), Some(&old));
    assert_eq!(
        errors,
        vec!["spec.name: Invalid value: \"string\": name is immutable"]
    );
    let (_, errors) = write(widget(json!({"name": "first", "size": 3})), Some(&old));
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn unchanged_invalid_values_are_ratcheted_on_update() {
    // Stored before the schema tightened: size 50 is now out of range.
    let old = widget(json!({"name": "w", "color": "red", "size": 50}));
    let (_, errors) = write(
        widget(json!({"name": "w", "color": "green", "size": 50})),
        Some(&old),
    );
    assert!(errors.is_empty(), "{errors:?}");
    let (_, errors) = write(
        widget(json!({"name": "w", "color": "red", "size": 60})),
        Some(&old),
    );
    assert_eq!(
        errors,
        vec!["spec.size: Invalid value: 60: spec.size in body should be less than or equal to 10"]
    );
}

fn tag_schema() -> Value {
    json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "tags": {
            "type": "object",
            "maxProperties": 2,
            "additionalProperties": {"type": "string", "maxLength": 5},
            "x-kubernetes-validations": [
                {"rule": "self.all(k, !k.lowerAscii().startsWith('aws:'))", "message": "tag keys starting with aws: are reserved by AWS"},
                {"rule": "!('owner' in self)", "messageExpression": "'the tag owner is reserved, got ' + self['owner']", "reason": "FieldValueForbidden"},
                {"rule": "self.all(k, k != 'x')", "fieldPath": ".x"},
                {"rule": "self.all(k, k != 'dup')", "reason": "FieldValueDuplicate"}
            ]
        },
        "ratio": {"type": "number", "maximum": 1.5, "multipleOf": 0.5},
        "port": {"x-kubernetes-int-or-string": true},
        "when": {"type": "string", "format": "date-time"},
        "count": {"type": "integer", "format": "int32", "nullable": true},
        "mustHave": {"type": "object", "x-kubernetes-validations": [{"rule": "self.missing == 1"}]}
    }}}})
}

#[test]
fn rule_messages_reasons_and_field_paths() {
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"tags": {"a": "1"}}), vec![]),
        (
            json!({"tags": {"AWS:x": "1"}}),
            vec![
                "spec.tags: Invalid value: \"object\": tag keys starting with aws: are reserved by AWS",
            ],
        ),
        (
            json!({"tags": {"owner": "me"}}),
            vec!["spec.tags: Forbidden: the tag owner is reserved, got me"],
        ),
        (
            json!({"tags": {"x": "1"}}),
            vec!["spec.tags.x: Invalid value: \"object\": failed rule: self.all(k, k != 'x')"],
        ),
        (
            json!({"tags": {"dup": "1"}}),
            vec!["spec.tags: Duplicate value: \"object\""],
        ),
        (
            json!({"tags": {"a": "123456"}}),
            vec![
                "spec.tags.a: Too long: may not be more than 5 bytes",
                NOT_CHECKED,
            ],
        ),
        (
            json!({"mustHave": {}}),
            vec![
                "spec.mustHave: Invalid value: \"object\": no such key: missing evaluating rule: self.missing == 1",
            ],
        ),
    ];
    for (spec, want) in cases {
        let obj = json!({"spec": spec});
        let got: Vec<String> = validate(&tag_schema(), &obj, None)
            .iter()
            .map(FieldError::message)
            .collect();
        assert_eq!(got, want, "{spec}");
    }
}

#[test]
fn numbers_types_and_formats() {
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"ratio": 1.0, "port": 80, "when": "2024-01-01T00:00:00Z", "count": null}),
            vec![],
        ),
        (json!({"port": "http"}), vec![]),
        (
            json!({"ratio": 2.5}),
            vec![
                "spec.ratio: Invalid value: 2.5: spec.ratio in body should be less than or equal to 1.5",
            ],
        ),
        (
            json!({"ratio": 0.7}),
            vec!["spec.ratio: Invalid value: 0.7: spec.ratio in body should be a multiple of 0.5"],
        ),
        (
            json!({"port": true}),
            vec![
                "spec.port: Invalid value: \"boolean\": spec.port in body must be of type integer,string: \"boolean\"",
                NOT_CHECKED,
            ],
        ),
        (
            json!({"when": 5}),
            vec![
                "spec.when: Invalid value: \"int64\": spec.when in body must be of type date-time: \"int64\"",
                NOT_CHECKED,
            ],
        ),
        (
            json!({"count": 3000000000_i64}),
            vec![
                "<nil>: Invalid value: \"\": Checked value must be of type integer with format int32 in spec.count",
            ],
        ),
        (json!({"count": 2.0}), vec![]),
    ];
    for (spec, want) in cases {
        let obj = json!({"spec": spec});
        let got: Vec<String> = validate(&tag_schema(), &obj, None)
            .iter()
            .map(FieldError::message)
            .collect();
        assert_eq!(got, want, "{spec}");
    }
}

#[test]
fn broken_rules_are_reported_not_ignored() {
    let schema = json!({"type": "object", "properties": {"spec": {"type": "object",
        "x-kubernetes-validations": [{"rule": "self.isIP()"}, {"rule": "nope("}, {"rule": "true", "messageExpression": "unknownFn()"}]}}});
    let errors = rule_compile_errors(&schema);
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule",
            "openAPIV3Schema.properties[spec].x-kubernetes-validations[1].rule",
            "openAPIV3Schema.properties[spec].x-kubernetes-validations[2].messageExpression",
        ]
    );
    // Validation never treats an unevaluable rule as satisfied.
    let got = validate(&schema, &json!({"spec": {}}), None);
    assert!(
        got.iter().any(|e| e.kind == FieldErrorKind::Internal),
        "{got:?}"
    );
}

#[test]
fn embedded_resources_need_api_version_and_kind() {
    let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "template": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}}}}});
    let got: Vec<String> = validate(&schema, &json!({"spec": {"template": {"kind": ""}}}), None)
        .iter()
        .map(FieldError::message)
        .collect();
    assert_eq!(
        got,
        vec![
            "spec.template.apiVersion: Required value: must not be empty",
            "spec.template.kind: Invalid value: \"\": must not be empty",
        ]
    );
}
