//! The one-line summaries shown in dry runs, logs and Events.

use super::fixtures::*;
use crate::model::IamOp;
use crate::plan::describe;

#[test]
fn every_op_reads_as_one_line() {
    let cases = vec![
        (
            IamOp::CreateRole {
                role: ROLE.into(),
                path: "/apps/".into(),
                description: "d".into(),
                max_session_duration: 3600,
                assume_role_policy: TRUST.into(),
                permissions_boundary: Some(BOUNDARY.into()),
                tags: map(&[("team", "a")]),
            },
            "+ create role app-x at path /apps/ with permissions boundary \
             arn:aws:iam::123456789012:policy/boundary",
        ),
        (
            IamOp::CreateRole {
                role: ROLE.into(),
                path: "/".into(),
                description: String::new(),
                max_session_duration: 3600,
                assume_role_policy: TRUST.into(),
                permissions_boundary: None,
                tags: map(&[]),
            },
            "+ create role app-x at path /",
        ),
        (
            update_role("line one\nline two", 7200),
            "~ update role app-x: description \"line one\\nline two\", max session 7200 s",
        ),
        (update_trust(TRUST), "~ update trust policy of role app-x"),
        (put("logs", LOGS), "~ put inline policy logs on app-x"),
        (
            delete_inline("logs"),
            "- delete inline policy logs from app-x",
        ),
        (
            attach(READ_ONLY),
            "+ attach arn:aws:iam::aws:policy/ReadOnlyAccess to app-x",
        ),
        (
            detach(READ_ONLY),
            "- detach arn:aws:iam::aws:policy/ReadOnlyAccess from app-x",
        ),
        (
            tag(&[("team", "a"), ("env", "prod")]),
            "~ tag app-x with env=prod, team=a",
        ),
        (untag(&["team"]), "- untag team from app-x"),
        (untag(&["env", "team"]), "- untag env, team from app-x"),
        (
            put_boundary(BOUNDARY),
            "~ set permissions boundary of app-x to arn:aws:iam::123456789012:policy/boundary",
        ),
        (
            delete_boundary(),
            "- remove permissions boundary from app-x",
        ),
        (
            IamOp::RemoveRoleFromInstanceProfile {
                role: ROLE.into(),
                instance_profile: "web".into(),
            },
            "- remove app-x from instance profile web",
        ),
        (
            IamOp::DeleteRole { role: ROLE.into() },
            "- delete role app-x",
        ),
    ];
    for (op, want) in cases {
        let line = describe(&op);
        assert_eq!(line, want, "{}", op.action());
        assert!(!line.contains('\n'), "{line}");
    }
}

#[test]
fn long_descriptions_are_cut() {
    let line = describe(&update_role(&"x".repeat(100), 3600));
    let want = format!(
        "~ update role app-x: description \"{}…\", max session 3600 s",
        "x".repeat(59)
    );
    assert_eq!(line, want);
}
