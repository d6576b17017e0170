use kube::CustomResourceExt;

use super::*;

fn spec_schema() -> serde_json::Value {
    let crd = serde_json::to_value(RoleGuardrail::crd()).expect("CRD serializes");
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"].clone()
}

/// `deny` lists exactly the catalog's ids, generated from it; the bounds are IAM's.
#[test]
fn schema_is_generated_from_the_catalog_and_the_limits() {
    let spec = spec_schema();
    let ids: Vec<&str> = spec["properties"]["deny"]["items"]["enum"]
        .as_array()
        .expect("an enum")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    let catalog: Vec<&str> = crate::findings::CHECKS
        .iter()
        .filter(|rule| crate::admission::deniable(**rule))
        .map(|rule| rule.id())
        .collect();
    assert_eq!(ids, catalog);
    assert!(ids.contains(&"admin-access") && !ids.contains(&"unused-role"));
    crate::api::tests::has_iams_session_bounds(&spec["properties"]["maxSessionDuration"]);
    assert_eq!(spec["required"], serde_json::json!(["namespaces"]));
    let crd = serde_json::to_value(RoleGuardrail::crd()).expect("CRD serializes");
    assert_eq!(crd["spec"]["scope"], "Cluster");
}

#[test]
fn patterns_accept_and_reject() {
    let namespace = regex::Regex::new(NAMESPACE_PATTERN).expect("compiles");
    let action = regex::Regex::new(ACTION_PATTERN).expect("compiles");
    let account = regex::Regex::new(ACCOUNT_PATTERN).expect("compiles");
    let arn = regex::Regex::new(POLICY_ARN_PATTERN).expect("compiles");
    for (pattern, text, ok) in [
        (&namespace, "*", true),
        (&namespace, "team-a", true),
        (&namespace, "Team", false),
        (&namespace, "team-*", false),
        (&namespace, "-team", false),
        (&action, "*", true),
        (&action, "iam:*", true),
        (&action, "s3:Delete*", true),
        (&action, "ec2:Describe?nstances", true),
        (&action, "iam", false),
        (&action, "iam:Pass Role", false),
        (&account, "123456789012", true),
        (&account, "12345678901", false),
        (&account, "arn:aws:iam::123456789012:root", false),
        (&arn, "arn:aws:iam::123456789012:policy/boundary", true),
        (&arn, "boundary", false),
    ] {
        assert_eq!(pattern.is_match(text), ok, "{text}");
    }
}
