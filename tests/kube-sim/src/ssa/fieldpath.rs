//! Field paths and sets of them, as structured-merge-diff (SMD) defines them: the ordering of
//! path elements, set algebra, the FieldsV1 JSON of `managedFields` and the `.spec.x` text of
//! conflicts.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// One step of a path: a field, a map-list item by its keys, a set item by value, or an index.
#[derive(Clone, Debug)]
pub enum Pe {
    Field(String),
    /// Key fields sorted by name.
    Key(Vec<(String, Value)>),
    Value(Value),
    Index(usize),
}

impl Pe {
    fn rank(&self) -> u8 {
        match self {
            Pe::Field(_) => 0,
            Pe::Key(_) => 1,
            Pe::Value(_) => 2,
            Pe::Index(_) => 3,
        }
    }
}

impl Ord for Pe {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Pe::Field(a), Pe::Field(b)) => a.cmp(b),
            (Pe::Key(a), Pe::Key(b)) => compare_field_lists(a, b),
            (Pe::Value(a), Pe::Value(b)) => compare_values(a, b),
            (Pe::Index(a), Pe::Index(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for Pe {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Pe {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pe {}

fn compare_field_lists(a: &[(String, Value)], b: &[(String, Value)]) -> Ordering {
    for ((an, av), (bn, bv)) in a.iter().zip(b) {
        let c = an.cmp(bn).then_with(|| compare_values(av, bv));
        if c != Ordering::Equal {
            return c;
        }
    }
    a.len().cmp(&b.len())
}

/// SMD's total order of values: floats, ints, strings, bools, lists, maps, null (numbers
/// of both kinds compare numerically with each other).
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Number(n) if n.is_f64() => 0,
            Value::Number(_) => 1,
            Value::String(_) => 2,
            Value::Bool(_) => 3,
            Value::Array(_) => 4,
            Value::Object(_) => 5,
            Value::Null => 6,
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(i), Some(j)) = (x.as_i64(), y.as_i64()) {
                i.cmp(&j)
            } else {
                let (f, g) = (
                    x.as_f64().unwrap_or(f64::NAN),
                    y.as_f64().unwrap_or(f64::NAN),
                );
                f.partial_cmp(&g).unwrap_or(Ordering::Equal)
            }
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (i, j) in x.iter().zip(y) {
                let c = compare_values(i, j);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => {
            let mut xk: Vec<&String> = x.keys().collect();
            let mut yk: Vec<&String> = y.keys().collect();
            xk.sort();
            yk.sort();
            for (i, j) in xk.iter().zip(&yk) {
                let c = i.cmp(j).then_with(|| compare_values(&x[*i], &y[*j]));
                if c != Ordering::Equal {
                    return c;
                }
            }
            xk.len().cmp(&yk.len())
        }
        _ => rank(a).cmp(&rank(b)),
    }
}

/// JSON as Go's encoder writes it: sorted keys, `<`, `>`, `&` escaped.
pub fn go_json(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = Map::new();
                for k in keys {
                    out.insert(k.clone(), sorted(&m[k]));
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v)
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// `%v` of an SMD value inside a path's text: strings quoted, maps as `k=v` pairs.
fn value_text(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::String(s) => crate::schema::go_quote(s),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(value_text).collect::<Vec<_>>().join(",")
        ),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", value_text(v)))
            .collect(),
    }
}

impl std::fmt::Display for Pe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pe::Field(name) => write!(f, ".{name}"),
            Pe::Key(fields) => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|(n, v)| format!("{n}={}", value_text(v)))
                    .collect();
                write!(f, "[{}]", parts.join(","))
            }
            Pe::Value(v) => write!(f, "[={}]", value_text(v)),
            Pe::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// A path's text in conflict messages: `.spec.parts[name="a"].count`.
pub fn path_text(path: &[Pe]) -> String {
    path.iter().map(Pe::to_string).collect()
}

/// A set of paths: `members` end here, `children` hold deeper paths (never empty).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Set {
    members: BTreeSet<Pe>,
    children: BTreeMap<Pe, Set>,
}

impl Set {
    pub fn new() -> Self {
        Set::default()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.is_empty()
    }

