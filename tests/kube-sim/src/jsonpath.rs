//! The JSONPath subset kube-apiserver evaluates for CRD printer columns (k8s.io/client-go/util/jsonpath
//! with missing keys allowed): `.a.b`, `['a']`, `[n]` (negative from the end), `[*]`, `[a:b]`, and filters
//! `[?(@.type=="Ready")]` with `==`, `!=`, `<`, `<=`, `>`, `>=` or a bare existence test.
//!
//! Anything else is refused at parse time, so a CRD using it fails loudly instead of printing blanks.

mod parse;

use serde_json::Value;

pub use parse::parse;

#[derive(Clone, Debug, PartialEq)]
pub struct JsonPath {
    segments: Vec<Segment>,
}

#[derive(Clone, Debug, PartialEq)]
enum Segment {
    Field(String),
    Index(i64),
    Wildcard,
    Slice(Option<i64>, Option<i64>),
    Filter(Filter),
}

#[derive(Clone, Debug, PartialEq)]
struct Filter {
    left: Operand,
    /// `None` for an existence test such as `[?(@.name)]`.
    comparison: Option<(Op, Operand)>,
}

#[derive(Clone, Debug, PartialEq)]
enum Operand {
    /// A path relative to the filtered element (`@.type`).
    Current(Vec<Segment>),
    Literal(Value),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl JsonPath {
    /// Every value the path selects, in document order; missing keys select nothing.
    pub fn find<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        walk(&self.segments, vec![root])
    }

    /// The first selected value: what kube-apiserver puts in a printer-column cell.
    pub fn first<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        self.find(root).into_iter().next()
    }
}

fn walk<'a>(segments: &[Segment], mut current: Vec<&'a Value>) -> Vec<&'a Value> {
    for segment in segments {
        current = current.into_iter().flat_map(|v| step(segment, v)).collect();
    }
    current
}

fn step<'a>(segment: &Segment, value: &'a Value) -> Vec<&'a Value> {
    match (segment, value) {
        (Segment::Field(name), Value::Object(map)) => map.get(name).into_iter().collect(),
        (Segment::Index(i), Value::Array(items)) => resolve_index(*i, items.len())
            .and_then(|i| items.get(i))
            .into_iter()
            .collect(),
        (Segment::Wildcard, Value::Array(items)) => items.iter().collect(),
        (Segment::Wildcard, Value::Object(map)) => map.values().collect(),
        (Segment::Slice(start, end), Value::Array(items)) => {
            let len = items.len();
            let from = start
                .map_or(Some(0), |s| resolve_bound(s, len))
                .unwrap_or(0);
            let to = end
                .map_or(Some(len), |e| resolve_bound(e, len))
                .unwrap_or(0);
            items
                .get(from..to.max(from))
                .map(|s| s.iter().collect())
                .unwrap_or_default()
        }
        (Segment::Filter(filter), Value::Array(items)) => {
            items.iter().filter(|item| filter.matches(item)).collect()
        }
        _ => Vec::new(),
    }
}

fn resolve_index(i: i64, len: usize) -> Option<usize> {
    let len = i64::try_from(len).ok()?;
    let i = if i < 0 { len + i } else { i };
    usize::try_from(i).ok()
}

/// Slice bounds clamp to the array like Go's jsonpath does.
fn resolve_bound(b: i64, len: usize) -> Option<usize> {
    let len_i = i64::try_from(len).ok()?;
    let b = if b < 0 { len_i + b } else { b };
    usize::try_from(b.clamp(0, len_i)).ok()
}

impl Filter {
    fn matches(&self, item: &Value) -> bool {
        let left = self.left.values(item);
        match &self.comparison {
            // Go's jsonpath counts a present key as existing, whatever its value.
            None => !left.is_empty(),
            Some((op, right)) => {
                let right = right.values(item);
                left.iter()
                    .any(|l| right.iter().any(|r| compare(*op, l, r)))
            }
        }
    }
}

impl Operand {
    fn values<'a>(&'a self, item: &'a Value) -> Vec<&'a Value> {
        match self {
            Operand::Current(path) => walk(path, vec![item]),
            Operand::Literal(v) => vec![v],
        }
    }
}

