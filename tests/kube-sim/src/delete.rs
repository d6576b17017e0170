//! Deletion: preconditions, finalizers, namespaces (their content goes first) and CRDs (their
//! objects and types go along).
//!
//! There is no garbage collector: nothing in the project sets `ownerReferences` (not rolesmith,
//! not the chart, not Helm or kubectl as the tests drive them), so deleting an object that others
//! name as their owner is refused instead of leaving the dependents a real cluster would collect.
//! Without dependents the propagation policies (Background, Foreground, Orphan) delete alike.

use serde_json::{Value, json};

use crate::crd;
use crate::meta;
use crate::resource::ResourceType;
use crate::status::{ApiError, ApiResult};
use crate::store::State;

#[derive(Clone, Debug, Default)]
pub struct DeleteOptions {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
    pub dry_run: bool,
}

/// The `propagationPolicy` values kube-apiserver accepts.
pub fn check_propagation(value: Option<&str>) -> ApiResult<()> {
    match value {
        None | Some("" | "Background" | "Foreground" | "Orphan") => Ok(()),
        Some(other) => Err(ApiError::bad_request(format!(
            "propagationPolicy: Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
        ))),
    }
}

/// Deletes one object. Finalizers keep it (deletionTimestamp set, generation +1, MODIFIED);
/// without them it goes at once (DELETED). Returns the object as last seen.
pub fn delete_one(
    st: &mut State,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    opts: &DeleteOptions,
) -> ApiResult<Value> {
    let old = st
        .get(&rt.group, &rt.plural, ns, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(rt, name))?;
    check_preconditions(rt, name, &old, opts)?;
    let is_namespace = rt.group.is_empty() && rt.plural == "namespaces";
    if is_namespace && ["default", "kube-system", "kube-public"].contains(&name) {
        return Err(ApiError::forbidden(format!(
            "namespaces \"{name}\" is forbidden: this namespace may not be deleted"
        )));
    }
    if opts.dry_run {
        return Ok(old);
    }
    if meta::finalizers(&old).is_empty() && !is_namespace {
        return remove_now(st, rt, ns, name).ok_or_else(|| ApiError::not_found(rt, name));
    }
    if meta::is_deleting(&old) {
        return Ok(old);
    }
    let mut obj = old.clone();
    meta::set_meta(&mut obj, "deletionTimestamp", json!(meta::now_rfc3339()));
    meta::set_meta(&mut obj, "deletionGracePeriodSeconds", json!(0));
    if meta::generation(&old) > 0 {
        meta::set_meta(&mut obj, "generation", json!(meta::generation(&old) + 1));
    }
    if is_namespace {
        obj["status"] = json!({"phase": "Terminating"});
        let stored = st.put(&rt.group, &rt.plural, obj, Some(old));
        return Ok(empty_namespace(st, name).unwrap_or(stored));
    }
    Ok(st.put(&rt.group, &rt.plural, obj, Some(old)))
}

fn check_preconditions(
    rt: &ResourceType,
    name: &str,
    old: &Value,
    opts: &DeleteOptions,
) -> ApiResult<()> {
    let uid = meta::meta_str(old, "uid").unwrap_or("");
    if let Some(want) = &opts.uid
        && want != uid
    {
        return Err(ApiError::conflict_with(
            rt,
            name,
            &format!("Precondition failed: UID in precondition: {want}, UID in object meta: {uid}"),
        ));
    }
    let rv = meta::resource_version(old).unwrap_or("");
    if let Some(want) = &opts.resource_version
        && want != rv
    {
        return Err(ApiError::conflict_with(
            rt,
            name,
            &format!(
                "Precondition failed: ResourceVersion in precondition: {want}, ResourceVersion in object meta: {rv}"
            ),
        ));
    }
    Ok(())
}

/// Removes an object for good, with what that implies: a CRD takes its objects and types along,
/// and a terminating namespace goes once its last object has.
pub fn remove_now(st: &mut State, rt: &ResourceType, ns: &str, name: &str) -> Option<Value> {
    let removed = st.remove(&rt.group, &rt.plural, ns, name)?;
    if crd::is_crd(rt) {
        let (group, plural) = crd::defined_resource(&removed);
        st.remove_all(&group, &plural);
        crate::write::refresh_types(st);
    }
    if !ns.is_empty()
        && st
            .get("", "namespaces", "", ns)
            .is_some_and(meta::is_deleting)
        && st.objects_in_namespace(ns).is_empty()
    {
        st.remove("", "namespaces", "", ns);
    }
    Some(removed)
}

