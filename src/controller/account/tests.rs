//! The account clients against a fake IAM whose verification answers are scripted: what is
//! cached, what is asked again, and which error a role sees.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::iam::{CallerIdentity, OpOutcome, PolicyOutcome, Sweep, SweepVisitor};
use crate::model::{
    IamOp, ObservedInstanceProfile, ObservedPolicy, ObservedRole, PolicyAttachments, PolicyOp,
};

/// Answers `verify` from a script (the last answer repeats) and counts the calls; anything
/// else is refused: routing and verification must never touch roles.
struct Scripted {
    answers: Mutex<Vec<Result<&'static str, Category>>>,
    calls: AtomicUsize,
}

impl Scripted {
    fn new(answers: Vec<Result<&'static str, Category>>) -> Arc<Scripted> {
        Arc::new(Scripted {
            answers: Mutex::new(answers),
            calls: AtomicUsize::new(0),
        })
    }
}

fn refused<T>() -> Result<T> {
    Err(Error::Internal("not used by routing".into()))
}

impl IamApi for Scripted {
    fn get_role<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<ObservedRole>>> {
        Box::pin(async { refused() })
    }
    fn get_instance_profile<'a>(
        &'a self,
        _: &'a str,
    ) -> BoxFuture<'a, Result<Option<ObservedInstanceProfile>>> {
        Box::pin(async { refused() })
    }
    fn execute<'a>(&'a self, _: &'a IamOp) -> BoxFuture<'a, Result<OpOutcome>> {
        Box::pin(async { refused() })
    }
    fn sweep<'a>(&'a self, _: &'a mut dyn SweepVisitor) -> BoxFuture<'a, Result<Sweep>> {
        Box::pin(async { refused() })
    }
    fn get_policy<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<ObservedPolicy>>> {
        Box::pin(async { refused() })
    }
    fn list_policy_attachments<'a>(
        &'a self,
        _: &'a str,
    ) -> BoxFuture<'a, Result<PolicyAttachments>> {
        Box::pin(async { refused() })
    }
    fn execute_policy<'a>(&'a self, _: &'a PolicyOp) -> BoxFuture<'a, Result<PolicyOutcome>> {
        Box::pin(async { refused() })
    }
    fn caller_identity(&self) -> BoxFuture<'_, Result<CallerIdentity>> {
        Box::pin(async { refused() })
    }
    fn role_quota(&self) -> BoxFuture<'_, Result<crate::iam::RoleQuota>> {
        Box::pin(async { refused() })
    }
    fn verify(&self) -> BoxFuture<'_, Result<Verified>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let answer = {
                let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
                if answers.len() > 1 {
                    answers.remove(0)
                } else {
                    answers[0]
                }
            };
            match answer {
                Ok(account) => Ok(Verified {
                    identity: CallerIdentity {
                        account: account.to_string(),
                        partition: "aws".into(),
                    },
                    caller_arn: format!("arn:aws:sts::{account}:assumed-role/r/rolesmith"),
                }),
                Err(category) => Err(Error::Iam {
                    action: "AssumeRole",
                    code: "AccessDenied".into(),
                    message: "not authorized".into(),
                    category,
                    retry_after: None,
                }),
            }
        })
    }
}

/// Hands out one scripted client per connect, and counts the connects.
struct Connector {
    next: Mutex<Vec<Arc<Scripted>>>,
    connects: AtomicUsize,
}

impl Connect for Connector {
    fn connect<'a>(
        &'a self,
        _: &'a str,
        settings: &'a AssumeSettings,
    ) -> BoxFuture<'a, Arc<dyn IamApi>> {
        assert_eq!(settings.session_name, DEFAULT_SESSION_NAME);
        self.connects.fetch_add(1, Ordering::SeqCst);
        let client = self
            .next
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(0);
        Box::pin(async move { client as Arc<dyn IamApi> })
    }
}

fn spec(role_arn: &str) -> AwsAccountSpec {
    AwsAccountSpec {
        account_id: "111111111111".into(),
        assume_role: Some(crate::api::account::AssumeRole {
            role_arn: role_arn.into(),
            external_id: Some("tenant-42".into()),
            session_name: None,
            session_tags: Default::default(),
        }),
        allowed_namespaces: vec!["*".into()],
        default: false,
    }
}

fn accounts(clients: Vec<Arc<Scripted>>) -> (Accounts, Arc<Connector>) {
    let connector = Arc::new(Connector {
        next: Mutex::new(clients),
        connects: AtomicUsize::new(0),
    });
    let own = Scripted::new(vec![Ok("123456789012")]);
    (Accounts::new(own, Some(connector.clone())), connector)
}

