//! The engine against an in-memory IAM: fast, and able to stage what a real IAM does only by
//! chance (another writer acting between two of our calls, a principal deleted behind our back).

use std::sync::Mutex;

use futures::future::BoxFuture;

use super::{Mode, apply};
use crate::error::{Category, Error, Result};
use crate::iam::{IamApi, OpOutcome};
use crate::model::{IamOp, OWNER_TAG_KEY, ObservedInstanceProfile, ObservedRole};
use crate::plan::tests::fixtures::{desired, observed, owner};
use crate::plan::tests::iam_model::Iam;

type Meddle = Box<dyn FnMut(&IamOp, &mut Iam) + Send>;
type Refuse = Box<dyn FnMut(&IamOp) -> Option<Error> + Send>;

/// IAM as the plan tests model it, plus hooks: `meddle` runs after each of our writes (another
/// writer), `refuse` answers a write with an error instead of running it.
struct FakeIam {
    iam: Mutex<Iam>,
    writes: Mutex<Vec<IamOp>>,
    meddle: Mutex<Meddle>,
    refuse: Mutex<Refuse>,
}

impl FakeIam {
    fn new(role: Option<ObservedRole>) -> FakeIam {
        FakeIam {
            iam: Mutex::new(Iam {
                role,
                ..Iam::default()
            }),
            writes: Mutex::new(Vec::new()),
            meddle: Mutex::new(Box::new(|_, _| {})),
            refuse: Mutex::new(Box::new(|_| None)),
        }
    }

    fn writes(&self) -> Vec<&'static str> {
        self.writes
            .lock()
            .unwrap()
            .iter()
            .map(IamOp::action)
            .collect()
    }

    fn role(&self) -> Option<ObservedRole> {
        self.iam.lock().unwrap().role.clone()
    }
}

fn iam_error(action: &'static str, code: &str, message: &str, category: Category) -> Error {
    Error::Iam {
        action,
        code: code.into(),
        message: message.into(),
        category,
        retry_after: None,
    }
}

impl IamApi for FakeIam {
    fn get_role<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<ObservedRole>>> {
        let role = self
            .iam
            .lock()
            .unwrap()
            .read_role()
            .filter(|r| r.name == name);
        Box::pin(async move { Ok(role) })
    }

    fn get_instance_profile<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<ObservedInstanceProfile>>> {
        let profile = self.iam.lock().unwrap().profiles.get(name).cloned();
        Box::pin(async move { Ok(profile) })
    }

    fn execute<'a>(&'a self, op: &'a IamOp) -> BoxFuture<'a, Result<OpOutcome>> {
        let result = (|| {
            if let Some(error) = (self.refuse.lock().unwrap())(op) {
                return Err(error);
            }
            let mut iam = self.iam.lock().unwrap();
            iam.run(std::slice::from_ref(op)).map_err(|message| {
                iam_error(op.action(), "ModelRefused", &message, Category::IamRejected)
            })?;
            self.writes.lock().unwrap().push(op.clone());
            (self.meddle.lock().unwrap())(op, &mut iam);
            let created = matches!(op, IamOp::CreateRole { .. });
            Ok(OpOutcome {
                arn: iam.role.as_ref().filter(|_| created).map(|r| r.arn.clone()),
                role_id: iam
                    .role
                    .as_ref()
                    .filter(|_| created)
                    .map(|r| r.role_id.clone()),
            })
        })();
        Box::pin(async move { result })
    }

