//! `rolesmith audit` against moto seeded with one clean role and one role per check moto can
//! hold: the binary reports exactly the seeded problems, only reads, and exits 0/3/1.
//! `account-quota` needs 901 roles (moto's quota is 1,000) and is covered by the table tests.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;

use aws_sdk_iam::Client;
use serde_json::Value;

use crate::support::{MOTO_ACCOUNT_ID, Moto, RecordingObserver, aws_iam, sdk_client};

const EKS: &str = "oidc.eks.us-east-1.amazonaws.com/id/ABC";

fn doc(statement: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#)
}

fn ec2_trust() -> String {
    doc(
        r#"{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}"#,
    )
}

fn oidc(condition: &str) -> String {
    doc(&format!(
        r#"{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::{MOTO_ACCOUNT_ID}:oidc-provider/{EKS}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{condition}}}}}"#
    ))
}

/// A seeded role: its name, trust policy, inline policy (if any), attached policies, and whether
/// it has a boundary.
struct Seed {
    name: &'static str,
    trust: String,
    inline: Option<String>,
    attached: Vec<String>,
    boundary: bool,
}

fn seed(name: &'static str, trust: String) -> Seed {
    Seed {
        name,
        trust,
        inline: None,
        attached: Vec::new(),
        boundary: true,
    }
}

