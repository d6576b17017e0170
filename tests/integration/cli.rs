//! `rolesmith plan` and `rolesmith apply`, the binary as a user runs it, against a local IAM.

use std::process::Command;

use crate::support::Moto;

const MANIFEST: &str = r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {name: bootstrap, namespace: ops}
spec:
  roleName: cli-bootstrap
  assumeRolePolicy:
    Version: "2012-10-17"
    Statement:
      - {Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: sts:AssumeRole}
  inlinePolicies:
    read: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "s3:GetObject", Resource: "*"}]}
  tags: {team: ops}
"#;

fn run(moto: &Moto, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_rolesmith"))
        .args(args)
        .args(["--iam-endpoint", &moto.endpoint, "--cluster-id", "cli"])
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

#[tokio::test]
async fn plan_apply_plan() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("role.yaml");
    std::fs::write(&file, MANIFEST).expect("write manifest");
    let file = file.to_string_lossy().into_owned();

    let (code, stdout, stderr) = run(&moto, &["plan", "-f", &file]);
    assert_eq!(code, 2, "changes pending: {stdout}{stderr}");
    assert!(
        stdout.contains("ops/bootstrap: role cli-bootstrap: would apply 2 change(s)"),
        "{stdout}"
    );
    assert!(stdout.contains("create role cli-bootstrap"), "{stdout}");

    let (code, stdout, stderr) = run(&moto, &["apply", "-f", &file, "-o", "json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let applied: serde_json::Value = serde_json::from_str(&stdout).expect("JSON output");
    assert_eq!(applied[0]["operations"][0]["operation"], "CreateRole");
    assert_eq!(
        applied[0]["operations"][0]["tags"]["rolesmith.dev/owner"],
        "cli/ops/bootstrap"
    );

    let (code, stdout, _) = run(&moto, &["plan", "-f", &file]);
    assert_eq!(code, 0, "in sync after apply: {stdout}");
    assert!(stdout.contains("is in sync (no changes)"), "{stdout}");

    // Another cluster id is another owner: refused, nothing written.
    let output = Command::new(env!("CARGO_BIN_EXE_rolesmith"))
        .args([
            "apply",
            "-f",
            &file,
            "--iam-endpoint",
            &moto.endpoint,
            "--cluster-id",
            "other",
        ])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("rolesmith runs");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout).contains("OwnershipConflict"));
}

/// A manifest exported from a cluster (`kubectl get -o yaml`) carries the status of the object
/// that created its role: renaming the role there would orphan it, so the command line refuses
/// it as the operator does, by rule id, before any IAM call.
#[tokio::test]
async fn a_manifest_with_status_keeps_its_role_name() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("role.yaml");
    let status = "status:\n  roleName: cli-old-name\n  roleArn: arn:aws:iam::123456789012:role/cli-old-name\n";
    std::fs::write(&file, format!("{MANIFEST}{status}")).expect("write manifest");
    let file = file.to_string_lossy().into_owned();

    for command in ["plan", "apply"] {
        let (code, stdout, stderr) = run(&moto, &[command, "-f", &file, "-o", "json"]);
        assert_eq!(code, 1, "{stdout}{stderr}");
        let results: serde_json::Value = serde_json::from_str(&stdout).expect("JSON output");
        let error = &results[0]["error"];
        assert_eq!(error["category"], "InvalidSpec", "{stdout}");
        assert_eq!(
            error["problems"][0]["rule"], "rename-orphans-role",
            "{stdout}"
        );
        assert_eq!(error["problems"][0]["field"], "spec.roleName", "{stdout}");
    }
    let iam = crate::support::sdk_client(&moto.endpoint).await;
    let roles = iam.list_roles().send().await.expect("ListRoles");
    assert!(roles.roles().is_empty(), "nothing written");

    // The same object with the recorded name is admitted.
    let same = std::fs::read_to_string(&file)
        .expect("read back")
        .replace("cli-old-name", "cli-bootstrap");
    std::fs::write(&file, same).expect("write manifest");
    let (code, stdout, stderr) = run(&moto, &["plan", "-f", &file]);
    assert_eq!(code, 2, "{stdout}{stderr}");
}

