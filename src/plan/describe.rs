//! One line per IAM write, for the dry-run output, logs and Events. `+` grants or creates, `~`
//! changes, `-` removes.

use crate::error::truncate;
use crate::model::IamOp;

/// Long descriptions are cut so one op stays one readable line.
const DESCRIPTION_CHARS: usize = 60;

pub fn describe(op: &IamOp) -> String {
    match op {
        IamOp::CreateRole {
            role,
            path,
            permissions_boundary,
            ..
        } => match permissions_boundary {
            Some(boundary) => {
                format!("+ create role {role} at path {path} with permissions boundary {boundary}")
            }
            None => format!("+ create role {role} at path {path}"),
        },
        IamOp::UpdateRole {
            role,
            description,
            max_session_duration,
        } => format!(
            "~ update role {role}: description {:?}, max session {max_session_duration} s",
            truncate(description, DESCRIPTION_CHARS)
        ),
        IamOp::UpdateAssumeRolePolicy { role, .. } => {
            format!("~ update trust policy of role {role}")
        }
        IamOp::PutRolePolicy {
            role, policy_name, ..
        } => format!("~ put inline policy {policy_name} on {role}"),
        IamOp::DeleteRolePolicy { role, policy_name } => {
            format!("- delete inline policy {policy_name} from {role}")
        }
        IamOp::AttachRolePolicy { role, policy_arn } => format!("+ attach {policy_arn} to {role}"),
        IamOp::DetachRolePolicy { role, policy_arn } => {
            format!("- detach {policy_arn} from {role}")
        }
        IamOp::TagRole { role, tags } => {
            let pairs: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("~ tag {role} with {}", pairs.join(", "))
        }
        IamOp::UntagRole { role, keys } => format!("- untag {} from {role}", keys.join(", ")),
        IamOp::PutRolePermissionsBoundary { role, policy_arn } => {
            format!("~ set permissions boundary of {role} to {policy_arn}")
        }
        IamOp::DeleteRolePermissionsBoundary { role } => {
            format!("- remove permissions boundary from {role}")
        }
        IamOp::CreateInstanceProfile {
            instance_profile,
            path,
            ..
        } => format!("+ create instance profile {path}{instance_profile}"),
        IamOp::AddRoleToInstanceProfile {
            role,
            instance_profile,
        } => format!("+ add {role} to instance profile {instance_profile}"),
        IamOp::RemoveRoleFromInstanceProfile {
            role,
            instance_profile,
        } => format!("- remove {role} from instance profile {instance_profile}"),
        IamOp::DeleteInstanceProfile { instance_profile } => {
            format!("- delete instance profile {instance_profile}")
        }
        IamOp::DeleteRole { role } => format!("- delete role {role}"),
    }
}
