//! Request dispatch: discovery documents and the verbs on resources. Everything runs under the
//! store lock and never awaits, so each request is one atomic step of the cluster's history.

use std::time::Duration;

use serde_json::{Value, json};

use crate::builtin;
use crate::conversion::{storage_key, storage_type, to_storage, to_view};
use crate::delete::{DeleteOptions, check_propagation, delete_one, refuse_owners};
use crate::meta;
use crate::paging::{self, ListQuery, Page};
use crate::patch::{self, PatchKind};
use crate::peers;
use crate::request::{Reply, Request, decode_yaml};
use crate::resource::ResourceType;
use crate::router::{self, ResourcePath, Route};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::status::{ApiError, ApiResult};
use crate::store::State;
use crate::watch::{self, Start, WatchFilter, WatchParams};
use crate::write::{self, FieldValidation, Managed, WriteCtx};

pub fn handle(st: &mut State, req: &Request) -> Reply {
    match dispatch(st, req) {
        Ok(reply) => reply,
        Err(err) => Reply::error(&err),
    }
}

fn dispatch(st: &mut State, req: &Request) -> ApiResult<Reply> {
    let route = router::route(&req.path, st.types());
    if !matches!(route, Route::Resource(_)) && req.method != "GET" {
        return Err(ApiError::method_not_allowed(&req.method, &req.path));
    }
    match route {
        Route::Api if req.wants_aggregated() => Ok(aggregated(peers::aggregated_core(st.types())?)),
        Route::Api => Ok(Reply::ok(peers::api_versions()?)),
        Route::Apis if req.wants_aggregated() => {
            Ok(aggregated(peers::aggregated_groups(st.types())?))
        }
        Route::Apis => Ok(Reply::ok(peers::api_group_list(st.types())?)),
        Route::Group { group } => {
            let list = peers::api_group_list(st.types())?;
            list.get("groups")
                .and_then(Value::as_array)
                .and_then(|gs| gs.iter().find(|g| g["name"] == group.as_str()))
                .map(|g| {
                    let mut g = g.clone();
                    g["kind"] = json!("APIGroup");
                    g["apiVersion"] = json!("v1");
                    Reply::ok(g)
                })
                .ok_or_else(|| ApiError::path_not_found(&req.path))
        }
        Route::GroupVersion { group, version } => {
            peers::api_resource_list(st.types(), &group, &version)?
                .map(Reply::ok)
                .ok_or_else(|| ApiError::path_not_found(&req.path))
        }
        Route::Version => Ok(Reply::ok(peers::version_info()?)),
        Route::OpenApiIndex => Ok(Reply::ok(peers::openapi_index(st.types())?)),
        Route::OpenApiGroupVersion { group, version } => {
            peers::openapi_group_version(st.types(), &group, &version)?
                .map(Reply::ok)
                .ok_or_else(|| ApiError::path_not_found(&req.path))
        }
        Route::Health => Ok(Reply::Text {
            code: 200,
            body: "ok".into(),
        }),
        Route::NotFound => Err(ApiError::path_not_found(&req.path)),
        Route::Resource(path) => resource(st, req, path),
    }
}

fn aggregated(body: Value) -> Reply {
    Reply::Json {
        code: 200,
        body,
        content_type: peers::AGGREGATED_CONTENT_TYPE.into(),
        warnings: Vec::new(),
    }
}

fn resource(st: &mut State, req: &Request, path: ResourcePath) -> ApiResult<Reply> {
    let rt = st
        .find_type(&path.group, &path.version, &path.plural)
        .cloned()
        .ok_or_else(|| ApiError::path_not_found(&req.path))?;
    if (path.namespace.is_some() && !rt.namespaced)
        || (rt.namespaced && path.namespace.is_none() && path.name.is_some())
    {
        return Err(ApiError::path_not_found(&req.path));
    }
    match path.subresource.as_deref() {
        None => {}
        Some("status") if rt.status_subresource => {}
        Some(_) => return Err(ApiError::path_not_found(&req.path)),
    }
    let ns = path.namespace.as_deref();
    let sub = path.subresource.as_deref();
    match (req.method.as_str(), path.name.as_deref()) {
        ("GET", None) if req.flag("watch") => start_watch(st, req, &rt, ns),
        ("GET", None) => list(st, req, &rt, ns),
        ("GET", Some(name)) => get(st, req, &rt, ns, name),
        ("POST", None) if !rt.namespaced || ns.is_some() => create(st, req, &rt, ns),
        ("PUT", Some(name)) => replace(st, req, &rt, ns, name, sub),
        ("PATCH", Some(name)) => patch(st, req, &rt, ns, name, sub),
        ("DELETE", Some(name)) if sub.is_none() => delete(st, req, &rt, ns, name),
        ("DELETE", None) => delete_collection(st, req, &rt, ns),
        (method, _) => Err(ApiError::method_not_allowed(method, &req.path)),
    }
}

