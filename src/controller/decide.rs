//! What one reconcile's result means for the object: its next status, the Events announcing the
//! change, and when to look again. Pure, so every transition is a row in a table.

use crate::admission::Finding;
use crate::api::{DriftEntry, IamRoleStatus, Repair};
use crate::drift::Difference;
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
    pub findings: Option<Vec<Finding>>,
    /// Why it did not finish, if it did not.
    pub failure: Option<Failure>,
    /// How IAM differed from the spec when the reconcile read it.
    pub differences: Vec<Difference>,
    /// `Observe`: the role is only read.
    pub observing: bool,
    /// The spec changed since the status was written: differences are the user's edit, not
    /// drift.
    pub spec_changed: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Failure {
    pub category: Category,
    pub message: String,
    /// How long IAM asked to wait before the next attempt.
    pub retry_after: Option<std::time::Duration>,
}

impl From<&crate::error::Error> for Failure {
    fn from(error: &crate::error::Error) -> Failure {
        Failure {
            category: error.category(),
            message: error.message(),
            retry_after: match error {
                crate::error::Error::Iam { retry_after, .. } => *retry_after,
                _ => None,
            },
        }
    }
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

/// The next status and the Events of one reconcile of a kind that has no drift check
/// (IamPolicy, IamServiceLinkedRole).
#[derive(Clone, Debug, PartialEq)]
pub struct KindDecision<S> {
    pub status: S,
    /// Whether the status differs from the prior one.
    pub write_status: bool,
    pub events: Vec<Note>,
}

/// The Warning Event of a failed reconcile, only when the failure changes what the Ready
/// condition says: a failure repeated on every retry is announced once.
pub(super) fn failure_note(
    failure: &Failure,
    before: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    after: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    action: &'static str,
) -> Option<Note> {
    let ready = |conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]| {
        conditions
            .iter()
            .find(|c| c.type_ == status::READY)
            .map(|c| (c.reason.clone(), c.message.clone()))
    };
    (ready(before) != ready(after)).then(|| Note {
        warning: true,
        reason: failure.category.as_str().into(),
        action,
        text: failure.message.clone(),
    })
}

/// How a reconcile ended, for the Ready condition: synced after `changes` writes, or failed
/// and retried (transient categories) or blocked until the object or IAM changes.
pub(super) fn outcome_of(failure: Option<&Failure>, changes: usize) -> Outcome {
    match failure {
        None => Outcome::Synced { changes },
        Some(failure) if failure.category.is_retryable() => Outcome::Retrying {
            category: failure.category,
            message: failure.message.clone(),
        },
        Some(failure) => Outcome::Blocked {
            category: failure.category,
            message: failure.message.clone(),
        },
    }
}

pub fn decide(
    attempt: &Attempt,
    prior: Option<&IamRoleStatus>,
    generation: Option<i64>,
    now: jiff::Timestamp,
) -> Decision {
    let outcome = outcome_of(attempt.failure.as_ref(), attempt.changes.len());
    let mut next = status::next_status(
        prior,
        generation,
        &outcome,
        &attempt.role,
        attempt.findings.as_deref().unwrap_or_default(),
        now,
    );
    if attempt.findings.is_none() {
        keep_prior_warnings(prior, &mut next);
    }
    let drift_before = next.drift.clone();
    record_drift(attempt, &mut next, now);
    let drift_notes = drift_notes(attempt, &drift_before, &next);
    let sync_time_moved =
        prior.and_then(|s| s.last_sync_time.as_ref()) != next.last_sync_time.as_ref();
    Decision {
        write_status: status::differs_materially(prior, &next) || sync_time_moved,
        events: events(prior, &next, &outcome, &attempt.changes)
            .into_iter()
            .map(|note| observed_note(attempt, note))
            .chain(drift_notes)
            .collect(),
        requeue: match outcome {
            Outcome::Retrying { .. } => Requeue::Retry,
            _ => Requeue::DriftCheck,
        },
        status: next,
    }
}

/// `status.drift`, `lastRepair` and the Drifted condition. Under `Observe` drift is everything
/// that differs; under `Manage` a successful reconcile repaired it (and, unless the spec itself
/// changed, records the repair), a failed one leaves what it found.
fn record_drift(attempt: &Attempt, next: &mut IamRoleStatus, now: jiff::Timestamp) {
    let entries = |found: &[Difference]| -> Vec<DriftEntry> {
        found
            .iter()
            .map(|d| DriftEntry {
                field: d.field.clone(),
                summary: d.summary.clone(),
            })
            .collect()
    };
    let repaired = !attempt.observing && attempt.failure.is_none();
    if attempt.observing || (attempt.failure.is_some() && !attempt.differences.is_empty()) {
        next.drift = entries(&attempt.differences);
    } else if repaired {
        next.drift.clear();
    }
    if repaired && !attempt.spec_changed && !attempt.differences.is_empty() {
        next.last_repair = Some(Repair {
            time: now.to_string(),
            fields: attempt
                .differences
                .iter()
                .map(|d| d.field.clone())
                .collect(),
        });
    }
    if attempt.observing && attempt.failure.is_none() {
        for condition in &mut next.conditions {
            if condition.type_ == status::READY {
                condition.reason = "Observed".into();
                condition.message = if next.drift.is_empty() {
                    "the role is observed (never changed) and matches the spec".into()
                } else {
                    "the role is observed (never changed); it differs from the spec: see status.drift".into()
                };
            }
        }
    }
    let fields: Vec<&str> = next.drift.iter().map(|d| d.field.as_str()).collect();
    let drifted = if fields.is_empty() {
        (
            false,
            "InSync".to_string(),
            "IAM matches the spec".to_string(),
        )
    } else {
        (
            true,
            "Drifted".to_string(),
            format!("IAM differs from the spec in: {}", fields.join(", ")),
        )
    };
    status::set_condition(
        next,
        status::DRIFTED,
        drifted.0,
        &drifted.1,
        &drifted.2,
        now,
    );
}

/// A Drift Event when rolesmith finds out-of-band changes: under `Observe` each time the set of
/// drifted fields changes, under `Manage` when it repairs them.
fn drift_notes(attempt: &Attempt, before: &[DriftEntry], after: &IamRoleStatus) -> Vec<Note> {
    let fields = |entries: &[DriftEntry]| -> Vec<String> {
        entries.iter().map(|d| d.field.clone()).collect()
    };
    if attempt.observing {
        if after.drift.is_empty() || fields(before) == fields(&after.drift) {
            return Vec::new();
        }
        return vec![Note {
            warning: true,
            reason: "Drift".into(),
            action: "Observe",
            text: format!(
                "IAM differs from the spec (observed, not changed) in: {}",
                fields(&after.drift).join(", ")
            ),
        }];
    }
    if attempt.failure.is_none() && !attempt.spec_changed && !attempt.differences.is_empty() {
        let repaired: Vec<&str> = attempt
            .differences
            .iter()
            .map(|d| d.field.as_str())
            .collect();
        return vec![Note {
            warning: true,
            reason: "Drift".into(),
            action: "Repair",
            text: format!("undid out-of-band changes to: {}", repaired.join(", ")),
        }];
    }
    Vec::new()
}

/// Under `Observe`, "in sync" means "read and reported": say so.
fn observed_note(attempt: &Attempt, note: Note) -> Note {
    if !attempt.observing || note.reason != "Synced" {
        return note;
    }
    Note {
        reason: "Observed".into(),
        action: "Observe",
        text: "the role is observed; rolesmith never changes it".into(),
        ..note
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