    pub fn insert(&mut self, path: &[Pe]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    pub fn has(&self, path: &[Pe]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.has(rest)),
        }
    }

    pub fn has_member(&self, pe: &Pe) -> bool {
        self.members.contains(pe)
    }

    /// The paths below `pe`, relative to it.
    pub fn with_prefix(&self, pe: &Pe) -> Option<&Set> {
        self.children.get(pe)
    }

    pub fn union(&self, other: &Set) -> Set {
        let mut out = self.clone();
        out.members.extend(other.members.iter().cloned());
        for (pe, child) in &other.children {
            let merged = match out.children.get(pe) {
                Some(mine) => mine.union(child),
                None => child.clone(),
            };
            out.children.insert(pe.clone(), merged);
        }
        out
    }

    /// SMD's `Difference`: drops exactly the paths of `other`, not what lies below them.
    pub fn difference(&self, other: &Set) -> Set {
        let members = self.members.difference(&other.members).cloned().collect();
        let mut children = BTreeMap::new();
        for (pe, child) in &self.children {
            let kept = match other.children.get(pe) {
                Some(theirs) => child.difference(theirs),
                None => child.clone(),
            };
            if !kept.is_empty() {
                children.insert(pe.clone(), kept);
            }
        }
        Set { members, children }
    }

    /// SMD's `RecursiveDifference`: also drops everything below a member of `other`.
    pub fn recursive_difference(&self, other: &Set) -> Set {
        let members = self.members.difference(&other.members).cloned().collect();
        let mut children = BTreeMap::new();
        for (pe, child) in &self.children {
            if other.members.contains(pe) {
                continue;
            }
            let kept = match other.children.get(pe) {
                Some(theirs) => child.recursive_difference(theirs),
                None => child.clone(),
            };
            if !kept.is_empty() {
                children.insert(pe.clone(), kept);
            }
        }
        Set { members, children }
    }

    pub fn intersection(&self, other: &Set) -> Set {
        let members = self.members.intersection(&other.members).cloned().collect();
        let mut children = BTreeMap::new();
        for (pe, child) in &self.children {
            if let Some(theirs) = other.children.get(pe) {
                let both = child.intersection(theirs);
                if !both.is_empty() {
                    children.insert(pe.clone(), both);
                }
            }
        }
        Set { members, children }
    }

    /// Every path, members before children at each level, in SMD order.
    pub fn paths(&self) -> Vec<Vec<Pe>> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Vec<Pe>, out: &mut Vec<Vec<Pe>>) {
        for m in &self.members {
            let mut p = prefix.clone();
            p.push(m.clone());
            out.push(p);
        }
        for (pe, child) in &self.children {
            prefix.push(pe.clone());
            child.collect(prefix, out);
            prefix.pop();
        }
    }

    pub(super) fn members(&self) -> &BTreeSet<Pe> {
        &self.members
    }

    pub(super) fn children(&self) -> &BTreeMap<Pe, Set> {
        &self.children
    }

    pub(super) fn from_parts(members: BTreeSet<Pe>, children: BTreeMap<Pe, Set>) -> Set {
        let children = children
            .into_iter()
            .filter(|(_, c)| !c.is_empty())
            .collect();
        Set { members, children }
    }

    /// The FieldsV1 JSON of `managedFields` (`{"f:spec":{".":{},"f:name":{}}}`).
    pub fn to_fields_v1(&self) -> Value {
        self.emit(false)
    }

    fn emit(&self, include_self: bool) -> Value {
        let mut out = Map::new();
        if include_self && !self.is_empty() {
            out.insert(".".to_string(), Value::Object(Map::new()));
        }
        let keys: BTreeSet<&Pe> = self.members.iter().chain(self.children.keys()).collect();
        for pe in keys {
            let value = match self.children.get(pe) {
                Some(child) => child.emit(self.members.contains(pe)),
                None => Value::Object(Map::new()),
            };
            out.insert(pe_key(pe), value);
        }
        Value::Object(out)
    }

    pub fn from_fields_v1(v: &Value) -> Result<Set, String> {
        let Value::Object(map) = v else {
            return Err("expected an object".to_string());
        };
        let mut set = Set::new();
        for (key, child) in map {
            if key == "." {
                continue;
            }
            let pe = parse_pe_key(key)?;
            let Value::Object(inner) = child else {
                return Err(format!("expected an object at {key:?}"));
            };
            if inner.is_empty() || inner.contains_key(".") {
                set.members.insert(pe.clone());
            }
            let sub = Set::from_fields_v1(child)?;
            if !sub.is_empty() {
                set.children.insert(pe, sub);
            }
        }
        Ok(set)
    }
}