/// An IamRole and the IamPolicy it refers to, in file order with the role first: the policy is
/// created before the role attaches it, and the results keep the files' order.
#[tokio::test]
async fn apply_creates_a_referenced_policy_before_the_role() {
    let moto = Moto::start();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let role = root
        .join("reports-reader.yaml")
        .to_string_lossy()
        .into_owned();
    let policy = root
        .join("shared-policy.yaml")
        .to_string_lossy()
        .into_owned();
    let args = [
        "apply", "-f", &role, "-f", &policy, "-n", "shop", "-o", "json",
    ];
    let (code, stdout, stderr) = run(&moto, &args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let applied: serde_json::Value = serde_json::from_str(&stdout).expect("JSON output");
    assert_eq!(applied[0]["object"], "shop/reports-reader");
    assert_eq!(applied[1]["object"], "shop/shared-reports-read");
    let arn = "arn:aws:iam::123456789012:policy/rolesmith/shop.shared-reports-read";
    assert_eq!(applied[1]["policyArn"], arn);
    assert_eq!(applied[1]["operations"][0]["operation"], "CreatePolicy");
    let attach = applied[0]["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .find(|op| op["operation"] == "AttachRolePolicy")
        .expect("attached");
    assert_eq!(attach["policy_arn"], arn, "{attach}");

    let (code, stdout, stderr) = run(&moto, &["plan", "-f", &policy, "-f", &role, "-n", "shop"]);
    assert_eq!(code, 0, "in sync: {stdout}{stderr}");
    assert!(
        stdout.contains("policy shop.shared-reports-read is in sync"),
        "{stdout}"
    );

    // Without the IamPolicy's file the reference cannot be resolved.
    let (code, stdout, _) = run(&moto, &["plan", "-f", &role, "-n", "shop", "-o", "json"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("is not in the given files"), "{stdout}");
}

/// RoleGuardrails among the files apply to the IamRoles in them, as the operator's would: the
/// refused role is an error and nothing is written; the rest proceeds.
#[tokio::test]
async fn guardrails_in_the_files_refuse_their_roles() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("all.yaml");
    let guardrail = r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: RoleGuardrail
metadata: {name: ops-baseline}
spec:
  namespaces: [ops]
  deny: [admin-access]
  allowedTrustAccounts: []
"#;
    let admin = MANIFEST
        .replace("name: bootstrap", "name: admin")
        .replace("roleName: cli-bootstrap", "roleName: cli-admin")
        .replace(
            "  tags: {team: ops}",
            "  tags: {team: ops}\n  managedPolicyArns: [arn:aws:iam::aws:policy/AdministratorAccess]",
        );
    let partner = MANIFEST
        .replace("name: bootstrap", "name: partner")
        .replace("roleName: cli-bootstrap", "roleName: cli-partner")
        .replace(
            "{Service: ec2.amazonaws.com}",
            r#"{AWS: "arn:aws:iam::210987654321:root"}"#,
        );
    let text = [guardrail, MANIFEST, &admin, &partner].join("---\n");
    std::fs::write(&file, text).expect("write manifest");
    let file = file.to_string_lossy().into_owned();

    let (code, stdout, stderr) = run(&moto, &["apply", "-f", &file, "-o", "json"]);
    assert_eq!(code, 1, "two roles refused: {stdout}{stderr}");
    let results: serde_json::Value = serde_json::from_str(&stdout).expect("JSON output");
    let results = results.as_array().expect("a list");
    assert_eq!(results.len(), 3, "one result per IamRole: {stdout}");
    assert_eq!(results[0]["operations"][0]["operation"], "CreateRole");
    for (result, rule) in [
        (&results[1], "guardrail-denied-finding"),
        (&results[2], "guardrail-trust-account"),
    ] {
        assert_eq!(
            result["error"]["category"], "GuardrailViolation",
            "{result}"
        );
        assert_eq!(result["error"]["problems"][0]["rule"], rule, "{result}");
        let message = result["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("RoleGuardrail ops-baseline"), "{message}");
    }
    let (code, stdout, _) = run(&moto, &["plan", "-f", &file]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("is in sync (no changes)"), "{stdout}");
    assert!(
        stdout.contains("ops/admin: error (GuardrailViolation)"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "trusts account 210987654321, which RoleGuardrail ops-baseline does not allow"
        ),
        "{stdout}"
    );
}

/// `--assume-role-arn/--external-id/--account-id`: the role is made in the assumed role's
/// account only (moto's STS hands out keys acting there), and wrong flags do nothing.
#[tokio::test]
async fn apply_in_another_account_through_assume_role() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("role.yaml");
    std::fs::write(&file, MANIFEST).expect("write manifest");
    let file = file.to_string_lossy().into_owned();
    let arn = "arn:aws:iam::111111111111:role/rolesmith-access";
    let external = "tenant-42:never-printed";
    let assume = ["--assume-role-arn", arn, "--external-id", external];

    for (account, refusal) in [
        ("222222222222", "is not in account 222222222222"),
        ("1111", "--account-id"),
    ] {
        let mut args = vec!["apply", "-f", &file, "--account-id", account];
        args.extend(assume);
        let (code, stdout, stderr) = run(&moto, &args);
        assert_ne!(code, 0, "{stdout}");
        assert!(stderr.contains(refusal), "{stderr}");
    }
    let mut args = vec!["apply", "-f", &file, "--account-id", "111111111111"];
    args.extend(assume);
    let (code, stdout, stderr) = run(&moto, &args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        !format!("{stdout}{stderr}").contains(external),
        "the ExternalId is printed"
    );

    let config = crate::support::test_config(&moto.endpoint);
    let own = crate::support::aws_iam(
        &moto.endpoint,
        std::sync::Arc::new(rolesmith::iam::NoopObserver),
    )
    .await;
    assert!(
        own.get_role("cli-bootstrap")
            .await
            .expect("IAM answers")
            .is_none(),
        "made in the own account"
    );
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::new()
            .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
            .region(aws_sdk_sts::config::Region::new("us-east-1"))
            .endpoint_url(&moto.endpoint)
            .credentials_provider(aws_sdk_sts::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .build(),
    );
    let assumed = sts
        .assume_role()
        .role_arn(arn)
        .role_session_name("tests")
        .send()
        .await
        .expect("moto assumes the role");
    let key = assumed
        .credentials()
        .map(|c| c.access_key_id().to_string())
        .expect("credentials");
    let in_b = rolesmith::iam::AwsIam::with_static_credentials(
        config,
        &key,
        "unused-by-moto",
        std::sync::Arc::new(rolesmith::iam::NoopObserver),
    )
    .await;
    use rolesmith::iam::IamApi;
    let role = in_b
        .get_role("cli-bootstrap")
        .await
        .expect("IAM answers")
        .expect("made in 111111111111");
    assert!(role.arn.contains(":111111111111:"), "{}", role.arn);
}

/// `rolesmith plan` shows the trust policy IAM will get: the ServiceAccounts' statements,
/// written by rolesmith, in full; without --oidc-provider-arn an IRSA entry is refused before
/// IAM is asked.
#[tokio::test]
async fn plan_shows_the_trust_policy_serviceaccounts_make() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("role.yaml");
    std::fs::write(
        &file,
        r#"
apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {name: app, namespace: shop}
spec:
  serviceAccounts:
    - {name: api}
    - {name: worker, via: PodIdentity}
"#,
    )
    .expect("write manifest");
    let file = file.to_string_lossy().into_owned();
    let provider =
        "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/CLI";
    let (code, stdout, stderr) = run(
        &moto,
        &[
            "plan",
            "-f",
            &file,
            "--oidc-provider-arn",
            provider,
            "--eks-cluster-name",
            "prod",
        ],
    );
    assert_eq!(code, 2, "changes pending: {stdout}{stderr}");
    let shown = stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("trust policy: "))
        .unwrap_or_else(|| panic!("no trust policy shown: {stdout}"));
    let shown: serde_json::Value = serde_json::from_str(shown).expect("the document is JSON");
    let issuer = "oidc.eks.eu-west-1.amazonaws.com/id/CLI";
    assert_eq!(
        shown,
        serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Federated": provider},
             "Action": "sts:AssumeRoleWithWebIdentity",
             "Condition": {"StringEquals": {
                 format!("{issuer}:sub"): "system:serviceaccount:shop:api",
                 format!("{issuer}:aud"): "sts.amazonaws.com"}}},
            {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
             "Action": ["sts:AssumeRole", "sts:TagSession"],
             "Condition": {"StringEquals": {
                 "aws:RequestTag/kubernetes-namespace": "shop",
                 "aws:RequestTag/kubernetes-service-account": "worker"}}}
        ]})
    );
    assert!(!stdout.contains("warning"), "no finding: {stdout}");

    let (code, stdout, stderr) = run(&moto, &["plan", "-f", &file, "--eks-cluster-name", "prod"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let output = format!("{stdout}{stderr}");
    assert!(
        output.contains("spec.serviceAccounts[0].via") && output.contains("--oidc-provider-arn"),
        "{output}"
    );
}
