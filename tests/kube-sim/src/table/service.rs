//! `kubectl get services` rows: kube-apiserver's `printService`.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::age::age;
use super::column::{age_column, column, name_column};
use super::fields::{array_at, int_at, str_at, timestamp_at};

pub fn columns() -> Vec<Value> {
    vec![
        name_column(),
        column(
            "Type",
            "string",
            "",
            "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is \"None\", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types",
            0,
        ),
        column(
            "Cluster-IP",
            "string",
            "",
            "clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are \"None\", empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a \"headless service\" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
            0,
        ),
        column(
            "External-IP",
            "string",
            "",
            "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.",
            0,
        ),
        column(
            "Port(s)",
            "string",
            "",
            "The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies",
            0,
        ),
        age_column(),
        column(
            "Selector",
            "string",
            "",
            "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/",
            1,
        ),
    ]
}

/// Name, Type, Cluster-IP, External-IP, Port(s), Age, Selector (priority 1).
pub fn cells(svc: &Value, now: Timestamp) -> Vec<Value> {
    let cluster_ip = array_at(svc, "/spec/clusterIPs")
        .first()
        .and_then(Value::as_str)
        .unwrap_or("<none>");
    let ports = match port_string(array_at(svc, "/spec/ports")) {
        p if p.is_empty() => "<none>".to_string(),
        p => p,
    };
    vec![
        json!(str_at(svc, &["metadata", "name"])),
        json!(str_at(svc, &["spec", "type"])),
        json!(cluster_ip),
        json!(external_ip(svc)),
        json!(ports),
        json!(age(timestamp_at(svc, "/metadata/creationTimestamp"), now)),
        json!(format_labels(svc.pointer("/spec/selector"))),
    ]
}

fn strings(values: &[Value]) -> Vec<&str> {
    values.iter().filter_map(Value::as_str).collect()
}

/// `getServiceExternalIP` as the server renders it (wide: load balancer addresses unclipped).
fn external_ip(svc: &Value) -> String {
    let external = strings(array_at(svc, "/spec/externalIPs"));
    match str_at(svc, &["spec", "type"]) {
        "ClusterIP" | "NodePort" if !external.is_empty() => external.join(","),
        "ClusterIP" | "NodePort" => "<none>".into(),
        "LoadBalancer" => {
            let mut ingress: Vec<&str> = array_at(svc, "/status/loadBalancer/ingress")
                .iter()
                .map(|i| match str_at(i, &["ip"]) {
                    "" => str_at(i, &["hostname"]),
                    ip => ip,
                })
                .filter(|a| !a.is_empty())
                .collect();
            ingress.sort_unstable();
            ingress.dedup();
            ingress.extend(external);
            if ingress.is_empty() {
                "<pending>".into()
            } else {
                ingress.join(",")
            }
        }
        "ExternalName" => str_at(svc, &["spec", "externalName"]).into(),
        _ => "<unknown>".into(),
    }
}

/// `makePortString`: `port/protocol`, or `port:nodePort/protocol`.
fn port_string(ports: &[Value]) -> String {
    ports
        .iter()
        .map(|p| {
            let port = int_at(p, "/port").unwrap_or(0);
            let protocol = str_at(p, &["protocol"]);
            match int_at(p, "/nodePort").unwrap_or(0) {
                n if n > 0 => format!("{port}:{n}/{protocol}"),
                _ => format!("{port}/{protocol}"),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `labels.FormatLabels`: `k=v` sorted by key, or `<none>`.
fn format_labels(labels: Option<&Value>) -> String {
    let Some(Value::Object(map)) = labels else {
        return "<none>".into();
    };
    if map.is_empty() {
        return "<none>".into();
    }
    let mut pairs: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    pairs.sort();
    pairs.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-29T12:00:00Z".parse().unwrap()
    }

    fn svc(spec: Value, status: Value) -> Value {
        json!({"metadata": {"name": "s", "creationTimestamp": "2026-11-29T11:58:00Z"}, "spec": spec, "status": status})
    }

    #[test]
    fn services_print_like_print_service() {
        let cases = [
            (
                svc(
                    json!({"type": "ClusterIP", "clusterIP": "10.96.4.7", "clusterIPs": ["10.96.4.7"],
                           "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
                           "selector": {"tier": "web", "app": "x"}}),
                    json!({}),
                ),
                json!([
                    "s",
                    "ClusterIP",
                    "10.96.4.7",
                    "<none>",
                    "80/TCP,53/UDP",
                    "2m",
                    "app=x,tier=web"
                ]),
            ),
            (
                svc(
                    json!({"type": "NodePort", "clusterIPs": ["10.96.0.9"], "externalIPs": ["1.2.3.4"],
                           "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}),
                    json!({}),
                ),
                json!([
                    "s",
                    "NodePort",
                    "10.96.0.9",
                    "1.2.3.4",
                    "80:30080/TCP",
                    "2m",
                    "<none>"
                ]),
            ),
            (
                svc(
                    json!({"type": "LoadBalancer", "clusterIPs": ["10.96.0.10"], "ports": [{"port": 443, "nodePort": 31000, "protocol": "TCP"}]}),
                    json!({}),
                ),
                json!([
                    "s",
                    "LoadBalancer",
                    "10.96.0.10",
                    "<pending>",
                    "443:31000/TCP",
                    "2m",
                    "<none>"
                ]),
            ),
            (
                svc(
                    json!({"type": "LoadBalancer", "clusterIPs": ["10.96.0.10"], "ports": [{"port": 443, "nodePort": 31000, "protocol": "TCP"}]}),
                    json!({"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}, {"ip": "5.6.7.8"}]}}),
                ),
                json!([
                    "s",
                    "LoadBalancer",
                    "10.96.0.10",
                    "5.6.7.8,lb.example.com",
                    "443:31000/TCP",
                    "2m",
                    "<none>"
                ]),
            ),
            (
                svc(
                    json!({"type": "ExternalName", "externalName": "db.example.com"}),
                    json!({}),
                ),
                json!([
                    "s",
                    "ExternalName",
                    "<none>",
                    "db.example.com",
                    "<none>",
                    "2m",
                    "<none>"
                ]),
            ),
            (
                svc(
                    json!({"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"], "selector": {}}),
                    json!({}),
                ),
                json!(["s", "ClusterIP", "None", "<none>", "<none>", "2m", "<none>"]),
            ),
        ];
        for (obj, want) in cases {
            assert_eq!(Value::from(cells(&obj, now())), want, "{obj}");
        }
    }
}
