//! Kubernetes' version ordering (apimachinery `version.CompareKubeAwareVersionStrings`): GA before
//! beta before alpha, higher numbers first, then non-Kubernetes-looking versions alphabetically.
//! Discovery lists a group's versions in this order and the first is the preferred one.

use std::cmp::Ordering;

/// Sorts versions from most to least preferred.
pub fn sort_versions(versions: &mut [String]) {
    versions.sort_by(|a, b| compare(a, b));
}

fn compare(a: &str, b: &str) -> Ordering {
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => y.cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// `(stage, major, minor)` where stage is 2 for GA, 1 for beta, 0 for alpha; larger is preferred.
/// Matches `^v(\d+)(?:(alpha|beta)(\d+))?$` like apimachinery does.
fn parse(v: &str) -> Option<(u8, u64, u64)> {
    let rest = v.strip_prefix('v')?;
    let digits_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (major_text, tail) = rest.split_at(digits_end);
    if major_text.is_empty() {
        return None;
    }
    let major = major_text.parse().ok()?;
    if tail.is_empty() {
        return Some((2, major, 0));
    }
    let (stage, minor_text) = if let Some(m) = tail.strip_prefix("beta") {
        (1, m)
    } else if let Some(m) = tail.strip_prefix("alpha") {
        (0, m)
    } else {
        return None;
    };
    if minor_text.is_empty() || !minor_text.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((stage, major, minor_text.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_like_kube_apiserver() {
        let mut v: Vec<String> = [
            "v1alpha1",
            "foo1",
            "v1beta1",
            "v2",
            "v1",
            "v11alpha2",
            "v12alpha1",
            "v1beta2",
            "v10",
            "foo10",
            "v2beta1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        sort_versions(&mut v);
        assert_eq!(
            v,
            [
                "v10",
                "v2",
                "v1",
                "v2beta1",
                "v1beta2",
                "v1beta1",
                "v12alpha1",
                "v11alpha2",
                "v1alpha1",
                "foo1",
                "foo10"
            ]
        );
    }

    #[test]
    fn stage_outranks_major() {
        let mut v: Vec<String> = ["v3alpha1", "v2beta1", "v1", "v0"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        sort_versions(&mut v);
        assert_eq!(v, ["v1", "v0", "v2beta1", "v3alpha1"]);
    }

    #[test]
    fn odd_versions_are_not_kube_like() {
        for odd in ["v", "v1beta", "v1gamma1", "1", "v1beta1x", "V1"] {
            assert_eq!(parse(odd), None, "{odd}");
        }
    }
}
