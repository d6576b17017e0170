//! A Kubernetes API server for tests and the local sandbox. Never shipped.

pub mod cel_eval;
pub mod schema;
pub mod ssa;
