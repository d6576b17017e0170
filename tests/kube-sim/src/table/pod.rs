//! `kubectl get pods` rows: kube-apiserver's `printPod` (READY, STATUS with the container
//! reasons kubelet reports, RESTARTS with the time of the last restart).

use jiff::Timestamp;
use serde_json::{Value, json};

use super::age::age;
use super::column::{age_column, column, name_column};
use super::fields::{array_at, bool_at, int_at, str_at, timestamp_at};

pub fn columns() -> Vec<Value> {
    vec![
        name_column(),
        column(
            "Ready",
            "string",
            "",
            "The aggregate readiness state of this pod for accepting traffic.",
            0,
        ),
        column(
            "Status",
            "string",
            "",
            "The aggregate status of the containers in this pod.",
            0,
        ),
        column(
            "Restarts",
            "string",
            "",
            "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            0,
        ),
        age_column(),
        column(
            "IP",
            "string",
            "",
            "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
            1,
        ),
        column(
            "Node",
            "string",
            "",
            "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename",
            1,
        ),
        column(
            "Nominated Node",
            "string",
            "",
            "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.",
            1,
        ),
        column(
            "Readiness Gates",
            "string",
            "",
            "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates",
            1,
        ),
    ]
}

/// Name, Ready, Status, Restarts, Age, IP, Node, Nominated Node, Readiness Gates (the last four
/// are priority 1: the server always renders them).
pub fn cells(pod: &Value, now: Timestamp) -> Vec<Value> {
    let summary = summarize(pod, now);
    let or_none = |s: &str| if s.is_empty() { "<none>" } else { s }.to_string();
    let pod_ip = array_at(pod, "/status/podIPs")
        .first()
        .map(|ip| str_at(ip, &["ip"]))
        .unwrap_or_else(|| str_at(pod, &["status", "podIP"]));
    vec![
        json!(str_at(pod, &["metadata", "name"])),
        json!(format!("{}/{}", summary.ready, summary.total)),
        json!(summary.reason),
        json!(summary.restarts),
        json!(age(timestamp_at(pod, "/metadata/creationTimestamp"), now)),
        json!(or_none(pod_ip)),
        json!(or_none(str_at(pod, &["spec", "nodeName"]))),
        json!(or_none(str_at(pod, &["status", "nominatedNodeName"]))),
        json!(readiness_gates(pod)),
    ]
}

/// The row conditions kubectl uses to tell finished pods apart.
pub fn conditions(pod: &Value) -> Option<Value> {
    let (reason, message) = match str_at(pod, &["status", "phase"]) {
        "Succeeded" => ("Succeeded", "The pod has completed successfully."),
        "Failed" => ("Failed", "The pod failed."),
        _ => return None,
    };
    Some(json!([{"type": "Completed", "status": "True", "reason": reason, "message": message}]))
}

struct Summary {
    ready: usize,
    total: usize,
    reason: String,
    restarts: String,
}

fn is_restartable_init(container: Option<&Value>) -> bool {
    container.is_some_and(|c| str_at(c, &["restartPolicy"]) == "Always")
}

/// Later of two RFC 3339 times (`None` is Go's zero time).
fn later<'a>(a: Option<&'a str>, b: Option<&'a str>) -> Option<&'a str> {
    let parse = |t: Option<&str>| t.and_then(|t| t.parse::<Timestamp>().ok());
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) if y > x => b,
        (Some(_), _) => a,
        (None, Some(_)) => b,
        (None, None) => None,
    }
}

fn terminated_reason(terminated: &Value, prefix: &str) -> String {
    match str_at(terminated, &["reason"]) {
        "" => match int_at(terminated, "/signal").unwrap_or(0) {
            0 => format!(
                "{prefix}ExitCode:{}",
                int_at(terminated, "/exitCode").unwrap_or(0)
            ),
            signal => format!("{prefix}Signal:{signal}"),
        },
        reason => format!("{prefix}{reason}"),
    }
}

