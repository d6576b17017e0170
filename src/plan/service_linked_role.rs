//! Service-linked roles (`IamServiceLinkedRole`): IAM creates them for a service and names them
//! itself, and they cannot always carry tags, so whose a role is comes from the object's status
//! (the name recorded once created or adopted), never from IAM.

/// What the object asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DesiredServiceLinkedRole {
    /// The service principal, e.g. `elasticbeanstalk.amazonaws.com`.
    pub aws_service_name: String,
    pub custom_suffix: Option<String>,
    /// Empty means "no description".
    pub description: String,
}

/// A service-linked role as IAM lists it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObservedServiceLinkedRole {
    pub name: String,
    pub arn: String,
    pub path: String,
}

/// Where IAM puts the service's roles: its service-linked roles are listed by this prefix.
pub fn service_role_path(aws_service_name: &str) -> String {
    format!("/aws-service-role/{aws_service_name}/")
}

/// Whether `name`, one of the service's roles, is the one `desired` describes. IAM names it
/// `AWSServiceRoleFor<Service>` and appends `_<suffix>` for a custom suffix; a service name has
/// no `_`, so a role without one is the service's unsuffixed role.
pub fn is_the_role(desired: &DesiredServiceLinkedRole, name: &str) -> bool {
    match &desired.custom_suffix {
        Some(suffix) => name
            .strip_suffix(suffix.as_str())
            .is_some_and(|rest| rest.ends_with('_') && !rest[..rest.len() - 1].contains('_')),
        None => !name.contains('_'),
    }
}

/// What one reconcile of an IamServiceLinkedRole does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// No such role: have IAM create it.
    Create,
    /// The role is this object's: created by it, or (`adopted`) taken over just now or before.
    Owned {
        role: ObservedServiceLinkedRole,
        adopted: bool,
    },
    /// A role exists that this object may not take: nothing is written. The reason is a
    /// sentence for status and the Event.
    Refuse { reason: String },
    /// `adopt` from a confined namespace: the role is the whole account's.
    Forbidden { reason: String },
}

/// How the object asks: `adopt` from its spec; `may_adopt` whether its namespace may take over
/// what the account shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Adoption {
    pub adopt: bool,
    pub may_adopt: bool,
}

/// What statuses say about ownership: this object's, and the other IamServiceLinkedRoles'.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Claims<'a> {
    /// The role name this object's status records.
    pub recorded: Option<&'a str>,
    pub recorded_adopted: bool,
    /// This object's status says it asked IAM to create the role (written before the call): a
    /// matching role without a recorded name is then the one it made, its name lost with the
    /// status write that did not happen.
    pub creating: bool,
    /// Role names other objects record, each with who records it (`namespace/name`).
    pub others: &'a [(String, String)],
}

/// `listed` is the service's roles in IAM (ListRoles by the service's path).
pub fn plan_service_linked_role(
    desired: &DesiredServiceLinkedRole,
    claims: &Claims<'_>,
    listed: &[ObservedServiceLinkedRole],
    adoption: Adoption,
) -> Step {
    if let Some(name) = claims.recorded {
        return match listed.iter().find(|role| role.name == name) {
            Some(role) => Step::Owned {
                role: role.clone(),
                adopted: claims.recorded_adopted,
            },
            // Deleted behind our back: IAM makes it again under the same name.
            None => Step::Create,
        };
    }
    let Some(role) = listed.iter().find(|role| is_the_role(desired, &role.name)) else {
        return Step::Create;
    };
    if let Some((_, holder)) = claims.others.iter().find(|(name, _)| *name == role.name) {
        return Step::Refuse {
            reason: format!(
                "service-linked role {} for {} belongs to IamServiceLinkedRole {holder}; one role \
                 cannot belong to two objects (deleting either would delete it): delete this object",
                role.name, desired.aws_service_name
            ),
        };
    }
    if claims.creating {
        return Step::Owned {
            role: role.clone(),
            adopted: false,
        };
    }
    match adoption {
        Adoption {
            adopt: true,
            may_adopt: false,
        } => Step::Forbidden {
            reason: format!(
                "service-linked role {} for {} exists, and spec.adopt takes over a role the whole \
                 account shares, which only a namespace the operator does not confine may do \
                 (--unconfined-namespaces); ask an administrator to adopt it from such a namespace",
                role.name, desired.aws_service_name
            ),
        },
        Adoption { adopt: true, .. } => Step::Owned {
            role: role.clone(),
            adopted: true,
        },
        Adoption { adopt: false, .. } => Step::Refuse {
            reason: format!(
                "service-linked role {} for {} already exists and this object did not create it; \
                 set spec.adopt: true to take it over (its ownership is then recorded in this \
                 object's status, since a service-linked role cannot always carry tags), or \
                 delete this object",
                role.name, desired.aws_service_name
            ),
        },
    }
}

/// IAM's answer to GetServiceLinkedRoleDeletionStatus.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeletionAnswer {
    /// NOT_STARTED, IN_PROGRESS, SUCCEEDED or FAILED.
    pub status: String,
    /// IAM's reason, for FAILED.
    pub reason: Option<String>,
    /// Where the service still uses the role: region and resources.
    pub usage: Vec<(String, Vec<String>)>,
}

/// Where a deletion stands after IAM's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deletion {
    Done,
    /// IAM is still at it: look again shortly.
    Pending,
    /// The service refused: the object keeps its finalizer, and the deletion is started again
    /// after a backoff (the service may have let go of the role by then).
    Failed {
        reason: String,
    },
}

pub fn deletion(answer: &DeletionAnswer) -> Deletion {
    match answer.status.as_str() {
        "SUCCEEDED" => Deletion::Done,
        "FAILED" => Deletion::Failed {
            reason: failure_reason(answer),
        },
        // NOT_STARTED, IN_PROGRESS, and a status this build does not know: waiting is safe.
        _ => Deletion::Pending,
    }
}

/// IAM's reason, then where the role is still used.
fn failure_reason(answer: &DeletionAnswer) -> String {
    let mut text = answer
        .reason
        .clone()
        .filter(|reason| !reason.is_empty())
        .unwrap_or_else(|| "IAM gave no reason".to_string());
    let usage: Vec<String> = answer
        .usage
        .iter()
        .map(|(region, resources)| match resources.is_empty() {
            true => region.clone(),
            false => format!("{region}: {}", resources.join(", ")),
        })
        .collect();
    if !usage.is_empty() {
        text.push_str(&format!(" (still used in {})", usage.join("; ")));
    }
    text
}

#[cfg(test)]
mod tests;
