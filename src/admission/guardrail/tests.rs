//! Guardrails as tables: which rule, on which field, from which guardrail.

use std::collections::BTreeMap;

use super::*;
use crate::error::{Category, Error};

const OWN: &str = "111111111111";
const BOUNDARY: &str = "arn:aws:iam::111111111111:policy/boundary";
const PASS_ROLE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","iam:PassRole"],"Resource":"*"}]}"#;

fn trust_of(accounts: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":{accounts}}},"Action":"sts:AssumeRole","Condition":{{"StringEquals":{{"sts:ExternalId":"x"}}}}}}]}}"#
    )
}

/// A role no guardrail below objects to.
fn desired() -> DesiredRole {
    let valid = crate::admission::tests::iam_rules::role();
    DesiredRole {
        name: "team.app".into(),
        settings: crate::model::RoleSettings {
            managed_policy_arns: Vec::new(),
            permissions_boundary: Some(BOUNDARY.into()),
            tags: BTreeMap::new(),
            ..valid.settings
        },
        ..valid
    }
}

fn guardrail(name: &str, namespaces: &[&str]) -> Guardrail {
    Guardrail {
        name: name.into(),
        namespaces: namespaces.iter().map(|n| n.to_string()).collect(),
        ..Guardrail::default()
    }
}

type Edit = fn(&mut DesiredRole);
/// A label, the guardrails in force, the change to the clean role, and (rule, field, guardrail)
/// of each violation expected.
type Case<'a> = (
    &'a str,
    Vec<&'a Guardrail>,
    Edit,
    Vec<(Rule, &'a str, &'a str)>,
);

