//! Maps a request path to what it names: discovery documents or a resource (collection, object,
//! subresource). Pure, so every path shape kubectl and kube use is covered by a table test.

use crate::resource::ResourceType;

#[derive(Clone, Debug, PartialEq)]
pub enum Route {
    /// `/api` (core group discovery).
    Api,
    /// `/apis`.
    Apis,
    /// `/api/v1` or `/apis/G/V`.
    GroupVersion {
        group: String,
        version: String,
    },
    /// `/apis/G` (legacy APIGroup).
    Group {
        group: String,
    },
    Version,
    OpenApiIndex,
    OpenApiGroupVersion {
        group: String,
        version: String,
    },
    Health,
    Resource(ResourcePath),
    NotFound,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ResourcePath {
    pub group: String,
    pub version: String,
    pub plural: String,
    /// Set for paths under `/namespaces/NS/`.
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// `types` decides whether `/api/v1/namespaces/X/Y` is namespace X's subresource Y or resource Y in X.
pub fn route(path: &str, types: &[ResourceType]) -> Route {
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match segments.as_slice() {
        ["api"] => Route::Api,
        ["apis"] => Route::Apis,
        ["version"] => Route::Version,
        ["healthz" | "readyz" | "livez", ..] => Route::Health,
        ["openapi", "v3"] => Route::OpenApiIndex,
        ["openapi", "v3", "api", version] => Route::OpenApiGroupVersion {
            group: String::new(),
            version: version.to_string(),
        },
        ["openapi", "v3", "apis", group, version] => Route::OpenApiGroupVersion {
            group: group.to_string(),
            version: version.to_string(),
        },
        ["api", version] => Route::GroupVersion {
            group: String::new(),
            version: version.to_string(),
        },
        ["apis", group] => Route::Group {
            group: group.to_string(),
        },
        ["apis", group, version] => Route::GroupVersion {
            group: group.to_string(),
            version: version.to_string(),
        },
        ["api", version, rest @ ..] => resource_route("", version, rest, types),
        ["apis", group, version, rest @ ..] => resource_route(group, version, rest, types),
        _ => Route::NotFound,
    }
}

fn resource_route(group: &str, version: &str, rest: &[&str], types: &[ResourceType]) -> Route {
    let is_namespaced_plural = |p: &str| {
        types
            .iter()
            .any(|t| t.group == group && t.version == version && t.plural == p && t.namespaced)
    };
    let make = |ns: Option<&str>, parts: &[&str]| -> Route {
        if parts.is_empty() || parts.len() > 3 {
            return Route::NotFound;
        }
        Route::Resource(ResourcePath {
            group: group.to_string(),
            version: version.to_string(),
            plural: parts[0].to_string(),
            namespace: ns.map(String::from),
            name: parts.get(1).map(|s| s.to_string()),
            subresource: parts.get(2).map(|s| s.to_string()),
        })
    };
    match rest {
        ["namespaces", ns, plural, more @ ..] if is_namespaced_plural(plural) => {
            let mut parts = vec![*plural];
            parts.extend_from_slice(more);
            make(Some(ns), &parts)
        }
        _ => make(None, rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::builtin_types;

    fn res(
        group: &str,
        plural: &str,
        ns: Option<&str>,
        name: Option<&str>,
        sub: Option<&str>,
    ) -> Route {
        Route::Resource(ResourcePath {
            group: group.into(),
            version: "v1".into(),
            plural: plural.into(),
            namespace: ns.map(String::from),
            name: name.map(String::from),
            subresource: sub.map(String::from),
        })
    }

    #[test]
    fn route_table() {
        let types = builtin_types();
        let cases = [
            ("/api", Route::Api),
            ("/apis", Route::Apis),
            ("/version", Route::Version),
            ("/openapi/v3", Route::OpenApiIndex),
            (
                "/openapi/v3/apis/apps/v1",
                Route::OpenApiGroupVersion {
                    group: "apps".into(),
                    version: "v1".into(),
                },
            ),
            (
                "/openapi/v3/api/v1",
                Route::OpenApiGroupVersion {
                    group: "".into(),
                    version: "v1".into(),
                },
            ),
            (
                "/api/v1",
                Route::GroupVersion {
                    group: "".into(),
                    version: "v1".into(),
                },
            ),
            (
                "/apis/apps/v1",
                Route::GroupVersion {
                    group: "apps".into(),
                    version: "v1".into(),
                },
            ),
            (
                "/api/v1/namespaces",
                res("", "namespaces", None, None, None),
            ),
            (
                "/api/v1/namespaces/default",
                res("", "namespaces", None, Some("default"), None),
            ),
            (
                "/api/v1/namespaces/default/status",
                res("", "namespaces", None, Some("default"), Some("status")),
            ),
            (
                "/api/v1/namespaces/default/configmaps",
                res("", "configmaps", Some("default"), None, None),
            ),
            (
                "/api/v1/namespaces/default/configmaps/x",
                res("", "configmaps", Some("default"), Some("x"), None),
            ),
            (
                "/api/v1/configmaps",
                res("", "configmaps", None, None, None),
            ),
            (
                "/apis/apps/v1/namespaces/ns/deployments/d/status",
                res("apps", "deployments", Some("ns"), Some("d"), Some("status")),
            ),
            (
                "/apis/apps/v1/namespaces/ns/deployments/d/status/x",
                Route::NotFound,
            ),
            ("/nope", Route::NotFound),
        ];
        for (path, want) in cases {
            assert_eq!(route(path, &types), want, "{path}");
        }
    }
}
