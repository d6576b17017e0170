//! List pagination as kube-apiserver does it over etcd. `limit` cuts a list; the `continue`
//! token of a cut list names the first page's resourceVersion and where to resume, and every
//! later page is served from that same snapshot, until history no longer reaches back to it
//! (410 Expired with a token that goes on at the current version, inconsistently). kube's
//! watchers list in pages of 500, `kubectl get --chunk-size` in pages of its choosing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::meta;
use crate::request::Request;
use crate::status::{ApiError, ApiResult};
use crate::store::State;

const TOKEN_VERSION: &str = "meta.k8s.io/v1";
/// kube-apiserver's words for a token whose snapshot was compacted away.
const INCONSISTENT_CONTINUE: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";
const LIST_TOO_OLD: &str = "The resourceVersion for the provided list is too old.";

/// (namespace, name): the order lists are served in. Cluster-scoped objects have namespace "".
type Key = (String, String);

/// Where a list reads from: a snapshot version and, for a continued list, the first key to serve.
#[derive(Debug, PartialEq)]
pub struct Position {
    pub rv: u64,
    pub start: Option<Key>,
    /// The token asked to go on at whatever is current (kube-apiserver's rv -1).
    pub latest: bool,
}

/// What a list request asks for, checked as kube-apiserver checks `ListOptions`.
#[derive(Debug, PartialEq)]
pub struct ListQuery {
    pub limit: Option<usize>,
    pub position: Position,
    /// Paging across all namespaces of a namespaced kind: tokens carry "namespace/name".
    pub across_namespaces: bool,
}

impl ListQuery {
    pub fn parse(
        req: &Request,
        ns: Option<&str>,
        namespaced: bool,
        current: u64,
    ) -> ApiResult<Self> {
        let limit = match req.q("limit").filter(|l| !l.is_empty()) {
            None => None,
            Some(l) => {
                let n: i64 = l.parse().map_err(|_| {
                    ApiError::bad_request(format!(
                        "limit: Invalid value: {l:?}: must be an integer"
                    ))
                })?;
                usize::try_from(n).ok().filter(|n| *n > 0)
            }
        };
        let across_namespaces = namespaced && ns.is_none();
        let rv = req.q("resourceVersion").filter(|v| !v.is_empty());
        let rv_match = req.q("resourceVersionMatch").filter(|v| !v.is_empty());
        if let Some(token) = req.q("continue").filter(|c| !c.is_empty()) {
            if rv_match.is_some() {
                return Err(ApiError::new(
                    422,
                    "Invalid",
                    "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided",
                ));
            }
            if rv.is_some_and(|v| v != "0") {
                return Err(ApiError::bad_request(
                    "specifying resource version is not allowed when using continue",
                ));
            }
            let (token_rv, start) = decode(token, ns, across_namespaces)
                .map_err(|why| ApiError::bad_request(format!("invalid continue token: {why}")))?;
            let latest = token_rv < 0;
            let position = Position {
                rv: if latest {
                    current
                } else {
                    token_rv.unsigned_abs()
                },
                start: Some(start),
                latest,
            };
            return Ok(ListQuery {
                limit,
                position,
                across_namespaces,
            });
        }
        // An exact version: asked for, or (legacy) implied by a limit with a non-zero version.
        let exact = match (rv, rv_match) {
            (Some(v), Some("Exact")) if v != "0" => Some(v),
            (Some(v), None) if v != "0" && limit.is_some() => Some(v),
            _ => None,
        };
        let rv = match exact {
            None => current,
            Some(v) => {
                let asked: u64 = v.parse().map_err(|_| {
                    ApiError::bad_request(format!("invalid resource version: {v:?}"))
                })?;
                if asked > current {
                    return Err(ApiError::new(
                        504,
                        "Timeout",
                        format!("Too large resource version: {asked}, current: {current}"),
                    ));
                }
                asked
            }
        };
        Ok(ListQuery {
            limit,
            position: Position {
                rv,
                start: None,
                latest: false,
            },
            across_namespaces,
        })
    }
}

/// One page: its items (as the client sees them) and the list metadata to send.
pub struct Page {
    pub items: Vec<Value>,
    pub metadata: Value,
}

