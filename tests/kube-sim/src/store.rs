//! The in-memory cluster state: objects, the registered types, one global resourceVersion and the
//! event history watches replay from. Every operation runs under one lock, so a list's
//! resourceVersion and the events a watch receives after it always agree.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::builtin;
use crate::meta;
use crate::resource::ResourceType;

/// Enough history for any test; older events fall off and watches from before them get 410.
const MAX_HISTORY: usize = 100_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

#[derive(Debug)]
pub struct Event {
    pub rv: u64,
    pub group: String,
    pub plural: String,
    pub kind: EventType,
    pub object: Value,
    /// The object before this change, so watches with selectors can tell "stopped matching".
    pub old: Option<Value>,
}

/// Objects are stored per group and plural, whatever version wrote them.
type Bucket = BTreeMap<(String, String), Value>;

pub struct State {
    rv: u64,
    /// Watches from a resourceVersion below this get an in-stream 410 Expired.
    min_watch_rv: u64,
    types: Vec<ResourceType>,
    objects: HashMap<(String, String), Bucket>,
    history: VecDeque<Arc<Event>>,
    subscribers: Vec<mpsc::UnboundedSender<Arc<Event>>>,
}

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
}

impl State {
    pub fn new() -> Self {
        let mut state = State {
            rv: 0,
            min_watch_rv: 0,
            types: builtin::builtin_types(),
            objects: HashMap::new(),
            history: VecDeque::new(),
            subscribers: Vec::new(),
        };
        let now = meta::now_rfc3339();
        for ns in builtin::INITIAL_NAMESPACES {
            let obj = json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": ns,
                    "uid": uuid::Uuid::new_v4().to_string(),
                    "creationTimestamp": now,
                    "labels": {"kubernetes.io/metadata.name": ns},
                },
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            });
            state.put("", "namespaces", obj, None);
        }
        state
    }

    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    pub fn min_watch_rv(&self) -> u64 {
        self.min_watch_rv
    }

    pub fn types(&self) -> &[ResourceType] {
        &self.types
    }

    pub fn set_types(&mut self, types: Vec<ResourceType>) {
        self.types = types;
    }

    pub fn find_type(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceType> {
        self.types
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
    }

    pub fn get(&self, group: &str, plural: &str, ns: &str, name: &str) -> Option<&Value> {
        self.objects
            .get(&(group.to_string(), plural.to_string()))
            .and_then(|b| b.get(&(ns.to_string(), name.to_string())))
    }

    /// Objects of one resource, in one namespace or all (`None`), ordered by namespace then name.
    pub fn list(&self, group: &str, plural: &str, ns: Option<&str>) -> Vec<&Value> {
        let Some(bucket) = self.objects.get(&(group.to_string(), plural.to_string())) else {
            return Vec::new();
        };
        bucket
            .iter()
            .filter(|((obj_ns, _), _)| ns.is_none_or(|n| n == obj_ns))
            .map(|(_, v)| v)
            .collect()
    }

    /// Objects of one resource as they were at `rv`, ordered like `list`: the current objects with
    /// the changes after `rv` undone from history. `Err(oldest)` when history no longer reaches
    /// back that far (etcd: the revision was compacted).
    pub fn list_at(
        &self,
        group: &str,
        plural: &str,
        ns: Option<&str>,
        rv: u64,
    ) -> Result<Vec<&Value>, u64> {
        if rv >= self.rv {
            return Ok(self.list(group, plural, ns));
        }
        if rv < self.min_watch_rv {
            return Err(self.min_watch_rv);
        }
        // Walking back, the last event seen for a key is its first change after `rv`, which says
        // what the key held at `rv`: nothing if it was added, else the object before.
        let mut then: BTreeMap<(&str, &str), Option<&Value>> = BTreeMap::new();
        for ev in self.history.iter().rev().take_while(|e| e.rv > rv) {
            if ev.group != group || ev.plural != plural {
                continue;
            }
            let key = (meta::namespace(&ev.object), meta::name(&ev.object));
            if ns.is_some_and(|n| n != key.0) {
                continue;
            }
            let before = match ev.kind {
                EventType::Added => None,
                EventType::Modified | EventType::Deleted => ev.old.as_ref(),
            };
            then.insert(key, before);
        }
        let mut at: BTreeMap<(&str, &str), &Value> = self
            .list(group, plural, ns)
            .into_iter()
            .map(|o| ((meta::namespace(o), meta::name(o)), o))
            .collect();
        for (key, before) in then {
            match before {
                Some(obj) => at.insert(key, obj),
                None => at.remove(&key),
            };
        }
        Ok(at.into_values().collect())
    }

    /// Stores `obj` with the next resourceVersion and emits ADDED or MODIFIED; returns the stored object.
    pub fn put(&mut self, group: &str, plural: &str, mut obj: Value, old: Option<Value>) -> Value {
        self.rv += 1;
        meta::set_meta(
            &mut obj,
            "resourceVersion",
            Value::String(self.rv.to_string()),
        );
        let key = (
            meta::namespace(&obj).to_string(),
            meta::name(&obj).to_string(),
        );
        self.objects
            .entry((group.to_string(), plural.to_string()))
            .or_default()
            .insert(key, obj.clone());
        let kind = if old.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.emit(group, plural, kind, obj.clone(), old);
        obj
    }

    /// Removes an object, emitting DELETED with a fresh resourceVersion; returns it as it was last seen.
    pub fn remove(&mut self, group: &str, plural: &str, ns: &str, name: &str) -> Option<Value> {
        let bucket = self
            .objects
            .get_mut(&(group.to_string(), plural.to_string()))?;
        let mut obj = bucket.remove(&(ns.to_string(), name.to_string()))?;
        let old = obj.clone();
        self.rv += 1;
        meta::set_meta(
            &mut obj,
            "resourceVersion",
            Value::String(self.rv.to_string()),
        );
        self.emit(group, plural, EventType::Deleted, obj.clone(), Some(old));
        Some(obj)
    }

    fn emit(
        &mut self,
        group: &str,
        plural: &str,
        kind: EventType,
        object: Value,
        old: Option<Value>,
    ) {
        let event = Arc::new(Event {
            rv: self.rv,
            group: group.to_string(),
            plural: plural.to_string(),
            kind,
            object,
            old,
        });
        self.history.push_back(event.clone());
        while self.history.len() > MAX_HISTORY {
            if let Some(dropped) = self.history.pop_front() {
                self.min_watch_rv = dropped.rv;
            }
        }
        self.subscribers.retain(|s| s.send(event.clone()).is_ok());
    }

    /// Registers a live event feed; call it in the same critical section as the snapshot it continues.
    pub fn subscribe(&mut self) -> mpsc::UnboundedReceiver<Arc<Event>> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.subscribers.push(tx);
        rx
    }

    /// Events of one resource after `rv`, or `Err(oldest)` when history no longer reaches back that far.
    pub fn events_since(&self, group: &str, plural: &str, rv: u64) -> Result<Vec<Arc<Event>>, u64> {
        if rv < self.min_watch_rv {
            return Err(self.min_watch_rv);
        }
        Ok(self
            .history
            .iter()
            .filter(|e| e.rv > rv && e.group == group && e.plural == plural)
            .cloned()
            .collect())
    }

    /// Forgets all history. The global resourceVersion moves on (as other writes would on a real
    /// cluster), so every resourceVersion a client holds is now too old and its next watch gets 410.
    pub fn compact(&mut self) {
        self.rv += 1;
        self.min_watch_rv = self.rv;
        self.history.clear();
    }

    /// Ends every live event feed; the watch streams then finish their responses.
    pub fn drop_watches(&mut self) {
        self.subscribers.clear();
    }

    /// Removes every object of a resource (its CRD went away), emitting DELETED for each.
    pub fn remove_all(&mut self, group: &str, plural: &str) {
        let keys: Vec<(String, String)> = self
            .objects
            .get(&(group.to_string(), plural.to_string()))
            .map(|b| b.keys().cloned().collect())
            .unwrap_or_default();
        for (ns, name) in keys {
            self.remove(group, plural, &ns, &name);
        }
    }

    /// Every stored object with its (group, plural).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &Value)> {
        self.objects
            .iter()
            .flat_map(|((g, p), bucket)| bucket.values().map(move |v| (g.as_str(), p.as_str(), v)))
    }

    /// Every stored object in a namespace, as (group, plural, name).
    pub fn objects_in_namespace(&self, ns: &str) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for ((group, plural), bucket) in &self.objects {
            for (obj_ns, name) in bucket.keys() {
                if obj_ns == ns {
                    out.push((group.clone(), plural.clone(), name.clone()));
                }
            }
        }
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}})
    }

    #[test]
    fn starts_with_the_standard_namespaces() {
        let st = State::new();
        let names: Vec<&str> = st
            .list("", "namespaces", None)
            .iter()
            .map(|o| meta::name(o))
            .collect();
        assert_eq!(
            names,
            ["default", "kube-node-lease", "kube-public", "kube-system"]
        );
        assert_eq!(st.resource_version(), 4);
    }

    #[test]
    fn put_and_remove_bump_the_version_and_record_history() {
        let mut st = State::new();
        let start = st.resource_version();
        let a = st.put("", "configmaps", cm("a"), None);
        assert_eq!(
            meta::resource_version(&a),
            Some((start + 1).to_string().as_str())
        );
        st.put("", "configmaps", cm("a"), Some(a));
        st.remove("", "configmaps", "default", "a");
        let kinds: Vec<EventType> = st
            .events_since("", "configmaps", start)
            .unwrap()
            .iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            [EventType::Added, EventType::Modified, EventType::Deleted]
        );
        assert_eq!(
            st.events_since("", "configmaps", start + 2).unwrap().len(),
            1
        );
    }

    #[test]
    fn compaction_expires_every_held_version() {
        let mut st = State::new();
        st.put("", "configmaps", cm("a"), None);
        let held = st.resource_version();
        st.compact();
        assert_eq!(
            st.events_since("", "configmaps", held).unwrap_err(),
            held + 1
        );
        assert!(
            st.events_since("", "configmaps", st.resource_version())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn lists_at_an_older_version_undo_later_changes() {
        let mut st = State::new();
        let a = st.put("", "configmaps", cm("a"), None);
        st.put("", "configmaps", cm("b"), None);
        let held = st.resource_version();
        let mut changed = cm("a");
        changed["data"] = json!({"k": "v"});
        st.put("", "configmaps", changed, Some(a));
        st.remove("", "configmaps", "default", "b");
        st.put("", "configmaps", cm("c"), None);
        let names = |list: Vec<&Value>| -> Vec<(String, bool)> {
            list.iter()
                .map(|o| (meta::name(o).to_string(), o.get("data").is_some()))
                .collect()
        };
        assert_eq!(
            names(st.list_at("", "configmaps", Some("default"), held).unwrap()),
            [("a".to_string(), false), ("b".to_string(), false)]
        );
        assert_eq!(
            names(
                st.list_at("", "configmaps", None, st.resource_version())
                    .unwrap()
            ),
            [("a".to_string(), true), ("c".to_string(), false)]
        );
        assert!(
            st.list_at("", "configmaps", Some("other"), held)
                .unwrap()
                .is_empty()
        );
        st.compact();
        assert_eq!(
            st.list_at("", "configmaps", None, held).unwrap_err(),
            st.resource_version()
        );
    }

    #[test]
    fn subscribers_see_events_after_subscribing() {
        let mut st = State::new();
        let mut rx = st.subscribe();
        st.put("", "configmaps", cm("a"), None);
        let ev = rx.try_recv().unwrap();
        assert_eq!(ev.kind, EventType::Added);
        st.drop_watches();
        assert!(rx.try_recv().is_err());
    }
}
