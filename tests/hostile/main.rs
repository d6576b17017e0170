//! Hostile and broken IamRole and IamPolicy manifests (`corpus/`), run against both layers that must refuse
//! them: the engine (the real `rolesmith plan/apply` binary against a private moto) and the CRD
//! (its schema and CEL rules, as the API server evaluates them). Also: no credential in output,
//! and the list of known gaps (`gaps/`).

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod corpus;
mod crd_layer;
mod engine_layer;
mod findings;
mod known_gaps;
mod secrets;