/// The stored object (storage form), or NotFound in the words of the resource asked for.
fn lookup(st: &State, rt: &ResourceType, ns: Option<&str>, name: &str) -> ApiResult<Value> {
    let (group, plural) = storage_key(rt);
    st.get(group, plural, ns.unwrap_or(""), name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(rt, name))
}

/// The stored objects of a resource as its clients see them.
fn list_view(st: &State, rt: &ResourceType, ns: Option<&str>) -> Vec<Value> {
    let (group, plural) = storage_key(rt);
    st.list(group, plural, ns)
        .into_iter()
        .map(|o| to_view(rt, o.clone()))
        .collect()
}

fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

fn table_reply(req: &Request, rt: &ResourceType, objects: &[Value], rv: u64) -> ApiResult<Reply> {
    let include = req.q("includeObject").unwrap_or("Metadata");
    let table = peers::table(
        rt,
        objects,
        json!({"resourceVersion": rv.to_string()}),
        include,
        now(),
    )?;
    Ok(Reply::ok(table))
}

fn get(
    st: &State,
    req: &Request,
    rt: &ResourceType,
    ns: Option<&str>,
    name: &str,
) -> ApiResult<Reply> {
    let obj = to_view(rt, lookup(st, rt, ns, name)?);
    if req.wants_table() {
        return table_reply(req, rt, &[obj], st.resource_version());
    }
    if req.wants_metadata_only() {
        return Ok(Reply::ok(partial_object_metadata(&obj)));
    }
    Ok(Reply::ok(obj))
}

/// An object reduced to its metadata, as kube-apiserver answers `as=PartialObjectMetadata`.
pub fn partial_object_metadata(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

fn selectors(req: &Request, rt: &ResourceType) -> ApiResult<(LabelSelector, FieldSelector)> {
    let labels = LabelSelector::parse(req.q("labelSelector").unwrap_or(""))
        .map_err(ApiError::bad_request)?;
    let fields = FieldSelector::parse(
        req.q("fieldSelector").unwrap_or(""),
        builtin::extra_field_selectors(rt),
    )
    .map_err(ApiError::bad_request)?;
    Ok((labels, fields))
}

fn list(st: &State, req: &Request, rt: &ResourceType, ns: Option<&str>) -> ApiResult<Reply> {
    let (labels, fields) = selectors(req, rt)?;
    let query = ListQuery::parse(req, ns, rt.namespaced, st.resource_version())?;
    let selective = !(labels.is_empty() && fields.is_empty());
    let page = paging::page(st, storage_key(rt), ns, &query, selective, |o| {
        let view = to_view(rt, o.clone());
        (labels.matches_object(&view) && fields.matches(&view)).then_some(view)
    })?;
    let Page { items, metadata } = page;
    if req.wants_table() {
        let include = req.q("includeObject").unwrap_or("Metadata");
        return Ok(Reply::ok(peers::table(
            rt,
            &items,
            metadata,
            include,
            now(),
        )?));
    }
    if req.wants_metadata_only() {
        return Ok(Reply::ok(json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": metadata,
            "items": items.iter().map(partial_object_metadata).collect::<Vec<_>>(),
        })));
    }
    Ok(Reply::ok(json!({
        "apiVersion": rt.api_version(),
        "kind": rt.list_kind,
        "metadata": metadata,
        "items": items,
    })))
}

fn start_watch(
    st: &mut State,
    req: &Request,
    rt: &ResourceType,
    ns: Option<&str>,
) -> ApiResult<Reply> {
    let (labels, fields) = selectors(req, rt)?;
    let send_initial_events = req.q("sendInitialEvents").map(|v| v == "true" || v == "1");
    let bookmarks = req.flag("allowWatchBookmarks");
    let rv_match = req.q("resourceVersionMatch").filter(|v| !v.is_empty());
    if let Some(send) = send_initial_events {
        let mut problems = Vec::new();
        if rv_match != Some("NotOlderThan") {
            problems.push("resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan");
        }
        if send && !bookmarks {
            problems.push("allowWatchBookmarks: Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true");
        }
        if !problems.is_empty() {
            return Err(ApiError::new(
                422,
                "Invalid",
                format!(
                    "ListOptions.meta.k8s.io \"\" is invalid: {}",
                    problems.join(", ")
                ),
            ));
        }
    } else if rv_match.is_some() {
        return Err(ApiError::new(
            422,
            "Invalid",
            "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
        ));
    }
    let start = match req.q("resourceVersion") {
        // sendInitialEvents=false: only what happens from now on.
        None | Some("") | Some("0") if send_initial_events == Some(false) => {
            Start::After(st.resource_version())
        }
        None | Some("") | Some("0") => Start::Current,
        Some(rv) => Start::After(rv.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "resourceVersion: Invalid value: {rv:?}: must be an integer"
            ))
        })?),
    };
    let timeout = req
        .q("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .filter(|t| *t > 0)
        .map(Duration::from_secs);
    let table = if req.wants_table() {
        let include = req.q("includeObject").unwrap_or("Metadata").to_string();
        // Checks includeObject now, so a bad value is a 400 rather than errors inside the stream.
        peers::table(rt, &[], json!({}), &include, now())?;
        Some(include)
    } else {
        None
    };
    let filter = WatchFilter {
        rt: rt.clone(),
        namespace: ns.map(String::from),
        labels,
        fields,
        table,
        metadata_only: req.wants_metadata_only(),
    };
    let params = WatchParams {
        filter,
        start,
        send_initial_events: send_initial_events == Some(true),
        bookmarks,
        timeout,
    };
    Ok(Reply::Watch(Box::new(watch::start(st, params))))
}

