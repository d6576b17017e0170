//! The pure plan: from what IAM has (observed) and what the spec asks for (desired) to the
//! ordered IAM writes that make the first match the second.
//!
//! No IO happens here, so every decision is a plain function with table tests. The order of the
//! writes matters as much as their content: ownership is claimed before anything changes, a plan
//! stopped after any write never leaves a role wider than both the old and the new spec (see
//! `apply::update`), and a tag is never removed after it was (re)written.

mod apply;
mod delete;
mod describe;
mod inline;
mod instance_profile;
mod managed;
mod ownership;
mod policy;
pub mod service_linked_role;
mod tags;

#[cfg(test)]
pub(crate) mod tests;

pub use apply::plan_apply;
pub use delete::plan_delete;
pub use describe::describe;
pub use instance_profile::{
    ProfileRead, instance_profile_arn, is_ours, own_profile, plan_instance_profile,
    profile_read_needed,
};
pub use ownership::{Kind, Ownership, ownership, ownership_of};
pub use policy::{PolicyDeletion, plan_policy_apply, plan_policy_delete};
pub use tags::{is_ignored, is_protected};

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The reason reads as the rest of a sentence that starts with the role's name.
    #[error("IAM role {role} {reason}")]
    NotOwned { role: String, reason: String },

    #[error(
        "IAM role {role} is at path {observed}, but spec.path is {desired}: IAM cannot move a role to \
         another path; set spec.path back to {observed}, or delete the role so rolesmith recreates it"
    )]
    PathChanged {
        role: String,
        observed: String,
        desired: String,
    },

    /// The reason reads as the rest of a sentence that starts with the profile's name.
    #[error("instance profile {profile} {reason}")]
    InstanceProfileConflict { profile: String, reason: String },

    /// The reason reads as the rest of a sentence that starts with the policy's name.
    #[error("IAM policy {policy} {reason}")]
    PolicyNotOwned { policy: String, reason: String },

    #[error(
        "IAM policy {policy} has {field} {observed:?}, but spec.{field} is {desired:?}: IAM cannot \
         change a managed policy's {field}; set spec.{field} back to {observed:?}, or use a new \
         policyName"
    )]
    PolicyImmutable {
        policy: String,
        field: &'static str,
        observed: String,
        desired: String,
    },
}
