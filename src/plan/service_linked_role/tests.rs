use super::*;

fn desired(suffix: Option<&str>) -> DesiredServiceLinkedRole {
    DesiredServiceLinkedRole {
        aws_service_name: "autoscaling.amazonaws.com".into(),
        custom_suffix: suffix.map(str::to_string),
        description: String::new(),
    }
}

fn role(name: &str) -> ObservedServiceLinkedRole {
    ObservedServiceLinkedRole {
        name: name.into(),
        arn: format!(
            "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/{name}"
        ),
        path: service_role_path("autoscaling.amazonaws.com"),
    }
}

#[test]
fn which_of_the_services_roles_is_meant() {
    let cases = [
        (None, "AWSServiceRoleForAutoScaling", true),
        (None, "AWSServiceRoleForAutoScaling_app", false),
        (Some("app"), "AWSServiceRoleForAutoScaling_app", true),
        (Some("app"), "AWSServiceRoleForAutoScaling", false),
        (Some("app"), "AWSServiceRoleForAutoScaling_myapp", false),
        (Some("app"), "AWSServiceRoleForAutoScaling_x_app", false),
        (Some("a_b"), "AWSServiceRoleForAutoScaling_a_b", true),
    ];
    for (suffix, name, meant) in cases {
        assert_eq!(
            is_the_role(&desired(suffix), name),
            meant,
            "{suffix:?} {name}"
        );
    }
}

const PLAIN: &str = "AWSServiceRoleForAutoScaling";

#[test]
fn create_own_adopt_or_refuse() {
    let plain = role(PLAIN);
    let suffixed = role("AWSServiceRoleForAutoScaling_app");
    let owned = |role: &ObservedServiceLinkedRole, adopted| Step::Owned {
        role: role.clone(),
        adopted,
    };
    let nothing = Claims::default();
    let recorded = |adopted| Claims {
        recorded: Some(PLAIN),
        recorded_adopted: adopted,
        ..Claims::default()
    };
    let creating = Claims {
        creating: true,
        ..Claims::default()
    };
    // (name, suffix, claims, listed, adopt, expected)
    let cases = [
        ("nothing there", None, nothing, vec![], false, Step::Create),
        (
            "another suffix only",
            None,
            nothing,
            vec![suffixed.clone()],
            false,
            Step::Create,
        ),
        (
            "created before",
            None,
            recorded(false),
            vec![plain.clone()],
            false,
            owned(&plain, false),
        ),
        (
            "adopted before, adopt since unset",
            None,
            recorded(true),
            vec![plain.clone()],
            false,
            owned(&plain, true),
        ),
        (
            "recorded but deleted behind our back",
            None,
            recorded(false),
            vec![],
            false,
            Step::Create,
        ),
        (
            "existing, adopt",
            None,
            nothing,
            vec![plain.clone(), suffixed.clone()],
            true,
            owned(&plain, true),
        ),
        (
            "existing suffixed, adopt",
            Some("app"),
            nothing,
            vec![plain.clone(), suffixed.clone()],
            true,
            owned(&suffixed, true),
        ),
        // Created, then the status write with its name was lost: still this object's own.
        (
            "created, name not recorded",
            None,
            creating,
            vec![plain.clone()],
            false,
            owned(&plain, false),
        ),
    ];
    for (name, suffix, claims, listed, adopt, expected) in cases {
        let adoption = Adoption {
            adopt,
            may_adopt: true,
        };
        let step = plan_service_linked_role(&desired(suffix), &claims, &listed, adoption);
        assert_eq!(step, expected, "{name}");
    }

    let confined = Adoption {
        adopt: true,
        may_adopt: false,
    };
    let forbidden = plan_service_linked_role(
        &desired(None),
        &nothing,
        std::slice::from_ref(&plain),
        confined,
    );
    assert!(
        matches!(&forbidden, Step::Forbidden { reason } if reason.contains("--unconfined-namespaces")),
        "{forbidden:?}"
    );
    // A confined namespace still creates a role nobody has.
    assert_eq!(
        plan_service_linked_role(&desired(None), &nothing, &[], confined),
        Step::Create
    );
    let no_adopt = Adoption {
        adopt: false,
        may_adopt: true,
    };
    let refused = plan_service_linked_role(
        &desired(None),
        &nothing,
        std::slice::from_ref(&plain),
        no_adopt,
    );
    let Step::Refuse { reason } = refused else {
        panic!("an existing role without adopt is refused: {refused:?}");
    };
    assert!(reason.contains(PLAIN), "{reason}");
    assert!(reason.contains("spec.adopt: true"), "{reason}");
    assert!(reason.contains("cannot always carry tags"), "{reason}");
}

/// A role another object records is never this object's: not by adopt, not by a creation
/// marker (two objects that both tried to create it).
#[test]
fn a_role_another_object_records_is_refused() {
    let others = [(PLAIN.to_string(), "team-a/scaling".to_string())];
    let adopt = Adoption {
        adopt: true,
        may_adopt: true,
    };
    for creating in [false, true] {
        let claims = Claims {
            creating,
            others: &others,
            ..Claims::default()
        };
        let step = plan_service_linked_role(&desired(None), &claims, &[role(PLAIN)], adopt);
        assert!(
            matches!(&step, Step::Refuse { reason } if reason.contains("IamServiceLinkedRole team-a/scaling")),
            "{creating}: {step:?}"
        );
    }
    // Another suffix's role recorded elsewhere does not stand in the way.
    let claims = Claims {
        others: &others,
        ..Claims::default()
    };
    assert_eq!(
        plan_service_linked_role(&desired(Some("app")), &claims, &[role(PLAIN)], adopt),
        Step::Create
    );
}

#[test]
fn deletion_follows_iams_answer() {
    let answer =
        |status: &str, reason: Option<&str>, usage: Vec<(&str, Vec<&str>)>| DeletionAnswer {
            status: status.into(),
            reason: reason.map(str::to_string),
            usage: usage
                .into_iter()
                .map(|(region, resources)| {
                    (
                        region.to_string(),
                        resources.into_iter().map(str::to_string).collect(),
                    )
                })
                .collect(),
        };
    let failed = |reason: &str| Deletion::Failed {
        reason: reason.into(),
    };
    let cases = [
        (answer("SUCCEEDED", None, vec![]), Deletion::Done),
        (answer("IN_PROGRESS", None, vec![]), Deletion::Pending),
        (answer("NOT_STARTED", None, vec![]), Deletion::Pending),
        (answer("SOMETHING_NEW", None, vec![]), Deletion::Pending),
        (answer("FAILED", None, vec![]), failed("IAM gave no reason")),
        (
            answer(
                "FAILED",
                Some("The role is in use by an environment"),
                vec![
                    (
                        "us-east-1",
                        vec![
                            "arn:aws:elasticbeanstalk:us-east-1:123456789012:environment/app/prod",
                        ],
                    ),
                    ("eu-west-1", vec![]),
                ],
            ),
            failed(
                "The role is in use by an environment (still used in us-east-1: arn:aws:elasticbeanstalk:us-east-1:123456789012:environment/app/prod; eu-west-1)",
            ),
        ),
    ];
    for (answer, expected) in cases {
        assert_eq!(deletion(&answer), expected, "{answer:?}");
    }
}
