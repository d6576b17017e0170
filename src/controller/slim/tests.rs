use serde_json::json;

use super::*;
use crate::admission::Confinement;

#[test]
fn the_watch_cache_keeps_no_copies_of_the_object() {
    let annotations =
        |pairs: &[(&str, &str)]| -> Option<std::collections::BTreeMap<String, String>> {
            Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
    let cases = [
        // annotations before, after
        (annotations(&[(LAST_APPLIED, "{...}")]), None),
        (
            annotations(&[(LAST_APPLIED, "{...}"), ("team", "a")]),
            annotations(&[("team", "a")]),
        ),
        (annotations(&[("team", "a")]), annotations(&[("team", "a")])),
        (None, None),
    ];
    for (before, after) in cases {
        let mut meta = kube::api::ObjectMeta {
            annotations: before.clone(),
            managed_fields: Some(vec![Default::default()]),
            ..Default::default()
        };
        slim(&mut meta);
        assert_eq!(meta.annotations, after, "{before:?}");
        assert_eq!(meta.managed_fields, None);
    }
}

/// The compacted object is admitted exactly as the original: the same desired role (the same
/// text for IAM, key order kept), the same refusals with the same fields and messages.
#[test]
fn compacted_documents_admit_the_same() {
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let read = json!({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}], "Version": "2012-10-17"});
    let cases = [
        // trust, an inline policy
        (trust.clone(), read.clone()),
        (trust.clone(), json!(read.to_string())),
        (trust.clone(), json!({"Version": "2012-10-17"})),
        (trust.clone(), json!(["not", "a", "document"])),
        (
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}]}),
            read.clone(),
        ),
        (json!(42), read.clone()),
        (
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"aws:SourceAccount": ["1", "2"]}}}]}),
            read,
        ),
    ];
    let settings = crate::controller::Settings {
        cluster_id: "test".into(),
        namespace: None,
        resync: std::time::Duration::from_secs(300),
        drift_check: Default::default(),
        concurrency: 1,
        base_backoff: std::time::Duration::from_secs(1),
        max_backoff: std::time::Duration::from_secs(1),
        propagation_window: std::time::Duration::from_secs(1),
        confinement: Confinement::default(),
        ignore_tag_keys: Vec::new(),
        iam_rate_limit: 0.0,
        force_detach: false,
        unused_after: crate::findings::DEFAULT_UNUSED_AFTER,
        workloads: Default::default(),
    };
    for (trust, inline) in cases {
        let mut role: crate::api::IamRole = serde_json::from_value(json!({
            "apiVersion": "iam.rolesmith.dev/v1alpha1",
            "kind": "IamRole",
            "metadata": {"name": "app", "namespace": "team-a", "uid": "u"},
            "spec": {"assumeRolePolicy": trust, "inlinePolicies": {"p": inline}},
        }))
        .expect("an IamRole");
        let before = crate::controller::apply::admit(&role, &settings, &[], None);
        compact_documents(&mut role.spec);
        let after = crate::controller::apply::admit(&role, &settings, &[], None);
        assert_eq!(
            format!("{before:?}"),
            format!("{after:?}"),
            "{:?}",
            role.spec
        );
    }
}