    fn sweep<'a>(
        &'a self,
        visitor: &'a mut dyn crate::iam::SweepVisitor,
    ) -> BoxFuture<'a, Result<crate::iam::Sweep>> {
        let role = self.role();
        Box::pin(async move {
            let roles_in_account = usize::from(role.is_some());
            if let Some(role) = role.filter(|r| visitor.wants(&r.name)) {
                visitor.visit(role);
            }
            Ok(crate::iam::Sweep {
                roles_in_account,
                calls: 2,
            })
        })
    }

    // This IAM holds one role and no managed policy.
    fn get_policy<'a>(
        &'a self,
        _arn: &'a str,
    ) -> BoxFuture<'a, Result<Option<crate::model::ObservedPolicy>>> {
        Box::pin(async { Ok(None) })
    }

    fn list_policy_attachments<'a>(
        &'a self,
        arn: &'a str,
    ) -> BoxFuture<'a, Result<crate::model::PolicyAttachments>> {
        Box::pin(async move {
            Err(iam_error(
                "ListEntitiesForPolicy",
                "NoSuchEntity",
                &format!("policy {arn} does not exist"),
                Category::IamRejected,
            ))
        })
    }

    fn execute_policy<'a>(
        &'a self,
        op: &'a crate::model::PolicyOp,
    ) -> BoxFuture<'a, Result<crate::iam::PolicyOutcome>> {
        Box::pin(async move {
            Err(iam_error(
                op.action(),
                "NotModelled",
                "the role engine never writes managed policies",
                Category::Internal,
            ))
        })
    }

    fn caller_identity(&self) -> BoxFuture<'_, Result<crate::iam::CallerIdentity>> {
        Box::pin(async {
            Ok(crate::iam::CallerIdentity {
                account: "123456789012".to_string(),
                partition: "aws".to_string(),
            })
        })
    }
}

fn untagged() -> ObservedRole {
    let mut role = observed();
    role.tags.remove(OWNER_TAG_KEY);
    role
}

/// Two objects read the same untagged role and both claim it; the other claim lands last, so
/// IAM keeps it. This object must stop after its claim and write nothing of its spec.
#[tokio::test]
async fn the_losing_adopter_writes_nothing_after_its_claim() {
    let mut role = untagged();
    role.description = "made by hand".into();
    let iam = FakeIam::new(Some(role));
    *iam.meddle.lock().unwrap() = Box::new(|op, iam| {
        if let (IamOp::TagRole { .. }, Some(role)) = (op, iam.role.as_mut()) {
            role.tags
                .insert(OWNER_TAG_KEY.into(), "prod/team-b/other".into());
        }
    });
    let failure = apply(&iam, &desired(), &owner(), true, Mode::Execute)
        .await
        .expect_err("the other claim won");
    assert_eq!(failure.error.category(), Category::OwnershipConflict);
    assert!(
        failure.error.to_string().contains("team-b/other"),
        "{}",
        failure.error
    );
    assert_eq!(iam.writes(), ["TagRole"], "only the claim was written");
    assert_eq!(iam.role().unwrap().description, "made by hand");
    assert_eq!(
        failure.report.role_arn, None,
        "the role is not this object's"
    );
}

/// IAM's reads lag its writes: the read after the claim still shows the role untagged. That is
/// not someone else's claim; the next pass decides, and nothing more is written now.
#[tokio::test]
async fn a_claim_not_visible_yet_is_retried_not_a_conflict() {
    let mut role = untagged();
    role.description = "made by hand".into();
    let iam = FakeIam::new(Some(role));
    *iam.meddle.lock().unwrap() = Box::new(|op, iam| {
        if let (IamOp::TagRole { .. }, Some(role)) = (op, iam.role.as_mut()) {
            role.tags.remove(OWNER_TAG_KEY);
        }
    });
    let failure = apply(&iam, &desired(), &owner(), true, Mode::Execute)
        .await
        .expect_err("not visible yet");
    assert_eq!(failure.error.category(), Category::IamTransient);
    assert_eq!(iam.writes(), ["TagRole"], "only the claim was written");
    assert_eq!(iam.role().unwrap().description, "made by hand");
}

#[tokio::test]
async fn an_uncontested_adoption_claims_then_repairs() {
    let mut role = untagged();
    role.description = "made by hand".into();
    let iam = FakeIam::new(Some(role));
    let report = apply(&iam, &desired(), &owner(), true, Mode::Execute)
        .await
        .expect("adopted");
    assert_eq!(iam.writes(), ["TagRole", "UpdateRole"]);
    assert_eq!(report.ops.len(), 2);
    assert!(report.role_arn.is_some());
    assert_eq!(iam.role().unwrap().description, "app role");
}

