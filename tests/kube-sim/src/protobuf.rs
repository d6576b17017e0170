//! Decoding the protobuf bodies clients send for a few built-in kinds, which do not fall back to
//! JSON on 415: kubectl's typed generators (`kubectl create namespace` in tests/e2e/ownership.rs
//! and tests/ship/test_chart.py, `kubectl create configmap` in the documented argocd-cm step,
//! `kubectl create serviceaccount` in tests/e2e/workloads.rs) and
//! Helm's release storage (it creates and updates `sh.helm.release.v1.*` Secrets in protobuf).
//! Any other kind or unknown field is refused with a 415 naming it.

use base64::Engine;
use serde_json::{Map, Value, json};

pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";
const MAGIC: &[u8] = b"k8s\x00";

#[derive(Clone, Copy)]
enum Kind {
    Str,
    Bytes,
    Int,
    Bool,
    Time,
    Msg(&'static [Field]),
    RepeatedStr,
    RepeatedMsg(&'static [Field]),
    MapStrStr,
    MapStrBytes,
    /// Bytes that hold JSON (FieldsV1.Raw).
    RawJson,
}

type Field = (u64, &'static str, Kind);

const OWNER_REFERENCE: &[Field] = &[
    (1, "kind", Kind::Str),
    (3, "name", Kind::Str),
    (4, "uid", Kind::Str),
    (5, "apiVersion", Kind::Str),
    (6, "controller", Kind::Bool),
    (7, "blockOwnerDeletion", Kind::Bool),
];

const MANAGED_FIELDS_ENTRY: &[Field] = &[
    (1, "manager", Kind::Str),
    (2, "operation", Kind::Str),
    (3, "apiVersion", Kind::Str),
    (4, "time", Kind::Time),
    (6, "fieldsType", Kind::Str),
    (7, "fieldsV1", Kind::Msg(&[(1, "raw", Kind::RawJson)])),
    (8, "subresource", Kind::Str),
];

const OBJECT_META: &[Field] = &[
    (1, "name", Kind::Str),
    (2, "generateName", Kind::Str),
    (3, "namespace", Kind::Str),
    (4, "selfLink", Kind::Str),
    (5, "uid", Kind::Str),
    (6, "resourceVersion", Kind::Str),
    (7, "generation", Kind::Int),
    (8, "creationTimestamp", Kind::Time),
    (9, "deletionTimestamp", Kind::Time),
    (10, "deletionGracePeriodSeconds", Kind::Int),
    (11, "labels", Kind::MapStrStr),
    (12, "annotations", Kind::MapStrStr),
    (13, "ownerReferences", Kind::RepeatedMsg(OWNER_REFERENCE)),
    (14, "finalizers", Kind::RepeatedStr),
    (17, "managedFields", Kind::RepeatedMsg(MANAGED_FIELDS_ENTRY)),
];

const NAMESPACE: &[Field] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (
        2,
        "spec",
        Kind::Msg(&[(1, "finalizers", Kind::RepeatedStr)]),
    ),
    (3, "status", Kind::Msg(&[(1, "phase", Kind::Str)])),
];

const CONFIG_MAP: &[Field] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "data", Kind::MapStrStr),
    (3, "binaryData", Kind::MapStrBytes),
    (4, "immutable", Kind::Bool),
];

const SECRET: &[Field] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "data", Kind::MapStrBytes),
    (3, "type", Kind::Str),
    (4, "stringData", Kind::MapStrStr),
    (5, "immutable", Kind::Bool),
];

/// k8s.io/api/core/v1 ObjectReference.
const OBJECT_REFERENCE: &[Field] = &[
    (1, "kind", Kind::Str),
    (2, "namespace", Kind::Str),
    (3, "name", Kind::Str),
    (4, "uid", Kind::Str),
    (5, "apiVersion", Kind::Str),
    (6, "resourceVersion", Kind::Str),
    (7, "fieldPath", Kind::Str),
];

const SERVICE_ACCOUNT: &[Field] = &[
    (1, "metadata", Kind::Msg(OBJECT_META)),
    (2, "secrets", Kind::RepeatedMsg(OBJECT_REFERENCE)),
    (
        3,
        "imagePullSecrets",
        Kind::RepeatedMsg(&[(1, "name", Kind::Str)]),
    ),
    (4, "automountServiceAccountToken", Kind::Bool),
];

fn schema_for(api_version: &str, kind: &str) -> Option<&'static [Field]> {
    match (api_version, kind) {
        ("v1", "Namespace") => Some(NAMESPACE),
        ("v1", "ConfigMap") => Some(CONFIG_MAP),
        ("v1", "Secret") => Some(SECRET),
        ("v1", "ServiceAccount") => Some(SERVICE_ACCOUNT),
        _ => None,
    }
}

