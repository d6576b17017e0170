//! `metadata.managedFields`: who owns which fields, keyed the way kube-apiserver keys managers
//! (Apply entries by manager and subresource, Update entries also by apiVersion), with its
//! entry order, its timestamps and its cap on Update entries.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::fieldpath::Set;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// A manager's identity; `api_version` is empty for Apply (an applier stays one manager
/// whatever version it applies with).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ManagerId {
    pub manager: String,
    pub operation: Operation,
    pub api_version: String,
    pub subresource: String,
}

impl ManagerId {
    pub fn apply(manager: &str, subresource: &str) -> Self {
        ManagerId {
            manager: manager.to_string(),
            operation: Operation::Apply,
            api_version: String::new(),
            subresource: subresource.to_string(),
        }
    }

    pub fn update(manager: &str, api_version: &str, subresource: &str) -> Self {
        ManagerId {
            manager: manager.to_string(),
            operation: Operation::Update,
            api_version: api_version.to_string(),
            subresource: subresource.to_string(),
        }
    }

    /// `BuildManagerIdentifier`: the entry's JSON without time and fields. Conflict messages
    /// list managers sorted by it.
    pub fn identifier(&self) -> String {
        let mut m = Map::new();
        if !self.manager.is_empty() {
            m.insert("manager".into(), json!(self.manager));
        }
        m.insert("operation".into(), json!(self.operation.as_str()));
        if !self.api_version.is_empty() {
            m.insert("apiVersion".into(), json!(self.api_version));
        }
        if !self.subresource.is_empty() {
            m.insert("subresource".into(), json!(self.subresource));
        }
        Value::Object(m).to_string()
    }

