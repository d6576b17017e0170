//! A RoleGuardrail's status: whether the operator enforces all of it, and how many IamRoles it
//! refuses.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::{READY, STALLED, cond};
use crate::admission::{Problem, joined};
use crate::api::RoleGuardrailStatus;

/// The status after the operator read the guardrail at `generation`; `problems`: what of it
/// could not be read (the rest is enforced all the same); `refusing`: a new count of the roles
/// it refuses, else the previous one stands.
pub fn guardrail_status(
    previous: Option<&RoleGuardrailStatus>,
    generation: Option<i64>,
    problems: &[Problem],
    refusing: Option<i32>,
    now: jiff::Timestamp,
) -> RoleGuardrailStatus {
    let ready = if problems.is_empty() {
        cond(
            READY,
            true,
            "Enforced",
            "enforced on every IamRole in the namespaces it covers",
        )
    } else {
        cond(
            READY,
            false,
            crate::error::Category::InvalidSpec.as_str(),
            &format!(
                "{}; the rest of the guardrail is enforced",
                joined(problems)
            ),
        )
    };
    let refusing = refusing.or(previous.and_then(|s| s.refusing));
    let previous = previous
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    RoleGuardrailStatus {
        refusing,
        observed_generation: generation,
        conditions: vec![ready.into_condition(previous, generation, now)],
    }
}

/// Whether an IamRole with these conditions is refused by the guardrail `name`: Stalled with
/// reason GuardrailViolation, and a message (one line per violation) that names it.
pub fn refused_by(name: &str, conditions: &[Condition]) -> bool {
    let named = format!("RoleGuardrail {name} ");
    guardrail_refusals(conditions).any(|c| c.message.contains(&named))
}

/// Whether an IamRole with these conditions is refused by any guardrail.
pub fn refused_by_a_guardrail(conditions: &[Condition]) -> bool {
    guardrail_refusals(conditions).next().is_some()
}

fn guardrail_refusals(conditions: &[Condition]) -> impl Iterator<Item = &Condition> {
    conditions.iter().filter(|c| {
        c.type_ == STALLED
            && c.status == "True"
            && c.reason == crate::error::Category::GuardrailViolation.as_str()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::Rule;

    #[test]
    fn ready_unless_part_cannot_be_read() {
        let t0 = jiff::Timestamp::from_second(1_000).expect("a time");
        let t1 = jiff::Timestamp::from_second(2_000).expect("a time");
        let first = guardrail_status(None, Some(1), &[], Some(2), t0);
        assert_eq!(first.observed_generation, Some(1));
        let ready = &first.conditions[0];
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("True", "Enforced")
        );
        // The same again: equal, so the operator writes nothing.
        assert_eq!(
            guardrail_status(Some(&first), Some(1), &[], None, t1),
            first
        );
        assert_eq!(first.refusing, Some(2));
        let bad = [Problem::new("spec.deny[0]", Rule::MalformedField, "no")];
        let second = guardrail_status(Some(&first), Some(2), &bad, Some(0), t1);
        assert_eq!(second.refusing, Some(0));
        let ready = &second.conditions[0];
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "InvalidSpec")
        );
        assert!(
            ready.message.starts_with("spec.deny[0]: no;"),
            "{}",
            ready.message
        );
        assert_eq!(ready.last_transition_time.0, t1);
        assert_eq!(ready.observed_generation, Some(2));
    }

    #[test]
    fn which_roles_a_guardrail_refuses() {
        let condition = |kind: &str, status: &str, reason: &str| {
            Condition {
            type_: kind.into(),
            status: status.into(),
            reason: reason.into(),
            message: "refused by a RoleGuardrail: spec.maxSessionDuration: 7200 seconds is above the 3600 RoleGuardrail session allows: lower it; spec.permissionsBoundary: RoleGuardrail strict requires a permissions boundary".into(),
            last_transition_time: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                jiff::Timestamp::UNIX_EPOCH,
            ),
            observed_generation: None,
        }
        };
        let cases = [
            ("session", "Stalled", "True", "GuardrailViolation", true),
            ("strict", "Stalled", "True", "GuardrailViolation", true),
            ("sess", "Stalled", "True", "GuardrailViolation", false),
            ("session", "Stalled", "False", "GuardrailViolation", false),
            ("session", "Stalled", "True", "InvalidSpec", false),
            ("session", "Ready", "False", "GuardrailViolation", false),
        ];
        for (name, kind, status, reason, want) in cases {
            let conditions = [condition(kind, status, reason)];
            assert_eq!(
                refused_by(name, &conditions),
                want,
                "{name} {kind} {status} {reason}"
            );
        }
    }
}
