//! The structured-merge-diff operations on typed values (`typed` package): the field set of
//! a value, the comparison of two values, the merge of an applied configuration into the live
//! object, and the removal of a set of fields.

use serde_json::{Map, Value};

use super::fieldpath::{Pe, Set, path_text};
use super::shape::{Kind, ListType, Shape};

/// Value equality as SMD sees it: numbers compare numerically across ints and floats.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(i, j)| values_equal(i, j))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}

fn is_empty_container(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(_) => false,
    }
}

/// `ToFieldSet`: the fields a configuration sets. Named struct fields holding non-empty
/// objects are implied by their children and not listed themselves.
pub fn to_set(value: &Value, shape: Shape<'_>) -> Set {
    let mut out = Set::new();
    to_set_at(value, shape, &mut Vec::new(), &mut out);
    out
}

fn to_set_at(value: &Value, shape: Shape<'_>, path: &mut Vec<Pe>, out: &mut Set) {
    match shape.kind(value) {
        Kind::Scalar | Kind::Map { atomic: true } | Kind::List(ListType::Atomic) => {
            out.insert(path)
        }
        Kind::Map { atomic: false } => {
            let Value::Object(map) = value else {
                return;
            };
            for (key, child) in map {
                path.push(Pe::Field(key.clone()));
                to_set_at(child, shape.field(key), path, out);
                let empty_object = child.as_object().is_some_and(Map::is_empty);
                if child.is_null() || empty_object || !shape.named(key) {
                    out.insert(path);
                }
                path.pop();
            }
        }
        Kind::List(list) => {
            let Value::Array(items) = value else {
                return;
            };
            for item in items {
                let Ok(pe) = shape.item_pe(&list, item) else {
                    continue;
                };
                path.push(pe);
                to_set_at(item, shape.item(), path, out);
                out.insert(path);
                path.pop();
            }
        }
    }
}

/// Checks an applied configuration the way SMD types it: every item of a keyed or set list
/// needs a path element, and none may repeat. The error reads like the apiserver's.
pub fn check_config(value: &Value, shape: Shape<'_>) -> Result<(), String> {
    let mut errors = Vec::new();
    check_at(value, shape, &mut Vec::new(), &mut errors);
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => {
            let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
            Err(format!("errors:\n{}", lines.join("\n")))
        }
    }
}

fn check_at(value: &Value, shape: Shape<'_>, path: &mut Vec<Pe>, errors: &mut Vec<String>) {
    match (shape.kind(value), value) {
        (Kind::Map { atomic: false }, Value::Object(map)) => {
            for (key, child) in map {
                path.push(Pe::Field(key.clone()));
                check_at(child, shape.field(key), path, errors);
                path.pop();
            }
        }
        (Kind::List(list @ (ListType::Set | ListType::Map(_))), Value::Array(items)) => {
            let mut seen: Vec<Pe> = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match shape.item_pe(&list, item) {
                    Err(e) => errors.push(format!("{}: element {i}: {e}", path_text(path))),
                    Ok(pe) if seen.contains(&pe) => {
                        errors.push(format!(
                            "{}: duplicate entries for key {pe}",
                            path_text(path)
                        ));
                    }
                    Ok(pe) => {
                        path.push(pe.clone());
                        check_at(item, shape.item(), path, errors);
                        path.pop();
                        seen.push(pe);
                    }
                }
            }
        }
        _ => {}
    }
}

#[derive(Debug, Default)]
pub struct Comparison {
    pub added: Set,
    pub modified: Set,
    pub removed: Set,
}

impl Comparison {
    /// `ExcludeFields`: forget what happened under the ignored (reset) fields.
    pub fn exclude(self, ignored: &Set) -> Comparison {
        Comparison {
            added: self.added.recursive_difference(ignored),
            modified: self.modified.recursive_difference(ignored),
            removed: self.removed.recursive_difference(ignored),
        }
    }
}

/// `Compare`: what changed from `lhs` to `rhs`. Added or removed objects and list items are
/// reported themselves as well as their leaves.
pub fn compare(lhs: &Value, rhs: &Value, shape: Shape<'_>) -> Comparison {
    let mut out = Comparison::default();
    compare_at(Some(lhs), Some(rhs), shape, &mut Vec::new(), &mut out);
    out
}

