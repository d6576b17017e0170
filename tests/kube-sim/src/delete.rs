//! Deletion: preconditions, finalizers, propagation policies and the garbage collection of
//! dependents (objects whose `ownerReferences` name a deleted owner). kube-apiserver's garbage
//! collector runs asynchronously; here it runs within the delete, which clients cannot tell apart
//! from a fast collector.

use serde_json::{Value, json};

use crate::crd;
use crate::meta;
use crate::resource::ResourceType;
use crate::status::{ApiError, ApiResult};
use crate::store::State;

const FOREGROUND: &str = "foregroundDeletion";

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Propagation {
    #[default]
    Background,
    Foreground,
    Orphan,
}

impl Propagation {
    pub fn parse(value: Option<&str>) -> ApiResult<Self> {
        match value {
            None | Some("") | Some("Background") => Ok(Propagation::Background),
            Some("Foreground") => Ok(Propagation::Foreground),
            Some("Orphan") => Ok(Propagation::Orphan),
            Some(other) => Err(ApiError::bad_request(format!(
                "propagationPolicy: Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
            ))),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct DeleteOptions {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
    pub dry_run: bool,
    pub propagation: Propagation,
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
    let uid = meta::meta_str(&old, "uid").unwrap_or("").to_string();
    let mut extra_finalizer = None;
    match opts.propagation {
        Propagation::Background => {}
        Propagation::Orphan => orphan_dependents(st, &uid),
        Propagation::Foreground => {
            delete_dependents(st, &uid, Propagation::Foreground);
            if !dependents(st, &uid).is_empty() {
                extra_finalizer = Some(FOREGROUND);
            }
        }
    }
    if meta::finalizers(&old).is_empty() && extra_finalizer.is_none() && !is_namespace {
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
    if let Some(f) = extra_finalizer {
        let mut finalizers = meta::finalizers(&old);
        finalizers.push(f.to_string());
        meta::set_meta(&mut obj, "finalizers", json!(finalizers));
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
/// a terminating namespace goes once its last object has, dependents are collected, and an owner
/// waiting in foreground deletion goes once its last dependent has.
pub fn remove_now(st: &mut State, rt: &ResourceType, ns: &str, name: &str) -> Option<Value> {
    let removed = st.remove(&rt.group, &rt.plural, ns, name)?;
    if crd::is_crd(rt) {
        let (group, plural) = crd::defined_resource(&removed);
        st.remove_all(&group, &plural);
        crate::write::refresh_types(st);
    }
    let uid = meta::meta_str(&removed, "uid").unwrap_or("").to_string();
    collect_dependents(st, &uid);
    finish_foreground_owners(st, &removed);
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

/// Where an object lives: (group, plural, namespace, name) of its storage.
type Location = (String, String, String, String);

fn owner_uids(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|r| r.get("uid")?.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn dependents(st: &State, uid: &str) -> Vec<Location> {
    if uid.is_empty() {
        return Vec::new();
    }
    st.iter()
        .filter(|(_, _, obj)| owner_uids(obj).iter().any(|u| u == uid))
        .map(|(g, p, obj)| {
            (
                g.to_string(),
                p.to_string(),
                meta::namespace(obj).to_string(),
                meta::name(obj).to_string(),
            )
        })
        .collect()
}

fn exists_uid(st: &State, uid: &str) -> bool {
    st.iter()
        .any(|(_, _, obj)| meta::meta_str(obj, "uid") == Some(uid))
}

fn type_of(st: &State, group: &str, plural: &str) -> Option<ResourceType> {
    st.types()
        .iter()
        .find(|t| t.group == group && t.plural == plural)
        .cloned()
}

/// Drops the owner reference to `uid` from an object, storing the change.
fn drop_owner_ref(st: &mut State, (group, plural, ns, name): &Location, uid: &str) {
    let Some(old) = st.get(group, plural, ns, name).cloned() else {
        return;
    };
    let mut obj = old.clone();
    if let Some(Value::Array(refs)) = obj.pointer_mut("/metadata/ownerReferences") {
        refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid));
    }
    meta::normalize_metadata(&mut obj);
    st.put(group, plural, obj, Some(old));
}

fn orphan_dependents(st: &mut State, uid: &str) {
    for dep in dependents(st, uid) {
        drop_owner_ref(st, &dep, uid);
    }
}

fn delete_dependents(st: &mut State, uid: &str, propagation: Propagation) {
    let opts = DeleteOptions {
        propagation,
        ..Default::default()
    };
    for (group, plural, ns, name) in dependents(st, uid) {
        if let Some(rt) = type_of(st, &group, &plural) {
            // NotFound: an earlier cascade in this loop took it already.
            let _ = delete_one(st, &rt, &ns, &name, &opts);
        }
    }
}

/// Background collection: a dependent whose owners are all gone is deleted; one with a live
/// owner left only loses the dangling reference.
fn collect_dependents(st: &mut State, uid: &str) {
    for dep in dependents(st, uid) {
        let others_alive = st
            .get(&dep.0, &dep.1, &dep.2, &dep.3)
            .map(owner_uids)
            .unwrap_or_default()
            .iter()
            .any(|u| u != uid && exists_uid(st, u));
        if others_alive {
            drop_owner_ref(st, &dep, uid);
        } else if let Some(rt) = type_of(st, &dep.0, &dep.1) {
            let _ = delete_one(st, &rt, &dep.2, &dep.3, &DeleteOptions::default());
        }
    }
}

/// An owner in foreground deletion loses its `foregroundDeletion` finalizer with its last dependent.
fn finish_foreground_owners(st: &mut State, removed: &Value) {
    for owner_uid in owner_uids(removed) {
        let owner = st
            .iter()
            .find(|(_, _, o)| meta::meta_str(o, "uid") == Some(owner_uid.as_str()))
            .map(|(g, p, o)| (g.to_string(), p.to_string(), o.clone()));
        let Some((group, plural, old)) = owner else {
            continue;
        };
        if !meta::finalizers(&old).iter().any(|f| f == FOREGROUND)
            || !dependents(st, &owner_uid).is_empty()
        {
            continue;
        }
        let remaining: Vec<String> = meta::finalizers(&old)
            .into_iter()
            .filter(|f| f != FOREGROUND)
            .collect();
        let (ns, name) = (
            meta::namespace(&old).to_string(),
            meta::name(&old).to_string(),
        );
        if remaining.is_empty() {
            if let Some(rt) = type_of(st, &group, &plural) {
                remove_now(st, &rt, &ns, &name);
            }
        } else {
            let mut obj = old.clone();
            meta::set_meta(&mut obj, "finalizers", json!(remaining));
            st.put(&group, &plural, obj, Some(old));
        }
    }
}

/// Deletes a terminating namespace's content (objects with finalizers wait for them), and the
/// namespace itself once nothing is left. Returns the namespace if it is gone already.
fn empty_namespace(st: &mut State, ns: &str) -> Option<Value> {
    for (group, plural, name) in st.objects_in_namespace(ns) {
        if let Some(rt) = type_of(st, &group, &plural) {
            // NotFound: collected as a dependent of an object deleted earlier in this loop.
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

    fn cm(name: &str, uid: &str, owners: &[&str], finalizers: &[&str]) -> Value {
        let refs: Vec<Value> = owners
            .iter()
            .map(|o| json!({"apiVersion": "v1", "kind": "ConfigMap", "name": o, "uid": o}))
            .collect();
        let mut obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default", "uid": uid}});
        if !refs.is_empty() {
            obj["metadata"]["ownerReferences"] = json!(refs);
        }
        if !finalizers.is_empty() {
            obj["metadata"]["finalizers"] = json!(finalizers);
        }
        obj
    }

    fn names(st: &State) -> Vec<String> {
        st.list("", "configmaps", None)
            .iter()
            .map(|o| meta::name(o).to_string())
            .collect()
    }

    fn setup() -> State {
        let mut st = State::new();
        st.put("", "configmaps", cm("owner", "owner", &[], &[]), None);
        st.put("", "configmaps", cm("other", "other", &[], &[]), None);
        st.put(
            "",
            "configmaps",
            cm("child", "child", &["owner"], &[]),
            None,
        );
        st.put(
            "",
            "configmaps",
            cm("shared", "shared", &["owner", "other"], &[]),
            None,
        );
        st.put(
            "",
            "configmaps",
            cm("grandchild", "grandchild", &["child"], &[]),
            None,
        );
        st
    }

    #[test]
    fn background_collects_dependents_with_no_owner_left() {
        let mut st = setup();
        delete_one(
            &mut st,
            &cm_type(),
            "default",
            "owner",
            &DeleteOptions::default(),
        )
        .unwrap();
        assert_eq!(names(&st), ["other", "shared"]);
        let shared = st.get("", "configmaps", "default", "shared").unwrap();
        assert_eq!(owner_uids(shared), ["other"]);
    }

    #[test]
    fn orphan_keeps_dependents_without_the_reference() {
        let mut st = setup();
        let opts = DeleteOptions {
            propagation: Propagation::Orphan,
            ..Default::default()
        };
        delete_one(&mut st, &cm_type(), "default", "owner", &opts).unwrap();
        assert_eq!(names(&st), ["child", "grandchild", "other", "shared"]);
        assert!(owner_uids(st.get("", "configmaps", "default", "child").unwrap()).is_empty());
    }

    #[test]
    fn foreground_waits_for_blocked_dependents() {
        let mut st = State::new();
        st.put("", "configmaps", cm("owner", "owner", &[], &[]), None);
        st.put(
            "",
            "configmaps",
            cm("child", "child", &["owner"], &["x/y"]),
            None,
        );
        let opts = DeleteOptions {
            propagation: Propagation::Foreground,
            ..Default::default()
        };
        let owner = delete_one(&mut st, &cm_type(), "default", "owner", &opts).unwrap();
        assert_eq!(meta::finalizers(&owner), [FOREGROUND]);
        assert!(meta::is_deleting(
            st.get("", "configmaps", "default", "child").unwrap()
        ));
        // The child's finalizer goes, then the child, then the waiting owner.
        let child = st
            .get("", "configmaps", "default", "child")
            .unwrap()
            .clone();
        let mut released = child.clone();
        meta::remove_meta(&mut released, "finalizers");
        st.put("", "configmaps", released, Some(child));
        remove_now(&mut st, &cm_type(), "default", "child");
        assert!(names(&st).is_empty());
    }
}
