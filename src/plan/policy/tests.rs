use super::*;

const ARN: &str = "arn:aws:iam::123456789012:policy/team-a.shared";
const DOC_A: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
/// DOC_A with its keys reordered and the action in a one-element list: the same policy.
const DOC_A_REWRITTEN: &str = r#"{"Statement":[{"Resource":"*","Action":["s3:GetObject"],"Effect":"Allow"}],"Version":"2012-10-17"}"#;
const DOC_B: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}"#;

fn owner() -> Owner {
    Owner {
        cluster: "prod".into(),
        namespace: "team-a".into(),
        name: "shared".into(),
    }
}

fn owner_tag() -> (String, String) {
    (OWNER_TAG_KEY.to_string(), "prod/team-a/shared".to_string())
}

fn desired(document: &str) -> DesiredPolicy {
    DesiredPolicy {
        name: "team-a.shared".into(),
        path: "/".into(),
        description: "shared reads".into(),
        document: document.into(),
        tags: BTreeMap::from([("team".to_string(), "a".to_string())]),
        ignored_tag_keys: Vec::new(),
    }
}

fn version(n: u32, is_default: bool) -> PolicyVersion {
    PolicyVersion {
        id: format!("v{n}"),
        is_default,
        created: i64::from(n) * 100,
    }
}

fn observed(document: &str, versions: Vec<PolicyVersion>) -> ObservedPolicy {
    let default = versions
        .iter()
        .find(|v| v.is_default)
        .map(|v| v.id.clone())
        .unwrap_or_default();
    ObservedPolicy {
        name: "team-a.shared".into(),
        path: "/".into(),
        arn: ARN.into(),
        policy_id: "ANPAEXAMPLE".into(),
        description: "shared reads".into(),
        default_version_id: default,
        document: document.into(),
        versions,
        attachment_count: 0,
        tags: BTreeMap::from([owner_tag(), ("team".to_string(), "a".to_string())]),
    }
}

fn delete_version(id: &str) -> PolicyOp {
    PolicyOp::DeletePolicyVersion {
        policy_arn: ARN.into(),
        version_id: id.into(),
    }
}

fn new_version(document: &str) -> PolicyOp {
    PolicyOp::CreatePolicyVersion {
        policy_arn: ARN.into(),
        document: document.into(),
    }
}

#[test]
fn create_carries_the_ownership_tag() {
    let ops = plan_policy_apply(&desired(DOC_A), None, &owner(), false).unwrap();
    assert_eq!(
        ops,
        vec![PolicyOp::CreatePolicy {
            policy_name: "team-a.shared".into(),
            path: "/".into(),
            description: "shared reads".into(),
            document: DOC_A.into(),
            tags: BTreeMap::from([owner_tag(), ("team".to_string(), "a".to_string())]),
        }]
    );
}

