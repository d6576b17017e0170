//! What one IamServiceLinkedRole reconcile means for the object: its next status and the Events.
//! Pure.

use crate::api::IamServiceLinkedRoleStatus;
use crate::api::service_linked_role::ServiceLinkedRoleDeletion;
use crate::controller::{Failure, Note};
use crate::plan::service_linked_role::ObservedServiceLinkedRole;
use crate::status;

/// What a reconcile found and did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlrAttempt {
    /// The role, once it is known to exist and to be this object's.
    pub role: Option<ObservedServiceLinkedRole>,
    pub adopted: bool,
    /// The IAM writes made (CreateServiceLinkedRole, DeleteServiceLinkedRole).
    pub changes: Vec<&'static str>,
    pub failure: Option<Failure>,
    /// While deleting: IAM's task and its state.
    pub deletion: Option<ServiceLinkedRoleDeletion>,
    /// IAM was asked to create the role and its name is not known yet (a failed or lost
    /// answer): status keeps saying `creating`.
    pub creating: bool,
}

pub type SlrDecision = crate::controller::decide::KindDecision<IamServiceLinkedRoleStatus>;

pub fn decide_slr(
    attempt: &SlrAttempt,
    prior: Option<&IamServiceLinkedRoleStatus>,
    generation: Option<i64>,
    now: jiff::Timestamp,
) -> SlrDecision {
    let previous = prior.cloned().unwrap_or_default();
    let outcome =
        crate::controller::decide::outcome_of(attempt.failure.as_ref(), attempt.changes.len());
    let conditions = status::conditions(
        &previous.conditions,
        generation,
        &outcome,
        &[],
        now,
        "the service-linked role exists in IAM",
    );
    let next = IamServiceLinkedRoleStatus {
        role_arn: attempt
            .role
            .as_ref()
            .map(|r| r.arn.clone())
            .or(previous.role_arn.clone()),
        role_name: attempt
            .role
            .as_ref()
            .map(|r| r.name.clone())
            .or(previous.role_name.clone()),
        adopted: match &attempt.role {
            Some(_) => attempt.adopted,
            None => previous.adopted,
        },
        creating: attempt.role.is_none() && (attempt.creating || previous.creating),
        observed_generation: generation,
        conditions,
        deletion: attempt.deletion.clone().or(previous.deletion.clone()),
    };
    let name = next.role_name.as_deref().unwrap_or("(not created yet)");
    let mut events = Vec::new();
    match &attempt.failure {
        None if attempt.changes.contains(&"CreateServiceLinkedRole") => events.push(Note {
            warning: false,
            reason: "Created".into(),
            action: "Apply",
            text: format!("IAM created service-linked role {name}"),
        }),
        None if attempt.adopted && !previous.adopted => events.push(Note {
            warning: false,
            reason: "Adopted".into(),
            action: "Apply",
            text: format!(
                "service-linked role {name} adopted: its ownership is recorded in this object's status"
            ),
        }),
        None => {}
        Some(failure) => events.extend(crate::controller::decide::failure_note(
            failure,
            &previous.conditions,
            &next.conditions,
            if attempt.deletion.is_some() {
                "Delete"
            } else {
                "Apply"
            },
        )),
    }
    SlrDecision {
        write_status: prior != Some(&next),
        status: next,
        events,
    }
}

#[cfg(test)]
mod tests;
