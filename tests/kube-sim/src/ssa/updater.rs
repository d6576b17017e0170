//! structured-merge-diff's `Updater` (ownership transfer on writes, apply with pruning of
//! fields the applier stopped setting) plus the apiserver's wrappers around it: stripping of
//! server-owned metadata, the `before-first-apply` manager, timestamps and the Update cap.

use serde_json::Value;

use super::fieldpath::{Pe, Set};
use super::managed::{Entry, Managed, ManagerId};
use super::shape::Shape;
use super::typed::{self, Comparison};

/// How one request sees the object: its type and the fields its endpoint resets (`status` on
/// the main resource of a kind with a status subresource, `spec` on `/status`).
pub struct Scope<'a> {
    pub shape: Shape<'a>,
    pub ignored: Set,
    pub subresource: String,
}

/// Managers' fields that conflict with a write, by manager.
pub type Conflicts = Vec<(ManagerId, Set)>;

fn path(fields: &[&str]) -> Vec<Pe> {
    fields.iter().map(|f| Pe::Field(f.to_string())).collect()
}

/// `stripMetaManager`: fields nobody may own.
fn strip_set() -> Set {
    let mut s = Set::new();
    for p in [
        &["apiVersion"][..],
        &["kind"],
        &["metadata"],
        &["metadata", "name"],
        &["metadata", "namespace"],
        &["metadata", "creationTimestamp"],
        &["metadata", "selfLink"],
        &["metadata", "uid"],
        &["metadata", "clusterName"],
        &["metadata", "generation"],
        &["metadata", "managedFields"],
        &["metadata", "resourceVersion"],
    ] {
        s.insert(&path(p));
    }
    s
}

/// `Updater.update`: compares old and new; other managers lose the fields that were removed,
/// and the ones changed under them (a conflict unless `force`).
pub fn transfer(
    managed: &mut Managed,
    writer: Option<&ManagerId>,
    old: &Value,
    new: &Value,
    scope: &Scope<'_>,
    force: bool,
) -> Result<Comparison, Conflicts> {
    let comparison = typed::compare(old, new, scope.shape).exclude(&scope.ignored);
    let changed = comparison.modified.union(&comparison.added);
    let mut conflicts: Conflicts = Vec::new();
    for (id, entry) in &managed.entries {
        if Some(id) == writer {
            continue;
        }
        let clash = entry.set.intersection(&changed);
        if !clash.is_empty() {
            conflicts.push((id.clone(), clash));
        }
    }
    if !force && !conflicts.is_empty() {
        return Err(conflicts);
    }
    for (id, clash) in &conflicts {
        if let Some(entry) = managed.entries.get_mut(id) {
            entry.set = entry.set.difference(clash);
        }
    }
    if !comparison.removed.is_empty() {
        for (id, entry) in managed.entries.iter_mut() {
            if Some(id) != writer {
                entry.set = entry.set.difference(&comparison.removed);
            }
        }
    }
    managed.drop_empty();
    Ok(comparison)
}

/// An Update-operation write (create, update, patch) by `id`: it takes every field it added or
/// changed, keeps what it owned, and others lose what it changed or removed.
pub fn update(
    managed: &mut Managed,
    id: &ManagerId,
    old: &Value,
    new: &Value,
    scope: &Scope<'_>,
    now: &str,
) {
    // The writer is not excluded: like kube-apiserver's "current-operation", the write is
    // accounted to a temporary manager first, then merged into the writer's entry.
    let Ok(comparison) = transfer(managed, None, old, new, scope, true) else {
        return;
    };
    let current = comparison
        .modified
        .union(&comparison.added)
        .difference(&comparison.removed)
        .recursive_difference(&scope.ignored)
        .difference(&strip_set());
    if current.is_empty() {
        return;
    }
    let previous = managed
        .entries
        .get(id)
        .map(|e| e.set.clone())
        .unwrap_or_default();
    managed.entries.insert(
        id.clone(),
        Entry {
            set: current.union(&previous),
            api_version: id.api_version.clone(),
            time: Some(now.to_string()),
        },
    );
    managed.cap_update_managers();
}