/// Writes go through the type that owns the storage (core Event for events.k8s.io).
fn ctx(
    st: &State,
    req: &Request,
    rt: &ResourceType,
    sub: Option<&str>,
    managed: Managed,
) -> ApiResult<WriteCtx> {
    Ok(WriteCtx {
        rt: storage_type(st.types(), rt),
        manager: req.manager(),
        subresource: sub.map(String::from),
        validation: FieldValidation::parse(req.q("fieldValidation"))?,
        dry_run: req.dry_run()?,
        now: meta::now_rfc3339(),
        managed,
        warnings: Vec::new(),
    })
}

fn written(code: u16, rt: &ResourceType, obj: Value, ctx: WriteCtx) -> Reply {
    Reply::json(code, to_view(rt, obj)).with_warnings(ctx.warnings)
}

fn create(st: &mut State, req: &Request, rt: &ResourceType, ns: Option<&str>) -> ApiResult<Reply> {
    let mut body = req.body_object()?;
    write::default_type_meta(rt, &mut body);
    write::check_type_meta(rt, &body)?;
    let mut ctx = ctx(st, req, rt, None, Managed::RecordUpdate)?;
    let obj = write::create(st, &mut ctx, ns, to_storage(rt, body))?;
    Ok(written(201, rt, obj, ctx))
}

