//! Whose role is it? Decided from the ownership tag alone, so the answer survives restarts and is
//! visible to anyone who looks at the role in IAM.

use std::collections::BTreeMap;

use crate::model::{OWNER_TAG_KEY, ObservedRole, Owner};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// Tagged for exactly this IamRole object in this cluster.
    Owned,
    /// Carries no ownership tag and the spec asks to adopt it.
    Adoptable,
    /// Must not be touched. The reason continues a sentence that starts with the role's name.
    Foreign { reason: String },
}

pub fn ownership(observed: &ObservedRole, owner: &Owner, adopt: bool) -> Ownership {
    ownership_of(&observed.tags, owner, adopt, Kind::Role)
}

/// Which kind of object owns the IAM entity: the words of the messages differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Role,
    Policy,
}

impl Kind {
    fn object(self) -> &'static str {
        match self {
            Kind::Role => "IamRole",
            Kind::Policy => "IamPolicy",
        }
    }

    fn entity(self) -> &'static str {
        match self {
            Kind::Role => "role",
            Kind::Policy => "policy",
        }
    }
}

/// [`ownership`] from an IAM entity's tags, for roles and managed policies alike.
pub fn ownership_of(
    tags: &BTreeMap<String, String>,
    owner: &Owner,
    adopt: bool,
    kind: Kind,
) -> Ownership {
    let ours = owner.tag_value();
    if tags.get(OWNER_TAG_KEY) == Some(&ours) {
        return Ownership::Owned;
    }
    // IAM tag keys are case-insensitive, so a key in another case is still somebody's claim.
    let claim = tags.iter().find(|(key, _)| is_owner_key(key));
    match claim {
        None if adopt => Ownership::Adoptable,
        None => Ownership::Foreign {
            reason: "exists and is not managed by rolesmith; set spec.adopt: true to take it over"
                .to_string(),
        },
        Some((key, value)) => Ownership::Foreign {
            reason: claimed_elsewhere(key, value, owner, kind),
        },
    }
}

pub(super) fn is_owner_key(key: &str) -> bool {
    key.eq_ignore_ascii_case(OWNER_TAG_KEY)
}

fn claimed_elsewhere(key: &str, value: &str, owner: &Owner, kind: Kind) -> String {
    let (object, entity) = (kind.object(), kind.entity());
    if *value == owner.tag_value() {
        return format!(
            "carries the ownership tag as `{key}={value}`, with the key in another case than \
             `{OWNER_TAG_KEY}`; rename the tag key in IAM so rolesmith recognises the {entity}"
        );
    }
    let holder = match parse_tag_value(value) {
        Some((cluster, namespace, name)) if cluster != owner.cluster => format!(
            "{object} {namespace}/{name} in cluster `{cluster}` (this operator's cluster id is \
             `{}`)",
            owner.cluster
        ),
        Some((cluster, namespace, name)) => {
            format!("{object} {namespace}/{name} in cluster `{cluster}`")
        }
        None => "another owner".to_string(),
    };
    format!(
        "is managed by {holder} (tag `{key}={value}`); spec.adopt never takes a {entity} from \
         another owner"
    )
}

/// `cluster/namespace/name`; the cluster id may itself contain `/`, namespaces and names cannot.
fn parse_tag_value(value: &str) -> Option<(&str, &str, &str)> {
    let mut parts = value.rsplitn(3, '/');
    let name = parts.next()?;
    let namespace = parts.next()?;
    let cluster = parts.next()?;
    if name.is_empty() || namespace.is_empty() || cluster.is_empty() {
        return None;
    }
    Some((cluster, namespace, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> Owner {
        Owner {
            cluster: "prod".into(),
            namespace: "team-a".into(),
            name: "app".into(),
        }
    }

    fn tagged(tags: &[(&str, &str)]) -> ObservedRole {
        ObservedRole {
            name: "app-x".into(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..ObservedRole::default()
        }
    }

    #[test]
    fn ownership_table() {
        let foreign_untagged = Ownership::Foreign {
            reason: "exists and is not managed by rolesmith; set spec.adopt: true to take it over"
                .into(),
        };
        let cases: Vec<(&str, ObservedRole, bool, Ownership)> = vec![
            (
                "our tag",
                tagged(&[(OWNER_TAG_KEY, "prod/team-a/app")]),
                false,
                Ownership::Owned,
            ),
            (
                "our tag, adopt makes no difference",
                tagged(&[(OWNER_TAG_KEY, "prod/team-a/app"), ("team", "a")]),
                true,
                Ownership::Owned,
            ),
            ("untagged, adopt", tagged(&[]), true, Ownership::Adoptable),
            (
                "other tags only, adopt",
                tagged(&[("team", "a"), ("aws:cloudformation:stack-name", "s")]),
                true,
                Ownership::Adoptable,
            ),
            (
                "untagged, no adopt",
                tagged(&[]),
                false,
                foreign_untagged.clone(),
            ),
            (
                "other tags only, no adopt",
                tagged(&[("team", "a")]),
                false,
                foreign_untagged,
            ),
            (
                "another object in this cluster, even with adopt",
                tagged(&[(OWNER_TAG_KEY, "prod/team-a/other")]),
                true,
                Ownership::Foreign {
                    reason: "is managed by IamRole team-a/other in cluster `prod` (tag \
                             `rolesmith.dev/owner=prod/team-a/other`); spec.adopt never takes a \
                             role from another owner"
                        .into(),
                },
            ),
            (
                "same object name in another cluster",
                tagged(&[(OWNER_TAG_KEY, "staging/team-a/app")]),
                true,
                Ownership::Foreign {
                    reason: "is managed by IamRole team-a/app in cluster `staging` (this \
                             operator's cluster id is `prod`) (tag \
                             `rolesmith.dev/owner=staging/team-a/app`); spec.adopt never takes a \
                             role from another owner"
                        .into(),
                },
            ),
            (
                "cluster id containing a slash",
                tagged(&[(OWNER_TAG_KEY, "eu/prod/team-a/app")]),
                false,
                Ownership::Foreign {
                    reason: "is managed by IamRole team-a/app in cluster `eu/prod` (this \
                             operator's cluster id is `prod`) (tag \
                             `rolesmith.dev/owner=eu/prod/team-a/app`); spec.adopt never takes a \
                             role from another owner"
                        .into(),
                },
            ),
            (
                "unparseable owner value",
                tagged(&[(OWNER_TAG_KEY, "")]),
                true,
                Ownership::Foreign {
                    reason: "is managed by another owner (tag `rolesmith.dev/owner=`); \
                             spec.adopt never takes a role from another owner"
                        .into(),
                },
            ),
            (
                "owner key in another case, other owner",
                tagged(&[("Rolesmith.dev/Owner", "prod/team-b/app")]),
                true,
                Ownership::Foreign {
                    reason: "is managed by IamRole team-b/app in cluster `prod` (tag \
                             `Rolesmith.dev/Owner=prod/team-b/app`); spec.adopt never takes a \
                             role from another owner"
                        .into(),
                },
            ),
            (
                "owner key in another case, our value",
                tagged(&[("ROLESMITH.DEV/OWNER", "prod/team-a/app")]),
                true,
                Ownership::Foreign {
                    reason: "carries the ownership tag as `ROLESMITH.DEV/OWNER=prod/team-a/app`, \
                             with the key in another case than `rolesmith.dev/owner`; rename the \
                             tag key in IAM so rolesmith recognises the role"
                        .into(),
                },
            ),
        ];
        for (name, observed, adopt, want) in cases {
            assert_eq!(ownership(&observed, &owner(), adopt), want, "{name}");
        }
    }
}
