//! The pure core: planning an in-sync role with N inline policies (semantic comparison of every
//! document), per call.

use std::collections::BTreeMap;
use std::time::Instant;

use rolesmith::model::{DesiredRole, ObservedRole, Owner};

pub fn document(index: usize) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"S{index}","Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:ListBucket"],"Resource":["arn:aws:s3:::bucket-{index}","arn:aws:s3:::bucket-{index}/*"],"Condition":{{"StringEquals":{{"aws:RequestedRegion":["eu-west-1","us-east-1"]}}}}}}]}}"#
    )
}

pub fn run() {
    for inline in [1usize, 5, 20] {
        let owner = Owner {
            cluster: "bench".into(),
            namespace: "default".into(),
            name: "app".into(),
        };
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let policies: BTreeMap<String, String> = (0..inline)
            .map(|i| (format!("p{i}"), document(i)))
            .collect();
        let tags: BTreeMap<String, String> = (0..10)
            .map(|i| (format!("k{i}"), format!("v{i}")))
            .collect();
        let desired = DesiredRole {
            name: "default.app".into(),
            settings: rolesmith::model::RoleSettings {
                path: "/".into(),
                description: "bench".into(),
                max_session_duration: 3600,
                assume_role_policy: trust.into(),
                inline_policies: policies.clone(),
                managed_policy_arns: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
                permissions_boundary: None,
                tags: tags.clone(),
            },
            ignored_tag_keys: Vec::new(),
            instance_profile: false,
        };
        // What IAM answers: reformatted (spaces, reordered lists), as after a round trip.
        let mut observed_tags = tags;
        observed_tags.insert(rolesmith::model::OWNER_TAG_KEY.into(), owner.tag_value());
        let observed = ObservedRole {
            name: desired.name.clone(),
            settings: rolesmith::model::RoleSettings {
                path: "/".into(),
                description: "bench".into(),
                max_session_duration: 3600,
                assume_role_policy: trust.replace(',', ", "),
                inline_policies: policies
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.replace(
                                "[\"s3:GetObject\",\"s3:PutObject\"",
                                "[\"s3:PutObject\",\"s3:GetObject\"",
                            ),
                        )
                    })
                    .collect(),
                managed_policy_arns: desired.managed_policy_arns.clone(),
                permissions_boundary: None,
                tags: observed_tags,
            },
            arn: "arn:aws:iam::123456789012:role/default.app".into(),
            role_id: "AROA".into(),
            last_used: None,
            instance_profiles: Vec::new(),
        };
        let iterations = 20_000 / inline.max(1);
        let started = Instant::now();
        for _ in 0..iterations {
            let ops = rolesmith::plan::plan_apply(&desired, Some(&observed), &owner, false)
                .expect("plan");
            assert!(ops.is_empty(), "in sync: {ops:?}");
        }
        let per_call = started.elapsed() / iterations as u32;
        println!(
            "plan, in-sync role with {inline:>2} inline policies: {per_call:?} per plan ({iterations} plans)"
        );
    }
}