#[test]
fn update_table() {
    // (case, desired document, observed document, observed versions, expected ops)
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        Vec<PolicyVersion>,
        Vec<PolicyOp>,
    );
    let cases: Vec<Case> = vec![
        ("in sync", DOC_A, DOC_A, vec![version(1, true)], vec![]),
        (
            "equivalent rewrite: no new version",
            DOC_A_REWRITTEN,
            DOC_A,
            vec![version(1, true)],
            vec![],
        ),
        (
            "changed document, room left",
            DOC_B,
            DOC_A,
            vec![version(1, false), version(2, true)],
            vec![new_version(DOC_B)],
        ),
        (
            "four versions: the fifth fits",
            DOC_B,
            DOC_A,
            (1..=4).map(|n| version(n, n == 4)).collect(),
            vec![new_version(DOC_B)],
        ),
        (
            "five versions: the oldest goes first",
            DOC_B,
            DOC_A,
            (1..=5).map(|n| version(n, n == 5)).collect(),
            vec![delete_version("v1"), new_version(DOC_B)],
        ),
        (
            "five versions, the oldest is the default: the oldest non-default goes",
            DOC_B,
            DOC_A,
            (1..=5).map(|n| version(n, n == 1)).collect(),
            vec![delete_version("v2"), new_version(DOC_B)],
        ),
        (
            "five versions listed out of order: by creation date",
            DOC_B,
            DOC_A,
            vec![
                version(9, true),
                version(7, false),
                version(6, false),
                version(8, false),
                version(5, false),
            ],
            vec![delete_version("v5"), new_version(DOC_B)],
        ),
        (
            "equal dates: by version number, not text (v10 is newer than v9)",
            DOC_B,
            DOC_A,
            vec![
                PolicyVersion {
                    id: "v10".into(),
                    is_default: false,
                    created: 0,
                },
                PolicyVersion {
                    id: "v9".into(),
                    is_default: false,
                    created: 0,
                },
                PolicyVersion {
                    id: "v11".into(),
                    is_default: true,
                    created: 0,
                },
                PolicyVersion {
                    id: "v12".into(),
                    is_default: false,
                    created: 0,
                },
                PolicyVersion {
                    id: "v13".into(),
                    is_default: false,
                    created: 0,
                },
            ],
            vec![delete_version("v9"), new_version(DOC_B)],
        ),
    ];
    for (name, want_doc, have_doc, versions, want) in cases {
        let got = plan_policy_apply(
            &desired(want_doc),
            Some(&observed(have_doc, versions)),
            &owner(),
            false,
        )
        .unwrap();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn tags_are_diffed_like_roles() {
    let mut want = desired(DOC_A);
    want.tags = BTreeMap::from([
        ("team".to_string(), "b".to_string()),
        ("org:cost".to_string(), "1".to_string()),
    ]);
    want.ignored_tag_keys = vec!["org:*".into()];
    let mut have = observed(DOC_A, vec![version(1, true)]);
    have.tags.insert("legacy".into(), "x".into());
    have.tags.insert("org:cost".into(), "42".into());
    have.tags
        .insert("aws:cloudformation:stack-name".into(), "s".into());
    let ops = plan_policy_apply(&want, Some(&have), &owner(), false).unwrap();
    assert_eq!(
        ops,
        vec![
            PolicyOp::UntagPolicy {
                policy_arn: ARN.into(),
                keys: vec!["legacy".into()],
            },
            PolicyOp::TagPolicy {
                policy_arn: ARN.into(),
                tags: BTreeMap::from([("team".to_string(), "b".to_string())]),
            },
        ]
    );
}

#[test]
fn ownership_decides_before_anything_is_written() {
    let mut untagged = observed(DOC_B, vec![version(1, true)]);
    untagged.tags.clear();
    let refused = plan_policy_apply(&desired(DOC_A), Some(&untagged), &owner(), false);
    assert!(
        matches!(&refused, Err(PlanError::PolicyNotOwned { reason, .. }) if reason.contains("spec.adopt: true")),
        "{refused:?}"
    );
    let adopted = plan_policy_apply(&desired(DOC_A), Some(&untagged), &owner(), true).unwrap();
    assert_eq!(
        adopted.first(),
        Some(&PolicyOp::TagPolicy {
            policy_arn: ARN.into(),
            tags: BTreeMap::from([owner_tag()]),
        }),
        "the claim comes first"
    );
    assert!(adopted.contains(&new_version(DOC_A)));

    let mut other = observed(DOC_A, vec![version(1, true)]);
    other
        .tags
        .insert(OWNER_TAG_KEY.into(), "prod/team-b/shared".into());
    let refused = plan_policy_apply(&desired(DOC_A), Some(&other), &owner(), true);
    let Err(error) = refused else {
        panic!("another object's policy was taken: {refused:?}");
    };
    assert_eq!(
        error.to_string(),
        "IAM policy team-a.shared is managed by IamPolicy team-b/shared in cluster `prod` (tag \
         `rolesmith.dev/owner=prod/team-b/shared`); spec.adopt never takes a policy from another \
         owner"
    );
}

#[test]
fn path_and_description_cannot_change() {
    for (field, change) in [
        (
            "path",
            (|o: &mut ObservedPolicy| o.path = "/old/".into()) as fn(&mut ObservedPolicy),
        ),
        ("description", |o: &mut ObservedPolicy| {
            o.description = "old".into()
        }),
    ] {
        let mut have = observed(DOC_A, vec![version(1, true)]);
        change(&mut have);
        let got = plan_policy_apply(&desired(DOC_A), Some(&have), &owner(), false);
        assert!(
            matches!(&got, Err(PlanError::PolicyImmutable { field: f, .. }) if *f == field),
            "{field}: {got:?}"
        );
    }
}

/// Six updates replayed against a model of IAM's version rules (at most 5, the default never
/// deleted): the cap holds, the default moves to each new version, an equivalent rewrite adds
/// none, and a second plan after each is empty.
#[test]
fn six_updates_converge_under_the_version_cap() {
    let mut iam = observed(DOC_A, vec![version(1, true)]);
    let mut next = 2;
    let documents: Vec<String> = (0..6)
        .map(|i| {
            if i == 3 {
                // An equivalent rewrite of update 2.
                DOC_A_REWRITTEN.replace("s3:GetObject", "s3:GetObject2")
            } else {
                DOC_A.replace("s3:GetObject", &format!("s3:GetObject{i}"))
            }
        })
        .collect();
    for (i, document) in documents.iter().enumerate() {
        let ops = plan_policy_apply(&desired(document), Some(&iam), &owner(), false).unwrap();
        if i == 3 {
            assert!(ops.is_empty(), "equivalent rewrite planned {ops:?}");
        }
        for op in ops {
            match op {
                PolicyOp::DeletePolicyVersion { version_id, .. } => {
                    let gone = iam.versions.iter().position(|v| v.id == version_id);
                    let gone = gone.expect("deletes an existing version");
                    assert!(!iam.versions[gone].is_default, "deleted the default");
                    iam.versions.remove(gone);
                }
                PolicyOp::CreatePolicyVersion { document, .. } => {
                    assert!(iam.versions.len() < MAX_POLICY_VERSIONS, "LimitExceeded");
                    for v in &mut iam.versions {
                        v.is_default = false;
                    }
                    iam.versions.push(version(next, true));
                    iam.default_version_id = format!("v{next}");
                    iam.document = document;
                    next += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        let again = plan_policy_apply(&desired(document), Some(&iam), &owner(), false).unwrap();
        assert!(again.is_empty(), "update {i} did not converge: {again:?}");
    }
    assert_eq!(iam.versions.len(), MAX_POLICY_VERSIONS);
    assert_eq!(
        iam.default_version_id, "v6",
        "5 new versions, the rewrite made none"
    );
    let ids: Vec<&str> = iam.versions.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, vec!["v2", "v3", "v4", "v5", "v6"]);
}

#[test]
fn delete_table() {
    let have = observed(DOC_A, vec![version(1, false), version(2, true)]);
    let roles = |names: &[&str]| PolicyAttachments {
        roles: names.iter().map(|n| n.to_string()).collect(),
        ..PolicyAttachments::default()
    };
    let full_delete = vec![
        delete_version("v1"),
        PolicyOp::DeletePolicy {
            policy_arn: ARN.into(),
        },
    ];
    let detach = |role: &str| PolicyOp::DetachRolePolicy {
        role: role.into(),
        policy_arn: ARN.into(),
    };
    // (case, attachments, policy, force, expected)
    let cases: Vec<(
        &str,
        PolicyAttachments,
        DeletionPolicy,
        bool,
        PolicyDeletion,
    )> = vec![
        (
            "free: versions, then the policy",
            roles(&[]),
            DeletionPolicy::Delete,
            false,
            PolicyDeletion::Ops(full_delete.clone()),
        ),
        (
            "attached: held",
            roles(&["a", "b"]),
            DeletionPolicy::Delete,
            false,
            PolicyDeletion::Held {
                reason: "is still attached to role a, role b; detach it (remove it from those \
                         roles' spec.managedPolicyRefs), or run the operator with \
                         --force-detach to detach it from roles first"
                    .into(),
            },
        ),
        (
            "attached, force: detached first",
            roles(&["a", "b"]),
            DeletionPolicy::Delete,
            true,
            PolicyDeletion::Ops(
                [detach("a"), detach("b")]
                    .into_iter()
                    .chain(full_delete.clone())
                    .collect(),
            ),
        ),
        (
            "attached to a user, force: held, rolesmith detaches from roles only",
            PolicyAttachments {
                roles: vec!["a".into()],
                users: vec!["u".into()],
                groups: vec![],
            },
            DeletionPolicy::Delete,
            true,
            PolicyDeletion::Held {
                reason: "is still attached to user u; rolesmith only detaches policies from \
                         roles, so detach it from those yourself"
                    .into(),
            },
        ),
        (
            "retain: attached or not, only the claim goes",
            roles(&["a"]),
            DeletionPolicy::Retain,
            false,
            PolicyDeletion::Ops(vec![PolicyOp::UntagPolicy {
                policy_arn: ARN.into(),
                keys: vec![OWNER_TAG_KEY.into()],
            }]),
        ),
    ];
    for (name, attachments, policy, force, want) in cases {
        assert_eq!(
            plan_policy_delete(&have, &attachments, &owner(), policy, force),
            want,
            "{name}"
        );
    }
    let mut foreign = have.clone();
    foreign.tags.clear();
    assert_eq!(
        plan_policy_delete(
            &foreign,
            &roles(&[]),
            &owner(),
            DeletionPolicy::Delete,
            true
        ),
        PolicyDeletion::Ops(Vec::new()),
        "a policy that is not ours is never touched"
    );
}