fn seeds(escalating_policy: &str) -> Vec<(Seed, &'static [(&'static str, &'static str)])> {
    let with_inline = |name, statement: &str| Seed {
        inline: Some(doc(statement)),
        ..seed(name, ec2_trust())
    };
    vec![
        (
            with_inline(
                "clean",
                r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}"#,
            ),
            &[],
        ),
        (
            seed(
                "wildcard",
                doc(r#"{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}"#),
            ),
            &[("wildcard-trust", "critical")],
        ),
        (
            seed(
                "partner",
                doc(
                    r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"sts:AssumeRole"}"#,
                ),
            ),
            &[("cross-account-no-external-id", "high")],
        ),
        (
            seed(
                "topic",
                doc(
                    r#"{"Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},"Action":"sts:AssumeRole"}"#,
                ),
            ),
            &[("service-trust-no-source", "medium")],
        ),
        (
            seed(
                "any-pod",
                oidc(&format!(r#"{{"{EKS}:aud":"sts.amazonaws.com"}}"#)),
            ),
            &[("web-identity-no-subject", "high")],
        ),
        (
            seed(
                "no-aud",
                oidc(&format!(r#"{{"{EKS}:sub":"system:serviceaccount:a:b"}}"#)),
            ),
            &[("web-identity-no-audience", "low")],
        ),
        (
            seed(
                "pods",
                doc(
                    r#"{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}"#,
                ),
            ),
            &[("pod-identity-no-tag-conditions", "low")],
        ),
        (
            seed(
                "saml",
                doc(&format!(
                    r#"{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::{MOTO_ACCOUNT_ID}:saml-provider/Okta"}},"Action":"sts:AssumeRoleWithSAML"}}"#
                )),
            ),
            &[("saml-no-audience", "medium")],
        ),
        (
            seed(
                "not-principal",
                doc(&format!(
                    r#"{{"Effect":"Allow","NotPrincipal":{{"AWS":"arn:aws:iam::{MOTO_ACCOUNT_ID}:role/x"}},"Action":"sts:AssumeRole"}}"#
                )),
            ),
            &[("notprincipal-allow", "high")],
        ),
        (
            Seed {
                attached: vec!["arn:aws:iam::aws:policy/AdministratorAccess".into()],
                ..seed("admin", ec2_trust())
            },
            &[("admin-access", "high")],
        ),
        (
            with_inline(
                "not-action",
                r#"{"Effect":"Allow","NotAction":"iam:*","Resource":"arn:aws:s3:::b"}"#,
            ),
            &[("notaction-allow", "medium")],
        ),
        (
            with_inline(
                "not-resource",
                r#"{"Effect":"Allow","Action":"s3:GetObject","NotResource":"arn:aws:s3:::secret/*"}"#,
            ),
            &[("notresource-allow", "medium")],
        ),
        (
            with_inline(
                "pass-any",
                r#"{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}"#,
            ),
            &[("passrole-wildcard", "high")],
        ),
        (
            // Through a customer managed policy: the scan reads its default version.
            Seed {
                attached: vec![escalating_policy.to_string()],
                ..seed("escalate", ec2_trust())
            },
            &[("privilege-escalation", "high")],
        ),
        (
            with_inline(
                "for-all",
                r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"ForAllValues:StringEquals":{"aws:SourceVpc":"vpc-1"}}}"#,
            ),
            &[("forallvalues-single-valued", "medium")],
        ),
        (
            Seed {
                boundary: false,
                ..seed("unbounded", ec2_trust())
            },
            // Info: reported with --min-severity info only.
            &[],
        ),
    ]
}

async fn create_policy(client: &Client, name: &str, document: &str) -> String {
    let created = client
        .create_policy()
        .policy_name(name)
        .policy_document(document)
        .send()
        .await
        .expect("policy created");
    created
        .policy()
        .and_then(|p| p.arn())
        .expect("policy ARN")
        .to_string()
}

async fn seed_account(moto: &Moto, only_clean: bool) -> Vec<(String, &'static str, &'static str)> {
    let client = sdk_client(&moto.endpoint).await;
    let boundary = create_policy(
        &client,
        "boundary",
        &doc(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#),
    )
    .await;
    let escalating = create_policy(
        &client,
        "policy-admin",
        &doc(r#"{"Effect":"Allow","Action":"iam:CreatePolicyVersion","Resource":"*"}"#),
    )
    .await;
    let mut expected = Vec::new();
    for (seed, findings) in seeds(&escalating) {
        if only_clean && seed.name != "clean" {
            continue;
        }
        client
            .create_role()
            .role_name(seed.name)
            .assume_role_policy_document(&seed.trust)
            .set_permissions_boundary(seed.boundary.then(|| boundary.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", seed.name));
        if let Some(document) = &seed.inline {
            client
                .put_role_policy()
                .role_name(seed.name)
                .policy_name("inline")
                .policy_document(document)
                .send()
                .await
                .expect("inline policy");
        }
        for arn in &seed.attached {
            client
                .attach_role_policy()
                .role_name(seed.name)
                .policy_arn(arn)
                .send()
                .await
                .expect("attached");
        }
        for (check, severity) in findings {
            expected.push((seed.name.to_string(), *check, *severity));
        }
    }
    expected
}

fn audit(moto: &Moto, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_rolesmith"))
        .arg("audit")
        .args(args)
        .args(["--iam-endpoint", &moto.endpoint])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("rolesmith runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn found(stdout: &str) -> BTreeSet<(String, String, String)> {
    let rows: Value = serde_json::from_str(stdout).expect("JSON output");
    rows.as_array()
        .expect("a list")
        .iter()
        .map(|row| {
            assert_eq!(
                row["roleArn"],
                format!(
                    "arn:aws:iam::{MOTO_ACCOUNT_ID}:role/{}",
                    row["roleName"].as_str().unwrap_or_default()
                )
            );
            assert!(
                row["message"].as_str().is_some_and(|m| m.len() > 20),
                "{row}"
            );
            (
                row["roleName"].as_str().unwrap_or_default().to_string(),
                row["check"].as_str().unwrap_or_default().to_string(),
                row["severity"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn owned(rows: &[(String, &str, &str)]) -> BTreeSet<(String, String, String)> {
    rows.iter()
        .map(|(r, c, s)| (r.clone(), c.to_string(), s.to_string()))
        .collect()
}

#[tokio::test]
async fn audit_reports_exactly_the_seeded_problems() {
    let moto = Moto::start();
    let expected = seed_account(&moto, false).await;
    let roles = seeds("").len();

    let (code, stdout, stderr) = audit(&moto, &["-o", "json"]);
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert_eq!(found(&stdout), owned(&expected), "{stdout}");
    assert!(
        stderr.contains(&format!("scanned {roles} roles (quota 1000): 14 findings on 14 roles (1 critical, 6 high, 5 medium, 2 low) at or above low")),
        "{stderr}"
    );

    // Info adds the role without a boundary; critical leaves the wildcard trust alone.
    let (code, stdout, _) = audit(&moto, &["-o", "json", "--min-severity", "info"]);
    assert_eq!(code, 3);
    let mut with_info = owned(&expected);
    with_info.insert((
        "unbounded".into(),
        "no-permissions-boundary".into(),
        "info".into(),
    ));
    assert_eq!(found(&stdout), with_info);
    let (code, stdout, _) = audit(&moto, &["-o", "json", "--min-severity", "critical"]);
    assert_eq!(code, 3);
    assert_eq!(
        found(&stdout),
        owned(&[("wildcard".to_string(), "wildcard-trust", "critical")])
    );

    // Every role was just created and never used: none is unused after 90 days, all are after 0.
    let (_, stdout, _) = audit(&moto, &["-o", "json", "--unused-after", "0d"]);
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    let rows: Value = serde_json::from_str(&stdout).expect("JSON");
    let unused: Vec<&Value> = rows
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["check"] == "unused-role")
        .collect();
    assert_eq!(unused.len(), roles, "{stdout}");
    assert!(
        unused[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&format!("has not been used since it was created {today}"))),
        "{stdout}"
    );

    // The table: per role, then the summary line.
    let (code, stdout, _) = audit(&moto, &[]);
    assert_eq!(code, 3);
    assert!(
        stdout.contains(&format!(
            "admin (arn:aws:iam::{MOTO_ACCOUNT_ID}:role/admin)\n  high      admin-access"
        )),
        "{stdout}"
    );
    assert!(stdout.trim_end().ends_with("at or above low"), "{stdout}");

    let (code, stdout, _) = audit(&moto, &["-o", "sarif"]);
    assert_eq!(code, 3);
    let sarif: Value = serde_json::from_str(&stdout).expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(
        sarif["runs"][0]["results"].as_array().map(Vec::len),
        Some(expected.len())
    );

    // The wrong account is refused before any scan.
    let (code, _, stderr) = audit(&moto, &["--account-id", "999999999999"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!(
            "the credentials act in account {MOTO_ACCOUNT_ID} ("
        )) && stderr.contains("not in --account-id 999999999999"),
        "{stderr}"
    );
    let (code, _, _) = audit(
        &moto,
        &[
            "--account-id",
            MOTO_ACCOUNT_ID,
            "--min-severity",
            "critical",
        ],
    );
    assert_eq!(code, 3);
}

#[tokio::test]
async fn the_scan_only_reads() {
    let moto = Moto::start();
    seed_account(&moto, false).await;
    let observer = Arc::new(RecordingObserver::default());
    let iam = aws_iam(&moto.endpoint, observer.clone()).await;
    let scan = iam.scan_account().await.expect("scan");
    assert_eq!(scan.roles.len(), seeds("").len());
    assert_eq!(scan.role_quota.map(|(_, quota)| quota), Some(1000));
    // The two customer managed policies, by their default versions.
    assert_eq!(scan.managed_documents.len(), 2);
    let calls: Vec<&str> = observer.calls().iter().map(|(action, _)| *action).collect();
    assert_eq!(
        calls,
        ["GetAccountAuthorizationDetails", "GetAccountSummary"]
    );
    assert!(calls.iter().all(|a| rolesmith::iam::is_read_action(a)));
}

#[tokio::test]
async fn a_clean_account_exits_zero() {
    let moto = Moto::start();
    seed_account(&moto, true).await;
    let (code, stdout, stderr) = audit(&moto, &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        stdout.trim_end(),
        "scanned 1 role (quota 1000): no findings at or above low"
    );
    // Another account, through AssumeRole as an AwsAccount would reach it: moto's STS hands out
    // keys acting there, where the seeded role does not exist.
    let other = [
        "--assume-role-arn",
        "arn:aws:iam::111111111111:role/auditor",
        "--external-id",
        "audit-7",
    ];
    let (code, stdout, stderr) = audit(
        &moto,
        &[&other[..], &["--account-id", "111111111111"]].concat(),
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        stdout.trim_end(),
        "scanned 0 roles (quota 1000): no findings at or above low"
    );
    let (code, _, stderr) = audit(
        &moto,
        &[&other[..], &["--account-id", "222222222222"]].concat(),
    );
    assert_eq!(code, 1);
    assert!(
        stderr.contains("is not in account 222222222222"),
        "{stderr}"
    );
    // IAM out of reach: an error, not a clean bill.
    let closed = format!("http://127.0.0.1:{}", crate::support::moto::free_port());
    let output = Command::new(env!("CARGO_BIN_EXE_rolesmith"))
        .args(["audit", "--iam-endpoint", &closed])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("rolesmith runs");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
}