fn summarize(pod: &Value, now: Timestamp) -> Summary {
    let init_specs = array_at(pod, "/spec/initContainers");
    let init_spec = |name: &str| init_specs.iter().find(|c| str_at(c, &["name"]) == name);
    let total = array_at(pod, "/spec/containers").len()
        + init_specs
            .iter()
            .filter(|c| is_restartable_init(Some(c)))
            .count();
    let mut ready = 0;
    let mut restarts = 0;
    let mut sidecar_restarts = 0;
    let mut last_restart: Option<&str> = None;
    let mut last_sidecar_restart: Option<&str> = None;
    let phase = str_at(pod, &["status", "phase"]);
    let mut reason = match str_at(pod, &["status", "reason"]) {
        "" => phase.to_string(),
        r => r.to_string(),
    };
    let conditions = array_at(pod, "/status/conditions");
    if conditions.iter().any(|c| {
        str_at(c, &["type"]) == "PodScheduled" && str_at(c, &["reason"]) == "SchedulingGated"
    }) {
        reason = "SchedulingGated".into();
    }

    let mut initializing = false;
    for (i, status) in array_at(pod, "/status/initContainerStatuses")
        .iter()
        .enumerate()
    {
        let count = int_at(status, "/restartCount").unwrap_or(0);
        restarts += count;
        let finished = timestamp_at(status, "/lastState/terminated/finishedAt");
        last_restart = later(last_restart, finished);
        let sidecar = is_restartable_init(init_spec(str_at(status, &["name"])));
        if sidecar {
            sidecar_restarts += count;
            last_sidecar_restart = later(last_sidecar_restart, finished);
        }
        let terminated = status
            .pointer("/state/terminated")
            .filter(|t| t.is_object());
        let waiting_reason = str_at(status, &["state", "waiting", "reason"]);
        if terminated.is_some_and(|t| int_at(t, "/exitCode").unwrap_or(0) == 0) {
            continue;
        }
        if sidecar && bool_at(status, "/started") {
            if bool_at(status, "/ready") {
                ready += 1;
            }
            continue;
        }
        reason = match terminated {
            Some(t) => terminated_reason(t, "Init:"),
            None if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" => {
                format!("Init:{waiting_reason}")
            }
            None => format!("Init:{i}/{}", init_specs.len()),
        };
        initializing = true;
        break;
    }

    let initialized = conditions
        .iter()
        .any(|c| str_at(c, &["type"]) == "Initialized" && str_at(c, &["status"]) == "True");
    if !initializing || initialized {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        for status in array_at(pod, "/status/containerStatuses").iter().rev() {
            restarts += int_at(status, "/restartCount").unwrap_or(0);
            last_restart = later(
                last_restart,
                timestamp_at(status, "/lastState/terminated/finishedAt"),
            );
            let waiting_reason = str_at(status, &["state", "waiting", "reason"]);
            let terminated = status
                .pointer("/state/terminated")
                .filter(|t| t.is_object());
            let running = status
                .pointer("/state/running")
                .is_some_and(Value::is_object);
            if !waiting_reason.is_empty() {
                reason = waiting_reason.to_string();
            } else if let Some(t) = terminated {
                reason = terminated_reason(t, "");
            } else if bool_at(status, "/ready") && running {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            let pod_ready = conditions
                .iter()
                .any(|c| str_at(c, &["type"]) == "Ready" && str_at(c, &["status"]) == "True");
            reason = if pod_ready { "Running" } else { "NotReady" }.into();
        }
    }

    if timestamp_at(pod, "/metadata/deletionTimestamp").is_some() {
        if str_at(pod, &["status", "reason"]) == "NodeLost" {
            reason = "Unknown".into();
        } else if !matches!(phase, "Succeeded" | "Failed") {
            reason = "Terminating".into();
        }
    }
    let restarts = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", age(Some(t), now)),
        _ => restarts.to_string(),
    };
    Summary {
        ready,
        total,
        reason,
        restarts,
    }
}