fn compare_at(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    shape: Shape<'_>,
    path: &mut Vec<Pe>,
    out: &mut Comparison,
) {
    if let (Some(l), Some(r)) = (lhs, rhs)
        && values_equal(l, r)
    {
        return;
    }
    let kind_l = lhs.map(|v| shape.kind(v));
    let kind_r = rhs.map(|v| shape.kind(v));
    let mut in_leaf = false;
    let kind = match (&kind_l, &kind_r) {
        (Some(l), Some(r)) if l != r => None,
        (_, Some(k)) | (Some(k), None) => Some(k.clone()),
        (None, None) => return,
    };
    match kind {
        None | Some(Kind::Scalar | Kind::Map { atomic: true } | Kind::List(ListType::Atomic)) => {
            leaf(lhs, rhs, path, out, &mut in_leaf);
        }
        Some(Kind::Map { atomic: false }) => {
            if is_empty_container(lhs) && is_empty_container(rhs) {
                leaf(lhs, rhs, path, out, &mut in_leaf);
            } else {
                let lm = lhs.and_then(Value::as_object);
                let rm = rhs.and_then(Value::as_object);
                let mut keys: Vec<&String> = lm.map(|m| m.keys().collect()).unwrap_or_default();
                if let Some(rm) = rm {
                    keys.extend(rm.keys().filter(|k| lm.is_none_or(|l| !l.contains_key(*k))));
                }
                for key in keys {
                    path.push(Pe::Field(key.clone()));
                    let (l, r) = (lm.and_then(|m| m.get(key)), rm.and_then(|m| m.get(key)));
                    compare_at(l, r, shape.field(key), path, out);
                    path.pop();
                }
            }
        }
        Some(Kind::List(list)) => {
            if is_empty_container(lhs) && is_empty_container(rhs) {
                leaf(lhs, rhs, path, out, &mut in_leaf);
            } else {
                compare_items(lhs, rhs, &list, shape, path, out);
            }
        }
    }
    if !in_leaf {
        if lhs.is_none() {
            out.added.insert(path);
        } else if rhs.is_none() {
            out.removed.insert(path);
        }
    }
}

fn leaf(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    path: &[Pe],
    out: &mut Comparison,
    in_leaf: &mut bool,
) {
    *in_leaf = true;
    match (lhs, rhs) {
        (None, _) => out.added.insert(path),
        (_, None) => out.removed.insert(path),
        (Some(l), Some(r)) if !values_equal(l, r) => out.modified.insert(path),
        _ => {}
    }
}

