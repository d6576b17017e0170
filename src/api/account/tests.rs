use super::*;
use kube::CustomResourceExt;

#[test]
fn schema_patterns_accept_and_reject_what_aws_does() {
    let compile = |pattern| regex::Regex::new(pattern).expect("pattern compiles");
    let (id, arn, external, session, namespace) = (
        compile(ACCOUNT_ID_PATTERN),
        compile(ROLE_ARN_PATTERN),
        compile(EXTERNAL_ID_PATTERN),
        compile(SESSION_NAME_PATTERN),
        compile(NAMESPACE_PATTERN),
    );
    let long_external = "x".repeat(1224);
    let too_long_external = "x".repeat(1225);
    for (pattern, text, ok) in [
        (&id, "111111111111", true),
        (&id, "11111111111", false),
        (&id, "1111111111112", false),
        (&id, "11111111111a", false),
        (&arn, "arn:aws:iam::111111111111:role/rolesmith", true),
        (
            &arn,
            "arn:aws-us-gov:iam::111111111111:role/path/to/rolesmith",
            true,
        ),
        (&arn, "arn:aws:iam::111111111111:user/rolesmith", false),
        (
            &arn,
            "arn:aws:iam::111111111111:role/x:iam::222222222222:role/y",
            false,
        ),
        (&arn, "arn:aws:sts::111111111111:role/rolesmith", false),
        (&external, "ab", true),
        (&external, "tenant-42:prod/x@y.z+=,", true),
        (&external, "has space", false),
        (&external, "semi;colon", false),
        (&external, &long_external, true),
        // Length is a separate bound (below): the pattern is only the characters.
        (&external, &too_long_external, true),
        (&session, "rolesmith", true),
        (&session, "r", false),
        (&session, "with/slash", false),
        (&namespace, "*", true),
        (&namespace, "team-a", true),
        (&namespace, "Team", false),
        (&namespace, "-a", false),
        (&namespace, "a*", false),
    ] {
        assert_eq!(pattern.is_match(text), ok, "{text}");
    }
}

#[test]
fn namespaces_allowed() {
    let spec = |namespaces: &[&str]| AwsAccountSpec {
        account_id: "111111111111".into(),
        assume_role: None,
        allowed_namespaces: namespaces.iter().map(|n| n.to_string()).collect(),
        default: false,
    };
    let cases = [
        (spec(&[]), "a", false),
        (spec(&["*"]), "a", true),
        (spec(&["a", "b"]), "b", true),
        (spec(&["a", "b"]), "c", false),
    ];
    for (spec, namespace, want) in cases {
        assert_eq!(
            spec.allows(namespace),
            want,
            "{:?} {namespace}",
            spec.allowed_namespaces
        );
    }
}

/// The rules the schema cannot express as patterns, by their text: what the hostile tests send
/// through a real API server is checked there.
#[test]
fn the_crd_carries_the_cross_field_rules() {
    let crd = serde_json::to_value(AwsAccount::crd()).expect("CRD serializes");
    let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    let rules = schema["properties"]["spec"]["x-kubernetes-validations"].to_string();
    assert!(
        rules.contains("self.accountId == oldSelf.accountId"),
        "{rules}"
    );
    assert!(
        rules.contains("':iam::' + self.accountId + ':role/'"),
        "{rules}"
    );
    let tags =
        &schema["properties"]["spec"]["properties"]["assumeRole"]["properties"]["sessionTags"];
    assert_eq!(tags["maxProperties"], SESSION_TAGS_MAX);
    assert_eq!(
        tags["additionalProperties"]["maxLength"],
        SESSION_TAG_VALUE_MAX
    );
    assert!(
        tags.to_string()
            .contains(&format!("size(k) <= {SESSION_TAG_KEY_MAX}"))
    );
    assert_eq!(crd["spec"]["scope"], "Cluster");
}

#[test]
fn the_operator_refuses_what_the_schema_refuses() {
    let good = || AwsAccountSpec {
        account_id: "111111111111".into(),
        assume_role: Some(AssumeRole {
            role_arn: "arn:aws:iam::111111111111:role/rolesmith".into(),
            external_id: Some("tenant-42".into()),
            session_name: None,
            session_tags: BTreeMap::from([("team".into(), "a".into())]),
        }),
        allowed_namespaces: vec!["team-a".into(), "*".into()],
        default: false,
    };
    let with = |change: &dyn Fn(&mut AwsAccountSpec)| {
        let mut spec = good();
        change(&mut spec);
        spec.problems()
    };
    fn assume(spec: &mut AwsAccountSpec) -> &mut AssumeRole {
        spec.assume_role.as_mut().expect("set above")
    }
    assert_eq!(good().problems(), Vec::<String>::new());
    let cases: Vec<(&str, Vec<String>, &str)> = vec![
        (
            "short id",
            with(&|s| s.account_id = "12345".into()),
            "accountId",
        ),
        (
            "ARN elsewhere",
            with(&|s| assume(s).role_arn = "arn:aws:iam::222222222222:role/x".into()),
            "is not in account",
        ),
        (
            "not a role",
            with(&|s| assume(s).role_arn = "arn:aws:iam::111111111111:user/x".into()),
            "is not a role ARN",
        ),
        (
            "ExternalId chars",
            with(&|s| assume(s).external_id = Some("bad id;".into())),
            "externalId",
        ),
        (
            "session name",
            with(&|s| assume(s).session_name = Some("x".into())),
            "sessionName",
        ),
        (
            "51 tags",
            with(&|s| {
                assume(s).session_tags = (0..51).map(|i| (format!("k{i}"), "v".into())).collect()
            }),
            "at most 50",
        ),
        (
            "huge tag value",
            with(&|s| assume(s).session_tags = BTreeMap::from([("k".into(), "v".repeat(257))])),
            "values at most",
        ),
        (
            "bad namespace",
            with(&|s| s.allowed_namespaces = vec!["Team_A".into()]),
            "allowedNamespaces",
        ),
    ];
    for (name, problems, want) in cases {
        assert!(
            problems.iter().any(|p| p.contains(want)),
            "{name}: {problems:?}"
        );
        assert!(
            !problems.concat().contains("bad id;"),
            "{name}: the ExternalId is quoted"
        );
    }
}

/// Go's regexp, which kube-apiserver uses for `pattern`, refuses a repeat count over 1000: such
/// a CRD would be refused by a real cluster (the test API server's regex engine accepts it).
#[test]
fn every_crd_pattern_is_one_go_accepts() {
    fn patterns(value: &serde_json::Value, found: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map {
                    match (key.as_str(), inner) {
                        ("pattern", serde_json::Value::String(p)) => found.push(p.clone()),
                        _ => patterns(inner, found),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| patterns(i, found)),
            _ => {}
        }
    }
    let repeat = regex::Regex::new(r"\{(\d+)(,(\d*))?\}").expect("pattern compiles");
    let crds = [
        serde_json::to_value(AwsAccount::crd()),
        serde_json::to_value(crate::api::IamRole::crd()),
        serde_json::to_value(crate::api::IamPolicy::crd()),
    ];
    let mut found = Vec::new();
    for crd in crds {
        patterns(&crd.expect("CRD serializes"), &mut found);
    }
    assert!(found.len() > 5, "{found:?}");
    for pattern in found {
        for bound in repeat.captures_iter(&pattern) {
            for group in [1, 3] {
                let count: u32 = bound
                    .get(group)
                    .and_then(|m| m.as_str().parse().ok())
                    .unwrap_or(0);
                assert!(
                    count <= 1000,
                    "{pattern}: repeat count {count} over Go's 1000"
                );
            }
        }
    }
}