/// Serves one page of `group`/`plural` (storage names) for `query`. `view` turns a stored object
/// into what the client sees, or `None` when the selectors leave it out.
pub fn page(
    st: &State,
    (group, plural): (&str, &str),
    ns: Option<&str>,
    query: &ListQuery,
    selective: bool,
    mut view: impl FnMut(&Value) -> Option<Value>,
) -> ApiResult<Page> {
    let position = &query.position;
    let snapshot =
        st.list_at(group, plural, ns, position.rv)
            .map_err(|_| match &position.start {
                None => ApiError::expired(LIST_TOO_OLD),
                Some(start) => ApiError::expired(INCONSISTENT_CONTINUE).with_continue(encode(
                    -1,
                    start,
                    query.across_namespaces,
                )),
            })?;
    let first = position.start.as_ref().map_or(0, |start| {
        snapshot.partition_point(|o| (meta::namespace(o), meta::name(o)) < (&start.0, &start.1))
    });
    let mut items = Vec::new();
    let mut next = None;
    for (i, obj) in snapshot.iter().enumerate().skip(first) {
        if query.limit.is_some_and(|limit| items.len() >= limit) {
            next = Some(i);
            break;
        }
        if let Some(v) = view(obj) {
            items.push(v);
        }
    }
    let mut metadata = json!({"resourceVersion": position.rv.to_string()});
    if let Some(next) = next {
        // Resume right after the last object looked at, at the same snapshot.
        let last = snapshot[next - 1];
        let start = (
            meta::namespace(last).to_string(),
            format!("{}\u{0}", meta::name(last)),
        );
        let rv = if position.latest {
            -1
        } else {
            position.rv as i64
        };
        metadata["continue"] = json!(encode(rv, &start, query.across_namespaces));
        if !selective {
            metadata["remainingItemCount"] = json!(snapshot.len() - next);
        }
    }
    Ok(Page { items, metadata })
}

/// kube-apiserver's token: unpadded URL-safe base64 of `{"v","rv","start"}`, where start is the
/// storage key after the list's prefix ("name\0", or "namespace/name\0" across namespaces).
fn encode(rv: i64, start: &Key, across_namespaces: bool) -> String {
    let key = if across_namespaces {
        format!("{}/{}", start.0, start.1)
    } else {
        start.1.clone()
    };
    let body = json!({"v": TOKEN_VERSION, "rv": rv, "start": key});
    URL_SAFE_NO_PAD.encode(body.to_string())
}

/// The token's version and first key, or why it is not valid (kube-apiserver's texts).
fn decode(token: &str, ns: Option<&str>, across_namespaces: bool) -> Result<(i64, Key), String> {
    const INVALID: &str = "continue key is not valid";
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|e| format!("{INVALID}: {e}"))?;
    let body: Value = serde_json::from_slice(&bytes).map_err(|e| format!("{INVALID}: {e}"))?;
    let version = body.get("v").and_then(Value::as_str).unwrap_or("");
    if version != TOKEN_VERSION {
        return Err(format!(
            "{INVALID}: server does not recognize this encoded version {version:?}"
        ));
    }
    let rv = body.get("rv").and_then(Value::as_i64).unwrap_or(0);
    if rv == 0 {
        return Err(format!(
            "{INVALID}: incorrect encoded start resourceVersion (version {TOKEN_VERSION})"
        ));
    }
    let start = body.get("start").and_then(Value::as_str).unwrap_or("");
    if start.is_empty() {
        return Err(format!(
            "{INVALID}: encoded start key empty (version {TOKEN_VERSION})"
        ));
    }
    // Like path.Clean on the key: a token cannot reach outside the list's prefix.
    let trimmed = start.strip_prefix('/').unwrap_or(start);
    if trimmed.is_empty()
        || trimmed.ends_with('/')
        || trimmed
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(format!("{INVALID}: {start}"));
    }
    let key = match (across_namespaces, trimmed.split_once('/')) {
        (true, Some((namespace, name))) => (namespace.to_string(), name.to_string()),
        (true, None) => (trimmed.to_string(), String::new()),
        (false, _) => (ns.unwrap_or("").to_string(), trimmed.to_string()),
    };
    Ok((rv, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_in_kube_apiservers_shape() {
        let start = ("team-a".to_string(), "role-7\u{0}".to_string());
        let token = encode(42, &start, true);
        let body: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&token).unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"v": "meta.k8s.io/v1", "rv": 42, "start": "team-a/role-7\u{0}"})
        );
        assert_eq!(decode(&token, None, true).unwrap(), (42, start.clone()));
        let in_ns = encode(-1, &start, false);
        assert_eq!(decode(&in_ns, Some("team-a"), false).unwrap(), (-1, start));
    }

    #[test]
    fn bad_tokens_say_why() {
        let token = |body: Value| URL_SAFE_NO_PAD.encode(body.to_string());
        let cases = [
            ("%%%".to_string(), "continue key is not valid: Invalid"),
            (
                token(json!({"v": "v9", "rv": 3, "start": "a\u{0}"})),
                "does not recognize this encoded version \"v9\"",
            ),
            (
                token(json!({"v": "meta.k8s.io/v1", "rv": 0, "start": "a\u{0}"})),
                "incorrect encoded start resourceVersion",
            ),
            (
                token(json!({"v": "meta.k8s.io/v1", "rv": 3, "start": ""})),
                "encoded start key empty",
            ),
            (
                token(json!({"v": "meta.k8s.io/v1", "rv": 3, "start": "../kube-system/x"})),
                "continue key is not valid: ../kube-system/x",
            ),
        ];
        for (bad, why) in cases {
            let err = decode(&bad, Some("default"), false).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
