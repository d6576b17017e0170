//! `field.Error` of k8s.io/apimachinery: the text kubectl prints for a 422 Invalid.

use serde_json::Value;

use super::go_fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldErrorKind {
    Invalid,
    TypeInvalid,
    Required,
    NotSupported,
    TooLong,
    TooMany,
    Forbidden,
    Duplicate,
    Internal,
}

impl FieldErrorKind {
    /// `ErrorType.String()`.
    fn label(self) -> &'static str {
        match self {
            Self::Invalid | Self::TypeInvalid => "Invalid value",
            Self::Required => "Required value",
            Self::NotSupported => "Unsupported value",
            Self::TooLong => "Too long",
            Self::TooMany => "Too many",
            Self::Forbidden => "Forbidden",
            Self::Duplicate => "Duplicate value",
            Self::Internal => "Internal error",
        }
    }

    /// The cause type in `details.causes` (`metav1.CauseType`).
    pub fn reason(self) -> &'static str {
        match self {
            Self::Invalid => "FieldValueInvalid",
            Self::TypeInvalid => "FieldValueTypeInvalid",
            Self::Required => "FieldValueRequired",
            Self::NotSupported => "FieldValueNotSupported",
            Self::TooLong => "FieldValueTooLong",
            Self::TooMany => "FieldValueTooMany",
            Self::Forbidden => "FieldValueForbidden",
            Self::Duplicate => "FieldValueDuplicate",
            Self::Internal => "InternalError",
        }
    }

    /// Kinds whose body never shows the value.
    fn hides_value(self) -> bool {
        matches!(
            self,
            Self::Required | Self::Forbidden | Self::TooLong | Self::Internal
        )
    }

    /// The kinds after which kube-apiserver skips CEL rules (`hasBlockingErr`).
    pub fn blocks_rules(self) -> bool {
        matches!(
            self,
            Self::NotSupported | Self::Required | Self::TooLong | Self::TooMany | Self::TypeInvalid
        )
    }
}

/// One validation failure. `path` is the field as the apiserver names it (`spec.parts[0].name`,
/// `<nil>` for the object itself); `value` is `None` where Go omits it.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    pub path: String,
    pub kind: FieldErrorKind,
    pub detail: String,
    pub value: Option<Value>,
}

impl FieldError {
    pub fn new(
        path: &str,
        kind: FieldErrorKind,
        value: Option<Value>,
        detail: impl Into<String>,
    ) -> Self {
        FieldError {
            path: if path.is_empty() {
                "<nil>".to_string()
            } else {
                path.to_string()
            },
            kind,
            detail: detail.into(),
            value,
        }
    }

    /// `field.Error.Error()`: `spec.size: Invalid value: 200: spec.size in body should be ...`.
    pub fn message(&self) -> String {
        format!("{}: {}", self.path, self.body())
    }

    /// `field.Error.ErrorBody()`: the message of a cause in `details.causes`.
    pub fn body(&self) -> String {
        let mut body = self.kind.label().to_string();
        if !self.kind.hides_value()
            && let Some(value) = &self.value
        {
            body.push_str(": ");
            body.push_str(&go_fmt::error_value(value));
        }
        if !self.detail.is_empty() {
            body.push_str(": ");
            body.push_str(&self.detail);
        }
        body
    }

    /// `FieldValueInvalid`, `FieldValueRequired`, … for `details.causes[].reason`.
    pub fn reason(&self) -> &'static str {
        self.kind.reason()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_read_like_kube_apiserver() {
        use FieldErrorKind::*;
        let cases = [
            (
                FieldError::new(
                    "spec.replicas",
                    Invalid,
                    Some(json!(200)),
                    "spec.replicas in body should be less than or equal to 100",
                ),
                "spec.replicas: Invalid value: 200: spec.replicas in body should be less than or equal to 100",
            ),
            (
                FieldError::new(
                    "spec.mode",
                    NotSupported,
                    Some(json!("x")),
                    "supported values: \"a\", \"b\"",
                ),
                "spec.mode: Unsupported value: \"x\": supported values: \"a\", \"b\"",
            ),
            (
                FieldError::new("spec.name", Required, Some(json!("")), ""),
                "spec.name: Required value",
            ),
            (
                FieldError::new("spec.name", TooLong, None, "may not be more than 64 bytes"),
                "spec.name: Too long: may not be more than 64 bytes",
            ),
            (
                FieldError::new(
                    "spec",
                    Invalid,
                    Some(json!("object")),
                    "blue widgets are at most size 5",
                ),
                "spec: Invalid value: \"object\": blue widgets are at most size 5",
            ),
            (
                FieldError::new(
                    "spec.tags",
                    TooMany,
                    Some(json!(4)),
                    "must have at most 3 items",
                ),
                "spec.tags: Too many: 4: must have at most 3 items",
            ),
            (
                FieldError::new("spec.parts[1]", Duplicate, Some(json!({"name": "a"})), ""),
                "spec.parts[1]: Duplicate value: map[string]interface {}{\"name\":\"a\"}",
            ),
            (
                FieldError::new(
                    "",
                    Invalid,
                    Some(json!("null")),
                    "some validation rules were not checked",
                ),
                "<nil>: Invalid value: \"null\": some validation rules were not checked",
            ),
            (
                FieldError::new("spec.x", Forbidden, None, "not allowed"),
                "spec.x: Forbidden: not allowed",
            ),
        ];
        for (error, want) in cases {
            assert_eq!(error.message(), want);
        }
        assert_eq!(
            FieldError::new("a", TypeInvalid, None, "").reason(),
            "FieldValueTypeInvalid"
        );
    }
}
