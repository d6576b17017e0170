//! rolesmith: makes AWS IAM roles match `IamRole` resources.
//!
//! The modules read like the architecture: the API types, policy documents and their
//! equivalence, validation of IAM's rules, the pure plan, the IAM adapter, the engine that ties
//! them together, the controller, status and events, telemetry, and the CLI.

pub mod error;
pub mod model;
pub mod policy;
pub mod validate;
pub mod plan;
