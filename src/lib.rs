//! rolesmith: makes AWS IAM roles match `IamRole` resources.
//!
//! The modules read like the architecture: the API types ([`api`]), policy documents and their
//! equivalence ([`policy`]), IAM's input rules ([`validate`]), the pure plan ([`plan`]), the IAM
//! adapter ([`iam`]), the engine that ties them together ([`engine`]), the controller
//! ([`controller`]), status and events ([`status`]), telemetry ([`telemetry`]) and the CLI
//! ([`cli`], [`commands`]).

pub mod api;
pub mod cli;
pub mod commands;
pub mod confine;
pub mod consistency;
pub mod controller;
pub mod desired;
pub mod drift;
pub mod engine;
pub mod error;
pub mod iam;
pub mod leader;
pub mod manifest;
pub mod model;
pub mod plan;
pub mod policy;
pub mod ratelimit;
pub mod status;
pub mod telemetry;
pub mod validate;
