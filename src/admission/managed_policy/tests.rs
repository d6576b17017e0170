use super::*;
use crate::admission::Confinement;

const READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;

fn desired(name: &str, document: &str) -> DesiredPolicy {
    DesiredPolicy {
        name: name.into(),
        path: "/".into(),
        description: String::new(),
        document: document.into(),
        tags: BTreeMap::new(),
        ignored_tag_keys: Vec::new(),
    }
}

fn owner() -> Owner {
    Owner {
        cluster: "c".into(),
        namespace: "team-a".into(),
        name: "shared".into(),
    }
}

#[test]
fn problems_table() {
    let oversize = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{}/*"}}]}}"#,
        "b".repeat(6100)
    );
    let long = "p".repeat(129);
    // (name, document, expected rule, fragment of the message)
    type Case<'a> = (&'a str, String, Option<(Rule, &'a str)>);
    let cases: Vec<Case> = vec![
        ("team-a.shared", READ.to_string(), None),
        ("", READ.to_string(), Some((Rule::PolicyNameEmpty, "is empty"))),
        ("has space", READ.to_string(), Some((Rule::PolicyNameCharacters, "\"has space\" contains"))),
        (&long, READ.to_string(), Some((Rule::PolicyNameTooLong, "is 129 characters long; IAM allows 1 to 128"))),
        ("x", oversize, Some((Rule::ManagedPolicyTooLarge, "is 6210 characters long without whitespace; IAM allows 6144"))),
        ("x", "[]".to_string(), Some((Rule::PolicyGrammar, "must be a JSON object"))),
        (
            "x",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}"#.to_string(),
            Some((Rule::PolicyGrammar, "Statement[0]")),
        ),
    ];
    for (name, document, want) in cases {
        let problems = check_policy(&desired(name, &document), &owner());
        match want {
            None => assert!(problems.is_empty(), "{name}: {problems:?}"),
            Some((rule, fragment)) => assert!(
                problems
                    .iter()
                    .any(|p| p.rule == rule && p.message.contains(fragment)),
                "{name}: {rule:?} {fragment:?} not in {problems:?}"
            ),
        }
    }
}

#[test]
fn findings_table() {
    let cases = [
        (READ, vec![]),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            vec![Rule::AdminAccess],
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#,
            vec![Rule::NotActionEverywhere],
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotAction":"iam:*","Resource":"*"}]}"#,
            vec![],
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"arn:aws:s3:::b/*"}]}"#,
            vec![],
        ),
    ];
    for (document, want) in cases {
        let got: Vec<Rule> = policy_findings(&desired("x", document))
            .iter()
            .map(|f| f.id)
            .collect();
        assert_eq!(got, want, "{document}");
    }
}

#[test]
fn policy_names() {
    assert_eq!(policy_name("team-a", "shared", None), "team-a.shared");
    assert_eq!(
        policy_name("team-a", "shared", Some("Explicit")),
        "Explicit"
    );
    let long = "a".repeat(200);
    let one = policy_name("team-a", &format!("{long}-one"), None);
    let two = policy_name("team-a", &format!("{long}-two"), None);
    assert_eq!((one.len(), two.len()), (128, 128));
    assert_ne!(one, two);
    assert!(one.starts_with("team-a.aaa"));
}

fn input(namespace: &str, policy_name: Option<&str>) -> PolicyInput {
    PolicyInput {
        namespace: Some(namespace.into()),
        name: Some("shared".into()),
        spec: PolicySpec {
            policy_name: policy_name.map(str::to_string),
            path: "/".into(),
            description: Some("reads".into()),
            document: serde_json::json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
            ]}),
            tags: BTreeMap::from([("team".to_string(), "a".to_string())]),
        },
        recorded_name: None,
        recorded_arn: false,
    }
}

#[test]
fn admission_confines_names_and_names_the_policy_field() {
    let confinement = Confinement::default();
    let ignored = vec!["org:*".to_string()];
    let context = Context {
        confinement: &confinement,
        ignore_tag_keys: &ignored,
        cluster_id: "c",
        workloads: &Default::default(),
    };
    let admitted = admit_policy(&input("team-a", None), &context).expect("admitted");
    assert_eq!(admitted.desired.name, "team-a.shared");
    assert_eq!(admitted.desired.ignored_tag_keys, ignored);
    assert_eq!(admitted.owner.tag_value(), "c/team-a/shared");
    let refused = admit_policy(&input("team-a", Some("team-b.shared")), &context)
        .expect_err("outside the namespace");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].field, "spec.policyName");
    assert_eq!(refused[0].rule, Rule::ConfinementNamePrefix);
    assert!(
        refused[0].message.contains("namespace team-a's policies"),
        "{refused:?}"
    );
    assert!(
        refused[0].message.contains("omit policyName"),
        "{refused:?}"
    );
    let mut unreadable = input("team-a", None);
    unreadable.spec.document = serde_json::json!([1]);
    let refused = admit_policy(&unreadable, &context).expect_err("a list is no document");
    assert_eq!(refused[0].field, "spec.document");
    let mut nameless = input("team-a", None);
    nameless.name = None;
    let refused = admit_policy(&nameless, &context).expect_err("no name");
    assert_eq!(refused[0].rule, Rule::MissingMetadata);
}