fn owner_uids(obj: &Value) -> impl Iterator<Item = &str> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("uid")?.as_str())
}

/// Deleting owners is refused while objects outside `doomed` name them in `ownerReferences`
/// (there is no garbage collector to take those): the client deletes them first, or learns that
/// it relies on something kube-sim lacks. A namespace needs no check: the dependents of its
/// objects live in it (owner references never cross namespaces) and go with it.
pub fn refuse_owners(st: &State, doomed: &[Value]) -> ApiResult<()> {
    let uids: Vec<&str> = doomed
        .iter()
        .filter_map(|o| meta::meta_str(o, "uid"))
        .filter(|u| !u.is_empty())
        .collect();
    let dependents: Vec<String> = st
        .iter()
        .filter(|(_, _, o)| {
            owner_uids(o).any(|u| uids.contains(&u))
                && !meta::meta_str(o, "uid").is_some_and(|u| uids.contains(&u))
        })
        .map(|(_, plural, o)| match meta::namespace(o) {
            "" => format!("{plural}/{}", meta::name(o)),
            ns => format!("{plural}/{} in {ns}", meta::name(o)),
        })
        .collect();
    if dependents.is_empty() {
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "kube-sim has no garbage collector: delete the dependents first ({} named as owner by {})",
        doomed.iter().map(meta::name).collect::<Vec<_>>().join(", "),
        dependents.join(", ")
    )))
}

fn type_of(st: &State, group: &str, plural: &str) -> Option<ResourceType> {
    st.types()
        .iter()
        .find(|t| t.group == group && t.plural == plural)
        .cloned()
}

/// Deletes a terminating namespace's content (objects with finalizers wait for them), and the
/// namespace itself once nothing is left. Returns the namespace if it is gone already.
fn empty_namespace(st: &mut State, ns: &str) -> Option<Value> {
    for (group, plural, name) in st.objects_in_namespace(ns) {
        if let Some(rt) = type_of(st, &group, &plural) {
            // Cannot fail: no preconditions, and nothing else goes with a namespaced object.
            let _ = delete_one(st, &rt, ns, &name, &DeleteOptions::default());
        }
    }
    if st.objects_in_namespace(ns).is_empty() {
        return st.remove("", "namespaces", "", ns);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::builtin_types;

    fn cm_type() -> ResourceType {
        builtin_types()
            .into_iter()
            .find(|t| t.plural == "configmaps")
            .unwrap()
    }

    fn cm(name: &str, owners: &[&str]) -> Value {
        let refs: Vec<Value> = owners
            .iter()
            .map(|o| json!({"apiVersion": "v1", "kind": "ConfigMap", "name": o, "uid": o}))
            .collect();
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": name, "namespace": "default", "uid": name, "ownerReferences": refs}})
    }

    #[test]
    fn owners_go_only_with_or_after_their_dependents() {
        let mut st = State::new();
        st.put("", "configmaps", cm("owner", &[]), None);
        st.put("", "configmaps", cm("child", &["owner"]), None);
        let owner = st
            .get("", "configmaps", "default", "owner")
            .unwrap()
            .clone();
        let child = st
            .get("", "configmaps", "default", "child")
            .unwrap()
            .clone();
        let err = refuse_owners(&st, std::slice::from_ref(&owner)).unwrap_err();
        assert_eq!(err.code, 400);
        assert!(
            err.message
                .ends_with("(owner named as owner by configmaps/child in default)"),
            "{}",
            err.message
        );
        assert!(refuse_owners(&st, &[owner, child]).is_ok());
        delete_one(
            &mut st,
            &cm_type(),
            "default",
            "child",
            &DeleteOptions::default(),
        )
        .unwrap();
        let owner = st
            .get("", "configmaps", "default", "owner")
            .unwrap()
            .clone();
        assert!(refuse_owners(&st, &[owner]).is_ok());
    }
}