    /// `printManager`: `"kubectl"`, `"kubectl-client-side-apply" using v1`,
    /// `"op" with subresource "status"`.
    pub fn describe(&self) -> String {
        let mut s = crate::schema::go_quote(&self.manager);
        if !self.subresource.is_empty() {
            s = format!(
                "{s} with subresource {}",
                crate::schema::go_quote(&self.subresource)
            );
        }
        if self.operation == Operation::Update {
            s = format!("{s} using {}", self.api_version);
        }
        s
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub set: Set,
    /// The version the fields were written with (Apply entries keep the last one).
    pub api_version: String,
    pub time: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Managed {
    pub entries: BTreeMap<ManagerId, Entry>,
}

/// The manager the oldest Update entries are merged into past the cap.
const ANCIENT_CHANGES: &str = "ancient-changes";
/// kube-apiserver's `DefaultMaxUpdateManagers`.
const MAX_UPDATE_MANAGERS: usize = 10;

fn seconds(time: Option<&String>) -> i64 {
    time.and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map_or(0, |t| t.as_second())
}

impl Managed {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Decodes `metadata.managedFields`; an absent or null list is empty.
    pub fn decode(list: Option<&Value>) -> Result<Managed, String> {
        let mut managed = Managed::default();
        let items = match list {
            None | Some(Value::Null) => return Ok(managed),
            Some(Value::Array(items)) => items,
            Some(_) => return Err("managedFields must be a list".to_string()),
        };
        for (i, item) in items.iter().enumerate() {
            let text = |k: &str| {
                item.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            // kube-apiserver's DecodeManagedFields checks, in its order and words.
            let operation = match text("operation").as_str() {
                "Apply" => Operation::Apply,
                "Update" => Operation::Update,
                _ => return Err("operation must be `Apply` or `Update`".to_string()),
            };
            if text("apiVersion").is_empty() {
                return Err("apiVersion must not be empty".to_string());
            }
            match text("fieldsType").as_str() {
                "FieldsV1" => {}
                "" => return Err(format!("missing fieldsType in managed fields entry {i}")),
                other => {
                    return Err(format!(
                        "invalid fieldsType {other:?} in managed fields entry {i}"
                    ));
                }
            }
            let set = match item.get("fieldsV1") {
                None | Some(Value::Null) => Set::new(),
                Some(v) => Set::from_fields_v1(v)?,
            };
            let api_version = text("apiVersion");
            let id = ManagerId {
                manager: text("manager"),
                operation,
                api_version: if operation == Operation::Apply {
                    String::new()
                } else {
                    api_version.clone()
                },
                subresource: text("subresource"),
            };
            let time = item.get("time").and_then(Value::as_str).map(String::from);
            managed.entries.insert(
                id,
                Entry {
                    set,
                    api_version,
                    time,
                },
            );
        }
        Ok(managed)
    }

    /// Encodes the entries in kube-apiserver's order: Apply before Update, then oldest first,
    /// then by manager, apiVersion and subresource. Empty entries are dropped.
    pub fn encode(&self) -> Vec<Value> {
        let mut entries: Vec<(&ManagerId, &Entry)> = self
            .entries
            .iter()
            .filter(|(_, e)| !e.set.is_empty())
            .collect();
        entries.sort_by(|(a, ea), (b, eb)| {
            a.operation
                .cmp(&b.operation)
                .then_with(|| seconds(ea.time.as_ref()).cmp(&seconds(eb.time.as_ref())))
                .then_with(|| a.manager.cmp(&b.manager))
                .then_with(|| ea.api_version.cmp(&eb.api_version))
                .then_with(|| a.subresource.cmp(&b.subresource))
        });
        entries
            .into_iter()
            .map(|(id, entry)| {
                let mut m = Map::new();
                if !id.manager.is_empty() {
                    m.insert("manager".into(), json!(id.manager));
                }
                m.insert("operation".into(), json!(id.operation.as_str()));
                if !entry.api_version.is_empty() {
                    m.insert("apiVersion".into(), json!(entry.api_version));
                }
                if let Some(time) = &entry.time {
                    m.insert("time".into(), json!(time));
                }
                m.insert("fieldsType".into(), json!("FieldsV1"));
                m.insert("fieldsV1".into(), entry.set.to_fields_v1());
                if !id.subresource.is_empty() {
                    m.insert("subresource".into(), json!(id.subresource));
                }
                Value::Object(m)
            })
            .collect()
    }

    pub fn drop_empty(&mut self) {
        self.entries.retain(|_, e| !e.set.is_empty());
    }

    /// `capManagersManager`: past ten Update entries, the oldest are folded into one
    /// `ancient-changes` entry per apiVersion.
    pub fn cap_update_managers(&mut self) {
        let mut updaters: Vec<ManagerId> = self
            .entries
            .keys()
            .filter(|id| id.operation == Operation::Update)
            .cloned()
            .collect();
        if updaters.len() <= MAX_UPDATE_MANAGERS {
            return;
        }
        updaters.sort_by(|a, b| {
            let (ta, tb) = (
                seconds(self.entries[a].time.as_ref()),
                seconds(self.entries[b].time.as_ref()),
            );
            ta.cmp(&tb)
                .then_with(|| a.identifier().cmp(&b.identifier()))
        });
        let mut remaining = updaters.len();
        let mut first_of_version: BTreeMap<String, ManagerId> = BTreeMap::new();
        for id in updaters {
            if remaining <= MAX_UPDATE_MANAGERS {
                break;
            }
            let Some(entry) = self.entries.get(&id).cloned() else {
                continue;
            };
            let version = entry.api_version.clone();
            let bucket = ManagerId::update(ANCIENT_CHANGES, &version, "");
            match first_of_version.get(&version) {
                Some(first) => {
                    if !self.entries.contains_key(&bucket)
                        && let Some(moved) = self.entries.remove(first)
                    {
                        self.entries.insert(bucket.clone(), moved);
                    }
                    if let Some(b) = self.entries.get_mut(&bucket) {
                        b.set = entry.set.union(&b.set);
                        b.time = entry.time.clone();
                    }
                    self.entries.remove(&id);
                    remaining -= 1;
                }
                None => {
                    first_of_version.insert(version, id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssa::fieldpath::Pe;

    fn set_of(field: &str) -> Set {
        let mut s = Set::new();
        s.insert(&[Pe::Field(field.to_string())]);
        s
    }

    #[test]
    fn managers_are_described_like_print_manager() {
        assert_eq!(ManagerId::apply("kubectl", "").describe(), "\"kubectl\"");
        assert_eq!(
            ManagerId::update(
                "kubectl-client-side-apply",
                "iam.rolesmith.dev/v1alpha1",
                ""
            )
            .describe(),
            "\"kubectl-client-side-apply\" using iam.rolesmith.dev/v1alpha1"
        );
        assert_eq!(
            ManagerId::apply("op", "status").describe(),
            "\"op\" with subresource \"status\""
        );
        assert_eq!(
            ManagerId::update("x", "v1", "").identifier(),
            r#"{"manager":"x","operation":"Update","apiVersion":"v1"}"#
        );
    }

    #[test]
    fn entries_encode_in_apiserver_order_and_decode_back() {
        let mut m = Managed::default();
        let t1 = Some("2026-01-01T00:00:01Z".to_string());
        let t2 = Some("2026-01-01T00:00:02Z".to_string());
        m.entries.insert(
            ManagerId::update("b", "v1", ""),
            Entry {
                set: set_of("x"),
                api_version: "v1".into(),
                time: t1.clone(),
            },
        );
        m.entries.insert(
            ManagerId::update("a", "v1", "status"),
            Entry {
                set: set_of("y"),
                api_version: "v1".into(),
                time: t2.clone(),
            },
        );
        m.entries.insert(
            ManagerId::apply("z", ""),
            Entry {
                set: set_of("z"),
                api_version: "v1".into(),
                time: t2,
            },
        );
        m.entries.insert(
            ManagerId::apply("empty", ""),
            Entry {
                set: Set::new(),
                api_version: "v1".into(),
                time: t1,
            },
        );
        let encoded = m.encode();
        let managers: Vec<&str> = encoded
            .iter()
            .map(|e| e["manager"].as_str().unwrap())
            .collect();
        assert_eq!(managers, vec!["z", "b", "a"]);
        assert_eq!(
            encoded[2],
            json!({"manager": "a", "operation": "Update", "apiVersion": "v1", "time": "2026-01-01T00:00:02Z",
                   "fieldsType": "FieldsV1", "fieldsV1": {"f:y": {}}, "subresource": "status"})
        );
        let mut back = Managed::decode(Some(&Value::Array(encoded))).unwrap();
        m.drop_empty();
        back.drop_empty();
        assert_eq!(back, m);
    }

    #[test]
    fn malformed_entries_are_refused_with_the_apiserver_words() {
        let cases = [
            (
                json!([{"manager": "a"}]),
                "operation must be `Apply` or `Update`",
            ),
            (
                json!([{"manager": "a", "operation": "Apply"}]),
                "apiVersion must not be empty",
            ),
            (
                json!([{"manager": "a", "operation": "Apply", "apiVersion": "v1"}]),
                "missing fieldsType in managed fields entry 0",
            ),
            (
                json!([{"manager": "a", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV2"}]),
                "invalid fieldsType \"FieldsV2\" in managed fields entry 0",
            ),
        ];
        for (list, want) in cases {
            assert_eq!(Managed::decode(Some(&list)), Err(want.to_string()));
        }
    }

    #[test]
    fn more_than_ten_updaters_fold_the_oldest_into_ancient_changes() {
        let mut m = Managed::default();
        for i in 0..12 {
            m.entries.insert(
                ManagerId::update(&format!("m{i:02}"), "v1", ""),
                Entry {
                    set: set_of(&format!("f{i}")),
                    api_version: "v1".into(),
                    time: Some(format!("2026-01-01T00:00:{i:02}Z")),
                },
            );
        }
        m.cap_update_managers();
        assert_eq!(m.entries.len(), 10);
        let bucket = &m.entries[&ManagerId::update("ancient-changes", "v1", "")];
        assert!(bucket.set.has(&[Pe::Field("f0".into())]));
        assert!(bucket.set.has(&[Pe::Field("f2".into())]));
        assert!(!m.entries.contains_key(&ManagerId::update("m00", "v1", "")));
        assert!(m.entries.contains_key(&ManagerId::update("m03", "v1", "")));
    }
}