/// The account is known before the role exists: a trust naming the own account is not
/// cross-account access and raises no warning on the create pass either.
#[tokio::test]
async fn own_account_trust_does_not_warn_on_create() {
    let mut want = desired();
    want.assume_role_policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#.into();
    let iam = FakeIam::new(None);
    let report = apply(&iam, &want, &owner(), false, Mode::Execute)
        .await
        .expect("created");
    assert_eq!(iam.writes()[0], "CreateRole");
    assert_eq!(report.findings, Vec::new());

    let mut other = want.clone();
    other.assume_role_policy = other
        .assume_role_policy
        .replace("123456789012", "210987654321");
    let report = apply(&iam, &other, &owner(), false, Mode::DryRun)
        .await
        .expect("planned");
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    assert_eq!(
        report.findings[0].id,
        crate::admission::Rule::CrossAccountNoExternalId
    );
    assert!(report.findings[0].message.contains("210987654321"));
}

/// A trust policy naming a deleted role: IAM shows its unique id and refuses the ARN. Every
/// other change still lands, and the error says the principal was deleted.
#[tokio::test]
async fn a_deleted_principal_is_named_and_blocks_nothing_else() {
    let deleted = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"AROAGONE1234567890XYZ"},"Action":"sts:AssumeRole"}]}"#;
    let wanted_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/gone"},"Action":"sts:AssumeRole"}]}"#;
    let mut role = observed();
    role.assume_role_policy = deleted.into();
    role.inline_policies.insert(
        "admin".into(),
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
            .into(),
    );
    let iam = FakeIam::new(Some(role));
    *iam.refuse.lock().unwrap() = Box::new(|op| {
        matches!(op, IamOp::UpdateAssumeRolePolicy { .. }).then(|| {
            iam_error(
                "UpdateAssumeRolePolicy",
                "MalformedPolicyDocument",
                "Invalid principal in policy: \"AWS\":\"arn:aws:iam::123456789012:role/gone\"",
                Category::IamTransient,
            )
        })
    });
    let mut want = desired();
    want.assume_role_policy = wanted_trust.into();
    want.tags.insert("new".into(), "1".into());
    let failure = apply(&iam, &want, &owner(), false, Mode::Execute)
        .await
        .expect_err("IAM refuses the principal");
    let message = failure.error.to_string();
    assert!(
        message.contains("AROAGONE1234567890XYZ") && message.contains("deleted"),
        "{message}"
    );
    assert_eq!(iam.writes(), ["DeleteRolePolicy", "TagRole"]);
    let role = iam.role().unwrap();
    assert!(!role.inline_policies.contains_key("admin"));
    assert_eq!(role.tags.get("new").map(String::as_str), Some("1"));
}

/// CreateRole succeeded, a later write failed: the failure still reports the role, so status
/// can record it (and deletion can find it).
#[tokio::test]
async fn a_failure_after_create_still_reports_the_role() {
    let iam = FakeIam::new(None);
    *iam.refuse.lock().unwrap() = Box::new(|op| {
        matches!(op, IamOp::PutRolePolicy { .. }).then(|| {
            iam_error(
                "PutRolePolicy",
                "MalformedPolicyDocument",
                "Syntax errors in policy.",
                Category::IamRejected,
            )
        })
    });
    let failure = apply(&iam, &desired(), &owner(), false, Mode::Execute)
        .await
        .expect_err("the inline policy is refused");
    assert_eq!(failure.error.category(), Category::IamRejected);
    assert_eq!(iam.writes(), ["CreateRole"]);
    assert_eq!(
        failure.report.role_arn.as_deref(),
        Some("arn:aws:iam::123456789012:role/app-x")
    );
    assert_eq!(failure.report.ops.len(), 1);
}