fn compare(op: Op, l: &Value, r: &Value) -> bool {
    use std::cmp::Ordering;
    let ordering = match (l, r) {
        (Value::Number(a), Value::Number(b)) => a
            .as_f64()
            .zip(b.as_f64())
            .and_then(|(a, b)| a.partial_cmp(&b)),
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Value::Bool(a), Value::Bool(b)) if matches!(op, Op::Eq | Op::Ne) => Some(a.cmp(b)),
        _ => None,
    };
    match (op, ordering) {
        (Op::Eq, Some(o)) => o == Ordering::Equal,
        (Op::Ne, Some(o)) => o != Ordering::Equal,
        (Op::Lt, Some(o)) => o == Ordering::Less,
        (Op::Le, Some(o)) => o != Ordering::Greater,
        (Op::Gt, Some(o)) => o == Ordering::Greater,
        (Op::Ge, Some(o)) => o != Ordering::Less,
        // Go refuses to compare values of different kinds; the row then matches nothing.
        (_, None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "metadata": {"name": "w1", "labels": {"app": "x"}},
            "spec": {"size": 3, "ratio": 1.5, "tags": ["a", "b", "c"], "on": true,
                     "parts": [{"name": "bolt", "count": 2}, {"name": "nut"}, {"name": "gear", "count": 7}]},
            "status": {"conditions": [
                {"type": "Synced", "status": "False"},
                {"type": "Ready", "status": "True", "observedGeneration": 2}
            ]}
        })
    }

    #[test]
    fn selects_like_client_go_jsonpath() {
        let d = doc();
        let cases: &[(&str, Vec<Value>)] = &[
            (".metadata.name", vec![json!("w1")]),
            ("{.metadata.name}", vec![json!("w1")]),
            (".metadata['labels'].app", vec![json!("x")]),
            (".spec.size", vec![json!(3)]),
            (".spec.tags[0]", vec![json!("a")]),
            (".spec.tags[-1]", vec![json!("c")]),
            (".spec.tags[5]", vec![]),
            (".spec.tags[*]", vec![json!("a"), json!("b"), json!("c")]),
            (".spec.tags[1:]", vec![json!("b"), json!("c")]),
            (".spec.tags[:2]", vec![json!("a"), json!("b")]),
            (".spec.parts[*].count", vec![json!(2), json!(7)]),
            (
                ".spec.parts[*].name",
                vec![json!("bolt"), json!("nut"), json!("gear")],
            ),
            (
                ".status.conditions[?(@.type==\"Ready\")].status",
                vec![json!("True")],
            ),
            (
                ".status.conditions[?(@.type=='Ready')].status",
                vec![json!("True")],
            ),
            (
                ".status.conditions[?(@.type!=\"Ready\")].type",
                vec![json!("Synced")],
            ),
            (".status.conditions[?(@.type==\"Missing\")].status", vec![]),
            (
                ".status.conditions[?(@.observedGeneration==2)].type",
                vec![json!("Ready")],
            ),
            (
                ".status.conditions[?(@.observedGeneration)].type",
                vec![json!("Ready")],
            ),
            (".spec.parts[?(@.count>2)].name", vec![json!("gear")]),
            (".spec.parts[?(@.count<=2)].name", vec![json!("bolt")]),
            (
                ".spec.parts[?(@.count >= 2)].name",
                vec![json!("bolt"), json!("gear")],
            ),
            (".spec.missing.deeper", vec![]),
            (".spec.size.deeper", vec![]),
            (".spec.tags.name", vec![]),
            (".", vec![d.clone()]),
        ];
        for (expr, want) in cases {
            let path = parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
            let got: Vec<Value> = path.find(&d).into_iter().cloned().collect();
            assert_eq!(&got, want, "{expr}");
        }
    }

    #[test]
    fn filters_compare_booleans() {
        let d = json!({"items": [{"on": true, "n": "a"}, {"on": false, "n": "b"}]});
        let p = parse(".items[?(@.on==true)].n").unwrap();
        assert_eq!(p.find(&d), vec![&json!("a")]);
        let p = parse(".items[?(@.on==false)].n").unwrap();
        assert_eq!(p.find(&d), vec![&json!("b")]);
    }

    #[test]
    fn first_is_the_printer_column_value() {
        let d = doc();
        assert_eq!(
            parse(".spec.parts[*].name").unwrap().first(&d),
            Some(&json!("bolt"))
        );
        assert_eq!(parse(".nothing").unwrap().first(&d), None);
    }
}
