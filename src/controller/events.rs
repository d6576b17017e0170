//! The Events the operator publishes (events.k8s.io/v1). An Event repeated word for word about
//! the same object within 6 minutes patches the first one's series (count, last seen) instead of
//! making another object, as kube's and client-go's recorders do; what is remembered for that is
//! bounded. kube's `Recorder` remembers every Event it published for 6 minutes, keyed with the
//! object's resourceVersion (which changes with every status write), so it kept one Event per
//! new IamRole and aggregated nearly nothing: 10,000 IamRoles applied at once kept 10,000 Events.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};

/// How many published Events are remembered (client-go's recorder keeps 4,096 in an LRU).
const REMEMBERED: usize = 1024;
/// How long a repeat patches the earlier Event's series (kube's and client-go's 6 minutes).
const SERIES_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_mins(6);

/// What makes two Events one series: the same object, type, reason, action and note.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    kind: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
    uid: Option<String>,
    warning: bool,
    reason: String,
    action: String,
    note: String,
}

/// The Events published lately, with when each was last published, and the order they were
/// published in (a repeat is queued again; its earlier place in the queue is then stale). Pure:
/// no clock, no IO. The key is shared by the map and the queue, and the Event (over 1 KB
/// inline, most of it empty options) is boxed: the map's table, sized for [`REMEMBERED`]
/// entries and doubled while it grows, then holds pointers, not Events.
#[derive(Debug, Default)]
struct Recent {
    events: HashMap<Arc<Key>, (Box<Event>, jiff::Timestamp)>,
    order: VecDeque<(Arc<Key>, jiff::Timestamp)>,
}

impl Recent {
    /// The Event published as `key` within the window before `now`, with its series advanced.
    fn repeat(&self, key: &Key, now: jiff::Timestamp) -> Option<Event> {
        let (earlier, last) = self.events.get(key)?;
        if now.duration_since(*last) >= SERIES_WINDOW {
            return None;
        }
        let mut event = Event::clone(earlier);
        let count = event.series.as_ref().map_or(2, |series| series.count + 1);
        event.series = Some(EventSeries {
            count,
            last_observed_time: MicroTime(now),
        });
        Some(event)
    }

    /// Remembers `event` as `key`, forgetting what is older than the window or beyond
    /// [`REMEMBERED`].
    fn remember(&mut self, key: Key, event: Event, now: jiff::Timestamp) {
        let key = Arc::new(key);
        self.events.insert(key.clone(), (Box::new(event), now));
        self.order.push_back((key, now));
        while let Some((oldest, at)) = self.order.front() {
            let current = self.events.get(oldest).is_some_and(|(_, last)| last == at);
            let expired = now.duration_since(*at) >= SERIES_WINDOW;
            if current && !expired && self.events.len() <= REMEMBERED {
                break;
            }
            if current && (expired || self.events.len() > REMEMBERED) {
                self.events.remove(oldest);
            }
            self.order.pop_front();
        }
    }
}

pub struct Publisher {
    client: Client,
    controller: String,
    recent: Mutex<Recent>,
}

impl Publisher {
    pub fn new(client: Client, controller: &str) -> Publisher {
        Publisher {
            client,
            controller: controller.to_string(),
            recent: Mutex::new(Recent::default()),
        }
    }

    pub async fn publish(
        &self,
        regarding: &ObjectReference,
        warning: bool,
        reason: &str,
        action: &str,
        note: &str,
    ) -> Result<(), kube::Error> {
        let now = jiff::Timestamp::now();
        let key = Key {
            kind: regarding.kind.clone(),
            namespace: regarding.namespace.clone(),
            name: regarding.name.clone(),
            uid: regarding.uid.clone(),
            warning,
            reason: reason.to_string(),
            action: action.to_string(),
            note: note.to_string(),
        };
        let repeat = self.lock().repeat(&key, now);
        let api: Api<Event> = Api::namespaced(
            self.client.clone(),
            regarding.namespace.as_deref().unwrap_or("default"),
        );
        let event = match repeat {
            Some(event) => {
                let name = event.metadata.name.clone().unwrap_or_default();
                api.patch(&name, &PatchParams::default(), &Patch::Merge(&event))
                    .await?;
                event
            }
            None => {
                let event = self.new_event(regarding, warning, &key, now);
                api.create(&PostParams::default(), &event).await?;
                event
            }
        };
        self.lock().remember(key, event, now);
        Ok(())
    }

    fn new_event(
        &self,
        regarding: &ObjectReference,
        warning: bool,
        key: &Key,
        now: jiff::Timestamp,
    ) -> Event {
        Event {
            action: Some(key.action.clone()),
            reason: Some(key.reason.clone()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            note: Some(key.note.clone()),
            metadata: ObjectMeta {
                namespace: regarding.namespace.clone(),
                name: Some(format!(
                    "{}.{:x}",
                    regarding.name.as_deref().unwrap_or(&self.controller),
                    now.as_nanosecond()
                )),
                ..ObjectMeta::default()
            },
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.controller.clone()),
            type_: Some(if warning { "Warning" } else { "Normal" }.to_string()),
            ..Event::default()
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recent> {
        self.recent
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests;
