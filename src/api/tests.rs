use super::*;

/// `rolesmith crd` prints what `crds/` holds: every kind's CRD, in the order of the files.
#[test]
fn crd_prints_every_committed_crd() {
    let committed = [
        include_str!("../../crds/iamroles.iam.rolesmith.dev.yaml"),
        include_str!("../../crds/iampolicies.iam.rolesmith.dev.yaml"),
        include_str!("../../crds/roleguardrails.iam.rolesmith.dev.yaml"),
        include_str!("../../crds/awsaccounts.iam.rolesmith.dev.yaml"),
        include_str!("../../crds/iamservicelinkedroles.iam.rolesmith.dev.yaml"),
    ];
    // `crds/` is generated from the types.
    use clap::ValueEnum;
    for (kind, committed) in crate::cli::CrdKind::value_variants().iter().zip(committed) {
        assert!(
            crd_yaml_of(*kind).expect("CRD serializes") == committed,
            "the committed CRD of {kind:?} is stale: run `make generate`"
        );
    }
    let printed = crds_yaml(None).expect("CRDs serialize");
    let documents: Vec<&str> = printed.split("---\n").collect();
    assert_eq!(documents, committed);
    assert_eq!(
        crds_yaml(Some(crate::cli::CrdKind::IamPolicy)).expect("CRD serializes"),
        committed[1]
    );
}

#[test]
fn spec_defaults_match_the_schema_defaults() {
    let spec: IamRoleSpec = serde_json::from_value(serde_json::json!({
        "assumeRolePolicy": {"Version": "2012-10-17", "Statement": []}
    }))
    .expect("minimal spec parses");
    assert_eq!(spec.path, "/");
    assert_eq!(spec.max_session_duration, 3600);
    assert_eq!(spec.deletion_policy, DeletionPolicy::Delete);
    assert!(!spec.adopt);
    let crd = serde_json::to_value(IamRole::crd()).expect("CRD serializes");
    let props = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
    assert_eq!(props["path"]["default"], "/");
    assert_eq!(props["maxSessionDuration"]["default"], 3600);
    assert_eq!(props["deletionPolicy"]["default"], "Delete");
}

/// `kubectl explain` is only as good as the descriptions: every field of every kind must
/// have one.
#[test]
fn every_field_has_a_description() {
    fn walk(path: &str, schema: &serde_json::Value, missing: &mut Vec<String>) {
        if let Some(properties) = schema.get("properties").and_then(|p| p.as_object()) {
            for (name, property) in properties {
                let here = format!("{path}.{name}");
                let top_level_meta = path.is_empty()
                    && (name == "apiVersion" || name == "kind" || name == "metadata");
                if property.get("description").is_none() && !top_level_meta {
                    missing.push(here.clone());
                }
                walk(&here, property, missing);
            }
        }
        if let Some(items) = schema.get("items") {
            walk(&format!("{path}[]"), items, missing);
        }
    }
    let crds = [
        IamRole::crd(),
        IamPolicy::crd(),
        RoleGuardrail::crd(),
        AwsAccount::crd(),
        IamServiceLinkedRole::crd(),
    ];
    for crd in crds {
        let kind = crd.spec.names.kind.clone();
        let crd = serde_json::to_value(crd).expect("CRD serializes");
        let root = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        let mut missing = Vec::new();
        walk("", root, &mut missing);
        assert!(
            missing.is_empty(),
            "{kind}: fields without a description: {missing:?}"
        );
    }
}

/// The schema takes its bounds from `limits` where an attribute can; the pattern and the CEL
/// rule below are text, so they are checked against the same constants here.
#[test]
fn literal_limits_in_the_schema_are_iams() {
    assert!(ROLE_NAME_PATTERN.ends_with(&format!("{{1,{}}}$", limits::ROLE_NAME_MAX)));
    let crd = serde_json::to_value(IamRole::crd()).expect("CRD serializes");
    let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
    let tag_rules = spec["tags"]["x-kubernetes-validations"].to_string();
    let key_rule = format!("size(k) <= {}", limits::TAG_KEY_MAX);
    assert!(tag_rules.contains(&key_rule), "{tag_rules}");
    assert!(
        tag_rules.contains(crate::model::OWNER_TAG_KEY),
        "{tag_rules}"
    );
    for (field, key, want) in [
        ("roleName", "maxLength", limits::ROLE_NAME_MAX),
        ("path", "maxLength", limits::PATH_MAX),
        ("description", "maxLength", limits::DESCRIPTION_MAX),
        (
            "managedPolicyArns",
            "maxItems",
            limits::MANAGED_POLICIES_MAX,
        ),
        ("tags", "maxProperties", limits::SPEC_TAGS_MAX),
        (
            "inlinePolicies",
            "maxProperties",
            limits::INLINE_POLICIES_MAX,
        ),
    ] {
        assert_eq!(spec[field][key], want, "{field}.{key}");
    }
    has_iams_session_bounds(&spec["maxSessionDuration"]);
}

/// A maxSessionDuration schema bounded as IAM bounds it.
pub(crate) fn has_iams_session_bounds(session: &serde_json::Value) {
    assert_eq!(
        session["minimum"].as_f64(),
        Some(f64::from(limits::SESSION_MIN))
    );
    assert_eq!(
        session["maximum"].as_f64(),
        Some(f64::from(limits::SESSION_MAX))
    );
}

#[test]
fn schema_patterns_accept_and_reject_what_iam_does() {
    let role_name = regex::Regex::new(ROLE_NAME_PATTERN).expect("pattern compiles");
    let arn = regex::Regex::new(POLICY_ARN_PATTERN).expect("pattern compiles");
    let path = regex::Regex::new(PATH_PATTERN).expect("pattern compiles");
    let description = regex::Regex::new(DESCRIPTION_PATTERN).expect("pattern compiles");
    for (pattern, text, ok) in [
        (&role_name, "app-role_1+=,.@", true),
        (&role_name, "has space", false),
        (&role_name, "ünicode", false),
        (&role_name, &"a".repeat(65), false),
        (&arn, "arn:aws:iam::aws:policy/ReadOnlyAccess", true),
        (&arn, "arn:aws-cn:iam::123456789012:policy/team/x", true),
        (&arn, "arn:aws:iam::12345:policy/x", false),
        (&arn, "arn:aws:s3:::bucket", false),
        (&path, "/", true),
        (&path, "/teams/a/", true),
        (&path, "teams/", false),
        (&path, "/teams", false),
        (&description, "A role: for Lambda — with umlauts äö", false),
        (&description, "A role for Lambda (äö)", true),
    ] {
        assert_eq!(pattern.is_match(text), ok, "{text}");
    }
}
