//! rolesmith's integration tests against real local servers (moto for IAM). One binary on
//! purpose: every test binary links the whole dependency graph, and links are slow.

#[path = "../support/mod.rs"]
mod support;

mod audit;
mod cli;
mod eks;
mod engine;
mod iam_adapter;
mod iam_errors;
mod iam_faults;
mod instance_profile;
mod managed_policy;
mod service_linked_role;
mod sweep;
