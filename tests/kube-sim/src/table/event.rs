//! `kubectl get events` rows: kube-apiserver's `printEvent` over the core/v1 form of an Event
//! (events.k8s.io/v1 objects are printed after conversion, as the real server does).

use jiff::Timestamp;
use serde_json::{Value, json};

use super::age::age;
use super::column::{NAME_DESCRIPTION, column};
use super::fields::{int_at, str_at, timestamp_at};

const FIELD_PATH_DESCRIPTION: &str = "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.";

pub fn columns() -> Vec<Value> {
    vec![
        column(
            "Last Seen",
            "string",
            "",
            "The time at which the most recent occurrence of this event was recorded.",
            0,
        ),
        column(
            "Type",
            "string",
            "",
            "Type of this event (Normal, Warning), new types could be added in the future",
            0,
        ),
        column(
            "Reason",
            "string",
            "",
            "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
            0,
        ),
        column(
            "Object",
            "string",
            "",
            "The object that this event is about.",
            0,
        ),
        column("Subobject", "string", "", FIELD_PATH_DESCRIPTION, 1),
        column(
            "Source",
            "string",
            "",
            "The component reporting this event. Should be a short machine understandable string.",
            1,
        ),
        column(
            "Message",
            "string",
            "",
            "A human-readable description of the status of this operation.",
            0,
        ),
        column(
            "First Seen",
            "string",
            "",
            "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
            1,
        ),
        column(
            "Count",
            "string",
            "",
            "The number of times this event has occurred.",
            1,
        ),
        column("Name", "string", "name", NAME_DESCRIPTION, 1),
    ]
}

/// Last Seen, Type, Reason, Object, Subobject, Source, Message, First Seen, Count, Name: the
/// server always renders the wide cells; kubectl drops the priority-1 ones without `-o wide`.
pub fn cells(event: &Value, now: Timestamp) -> Vec<Value> {
    // A zero time prints as <unknown>; the events.k8s.io API leaves first/last timestamps unset.
    let first = match timestamp_at(event, "/firstTimestamp") {
        Some(t) => age(Some(t), now),
        None => age(timestamp_at(event, "/eventTime"), now),
    };
    let mut last = match timestamp_at(event, "/lastTimestamp") {
        Some(t) => age(Some(t), now),
        None => first.clone(),
    };
    let mut count = int_at(event, "/count").unwrap_or(0);
    match event.get("series").filter(|s| s.is_object()) {
        Some(series) => {
            last = age(timestamp_at(series, "/lastObservedTime"), now);
            count = int_at(series, "/count").unwrap_or(0);
        }
        // Singleton events of the events.k8s.io API carry no count.
        None if count == 0 => count = 1,
        None => {}
    }
    let kind = str_at(event, &["involvedObject", "kind"]).to_lowercase();
    let target = match str_at(event, &["involvedObject", "name"]) {
        "" => kind,
        name => format!("{kind}/{name}"),
    };
    vec![
        json!(last),
        json!(str_at(event, &["type"])),
        json!(str_at(event, &["reason"])),
        json!(target),
        json!(str_at(event, &["involvedObject", "fieldPath"])),
        json!(source(event)),
        json!(str_at(event, &["message"]).trim()),
        json!(first),
        json!(count),
        json!(str_at(event, &["metadata", "name"])),
    ]
}

/// `formatEventSource`: the source component (else the reporting controller), then the host
/// (else the reporting instance) after a comma.
fn source(event: &Value) -> String {
    let first_non_empty = |a: &str, b: &str| if a.is_empty() { b } else { a }.to_string();
    let component = first_non_empty(
        str_at(event, &["source", "component"]),
        str_at(event, &["reportingComponent"]),
    );
    let instance = first_non_empty(
        str_at(event, &["source", "host"]),
        str_at(event, &["reportingInstance"]),
    );
    if instance.is_empty() {
        component
    } else {
        format!("{component}, {instance}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-29T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn events_print_like_print_event() {
        let cases = [
            (
                // What `kubectl run` style core events look like.
                json!({"metadata": {"name": "p.1"}, "type": "Normal", "reason": "Pulled",
                       "involvedObject": {"kind": "Pod", "name": "p", "fieldPath": "spec.containers{c}"},
                       "source": {"component": "kubelet", "host": "node-1"},
                       "message": "  Pulled image  \n", "count": 3,
                       "firstTimestamp": "2026-11-29T11:00:00Z", "lastTimestamp": "2026-11-29T11:59:00Z"}),
                json!([
                    "60s",
                    "Normal",
                    "Pulled",
                    "pod/p",
                    "spec.containers{c}",
                    "kubelet, node-1",
                    "Pulled image",
                    "60m",
                    3,
                    "p.1"
                ]),
            ),
            (
                // The kube Recorder's events.k8s.io/v1 Event seen in core form: no first/last
                // timestamps, no count, an eventTime and the reporting controller. Ages
                // truncate: 30.12s is 30s.
                json!({"metadata": {"name": "w.abc"}, "type": "Warning", "reason": "Refused",
                       "involvedObject": {"kind": "IamRole", "name": "w"},
                       "reportingComponent": "rolesmith", "reportingInstance": "rolesmith-0",
                       "message": "trust policy refused", "eventTime": "2026-11-29T11:59:29.876543Z"}),
                json!([
                    "30s",
                    "Warning",
                    "Refused",
                    "iamrole/w",
                    "",
                    "rolesmith, rolesmith-0",
                    "trust policy refused",
                    "30s",
                    1,
                    "w.abc"
                ]),
            ),
            (
                // A series: its last observation and count win.
                json!({"metadata": {"name": "s"}, "reason": "Again", "involvedObject": {"kind": "Node"},
                       "reportingComponent": "op", "eventTime": "2026-11-29T10:00:00.000000Z",
                       "series": {"count": 4, "lastObservedTime": "2026-11-29T11:58:00.000000Z"}}),
                json!(["2m", "", "Again", "node", "", "op", "", "120m", 4, "s"]),
            ),
            (
                json!({"metadata": {"name": "z"}}),
                json!(["<unknown>", "", "", "", "", "", "", "<unknown>", 1, "z"]),
            ),
        ];
        for (event, want) in cases {
            assert_eq!(Value::from(cells(&event, now())), want, "{event}");
        }
    }
}
