//! Every field of an existing, owned role: add, change, remove and no-op, one case each.

use super::checks::assert_plan;
use super::fixtures::*;
use crate::model::{DesiredRole, IamOp, ObservedRole};

struct Case {
    name: &'static str,
    change: fn(&mut DesiredRole, &mut ObservedRole),
    want: Vec<IamOp>,
}

fn case(
    name: &'static str,
    change: fn(&mut DesiredRole, &mut ObservedRole),
    want: Vec<IamOp>,
) -> Case {
    Case { name, change, want }
}

fn run(cases: Vec<Case>) {
    for Case { name, change, want } in cases {
        let (mut d, mut o) = (desired(), observed());
        change(&mut d, &mut o);
        assert_plan(name, &d, Some(o.clone()), false, &want);
        // adopt only matters for untagged roles: an owned role plans the same either way.
        assert_plan(name, &d, Some(o), true, &want);
    }
}

#[test]
fn in_sync_role_plans_nothing() {
    assert_plan("in sync", &desired(), Some(observed()), false, &[]);
}

#[test]
fn trust_policy() {
    run(vec![
        case("trust: same", |_, _| {}, vec![]),
        case(
            "trust: other principal",
            |d, _| d.assume_role_policy = TRUST_LAMBDA.into(),
            vec![update_trust(TRUST_LAMBDA)],
        ),
        case(
            "trust: drifted in IAM",
            |_, o| o.assume_role_policy = TRUST_LAMBDA.into(),
            vec![update_trust(TRUST)],
        ),
        case(
            "trust: condition added",
            |d, _| {
                d.assume_role_policy = TRUST.replace(
                    r#""Action":"sts:AssumeRole""#,
                    r#""Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"123456789012"}}"#,
                )
            },
            vec![update_trust(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"123456789012"}}}]}"#,
            )],
        ),
    ]);
}

#[test]
fn description_and_max_session() {
    run(vec![
        case("description: same", |_, _| {}, vec![]),
        case(
            "description: added",
            |_, o| o.description = String::new(),
            vec![update_role("app role", 3600)],
        ),
        case(
            "description: changed",
            |d, _| d.description = "serves the app".into(),
            vec![update_role("serves the app", 3600)],
        ),
        case(
            "description: removed",
            |d, _| d.description = String::new(),
            vec![update_role("", 3600)],
        ),
        case(
            "max session: raised",
            |d, _| d.max_session_duration = 43200,
            vec![update_role("app role", 43200)],
        ),
        case(
            "max session: drifted in IAM",
            |_, o| o.max_session_duration = 7200,
            vec![update_role("app role", 3600)],
        ),
        case(
            "both in one UpdateRole",
            |d, _| {
                d.description = "new".into();
                d.max_session_duration = 7200;
            },
            vec![update_role("new", 7200)],
        ),
    ]);
}

#[test]
fn permissions_boundary() {
    run(vec![
        case("boundary: same", |_, _| {}, vec![]),
        case(
            "boundary: added",
            |_, o| o.permissions_boundary = None,
            vec![put_boundary(BOUNDARY)],
        ),
        case(
            "boundary: changed",
            |d, _| d.permissions_boundary = Some(BOUNDARY_STRICT.into()),
            vec![put_boundary(BOUNDARY_STRICT)],
        ),
        case(
            "boundary: removed",
            |d, _| d.permissions_boundary = None,
            vec![delete_boundary()],
        ),
        // No boundary on either side is simply nothing to do.
        case(
            "boundary: none on either side",
            |d, o| {
                d.permissions_boundary = None;
                o.permissions_boundary = None;
            },
            vec![],
        ),
    ]);
}