fn readiness_gates(pod: &Value) -> String {
    let gates = array_at(pod, "/spec/readinessGates");
    if gates.is_empty() {
        return "<none>".into();
    }
    let conditions = array_at(pod, "/status/conditions");
    let true_gates = gates
        .iter()
        .filter(|gate| {
            let wanted = str_at(gate, &["conditionType"]);
            conditions
                .iter()
                .find(|c| str_at(c, &["type"]) == wanted)
                .is_some_and(|c| str_at(c, &["status"]) == "True")
        })
        .count();
    format!("{true_gates}/{}", gates.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-29T12:00:00Z".parse().unwrap()
    }

    fn pod(spec: Value, status: Value) -> Value {
        json!({"metadata": {"name": "p", "creationTimestamp": "2026-11-29T11:00:00Z"}, "spec": spec, "status": status})
    }

    fn two_containers() -> Value {
        json!({"containers": [{"name": "a"}, {"name": "b"}]})
    }

    #[test]
    fn pods_print_like_print_pod() {
        let running = |name: &str, restarts: i64| json!({"name": name, "ready": true, "restartCount": restarts, "state": {"running": {}}});
        let cases = [
            (
                // Just created: the server set Pending and nothing runs it.
                pod(two_containers(), json!({"phase": "Pending"})),
                json!([
                    "p", "0/2", "Pending", "0", "60m", "<none>", "<none>", "<none>", "<none>"
                ]),
            ),
            (
                pod(
                    json!({"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "n1"}),
                    json!({"phase": "Running", "podIP": "10.0.0.5", "podIPs": [{"ip": "10.0.0.5"}],
                           "containerStatuses": [running("a", 0),
                               {"name": "b", "ready": true, "restartCount": 2, "state": {"running": {}},
                                "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2026-11-29T11:57:00Z"}}}]}),
                ),
                json!([
                    "p",
                    "2/2",
                    "Running",
                    "2 (3m ago)",
                    "60m",
                    "10.0.0.5",
                    "n1",
                    "<none>",
                    "<none>"
                ]),
            ),
            (
                pod(
                    two_containers(),
                    json!({"phase": "Running", "containerStatuses": [
                        running("a", 0),
                        {"name": "b", "restartCount": 5, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}),
                ),
                json!([
                    "p",
                    "1/2",
                    "CrashLoopBackOff",
                    "5",
                    "60m",
                    "<none>",
                    "<none>",
                    "<none>",
                    "<none>"
                ]),
            ),
            (
                pod(
                    json!({"containers": [{"name": "a"}], "initContainers": [{"name": "i1"}, {"name": "i2"}]}),
                    json!({"phase": "Pending", "initContainerStatuses": [
                        {"name": "i1", "state": {"terminated": {"exitCode": 0}}},
                        {"name": "i2", "state": {"running": {}}}]}),
                ),
                json!([
                    "p", "0/1", "Init:1/2", "0", "60m", "<none>", "<none>", "<none>", "<none>"
                ]),
            ),
            (
                pod(
                    json!({"containers": [{"name": "a"}], "initContainers": [{"name": "i1"}]}),
                    json!({"phase": "Pending", "initContainerStatuses": [
                        {"name": "i1", "state": {"terminated": {"exitCode": 2}}}]}),
                ),
                json!([
                    "p",
                    "0/1",
                    "Init:ExitCode:2",
                    "0",
                    "60m",
                    "<none>",
                    "<none>",
                    "<none>",
                    "<none>"
                ]),
            ),
            (
                // A sidecar (restartable init container) counts as a container once started.
                pod(
                    json!({"containers": [{"name": "a"}], "initContainers": [{"name": "s", "restartPolicy": "Always"}]}),
                    json!({"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}],
                           "initContainerStatuses": [{"name": "s", "started": true, "ready": true, "restartCount": 1, "state": {"running": {}}}],
                           "containerStatuses": [running("a", 0)]}),
                ),
                json!([
                    "p", "2/2", "Running", "1", "60m", "<none>", "<none>", "<none>", "<none>"
                ]),
            ),
            (
                pod(
                    json!({"containers": [{"name": "a"}], "readinessGates": [{"conditionType": "x/ok"}, {"conditionType": "x/two"}]}),
                    json!({"phase": "Succeeded", "conditions": [{"type": "x/ok", "status": "True"}],
                           "containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
                ),
                json!([
                    "p",
                    "0/1",
                    "Completed",
                    "0",
                    "60m",
                    "<none>",
                    "<none>",
                    "<none>",
                    "1/2"
                ]),
            ),
        ];
        for (obj, want) in cases {
            assert_eq!(Value::from(cells(&obj, now())), want, "{obj}");
        }
    }

    #[test]
    fn deleting_pods_are_terminating_unless_finished() {
        let mut p = pod(two_containers(), json!({"phase": "Running"}));
        p["metadata"]["deletionTimestamp"] = json!("2026-11-29T11:59:00Z");
        assert_eq!(cells(&p, now())[2], "Terminating");
        p["status"]["phase"] = json!("Succeeded");
        assert_eq!(cells(&p, now())[2], "Succeeded");
        p["status"]["reason"] = json!("NodeLost");
        assert_eq!(cells(&p, now())[2], "Unknown");
    }

    #[test]
    fn finished_pods_carry_a_completed_row_condition() {
        assert_eq!(
            conditions(&pod(json!({}), json!({"phase": "Running"}))),
            None
        );
        assert_eq!(
            conditions(&pod(json!({}), json!({"phase": "Failed"}))).unwrap()[0]["reason"],
            "Failed"
        );
    }
}
