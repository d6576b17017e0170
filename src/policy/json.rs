//! Read-only views into a parsed policy document shared by the checks and the guardrails.
//! They skip what does not fit IAM's grammar; `check_document` is the one that reports it.

use serde_json::{Map, Value};

pub(crate) type Statement = Map<String, Value>;

/// `Statement` may be a single object or a list of them.
pub(crate) fn statements(doc: &Value) -> Vec<&Statement> {
    match doc.get("Statement") {
        Some(Value::Object(one)) => vec![one],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_object).collect(),
        _ => Vec::new(),
    }
}

/// The strings of a field that IAM lets be a string or a list of strings.
pub(crate) fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn is_allow(statement: &Statement) -> bool {
    statement
        .get("Effect")
        .and_then(Value::as_str)
        .is_some_and(|effect| effect.eq_ignore_ascii_case("Allow"))
}

/// The principals of one kind (`AWS`, `Service`, `Federated`, …) named in `Principal`.
pub(crate) fn principals<'a>(statement: &'a Statement, kind: &str) -> Vec<&'a str> {
    match statement.get("Principal") {
        Some(Value::Object(map)) => strings(map.get(kind)),
        _ => Vec::new(),
    }
}

/// Whether the statement covers `action`: an Action pattern matches it, or a NotAction has no
/// pattern that does. IAM matches action names case-insensitively, `*` standing for any run of
/// characters and `?` for any one (so `sts:AssumeRoleWith*`, `sts:*` and `*` all cover
/// `sts:AssumeRoleWithWebIdentity`).
pub(crate) fn allows_action(statement: &Statement, action: &str) -> bool {
    let matches = |field: &str| {
        strings(statement.get(field))
            .iter()
            .any(|pattern| wildcard_match(pattern, action))
    };
    if statement.contains_key("NotAction") {
        !matches("NotAction")
    } else {
        matches("Action")
    }
}

/// IAM's wildcard matching, ignoring ASCII case.
pub(crate) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let text: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was and how much text it has taken: a mismatch retries with one more.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            star = Some((star_p, star_t + 1));
            p = star_p + 1;
            t = star_t + 1;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// Whether some action matches both patterns (each with IAM's `*` and `?`, ignoring ASCII
/// case): `iam:Create*` and `iam:*Role` share `iam:CreateRole`.
pub(crate) fn patterns_overlap(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    // reach[i][j]: the first i characters of `a` and the first j of `b` can produce the same text.
    let mut reach = vec![vec![false; b.len() + 1]; a.len() + 1];
    reach[0][0] = true;
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            if reach[i][j] {
                continue;
            }
            let star_a = i > 0 && a[i - 1] == '*';
            let star_b = j > 0 && b[j - 1] == '*';
            // A star may produce nothing, or also take what the other side's last symbol made.
            reach[i][j] = (star_a && (reach[i - 1][j] || (j > 0 && reach[i][j - 1])))
                || (star_b && (reach[i][j - 1] || (i > 0 && reach[i - 1][j])))
                || (i > 0
                    && j > 0
                    && !star_a
                    && !star_b
                    && (a[i - 1] == '?' || b[j - 1] == '?' || a[i - 1] == b[j - 1])
                    && reach[i - 1][j - 1]);
        }
    }
    reach[a.len()][b.len()]
}

/// Whether every action `inner` matches is matched by `outer` too. Sure when it answers yes; it
/// may answer no for a pattern covered only in ways it does not see (callers then err on the
/// side of reporting).
pub(crate) fn pattern_covers(outer: &str, inner: &str) -> bool {
    let outer: Vec<char> = outer.chars().map(|c| c.to_ascii_lowercase()).collect();
    let inner: Vec<char> = inner.chars().map(|c| c.to_ascii_lowercase()).collect();
    // covered[i][j]: outer's first i symbols match inner's first j, where an inner wildcard may
    // only be taken by an outer `*` (or `?` by `?`): whatever it stands for, outer matches it.
    let mut covered = vec![vec![false; inner.len() + 1]; outer.len() + 1];
    covered[0][0] = true;
    for i in 1..=outer.len() {
        for j in 0..=inner.len() {
            covered[i][j] = if outer[i - 1] == '*' {
                covered[i - 1][j] || (j > 0 && covered[i][j - 1])
            } else {
                j > 0
                    && covered[i - 1][j - 1]
                    && inner[j - 1] != '*'
                    && (outer[i - 1] == '?' || outer[i - 1] == inner[j - 1])
            };
        }
    }
    covered[outer.len()][inner.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        let cases = [
            ("sts:AssumeRole", "sts:AssumeRole", true),
            ("STS:assumerole", "sts:AssumeRole", true),
            ("*", "sts:AssumeRole", true),
            ("*", "", true),
            ("", "", true),
            ("", "a", false),
            ("sts:*", "sts:AssumeRole", true),
            ("sts:*", "s3:GetObject", false),
            ("sts:Assume*", "sts:AssumeRoleWithSAML", true),
            ("sts:*With*", "sts:AssumeRoleWithSAML", true),
            ("sts:*With*", "sts:AssumeRole", false),
            ("sts:AssumeRole?", "sts:AssumeRole", false),
            ("sts:Assume?ole", "sts:AssumeRole", true),
            ("sts:AssumeRole", "sts:AssumeRoleWithSAML", false),
            ("*SAML", "sts:AssumeRoleWithSAML", true),
            ("*a*a*a", "aaa", true),
            ("*a*a*a", "aa", false),
            ("**", "x", true),
        ];
        for (pattern, text, want) in cases {
            assert_eq!(wildcard_match(pattern, text), want, "{pattern} {text}");
        }
    }

    #[test]
    fn overlaps() {
        let cases = [
            ("iam:PassRole", "iam:PassRole", true),
            ("iam:passrole", "IAM:PassRole", true),
            ("iam:*", "iam:PassRole", true),
            ("iam:PassRole", "iam:*", true),
            ("iam:Create*", "iam:*Role", true),
            ("iam:Create*", "iam:Delete*", false),
            ("*", "", true),
            ("", "", true),
            ("", "a", false),
            ("a?", "a", false),
            ("a?", "*", true),
            ("s3:*", "iam:*", false),
            ("*:Get*", "s3:*Object", true),
            ("iam:Pass?ole", "iam:PassRole", true),
            ("iam:Pass?ole", "iam:PassRoles", false),
            ("iam:*Policy", "iam:Put*", true),
            ("iam:*Policy", "s3:Put*", false),
        ];
        for (a, b, want) in cases {
            assert_eq!(patterns_overlap(a, b), want, "{a} {b}");
            assert_eq!(patterns_overlap(b, a), want, "{b} {a}");
        }
    }

    #[test]
    fn covers() {
        let cases = [
            ("iam:*", "iam:PassRole", true),
            ("iam:*", "iam:Pass*", true),
            ("IAM:*", "iam:Pass?ole", true),
            ("iam:PassRole", "iam:*", false),
            ("iam:Pass*", "iam:*", false),
            ("iam:?", "iam:*", false),
            ("iam:?", "iam:?", true),
            ("iam:??", "iam:?", false),
            ("*", "*", true),
            ("*Role", "iam:*Role", true),
            ("*Role", "iam:Role*", false),
            ("s3:*", "iam:PassRole", false),
        ];
        for (outer, inner, want) in cases {
            assert_eq!(pattern_covers(outer, inner), want, "{outer} {inner}");
        }
    }
}
