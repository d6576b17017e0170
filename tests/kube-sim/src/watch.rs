//! Watch streams: the initial events (synthetic ADDED or history replay) are computed under the
//! store lock together with the subscription, so a stream never loses or repeats an event.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::conversion::{storage_key, to_view};
use crate::resource::ResourceType;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use crate::store::{Event, EventType, State};

/// How often an idle watch that asked for bookmarks gets one (kube-apiserver: about a minute;
/// shorter here so tests that rely on bookmarks do not wait).
const BOOKMARK_EVERY: Duration = Duration::from_secs(2);
/// kube-apiserver closes watches without timeoutSeconds after 30–60 minutes.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

pub struct WatchFilter {
    pub rt: ResourceType,
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    /// `Some(includeObject)` when the client asked for Table rows (`kubectl get -w`).
    pub table: Option<String>,
    /// The client asked for PartialObjectMetadata (kube's metadata_watcher).
    pub metadata_only: bool,
}

impl WatchFilter {
    pub fn matches(&self, obj: &Value) -> bool {
        self.namespace
            .as_deref()
            .is_none_or(|ns| crate::meta::namespace(obj) == ns)
            && self.labels.matches_object(obj)
            && self.fields.matches(obj)
    }

    /// What this watcher sees of a stored event: with selectors, an object that starts or stops
    /// matching shows up as ADDED or DELETED, like kube-apiserver's watch cache does it.
    fn translate(&self, ev: &Event) -> Option<(EventType, Value)> {
        if (ev.group.as_str(), ev.plural.as_str()) != storage_key(&self.rt) {
            return None;
        }
        let object = to_view(&self.rt, ev.object.clone());
        let old = ev.old.clone().map(|o| to_view(&self.rt, o));
        let now = self.matches(&object);
        let before = old.as_ref().is_some_and(|o| self.matches(o));
        match ev.kind {
            EventType::Added => now.then_some((EventType::Added, object)),
            EventType::Deleted => before.then_some((EventType::Deleted, object)),
            EventType::Modified => match (before, now) {
                (true, true) => Some((EventType::Modified, object)),
                (false, true) => Some((EventType::Added, object)),
                (true, false) => {
                    let mut old = old.unwrap_or(Value::Null);
                    crate::meta::set_meta(
                        &mut old,
                        "resourceVersion",
                        Value::String(ev.rv.to_string()),
                    );
                    Some((EventType::Deleted, old))
                }
                (false, false) => None,
            },
        }
    }

    /// The object as this watcher asked for it: in its API version, or as a one-row Table.
    fn render(&self, obj: Value) -> Value {
        if self.metadata_only {
            return crate::handlers::partial_object_metadata(&obj);
        }
        let Some(include) = &self.table else {
            return obj;
        };
        let rv = crate::meta::resource_version(&obj)
            .unwrap_or("")
            .to_string();
        match crate::peers::table(
            &self.rt,
            &[obj],
            json!({"resourceVersion": rv}),
            include,
            jiff::Timestamp::now(),
        ) {
            Ok(table) => table,
            Err(err) => err.to_status(),
        }
    }
}

pub enum Start {
    /// rv unset or "0": the current state as synthetic ADDED events, then live events.
    Current,
    /// Only events after this resourceVersion.
    After(u64),
}

pub struct WatchParams {
    pub filter: WatchFilter,
    pub start: Start,
    pub send_initial_events: bool,
    pub bookmarks: bool,
    pub timeout: Option<Duration>,
}

/// A watch ready to stream: the frames to send first and the live feed that continues them.
pub struct WatchSetup {
    filter: WatchFilter,
    initial: Vec<Bytes>,
    feed: Option<mpsc::UnboundedReceiver<Arc<Event>>>,
    last_rv: u64,
    bookmarks: bool,
    timeout: Duration,
}

pub fn start(st: &mut State, params: WatchParams) -> WatchSetup {
    let WatchParams {
        filter,
        start,
        send_initial_events,
        bookmarks,
        timeout,
    } = params;
    let timeout = timeout.unwrap_or(DEFAULT_TIMEOUT);
    let current = st.resource_version();
    let mut initial = Vec::new();
    let from = match start {
        Start::After(rv) if !send_initial_events => Some(rv),
        // With sendInitialEvents the initial state only has to be "not older than" rv: ours is current.
        _ => None,
    };
    let replay = match from {
        None => Ok(None),
        Some(rv) => {
            let (group, plural) = storage_key(&filter.rt);
            st.events_since(group, plural, rv).map(Some)
        }
    };
    match replay {
        Err(oldest) => {
            let rv = from.unwrap_or_default();
            let status =
                ApiError::expired(format!("too old resource version: {rv} ({oldest})")).to_status();
            initial.push(frame("ERROR", &status));
            return WatchSetup {
                filter,
                initial,
                feed: None,
                last_rv: current,
                bookmarks: false,
                timeout,
            };
        }
        Ok(Some(events)) => {
            for ev in events {
                if let Some((kind, obj)) = filter.translate(&ev) {
                    initial.push(frame(kind.as_str(), &filter.render(obj)));
                }
            }
        }
        Ok(None) => {
            let (group, plural) = storage_key(&filter.rt);
            for obj in st.list(group, plural, filter.namespace.as_deref()) {
                let obj = to_view(&filter.rt, obj.clone());
                if filter.matches(&obj) {
                    initial.push(frame("ADDED", &filter.render(obj)));
                }
            }
            if send_initial_events {
                initial.push(frame("BOOKMARK", &bookmark(&filter.rt, current, true)));
            }
        }
    }
    let feed = Some(st.subscribe());
    WatchSetup {
        filter,
        initial,
        feed,
        last_rv: current,
        bookmarks,
        timeout,
    }
}

