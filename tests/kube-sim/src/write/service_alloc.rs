//! What kube-apiserver does to a Service on write besides storing it: the defaults
//! (`SetDefaults_Service`), cluster IP and node port allocation (the service registry's
//! allocators), keeping allocated values on update (`patchAllocatedValues`), and the checks on
//! ports and types that would otherwise let a manifest pass here and fail on a real cluster.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use serde_json::{Map, Value, json};

use crate::status::Cause;

/// kubeadm's (and most clusters') `--service-cluster-ip-range`.
pub const SERVICE_CIDR: &str = "10.96.0.0/12";
const CIDR_BASE: u32 = u32::from_be_bytes([10, 96, 0, 0]);
const CIDR_BITS: u32 = 12;
/// kube-apiserver's default `--service-node-port-range`.
const NODE_PORTS: std::ops::RangeInclusive<i64> = 30000..=32767;
const TYPES: [&str; 4] = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];

/// Cluster IPs and node ports held by other Services.
#[derive(Default)]
pub struct InUse {
    pub ips: HashSet<String>,
    pub node_ports: HashSet<i64>,
}

impl InUse {
    pub fn of<'a>(services: impl IntoIterator<Item = &'a Value>) -> Self {
        let mut used = InUse::default();
        for svc in services {
            for ip in strings(svc.pointer("/spec/clusterIPs")) {
                used.ips.insert(ip.to_string());
            }
            for port in list(svc.pointer("/spec/ports")) {
                if let Some(n) = port.get("nodePort").and_then(Value::as_i64) {
                    used.node_ports.insert(n);
                }
            }
        }
        used
    }
}

fn strings(v: Option<&Value>) -> Vec<&str> {
    list(v).iter().filter_map(Value::as_str).collect()
}

