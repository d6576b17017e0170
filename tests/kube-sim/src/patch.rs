//! PATCH bodies: which kind a Content-Type names, and applying JSON merge and JSON patches with
//! the semantics of the Go libraries kube-apiserver uses.

use serde_json::Value;

use crate::status::{ApiError, ApiResult};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PatchKind {
    Merge,
    Json,
    Apply,
    Strategic,
}

pub fn patch_kind(content_type: &str) -> ApiResult<PatchKind> {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/merge-patch+json" => Ok(PatchKind::Merge),
        "application/json-patch+json" => Ok(PatchKind::Json),
        "application/apply-patch+yaml" => Ok(PatchKind::Apply),
        "application/strategic-merge-patch+json" => Ok(PatchKind::Strategic),
        _ => Err(ApiError::unsupported_media_type(content_type)),
    }
}

pub fn merge_patch(doc: &Value, body: &[u8]) -> ApiResult<Value> {
    let patch: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    if !patch.is_object() {
        return Err(ApiError::bad_request(
            "json: cannot unmarshal a non-object merge patch into an object",
        ));
    }
    let mut out = doc.clone();
    json_patch::merge(&mut out, &patch);
    Ok(out)
}

/// RFC 6902 as evanphx/json-patch applies it: a `test` of a path that does not exist compares
/// equal to `null` (kube's finalizer helper tests `/metadata/finalizers` against null before
/// adding the list), where the json-patch crate would fail the test.
pub fn json_patch(doc: &Value, body: &[u8]) -> ApiResult<Value> {
    let ops: Vec<json_patch::PatchOperation> = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    let mut out = doc.clone();
    for op in &ops {
        match op {
            json_patch::PatchOperation::Test(test) => {
                let path = test.path.as_str();
                // Only the last segment may be missing: evanphx/json-patch fails a test whose
                // parent does not exist, whatever the value.
                let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
                if out.pointer(parent).is_none() {
                    return Err(rejected(format!(
                        "test operation does not apply: is nil for {path}"
                    )));
                }
                let actual = out.pointer(path).unwrap_or(&Value::Null);
                if *actual != test.value {
                    return Err(rejected(format!(
                        "testing value {} failed: test failed",
                        test.path.as_str()
                    )));
                }
            }
            other => {
                json_patch::patch(&mut out, std::slice::from_ref(other))
                    .map_err(|e| rejected(e.to_string()))?;
            }
        }
    }
    Ok(out)
}

/// kube-apiserver answers a JSON patch that cannot be applied with a generic 422.
fn rejected(cause: String) -> ApiError {
    ApiError::unprocessable(
        "the server rejected our request due to an error in our request",
        cause,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_types() {
        let cases = [
            ("application/merge-patch+json", Some(PatchKind::Merge)),
            ("application/json-patch+json", Some(PatchKind::Json)),
            ("application/apply-patch+yaml", Some(PatchKind::Apply)),
            (
                "application/apply-patch+yaml; charset=utf-8",
                Some(PatchKind::Apply),
            ),
            (
                "application/strategic-merge-patch+json",
                Some(PatchKind::Strategic),
            ),
            ("application/json", None),
            ("text/plain", None),
        ];
        for (ct, want) in cases {
            assert_eq!(patch_kind(ct).ok(), want, "{ct}");
        }
        assert_eq!(patch_kind("application/json").unwrap_err().code, 415);
    }

    #[test]
    fn finalizer_helper_patches() {
        let obj = json!({"metadata": {"name": "a"}});
        let add = br#"[{"op":"test","path":"/metadata/finalizers","value":null},{"op":"add","path":"/metadata/finalizers","value":["x/y"]}]"#;
        let added = json_patch(&obj, add).unwrap();
        assert_eq!(added["metadata"]["finalizers"], json!(["x/y"]));
        // A second add must fail: the list exists now, so the test against null fails.
        let err = json_patch(&added, add).unwrap_err();
        assert_eq!((err.code, err.reason), (422, "Invalid"));
        let remove = br#"[{"op":"test","path":"/metadata/finalizers/0","value":"x/y"},{"op":"remove","path":"/metadata/finalizers/0"}]"#;
        let removed = json_patch(&added, remove).unwrap();
        assert_eq!(removed["metadata"]["finalizers"], json!([]));
        assert_eq!(json_patch(&removed, remove).unwrap_err().code, 422);
        // A missing parent is not null: the test fails.
        let deep = br#"[{"op":"test","path":"/metadata/nothing/here","value":null}]"#;
        assert_eq!(json_patch(&obj, deep).unwrap_err().code, 422);
    }

    #[test]
    fn json_patch_is_atomic_and_reports_bad_paths() {
        let obj = json!({"spec": {"a": 1}});
        let ops = br#"[{"op":"replace","path":"/spec/a","value":2},{"op":"remove","path":"/spec/missing"}]"#;
        assert_eq!(json_patch(&obj, ops).unwrap_err().code, 422);
        assert_eq!(obj, json!({"spec": {"a": 1}}));
        assert_eq!(json_patch(&obj, b"{}").unwrap_err().code, 400);
    }

    #[test]
    fn merge_patch_removes_nulls() {
        let obj = json!({"metadata": {"labels": {"a": "1", "b": "2"}}});
        let out = merge_patch(&obj, br#"{"metadata":{"labels":{"a":null,"c":"3"}}}"#).unwrap();
        assert_eq!(out, json!({"metadata": {"labels": {"b": "2", "c": "3"}}}));
        assert_eq!(merge_patch(&obj, b"[]").unwrap_err().code, 400);
    }
}
