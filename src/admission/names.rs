//! Role names derived from the object's namespace and name when the spec gives none.

use super::limits::ROLE_NAME_MAX;
use super::problem::{Problem, Rule};

/// Hex digits of the hash that tells shortened names apart (32 bits: a namespace would need tens
/// of thousands of long object names before two are likely to collide).
const HASH_LEN: usize = 8;

/// The role name: `spec.roleName`, else the derived name (see [`derived_role_name`]).
///
/// Where no name can be derived ([`admit`](super::admit) refuses such an object), this is the name earlier
/// releases derived, so deleting the object still finds a role one of them created for it.
pub fn role_name(namespace: &str, name: &str, explicit: Option<&str>) -> String {
    if let Some(explicit) = explicit {
        return explicit.to_string();
    }
    derived_role_name(namespace, name).unwrap_or_else(|_| earlier_role_name(namespace, name))
}

/// `<namespace>.<name>`, shortened with a stable hash when too long so two long object names
/// never collide; it always starts with `<namespace>.`, which name confinement requires. The
/// dot cannot occur in a namespace name, so two namespaces never derive the same name, and
/// the derivation never depends on configuration: a derived name must stay the same for the
/// life of the object.
///
/// Shortened names keep the form earlier releases gave them (`<first 55 characters>-<hash>`)
/// wherever that form kept the whole `<namespace>.`, so existing roles keep their names. A
/// 55-character namespace has room for the hash only without the dash; a longer one has no
/// room at all, and the error says so.
pub(super) fn derived_role_name(namespace: &str, name: &str) -> Result<String, Problem> {
    let full = format!("{namespace}.{name}");
    if full.len() <= ROLE_NAME_MAX {
        return Ok(full);
    }
    let prefix = namespace.len() + 1;
    if prefix + 1 + HASH_LEN <= ROLE_NAME_MAX {
        return Ok(earlier_role_name(namespace, name));
    }
    if prefix + HASH_LEN <= ROLE_NAME_MAX {
        return Ok(format!("{namespace}.{}", hash(&full)));
    }
    Err(Problem::new(
        "spec.roleName",
        Rule::RoleNameUnderivable,
        format!(
            "not set, and no role name can be derived: namespace {namespace:?} is {} characters long, so \"{namespace}.\" leaves no room in IAM's {ROLE_NAME_MAX} characters for the object name or an {HASH_LEN}-character hash; set spec.roleName (it can only be set when the object is created)",
            namespace.chars().count()
        ),
    ))
}

/// The derivation of earlier releases: the first 55 characters of `<namespace>.<name>`, a dash
/// and the hash. For namespaces of 55 characters or more it cuts into the namespace itself.
pub(super) fn earlier_role_name(namespace: &str, name: &str) -> String {
    let full = format!("{namespace}.{name}");
    if full.len() <= ROLE_NAME_MAX {
        return full;
    }
    let mut keep = ROLE_NAME_MAX - HASH_LEN - 1;
    // Kubernetes names are ASCII, but `rolesmith plan` reads manifests no API server checked:
    // cut on a character boundary (validation then refuses the character).
    while !full.is_char_boundary(keep) {
        keep -= 1;
    }
    format!("{}-{}", &full[..keep], hash(&full))
}

fn hash(full: &str) -> String {
    format!("{:0width$x}", fnv1a(full.as_bytes()), width = HASH_LEN)
}

/// FNV-1a (32 bit): tiny, stable across releases and platforms, enough to tell names apart.
pub(super) fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
}
