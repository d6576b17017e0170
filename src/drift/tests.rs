use super::*;
use crate::model::OWNER_TAG_KEY;
use crate::plan::tests::fixtures::{LOGS, desired, observed, owner};

fn managed(name: &str) -> Managed<String> {
    let mut desired = desired();
    desired.name = name.into();
    Managed {
        key: name.into(),
        desired,
        owner: owner(),
        adopt: false,
        observed_drift: None,
        last_sync: LastSync::At(at(0)),
        recorded_last_used: None,
    }
}

fn at(seconds: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_800_000_000 + seconds).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

/// The objects a sweep that hands over `roles` finds drifted.
fn judge(
    fleet: &[Managed<String>],
    roles: Vec<(String, ObservedRole)>,
    started: jiff::Timestamp,
) -> Vec<&str> {
    let mut judge = DriftJudge::new(fleet, started);
    for (name, role) in roles {
        if judge.wants(&name) {
            judge.visit(role);
        }
    }
    judge.drifted().into_iter().map(String::as_str).collect()
}

fn seen(name: &str, change: impl Fn(&mut ObservedRole)) -> (String, ObservedRole) {
    let mut role = observed();
    role.name = name.into();
    change(&mut role);
    (name.to_string(), role)
}

#[test]
fn which_roles_drifted() {
    let fleet: Vec<Managed<String>> = [
        "same",
        "reordered",
        "inline",
        "tag",
        "claimed",
        "gone",
        "session",
    ]
    .into_iter()
    .map(managed)
    .collect();
    let roles = vec![
        seen("same", |_| {}),
        // IAM answers documents reformatted: not drift.
        seen("reordered", |r| {
            r.inline_policies
                .insert("logs".into(), format!("  {LOGS}\n"));
            r.managed_policy_arns.reverse();
        }),
        seen("inline", |r| {
            r.inline_policies.insert("extra".into(), LOGS.into());
        }),
        seen("tag", |r| {
            r.tags.insert("team".into(), "b".into());
        }),
        seen("claimed", |r| {
            r.tags.insert(OWNER_TAG_KEY.into(), "other/ns/name".into());
        }),
        seen("session", |r| r.max_session_duration = 7200),
    ];
    let drifted = judge(&fleet, roles, at(10));
    assert_eq!(drifted, ["inline", "tag", "claimed", "gone", "session"]);
}

/// A lazy judge builds an object's desired role only when the sweep hands over that role, and
/// judges as the eager one; an object it cannot build again (gone, refused, renamed meanwhile)
/// is left to its own reconcile.
#[test]
fn a_lazy_judge_admits_only_the_roles_it_visits() {
    let fleet: Vec<Managed<String>> = ["same", "tag", "gone", "refused", "renamed"]
        .into_iter()
        .map(managed)
        .collect();
    let candidates: Vec<Candidate<String>> = fleet
        .iter()
        .map(|m| Candidate {
            key: m.key.clone(),
            role_name: m.desired.name.clone(),
            last_sync: m.last_sync,
            inline_policies: m.desired.inline_policies.len(),
        })
        .collect();
    let built = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = built.clone();
    let source = fleet.clone();
    let mut judge = DriftJudge::lazy(
        &candidates,
        move |candidate| {
            log.lock().unwrap().push(candidate.key.clone());
            let mut m = source.iter().find(|m| m.key == candidate.key).cloned()?;
            match candidate.key.as_str() {
                "refused" => return None,
                "renamed" => m.desired.name = "another".into(),
                _ => {}
            }
            Some(m)
        },
        at(10),
    );
    for (name, role) in [
        seen("same", |_| {}),
        seen("tag", |r| {
            r.tags.insert("team".into(), "b".into());
        }),
        seen("refused", |r| r.max_session_duration = 7200),
        seen("renamed", |r| r.max_session_duration = 7200),
    ] {
        assert!(judge.wants(&name));
        judge.visit(role);
    }
    assert!(!judge.wants("another"));
    let drifted: Vec<&str> = judge.drifted().into_iter().map(String::as_str).collect();
    assert_eq!(drifted, ["tag", "gone"]);
    assert_eq!(
        *built.lock().unwrap(),
        ["same", "tag", "refused", "renamed"]
    );
}

/// The sweep's InstanceProfileList is enough to see spec.instanceProfile drift: a profile gone
/// behind our back is drift; one holding the role without being asked for is not (it may be
/// someone else's, and the reconcile would leave it, so it would be found again every sweep).
#[test]
fn a_missing_instance_profile_is_drift() {
    let held = |r: &mut ObservedRole| {
        r.instance_profiles = vec![crate::model::InstanceProfileRef {
            name: r.name.clone(),
            path: "/".into(),
            arn: format!("arn:aws:iam::123456789012:instance-profile/{}", r.name),
        }]
    };
    let with_flag = |name: &str, wanted: bool| {
        let mut m = managed(name);
        m.desired.instance_profile = wanted;
        m
    };
    let fleet = vec![
        with_flag("wanted-held", true),
        with_flag("wanted-gone", true),
        with_flag("unwanted-held", false),
    ];
    let roles = vec![
        seen("wanted-held", held),
        seen("wanted-gone", |_| {}),
        seen("unwanted-held", held),
    ];
    assert_eq!(judge(&fleet, roles, at(10)), ["wanted-gone"]);
    let fields: Vec<String> = differences(&fleet[1].desired, &seen("wanted-gone", |_| {}).1)
        .into_iter()
        .map(|d| d.field)
        .collect();
    assert_eq!(fields, ["instanceProfile"]);
}