/// The object in a `k8s\0`-prefixed runtime.Unknown envelope, as JSON.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let inner = body
        .strip_prefix(MAGIC)
        .ok_or("protobuf body lacks the k8s envelope prefix")?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for item in Reader(inner) {
        let (number, wire) = item?;
        match (number, wire) {
            (1, Wire::Len(type_meta)) => {
                for item in Reader(type_meta) {
                    match item? {
                        (1, Wire::Len(b)) => api_version = utf8(b)?,
                        (2, Wire::Len(b)) => kind = utf8(b)?,
                        _ => {}
                    }
                }
            }
            (2, Wire::Len(b)) => raw = b,
            (3 | 4, Wire::Len(b)) if !b.is_empty() => {
                return Err(format!(
                    "protobuf envelope with contentEncoding/contentType {:?}",
                    utf8(b)?
                ));
            }
            _ => {}
        }
    }
    let schema = schema_for(&api_version, &kind).ok_or_else(|| {
        format!("kube-sim decodes protobuf only for Namespace, ConfigMap, Secret and ServiceAccount, not {api_version}/{kind}; send JSON")
    })?;
    let mut obj = message(raw, schema, &kind)?;
    if let Value::Object(map) = &mut obj {
        map.insert("apiVersion".into(), json!(api_version));
        map.insert("kind".into(), json!(kind));
    }
    Ok(obj)
}

fn message(bytes: &[u8], fields: &[Field], context: &str) -> Result<Value, String> {
    let mut out = Map::new();
    for item in Reader(bytes) {
        let (number, wire) = item?;
        let Some((_, name, kind)) = fields.iter().find(|(n, _, _)| *n == number) else {
            return Err(format!(
                "kube-sim cannot decode protobuf field {number} of {context}; send JSON"
            ));
        };
        let here = format!("{context}.{name}");
        match (kind, wire) {
            (Kind::Str, Wire::Len(b)) => {
                out.insert(name.to_string(), json!(utf8(b)?));
            }
            (Kind::Bytes, Wire::Len(b)) => {
                out.insert(
                    name.to_string(),
                    json!(base64::engine::general_purpose::STANDARD.encode(b)),
                );
            }
            (Kind::Int, Wire::Varint(v)) => {
                out.insert(name.to_string(), json!(v as i64));
            }
            (Kind::Bool, Wire::Varint(v)) => {
                out.insert(name.to_string(), json!(v != 0));
            }
            (Kind::Time, Wire::Len(b)) => {
                out.insert(name.to_string(), json!(timestamp(b)?));
            }
            (Kind::Msg(sub), Wire::Len(b)) => {
                let mut inner = message(b, sub, &here)?;
                // FieldsV1 is a message wrapping raw JSON; in JSON it is that JSON itself.
                if let Some(raw) = inner.get_mut("raw").map(Value::take) {
                    inner = raw;
                }
                out.insert(name.to_string(), inner);
            }
            (Kind::RawJson, Wire::Len(b)) => {
                let value: Value = serde_json::from_slice(b).map_err(|e| format!("{here}: {e}"))?;
                out.insert(name.to_string(), value);
            }
            (Kind::RepeatedStr, Wire::Len(b)) => push(&mut out, name, json!(utf8(b)?)),
            (Kind::RepeatedMsg(sub), Wire::Len(b)) => push(&mut out, name, message(b, sub, &here)?),
            (Kind::MapStrStr | Kind::MapStrBytes, Wire::Len(b)) => {
                let value_kind = if matches!(kind, Kind::MapStrStr) {
                    Kind::Str
                } else {
                    Kind::Bytes
                };
                let entry = message(b, &[(1, "k", Kind::Str), (2, "v", value_kind)], &here)?;
                let key = entry
                    .get("k")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let value = entry.get("v").cloned().unwrap_or_else(|| json!(""));
                let map = out.entry(name.to_string()).or_insert_with(|| json!({}));
                if let Value::Object(m) = map {
                    m.insert(key, value);
                }
            }
            _ => return Err(format!("unexpected protobuf wire type for {here}")),
        }
    }
    Ok(Value::Object(out))
}

fn push(out: &mut Map<String, Value>, name: &str, value: Value) {
    let list = out.entry(name.to_string()).or_insert_with(|| json!([]));
    if let Value::Array(items) = list {
        items.push(value);
    }
}

fn utf8(b: &[u8]) -> Result<String, String> {
    String::from_utf8(b.to_vec()).map_err(|e| format!("protobuf string is not UTF-8: {e}"))
}

