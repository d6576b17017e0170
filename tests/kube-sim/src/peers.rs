//! The one place that calls engineers B's and C's modules (discovery, OpenAPI, tables, schema,
//! SSA), turning their results into what the handlers need (Status errors, 422 causes).

use serde_json::Value;

use crate::resource::ResourceType;
use crate::status::{ApiError, ApiResult};

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

/// The CEL cost budget errors of a CRD version's schema; paths as for [`rule_compile_errors`].
pub fn rule_cost_errors(schema: &Value) -> Vec<FieldProblem> {
    crate::schema::rule_cost_errors(schema)
        .into_iter()
        .map(|e| FieldProblem {
            field: e.path.clone(),
            reason: e.reason().to_string(),
            message: e.message(),
        })
        .collect()
}

/// Schema nodes with CEL rules but no CEL type (`openAPIV3Schema…x-kubernetes-validations`).
pub fn untyped_rule_nodes(schema: &Value) -> Vec<String> {
    crate::schema::untyped_rule_nodes(schema)
}

/// Server-side apply through C's ssa.rs, its refusals as kube-apiserver's Status errors.
#[allow(clippy::too_many_arguments)]
pub fn ssa_apply(
    rt: &ResourceType,
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    subresource: Option<&str>,
    now: &str,
) -> ApiResult<Value> {
    let target = crate::ssa::Target {
        schema: rt.schema.as_ref(),
        subresource,
        status_subresource: rt.status_subresource,
    };
    crate::ssa::apply_to(live, applied, manager, force, &target, now).map_err(|e| match e {
        crate::ssa::ApplyError::Conflicts(conflicts) => ApiError::apply_conflict(
            crate::ssa::conflict_status_message(&conflicts),
            crate::ssa::conflict_causes(&conflicts),
        ),
        crate::ssa::ApplyError::BadRequest(message) => ApiError::bad_request(message),
        // kube-apiserver answers these with a reason-less 500.
        crate::ssa::ApplyError::Internal(message) => ApiError::new(500, "", message),
    })
}

/// managedFields bookkeeping for non-apply writes (operation Update), so apply sees who owns what.
pub fn record_update(
    rt: &ResourceType,
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    subresource: Option<&str>,
    now: &str,
) {
    let target = crate::ssa::Target {
        schema: rt.schema.as_ref(),
        subresource,
        status_subresource: rt.status_subresource,
    };
    crate::ssa::record_update_to(old, new, manager, &target, now);
}