fn pe_key(pe: &Pe) -> String {
    match pe {
        Pe::Field(name) => format!("f:{name}"),
        Pe::Key(fields) => {
            let mut m = Map::new();
            for (n, v) in fields {
                m.insert(n.clone(), v.clone());
            }
            format!("k:{}", go_json(&Value::Object(m)))
        }
        Pe::Value(v) => format!("v:{}", go_json(v)),
        Pe::Index(i) => format!("i:{i}"),
    }
}

fn parse_pe_key(key: &str) -> Result<Pe, String> {
    let bad = || format!("invalid path element {key:?}");
    if let Some(name) = key.strip_prefix("f:") {
        return Ok(Pe::Field(name.to_string()));
    }
    if let Some(json) = key.strip_prefix("k:") {
        let Ok(Value::Object(m)) = serde_json::from_str::<Value>(json) else {
            return Err(bad());
        };
        let mut fields: Vec<(String, Value)> = m.into_iter().collect();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        return Ok(Pe::Key(fields));
    }
    if let Some(json) = key.strip_prefix("v:") {
        return serde_json::from_str(json).map(Pe::Value).map_err(|_| bad());
    }
    if let Some(i) = key.strip_prefix("i:") {
        return i.parse().map(Pe::Index).map_err(|_| bad());
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(s: &str) -> Pe {
        Pe::Field(s.to_string())
    }

    fn k(name: &str, v: &str) -> Pe {
        Pe::Key(vec![(name.to_string(), json!(v))])
    }

    #[test]
    fn fields_v1_round_trips_with_self_markers() {
        let mut s = Set::new();
        s.insert(&[f("spec")]);
        s.insert(&[f("spec"), f("name")]);
        s.insert(&[f("metadata"), f("labels"), f("team")]);
        s.insert(&[f("spec"), f("parts"), k("name", "a")]);
        s.insert(&[f("spec"), f("parts"), k("name", "a"), f("count")]);
        s.insert(&[f("spec"), f("tags"), Pe::Value(json!("x<y"))]);
        let v = s.to_fields_v1();
        assert_eq!(
            v.to_string(),
            r#"{"f:metadata":{"f:labels":{"f:team":{}}},"f:spec":{".":{},"f:name":{},"f:parts":{"k:{\"name\":\"a\"}":{".":{},"f:count":{}}},"f:tags":{"v:\"x\\u003cy\"":{}}}}"#
        );
        assert_eq!(Set::from_fields_v1(&v).unwrap(), s);
    }

    #[test]
    fn set_algebra_follows_smd() {
        let mut a = Set::new();
        a.insert(&[f("spec")]);
        a.insert(&[f("spec"), f("x")]);
        a.insert(&[f("spec"), f("y")]);
        let mut b = Set::new();
        b.insert(&[f("spec")]);
        // Difference keeps what lies below a removed member; RecursiveDifference does not.
        assert!(a.difference(&b).has(&[f("spec"), f("x")]));
        assert!(!a.difference(&b).has(&[f("spec")]));
        assert!(a.recursive_difference(&b).is_empty());
        let mut c = Set::new();
        c.insert(&[f("spec"), f("x")]);
        assert_eq!(a.intersection(&c), c);
        assert_eq!(a.union(&c), a);
        assert_eq!(
            a.paths().iter().map(|p| path_text(p)).collect::<Vec<_>>(),
            vec![".spec", ".spec.x", ".spec.y"]
        );
    }

    #[test]
    fn path_texts_match_conflict_messages() {
        assert_eq!(
            path_text(&[f("spec"), k("name", "a"), f("count")]),
            r#".spec[name="a"].count"#
        );
        assert_eq!(
            path_text(&[f("spec"), f("tags"), Pe::Value(json!("x"))]),
            r#".spec.tags[="x"]"#
        );
        assert_eq!(path_text(&[f("items"), Pe::Index(2)]), ".items[2]");
    }

    #[test]
    fn element_order_is_fields_keys_values_indexes() {
        let mut pes = vec![
            Pe::Index(0),
            Pe::Value(json!(1)),
            k("a", "b"),
            f("z"),
            f("a"),
        ];
        pes.sort();
        assert_eq!(
            pes,
            vec![
                f("a"),
                f("z"),
                k("a", "b"),
                Pe::Value(json!(1)),
                Pe::Index(0)
            ]
        );
        // Floats before ints before strings before bools.
        let mut vals = vec![json!(true), json!("s"), json!(2), json!(1.5)];
        vals.sort_by(compare_values);
        assert_eq!(vals, vec![json!(1.5), json!(2), json!("s"), json!(true)]);
    }
}
