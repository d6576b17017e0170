use super::*;

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