/// metav1.Time: seconds (1) and nanos (2) since the epoch; JSON carries whole seconds.
fn timestamp(b: &[u8]) -> Result<String, String> {
    let mut seconds = 0i64;
    for item in Reader(b) {
        if let (1, Wire::Varint(v)) = item? {
            seconds = v as i64;
        }
    }
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.to_string())
        .map_err(|e| format!("protobuf timestamp out of range: {e}"))
}

enum Wire<'a> {
    Varint(u64),
    Len(&'a [u8]),
    Fixed,
}

/// Iterates over (field number, value) of one protobuf message.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.0.split_first().ok_or("truncated protobuf varint")?;
            self.0 = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("protobuf varint too long".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("truncated protobuf field".into());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<(u64, Wire<'a>), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let item = (|| {
            let key = self.varint()?;
            let wire = match key & 7 {
                0 => Wire::Varint(self.varint()?),
                1 => {
                    self.take(8)?;
                    Wire::Fixed
                }
                2 => {
                    let len =
                        usize::try_from(self.varint()?).map_err(|_| "protobuf length overflow")?;
                    Wire::Len(self.take(len)?)
                }
                5 => {
                    self.take(4)?;
                    Wire::Fixed
                }
                other => return Err(format!("unsupported protobuf wire type {other}")),
            };
            Ok((key >> 3, wire))
        })();
        if item.is_err() {
            self.0 = &[];
        }
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }

    fn field(number: u64, bytes: &[u8]) -> Vec<u8> {
        [
            varint((number << 3) | 2),
            varint(bytes.len() as u64),
            bytes.to_vec(),
        ]
        .concat()
    }

    fn envelope(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let type_meta = [field(1, api_version.as_bytes()), field(2, kind.as_bytes())].concat();
        [MAGIC.to_vec(), field(1, &type_meta), field(2, raw)].concat()
    }

    #[test]
    fn decodes_a_configmap_like_kubectl_create_sends() {
        let label = [field(1, b"app"), field(2, b"web")].concat();
        let meta = [field(1, b"cm"), field(11, &label)].concat();
        let data = [field(1, b"k"), field(2, b"v")].concat();
        let raw = [field(1, &meta), field(2, &data)].concat();
        let obj = decode(&envelope("v1", "ConfigMap", &raw)).unwrap();
        assert_eq!(
            obj,
            json!({"metadata": {"name": "cm", "labels": {"app": "web"}}, "data": {"k": "v"}, "apiVersion": "v1", "kind": "ConfigMap"})
        );
    }

    #[test]
    fn decodes_a_serviceaccount_like_kubectl_create_sends() {
        let meta = [field(1, b"api"), field(3, b"shop")].concat();
        let pull = field(1, b"registry");
        let raw = [field(1, &meta), field(3, &pull), [0x20, 0x00].to_vec()].concat();
        let obj = decode(&envelope("v1", "ServiceAccount", &raw)).unwrap();
        assert_eq!(
            obj,
            json!({"metadata": {"name": "api", "namespace": "shop"}, "imagePullSecrets": [{"name": "registry"}], "automountServiceAccountToken": false, "apiVersion": "v1", "kind": "ServiceAccount"})
        );
    }

    #[test]
    fn secrets_bytes_become_base64() {
        let meta = field(1, b"s");
        let data = [field(1, b"k"), field(2, b"hello")].concat();
        let raw = [field(1, &meta), field(2, &data), field(3, b"Opaque")].concat();
        let obj = decode(&envelope("v1", "Secret", &raw)).unwrap();
        assert_eq!(obj["data"]["k"], "aGVsbG8=");
        assert_eq!(obj["type"], "Opaque");
    }

    #[test]
    fn managed_fields_keep_their_json() {
        let fields_v1 = field(1, br#"{"f:data":{}}"#);
        let entry = [
            field(1, b"kubectl"),
            field(2, b"Update"),
            field(7, &fields_v1),
        ]
        .concat();
        let meta = [field(1, b"cm"), field(17, &entry)].concat();
        let obj = decode(&envelope("v1", "ConfigMap", &field(1, &meta))).unwrap();
        assert_eq!(
            obj["metadata"]["managedFields"],
            json!([{"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:data": {}}}])
        );
    }

    #[test]
    fn refuses_what_it_cannot_decode() {
        assert!(
            decode(&envelope("apps/v1", "Deployment", &[]))
                .unwrap_err()
                .contains("apps/v1/Deployment")
        );
        let raw = field(1, &field(15, b"x"));
        assert!(
            decode(&envelope("v1", "Namespace", &raw))
                .unwrap_err()
                .contains("field 15")
        );
        assert!(decode(b"{}").is_err());
    }
}
