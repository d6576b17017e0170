//! The write pipeline shared by create, update, patch and apply, in kube-apiserver's order:
//! prepare → prune (Strict: 400) → defaults → validation (422) → managedFields → no-op detection
//! (ownership counts) → generation → store with the next resourceVersion → watch event.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::builtin;
use crate::crd;
use crate::meta;
use crate::peers;
use crate::resource::ResourceType;
use crate::status::{ApiError, ApiResult, Cause};
use crate::store::State;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FieldValidation {
    Strict,
    Warn,
    Ignore,
}

impl FieldValidation {
    pub fn parse(value: Option<&str>) -> ApiResult<Self> {
        match value {
            None | Some("") | Some("Warn") => Ok(FieldValidation::Warn),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation: Unsupported value: \"{other}\": supported values: \"Ignore\", \"Strict\", \"Warn\""
            ))),
        }
    }
}

/// Who fills in metadata.managedFields for this write.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Managed {
    /// A plain create/update/patch: record it as an "Update" operation.
    RecordUpdate,
    /// Server-side apply already computed managedFields.
    Applied,
}

pub struct WriteCtx {
    pub rt: ResourceType,
    pub manager: String,
    pub subresource: Option<String>,
    pub validation: FieldValidation,
    pub dry_run: bool,
    pub now: String,
    pub managed: Managed,
    /// `Warning` headers to send back (unknown fields under fieldValidation=Warn).
    pub warnings: Vec<String>,
}

impl WriteCtx {
    fn status_only(&self) -> bool {
        self.subresource.as_deref() == Some("status")
    }
}

pub fn check_type_meta(rt: &ResourceType, obj: &Value) -> ApiResult<()> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON object",
        ));
    }
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind.is_empty() {
        return Err(ApiError::bad_request(format!(
            "Object 'Kind' is missing in '{obj}'"
        )));
    }
    if api_version != rt.api_version() {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            rt.api_version()
        )));
    }
    if kind != rt.kind {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({kind}) does not match the expected kind ({})",
            rt.kind
        )));
    }
    meta::check_metadata_types(obj).map_err(ApiError::bad_request)
}

/// Built-ins are decoded with the URL's kind as a default; custom resources must say what they are.
pub fn default_type_meta(rt: &ResourceType, obj: &mut Value) {
    if rt.custom {
        return;
    }
    if let Some(map) = obj.as_object_mut() {
        map.entry("apiVersion")
            .or_insert_with(|| json!(rt.api_version()));
        map.entry("kind").or_insert_with(|| json!(rt.kind));
    }
}

pub fn create(
    st: &mut State,
    ctx: &mut WriteCtx,
    url_ns: Option<&str>,
    mut obj: Value,
) -> ApiResult<Value> {
    let rt = ctx.rt.clone();
    default_type_meta(&rt, &mut obj);
    check_type_meta(&rt, &obj)?;
    if rt.namespaced {
        let ns = url_ns.unwrap_or("");
        let body_ns = meta::namespace(&obj);
        if !body_ns.is_empty() && body_ns != ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        meta::set_meta(&mut obj, "namespace", json!(ns));
        check_namespace_open(st, ns)?;
    } else {
        meta::remove_meta(&mut obj, "namespace");
    }
    if meta::name(&obj).is_empty() {
        match meta::meta_str(&obj, "generateName") {
            Some(prefix) => {
                let generated = meta::generated_name(prefix);
                meta::set_meta(&mut obj, "name", json!(generated));
            }
            None => {
                return Err(ApiError::invalid(
                    &rt,
                    "",
                    vec![Cause::new(
                        "FieldValueRequired",
                        "metadata.name",
                        "metadata.name: Required value: name or generateName is required".into(),
                    )],
                ));
            }
        }
    }
    let name = meta::name(&obj).to_string();
    check_name(&rt, &name)?;
    if meta::resource_version(&obj).is_some() {
        return Err(ApiError::internal(
            "resourceVersion should not be set on objects to be created",
        ));
    }
    meta::set_meta(&mut obj, "uid", json!(uuid::Uuid::new_v4().to_string()));
    meta::set_meta(&mut obj, "creationTimestamp", json!(ctx.now));
    if builtin::has_generation(&rt) {
        meta::set_meta(&mut obj, "generation", json!(1));
    } else {
        meta::remove_meta(&mut obj, "generation");
    }
    for field in [
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    ] {
        meta::remove_meta(&mut obj, field);
    }
    if rt.status_subresource
        && let Some(map) = obj.as_object_mut()
    {
        map.remove("status");
    }
    kind_rules(&rt, &mut obj, None, &ctx.now)?;
    if crd::is_crd(&rt) {
        let causes = crd::untyped_rule_causes(&obj);
        if !causes.is_empty() {
            return Err(ApiError::invalid(&rt, &name, causes));
        }
    }
    schema_pipeline(ctx, &mut obj, None, &name)?;
    meta::normalize_metadata(&mut obj);
    if ctx.managed == Managed::RecordUpdate {
        peers::record_update(
            &rt,
            None,
            &mut obj,
            &ctx.manager,
            ctx.subresource.as_deref(),
            &ctx.now,
        );
    }
    if st
        .get(&rt.group, &rt.plural, meta::namespace(&obj), &name)
        .is_some()
    {
        return Err(ApiError::already_exists(&rt, &name));
    }
    if ctx.dry_run {
        return Ok(obj);
    }
    let stored = st.put(&rt.group, &rt.plural, obj, None);
    after_store(st, &rt, &stored);
    Ok(stored)
}

