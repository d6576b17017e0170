//! Whole-plan tests: every op list is checked in full, order included, and then replayed against
//! a small model of IAM to prove it converges (a second plan is empty) without tripping IAM's
//! rules (DeleteConflict, the attachment quota, case-insensitive tag keys).

mod checks;
mod create;
mod delete;
mod describe;
pub(crate) mod fixtures;
pub(crate) mod iam_model;
mod instance_profile;
mod known_mistakes;
mod update;