fn bookmark(rt: &ResourceType, rv: u64, initial_end: bool) -> Value {
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    json!({"kind": rt.kind, "apiVersion": rt.api_version(), "metadata": metadata})
}

fn frame(kind: &str, object: &Value) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

/// Runs the watch on its own task; the returned channel ends when the watch does (timeout, expiry,
/// `drop_watches`, or the client going away).
pub fn spawn(setup: WatchSetup) -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    tokio::spawn(run(setup, tx));
    rx
}

async fn run(setup: WatchSetup, tx: mpsc::Sender<Bytes>) {
    let WatchSetup {
        filter,
        initial,
        feed,
        mut last_rv,
        bookmarks,
        timeout,
    } = setup;
    for line in initial {
        if tx.send(line).await.is_err() {
            return;
        }
    }
    let Some(mut feed) = feed else { return };
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut ticker =
        tokio::time::interval_at(tokio::time::Instant::now() + BOOKMARK_EVERY, BOOKMARK_EVERY);
    loop {
        tokio::select! {
            ev = feed.recv() => {
                let Some(ev) = ev else { return };
                if ev.rv <= last_rv {
                    continue;
                }
                last_rv = ev.rv;
                if let Some((kind, obj)) = filter.translate(&ev)
                    && tx.send(frame(kind.as_str(), &filter.render(obj))).await.is_err()
                {
                    return;
                }
            }
            _ = ticker.tick(), if bookmarks => {
                if tx.send(frame("BOOKMARK", &bookmark(&filter.rt, last_rv, false))).await.is_err() {
                    return;
                }
            }
            _ = &mut deadline => return,
            _ = tx.closed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::builtin_types;

    fn cm_type() -> ResourceType {
        builtin_types()
            .into_iter()
            .find(|t| t.plural == "configmaps")
            .unwrap()
    }

    fn cm(name: &str, app: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default", "labels": {"app": app}}})
    }

    fn filter(labels: &str) -> WatchFilter {
        WatchFilter {
            rt: cm_type(),
            namespace: Some("default".into()),
            labels: LabelSelector::parse(labels).unwrap(),
            fields: FieldSelector::default(),
            table: None,
            metadata_only: false,
        }
    }

    fn kinds(frames: &[Bytes]) -> Vec<String> {
        frames
            .iter()
            .map(|b| {
                serde_json::from_slice::<Value>(b).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn selector_transitions_become_added_and_deleted() {
        let mut st = State::new();
        let from = st.resource_version();
        let a = st.put("", "configmaps", cm("a", "web"), None);
        let b = st.put("", "configmaps", cm("a", "db"), Some(a));
        let c = st.put("", "configmaps", cm("a", "web"), Some(b));
        st.put("", "configmaps", cm("a", "web2"), Some(c));
        let setup = start(
            &mut st,
            WatchParams {
                filter: filter("app=web"),
                start: Start::After(from),
                send_initial_events: false,
                bookmarks: false,
                timeout: None,
            },
        );
        assert_eq!(
            kinds(&setup.initial),
            ["ADDED", "DELETED", "ADDED", "DELETED"]
        );
    }

    #[test]
    fn initial_state_then_end_bookmark() {
        let mut st = State::new();
        st.put("", "configmaps", cm("a", "web"), None);
        st.put("", "configmaps", cm("b", "db"), None);
        let setup = start(
            &mut st,
            WatchParams {
                filter: filter(""),
                start: Start::Current,
                send_initial_events: true,
                bookmarks: true,
                timeout: None,
            },
        );
        assert_eq!(kinds(&setup.initial), ["ADDED", "ADDED", "BOOKMARK"]);
        let end: Value = serde_json::from_slice(&setup.initial[2]).unwrap();
        assert_eq!(
            end["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
            "true"
        );
        assert_eq!(
            end["object"]["metadata"]["resourceVersion"],
            st.resource_version().to_string()
        );
    }

    #[test]
    fn too_old_is_one_in_stream_error() {
        let mut st = State::new();
        let held = st.resource_version();
        st.compact();
        let setup = start(
            &mut st,
            WatchParams {
                filter: filter(""),
                start: Start::After(held),
                send_initial_events: false,
                bookmarks: true,
                timeout: None,
            },
        );
        assert_eq!(kinds(&setup.initial), ["ERROR"]);
        assert!(setup.feed.is_none());
        let err: Value = serde_json::from_slice(&setup.initial[0]).unwrap();
        assert_eq!(err["object"]["code"], 410);
        assert_eq!(err["object"]["reason"], "Expired");
    }
}
