//! Errors moto really answers, classified, with IAM's own code and message kept.

use std::collections::BTreeMap;
use std::sync::Arc;

use rolesmith::error::Category;
use rolesmith::iam::{CallOutcome, IamApi};
use rolesmith::model::IamOp;

use crate::support::{Moto, RecordingObserver, allow, aws_iam, iam_failure, service_trust};

fn create(role: &str) -> IamOp {
    IamOp::CreateRole {
        role: role.to_string(),
        path: "/".to_string(),
        description: String::new(),
        max_session_duration: 3600,
        assume_role_policy: service_trust("ec2.amazonaws.com"),
        permissions_boundary: None,
        tags: BTreeMap::new(),
    }
}

#[tokio::test]
async fn moto_errors_are_classified_with_iam_messages() {
    let moto = Moto::start();
    let observer = Arc::new(RecordingObserver::default());
    let iam = aws_iam(&moto.endpoint, observer.clone()).await;
    iam.execute(&create("app")).await.unwrap();
    let put = IamOp::PutRolePolicy {
        role: "app".to_string(),
        policy_name: "p".to_string(),
        document: allow("s3:GetObject", "*"),
    };
    iam.execute(&put).await.unwrap();

    let too_many_tags = (0..51)
        .map(|i| (format!("k{i}"), "v".to_string()))
        .collect();
    let cases: Vec<(IamOp, &str, Category, &str)> = vec![
        (
            IamOp::AttachRolePolicy {
                role: "app".to_string(),
                policy_arn: "arn:aws:iam::123456789012:policy/does-not-exist".to_string(),
            },
            "NoSuchEntity",
            // A policy created moments ago looks exactly like this: retried, not given up on.
            Category::IamTransient,
            "arn:aws:iam::123456789012:policy/does-not-exist",
        ),
        (
            IamOp::AttachRolePolicy {
                role: "app".to_string(),
                policy_arn: "arn:aws:iam::aws:policy/NoSuchAwsPolicy".to_string(),
            },
            "NoSuchEntity",
            // AWS's own policies never appear later: a typo, reported, not retried.
            Category::IamRejected,
            "arn:aws:iam::aws:policy/NoSuchAwsPolicy",
        ),
        (
            IamOp::DeleteRole {
                role: "nobody".to_string(),
            },
            "NoSuchEntity",
            Category::IamTransient,
            "nobody",
        ),
        (
            IamOp::DeleteRole {
                role: "app".to_string(),
            },
            "DeleteConflict",
            Category::IamTransient,
            "must delete policies first",
        ),
        (
            create("app"),
            "EntityAlreadyExists",
            Category::IamTransient,
            "already exists",
        ),
        (
            IamOp::PutRolePolicy {
                role: "app".to_string(),
                policy_name: "bad".to_string(),
                document: r#"{"a":"b"}"#.to_string(),
            },
            "MalformedPolicyDocument",
            Category::IamRejected,
            "Syntax errors in policy",
        ),
        (
            IamOp::TagRole {
                role: "app".to_string(),
                tags: too_many_tags,
            },
            "ValidationError",
            Category::IamRejected,
            "less than or equal to 50",
        ),
    ];
    for (op, code, category, in_message) in cases {
        let failure = iam_failure(iam.execute(&op).await);
        assert_eq!(failure.action, op.action());
        assert_eq!(
            (failure.code.as_str(), failure.category),
            (code, category),
            "{op:?}"
        );
        assert!(
            failure.message.contains(in_message),
            "{op:?}: {:?} lacks {in_message:?}",
            failure.message
        );
        assert_eq!(failure.retry_after, None);
        assert_eq!(
            observer.calls().last(),
            Some(&(op.action(), CallOutcome::Error(category)))
        );
    }
}

#[tokio::test]
async fn a_missing_role_is_an_answer_not_a_failure() {
    let moto = Moto::start();
    let observer = Arc::new(RecordingObserver::default());
    let iam = aws_iam(&moto.endpoint, observer.clone()).await;
    // GetRole on a missing role is an answer (None), observed as a successful call.
    assert_eq!(iam.get_role("ghost").await.unwrap(), None);
    assert_eq!(observer.calls(), vec![("GetRole", CallOutcome::Ok)]);
}