/// `Updater.Apply`: merges `applied` into `live`, makes `applied`'s fields the applier's, and
/// removes the fields the applier set last time but no longer does (unless someone else owns
/// them). Returns the new object and whether it differs from `live`.
/// Who applies, with which version, when, and whether conflicts are forced.
pub struct Applier<'a> {
    pub id: &'a ManagerId,
    pub api_version: &'a str,
    pub force: bool,
    pub now: &'a str,
}

pub fn apply(
    managed: &mut Managed,
    live: &Value,
    applied: &Value,
    scope: &Scope<'_>,
    applier: &Applier<'_>,
) -> Result<(Value, bool), Conflicts> {
    let Applier {
        id,
        api_version,
        force,
        now,
    } = *applier;
    let merged = typed::merge(live, applied, scope.shape);
    let previous = managed.entries.get(id).cloned();
    let config_set = typed::to_set(applied, scope.shape).recursive_difference(&scope.ignored);
    managed.entries.insert(
        id.clone(),
        Entry {
            set: config_set,
            api_version: api_version.to_string(),
            time: previous.as_ref().and_then(|p| p.time.clone()),
        },
    );
    let last = previous.map(|p| p.set).unwrap_or_default();
    let new = if last.is_empty() {
        merged
    } else {
        prune(&merged, managed, &last, scope.shape)
    };
    transfer(managed, Some(id), live, &new, scope, force)?;
    let changed = !typed::values_equal(live, &new);
    if let Some(entry) = managed.entries.get_mut(id) {
        entry.set = entry.set.difference(&strip_set());
        if changed {
            entry.time = Some(now.to_string());
        }
    }
    managed.drop_empty();
    managed.cap_update_managers();
    Ok((new, changed))
}

/// `Updater.prune` with `addBackOwnedItems` and `addBackDanglingItems`: only fields the
/// applier owned last time go, and only if no manager (the applier's new config included)
/// owns them now.
fn prune(merged: &Value, managed: &Managed, last: &Set, shape: Shape<'_>) -> Value {
    let named = |s: &Set| typed::ensure_named(s, shape);
    let last = named(last);
    let first_pass = typed::remove(merged, &last, shape);
    let merged_set = named(&typed::to_set(merged, shape));
    let kept = named(&typed::to_set(&first_pass, shape));
    let owned = managed
        .entries
        .values()
        .fold(Set::new(), |acc, e| acc.union(&e.set));
    let owned = named(&owned);
    let added_back = typed::remove(merged, &merged_set.difference(&kept.union(&owned)), shape);
    let kept = named(&typed::to_set(&added_back, shape));
    typed::remove(
        merged,
        &merged_set.difference(&kept).intersection(&last),
        shape,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope<'a>(schema: &'a Value) -> Scope<'a> {
        Scope {
            shape: Shape::Root(Some(schema)),
            ignored: Set::new(),
            subresource: String::new(),
        }
    }

    #[test]
    fn fields_owned_by_another_applier_survive_pruning() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "a": {"type": "string"}, "b": {"type": "string"}}}}});
        let scope = scope(&schema);
        let mut managed = Managed::default();
        let one = ManagerId::apply("one", "");
        let two = ManagerId::apply("two", "");
        let mut run = |id: &ManagerId, live: &Value, applied: Value| {
            let applier = Applier {
                id,
                api_version: "v1",
                force: false,
                now: "t",
            };
            apply(&mut managed, live, &applied, &scope, &applier)
                .unwrap()
                .0
        };
        let obj = run(&one, &json!({}), json!({"spec": {"a": "1", "b": "2"}}));
        let obj = run(&two, &obj, json!({"spec": {"b": "2"}}));
        // `one` stops setting both: `a` goes, `b` stays with `two`.
        let obj = run(&one, &obj, json!({}));
        assert_eq!(obj, json!({"spec": {"b": "2"}}));
        assert!(!managed.entries.contains_key(&one));
    }
}
