//! A RoleGuardrail's status: whether the operator enforces all of it.

use super::{READY, cond};
use crate::admission::{Problem, joined};
use crate::api::RoleGuardrailStatus;

/// The status after the operator read the guardrail at `generation`; `problems`: what of it
/// could not be read (the rest is enforced all the same).
pub fn guardrail_status(
    previous: Option<&RoleGuardrailStatus>,
    generation: Option<i64>,
    problems: &[Problem],
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
    let previous = previous
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    RoleGuardrailStatus {
        observed_generation: generation,
        conditions: vec![ready.into_condition(previous, generation, now)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::Rule;

    #[test]
    fn ready_unless_part_cannot_be_read() {
        let t0 = jiff::Timestamp::from_second(1_000).expect("a time");
        let t1 = jiff::Timestamp::from_second(2_000).expect("a time");
        let first = guardrail_status(None, Some(1), &[], t0);
        assert_eq!(first.observed_generation, Some(1));
        let ready = &first.conditions[0];
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("True", "Enforced")
        );
        // The same again: equal, so the operator writes nothing.
        assert_eq!(guardrail_status(Some(&first), Some(1), &[], t1), first);
        let bad = [Problem::new("spec.deny[0]", Rule::MalformedField, "no")];
        let second = guardrail_status(Some(&first), Some(2), &bad, t1);
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
}
