//! Which old value an update compares a new one with (ratcheting, transition rules):
//! object fields and map entries by key, items of `x-kubernetes-list-type: map` lists by
//! their key fields. Items of other lists have no old counterpart.

use serde_json::Value;

pub fn list_item<'a>(
    list_schema: &Value,
    old_list: Option<&'a Value>,
    item: &Value,
) -> Option<&'a Value> {
    if list_schema
        .get("x-kubernetes-list-type")
        .and_then(Value::as_str)
        != Some("map")
    {
        return None;
    }
    let keys: Vec<&str> = list_schema
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let key_of = |v: &Value| -> Vec<Value> {
        keys.iter()
            .map(|k| v.get(*k).cloned().unwrap_or(Value::Null))
            .collect()
    };
    let wanted = key_of(item);
    old_list?
        .as_array()?
        .iter()
        .find(|old| key_of(old) == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_map_lists_correlate_items() {
        let map_list = json!({"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]});
        let old = json!([{"name": "a", "n": 1}, {"name": "b", "n": 2}]);
        assert_eq!(
            list_item(&map_list, Some(&old), &json!({"name": "b", "n": 9})),
            Some(&old[1])
        );
        assert_eq!(
            list_item(&map_list, Some(&old), &json!({"name": "c"})),
            None
        );
        assert_eq!(list_item(&map_list, None, &json!({"name": "a"})), None);
        let atomic = json!({"type": "array"});
        assert_eq!(
            list_item(&atomic, Some(&old), &json!({"name": "a", "n": 1})),
            None
        );
    }
}