fn list(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn spec_str<'a>(svc: &'a Value, field: &str) -> &'a str {
    svc.pointer(&format!("/spec/{field}"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn needs_cluster_ip(svc: &Value) -> bool {
    spec_str(svc, "type") != "ExternalName"
}

fn needs_node_ports(svc: &Value) -> bool {
    match spec_str(svc, "type") {
        "NodePort" => true,
        "LoadBalancer" => svc
            .pointer("/spec/allocateLoadBalancerNodePorts")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        _ => false,
    }
}

/// Defaults, allocation and checks for a Service about to be stored. `random` supplies the
/// allocators' randomness (any u32 stream; tests pass a fixed one).
pub fn prepare(
    svc: &mut Value,
    old: Option<&Value>,
    in_use: &InUse,
    random: &mut dyn FnMut() -> u32,
) -> Result<(), Vec<Cause>> {
    let Some(spec) = svc
        .as_object_mut()
        .map(|o| o.entry("spec").or_insert_with(|| json!({})))
        .and_then(Value::as_object_mut)
    else {
        return Ok(());
    };
    set_defaults(spec);
    if let Some(old) = old {
        keep_allocated(svc, old);
    }
    let mut causes = validate(svc, old);
    if causes.is_empty() {
        causes.extend(allocate_cluster_ip(svc, old, in_use, random));
        causes.extend(allocate_node_ports(svc, old, in_use, random));
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(causes)
    }
}

fn set_defaults(spec: &mut Map<String, Value>) {
    let kind = spec
        .entry("type")
        .or_insert_with(|| json!("ClusterIP"))
        .as_str()
        .unwrap_or("")
        .to_string();
    spec.entry("sessionAffinity")
        .or_insert_with(|| json!("None"));
    if let Some(Value::Array(ports)) = spec.get_mut("ports") {
        for port in ports.iter_mut().filter_map(Value::as_object_mut) {
            port.entry("protocol").or_insert_with(|| json!("TCP"));
            let target_unset = match port.get("targetPort") {
                None | Some(Value::Null) => true,
                Some(Value::Number(n)) => n.as_i64() == Some(0),
                Some(Value::String(s)) => s.is_empty(),
                Some(_) => false,
            };
            if target_unset && let Some(p) = port.get("port").cloned() {
                port.insert("targetPort".into(), p);
            }
        }
    }
    if matches!(kind.as_str(), "NodePort" | "LoadBalancer") {
        spec.entry("externalTrafficPolicy")
            .or_insert_with(|| json!("Cluster"));
    }
    if kind == "LoadBalancer" {
        spec.entry("allocateLoadBalancerNodePorts")
            .or_insert_with(|| json!(true));
    }
    if kind != "ExternalName" {
        spec.entry("internalTrafficPolicy")
            .or_insert_with(|| json!("Cluster"));
    }
}

/// `patchAllocatedValues`: an update that leaves allocated fields out (kubectl apply, a PUT built
/// from a manifest) keeps what the server allocated.
fn keep_allocated(svc: &mut Value, old: &Value) {
    if needs_cluster_ip(old) && needs_cluster_ip(svc) {
        let unset = |svc: &Value, field: &str| match svc.pointer(&format!("/spec/{field}")) {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            Some(_) => false,
        };
        let copy = |svc: &mut Value, field: &str| {
            if let Some(v) = old.pointer(&format!("/spec/{field}")).cloned()
                && let Some(spec) = svc.get_mut("spec").and_then(Value::as_object_mut)
            {
                spec.insert(field.into(), v);
            }
        };
        if unset(svc, "clusterIP") {
            copy(svc, "clusterIP");
        }
        // `normalizeClusterIPs`: an old client sets only the singular field; a changed
        // clusterIP with the plural left out is a change of both (and is then refused).
        if unset(svc, "clusterIPs") {
            if spec_str(svc, "clusterIP") == spec_str(old, "clusterIP") {
                copy(svc, "clusterIPs");
            } else {
                let ip = json!([spec_str(svc, "clusterIP")]);
                if let Some(spec) = svc.get_mut("spec").and_then(Value::as_object_mut) {
                    spec.insert("clusterIPs".into(), ip);
                }
            }
        }
        for field in ["ipFamilies", "ipFamilyPolicy"] {
            if unset(svc, field) {
                copy(svc, field);
            }
        }
    }
    if needs_node_ports(old) && needs_node_ports(svc) {
        let node_ports = |s: &Value| -> HashSet<i64> {
            list(s.pointer("/spec/ports"))
                .iter()
                .filter_map(|p| p.get("nodePort").and_then(Value::as_i64))
                .collect()
        };
        let kept: HashSet<i64> = node_ports(old)
            .intersection(&node_ports(svc))
            .copied()
            .collect();
        let by_name: Vec<(String, i64)> = list(old.pointer("/spec/ports"))
            .iter()
            .map(|p| {
                (
                    p.get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    p.get("nodePort").and_then(Value::as_i64).unwrap_or(0),
                )
            })
            .collect();
        if let Some(Value::Array(ports)) = svc.pointer_mut("/spec/ports") {
            for port in ports.iter_mut().filter_map(Value::as_object_mut) {
                if port.get("nodePort").and_then(Value::as_i64).unwrap_or(0) != 0 {
                    continue;
                }
                let name = port.get("name").and_then(Value::as_str).unwrap_or("");
                if let Some((_, n)) = by_name.iter().find(|(old_name, _)| old_name == name)
                    && *n != 0
                    && !kept.contains(n)
                {
                    port.insert("nodePort".into(), json!(n));
                }
            }
        }
    }
}

fn validate(svc: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut causes = Vec::new();
    let kind = spec_str(svc, "type");
    if !TYPES.contains(&kind) {
        causes.push(Cause::new(
            "FieldValueNotSupported",
            "spec.type",
            format!(
                "spec.type: Unsupported value: \"{kind}\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""
            ),
        ));
        return causes;
    }
    let ports = list(svc.pointer("/spec/ports"));
    let headless = spec_str(svc, "clusterIP") == "None";
    if ports.is_empty() && !headless && kind != "ExternalName" {
        causes.push(Cause::new(
            "FieldValueRequired",
            "spec.ports",
            "spec.ports: Required value".into(),
        ));
    }
    if kind == "ExternalName" && spec_str(svc, "externalName").is_empty() {
        causes.push(Cause::new(
            "FieldValueRequired",
            "spec.externalName",
            "spec.externalName: Required value".into(),
        ));
    }
    let mut seen = HashSet::new();
    for (i, port) in ports.iter().enumerate() {
        let field = |f: &str| format!("spec.ports[{i}].{f}");
        let name = port.get("name").and_then(Value::as_str).unwrap_or("");
        if ports.len() > 1 && name.is_empty() {
            causes.push(Cause::new(
                "FieldValueRequired",
                &field("name"),
                format!("{}: Required value", field("name")),
            ));
        } else if !name.is_empty() && !seen.insert(name.to_string()) {
            causes.push(Cause::new(
                "FieldValueDuplicate",
                &field("name"),
                format!("{}: Duplicate value: \"{name}\"", field("name")),
            ));
        }
        let number = port.get("port").and_then(Value::as_i64).unwrap_or(0);
        if !(1..=65535).contains(&number) {
            causes.push(Cause::new(
                "FieldValueInvalid",
                &field("port"),
                format!(
                    "{}: Invalid value: {number}: must be between 1 and 65535, inclusive",
                    field("port")
                ),
            ));
        }
        let protocol = port.get("protocol").and_then(Value::as_str).unwrap_or("");
        if !matches!(protocol, "TCP" | "UDP" | "SCTP") {
            causes.push(Cause::new(
                "FieldValueNotSupported",
                &field("protocol"),
                format!(
                    "{}: Unsupported value: \"{protocol}\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
                    field("protocol")
                ),
            ));
        }
        let node_port = port.get("nodePort").and_then(Value::as_i64).unwrap_or(0);
        if node_port != 0 && !needs_node_ports(svc) {
            causes.push(Cause::new(
                "FieldValueForbidden",
                &field("nodePort"),
                format!(
                    "{}: Forbidden: may not be used when `type` is '{kind}'",
                    field("nodePort")
                ),
            ));
        }
    }
    if let Some(old) = old
        && needs_cluster_ip(old)
        && needs_cluster_ip(svc)
    {
        let before = strings(old.pointer("/spec/clusterIPs"));
        let after = strings(svc.pointer("/spec/clusterIPs"));
        if !before.is_empty() && !after.is_empty() && before[0] != after[0] {
            causes.push(Cause::new(
                "FieldValueInvalid",
                "spec.clusterIPs[0]",
                format!(
                    "spec.clusterIPs[0]: Invalid value: \"{}\": may not change once set",
                    after[0]
                ),
            ));
        }
    }
    causes
}

fn in_cidr(ip: Ipv4Addr) -> bool {
    u32::from(ip) >> (32 - CIDR_BITS) == CIDR_BASE >> (32 - CIDR_BITS)
}

fn allocate_cluster_ip(
    svc: &mut Value,
    old: Option<&Value>,
    in_use: &InUse,
    random: &mut dyn FnMut() -> u32,
) -> Vec<Cause> {
    let Some(spec) = svc.get_mut("spec").and_then(Value::as_object_mut) else {
        return vec![];
    };
    if spec.get("type").and_then(Value::as_str) == Some("ExternalName") {
        for field in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
            spec.remove(field);
        }
        return vec![];
    }
    let requested = spec
        .get("clusterIP")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .or_else(|| strings(spec.get("clusterIPs")).first().copied())
        .unwrap_or("")
        .to_string();
    let already_ours = old
        .map(|o| strings(o.pointer("/spec/clusterIPs")).contains(&requested.as_str()))
        .unwrap_or(false);
    let ip = if requested == "None" || already_ours {
        requested
    } else if requested.is_empty() {
        let size = 1u32 << (32 - CIDR_BITS);
        let free = (0..size)
            .map(|_| CIDR_BASE + 1 + random() % (size - 2))
            .find(|n| !in_use.ips.contains(&Ipv4Addr::from(*n).to_string()));
        match free {
            Some(n) => Ipv4Addr::from(n).to_string(),
            None => {
                return vec![Cause::new(
                    "FieldValueInvalid",
                    "spec.clusterIPs",
                    "spec.clusterIPs: Internal error: failed to allocate a serviceIP: range is full"
                        .into(),
                )];
            }
        }
    } else {
        let failed = |why: String| {
            vec![Cause::new(
                "FieldValueInvalid",
                "spec.clusterIPs",
                format!(
                    "spec.clusterIPs: Invalid value: []string{{\"{requested}\"}}: failed to allocate IP {requested}: {why}"
                ),
            )]
        };
        match requested.parse::<Ipv4Addr>() {
            Err(_) => {
                return vec![Cause::new(
                    "FieldValueInvalid",
                    "spec.clusterIPs[0]",
                    format!(
                        "spec.clusterIPs[0]: Invalid value: \"{requested}\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
                    ),
                )];
            }
            Ok(ip) if !in_cidr(ip) => {
                return failed(format!(
                    "the provided IP ({requested}) is not in the valid range. The range of valid IPs is {SERVICE_CIDR}"
                ));
            }
            Ok(_) if in_use.ips.contains(&requested) => {
                return failed("provided IP is already allocated".into());
            }
            Ok(_) => requested,
        }
    };
    let headless_without_selector = ip == "None"
        && spec
            .get("selector")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty);
    spec.insert("clusterIP".into(), json!(ip));
    spec.insert("clusterIPs".into(), json!([ip]));
    spec.entry("ipFamilies").or_insert_with(|| json!(["IPv4"]));
    spec.entry("ipFamilyPolicy").or_insert_with(|| {
        json!(if headless_without_selector {
            "RequireDualStack"
        } else {
            "SingleStack"
        })
    });
    vec![]
}

