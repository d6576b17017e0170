//! What one reconcile's result means for the object: its next status, the Events announcing the
//! change, and when to look again. Pure, so every transition is a row in a table.

use crate::api::IamRoleStatus;
use crate::error::Category;
use crate::status::{self, Outcome, RoleIdentity};

/// What a reconcile found and did, as far as status and Events are concerned.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attempt {
    /// The role, once it is known to exist and to be this object's.
    pub role: RoleIdentity,
    /// The IAM writes made, in order; on failure, those made before it.
    pub changes: Vec<&'static str>,
    /// Risky settings found; `None` when the reconcile failed before checking, in which case
    /// the prior Warnings condition stands (it must not flap with every transient failure).
    pub warnings: Option<Vec<String>>,
    /// Why it did not finish, if it did not.
    pub failure: Option<Failure>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub category: Category,
    pub message: String,
}

/// When the object is looked at again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requeue {
    /// Left to the periodic drift check: nothing to do before, or only the user can help.
    DriftCheck,
    /// With backoff: a transient failure.
    Retry,
}

/// One Event to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub warning: bool,
    pub reason: String,
    pub action: &'static str,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub status: IamRoleStatus,
    /// Whether the status differs from the prior one enough to be written.
    pub write_status: bool,
    pub events: Vec<Note>,
    pub requeue: Requeue,
}

pub fn decide(
    attempt: &Attempt,
    prior: Option<&IamRoleStatus>,
    generation: Option<i64>,
    now: jiff::Timestamp,
) -> Decision {
    let outcome = match &attempt.failure {
        None => Outcome::Synced {
            changes: attempt.changes.len(),
        },
        Some(failure) if failure.category.is_retryable() => Outcome::Retrying {
            category: failure.category,
            message: failure.message.clone(),
        },
        Some(failure) => Outcome::Blocked {
            category: failure.category,
            message: failure.message.clone(),
        },
    };
    let mut next = status::next_status(
        prior,
        generation,
        &outcome,
        &attempt.role,
        attempt.warnings.as_deref().unwrap_or_default(),
        now,
    );
    if attempt.warnings.is_none() {
        keep_prior_warnings(prior, &mut next);
    }
    let sync_time_moved =
        prior.and_then(|s| s.last_sync_time.as_ref()) != next.last_sync_time.as_ref();
    Decision {
        write_status: status::differs_materially(prior, &next) || sync_time_moved,
        events: events(prior, &next, &outcome, &attempt.changes),
        requeue: match outcome {
            Outcome::Retrying { .. } => Requeue::Retry,
            _ => Requeue::DriftCheck,
        },
        status: next,
    }
}

fn keep_prior_warnings(prior: Option<&IamRoleStatus>, next: &mut IamRoleStatus) {
    let Some(kept) = prior.and_then(|p| p.conditions.iter().find(|c| c.type_ == status::WARNINGS))
    else {
        return;
    };
    for condition in &mut next.conditions {
        if condition.type_ == status::WARNINGS {
            *condition = kept.clone();
        }
    }
}

/// One Event per transition, not per retry: users see what changed without an Event storm.
fn events(
    before: Option<&IamRoleStatus>,
    after: &IamRoleStatus,
    outcome: &Outcome,
    changes: &[&'static str],
) -> Vec<Note> {
    let ready = |s: Option<&IamRoleStatus>| {
        status::ready_condition(s).map(|c| (c.reason.clone(), c.message.clone()))
    };
    let transition = ready(before) != ready(Some(after));
    let mut notes = Vec::new();
    match outcome {
        Outcome::Synced { .. } if !changes.is_empty() => notes.push(Note {
            warning: false,
            reason: "Synced".into(),
            action: "Apply",
            text: format!(
                "applied {} IAM change(s): {}",
                changes.len(),
                changes.join(", ")
            ),
        }),
        Outcome::Synced { .. } if transition => notes.push(Note {
            warning: false,
            reason: "Synced".into(),
            action: "Apply",
            text: "IAM role matches the spec".into(),
        }),
        Outcome::Synced { .. } => {}
        Outcome::Retrying { category, message } | Outcome::Blocked { category, message } => {
            if transition {
                notes.push(Note {
                    warning: true,
                    reason: category.as_str().into(),
                    action: "Apply",
                    text: message.clone(),
                });
            }
        }
    }
    let warned = |s: Option<&IamRoleStatus>| {
        s.and_then(|s| {
            s.conditions
                .iter()
                .find(|c| c.type_ == status::WARNINGS && c.status == "True")
        })
        .map(|c| c.message.clone())
    };
    if let Some(message) = warned(Some(after))
        && warned(before).as_ref() != Some(&message)
    {
        notes.push(Note {
            warning: true,
            reason: "RiskySettings".into(),
            action: "Validate",
            text: message,
        });
    }
    notes
}

#[cfg(test)]
mod tests;