/// `proposed` is the whole object the client wants (a PUT body, or the live object with a patch
/// applied); which parts of it count depends on the endpoint (main or /status).
pub fn update(
    st: &mut State,
    ctx: &mut WriteCtx,
    old: &Value,
    mut proposed: Value,
) -> ApiResult<Value> {
    let rt = ctx.rt.clone();
    let name = meta::name(old).to_string();
    default_type_meta(&rt, &mut proposed);
    check_type_meta(&rt, &proposed)?;
    if let Some(rv) = meta::resource_version(&proposed)
        && Some(rv) != meta::resource_version(old)
    {
        return Err(ApiError::conflict(&rt, &name));
    }
    let mut obj = if ctx.status_only() {
        status_update(old, proposed)
    } else {
        main_update(&rt, old, proposed)
    };
    kind_rules(&rt, &mut obj, Some(old), &ctx.now)?;
    if crd::is_crd(&rt) {
        let causes = crd::untyped_rule_causes(&obj);
        if !causes.is_empty() {
            return Err(ApiError::invalid(&rt, &name, causes));
        }
    }
    check_finalizers_while_deleting(&rt, old, &obj)?;
    schema_pipeline(ctx, &mut obj, Some(old), &name)?;
    meta::normalize_metadata(&mut obj);
    // managedFields are settled before the no-op check: a write that only changes ownership
    // (kubectl's client-side → server-side apply migration is a JSON patch of managedFields alone)
    // is stored by kube-apiserver, while a true no-op leaves managedFields as they were.
    if ctx.managed == Managed::RecordUpdate {
        peers::record_update(
            &rt,
            Some(old),
            &mut obj,
            &ctx.manager,
            ctx.subresource.as_deref(),
            &ctx.now,
        );
    }
    if meta::same_content_and_owners(old, &obj) {
        return Ok(old.clone());
    }
    if builtin::has_generation(&rt) && meta::spec_changed(old, &obj) {
        meta::set_meta(&mut obj, "generation", json!(meta::generation(old) + 1));
    }
    if ctx.dry_run {
        return Ok(obj);
    }
    if meta::is_deleting(&obj) && meta::finalizers(&obj).is_empty() {
        let mut gone = obj;
        let removed = crate::delete::remove_now(st, &rt, meta::namespace(old), &name);
        if let Some(rv) = removed.as_ref().and_then(|r| meta::resource_version(r)) {
            meta::set_meta(&mut gone, "resourceVersion", json!(rv));
        }
        return Ok(gone);
    }
    let stored = st.put(&rt.group, &rt.plural, obj, Some(old.clone()));
    after_store(st, &rt, &stored);
    Ok(stored)
}

/// The main endpoint: everything but status, with the fields only the server sets kept as they were.
fn main_update(rt: &ResourceType, old: &Value, mut obj: Value) -> Value {
    for field in [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "generation",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ] {
        match old.pointer(&format!("/metadata/{field}")) {
            Some(v) => meta::set_meta(&mut obj, field, v.clone()),
            None => meta::remove_meta(&mut obj, field),
        }
    }
    if rt.status_subresource
        && let Some(map) = obj.as_object_mut()
    {
        match old.get("status") {
            Some(status) => map.insert("status".into(), status.clone()),
            None => map.remove("status"),
        };
    }
    obj
}

