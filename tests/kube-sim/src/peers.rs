//! The one place that calls engineers B's and C's modules (discovery, OpenAPI, tables, schema, SSA).
//! While one of them has not landed yet, its adapter answers a loud 500 instead of guessing.

use serde_json::Value;

use crate::resource::ResourceType;
use crate::status::{ApiError, ApiResult};

fn pending(what: &str) -> ApiError {
    ApiError::internal(format!("kube-sim: {what} is not implemented yet"))
}

pub fn aggregated_core(types: &[ResourceType]) -> ApiResult<Value> {
    Ok(crate::discovery::aggregated_core(types))
}

pub fn aggregated_groups(types: &[ResourceType]) -> ApiResult<Value> {
    Ok(crate::discovery::aggregated_groups(types))
}

pub const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

pub fn api_versions() -> ApiResult<Value> {
    Ok(crate::discovery::api_versions())
}

pub fn api_group_list(types: &[ResourceType]) -> ApiResult<Value> {
    Ok(crate::discovery::api_group_list(types))
}

pub fn api_resource_list(
    types: &[ResourceType],
    group: &str,
    version: &str,
) -> ApiResult<Option<Value>> {
    Ok(crate::discovery::api_resource_list(types, group, version))
}

pub fn version_info() -> ApiResult<Value> {
    Ok(crate::discovery::version_info())
}

pub fn openapi_index(types: &[ResourceType]) -> ApiResult<Value> {
    Ok(crate::openapi::index(types))
}

pub fn openapi_group_version(
    types: &[ResourceType],
    group: &str,
    version: &str,
) -> ApiResult<Option<Value>> {
    Ok(crate::openapi::group_version(types, group, version))
}

pub fn table(
    rt: &ResourceType,
    objects: &[Value],
    list_meta: Value,
    include_object: &str,
    now: jiff::Timestamp,
) -> ApiResult<Value> {
    if !include_object.is_empty() && !crate::table::INCLUDE_OBJECT_VALUES.contains(&include_object)
    {
        return Err(ApiError::bad_request(format!(
            "includeObject: Unsupported value: \"{include_object}\": supported values: \"None\", \"Metadata\", \"Object\""
        )));
    }
    Ok(crate::table::table(
        rt,
        objects,
        list_meta,
        include_object,
        now,
    ))
}

/// Printer columns the table code could not evaluate make the CRD invalid.
pub fn check_printer_columns(columns: &[Value]) -> Result<(), String> {
    crate::table::check_printer_columns(columns)
}

/// A field error from schema validation, flattened for a 422 cause.
pub struct FieldProblem {
    pub field: String,
    pub reason: String,
    pub message: String,
}

pub fn prune(schema: &Value, obj: &mut Value) -> ApiResult<Vec<String>> {
    Ok(crate::schema::prune(schema, obj))
}

pub fn apply_defaults(schema: &Value, obj: &mut Value) -> ApiResult<()> {
    crate::schema::apply_defaults(schema, obj);
    Ok(())
}

pub fn validate(schema: &Value, obj: &Value, old: Option<&Value>) -> ApiResult<Vec<FieldProblem>> {
    Ok(crate::schema::validate(schema, obj, old)
        .into_iter()
        .map(|e| FieldProblem {
            field: e.path.clone(),
            reason: e.reason().to_string(),
            message: e.message(),
        })
        .collect())
}

/// CEL rules of a CRD version's schema that do not compile: the CRD is refused, as kube-apiserver does.
/// Paths come back relative to the version (`schema.openAPIV3Schema…`).
pub fn rule_compile_errors(schema: &Value) -> Vec<FieldProblem> {
    crate::schema::rule_compile_errors(schema)
        .into_iter()
        .map(|e| FieldProblem {
            field: e.path.clone(),
            reason: e.reason().to_string(),
            message: e.message(),
        })
        .collect()
}

pub struct ApplyConflicts {
    pub message: String,
    pub causes: Vec<Value>,
}

#[allow(clippy::too_many_arguments)]
pub fn ssa_apply(
    _live: Option<&Value>,
    _applied: &Value,
    _manager: &str,
    _force: bool,
    _subresource: Option<&str>,
    _schema: Option<&Value>,
    _now: &str,
) -> ApiResult<Result<Value, ApplyConflicts>> {
    Err(pending("server-side apply"))
}

/// managedFields bookkeeping for non-apply writes. Until ssa.rs lands this records nothing, which no
/// client can observe except through apply, and apply itself answers 500 until then.
pub fn record_update(
    _old: Option<&Value>,
    _new: &mut Value,
    _manager: &str,
    _subresource: Option<&str>,
    _now: &str,
) {
}
