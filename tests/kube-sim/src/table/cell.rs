//! Printer-column cells the way the CRD table convertor builds them (apiextensions-apiserver
//! `tableconvertor.cellForJSONValue`, and Go's `fmt.Fprint` for `string` columns).

use jiff::Timestamp;
use serde_json::{Number, Value};

use super::age::age;

/// The cell for one column of type `column_type` holding `value`; `Null` prints as an empty cell.
pub fn cell(column_type: &str, value: &Value, now: Timestamp) -> Value {
    if value.is_null() {
        return Value::Null;
    }
    match (column_type, value) {
        // A string column prints whatever it finds, as Go's fmt would.
        ("string", v) => Value::String(go_print(v)),
        ("integer", Value::Number(n)) => match n.as_i64() {
            Some(i) => Value::from(i),
            // Go converts a float to int64 by truncation.
            None => n
                .as_f64()
                .map_or(Value::Null, |f| Value::from(f.trunc() as i64)),
        },
        ("number", Value::Number(n)) => Value::Number(n.clone()),
        ("boolean", Value::Bool(b)) => Value::Bool(*b),
        ("date", Value::String(s)) => Value::String(age(Some(s), now)),
        _ => Value::Null,
    }
}

/// `fmt.Fprint` of a value decoded from JSON into Go's `interface{}`.
pub fn go_print(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_number(n),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(go_print).collect::<Vec<_>>().join(" ")
        ),
        Value::Object(map) => {
            // Go prints maps with their keys sorted.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{k}:{}", go_print(&map[k.as_str()])))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// Integers print as such; floats as Go's `%v` (shortest digits, exponent form from 1e6 or below 1e-4).
fn go_number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(f64::NAN);
    go_float(f)
}

fn go_float(f: f64) -> String {
    if f == 0.0 || !f.is_finite() {
        return format!("{f}");
    }
    // Rust's `{:e}` gives the shortest round-trip digits, like Go's 'g' with precision -1.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        format!("{f}")
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_by_column_type() {
        let now: Timestamp = "2026-11-29T12:00:00Z".parse().unwrap();
        let cases: &[(&str, Value, Value)] = &[
            ("string", json!("x"), json!("x")),
            ("string", json!(3), json!("3")),
            ("string", json!(true), json!("true")),
            ("string", json!(["a", "b"]), json!("[a b]")),
            (
                "string",
                json!({"b": 1, "a": {"c": "d"}}),
                json!("map[a:map[c:d] b:1]"),
            ),
            ("string", json!(null), json!(null)),
            ("integer", json!(7), json!(7)),
            ("integer", json!(7.9), json!(7)),
            ("integer", json!("7"), json!(null)),
            ("number", json!(1.5), json!(1.5)),
            ("number", json!("1.5"), json!(null)),
            ("boolean", json!(false), json!(false)),
            ("boolean", json!("false"), json!(null)),
            ("date", json!("2026-11-29T11:57:00Z"), json!("3m")),
            ("date", json!("not a date"), json!("<invalid>")),
            ("date", json!(""), json!("<unknown>")),
            ("date", json!(5), json!(null)),
            ("unknown-type", json!("x"), json!(null)),
        ];
        for (ty, value, want) in cases {
            assert_eq!(&cell(ty, value, now), want, "{ty} {value}");
        }
    }

    #[test]
    fn floats_print_like_go() {
        let cases: &[(f64, &str)] = &[
            (1.5, "1.5"),
            (3.0, "3"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (1e20, "1e+20"),
            (1e21, "1e+21"),
            (-2.5e-7, "-2.5e-07"),
        ];
        for (f, want) in cases {
            assert_eq!(go_float(*f), *want, "{f}");
        }
    }
}
