//! A role in sync, and short constructors for the ops the tests expect.

use std::collections::BTreeMap;

use crate::model::{DesiredRole, IamOp, OWNER_TAG_KEY, ObservedRole, Owner};

pub const ROLE: &str = "app-x";
pub const OWNER_VALUE: &str = "prod/team-a/app";
pub const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
pub const TRUST_LAMBDA: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
pub const LOGS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"arn:aws:logs:*:123456789012:*"}]}"#;
pub const S3: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"},{"Sid":"List","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::bucket"}]}"#;
pub const SQS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}]}"#;
pub const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
pub const CLOUDWATCH: &str = "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy";
pub const SSM: &str = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";
pub const BOUNDARY: &str = "arn:aws:iam::123456789012:policy/boundary";
pub const BOUNDARY_STRICT: &str = "arn:aws:iam::123456789012:policy/boundary-strict";

pub fn owner() -> Owner {
    Owner {
        cluster: "prod".into(),
        namespace: "team-a".into(),
        name: "app".into(),
    }
}

pub fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn desired() -> DesiredRole {
    DesiredRole {
        name: ROLE.into(),
        settings: crate::model::RoleSettings {
            path: "/".into(),
            description: "app role".into(),
            max_session_duration: 3600,
            assume_role_policy: TRUST.into(),
            inline_policies: map(&[("logs", LOGS), ("s3", S3)]),
            managed_policy_arns: vec![READ_ONLY.into(), CLOUDWATCH.into()],
            permissions_boundary: Some(BOUNDARY.into()),
            tags: map(&[("env", "prod"), ("team", "a")]),
        },
        ignored_tag_keys: Vec::new(),
        instance_profile: false,
    }
}

/// What IAM reports for `desired()` once rolesmith created it.
pub fn observed() -> ObservedRole {
    let d = desired();
    let mut tags = d.tags.clone();
    tags.insert(OWNER_TAG_KEY.into(), OWNER_VALUE.into());
    ObservedRole {
        name: d.name,
        settings: crate::model::RoleSettings { tags, ..d.settings },
        arn: format!("arn:aws:iam::123456789012:role/{ROLE}"),
        role_id: "AROAEXAMPLEID".into(),
        last_used: None,
        instance_profiles: Vec::new(),
    }
}

pub fn update_trust(document: &str) -> IamOp {
    IamOp::UpdateAssumeRolePolicy {
        role: ROLE.into(),
        document: document.into(),
    }
}

pub fn update_role(description: &str, max_session_duration: i32) -> IamOp {
    IamOp::UpdateRole {
        role: ROLE.into(),
        description: description.into(),
        max_session_duration,
    }
}

pub fn put_boundary(arn: &str) -> IamOp {
    IamOp::PutRolePermissionsBoundary {
        role: ROLE.into(),
        policy_arn: arn.into(),
    }
}

pub fn delete_boundary() -> IamOp {
    IamOp::DeleteRolePermissionsBoundary { role: ROLE.into() }
}

pub fn put(name: &str, document: &str) -> IamOp {
    IamOp::PutRolePolicy {
        role: ROLE.into(),
        policy_name: name.into(),
        document: document.into(),
    }
}

pub fn delete_inline(name: &str) -> IamOp {
    IamOp::DeleteRolePolicy {
        role: ROLE.into(),
        policy_name: name.into(),
    }
}

pub fn attach(arn: &str) -> IamOp {
    IamOp::AttachRolePolicy {
        role: ROLE.into(),
        policy_arn: arn.into(),
    }
}

pub fn detach(arn: &str) -> IamOp {
    IamOp::DetachRolePolicy {
        role: ROLE.into(),
        policy_arn: arn.into(),
    }
}

pub fn tag(pairs: &[(&str, &str)]) -> IamOp {
    IamOp::TagRole {
        role: ROLE.into(),
        tags: map(pairs),
    }
}

pub fn untag(keys: &[&str]) -> IamOp {
    IamOp::UntagRole {
        role: ROLE.into(),
        keys: keys.iter().map(|k| k.to_string()).collect(),
    }
}

pub fn claim() -> IamOp {
    tag(&[(OWNER_TAG_KEY, OWNER_VALUE)])
}

/// `n` customer-managed ARNs, for the attachment-quota cases.
pub fn numbered_arns(n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| format!("arn:aws:iam::123456789012:policy/p{i}"))
        .collect()
}