fn allocate_node_ports(
    svc: &mut Value,
    old: Option<&Value>,
    in_use: &InUse,
    random: &mut dyn FnMut() -> u32,
) -> Vec<Cause> {
    if !needs_node_ports(svc) {
        return vec![];
    }
    let ours: HashSet<i64> = old
        .map(|o| {
            list(o.pointer("/spec/ports"))
                .iter()
                .filter_map(|p| p.get("nodePort").and_then(Value::as_i64))
                .collect()
        })
        .unwrap_or_default();
    let mut taken: HashSet<i64> = in_use.node_ports.clone();
    let mut causes = Vec::new();
    let Some(Value::Array(ports)) = svc.pointer_mut("/spec/ports") else {
        return causes;
    };
    for (i, port) in ports.iter_mut().enumerate() {
        let Some(port) = port.as_object_mut() else {
            continue;
        };
        let wanted = port.get("nodePort").and_then(Value::as_i64).unwrap_or(0);
        let field = format!("spec.ports[{i}].nodePort");
        if wanted == 0 {
            let span = u32::try_from(NODE_PORTS.end() - NODE_PORTS.start() + 1).unwrap_or(1);
            let free = (0..span)
                .map(|_| NODE_PORTS.start() + i64::from(random() % span))
                .find(|n| !taken.contains(n));
            match free {
                Some(n) => {
                    taken.insert(n);
                    port.insert("nodePort".into(), json!(n));
                }
                None => causes.push(Cause::new(
                    "FieldValueInvalid",
                    &field,
                    format!(
                        "{field}: Internal error: failed to allocate a nodePort: range is full"
                    ),
                )),
            }
        } else if !NODE_PORTS.contains(&wanted) {
            causes.push(Cause::new(
                "FieldValueInvalid",
                &field,
                format!(
                    "{field}: Invalid value: {wanted}: provided port is not in the valid range. The range of valid ports is 30000-32767"
                ),
            ));
        } else if taken.contains(&wanted) && !ours.contains(&wanted) {
            causes.push(Cause::new(
                "FieldValueInvalid",
                &field,
                format!("{field}: Invalid value: {wanted}: provided port is already allocated"),
            ));
        } else {
            taken.insert(wanted);
        }
    }
    causes
}

