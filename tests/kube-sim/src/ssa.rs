//! Server-side apply and `managedFields` bookkeeping, as kube-apiserver does them with
//! structured-merge-diff.
//!
//! - [`apply`]: an `application/apply-patch+yaml` write. The applier's fields become its own;
//!   fields it applied before and omits now are removed unless another manager owns them;
//!   changing a field another manager owns is a conflict unless `force` (then ownership
//!   moves); setting the same value shares ownership. For the manager `kubectl`, conflicts on
//!   fields still equal to the `last-applied-configuration` annotation are forced, and that
//!   annotation is rewritten, as the apiserver does to ease client-side → server-side apply.
//! - [`record_update`]: every other write (create, update, patch) by a manager (operation
//!   `Update`): it takes every field it changed.
//!
//! Types: CRDs by their structural schema (`x-kubernetes-list-type`, `-list-map-keys`,
//! `-map-type`), with `metadata` as ObjectMeta. Schemaless built-ins: objects are merged key by
//! key, lists are atomic except `containers`, `initContainers`, `ephemeralContainers`, `env`,
//! `ports`, `volumes` and `volumeMounts`, keyed by `name` when every item has a unique one
//! (the real built-ins key some of these by other fields: a documented approximation).
//!
//! The endpoint decides which fields a write cannot own: with a status subresource the main
//! resource resets `status` and `/status` resets `spec` ([`Target`]). Resetting the object's
//! own `status`/`spec` content stays with the caller (the strategy, in kube-apiserver terms).

mod fieldpath;
mod last_applied;
mod managed;
mod shape;
mod typed;
mod updater;

use serde_json::{Map, Value, json};

use fieldpath::{Pe, Set, path_text};
use managed::{Managed, ManagerId};
use shape::Shape;
use updater::Scope;

pub use shape::NAME_KEYED_LISTS;

/// A field another manager owns with a different value.
#[derive(Clone, Debug, PartialEq)]
pub struct Conflict {
    /// The other manager's name.
    pub manager: String,
    /// The field, as kube-apiserver writes it: `.spec.roleName`, `.spec.parts[name="a"].count`.
    pub path: String,
    /// The manager as conflict messages print it: `"kubectl-client-side-apply" using v1`.
    pub described: String,
    identifier: String,
}

/// Why an apply was refused.
#[derive(Clone, Debug, PartialEq)]
pub enum ApplyError {
    /// 409 Conflict: message from [`conflict_status_message`], causes from [`conflict_causes`].
    Conflicts(Vec<Conflict>),
    /// 400 BadRequest with this message (`metadata.managedFields must be nil`).
    BadRequest(String),
    /// kube-apiserver answers these with a 500 Status whose reason is empty (kubectl prints
    /// `Error from server: <message>`), e.g. a keyed list item without its key.
    Internal(String),
}

/// Where a write lands.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    /// The version's `openAPIV3Schema` (CRDs), `None` for schemaless built-ins.
    pub schema: Option<&'a Value>,
    /// `Some("status")` for writes to `/status`.
    pub subresource: Option<&'a str>,
    /// Whether the kind has a status subresource (then the main resource cannot own `status`).
    pub status_subresource: bool,
}

/// Server-side apply of `applied` by `manager` onto `live` (`None`: create). Returns the new
/// object with `metadata.managedFields` updated. Assumes the kind has a status subresource
/// (true of the project's CRDs and of the built-ins with a status); see [`apply_to`].
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    subresource: Option<&str>,
    schema: Option<&Value>,
    now: &str,
) -> Result<Value, ApplyError> {
    let target = Target {
        schema,
        subresource,
        status_subresource: true,
    };
    apply_to(live, applied, manager, force, &target, now)
}

