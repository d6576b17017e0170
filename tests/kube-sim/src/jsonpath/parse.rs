//! Parses the printer-column JSONPath subset; anything outside it is an error naming what is unsupported.

use serde_json::Value;

use super::{Filter, JsonPath, Op, Operand, Segment};

/// Parses `.a.b`, `{.a.b}`, `$.a.b` and the bracket forms listed in the module docs.
pub fn parse(expr: &str) -> Result<JsonPath, String> {
    let trimmed = expr.trim();
    let inner = match trimmed.strip_prefix('{') {
        Some(rest) => rest
            .strip_suffix('}')
            .ok_or_else(|| format!("unclosed action in JSONPath {expr:?}"))?,
        None => trimmed,
    };
    let inner = inner.strip_prefix('$').unwrap_or(inner);
    if !inner.starts_with('.') && !inner.starts_with('[') {
        return Err(format!("JSONPath {expr:?} must start with '.'"));
    }
    let segments = segments(inner).map_err(|e| format!("unsupported JSONPath {expr:?}: {e}"))?;
    Ok(JsonPath { segments })
}

fn segments(s: &str) -> Result<Vec<Segment>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                if chars.get(i + 1) == Some(&'.') {
                    return Err("recursive descent '..' is not supported".into());
                }
                let (name, next) = field_name(&chars, i + 1);
                i = next;
                match name.as_str() {
                    // A lone "." (the whole object) selects the root.
                    "" if i >= chars.len() && out.is_empty() => {}
                    "" => return Err("empty field name".into()),
                    "*" => out.push(Segment::Wildcard),
                    _ => out.push(Segment::Field(name)),
                }
            }
            '[' => {
                let close = bracket_end(&chars, i)?;
                let body: String = chars[i + 1..close].iter().collect();
                out.push(bracket(body.trim())?);
                i = close + 1;
            }
            c => return Err(format!("unexpected {c:?}")),
        }
    }
    Ok(out)
}

/// Reads a field name up to the next unescaped `.` or `[`; `\.` keeps a dot inside the name.
fn field_name(chars: &[char], mut i: usize) -> (String, usize) {
    let mut name = String::new();
    while i < chars.len() {
        match chars[i] {
            '\\' if chars.get(i + 1) == Some(&'.') => {
                name.push('.');
                i += 2;
            }
            '.' | '[' => break,
            c => {
                name.push(c);
                i += 1;
            }
        }
    }
    (name, i)
}

/// Finds the `]` closing the bracket at `open`, skipping quoted text and filter parentheses.
fn bracket_end(chars: &[char], open: usize) -> Result<usize, String> {
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    for (j, &c) in chars.iter().enumerate().skip(open + 1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth = depth.saturating_sub(1),
            (None, ']') if depth == 0 => return Ok(j),
            _ => {}
        }
    }
    Err("unclosed '['".into())
}

fn bracket(body: &str) -> Result<Segment, String> {
    if body == "*" {
        return Ok(Segment::Wildcard);
    }
    if let Some(filter) = body.strip_prefix("?(") {
        let filter = filter.strip_suffix(')').ok_or("unclosed filter")?;
        return parse_filter(filter.trim()).map(Segment::Filter);
    }
    if let Some(name) = quoted(body) {
        return Ok(Segment::Field(name));
    }
    if body.contains(',') {
        return Err("unions are not supported".into());
    }
    if body.contains(':') {
        let parts: Vec<&str> = body.split(':').collect();
        if parts.len() > 2 {
            return Err("slice steps are not supported".into());
        }
        return Ok(Segment::Slice(bound(parts[0])?, bound(parts[1])?));
    }
    body.parse::<i64>()
        .map(Segment::Index)
        .map_err(|_| format!("unsupported subscript [{body}]"))
}

fn bound(s: &str) -> Result<Option<i64>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<i64>()
        .map(Some)
        .map_err(|_| format!("invalid slice bound {s:?}"))
}

fn quoted(s: &str) -> Option<String> {
    let first = s.chars().next()?;
    if (first == '\'' || first == '"') && s.len() >= 2 && s.ends_with(first) {
        Some(s[1..s.len() - 1].to_string())
    } else {
        None
    }
}

fn parse_filter(body: &str) -> Result<Filter, String> {
    match split_operator(body) {
        None => Ok(Filter {
            left: operand(body)?,
            comparison: None,
        }),
        Some((left, op, right)) => {
            let op = match op {
                "==" => Op::Eq,
                "!=" => Op::Ne,
                "<" => Op::Lt,
                "<=" => Op::Le,
                ">" => Op::Gt,
                ">=" => Op::Ge,
                other => return Err(format!("unrecognized filter operator {other}")),
            };
            Ok(Filter {
                left: operand(left)?,
                comparison: Some((op, operand(right)?)),
            })
        }
    }
}

/// Splits `left OP right` at the first run of operator characters outside quotes.
fn split_operator(body: &str) -> Option<(&str, &str, &str)> {
    let mut quote: Option<char> = None;
    let mut start = None;
    for (i, c) in body.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '!' | '<' | '>' | '=') => {
                start.get_or_insert(i);
            }
            (None, _) => {
                if let Some(s) = start {
                    return Some((body[..s].trim(), &body[s..i], body[i..].trim()));
                }
                if c == '"' || c == '\'' {
                    quote = Some(c);
                }
            }
        }
    }
    None
}

fn operand(s: &str) -> Result<Operand, String> {
    let s = s.trim();
    if let Some(path) = s.strip_prefix('@') {
        return segments(path).map(Operand::Current);
    }
    if let Some(text) = quoted(s) {
        return Ok(Operand::Literal(Value::String(text)));
    }
    match s {
        "true" => return Ok(Operand::Literal(Value::Bool(true))),
        "false" => return Ok(Operand::Literal(Value::Bool(false))),
        _ => {}
    }
    if let Ok(i) = s.parse::<i64>() {
        return Ok(Operand::Literal(Value::from(i)));
    }
    if let Ok(f) = s.parse::<f64>() {
        return Ok(Operand::Literal(Value::from(f)));
    }
    Err(format!("unsupported filter operand {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_it_cannot_evaluate() {
        let cases = [
            ("spec.a", "must start with '.'"),
            ("{.spec.a", "unclosed action"),
            ("..a", "recursive descent"),
            (".a[0,1]", "unions"),
            (".a[0:4:2]", "slice steps"),
            (".a[x]", "unsupported subscript"),
            (".a[0", "unclosed '['"),
            (".a[?(@.b=~\"x\")]", "unrecognized filter operator"),
            (".a[?(@.b==x)]", "unsupported filter operand"),
            (".a.", "empty field name"),
        ];
        for (expr, want) in cases {
            let err = parse(expr).expect_err(expr);
            assert!(err.contains(want), "{expr}: {err}");
        }
    }

    #[test]
    fn escaped_dots_stay_in_the_name() {
        let p = parse(r".metadata.annotations.example\.com/owner").unwrap();
        let doc = serde_json::json!({"metadata": {"annotations": {"example.com/owner": "me"}}});
        assert_eq!(p.first(&doc), Some(&serde_json::json!("me")));
    }
}