#[test]
fn inline_policies() {
    run(vec![
        case("inline: same", |_, _| {}, vec![]),
        case(
            "inline: added",
            |d, _| {
                d.inline_policies.insert("sqs".into(), SQS.into());
            },
            vec![put("sqs", SQS)],
        ),
        case(
            "inline: changed",
            |d, _| {
                d.inline_policies.insert("logs".into(), SQS.into());
            },
            vec![put("logs", SQS)],
        ),
        case(
            "inline: drifted in IAM",
            |_, o| {
                o.inline_policies.insert("s3".into(), SQS.into());
            },
            vec![put("s3", S3)],
        ),
        case(
            "inline: removed",
            |d, _| {
                d.inline_policies.remove("s3");
            },
            vec![delete_inline("s3")],
        ),
        case(
            "inline: added outside rolesmith",
            |_, o| {
                o.inline_policies.insert("manual".into(), SQS.into());
            },
            vec![delete_inline("manual")],
        ),
        case(
            "inline: all removed",
            |d, _| d.inline_policies.clear(),
            vec![delete_inline("logs"), delete_inline("s3")],
        ),
        case(
            "inline: all missing in IAM",
            |_, o| o.inline_policies.clear(),
            vec![put("logs", LOGS), put("s3", S3)],
        ),
        case(
            "inline: renamed",
            |d, _| {
                d.inline_policies.remove("s3");
                d.inline_policies.insert("storage".into(), S3.into());
            },
            vec![put("storage", S3), delete_inline("s3")],
        ),
        case(
            "inline: renamed in case only",
            |d, _| {
                d.inline_policies.remove("s3");
                d.inline_policies.insert("S3".into(), S3.into());
            },
            vec![delete_inline("s3"), put("S3", S3)],
        ),
    ]);
}

#[test]
fn managed_policies() {
    run(vec![
        case("managed: same", |_, _| {}, vec![]),
        case(
            "managed: added",
            |d, _| d.managed_policy_arns.push(SSM.into()),
            vec![attach(SSM)],
        ),
        case(
            "managed: removed",
            |d, _| d.managed_policy_arns.retain(|a| a != CLOUDWATCH),
            vec![detach(CLOUDWATCH)],
        ),
        case(
            "managed: attached outside rolesmith",
            |_, o| o.managed_policy_arns.push(SSM.into()),
            vec![detach(SSM)],
        ),
        case(
            "managed: replaced, attach before detach",
            |d, _| d.managed_policy_arns = vec![READ_ONLY.into(), SSM.into()],
            vec![attach(SSM), detach(CLOUDWATCH)],
        ),
        case(
            "managed: reordered",
            |d, _| d.managed_policy_arns.reverse(),
            vec![],
        ),
        case(
            "managed: listed twice",
            |d, _| d.managed_policy_arns.push(READ_ONLY.into()),
            vec![],
        ),
        case(
            "managed: all removed",
            |d, _| d.managed_policy_arns.clear(),
            vec![detach(READ_ONLY), detach(CLOUDWATCH)],
        ),
        case(
            "managed: 10 attached, one swapped: detach first to stay under the quota",
            |d, o| {
                o.managed_policy_arns = numbered_arns(10);
                d.managed_policy_arns = numbered_arns(9);
                d.managed_policy_arns.push(SSM.into());
            },
            vec![detach("arn:aws:iam::123456789012:policy/p10"), attach(SSM)],
        ),
        case(
            "managed: 9 attached, one swapped: 10 fits, attach first",
            |d, o| {
                o.managed_policy_arns = numbered_arns(9);
                d.managed_policy_arns = numbered_arns(8);
                d.managed_policy_arns.push(SSM.into());
            },
            vec![attach(SSM), detach("arn:aws:iam::123456789012:policy/p9")],
        ),
    ]);
}

#[test]
fn tags() {
    run(vec![
        case("tags: same", |_, _| {}, vec![]),
        case(
            "tags: added",
            |d, _| {
                d.tags.insert("cost-center".into(), "42".into());
            },
            vec![tag(&[("cost-center", "42")])],
        ),
        case(
            "tags: value changed only",
            |d, _| {
                d.tags.insert("team".into(), "b".into());
            },
            vec![tag(&[("team", "b")])],
        ),
        case(
            "tags: removed",
            |d, _| {
                d.tags.remove("env");
            },
            vec![untag(&["env"])],
        ),
        case(
            "tags: key case changed",
            |d, _| {
                d.tags.remove("team");
                d.tags.insert("Team".into(), "a".into());
            },
            vec![untag(&["team"]), tag(&[("Team", "a")])],
        ),
        case(
            "tags: key case and value changed",
            |d, _| {
                d.tags.remove("team");
                d.tags.insert("TEAM".into(), "b".into());
            },
            vec![untag(&["team"]), tag(&[("TEAM", "b")])],
        ),
        case(
            "tags: added outside rolesmith",
            |_, o| {
                o.tags.insert("owner".into(), "bob".into());
            },
            vec![untag(&["owner"])],
        ),
        case(
            "tags: aws: tags are not drift",
            |_, o| {
                o.tags
                    .insert("aws:cloudformation:stack-name".into(), "s".into());
            },
            vec![],
        ),
        case(
            "tags: all user tags removed, ownership and aws: tags stay",
            |d, o| {
                d.tags.clear();
                o.tags
                    .insert("aws:cloudformation:logical-id".into(), "R".into());
            },
            vec![untag(&["env", "team"])],
        ),
        case(
            "tags: add, change, case-change and remove together",
            |d, o| {
                o.tags.insert("old".into(), "x".into());
                d.tags = map(&[("Env", "prod"), ("team", "b"), ("new", "1")]);
            },
            vec![
                untag(&["env", "old"]),
                tag(&[("Env", "prod"), ("new", "1"), ("team", "b")]),
            ],
        ),
    ]);
}