pub fn apply_to(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    target: &Target<'_>,
    now: &str,
) -> Result<Value, ApplyError> {
    if applied
        .get("metadata")
        .and_then(|m| m.get("managedFields"))
        .is_some_and(|f| !f.is_null())
    {
        return Err(ApplyError::BadRequest(
            "metadata.managedFields must be nil".to_string(),
        ));
    }
    let shape = Shape::Root(target.schema);
    typed::check_config(applied, shape).map_err(|e| {
        ApplyError::Internal(format!(
            "failed to create typed patch object ({}): {e}",
            describe_object(applied)
        ))
    })?;
    let now = second_precision(now);
    let api_version = text(applied, "apiVersion");
    let live_obj = live
        .map(without_managed_fields)
        .unwrap_or_else(|| Value::Object(Map::new()));
    let mut managed = Managed::decode(live.and_then(managed_fields))
        .map_err(|e| ApplyError::Internal(format!("failed to decode managed fields: {e}")))?;
    let scope = scope(target);
    if managed.is_empty()
        && let Some(live) = live
    {
        // Fields that existed before anyone applied belong to a placeholder manager.
        let id = ManagerId::update(
            "before-first-apply",
            &text(live, "apiVersion"),
            &scope.subresource,
        );
        updater::update(&mut managed, &id, &json!({}), &live_obj, &scope, &now);
    }
    let id = ManagerId::apply(manager, &scope.subresource);
    let attempt = |force: bool| {
        let mut m = managed.clone();
        let applier = updater::Applier {
            id: &id,
            api_version: &api_version,
            force,
            now: &now,
        };
        updater::apply(&mut m, &live_obj, applied, &scope, &applier).map(|(obj, _)| (obj, m))
    };
    let (mut obj, managed) = match attempt(force) {
        Ok(done) => done,
        Err(conflicts) => {
            let allowed = (manager == last_applied::KUBECTL)
                .then(|| last_applied::allowed_conflicts(&live_obj, &api_version, shape))
                .flatten();
            let remaining: Vec<(ManagerId, Set)> = conflicts
                .into_iter()
                .map(|(id, set)| {
                    let set = match &allowed {
                        Some(allowed) => without_paths(&set, allowed),
                        None => set,
                    };
                    (id, set)
                })
                .filter(|(_, set)| !set.is_empty())
                .collect();
            if !remaining.is_empty() {
                return Err(ApplyError::Conflicts(to_conflicts(remaining)));
            }
            attempt(true).map_err(|c| ApplyError::Conflicts(to_conflicts(c)))?
        }
    };
    if manager == last_applied::KUBECTL {
        last_applied::refresh_annotation(&mut obj, applied);
    }
    set_managed_fields(&mut obj, &managed);
    Ok(obj)
}

/// `managedFields` bookkeeping for a non-apply write: `new` (the object about to be stored)
/// gets `metadata.managedFields` updated for `manager` (operation Update). A client may send
/// `managedFields` itself (kubectl does to migrate client-side apply ownership); `[]` or
/// `[{}]` resets them. `schema` matters as for [`apply`]: it decides which lists are keyed.
/// Assumes a status subresource; see [`record_update_to`].
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    subresource: Option<&str>,
    schema: Option<&Value>,
    now: &str,
) {
    let target = Target {
        schema,
        subresource,
        status_subresource: true,
    };
    record_update_to(old, new, manager, &target, now);
}

pub fn record_update_to(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    target: &Target<'_>,
    now: &str,
) {
    let scope = scope(target);
    let from_old = || Managed::decode(old.and_then(managed_fields)).unwrap_or_default();
    let mut managed = if !scope.subresource.is_empty() {
        // Subresources never take managedFields from the request.
        from_old()
    } else {
        match managed_fields(new) {
            Some(Value::Array(items))
                if items.is_empty() || (items.len() == 1 && items[0] == json!({})) =>
            {
                Managed::default()
            }
            sent => match Managed::decode(sent) {
                Ok(m) if !m.is_empty() => m,
                _ => from_old(),
            },
        }
    };
    let new_obj = without_managed_fields(new);
    if managed.is_empty() && old.is_some() {
        // An existing object without managedFields stays untracked until someone applies.
        *new = new_obj;
        return;
    }
    let old_obj = old
        .map(without_managed_fields)
        .unwrap_or_else(|| Value::Object(Map::new()));
    let id = ManagerId::update(manager, &text(&new_obj, "apiVersion"), &scope.subresource);
    updater::update(
        &mut managed,
        &id,
        &old_obj,
        &new_obj,
        &scope,
        &second_precision(now),
    );
    *new = new_obj;
    set_managed_fields(new, &managed);
}

