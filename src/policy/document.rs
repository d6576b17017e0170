//! Turning the spec's policy field (YAML mapping or JSON string) into the text sent to IAM.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Why a spec field cannot be used as a policy document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error(
        "the policy is a string but not valid JSON ({reason}); write it as a YAML mapping with Version and Statement, or as a string holding a JSON object"
    )]
    NotJson { reason: String },
    #[error(
        "the policy is a string holding JSON {found}, not a JSON object; IAM expects an object with Version and Statement"
    )]
    TextNotObject { found: &'static str },
    #[error(
        "the policy is {found}; write it as a YAML mapping with Version and Statement, or as a string holding a JSON object"
    )]
    WrongType { found: &'static str },
    #[error(
        "the policy has the key {key:?} twice {within}; IAM and rolesmith could each read a different one, so write it once"
    )]
    DuplicateKey { key: String, within: String },
    #[error("the policy could not be written as JSON: {reason}")]
    Serialize { reason: String },
}

/// The JSON text to send to IAM for a spec field.
///
/// A string is sent verbatim (once it is known to hold a JSON object with no key twice in one
/// object): whatever the user wrote
/// is what IAM stores, so the user's formatting survives a round trip. A mapping becomes
/// compact JSON in the order the user wrote the keys.
pub fn document_text(value: &Value) -> Result<String, PolicyError> {
    match value {
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(_)) => match duplicate_key(text) {
                Some(error) => Err(error),
                None => Ok(text.clone()),
            },
            Ok(other) => Err(PolicyError::TextNotObject {
                found: kind_of(&other),
            }),
            Err(err) => Err(PolicyError::NotJson {
                reason: err.to_string(),
            }),
        },
        Value::Object(_) => serde_json::to_string(value).map_err(|err| PolicyError::Serialize {
            reason: err.to_string(),
        }),
        other => Err(PolicyError::WrongType {
            found: kind_of(other),
        }),
    }
}

/// The first key that occurs twice in one object of a JSON text, at any depth. serde_json keeps
/// the last of them without a word; IAM parses the text it is sent on its own and may keep
/// another, so the checks and guardrails would judge a document IAM does not enforce.
/// (A mapping in the spec cannot hold one: the YAML reader refuses duplicate keys, and the API
/// server stores each key once.)
fn duplicate_key(text: &str) -> Option<PolicyError> {
    let mut found = None;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    // The walk stops with an error at the first duplicate; any other error is the JSON one the
    // caller has already reported.
    let _ = Walk {
        path: String::new(),
        found: &mut found,
    }
    .deserialize(&mut deserializer);
    found
}

/// Visits every value of a JSON text, keeping track of where it is (`Statement[0].Condition`).
struct Walk<'a> {
    path: String,
    found: &'a mut Option<PolicyError>,
}

impl Walk<'_> {
    fn child(&mut self, path: String) -> Walk<'_> {
        Walk {
            path,
            found: &mut *self.found,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while seq
            .next_element_seed(self.child(format!("{}[{index}]", self.path)))?
            .is_some()
        {
            index += 1;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                let within = if self.path.is_empty() {
                    "at the top level".to_string()
                } else {
                    format!("in {}", self.path)
                };
                *self.found = Some(PolicyError::DuplicateKey { key, within });
                return Err(de::Error::custom("duplicate key"));
            }
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            map.next_value_seed(self.child(path))?;
            seen.insert(key);
        }
        Ok(())
    }
}