#[test]
fn violations_by_rule_field_and_guardrail() {
    let deny_passrole = Guardrail {
        deny: vec![Rule::PassRoleWildcard, Rule::NoPermissionsBoundary],
        ..guardrail("no-passrole", &["team"])
    };
    let boundary = Guardrail {
        require_permissions_boundary: vec![
            BOUNDARY.into(),
            "arn:aws:iam::111111111111:policy/b2".into(),
        ],
        ..guardrail("boundary", &["*"])
    };
    let actions = Guardrail {
        deny_actions: vec!["iam:*".into(), "s3:Delete*".into()],
        ..guardrail("actions", &["team", "other"])
    };
    let accounts = Guardrail {
        allowed_trust_accounts: Some(vec!["222222222222".into()]),
        ..guardrail("accounts", &["*"])
    };
    let session = Guardrail {
        max_session_duration: Some(7200),
        ..guardrail("session", &["team"])
    };
    let elsewhere = Guardrail {
        deny_actions: vec!["*".into()],
        max_session_duration: Some(900),
        require_permissions_boundary: vec!["arn:aws:iam::111111111111:policy/other".into()],
        ..guardrail("elsewhere", &["prod"])
    };
    let nothing: Edit = |_| {};
    let cases: Vec<Case> = vec![
        ("no guardrail", vec![], nothing, vec![]),
        (
            "every guardrail, a clean role",
            vec![
                &deny_passrole,
                &boundary,
                &actions,
                &accounts,
                &session,
                &elsewhere,
            ],
            nothing,
            vec![],
        ),
        (
            "a guardrail for another namespace",
            vec![&elsewhere],
            |d| {
                d.inline_policies.insert("pass".into(), PASS_ROLE.into());
            },
            vec![],
        ),
        (
            "denied finding",
            vec![&deny_passrole],
            |d| {
                d.inline_policies.insert("pass".into(), PASS_ROLE.into());
            },
            vec![(
                Rule::GuardrailDeniedFinding,
                "spec.inlinePolicies.pass",
                "no-passrole",
            )],
        ),
        (
            // The catalog reports it at info, which warnings leave out; a guardrail still denies it.
            "denied info finding",
            vec![&deny_passrole],
            |d| d.permissions_boundary = None,
            vec![(
                Rule::GuardrailDeniedFinding,
                "spec.permissionsBoundary",
                "no-passrole",
            )],
        ),
        (
            "boundary missing",
            vec![&boundary],
            |d| d.permissions_boundary = None,
            vec![(
                Rule::GuardrailPermissionsBoundary,
                "spec.permissionsBoundary",
                "boundary",
            )],
        ),
        (
            "boundary not listed",
            vec![&boundary],
            |d| d.permissions_boundary = Some("arn:aws:iam::111111111111:policy/mine".into()),
            vec![(
                Rule::GuardrailPermissionsBoundary,
                "spec.permissionsBoundary",
                "boundary",
            )],
        ),
        (
            "the other listed boundary",
            vec![&boundary],
            |d| d.permissions_boundary = Some("arn:aws:iam::111111111111:policy/b2".into()),
            vec![],
        ),
        (
            "denied action through a wildcard on either side",
            vec![&actions],
            |d| {
                d.inline_policies.insert("pass".into(), PASS_ROLE.into());
                d.inline_policies.insert(
                    "delete".into(),
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#.into(),
                );
            },
            vec![
                (
                    Rule::GuardrailDeniedAction,
                    "spec.inlinePolicies.delete",
                    "actions",
                ),
                (
                    Rule::GuardrailDeniedAction,
                    "spec.inlinePolicies.pass",
                    "actions",
                ),
            ],
        ),
        (
            "denied action only in a Deny statement",
            vec![&actions],
            |d| {
                d.inline_policies.insert(
                    "guard".into(),
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:*","Resource":"*"}]}"#.into(),
                );
            },
            vec![],
        ),
        (
            "own and allowed accounts",
            vec![&accounts],
            |d| {
                d.assume_role_policy =
                    trust_of(r#"["111111111111","arn:aws:iam::222222222222:root"]"#)
            },
            vec![],
        ),
        (
            "an account not allowed",
            vec![&accounts],
            |d| {
                d.assume_role_policy =
                    trust_of(r#"["arn:aws:iam::333333333333:role/ci","222222222222"]"#)
            },
            vec![(
                Rule::GuardrailTrustAccount,
                "spec.assumeRolePolicy",
                "accounts",
            )],
        ),
        (
            "every account",
            vec![&accounts],
            |d| d.assume_role_policy = trust_of(r#""*""#),
            vec![(
                Rule::GuardrailTrustAccount,
                "spec.assumeRolePolicy",
                "accounts",
            )],
        ),
        (
            "session at the limit",
            vec![&session],
            |d| d.max_session_duration = 7200,
            vec![],
        ),
        (
            "session above the limit",
            vec![&session],
            |d| d.max_session_duration = 7201,
            vec![(
                Rule::GuardrailSessionDuration,
                "spec.maxSessionDuration",
                "session",
            )],
        ),
        (
            "guardrails add up, each in order",
            vec![&session, &boundary, &actions],
            |d| {
                d.max_session_duration = 43200;
                d.permissions_boundary = None;
                d.inline_policies.insert("pass".into(), PASS_ROLE.into());
            },
            vec![
                (
                    Rule::GuardrailSessionDuration,
                    "spec.maxSessionDuration",
                    "session",
                ),
                (
                    Rule::GuardrailPermissionsBoundary,
                    "spec.permissionsBoundary",
                    "boundary",
                ),
                (
                    Rule::GuardrailDeniedAction,
                    "spec.inlinePolicies.pass",
                    "actions",
                ),
            ],
        ),
    ];
    for (label, guardrails, edit, want) in cases {
        let mut role = desired();
        edit(&mut role);
        let guardrails: Vec<Guardrail> = guardrails.into_iter().cloned().collect();
        let problems = every_problem("team", &role, &guardrails);
        let got: Vec<(Rule, &str)> = problems
            .iter()
            .map(|p| (p.rule, p.field.as_str()))
            .collect();
        let expected: Vec<(Rule, &str)> = want.iter().map(|(r, f, _)| (*r, *f)).collect();
        assert_eq!(got, expected, "{label}: {problems:?}");
        for (problem, (_, _, name)) in problems.iter().zip(&want) {
            assert!(
                problem.message.contains(&format!("RoleGuardrail {name} ")),
                "{label}: {}",
                problem.message
            );
        }
    }
}

#[test]
fn covered_namespaces() {
    let cases: [(&[&str], &str, bool); 5] = [
        (&["*"], "team", true),
        (&["team", "prod"], "prod", true),
        (&["team"], "teams", false),
        (&[], "team", false),
        (&["Team"], "team", false),
    ];
    for (namespaces, namespace, want) in cases {
        assert_eq!(
            guardrail("g", namespaces).covers(namespace),
            want,
            "{namespaces:?} {namespace}"
        );
    }
}

/// Both halves, as the operator runs them: admission's, then those that need the account.
fn every_problem(namespace: &str, role: &DesiredRole, guardrails: &[Guardrail]) -> Vec<Problem> {
    let mut problems = guardrail_problems(namespace, role, guardrails);
    problems.extend(account_guardrail_problems(namespace, role, guardrails, OWN));
    problems
}

/// The rules that need the account are left out of admission's half and are all of the other.
#[test]
fn account_rules_wait_for_the_account() {
    let strict = Guardrail {
        deny: vec![Rule::CrossAccountNoExternalId, Rule::AdminAccess],
        allowed_trust_accounts: Some(Vec::new()),
        ..guardrail("strict", &["*"])
    };
    let guardrails = std::slice::from_ref(&strict);
    let mut role = desired();
    // The own account, without an external id: neither another account nor a confused deputy.
    role.assume_role_policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}"#.into();
    assert_eq!(guardrail_problems("team", &role, guardrails), vec![]);
    assert_eq!(
        account_guardrail_problems("team", &role, guardrails, OWN),
        vec![]
    );
    // The same trust seen from another account: both account rules refuse it, only there.
    let rules: Vec<Rule> = account_guardrail_problems("team", &role, guardrails, "999999999999")
        .iter()
        .map(|p| p.rule)
        .collect();
    assert_eq!(
        rules,
        [Rule::GuardrailDeniedFinding, Rule::GuardrailTrustAccount]
    );
    assert_eq!(guardrail_problems("team", &role, guardrails), vec![]);
    // A namespace no guardrail covers: nothing, whatever the account.
    assert_eq!(
        account_guardrail_problems("other", &role, &[guardrail("g", &["team"])], "999999999999"),
        vec![]
    );
}

#[test]
fn deniable_findings_are_the_spec_checks_of_the_catalog() {
    let deniable: Vec<Rule> = Rule::ALL.iter().copied().filter(|r| deniable(*r)).collect();
    assert_eq!(deniable.len(), crate::findings::CHECKS.len() - 2);
    for rule in [
        Rule::AdminAccess,
        Rule::NoPermissionsBoundary,
        Rule::WildcardTrust,
    ] {
        assert!(deniable.contains(&rule), "{rule}");
    }
    for rule in [Rule::UnusedRole, Rule::AccountQuota, Rule::PathEmpty] {
        assert!(!deniable.contains(&rule), "{rule}");
    }
}

/// What users read in status and Events, and the category that becomes the Event reason.
#[test]
fn wording_and_category() {
    let strict = Guardrail {
        deny: vec![Rule::PassRoleWildcard],
        require_permissions_boundary: vec![BOUNDARY.into()],
        deny_actions: vec!["iam:PassRole".into()],
        allowed_trust_accounts: Some(Vec::new()),
        max_session_duration: Some(3600),
        ..guardrail("strict", &["*"])
    };
    let mut role = desired();
    role.permissions_boundary = None;
    role.max_session_duration = 7200;
    role.assume_role_policy = trust_of(r#""333333333333""#);
    role.inline_policies = BTreeMap::from([("pass".to_string(), PASS_ROLE.to_string())]);
    let problems = every_problem("team", &role, &[strict]);
    let texts: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        texts,
        [
            "spec.inlinePolicies.pass: RoleGuardrail strict denies finding passrole-wildcard: allows \
             iam:PassRole on every role without an iam:PassedToService condition: whatever it \
             launches can run as any role, an administrator's included; list the roles it may \
             pass and require iam:PassedToService",
            "spec.permissionsBoundary: RoleGuardrail strict requires a permissions boundary: set it to one of arn:aws:iam::111111111111:policy/boundary",
            "spec.inlinePolicies.pass: allows iam:PassRole, which RoleGuardrail strict denies: remove it from the policy's actions",
            "spec.maxSessionDuration: 7200 seconds is above the 3600 RoleGuardrail strict allows: lower it to 3600 or less",
            "spec.assumeRolePolicy: trusts account 333333333333, which RoleGuardrail strict does not allow: trust only the accounts in its allowedTrustAccounts",
        ]
    );
    let error = Error::refused(problems.clone());
    assert_eq!(error.category(), Category::GuardrailViolation);
    assert_eq!(error.category().as_str(), "GuardrailViolation");
    assert!(
        error
            .to_string()
            .starts_with("refused by a RoleGuardrail: "),
        "{error}"
    );
    // A namespace's own limit says more: the role can never be had there.
    let mut both = problems;
    both.push(Problem::new("spec.path", Rule::ConfinementPathPrefix, "x"));
    assert_eq!(Error::refused(both).category(), Category::Forbidden);
    // A guardrail refusal waits for the role or the guardrail to change.
    assert!(!Category::GuardrailViolation.is_retryable());
}