/// kube-apiserver's message for an apply conflict, e.g. `Apply failed with 1 conflict:
/// conflict with "kubectl-client-side-apply" using iam.rolesmith.dev/v1alpha1: .spec.description`.
pub fn conflict_status_message(conflicts: &[Conflict]) -> String {
    if let [only] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            only.described, only.path
        );
    }
    let mut managers: Vec<&Conflict> = Vec::new();
    for c in conflicts {
        if !managers.iter().any(|m| m.identifier == c.identifier) {
            managers.push(c);
        }
    }
    managers.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    let mut lines = Vec::new();
    for m in managers {
        lines.push(format!("conflicts with {}:", m.described));
        for c in conflicts.iter().filter(|c| c.identifier == m.identifier) {
            lines.push(format!("- {}", c.path));
        }
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

/// `details.causes` of the 409: one `FieldManagerConflict` per field.
pub fn conflict_causes(conflicts: &[Conflict]) -> Vec<Value> {
    conflicts
        .iter()
        .map(|c| {
            json!({
                "reason": "FieldManagerConflict",
                "message": format!("conflict with {}", c.described),
                "field": c.path,
            })
        })
        .collect()
}

fn to_conflicts(mut conflicts: Vec<(ManagerId, Set)>) -> Vec<Conflict> {
    conflicts.sort_by_key(|(id, _)| id.identifier());
    conflicts
        .into_iter()
        .flat_map(|(id, set)| {
            set.paths()
                .into_iter()
                .map(move |p| Conflict {
                    manager: id.manager.clone(),
                    path: path_text(&p),
                    described: id.describe(),
                    identifier: id.identifier(),
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The paths of `set` not in `allowed` (`conflictsDifference`).
fn without_paths(set: &Set, allowed: &Set) -> Set {
    let mut out = Set::new();
    for p in set.paths() {
        if !allowed.has(&p) {
            out.insert(&p);
        }
    }
    out
}

fn scope<'a>(target: &Target<'a>) -> Scope<'a> {
    let subresource = target.subresource.unwrap_or("").to_string();
    let mut ignored = Set::new();
    match subresource.as_str() {
        "status" => ignored.insert(&[Pe::Field("spec".into())]),
        "" if target.status_subresource => ignored.insert(&[Pe::Field("status".into())]),
        _ => {}
    }
    Scope {
        shape: Shape::Root(target.schema),
        ignored,
        subresource,
    }
}

fn text(obj: &Value, key: &str) -> String {
    obj.get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

fn managed_fields(obj: &Value) -> Option<&Value> {
    obj.get("metadata")?.get("managedFields")
}

fn without_managed_fields(obj: &Value) -> Value {
    let mut out = obj.clone();
    if let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    out
}

fn set_managed_fields(obj: &mut Value, managed: &Managed) {
    let entries = managed.encode();
    let Some(root) = obj.as_object_mut() else {
        return;
    };
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(meta) = meta.as_object_mut() {
        if entries.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(entries));
        }
    }
}

/// `metav1.Time` keeps seconds: `2026-11-29T02:38:31Z`.
fn second_precision(now: &str) -> String {
    match now.parse::<jiff::Timestamp>() {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Err(_) => now.to_string(),
    }
}

/// `objectGVKNN`: `iam.rolesmith.dev/v1alpha1, Kind=IamRole; default/demo`.
fn describe_object(obj: &Value) -> String {
    let api_version = text(obj, "apiVersion");
    let gv = if api_version.contains('/') {
        api_version
    } else {
        format!("/{api_version}")
    };
    let meta = obj.get("metadata");
    let field = |k: &str| {
        meta.and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    format!(
        "{gv}, Kind={}; {}/{}",
        text(obj, "kind"),
        field("namespace"),
        field("name")
    )
}

#[cfg(test)]
mod tests;