/// The `kubernetes` Service every cluster has in `default`, holding the range's first address.
pub fn kubernetes_service(uid: &str, now: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "uid": uid,
            "creationTimestamp": now,
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "clusterIP": "10.96.0.1",
            "clusterIPs": ["10.96.0.1"],
            "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
            "sessionAffinity": "None",
            "type": "ClusterIP",
        },
        "status": {"loadBalancer": {}},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter() -> impl FnMut() -> u32 {
        let mut n = 0u32;
        move || {
            n += 1;
            n
        }
    }

    fn prepared(svc: Value, old: Option<&Value>, in_use: &InUse) -> Result<Value, Vec<String>> {
        let mut svc = svc;
        let mut random = counter();
        prepare(&mut svc, old, in_use, &mut random)
            .map(|()| svc)
            .map_err(|causes| causes.into_iter().map(|c| c.message).collect())
    }

    #[test]
    fn a_plain_service_gets_the_defaults_and_an_ip() {
        let svc = prepared(
            json!({"spec": {"selector": {"app": "x"}, "ports": [{"port": 80}]}}),
            None,
            &InUse::default(),
        )
        .unwrap();
        assert_eq!(
            svc["spec"],
            json!({"selector": {"app": "x"}, "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
                   "type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
                   "clusterIP": "10.96.0.2", "clusterIPs": ["10.96.0.2"], "ipFamilies": ["IPv4"],
                   "ipFamilyPolicy": "SingleStack"})
        );
    }

    #[test]
    fn allocation_skips_addresses_and_ports_in_use() {
        let mut in_use = InUse::default();
        in_use.ips.insert("10.96.0.2".into());
        in_use.node_ports.insert(30003);
        let svc = prepared(
            json!({"spec": {"type": "NodePort", "ports": [{"port": 80, "targetPort": "http"}]}}),
            None,
            &in_use,
        )
        .unwrap();
        assert_eq!(svc["spec"]["clusterIP"], "10.96.0.3");
        assert_eq!(svc["spec"]["ports"][0]["targetPort"], "http");
        assert_eq!(svc["spec"]["externalTrafficPolicy"], "Cluster");
        let node_port = svc["spec"]["ports"][0]["nodePort"].as_i64().unwrap();
        assert!(NODE_PORTS.contains(&node_port) && node_port != 30003);
    }

    #[test]
    fn headless_and_external_name_services_get_no_address() {
        let headless = prepared(
            json!({"spec": {"clusterIP": "None"}}),
            None,
            &InUse::default(),
        )
        .unwrap();
        assert_eq!(headless["spec"]["clusterIPs"], json!(["None"]));
        assert_eq!(headless["spec"]["ipFamilyPolicy"], "RequireDualStack");
        let external = prepared(
            json!({"spec": {"type": "ExternalName", "externalName": "db.example.com"}}),
            None,
            &InUse::default(),
        )
        .unwrap();
        assert_eq!(external["spec"].get("clusterIP"), None);
        assert_eq!(external["spec"].get("internalTrafficPolicy"), None);
    }

    #[test]
    fn an_update_keeps_what_was_allocated() {
        let old = prepared(
            json!({"spec": {"type": "NodePort", "ports": [{"name": "web", "port": 80}]}}),
            None,
            &InUse::default(),
        )
        .unwrap();
        let updated = prepared(
            json!({"spec": {"type": "NodePort", "ports": [{"name": "web", "port": 8080}]}}),
            Some(&old),
            &InUse::default(),
        )
        .unwrap();
        assert_eq!(updated["spec"]["clusterIP"], old["spec"]["clusterIP"]);
        assert_eq!(
            updated["spec"]["ports"][0]["nodePort"],
            old["spec"]["ports"][0]["nodePort"]
        );
        let moved = prepared(
            json!({"spec": {"clusterIP": "10.96.9.9", "ports": [{"port": 80}]}}),
            Some(&old),
            &InUse::default(),
        );
        assert!(moved.unwrap_err()[0].contains("may not change once set"));
    }

    #[test]
    fn what_a_real_server_refuses_is_refused() {
        let mut in_use = InUse::default();
        in_use.ips.insert("10.96.0.1".into());
        let cases = [
            (json!({"spec": {"ports": []}}), "spec.ports: Required value"),
            (
                json!({"spec": {"type": "Cluster", "ports": [{"port": 80}]}}),
                "spec.type: Unsupported value: \"Cluster\"",
            ),
            (
                json!({"spec": {"ports": [{"port": 80}, {"port": 81}]}}),
                "spec.ports[0].name: Required value",
            ),
            (
                json!({"spec": {"ports": [{"port": 0}]}}),
                "spec.ports[0].port: Invalid value: 0",
            ),
            (
                json!({"spec": {"ports": [{"port": 80, "protocol": "HTTP"}]}}),
                "spec.ports[0].protocol: Unsupported value: \"HTTP\"",
            ),
            (
                json!({"spec": {"ports": [{"port": 80, "nodePort": 30001}]}}),
                "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
            ),
            (
                json!({"spec": {"clusterIP": "1.2.3.4", "ports": [{"port": 80}]}}),
                "is not in the valid range. The range of valid IPs is 10.96.0.0/12",
            ),
            (
                json!({"spec": {"clusterIP": "10.96.0.1", "ports": [{"port": 80}]}}),
                "provided IP is already allocated",
            ),
            (
                json!({"spec": {"clusterIP": "ten", "ports": [{"port": 80}]}}),
                "must be a valid IP address",
            ),
            (
                json!({"spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 80}]}}),
                "provided port is not in the valid range",
            ),
            (
                json!({"spec": {"type": "ExternalName"}}),
                "spec.externalName: Required value",
            ),
        ];
        for (svc, want) in cases {
            let got = prepared(svc.clone(), None, &in_use).unwrap_err();
            assert!(got.iter().any(|m| m.contains(want)), "{svc}: {got:?}");
        }
    }
}
