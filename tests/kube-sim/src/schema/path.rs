//! Field paths as kube-apiserver spells them in errors: `spec.items[0].name`, map entries
//! as `spec.tags.team` (OpenAPI checks) or `spec.tags[team]` (CEL rules, `field.Path.Key`).

pub fn child(at: &str, name: &str) -> String {
    if at.is_empty() {
        name.to_string()
    } else {
        format!("{at}.{name}")
    }
}

pub fn index(at: &str, i: usize) -> String {
    format!("{at}[{i}]")
}

pub fn key(at: &str, k: &str) -> String {
    format!("{at}[{k}]")
}