const ARN: &str = "arn:aws:iam::111111111111:role/rolesmith-access";

#[tokio::test]
async fn a_verified_account_is_asked_once_until_a_fresh_look() {
    let iam = Scripted::new(vec![Ok("111111111111")]);
    let (accounts, connector) = accounts(vec![iam.clone()]);
    let client = accounts.client("b", &spec(ARN)).await.expect("valid spec");
    for _ in 0..3 {
        assert!(client.verified(false).await.is_ok());
    }
    assert_eq!(iam.calls.load(Ordering::SeqCst), 1);
    assert!(client.verified(true).await.is_ok());
    assert_eq!(iam.calls.load(Ordering::SeqCst), 2);
    // The same spec reuses the client.
    let again = accounts.client("b", &spec(ARN)).await.expect("valid spec");
    assert!(Arc::ptr_eq(&client, &again));
    assert_eq!(connector.connects.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_refusal_is_kept_briefly_and_tells_denied_from_unreachable() {
    let iam = Scripted::new(vec![
        Err(Category::AssumeRoleDenied),
        Err(Category::IamTransient),
        Ok("111111111111"),
    ]);
    let (accounts, _) = accounts(vec![iam.clone()]);
    let client = accounts.client("b", &spec(ARN)).await.expect("valid spec");
    for _ in 0..3 {
        let why = client.verified(false).await.expect_err("denied");
        assert_eq!(why.reason(), "AssumeRoleDenied");
        assert_eq!(why.into_error("b").category(), Category::AssumeRoleDenied);
    }
    // A fleet of roles retrying costs one AssumeRole per FAILED_VERIFICATION_KEPT.
    assert_eq!(iam.calls.load(Ordering::SeqCst), 1);
    let why = client.verified(true).await.expect_err("unreachable");
    assert_eq!(why.reason(), "StsUnavailable");
    assert_eq!(why.into_error("b").category(), Category::AccountUnavailable);
    assert!(client.verified(true).await.is_ok());
}

#[tokio::test]
async fn credentials_in_another_account_are_refused() {
    let iam = Scripted::new(vec![Ok("999999999999")]);
    let (accounts, _) = accounts(vec![iam]);
    let client = accounts.client("b", &spec(ARN)).await.expect("valid spec");
    let why = client.verified(false).await.expect_err("wrong account");
    assert_eq!(why.reason(), "WrongAccount");
    assert!(why.message().contains("999999999999"), "{}", why.message());
}

#[tokio::test]
async fn a_changed_spec_builds_a_new_client_and_an_invalid_one_none() {
    let first = Scripted::new(vec![Ok("111111111111")]);
    let second = Scripted::new(vec![Ok("111111111111")]);
    let (accounts, connector) = accounts(vec![first, second]);
    let before = accounts.client("b", &spec(ARN)).await.expect("valid spec");
    let other = "arn:aws:iam::111111111111:role/other";
    let after = accounts
        .client("b", &spec(other))
        .await
        .expect("valid spec");
    assert!(!Arc::ptr_eq(&before, &after));
    assert_eq!(connector.connects.load(Ordering::SeqCst), 2);
    let invalid = accounts
        .client("b", &spec("arn:aws:iam::222222222222:role/x"))
        .await
        .err()
        .map(|error| (error.category(), error.message()));
    assert!(
        matches!(&invalid, Some((Category::AccountUnavailable, m)) if m.contains("is not in account 111111111111")),
        "{invalid:?}"
    );
    assert_eq!(
        connector.connects.load(Ordering::SeqCst),
        2,
        "no client for an invalid spec"
    );
}

#[tokio::test]
async fn without_assume_role_the_own_client_is_used() {
    let (accounts, connector) = accounts(Vec::new());
    let mut own_spec = spec(ARN);
    own_spec.assume_role = None;
    own_spec.account_id = "123456789012".into();
    let client = accounts
        .client("home", &own_spec)
        .await
        .expect("valid spec");
    assert!(Arc::ptr_eq(&client.iam, accounts.own()));
    assert!(client.verified(false).await.is_ok());
    assert_eq!(connector.connects.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn every_account_has_its_own_workers() {
    let (accounts, _) = accounts(Vec::new());
    let b = || accounts.worker(Some("b".into()), 2, 0);
    let b1 = b().await;
    let b2 = b().await;
    assert!(b1.is_some() && b2.is_some());
    assert!(b().await.is_none(), "b is busy");
    assert!(
        accounts.worker(None, 2, 0).await.is_some(),
        "the own account is not"
    );
    drop(b1);
    assert!(b().await.is_some());
}
