//! End to end: the `rolesmith` binary against the test API server and a local IAM, driven only
//! through the real kubectl and IAM itself, as users and "someone else with IAM access" would.

#[path = "../support/mod.rs"]
mod support;

mod harness;

mod accounts;
mod brownfield;
mod chaos;
mod examples;
mod faults;
mod findings;
mod gitops;
mod guardrails;
mod hostile;
mod hygiene;
mod instance_profiles;
mod invalid;
mod lifecycle;
mod malformed;
mod ownership;
mod policies;
mod propagation;
mod rbac;
mod replicas;
mod restart;
mod sandbox;
mod service_linked_roles;
mod sweep;
mod workloads;