/// /status: only .status changes (plus managedFields, which record who wrote it).
fn status_update(old: &Value, proposed: Value) -> Value {
    let mut obj = old.clone();
    if let Some(map) = obj.as_object_mut() {
        match proposed.get("status") {
            Some(status) => map.insert("status".into(), status.clone()),
            None => map.remove("status"),
        };
    }
    match proposed.pointer("/metadata/managedFields") {
        Some(mf) => meta::set_meta(&mut obj, "managedFields", mf.clone()),
        None => meta::remove_meta(&mut obj, "managedFields"),
    }
    obj
}

fn check_finalizers_while_deleting(rt: &ResourceType, old: &Value, new: &Value) -> ApiResult<()> {
    if !meta::is_deleting(old) {
        return Ok(());
    }
    let before = meta::finalizers(old);
    let added: Vec<String> = meta::finalizers(new)
        .into_iter()
        .filter(|f| !before.contains(f))
        .collect();
    if added.is_empty() {
        return Ok(());
    }
    let listed = added
        .iter()
        .map(|f| format!("{f:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    Err(ApiError::invalid(
        rt,
        meta::name(old),
        vec![Cause::new(
            "FieldValueForbidden",
            "metadata.finalizers",
            format!(
                "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{{{listed}}}"
            ),
        )],
    ))
}

fn schema_pipeline(
    ctx: &mut WriteCtx,
    obj: &mut Value,
    old: Option<&Value>,
    name: &str,
) -> ApiResult<()> {
    let Some(schema) = ctx.rt.schema.clone() else {
        return Ok(());
    };
    let unknown = peers::prune(&schema, obj)?;
    if !unknown.is_empty() {
        match ctx.validation {
            FieldValidation::Strict => {
                let listed: Vec<String> = unknown
                    .iter()
                    .map(|p| format!("unknown field \"{p}\""))
                    .collect();
                return Err(ApiError::bad_request(format!(
                    "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
                    listed.join(", "),
                    kind = ctx.rt.kind,
                    version = ctx.rt.version,
                )));
            }
            FieldValidation::Warn => ctx
                .warnings
                .extend(unknown.iter().map(|p| format!("unknown field \"{p}\""))),
            FieldValidation::Ignore => {}
        }
    }
    peers::apply_defaults(&schema, obj)?;
    let problems = peers::validate(&schema, obj, old)?;
    if problems.is_empty() {
        return Ok(());
    }
    let causes = problems
        .into_iter()
        .map(|p| Cause {
            reason: p.reason,
            message: p.message,
            field: p.field,
        })
        .collect();
    Err(ApiError::invalid(&ctx.rt, name, causes))
}

