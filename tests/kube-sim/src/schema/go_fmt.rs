//! How Go's `fmt` prints the values of an unstructured object, because kube-apiserver's
//! error messages embed them (`%q` for strings, `%v` for numbers, `%#v` for maps and
//! slices) and kubectl shows those messages verbatim.

use serde_json::{Number, Value};

/// `%q` (strconv.Quote).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if is_printable(c) => out.push(c),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Go's `unicode.IsPrint`, near enough: no controls, and ASCII space the only space.
fn is_printable(c: char) -> bool {
    !c.is_control()
        && (c == ' ' || !c.is_whitespace())
        && !matches!(c, '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{feff}')
}

/// `%v` of a JSON number as Go decodes it: int64 when integral, float64 otherwise.
pub fn number(n: &Number) -> String {
    match (n.as_i64(), n.as_u64()) {
        (Some(i), _) => i.to_string(),
        (None, Some(u)) => u.to_string(),
        _ => float(n.as_f64().unwrap_or(f64::NAN)),
    }
}

/// `%v` of a float64 (strconv 'g' with shortest precision): `%e` form when the decimal
/// exponent is below -4 or at least 6, so 1e6 prints as `1e+06` and 43200 as `43200`.
pub fn float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    // `{:e}` gives the shortest round-tripping digits as `d.ddde±x`.
    let sci = format!("{f:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if f != 0.0 && !(-4..6).contains(&exponent) {
        go_exponent(mantissa, exponent)
    } else {
        format!("{f}")
    }
}

fn go_exponent(mantissa: &str, exponent: i32) -> String {
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.abs())
}

/// The error value as `field.Error.ErrorBody` prints it.
pub fn error_value(v: &Value) -> String {
    match v {
        Value::Null => quote("null"),
        Value::String(s) => quote(s),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n),
        Value::Array(_) | Value::Object(_) => sharp_v(v),
    }
}

/// `%#v` of an unstructured value (`map[string]interface {}{"a":1}`), keys sorted as fmt does.
pub fn sharp_v(v: &Value) -> String {
    match v {
        Value::Null => "interface {}(nil)".to_string(),
        Value::String(s) => quote(s),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(sharp_v).collect();
            format!("[]interface {{}}{{{}}}", parts.join(", "))
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", quote(k), sharp_v(&map[k])))
                .collect();
            format!("map[string]interface {{}}{{{}}}", parts.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_print_like_go_percent_v() {
        let cases = [
            (100.0, "100"),
            (43200.0, "43200"),
            (123456.0, "123456"),
            (1e6, "1e+06"),
            (1.5, "1.5"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (123456789.0, "1.23456789e+08"),
            (-2.5e21, "-2.5e+21"),
            (0.0, "0"),
        ];
        for (f, want) in cases {
            assert_eq!(float(f), want, "{f}");
        }
    }

    #[test]
    fn values_print_like_field_error_bodies() {
        let cases = [
            (json!("x\"y\n"), r#""x\"y\n""#),
            (json!("é"), r#""é""#),
            (json!("\u{1}"), r#""\x01""#),
            (json!(null), r#""null""#),
            (json!(true), "true"),
            (json!(-7), "-7"),
            (json!(2.5), "2.5"),
            (json!(["a", 1]), r#"[]interface {}{"a", 1}"#),
            (
                json!({"b": null, "a": {"c": []}}),
                r#"map[string]interface {}{"a":map[string]interface {}{"c":[]interface {}{}}, "b":interface {}(nil)}"#,
            ),
        ];
        for (v, want) in cases {
            assert_eq!(error_value(&v), want, "{v}");
        }
    }
}
