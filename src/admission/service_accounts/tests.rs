use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::admission::{Admitted, Context, Input, Spec, admit};

const PROVIDER: &str =
    "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC123";
const ISSUER: &str = "oidc.eks.eu-west-1.amazonaws.com/id/ABC123";

fn workloads() -> Workloads {
    Workloads {
        oidc_provider_arn: Some(PROVIDER.into()),
        default_via: WorkloadIdentity::Irsa,
        eks_cluster_name: Some("prod".into()),
        other_account: None,
    }
}

fn entry(name: &str, namespace: Option<&str>, via: Option<WorkloadIdentity>) -> ServiceAccountRef {
    ServiceAccountRef {
        name: name.into(),
        namespace: namespace.map(str::to_string),
        via,
    }
}

fn account(namespace: &str, name: &str, via: WorkloadIdentity) -> WorkloadAccount {
    WorkloadAccount {
        namespace: namespace.into(),
        name: name.into(),
        via,
    }
}

use WorkloadIdentity::{Irsa, PodIdentity};

#[test]
fn issuers_of_provider_arns() {
    for (arn, want) in [
        (PROVIDER, Some(ISSUER)),
        (
            "arn:aws-cn:iam::123456789012:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/X",
            Some("oidc.eks.cn-north-1.amazonaws.com.cn/id/X"),
        ),
        ("arn:aws:iam::123456789012:oidc-provider/", None),
        ("arn:aws:iam::123456789012:saml-provider/corp", None),
        ("arn:aws:iam::aws:oidc-provider/x", None),
        ("arn:aws:s3:::oidc-provider/x", None),
        ("oidc.eks.eu-west-1.amazonaws.com/id/ABC123", None),
    ] {
        assert_eq!(issuer(arn), want, "{arn}");
    }
}