#[test]
fn everything_at_once_runs_in_the_documented_order() {
    let mut d = desired();
    d.assume_role_policy = TRUST_LAMBDA.into();
    d.description = "changed".into();
    d.permissions_boundary = None;
    d.inline_policies = map(&[("logs", SQS), ("sqs", SQS)]);
    d.managed_policy_arns = vec![READ_ONLY.into(), SSM.into()];
    d.tags = map(&[("team", "b"), ("new", "1")]);
    assert_plan(
        "all fields",
        &d,
        Some(observed()),
        false,
        &[
            put("logs", SQS),
            put("sqs", SQS),
            attach(SSM),
            detach(CLOUDWATCH),
            delete_inline("s3"),
            delete_boundary(),
            update_role("changed", 3600),
            untag(&["env"]),
            tag(&[("new", "1"), ("team", "b")]),
            update_trust(TRUST_LAMBDA),
        ],
    );
}

const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const BAD_INLINE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEqualz":{"aws:SourceVpc":"vpc-1"}}}]}"#;
const TRUST_EC2_AND_LAMBDA: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// The review's case: boundary + AdministratorAccess in IAM, a spec with neither and one inline
/// policy IAM will reject. The boundary must still hold when the inline write fails.
#[test]
fn boundary_goes_only_after_every_policy_is_cut_back() {
    let mut o = observed();
    o.managed_policy_arns = vec![ADMIN.into()];
    o.inline_policies.clear();
    let mut d = desired();
    d.permissions_boundary = None;
    d.managed_policy_arns.clear();
    d.inline_policies = map(&[("read", BAD_INLINE)]);
    assert_plan(
        "boundary removed with admin detached",
        &d,
        Some(o),
        false,
        &[put("read", BAD_INLINE), detach(ADMIN), delete_boundary()],
    );
}

#[test]
fn narrowing_and_widening_writes_in_order() {
    run(vec![
        case(
            "boundary added before new grants",
            |d, o| {
                o.permissions_boundary = None;
                d.managed_policy_arns.push(SSM.into());
            },
            vec![put_boundary(BOUNDARY), attach(SSM)],
        ),
        case(
            "boundary replaced: old out, boundary, new in",
            |d, _| {
                d.permissions_boundary = Some(BOUNDARY_STRICT.into());
                d.managed_policy_arns = vec![READ_ONLY.into(), SSM.into()];
                d.inline_policies = map(&[("logs", SQS), ("sqs", SQS)]);
            },
            vec![
                delete_inline("logs"),
                detach(CLOUDWATCH),
                delete_inline("s3"),
                put_boundary(BOUNDARY_STRICT),
                put("logs", SQS),
                put("sqs", SQS),
                attach(SSM),
            ],
        ),
        case(
            "trust that only drops a statement goes first",
            |d, o| {
                o.assume_role_policy = TRUST_EC2_AND_LAMBDA.into();
                d.inline_policies.remove("s3");
            },
            vec![update_trust(TRUST), delete_inline("s3")],
        ),
        case(
            "trust that lets new principals in goes last",
            |d, _| {
                d.assume_role_policy = TRUST_EC2_AND_LAMBDA.into();
                d.inline_policies.remove("s3");
                d.tags.insert("new".into(), "1".into());
            },
            vec![
                delete_inline("s3"),
                tag(&[("new", "1")]),
                update_trust(TRUST_EC2_AND_LAMBDA),
            ],
        ),
    ]);
}
