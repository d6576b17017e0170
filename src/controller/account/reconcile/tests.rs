use super::*;

fn at(seconds: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_800_000_000 + seconds).expect("valid time")
}

fn look(ready: bool, reason: &'static str, caller: Option<&str>, verified_now: bool) -> Look {
    Look {
        ready,
        reason,
        message: format!("{reason} message"),
        caller_arn: caller.map(str::to_string),
        verified_now,
    }
}

#[test]
fn status_after_each_look() {
    let caller = "arn:aws:sts::111111111111:assumed-role/rolesmith/rolesmith";
    let verified = next_status(
        &AwsAccountStatus::default(),
        Some(1),
        &look(true, "Verified", Some(caller), true),
        vec!["a/x".into()],
        at(0),
    );
    let ready = &verified.conditions[0];
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("True", "Verified")
    );
    assert_eq!(ready.last_transition_time, Time(at(0)));
    assert_eq!(verified.caller_arn.as_deref(), Some(caller));
    assert_eq!(verified.last_verified_time, Some(at(0).to_string()));
    assert_eq!(verified.used_by, vec!["a/x".to_string()]);

    // Verified again: the transition time stays, the verification time moves.
    let again = next_status(
        &verified,
        Some(1),
        &look(true, "Verified", Some(caller), true),
        vec![],
        at(60),
    );
    assert_eq!(again.conditions[0].last_transition_time, Time(at(0)));
    assert_eq!(again.last_verified_time, Some(at(60).to_string()));
    assert!(again.used_by.is_empty());

    // Denied: Ready False from now on; the last caller seen is kept.
    let denied = next_status(
        &again,
        Some(2),
        &look(false, "AssumeRoleDenied", None, true),
        vec![],
        at(90),
    );
    let ready = &denied.conditions[0];
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "AssumeRoleDenied")
    );
    assert_eq!(ready.last_transition_time, Time(at(90)));
    assert_eq!(ready.observed_generation, Some(2));
    assert_eq!(denied.caller_arn.as_deref(), Some(caller));

    // A second default makes no call: the last verification time stays.
    let duplicate = next_status(
        &denied,
        Some(3),
        &look(false, "DuplicateDefault", None, false),
        vec![],
        at(120),
    );
    assert_eq!(duplicate.last_verified_time, Some(at(90).to_string()));
    assert_eq!(duplicate.conditions.len(), 1);
    assert_eq!(duplicate.conditions[0].last_transition_time, Time(at(90)));
}

#[test]
fn used_by_is_bounded() {
    let many: Vec<String> = (0..80).map(|i| format!("ns/role-{i:02}")).collect();
    let status = next_status(
        &AwsAccountStatus::default(),
        Some(1),
        &look(false, "AccountInUse", None, false),
        many,
        at(0),
    );
    assert_eq!(status.used_by.len(), USED_BY_SHOWN);
}

#[test]
fn which_roles_use_an_account() {
    let cases = [
        (Some("b"), "b", false, true),
        (Some("b"), "c", false, false),
        (Some("b"), "c", true, false),
        (None, "c", true, true),
        (None, "c", false, false),
    ];
    for (account_ref, name, default, want) in cases {
        assert_eq!(
            uses(account_ref, name, default),
            want,
            "{account_ref:?} {name} {default}"
        );
    }
}