/// Per-kind rules kube-apiserver's built-in strategies apply.
fn kind_rules(rt: &ResourceType, obj: &mut Value, old: Option<&Value>, now: &str) -> ApiResult<()> {
    match (rt.group.as_str(), rt.plural.as_str()) {
        ("", "secrets") => fold_string_data(obj),
        ("", "namespaces") => {
            let phase = old
                .and_then(|o| o.pointer("/status/phase"))
                .cloned()
                .unwrap_or_else(|| json!("Active"));
            if let Some(map) = obj.as_object_mut() {
                map.insert("status".into(), json!({"phase": phase}));
            }
            let name = meta::name(obj).to_string();
            let labels =
                meta::metadata_mut(obj).map(|m| m.entry("labels").or_insert_with(|| json!({})));
            if let Some(Value::Object(labels)) = labels {
                labels.insert("kubernetes.io/metadata.name".into(), json!(name));
            }
            Ok(())
        }
        (crd::GROUP, crd::PLURAL) => {
            let causes = crd::validate(obj);
            if !causes.is_empty() {
                return Err(ApiError::invalid(rt, meta::name(obj), causes));
            }
            if let Some(old) = old
                && crd::defined_resource(old) != crd::defined_resource(obj)
            {
                return Err(ApiError::invalid(
                    rt,
                    meta::name(obj),
                    vec![Cause::new(
                        "FieldValueInvalid",
                        "spec.group",
                        "spec.group: Invalid value: field is immutable".into(),
                    )],
                ));
            }
            let status = crd::status(obj, old, now);
            if let Some(map) = obj.as_object_mut() {
                map.insert("status".into(), status);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Secrets: `stringData` is write-only and lands base64-encoded in `data`; `data` must be base64.
fn fold_string_data(obj: &mut Value) -> ApiResult<()> {
    let Some(map) = obj.as_object_mut() else {
        return Ok(());
    };
    let string_data = map.remove("stringData");
    let engine = base64::engine::general_purpose::STANDARD;
    if let Some(Value::Object(data)) = map.get("data") {
        for (k, v) in data {
            let ok = v.as_str().is_some_and(|s| engine.decode(s).is_ok());
            if !ok {
                return Err(ApiError::bad_request(format!(
                    "Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data in data[{k:?}]"
                )));
            }
        }
    }
    if let Some(Value::Object(sd)) = string_data {
        let data = map
            .entry("data")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(data) = data {
            for (k, v) in sd {
                let text = v.as_str().unwrap_or("").to_string();
                data.insert(k, json!(engine.encode(text)));
            }
        }
    }
    Ok(())
}

fn check_name(rt: &ResourceType, name: &str) -> ApiResult<()> {
    let dns_subdomain = |n: &str| {
        n.len() <= 253
            && n.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            })
    };
    let path_segment = |n: &str| n != "." && n != ".." && !n.contains('/') && !n.contains('%');
    let strict = rt.custom
        || matches!(
            rt.plural.as_str(),
            "namespaces" | "configmaps" | "secrets" | "serviceaccounts"
        );
    if !path_segment(name) {
        return Err(ApiError::invalid(
            rt,
            name,
            vec![Cause::new(
                "FieldValueInvalid",
                "metadata.name",
                format!("metadata.name: Invalid value: \"{name}\": may not contain '/' or '%'"),
            )],
        ));
    }
    if strict && !dns_subdomain(name) {
        return Err(ApiError::invalid(
            rt,
            name,
            vec![Cause::new(
                "FieldValueInvalid",
                "metadata.name",
                format!(
                    "metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
                ),
            )],
        ));
    }
    Ok(())
}

pub fn check_namespace_open(st: &State, ns: &str) -> ApiResult<()> {
    match st.get("", "namespaces", "", ns) {
        None => Err(ApiError::namespace_not_found(ns)),
        Some(n) if meta::is_deleting(n) => Err(ApiError::forbidden(format!(
            "unable to create new content in namespace {ns} because it is being terminated"
        ))),
        Some(_) => Ok(()),
    }
}

/// Side effects of storing a CRD: its types are served from now on.
fn after_store(st: &mut State, rt: &ResourceType, _stored: &Value) {
    if crd::is_crd(rt) {
        refresh_types(st);
    }
}

pub fn refresh_types(st: &mut State) {
    let crds: Vec<Value> = st
        .list(crd::GROUP, crd::PLURAL, None)
        .into_iter()
        .cloned()
        .collect();
    let refs: Vec<&Value> = crds.iter().collect();
    st.set_types(crd::all_types(&refs));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_data_folds_into_base64_data() {
        let mut secret = json!({"data": {"a": "eA=="}, "stringData": {"b": "hello"}});
        fold_string_data(&mut secret).unwrap();
        assert_eq!(secret, json!({"data": {"a": "eA==", "b": "aGVsbG8="}}));
        let mut bad = json!({"data": {"a": "not base64!"}});
        assert_eq!(fold_string_data(&mut bad).unwrap_err().code, 400);
    }

    #[test]
    fn field_validation_values() {
        assert_eq!(FieldValidation::parse(None).unwrap(), FieldValidation::Warn);
        assert_eq!(
            FieldValidation::parse(Some("Strict")).unwrap(),
            FieldValidation::Strict
        );
        assert_eq!(
            FieldValidation::parse(Some("Ignore")).unwrap(),
            FieldValidation::Ignore
        );
        assert_eq!(
            FieldValidation::parse(Some("strict")).unwrap_err().code,
            400
        );
    }

    #[test]
    fn status_endpoint_changes_only_status() {
        let old = json!({"metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"n": 1}, "status": {"s": 1}});
        let proposed = json!({"metadata": {"name": "a", "labels": {"x": "2"}}, "spec": {"n": 2}, "status": {"s": 2}});
        let out = status_update(&old, proposed);
        assert_eq!(
            out,
            json!({"metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"n": 1}, "status": {"s": 2}})
        );
    }
}