/// "a number", "an array", …: for messages.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepted_values_become_the_text_sent_to_iam() {
        let cases = [
            // A string is kept byte for byte, spacing included.
            (
                json!("{ \"Version\": \"2012-10-17\",\n \"Statement\": [] }"),
                "{ \"Version\": \"2012-10-17\",\n \"Statement\": [] }",
            ),
            // A mapping keeps the user's key order (not alphabetical).
            (
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}),
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
            ),
            (
                json!({"Statement": {}, "Version": "2012-10-17"}),
                r#"{"Statement":{},"Version":"2012-10-17"}"#,
            ),
        ];
        for (value, want) in cases {
            assert_eq!(document_text(&value).as_deref(), Ok(want), "{value}");
        }
    }

    #[test]
    fn rejected_values_say_what_was_found() {
        let cases = [
            (json!(5), PolicyError::WrongType { found: "a number" }),
            (json!([1]), PolicyError::WrongType { found: "an array" }),
            (json!(true), PolicyError::WrongType { found: "a boolean" }),
            (json!(null), PolicyError::WrongType { found: "null" }),
            (
                json!("[1,2]"),
                PolicyError::TextNotObject { found: "an array" },
            ),
            (
                json!("\"x\""),
                PolicyError::TextNotObject { found: "a string" },
            ),
            (
                json!("42"),
                PolicyError::TextNotObject { found: "a number" },
            ),
        ];
        for (value, want) in cases {
            assert_eq!(document_text(&value), Err(want), "{value}");
        }
        for text in ["", "{", "Version: 2012-10-17", "{\"a\":}"] {
            let err = document_text(&json!(text)).unwrap_err();
            assert!(
                matches!(err, PolicyError::NotJson { .. }),
                "{text:?}: {err:?}"
            );
            assert!(err.to_string().contains("not valid JSON"), "{err}");
        }
    }

    /// serde_json keeps the last of two equal keys; IAM may keep another, and the checks would
    /// then judge a document IAM does not enforce.
    #[test]
    fn duplicate_keys_are_refused_at_every_level() {
        let duplicate = |key: &str, within: &str| PolicyError::DuplicateKey {
            key: key.into(),
            within: within.into(),
        };
        let cases = [
            (
                r#"{"Version":"2012-10-17","Version":"2008-10-17","Statement":[]}"#,
                duplicate("Version", "at the top level"),
            ),
            (
                r#"{"Version":"2012-10-17","Statement":[],"Statement":{}}"#,
                duplicate("Statement", "at the top level"),
            ),
            (
                r#"{"Statement":[{"Effect":"Deny","Action":"*","Effect":"Allow"}]}"#,
                duplicate("Effect", "in Statement[0]"),
            ),
            (
                r#"{"Statement":[{"Effect":"Deny"},{"Effect":"Allow","Sid":"a","Sid":"b"}]}"#,
                duplicate("Sid", "in Statement[1]"),
            ),
            (
                r#"{"Statement":{"Principal":{"AWS":"111122223333","AWS":"*"}}}"#,
                duplicate("AWS", "in Statement.Principal"),
            ),
            (
                r#"{"Statement":[{"Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1","aws:PrincipalOrgID":"*"}}}]}"#,
                duplicate(
                    "aws:PrincipalOrgID",
                    "in Statement[0].Condition.StringEquals",
                ),
            ),
            (
                r#"{"Statement":[{"Condition":{"StringEquals":{},"StringEquals":{}}}]}"#,
                duplicate("StringEquals", "in Statement[0].Condition"),
            ),
            // The same key once escaped is still the same key.
            (
                r#"{"Statement":[{"Effect":"Deny","\u0045ffect":"Allow"}]}"#,
                duplicate("Effect", "in Statement[0]"),
            ),
            (
                r#"{"a":[[{"x":1}],[{"x":1,"x":2}]]}"#,
                duplicate("x", "in a[1][0]"),
            ),
        ];
        for (text, want) in &cases {
            assert_eq!(document_text(&json!(text)).as_ref(), Err(want), "{text}");
        }
        // Not duplicates: keys differing in case (the checks report an unknown key), and one key
        // in several objects.
        for text in [
            r#"{"Statement":[{"Effect":"Allow","effect":"Deny"}]}"#,
            r#"{"Statement":[{"Effect":"Allow"},{"Effect":"Deny"}],"Version":"2012-10-17"}"#,
        ] {
            assert_eq!(document_text(&json!(text)).as_deref(), Ok(text));
        }
        let message = document_text(&json!(cases[2].0)).unwrap_err().to_string();
        assert_eq!(
            message,
            "the policy has the key \"Effect\" twice in Statement[0]; IAM and rolesmith could each read a different one, so write it once"
        );
    }

    #[test]
    fn messages_tell_the_user_what_to_write() {
        let err = document_text(&json!(5)).unwrap_err().to_string();
        assert_eq!(
            err,
            "the policy is a number; write it as a YAML mapping with Version and Statement, or as a string holding a JSON object"
        );
    }
}