fn check_body_identity(
    rt: &ResourceType,
    body: &Value,
    ns: Option<&str>,
    name: &str,
) -> ApiResult<()> {
    let body_name = meta::name(body);
    if !body_name.is_empty() && body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    let body_ns = meta::namespace(body);
    if rt.namespaced && !body_ns.is_empty() && Some(body_ns) != ns {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    Ok(())
}

fn replace(
    st: &mut State,
    req: &Request,
    rt: &ResourceType,
    ns: Option<&str>,
    name: &str,
    sub: Option<&str>,
) -> ApiResult<Reply> {
    let mut body = req.body_object()?;
    check_body_identity(rt, &body, ns, name)?;
    let old = lookup(st, rt, ns, name)?;
    if rt.custom && meta::resource_version(&body).is_none() {
        return Err(ApiError::invalid(
            rt,
            name,
            vec![crate::status::Cause::new(
                "FieldValueInvalid",
                "metadata.resourceVersion",
                "metadata.resourceVersion: Invalid value: \"\": must be specified for an update"
                    .into(),
            )],
        ));
    }
    write::default_type_meta(rt, &mut body);
    write::check_type_meta(rt, &body)?;
    let mut ctx = ctx(st, req, rt, sub, Managed::RecordUpdate)?;
    let obj = write::update(st, &mut ctx, &old, to_storage(rt, body))?;
    Ok(written(200, rt, obj, ctx))
}

fn patch(
    st: &mut State,
    req: &Request,
    rt: &ResourceType,
    ns: Option<&str>,
    name: &str,
    sub: Option<&str>,
) -> ApiResult<Reply> {
    let kind = patch::patch_kind(&req.content_type)?;
    if kind == PatchKind::Apply {
        return apply(st, req, rt, ns, name, sub);
    }
    let old = lookup(st, rt, ns, name)?;
    // Patches apply to the object as this resource's clients see it.
    let view = to_view(rt, old.clone());
    let mut proposed = match kind {
        PatchKind::Merge => patch::merge_patch(&view, &req.body)?,
        PatchKind::Json => patch::json_patch(&view, &req.body)?,
        PatchKind::Strategic if rt.custom => {
            return Err(ApiError::unsupported_media_type(&req.content_type));
        }
        PatchKind::Strategic => crate::smp::strategic_merge_patch(&view, &req.body)?,
        PatchKind::Apply => return Err(ApiError::internal("apply handled above")),
    };
    check_body_identity(rt, &proposed, ns, name)?;
    write::default_type_meta(rt, &mut proposed);
    write::check_type_meta(rt, &proposed)?;
    let mut ctx = ctx(st, req, rt, sub, Managed::RecordUpdate)?;
    let obj = write::update(st, &mut ctx, &old, to_storage(rt, proposed))?;
    Ok(written(200, rt, obj, ctx))
}

fn apply(
    st: &mut State,
    req: &Request,
    rt: &ResourceType,
    ns: Option<&str>,
    name: &str,
    sub: Option<&str>,
) -> ApiResult<Reply> {
    let manager = req.q("fieldManager").filter(|m| !m.is_empty()).ok_or_else(|| {
        ApiError::bad_request("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch")
    })?;
    let force = req.flag("force");
    let applied = decode_yaml(&req.body)?;
    if !applied.is_object() {
        return Err(ApiError::bad_request(
            "the body of an apply patch must be an object",
        ));
    }
    write::check_type_meta(rt, &applied)?;
    check_body_identity(rt, &applied, ns, name)?;
    let live = lookup(st, rt, ns, name).ok().map(|o| to_view(rt, o));
    if live.is_none() && sub.is_some() {
        return Err(ApiError::not_found(rt, name));
    }
    let mut ctx = ctx(st, req, rt, sub, Managed::Applied)?;
    ctx.manager = manager.to_string();
    let merged = peers::ssa_apply(rt, live.as_ref(), &applied, manager, force, sub, &ctx.now)?;
    match live {
        None => {
            let mut merged = merged;
            meta::set_meta(&mut merged, "name", json!(name));
            let obj = write::create(st, &mut ctx, ns, to_storage(rt, merged))?;
            Ok(written(201, rt, obj, ctx))
        }
        Some(_) => {
            let old = lookup(st, rt, ns, name)?;
            let obj = write::update(st, &mut ctx, &old, to_storage(rt, merged))?;
            Ok(written(200, rt, obj, ctx))
        }
    }
}

fn delete_options(req: &Request) -> ApiResult<DeleteOptions> {
    let body: Value = if req.body.is_empty() {
        json!({})
    } else {
        req.body_object().map_err(|e| {
            ApiError::bad_request(format!("error decoding DeleteOptions: {}", e.message))
        })?
    };
    let text = |p: &str| body.pointer(p).and_then(Value::as_str).map(String::from);
    let policy =
        text("/propagationPolicy").or_else(|| req.q("propagationPolicy").map(String::from));
    check_propagation(policy.as_deref())?;
    let dry_run = req.dry_run()?
        || body
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v == "All"));
    Ok(DeleteOptions {
        uid: text("/preconditions/uid"),
        resource_version: text("/preconditions/resourceVersion"),
        dry_run,
    })
}

fn delete(
    st: &mut State,
    req: &Request,
    rt: &ResourceType,
    ns: Option<&str>,
    name: &str,
) -> ApiResult<Reply> {
    let opts = delete_options(req)?;
    refuse_owners(st, &[lookup(st, rt, ns, name)?])?;
    let srt = storage_type(st.types(), rt);
    let obj = delete_one(st, &srt, ns.unwrap_or(""), name, &opts)?;
    let (group, plural) = storage_key(rt);
    let gone = st.get(group, plural, ns.unwrap_or(""), name).is_none();
    // kube-apiserver returns the deleted object only for kinds whose store says so (custom
    // resources, pods); the other kinds served here answer a Success Status once it is gone.
    if gone && !opts.dry_run && !rt.custom {
        let uid = meta::meta_str(&obj, "uid").unwrap_or("");
        return Ok(Reply::ok(crate::status::success_status(rt, name, uid)));
    }
    Ok(Reply::ok(to_view(rt, obj)))
}

fn delete_collection(
    st: &mut State,
    req: &Request,
    rt: &ResourceType,
    ns: Option<&str>,
) -> ApiResult<Reply> {
    let opts = delete_options(req)?;
    let (labels, fields) = selectors(req, rt)?;
    let doomed: Vec<Value> = list_view(st, rt, ns)
        .into_iter()
        .filter(|o| labels.matches_object(o) && fields.matches(o))
        .collect();
    refuse_owners(st, &doomed)?;
    let targets: Vec<(String, String)> = doomed
        .iter()
        .map(|o| (meta::namespace(o).to_string(), meta::name(o).to_string()))
        .collect();
    let srt = storage_type(st.types(), rt);
    let mut items = Vec::new();
    for (obj_ns, name) in targets {
        items.push(to_view(rt, delete_one(st, &srt, &obj_ns, &name, &opts)?));
    }
    Ok(Reply::ok(json!({
        "apiVersion": rt.api_version(),
        "kind": rt.list_kind,
        "metadata": {"resourceVersion": st.resource_version().to_string()},
        "items": items,
    })))
}