/// Items grouped by path element, in first-seen order, with every occurrence kept.
fn index_items<'v>(
    items: Option<&'v Value>,
    list: &ListType,
    shape: Shape<'_>,
) -> Vec<(Pe, Vec<&'v Value>)> {
    let mut out: Vec<(Pe, Vec<&'v Value>)> = Vec::new();
    for item in items.and_then(Value::as_array).into_iter().flatten() {
        let Ok(pe) = shape.item_pe(list, item) else {
            continue;
        };
        match out.iter_mut().find(|(p, _)| *p == pe) {
            Some((_, all)) => all.push(item),
            None => out.push((pe, vec![item])),
        }
    }
    out
}

fn compare_items(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    list: &ListType,
    shape: Shape<'_>,
    path: &mut Vec<Pe>,
    out: &mut Comparison,
) {
    let left = index_items(lhs, list, shape);
    let right = index_items(rhs, list, shape);
    let mut pes: Vec<&Pe> = left.iter().map(|(p, _)| p).collect();
    pes.extend(
        right
            .iter()
            .map(|(p, _)| p)
            .filter(|p| !left.iter().any(|(l, _)| l == *p)),
    );
    let find = |side: &[(Pe, Vec<&'_ Value>)], pe: &Pe| -> Vec<Value> {
        side.iter()
            .find(|(p, _)| p == pe)
            .map(|(_, all)| all.iter().map(|v| (*v).clone()).collect())
            .unwrap_or_default()
    };
    for pe in pes {
        let (l, r) = (find(&left, pe), find(&right, pe));
        path.push(pe.clone());
        match (l.len(), r.len()) {
            (0..=1, 0..=1) => compare_at(l.first(), r.first(), shape.item(), path, out),
            (2.., 2..) => {
                let same = l.len() == r.len() && l.iter().zip(&r).all(|(a, b)| values_equal(a, b));
                if !same {
                    out.modified.insert(path);
                }
            }
            (2.., _) => {
                if let Some(first) = r.first() {
                    compare_at(None, Some(first), shape.item(), path, out);
                }
                out.removed.insert(path);
            }
            (_, _) => {
                if let Some(first) = l.first() {
                    compare_at(Some(first), None, shape.item(), path, out);
                }
                out.added.insert(path);
            }
        }
        path.pop();
    }
}

/// `Merge` with the applied configuration winning: granular maps merge key by key, keyed and
/// set lists item by item (keeping live order around the applied order), the rest is replaced.
pub fn merge(lhs: &Value, rhs: &Value, shape: Shape<'_>) -> Value {
    merge_at(Some(lhs), Some(rhs), shape).unwrap_or_else(|| Value::Object(Map::new()))
}

fn merge_at(lhs: Option<&Value>, rhs: Option<&Value>, shape: Shape<'_>) -> Option<Value> {
    let kind_l = lhs.map(|v| shape.kind(v));
    let kind_r = rhs.map(|v| shape.kind(v));
    let kind = match (&kind_l, &kind_r) {
        (None, None) => return None,
        (Some(l), Some(r)) if l != r => return rhs.cloned(),
        (_, Some(k)) | (Some(k), None) => k.clone(),
    };
    let keep_rhs = || rhs.or(lhs).cloned();
    match kind {
        Kind::Scalar | Kind::Map { atomic: true } | Kind::List(ListType::Atomic) => keep_rhs(),
        _ if is_empty_container(lhs) && is_empty_container(rhs) => keep_rhs(),
        Kind::Map { atomic: false } => {
            let lm = lhs.and_then(Value::as_object);
            let rm = rhs.and_then(Value::as_object);
            let mut out = Map::new();
            for (key, l) in lm.into_iter().flatten() {
                if let Some(v) = merge_at(Some(l), rm.and_then(|m| m.get(key)), shape.field(key)) {
                    out.insert(key.clone(), v);
                }
            }
            for (key, r) in rm.into_iter().flatten() {
                if lm.is_some_and(|m| m.contains_key(key)) {
                    continue;
                }
                if let Some(v) = merge_at(None, Some(r), shape.field(key)) {
                    out.insert(key.clone(), v);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Kind::List(list) => {
            let out = merge_items(lhs, rhs, &list, shape);
            (!out.is_empty()).then_some(Value::Array(out))
        }
    }
}

/// SMD's list merge: live items keep their place, applied items are placed in applied order,
/// and an item present on both sides is emitted once, where the applied order reaches it.
fn merge_items(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    list: &ListType,
    shape: Shape<'_>,
) -> Vec<Value> {
    let index = |side: Option<&Value>| -> Vec<(Pe, Value)> {
        let mut out: Vec<(Pe, Value)> = Vec::new();
        for item in side.and_then(Value::as_array).into_iter().flatten() {
            if let Ok(pe) = shape.item_pe(list, item)
                && !out.iter().any(|(p, _)| *p == pe)
            {
                out.push((pe, item.clone()));
            }
        }
        out
    };
    let (left, right) = (index(lhs), index(rhs));
    let get =
        |side: &[(Pe, Value)], pe: &Pe| side.iter().find(|(p, _)| p == pe).map(|(_, v)| v.clone());
    let mut shared: std::collections::VecDeque<Pe> = right
        .iter()
        .filter(|(p, _)| left.iter().any(|(l, _)| l == p))
        .map(|(p, _)| p.clone())
        .collect();
    let mut next_shared = shared.pop_front();
    let mut merged_rhs: Vec<Pe> = Vec::new();
    let mut out = Vec::new();
    let item_shape = shape.item();
    let (mut li, mut ri) = (0, 0);
    while li < left.len() || ri < right.len() {
        if li < left.len() && ri < right.len() {
            let pe = &left[li].0;
            if *pe == right[ri].0 {
                merged_rhs.push(pe.clone());
                out.extend(merge_at(Some(&left[li].1), Some(&right[ri].1), item_shape));
                li += 1;
                ri += 1;
                next_shared = shared.pop_front();
                continue;
            }
            let in_rhs = right.iter().any(|(p, _)| p == pe);
            if in_rhs && next_shared.as_ref().is_some_and(|n| n != pe) {
                li += 1;
                continue;
            }
        }
        if li < left.len() {
            let pe = &left[li].0;
            if !right.iter().any(|(p, _)| p == pe) {
                out.extend(merge_at(Some(&left[li].1), None, item_shape));
                li += 1;
                continue;
            } else if merged_rhs.contains(pe) {
                li += 1;
                continue;
            }
        }
        if ri < right.len() {
            let pe = right[ri].0.clone();
            merged_rhs.push(pe.clone());
            let l = get(&left, &pe);
            out.extend(merge_at(l.as_ref(), Some(&right[ri].1), item_shape));
            ri += 1;
            if next_shared.as_ref() == Some(&pe) {
                next_shared = shared.pop_front();
            }
        }
    }
    out
}

/// `RemoveItems`: drops every path of `set` from `value`. A container emptied by removals
/// below it stays as an empty container (SMD v6).
pub fn remove(value: &Value, set: &Set, shape: Shape<'_>) -> Value {
    remove_at(value, set, shape).unwrap_or_else(|| Value::Object(Map::new()))
}

fn remove_at(value: &Value, set: &Set, shape: Shape<'_>) -> Option<Value> {
    match shape.kind(value) {
        Kind::Scalar => Some(value.clone()),
        Kind::Map { atomic: true } | Kind::List(ListType::Atomic) => None,
        Kind::Map { atomic: false } => {
            let map = value.as_object().filter(|m| !m.is_empty())?;
            let mut out = Map::new();
            let mut had_matches = false;
            for (key, child) in map {
                let pe = Pe::Field(key.clone());
                if set.has_member(&pe) {
                    continue;
                }
                let kept = match set.with_prefix(&pe) {
                    Some(sub) => {
                        had_matches = true;
                        restore_container(child, remove_at(child, sub, shape.field(key)))
                    }
                    None => child.clone(),
                };
                out.insert(key.clone(), kept);
            }
            (!out.is_empty() || had_matches).then_some(Value::Object(out))
        }
        Kind::List(list) => {
            let items = value.as_array().filter(|a| !a.is_empty())?;
            let mut out = Vec::new();
            let mut had_matches = false;
            for item in items {
                let pe = shape.item_pe(&list, item).ok();
                if pe.as_ref().is_some_and(|pe| set.has_member(pe)) {
                    continue;
                }
                let kept = match pe.as_ref().and_then(|pe| set.with_prefix(pe)) {
                    Some(sub) => {
                        had_matches = true;
                        restore_container(item, remove_at(item, sub, shape.item()))
                    }
                    None => item.clone(),
                };
                out.push(kept);
            }
            (!out.is_empty() || had_matches).then_some(Value::Array(out))
        }
    }
}

fn restore_container(original: &Value, removed: Option<Value>) -> Value {
    match (removed, original) {
        (Some(v), _) => v,
        (None, Value::Object(_)) => Value::Object(Map::new()),
        (None, Value::Array(_)) => Value::Array(Vec::new()),
        (None, _) => Value::Null,
    }
}

/// `EnsureNamedFieldsAreMembers`: a set owning `spec.x` also owns the struct field `spec`.
pub fn ensure_named(set: &Set, shape: Shape<'_>) -> Set {
    let mut members = set.members().clone();
    let mut children = std::collections::BTreeMap::new();
    for (pe, child) in set.children() {
        let child_shape = match pe {
            Pe::Field(name) => {
                if shape.named(name) {
                    members.insert(pe.clone());
                }
                shape.field(name)
            }
            _ => shape.item(),
        };
        children.insert(pe.clone(), ensure_named(child, child_shape));
    }
    Set::from_parts(members, children)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {
                "a": {"type": "string"}, "b": {"type": "string"},
                "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                "args": {"type": "array", "items": {"type": "string"}},
                "parts": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                          "items": {"type": "object", "properties": {"name": {"type": "string"}, "n": {"type": "integer"}}}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}}
            }}
        }})
    }

    fn texts(set: &Set) -> Vec<String> {
        set.paths().iter().map(|p| path_text(p)).collect()
    }

    #[test]
    fn field_sets_list_leaves_items_and_map_entries() {
        let s = schema();
        let v = json!({"apiVersion": "x/v1", "spec": {"a": "1", "tags": ["t"], "args": ["x"],
            "parts": [{"name": "p", "n": 1}], "labels": {"k": "v"}, "empty": {}}});
        assert_eq!(
            texts(&to_set(&v, Shape::Root(Some(&s)))),
            vec![
                ".apiVersion",
                ".spec.a",
                ".spec.args",
                ".spec.empty",
                ".spec.labels.k",
                ".spec.parts[name=\"p\"]",
                ".spec.parts[name=\"p\"].n",
                ".spec.parts[name=\"p\"].name",
                ".spec.tags[=\"t\"]",
            ]
        );
    }

    #[test]
    fn comparisons_report_added_containers_and_leaves() {
        let s = schema();
        let shape = Shape::Root(Some(&s));
        let c = compare(
            &json!({}),
            &json!({"spec": {"a": "1", "parts": [{"name": "p"}]}}),
            shape,
        );
        assert_eq!(
            texts(&c.added),
            vec![
                ".spec",
                ".spec.a",
                ".spec.parts",
                ".spec.parts[name=\"p\"]",
                ".spec.parts[name=\"p\"].name"
            ]
        );
        let c = compare(
            &json!({"spec": {"a": "1", "b": "2", "args": ["x"], "tags": ["t", "u"]}}),
            &json!({"spec": {"a": "9", "args": ["y"], "tags": ["u", "v"]}}),
            shape,
        );
        assert_eq!(texts(&c.modified), vec![".spec.a", ".spec.args"]);
        assert_eq!(texts(&c.removed), vec![".spec.b", ".spec.tags[=\"t\"]"]);
        assert_eq!(texts(&c.added), vec![".spec.tags[=\"v\"]"]);
    }

    #[test]
    fn merges_keep_live_order_and_replace_atomic_lists() {
        let s = schema();
        let shape = Shape::Root(Some(&s));
        let cases = [
            (
                json!({"spec": {"a": "1", "b": "2"}}),
                json!({"spec": {"a": "9"}}),
                json!({"spec": {"a": "9", "b": "2"}}),
            ),
            (
                json!({"spec": {"args": ["x", "y"]}}),
                json!({"spec": {"args": ["z"]}}),
                json!({"spec": {"args": ["z"]}}),
            ),
            (
                json!({"spec": {"parts": [{"name": "a", "n": 1}, {"name": "b", "n": 2}]}}),
                json!({"spec": {"parts": [{"name": "c"}, {"name": "a", "n": 5}]}}),
                json!({"spec": {"parts": [{"name": "c"}, {"name": "a", "n": 5}, {"name": "b", "n": 2}]}}),
            ),
            (
                json!({"spec": {"tags": ["x", "y"]}}),
                json!({"spec": {"tags": ["y", "z"]}}),
                json!({"spec": {"tags": ["x", "y", "z"]}}),
            ),
            (
                json!({"spec": {"a": "1"}}),
                json!({"spec": {"labels": {"k": "v"}}}),
                json!({"spec": {"a": "1", "labels": {"k": "v"}}}),
            ),
        ];
        for (live, applied, want) in cases {
            assert_eq!(merge(&live, &applied, shape), want, "{live} + {applied}");
        }
    }

    #[test]
    fn removal_keeps_emptied_containers() {
        let s = schema();
        let shape = Shape::Root(Some(&s));
        let mut set = Set::new();
        set.insert(&[Pe::Field("spec".into()), Pe::Field("a".into())]);
        assert_eq!(
            remove(&json!({"spec": {"a": "1"}}), &set, shape),
            json!({"spec": {}})
        );
        assert_eq!(
            remove(&json!({"spec": {"a": "1", "b": "2"}}), &set, shape),
            json!({"spec": {"b": "2"}})
        );
        let named = ensure_named(&set, shape);
        assert!(named.has(&[Pe::Field("spec".into())]));
        assert_eq!(
            remove(&json!({"spec": {"a": "1"}, "kind": "K"}), &named, shape),
            json!({"kind": "K"})
        );
    }

    #[test]
    fn applied_configurations_need_valid_list_items() {
        let s = schema();
        let shape = Shape::Root(Some(&s));
        assert_eq!(
            check_config(&json!({"spec": {"parts": [{"name": "a"}]}}), shape),
            Ok(())
        );
        assert_eq!(
            check_config(&json!({"spec": {"parts": [{"n": 1}]}}), shape),
            Err(".spec.parts: element 0: associative list with keys has an element that omits key field \"name\" (and doesn't have default value)".into())
        );
        assert_eq!(
            check_config(&json!({"spec": {"tags": ["a", "a"]}}), shape),
            Err(".spec.tags: duplicate entries for key [=\"a\"]".into())
        );
    }
}