#[test]
fn only_objects_synced_before_the_sweep_are_judged_by_it() {
    let fleet: Vec<Managed<String>> = [
        ("before", LastSync::At(at(9))),
        ("during", LastSync::At(at(10))),
        ("after", LastSync::At(at(11))),
        ("queued", LastSync::Pending),
        ("failing", LastSync::Never),
    ]
    .into_iter()
    .map(|(name, last_sync)| Managed {
        last_sync,
        ..managed(name)
    })
    .collect();
    // None of them is in the sweep: all would look missing.
    let roles = Vec::new();
    let drifted = judge(&fleet, roles, at(10));
    assert_eq!(drifted, ["before", "failing"]);
}

#[test]
fn observed_roles_trigger_only_on_news() {
    let mut quiet = managed("quiet");
    quiet.observed_drift = Some(vec!["description".into()]);
    let mut news = managed("news");
    news.observed_drift = Some(vec![]);
    let roles = vec![
        seen("quiet", |r| r.description = "by hand".into()),
        seen("news", |r| r.description = "by hand".into()),
    ];
    let fleet = [quiet, news];
    let drifted = judge(&fleet, roles, at(10));
    assert_eq!(drifted, ["news"]);
}

#[test]
fn costs() {
    let cases = [
        (0, 2),
        (1, 2),
        (999, 2),
        (1000, 2),
        (1001, 4),
        (10_000, 20),
        (10_001, 22),
    ];
    for (roles, calls) in cases {
        assert_eq!(sweep_calls(roles), calls, "{roles} roles");
    }
    let fleet: Vec<Managed<String>> = (0..3).map(|i| managed(&format!("r{i}"))).collect();
    assert_eq!(
        per_role_calls(fleet.iter().map(|m| m.desired.inline_policies.len())),
        18,
        "3 roles with 2 inline policies each"
    );
}

#[test]
fn when_to_sweep() {
    let cases = [
        // per-role calls, roles in the account, sweep?
        (5, None, true),
        (1, Some(0), false),
        (2, Some(10), true),
        (5, Some(10), true),
        (5, Some(5_000), false),
        (50_000, Some(10_000), true),
        (15, Some(3_000), true),
        (5, Some(3_000), false),
    ];
    for (per_role, roles, want) in cases {
        assert_eq!(
            sweep_pays_off(DriftCheck::Auto, per_role, roles),
            want,
            "{per_role} vs {roles:?}"
        );
        assert!(sweep_pays_off(DriftCheck::Sweep, per_role, roles));
        assert!(!sweep_pays_off(DriftCheck::PerRole, per_role, roles));
    }
}

#[test]
fn differences_field_by_field() {
    let in_sync = observed();
    assert_eq!(differences(&desired(), &in_sync), vec![], "in sync");
    type Change = fn(&mut ObservedRole);
    let cases: Vec<(&str, Change, Vec<&str>)> = vec![
        (
            "reformatted documents are not drift",
            |o| {
                let doc = o.inline_policies["logs"].replace(',', ", ");
                o.inline_policies.insert("logs".into(), doc);
                o.managed_policy_arns.reverse();
            },
            vec![],
        ),
        (
            "trust",
            |o| o.assume_role_policy = o.assume_role_policy.replace("ec2", "lambda"),
            vec!["trust"],
        ),
        (
            "inline changed, removed, added",
            |o| {
                let s3 = o.inline_policies["s3"].clone();
                o.inline_policies.insert("logs".into(), s3);
                o.inline_policies.remove("s3");
                o.inline_policies.insert("extra".into(), "{}".into());
            },
            vec![
                "inlinePolicies.extra",
                "inlinePolicies.logs",
                "inlinePolicies.s3",
            ],
        ),
        (
            "managed",
            |o| {
                o.managed_policy_arns.pop();
            },
            vec!["managedPolicyArns"],
        ),
        (
            "tags, but not owner or aws: ones",
            |o| {
                o.tags.insert("team".into(), "b".into());
                o.tags
                    .insert("aws:cloudformation:stack-name".into(), "s".into());
                o.tags.remove(OWNER_TAG_KEY);
            },
            vec!["tags.team"],
        ),
        (
            "boundary",
            |o| o.permissions_boundary = None,
            vec!["permissionsBoundary"],
        ),
        (
            "description and session",
            |o| {
                o.description = "x".into();
                o.max_session_duration = 7200;
            },
            vec!["description", "maxSessionDuration"],
        ),
    ];
    for (name, change, want) in cases {
        let mut o = observed();
        change(&mut o);
        let got: Vec<String> = differences(&desired(), &o)
            .into_iter()
            .map(|d| d.field)
            .collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn tags_owned_by_others_are_not_drift() {
    let mut want = desired();
    want.ignored_tag_keys = vec!["org:*".into()];
    let mut o = observed();
    o.tags.insert("org:cost-center".into(), "42".into());
    assert_eq!(differences(&want, &o), vec![]);
}

#[test]
fn differences_are_bounded() {
    let mut o = observed();
    for i in 0..30 {
        o.tags.insert(format!("extra{i:02}"), "x".into());
    }
    let found = differences(&desired(), &o);
    assert_eq!(found.len(), MAX_DIFFERENCES);
    assert_eq!(found[MAX_DIFFERENCES - 1].summary, "11 more differences");
}
