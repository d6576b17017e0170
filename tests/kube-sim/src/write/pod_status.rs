//! The status kube-apiserver gives a Pod it creates (the pod strategy's `PrepareForCreate`):
//! phase Pending and the QoS class. Nothing runs pods here, so they stay Pending, exactly as on
//! a cluster without nodes.

use serde_json::{Value, json};

pub fn initial_status(pod: &Value) -> Value {
    json!({"phase": "Pending", "qosClass": qos_class(pod)})
}

/// `ComputePodQOS` over the containers and init containers (cpu and memory only). A container
/// that sets limits but no requests has its requests defaulted to its limits, as the server does.
pub fn qos_class(pod: &Value) -> &'static str {
    let containers = ["/spec/containers", "/spec/initContainers"]
        .iter()
        .flat_map(|p| {
            pod.pointer(p)
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
        });
    let mut requests: Vec<(&str, f64)> = Vec::new();
    let mut limits: Vec<(&str, f64)> = Vec::new();
    let mut guaranteed = true;
    let add = |sums: &mut Vec<(&'static str, f64)>, name: &'static str, q: f64| match sums
        .iter_mut()
        .find(|(n, _)| *n == name)
    {
        Some((_, total)) => *total += q,
        None => sums.push((name, q)),
    };
    for container in containers {
        let quantity = |kind: &str, name: &str| {
            container
                .pointer(&format!("/resources/{kind}/{name}"))
                .and_then(quantity_value)
                .filter(|q| *q > 0.0)
        };
        let mut limits_found = 0;
        for name in ["cpu", "memory"] {
            let limit = quantity("limits", name);
            let request = quantity("requests", name).or_else(|| {
                // Defaulting copies a limit into an unset request.
                container
                    .pointer(&format!("/resources/requests/{name}"))
                    .is_none()
                    .then_some(limit)
                    .flatten()
            });
            if let Some(q) = request {
                add(&mut requests, name, q);
            }
            if let Some(q) = limit {
                limits_found += 1;
                add(&mut limits, name, q);
            }
        }
        if limits_found < 2 {
            guaranteed = false;
        }
    }
    if requests.is_empty() && limits.is_empty() {
        return "BestEffort";
    }
    let same = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs());
    let all_match = requests.iter().all(|(name, req)| {
        limits
            .iter()
            .find(|(n, _)| n == name)
            .is_some_and(|(_, lim)| same(*lim, *req))
    });
    if guaranteed && all_match && requests.len() == limits.len() {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// A resource.Quantity as a number (`500m`, `1.5Gi`, `2e3`, `128974848`); `None` if malformed.
fn quantity_value(v: &Value) -> Option<f64> {
    if let Some(n) = v.as_f64() {
        return Some(n);
    }
    let s = v.as_str()?.trim();
    let split = s
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let multiplier = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => return None,
    };
    match number.parse::<f64>() {
        Ok(n) => Some(n * multiplier),
        // `1E` is an exa, not an exponent.
        Err(_) if suffix.is_empty() && s.ends_with('E') => {
            s[..s.len() - 1].parse::<f64>().ok().map(|n| n * 1e18)
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(resources: &[Value]) -> Value {
        let containers: Vec<Value> = resources
            .iter()
            .enumerate()
            .map(|(i, r)| json!({"name": format!("c{i}"), "resources": r}))
            .collect();
        json!({"spec": {"containers": containers}})
    }

    #[test]
    fn qos_classes_like_compute_pod_qos() {
        let cases = [
            (vec![json!({})], "BestEffort"),
            (
                vec![json!({"limits": {"cpu": "500m", "memory": "1Gi"}})],
                "Guaranteed",
            ),
            (
                vec![
                    json!({"requests": {"cpu": "0.5", "memory": "1024Mi"}, "limits": {"cpu": "500m", "memory": "1Gi"}}),
                ],
                "Guaranteed",
            ),
            (
                vec![
                    json!({"requests": {"cpu": "100m"}, "limits": {"cpu": "500m", "memory": "1Gi"}}),
                ],
                "Burstable",
            ),
            (vec![json!({"requests": {"memory": "64Mi"}})], "Burstable"),
            (
                vec![json!({"limits": {"cpu": "1", "memory": "1Gi"}}), json!({})],
                "Burstable",
            ),
        ];
        for (resources, want) in cases {
            assert_eq!(qos_class(&pod(&resources)), want, "{resources:?}");
        }
        assert_eq!(
            initial_status(&pod(&[json!({})])),
            json!({"phase": "Pending", "qosClass": "BestEffort"})
        );
    }

    #[test]
    fn quantities_parse() {
        for (text, want) in [
            ("500m", 0.5),
            ("1Gi", 1073741824.0),
            ("2e3", 2000.0),
            ("1.5k", 1500.0),
            ("2E", 2e18),
        ] {
            assert_eq!(quantity_value(&json!(text)), Some(want), "{text}");
        }
        assert_eq!(quantity_value(&json!("lots")), None);
    }
}
