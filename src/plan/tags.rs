//! Tags are exclusive, except for the keys rolesmith must never remove: its own ownership tag
//! (removing it would disown the role) and `aws:` keys (reserved; IAM refuses to change them, and
//! tools such as CloudFormation rely on them).

use std::collections::BTreeMap;

use super::ownership::is_owner_key;

#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct TagChanges {
    /// Sent first: a key whose case changed must be gone before it is written in its new case.
    pub untag: Vec<String>,
    pub tag: BTreeMap<String, String>,
}

pub fn is_protected(key: &str) -> bool {
    is_owner_key(key)
        || key
            .get(..4)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("aws:"))
}

/// Whether `key` is owned by others: it matches one of `patterns`, each an exact key or a
/// prefix ending in `*`, compared case-insensitively like IAM compares tag keys.
pub fn is_ignored(key: &str, patterns: &[String]) -> bool {
    let key = key.to_lowercase();
    patterns.iter().any(|pattern| {
        let pattern = pattern.to_lowercase();
        match pattern.strip_suffix('*') {
            Some(prefix) => key.starts_with(prefix),
            None => key == pattern,
        }
    })
}

/// `desired` already includes the ownership tag. Keys are compared exactly, so a case change is
/// an untag of the old key plus a tag of the new one; the two lists never share a key, which is
/// what keeps UntagRole from deleting a tag that TagRole just wrote. Keys owned by others
/// (`ignored`) are neither removed nor written.
pub(super) fn tag_changes(
    desired: &BTreeMap<String, String>,
    observed: &BTreeMap<String, String>,
    ignored: &[String],
) -> TagChanges {
    let untag = observed
        .keys()
        .filter(|key| {
            !is_protected(key) && !is_ignored(key, ignored) && !desired.contains_key(*key)
        })
        .cloned()
        .collect();
    let tag = desired
        .iter()
        .filter(|(key, _)| !is_ignored(key, ignored))
        .filter(|(key, value)| observed.get(*key) != Some(*value))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    TagChanges { untag, tag }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn protected_keys() {
        let cases = [
            ("rolesmith.dev/owner", true),
            ("Rolesmith.Dev/Owner", true),
            ("aws:cloudformation:stack-name", true),
            ("AWS:foo", true),
            ("aws", false),
            ("awsome", false),
            ("team", false),
            ("rolesmith.dev/owner2", false),
            ("", false),
            ("é", false),
        ];
        for (key, want) in cases {
            assert_eq!(is_protected(key), want, "{key}");
        }
    }

    #[test]
    fn tag_changes_table() {
        let owner = ("rolesmith.dev/owner", "c/ns/n");
        // (case, desired, observed, expected untag, expected tag)
        type Pairs = Vec<(&'static str, &'static str)>;
        type Case = (&'static str, Pairs, Pairs, Vec<&'static str>, Pairs);
        let cases: Vec<Case> = vec![
            (
                "in sync",
                vec![owner, ("team", "a")],
                vec![owner, ("team", "a")],
                vec![],
                vec![],
            ),
            (
                "add",
                vec![owner, ("team", "a")],
                vec![owner],
                vec![],
                vec![("team", "a")],
            ),
            (
                "value change only",
                vec![owner, ("team", "b")],
                vec![owner, ("team", "a")],
                vec![],
                vec![("team", "b")],
            ),
            (
                "remove",
                vec![owner],
                vec![owner, ("team", "a")],
                vec!["team"],
                vec![],
            ),
            (
                "key case change",
                vec![owner, ("Team", "a")],
                vec![owner, ("team", "a")],
                vec!["team"],
                vec![("Team", "a")],
            ),
            (
                "key case and value change",
                vec![owner, ("Team", "b")],
                vec![owner, ("team", "a")],
                vec!["team"],
                vec![("Team", "b")],
            ),
            (
                "aws: tags left alone",
                vec![owner],
                vec![owner, ("aws:cloudformation:stack-id", "x"), ("AWS:x", "y")],
                vec![],
                vec![],
            ),
            (
                "ownership tag missing is written",
                vec![owner],
                vec![],
                vec![],
                vec![owner],
            ),
            (
                "foreign-case owner key never untagged",
                vec![owner],
                vec![owner, ("ROLESMITH.DEV/OWNER", "x")],
                vec![],
                vec![],
            ),
            (
                "empty value is a value",
                vec![owner, ("team", "")],
                vec![owner, ("team", "a")],
                vec![],
                vec![("team", "")],
            ),
            (
                "several at once",
                vec![owner, ("a", "1"), ("B", "2"), ("c", "3")],
                vec![owner, ("a", "1"), ("b", "2"), ("c", "0"), ("d", "4")],
                vec!["b", "d"],
                vec![("B", "2"), ("c", "3")],
            ),
        ];
        for (name, desired, observed, untag, tag) in cases {
            let got = tag_changes(&map(&desired), &map(&observed), &[]);
            let want = TagChanges {
                untag: untag.iter().map(|k| k.to_string()).collect(),
                tag: map(&tag),
            };
            assert_eq!(got, want, "{name}");
            assert!(
                got.untag.iter().all(|k| !got.tag.contains_key(k)),
                "{name}: overlap"
            );
        }
    }

    #[test]
    fn ignored_keys() {
        let patterns = vec!["org:*".to_string(), "CostCenter".to_string()];
        let cases = [
            ("org:team", true),
            ("ORG:Team", true),
            ("org:", true),
            ("org", false),
            ("costcenter", true),
            ("CostCenter", true),
            ("CostCenter2", false),
            ("team", false),
        ];
        for (key, want) in cases {
            assert_eq!(is_ignored(key, &patterns), want, "{key}");
        }
        assert!(!is_ignored("anything", &[]));
        assert!(is_ignored("anything", &["*".to_string()]));
    }

    /// Tags stamped by an organisation survive: never untagged, never rewritten.
    #[test]
    fn ignored_keys_are_left_alone() {
        let desired = map(&[("team", "a")]);
        let observed = map(&[("team", "b"), ("org:cost", "42"), ("legacy", "x")]);
        let got = tag_changes(&desired, &observed, &["org:*".to_string()]);
        assert_eq!(got.untag, vec!["legacy".to_string()]);
        assert_eq!(got.tag, map(&[("team", "a")]));
        let got = tag_changes(
            &map(&[("org:cost", "1")]),
            &map(&[]),
            &["org:*".to_string()],
        );
        assert!(got.tag.is_empty(), "an ignored key is never written either");
    }
}
