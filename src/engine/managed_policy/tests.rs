//! Adopting a managed policy against an in-memory IAM that can stage another writer acting
//! between our claim and the read after it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use futures::future::BoxFuture;

use super::*;
use crate::error::Category;
use crate::iam::{CallerIdentity, OpOutcome, PolicyOutcome, Sweep};
use crate::model::{IamOp, OWNER_TAG_KEY, ObservedPolicy, ObservedRole, PolicyAttachments};

const ARN: &str = "arn:aws:iam::123456789012:policy/team-a.shared";
const DOC_HAND: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
const DOC_SPEC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;

type Meddle = Box<dyn FnMut(&PolicyOp, &mut ObservedPolicy) + Send>;

/// One managed policy; `meddle` runs after each of our writes (another writer).
struct FakeIam {
    policy: Mutex<ObservedPolicy>,
    writes: Mutex<Vec<&'static str>>,
    meddle: Mutex<Meddle>,
}

impl FakeIam {
    fn new(policy: ObservedPolicy) -> FakeIam {
        FakeIam {
            policy: Mutex::new(policy),
            writes: Mutex::new(Vec::new()),
            meddle: Mutex::new(Box::new(|_, _| {})),
        }
    }

    fn writes(&self) -> Vec<&'static str> {
        self.writes.lock().unwrap().clone()
    }
}

fn not_modelled(action: &'static str) -> Error {
    Error::Iam {
        action,
        code: "NotModelled".into(),
        message: "this IAM holds one managed policy only".into(),
        category: Category::Internal,
        retry_after: None,
    }
}

impl IamApi for FakeIam {
    fn get_role<'a>(&'a self, _name: &'a str) -> BoxFuture<'a, Result<Option<ObservedRole>>> {
        Box::pin(async { Ok(None) })
    }

    fn get_instance_profile<'a>(
        &'a self,
        _name: &'a str,
    ) -> BoxFuture<'a, Result<Option<crate::model::ObservedInstanceProfile>>> {
        Box::pin(async { Ok(None) })
    }

    fn execute<'a>(&'a self, op: &'a IamOp) -> BoxFuture<'a, Result<OpOutcome>> {
        Box::pin(async move { Err(not_modelled(op.action())) })
    }

    fn sweep<'a>(
        &'a self,
        _visitor: &'a mut dyn crate::iam::SweepVisitor,
    ) -> BoxFuture<'a, Result<Sweep>> {
        Box::pin(async { Err(not_modelled("ListRoles")) })
    }

    fn get_policy<'a>(&'a self, arn: &'a str) -> BoxFuture<'a, Result<Option<ObservedPolicy>>> {
        let policy = Some(self.policy.lock().unwrap().clone()).filter(|p| p.arn == arn);
        Box::pin(async move { Ok(policy) })
    }

    fn list_policy_attachments<'a>(
        &'a self,
        _arn: &'a str,
    ) -> BoxFuture<'a, Result<PolicyAttachments>> {
        Box::pin(async { Ok(PolicyAttachments::default()) })
    }

    fn execute_policy<'a>(&'a self, op: &'a PolicyOp) -> BoxFuture<'a, Result<PolicyOutcome>> {
        let result = {
            let mut policy = self.policy.lock().unwrap();
            let mut outcome = PolicyOutcome::default();
            match op {
                PolicyOp::TagPolicy { tags, .. } => policy.tags.extend(tags.clone()),
                PolicyOp::CreatePolicyVersion { document, .. } => {
                    policy.document = document.clone();
                    policy.default_version_id = "v2".into();
                    outcome.version_id = Some("v2".into());
                }
                other => {
                    return Box::pin(std::future::ready(Err(not_modelled(other.action()))));
                }
            }
            self.writes.lock().unwrap().push(op.action());
            (self.meddle.lock().unwrap())(op, &mut policy);
            Ok(outcome)
        };
        Box::pin(async move { result })
    }

    fn caller_identity(&self) -> BoxFuture<'_, Result<CallerIdentity>> {
        Box::pin(async {
            Ok(CallerIdentity {
                account: "123456789012".into(),
                partition: "aws".into(),
            })
        })
    }
}

fn owner() -> Owner {
    Owner {
        cluster: "prod".into(),
        namespace: "team-a".into(),
        name: "shared".into(),
    }
}

fn desired() -> DesiredPolicy {
    DesiredPolicy {
        name: "team-a.shared".into(),
        path: "/".into(),
        description: "shared reads".into(),
        document: DOC_SPEC.into(),
        tags: BTreeMap::new(),
        ignored_tag_keys: Vec::new(),
    }
}

/// Made by hand: no ownership tag, another document.
fn untagged() -> ObservedPolicy {
    // Only what the plan compares; the rest IAM would fill in does not matter here.
    ObservedPolicy {
        arn: ARN.into(),
        path: "/".into(),
        description: "shared reads".into(),
        document: DOC_HAND.into(),
        default_version_id: "v1".into(),
        versions: vec![crate::model::PolicyVersion {
            id: "v1".into(),
            is_default: true,
            created: 100,
        }],
        ..ObservedPolicy::default()
    }
}

async fn adopt(iam: &FakeIam) -> Result<PolicyReport> {
    apply_policy(iam, &desired(), &owner(), true, None, Mode::Execute).await
}

#[tokio::test]
async fn an_uncontested_adoption_claims_then_repairs() {
    let iam = FakeIam::new(untagged());
    let report = adopt(&iam).await.expect("adopted");
    assert_eq!(iam.writes(), ["TagPolicy", "CreatePolicyVersion"]);
    assert_eq!(report.arn.as_deref(), Some(ARN));
    assert_eq!(report.default_version_id.as_deref(), Some("v2"));
    assert_eq!(iam.policy.lock().unwrap().document, DOC_SPEC);
}

/// Another writer acts between our claim and the read after it: what the read shows decides.
#[tokio::test]
async fn the_claim_is_read_back_before_anything_else_is_written() {
    type Stage = fn(&mut ObservedPolicy);
    let cases: [(&str, Stage, Option<Category>); 3] = [
        (
            "another owner's claim landed last",
            |policy| {
                policy
                    .tags
                    .insert(OWNER_TAG_KEY.into(), "prod/team-b/other".into());
            },
            Some(Category::OwnershipConflict),
        ),
        (
            "our claim is not visible yet",
            |policy| {
                policy.tags.remove(OWNER_TAG_KEY);
            },
            Some(Category::IamTransient),
        ),
        (
            "the policy was deleted",
            |policy| policy.arn = "arn:aws:iam::123456789012:policy/gone".into(),
            Some(Category::IamTransient),
        ),
    ];
    for (case, stage, category) in cases {
        let iam = FakeIam::new(untagged());
        *iam.meddle.lock().unwrap() = Box::new(move |op, policy| {
            if matches!(op, PolicyOp::TagPolicy { .. }) {
                stage(policy);
            }
        });
        let result = adopt(&iam).await;
        assert_eq!(
            result.as_ref().err().map(Error::category),
            category,
            "{case}: {:?}",
            result.map(|r| r.ops)
        );
        assert_eq!(iam.writes(), ["TagPolicy"], "{case}: only the claim");
        assert_eq!(iam.policy.lock().unwrap().document, DOC_HAND, "{case}");
    }
}