#[test]
fn entries_resolve_with_defaults_or_are_refused_by_rule_and_field() {
    let all = workloads();
    let confined = Confinement::default();
    let unconfined = Confinement::none();
    let pod_default = Workloads {
        default_via: PodIdentity,
        ..workloads()
    };
    let no_oidc = Workloads {
        oidc_provider_arn: None,
        ..workloads()
    };
    let no_cluster = Workloads {
        eks_cluster_name: None,
        ..workloads()
    };
    let bad_oidc = Workloads {
        oidc_provider_arn: Some("arn:aws:iam::123456789012:role/x".into()),
        ..workloads()
    };
    let elsewhere = workloads().in_other_account("210987654321");
    type Want = Result<Vec<WorkloadAccount>, Vec<(&'static str, Rule)>>;
    let cases: Vec<(&str, Vec<ServiceAccountRef>, &Workloads, &Confinement, Want)> = vec![
        (
            "defaults: own namespace, the operator's via",
            vec![entry("api", None, None)],
            &all,
            &confined,
            Ok(vec![account("team", "api", Irsa)]),
        ),
        (
            "the operator's default via",
            vec![entry("api", None, None)],
            &pod_default,
            &confined,
            Ok(vec![account("team", "api", PodIdentity)]),
        ),
        (
            "own namespace written out",
            vec![entry("api", Some("team"), Some(PodIdentity))],
            &all,
            &confined,
            Ok(vec![account("team", "api", PodIdentity)]),
        ),
        (
            "listed twice, once with the namespace written out",
            vec![entry("api", None, None), entry("api", Some("team"), None)],
            &all,
            &confined,
            Err(vec![(
                "spec.serviceAccounts[1]",
                Rule::ServiceAccountListedTwice,
            )]),
        ),
        (
            "another namespace from a confined one",
            vec![entry("api", Some("other"), None)],
            &all,
            &confined,
            Err(vec![(
                "spec.serviceAccounts[0].namespace",
                Rule::CrossNamespaceServiceAccount,
            )]),
        ),
        (
            "another namespace from an unconfined one",
            vec![entry("api", Some("other"), None)],
            &all,
            &unconfined,
            Ok(vec![account("other", "api", Irsa)]),
        ),
        (
            "IRSA without --oidc-provider-arn",
            vec![
                entry("api", None, None),
                entry("worker", None, Some(PodIdentity)),
            ],
            &no_oidc,
            &confined,
            Err(vec![(
                "spec.serviceAccounts[0].via",
                Rule::WorkloadIdentityUnconfigured,
            )]),
        ),
        (
            "Pod Identity without --eks-cluster-name",
            vec![
                entry("api", None, None),
                entry("worker", None, Some(PodIdentity)),
            ],
            &no_cluster,
            &confined,
            Err(vec![(
                "spec.serviceAccounts[1].via",
                Rule::WorkloadIdentityUnconfigured,
            )]),
        ),
        (
            "IRSA in a role of another account",
            vec![entry("api", None, None)],
            &elsewhere,
            &confined,
            Ok(vec![account("team", "api", Irsa)]),
        ),
        (
            "Pod Identity in a role of another account",
            vec![
                entry("api", None, None),
                entry("worker", None, Some(PodIdentity)),
            ],
            &elsewhere,
            &confined,
            Err(vec![(
                "spec.serviceAccounts[1].via",
                Rule::PodIdentityOtherAccount,
            )]),
        ),
        (
            "an --oidc-provider-arn that is no OIDC provider",
            vec![entry("api", None, None)],
            &bad_oidc,
            &confined,
            Err(vec![(
                "spec.serviceAccounts[0].via",
                Rule::WorkloadIdentityUnconfigured,
            )]),
        ),
    ];
    let long_label = "a".repeat(64);
    let invalid = vec![
        (
            "an upper-case name",
            vec![entry("Api", None, None)],
            vec![(
                "spec.serviceAccounts[0].name",
                Rule::ServiceAccountNameInvalid,
            )],
        ),
        (
            "a dotted namespace",
            vec![entry("api", Some("team.a"), None)],
            vec![(
                "spec.serviceAccounts[0].namespace",
                Rule::ServiceAccountNameInvalid,
            )],
        ),
        (
            "a name ending in a dash, a label too long",
            vec![
                entry("api-", None, None),
                entry(&format!("x.{long_label}"), None, None),
            ],
            vec![
                (
                    "spec.serviceAccounts[0].name",
                    Rule::ServiceAccountNameInvalid,
                ),
                (
                    "spec.serviceAccounts[1].name",
                    Rule::ServiceAccountNameInvalid,
                ),
            ],
        ),
    ];
    let cases = cases.into_iter().chain(
        invalid
            .into_iter()
            .map(|(label, entries, rows)| (label, entries, &all, &unconfined, Err(rows))),
    );
    for (label, entries, workloads, confinement, want) in cases {
        let got = resolve("team", &entries, workloads, confinement).map_err(|problems| {
            problems
                .iter()
                .map(|p| (p.field.clone(), p.rule))
                .collect::<Vec<_>>()
        });
        let want = want.map_err(|rows| {
            rows.into_iter()
                .map(|(field, rule)| (field.to_string(), rule))
                .collect::<Vec<_>>()
        });
        assert_eq!(got, want, "{label}");
    }
}

#[test]
fn trust_statements_per_way() {
    let irsa = |sub: Value| {
        json!({
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                format!("{ISSUER}:sub"): sub,
                format!("{ISSUER}:aud"): "sts.amazonaws.com",
            }}
        })
    };
    let pods = |namespace: &str, accounts: Value| {
        json!({
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {
                "aws:RequestTag/kubernetes-namespace": namespace,
                "aws:RequestTag/kubernetes-service-account": accounts,
            }}
        })
    };
    let cases = [
        (
            vec![account("team", "api", Irsa)],
            vec![irsa(json!("system:serviceaccount:team:api"))],
        ),
        (
            vec![account("team", "api", Irsa), account("jobs", "batch", Irsa)],
            vec![irsa(json!([
                "system:serviceaccount:team:api",
                "system:serviceaccount:jobs:batch"
            ]))],
        ),
        (
            vec![
                account("team", "web", PodIdentity),
                account("jobs", "batch", PodIdentity),
                account("team", "api", PodIdentity),
            ],
            vec![
                pods("jobs", json!("batch")),
                pods("team", json!(["web", "api"])),
            ],
        ),
        (
            vec![
                account("team", "api", Irsa),
                account("team", "worker", PodIdentity),
            ],
            vec![
                irsa(json!("system:serviceaccount:team:api")),
                pods("team", json!("worker")),
            ],
        ),
        (vec![], vec![]),
    ];
    for (accounts, want) in cases {
        assert_eq!(
            trust_statements(&accounts, &workloads()),
            want,
            "{accounts:?}"
        );
    }
}

/// A role in another account trusts the same issuer through that account's provider: IAM
/// accepts only a provider of the role's own account.
#[test]
fn irsa_in_another_account_trusts_that_accounts_provider() {
    let statements = trust_statements(
        &[account("team", "api", Irsa)],
        &workloads().in_other_account("210987654321"),
    );
    assert_eq!(
        statements[0]["Principal"]["Federated"],
        "arn:aws:iam::210987654321:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC123"
    );
    assert_eq!(
        statements[0]["Condition"]["StringEquals"][format!("{ISSUER}:sub")],
        "system:serviceaccount:team:api"
    );
}

#[test]
fn merging_keeps_the_written_document() {
    let added = || vec![json!({"Sid": "added"})];
    let cases: [(Option<&str>, Result<Value, ()>); 5] = [
        (
            None,
            Ok(json!({"Version": "2012-10-17", "Statement": [{"Sid": "added"}]})),
        ),
        (
            Some(r#"{"Version":"2008-10-17","Statement":[{"Sid":"mine"}]}"#),
            Ok(json!({"Version": "2008-10-17", "Statement": [{"Sid": "mine"}, {"Sid": "added"}]})),
        ),
        (
            Some(r#"{"Version":"2012-10-17","Statement":{"Sid":"mine"}}"#),
            Ok(json!({"Version": "2012-10-17", "Statement": [{"Sid": "mine"}, {"Sid": "added"}]})),
        ),
        (
            Some(r#"{"Version":"2012-10-17","Id":"x"}"#),
            Ok(json!({"Version": "2012-10-17", "Id": "x", "Statement": [{"Sid": "added"}]})),
        ),
        (Some("[1]"), Err(())),
    ];
    for (written, want) in cases {
        let got = merged_trust(written, added())
            .map(|text| serde_json::from_str::<Value>(&text).expect("JSON"))
            .map_err(|_| ());
        assert_eq!(got, want, "{written:?}");
    }
    // Nothing to add: the text goes to IAM exactly as written.
    let written = r#"{ "Version": "2012-10-17", "Statement": [] }"#;
    assert_eq!(merged_trust(Some(written), vec![]), Ok(written.to_string()));
}

#[test]
fn annotations_are_written_once_and_removed_only_when_ours() {
    let ours = "arn:aws:iam::123456789012:role/team.app";
    let theirs = "arn:aws:iam::123456789012:role/other";
    for (current, want, removed) in [
        (None, Annotation::Write, false),
        (Some(""), Annotation::Write, false),
        (Some(ours), Annotation::InSync, true),
        (Some(theirs), Annotation::HeldByOther(theirs.into()), false),
    ] {
        assert_eq!(annotation_action(current, ours), want, "{current:?}");
        assert_eq!(removes_annotation(current, ours), removed, "{current:?}");
    }
}

fn input(assume_role_policy: Option<Value>, entries: Vec<ServiceAccountRef>) -> Input {
    crate::admission::tests::team_app(Spec {
        assume_role_policy,
        service_accounts: entries,
        ..Spec::default()
    })
}

fn admitted(input: &Input, workloads: &Workloads) -> Result<Admitted, Vec<Problem>> {
    let confinement = Confinement::default();
    let context = Context {
        confinement: &confinement,
        ignore_tag_keys: &[],
        cluster_id: "test",
        guardrails: &[],
        workloads,
    };
    admit(input, &context)
}

/// What `plan`, `apply` and the controller send to IAM: the written statements and the
/// generated ones, in one document that passes IAM's grammar and size checks.
#[test]
fn admission_merges_the_statements_into_the_trust_policy() {
    let lambda = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let entries = vec![
        entry("api", None, None),
        entry("worker", None, Some(PodIdentity)),
    ];
    let only_accounts = admitted(&input(None, entries.clone()), &workloads()).expect("admitted");
    let document: Value =
        serde_json::from_str(&only_accounts.desired.assume_role_policy).expect("JSON");
    let generated = trust_statements(&only_accounts.service_accounts, &workloads());
    assert_eq!(
        document,
        json!({"Version": "2012-10-17", "Statement": generated})
    );
    assert_eq!(
        only_accounts.service_accounts,
        [
            account("team", "api", Irsa),
            account("team", "worker", PodIdentity)
        ]
    );

    let both = admitted(&input(Some(lambda.clone()), entries), &workloads()).expect("admitted");
    let document: Value = serde_json::from_str(&both.desired.assume_role_policy).expect("JSON");
    let mut statements = lambda["Statement"].as_array().expect("array").clone();
    statements.extend(generated);
    assert_eq!(document["Statement"], Value::from(statements));

    // Without entries the written text is sent as written.
    let text = lambda.to_string().replace(',', ", ");
    let plain = admitted(
        &input(Some(Value::String(text.clone())), vec![]),
        &workloads(),
    )
    .expect("admitted");
    assert_eq!(plain.desired.assume_role_policy, text);
}

#[test]
fn admission_refuses_a_role_nobody_could_assume_or_an_unserved_way() {
    let rules = |result: Result<Admitted, Vec<Problem>>| -> Vec<(String, Rule)> {
        result
            .expect_err("refused")
            .into_iter()
            .map(|p| (p.field, p.rule))
            .collect()
    };
    assert_eq!(
        rules(admitted(&input(None, vec![]), &workloads())),
        [(
            "spec.assumeRolePolicy".to_string(),
            Rule::TrustPolicyMissing
        )]
    );
    let no_oidc = Workloads::default();
    let problems =
        admitted(&input(None, vec![entry("api", None, None)]), &no_oidc).expect_err("refused");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].rule, Rule::WorkloadIdentityUnconfigured);
    assert!(
        problems[0].message.contains("--oidc-provider-arn"),
        "{}",
        problems[0].message
    );
    assert_eq!(
        rules(admitted(
            &input(None, vec![entry("api", Some("other"), None)]),
            &workloads()
        )),
        [(
            "spec.serviceAccounts[0].namespace".to_string(),
            Rule::CrossNamespaceServiceAccount
        )]
    );
}

/// The statements rolesmith writes must pass its own checks: no finding of the catalog (trust,
/// permissions, hygiene), at any severity, for a role made of them alone.
#[test]
fn generated_statements_raise_no_finding() {
    let accounts = vec![
        account("team", "api", Irsa),
        account("jobs", "batch", Irsa),
        account("team", "worker", PodIdentity),
        account("team", "web", PodIdentity),
        account("jobs", "cron", PodIdentity),
    ];
    let trust = merged_trust(None, trust_statements(&accounts, &workloads())).expect("merged");
    let boundary = "arn:aws:iam::123456789012:policy/boundary";
    let facts = crate::findings::RoleFacts {
        trust: &trust,
        inline_policies: &BTreeMap::new(),
        managed_policy_arns: &[],
        managed_documents: &BTreeMap::new(),
        permissions_boundary: Some(boundary),
        own_account: Some("123456789012"),
        usage: None,
    };
    let found = crate::findings::role_findings(&facts, &crate::findings::Settings::default());
    assert_eq!(found, [], "{trust}");
    // And through admission, as the engine asks (warnings of low severity and up).
    let entries = vec![
        entry("api", None, None),
        entry("worker", None, Some(PodIdentity)),
    ];
    let role = admitted(&input(None, entries), &workloads()).expect("admitted");
    assert_eq!(
        crate::admission::findings(&role.desired, Some("123456789012")),
        []
    );
}

#[test]
fn associations_are_made_once_kept_and_never_taken() {
    let ours = "arn:aws:iam::123456789012:role/team.app";
    let theirs = "arn:aws:iam::123456789012:role/other";
    for (found, want) in [
        (None, Association::Create),
        (Some(ours), Association::Keep),
        (Some(theirs), Association::HeldByOther(theirs.into())),
    ] {
        assert_eq!(association_action(found, ours), want, "{found:?}");
    }
    let wanted = [
        account("team", "worker", PodIdentity),
        account("team", "api", Irsa),
    ];
    for (namespace, name, want) in [
        ("team", "worker", true),
        ("team", "api", false),
        ("other", "worker", false),
        ("team", "gone", false),
    ] {
        assert_eq!(
            association_wanted(&wanted, namespace, name),
            want,
            "{namespace}/{name}"
        );
    }
}
