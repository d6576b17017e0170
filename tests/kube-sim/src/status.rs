//! Kubernetes `Status` errors with the reasons, codes and messages kube-apiserver uses, so clients
//! that branch on `reason` (kube's `ErrorResponse`, kubectl's messages) behave as against a real cluster.

use serde_json::{Value, json};

use crate::resource::ResourceType;

#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    /// Boxed: few errors carry details, and every `Result` of the server carries the error.
    pub details: Option<Box<Value>>,
    /// `metadata.continue` of the Status: a list that can only go on inconsistently says how.
    pub list_continue: Option<String>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
            list_continue: None,
        }
    }

    pub fn with_continue(mut self, token: String) -> Self {
        self.list_continue = Some(token);
        self
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    pub fn not_found(rt: &ResourceType, name: &str) -> Self {
        Self::not_found_resource(&rt.group, &rt.plural, name)
    }

    pub fn not_found_resource(group: &str, plural: &str, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", qualified(plural, group)),
        )
        .with_details(json!({"name": name, "group": group, "kind": plural}))
    }

    pub fn namespace_not_found(ns: &str) -> Self {
        Self::not_found_resource("", "namespaces", ns)
    }

    pub fn path_not_found(path: &str) -> Self {
        Self::new(404, "NotFound", format!("the server could not find the requested resource (path {path})"))
            .with_details(json!({"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]}))
    }

    pub fn already_exists(rt: &ResourceType, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", rt.group_resource()),
        )
        .with_details(json!({"name": name, "group": rt.group, "kind": rt.plural}))
    }

    pub fn conflict(rt: &ResourceType, name: &str) -> Self {
        Self::conflict_with(
            rt,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    pub fn conflict_with(rt: &ResourceType, name: &str, why: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                rt.group_resource()
            ),
        )
        .with_details(json!({"name": name, "group": rt.group, "kind": rt.plural}))
    }

    /// 409 for server-side apply conflicts; `causes` name the conflicting fields like kube-apiserver does.
    pub fn apply_conflict(message: String, causes: Vec<Value>) -> Self {
        Self::new(409, "Conflict", message).with_details(json!({"causes": causes}))
    }

    /// 422 with one cause per field error; the message lists them like kube-apiserver
    /// (`Kind.group "name" is invalid: cause` or `[cause1, cause2]`).
    pub fn invalid(rt: &ResourceType, name: &str, causes: Vec<Cause>) -> Self {
        let listed: Vec<String> = causes.iter().map(|c| c.message.clone()).collect();
        let joined = if listed.len() == 1 {
            listed[0].clone()
        } else {
            format!("[{}]", listed.join(", "))
        };
        let gk = if rt.group.is_empty() {
            rt.kind.clone()
        } else {
            format!("{}.{}", rt.kind, rt.group)
        };
        // A cause carries the error without its field prefix (Go's ErrorBody); the field apart.
        let causes_json: Vec<Value> = causes
            .iter()
            .map(|c| {
                let body = c
                    .message
                    .strip_prefix(&format!("{}: ", c.field))
                    .unwrap_or(&c.message);
                json!({"reason": c.reason, "message": body, "field": c.field})
            })
            .collect();
        Self::new(
            422,
            "Invalid",
            format!("{gk} \"{name}\" is invalid: {joined}"),
        )
        .with_details(
            json!({"name": name, "group": rt.group, "kind": rt.kind, "causes": causes_json}),
        )
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {content_type:?})"
            ),
        )
    }

    pub fn method_not_allowed(method: &str, what: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!("{method} is not supported on {what}"),
        )
    }

    pub fn unprocessable(message: impl Into<String>, cause: impl Into<String>) -> Self {
        Self::new(422, "Invalid", message).with_details(json!({
            "causes": [{"reason": "UnexpectedServerResponse", "message": cause.into()}]
        }))
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        // Some errors (kube-apiserver's 500s from apply) carry no reason at all.
        if self.reason.is_empty()
            && let Some(map) = status.as_object_mut()
        {
            map.remove("reason");
        }
        if let Some(token) = &self.list_continue {
            status["metadata"]["continue"] = Value::String(token.to_string());
        }
        if let (Some(details), Some(map)) = (&self.details, status.as_object_mut()) {
            map.insert("details".into(), (**details).clone());
        }
        status
    }
}

/// One field-level cause of a 422 Invalid.
#[derive(Clone, Debug, PartialEq)]
pub struct Cause {
    pub reason: String,
    pub message: String,
    pub field: String,
}

impl Cause {
    pub fn new(reason: &str, field: &str, message: String) -> Self {
        Cause {
            reason: reason.into(),
            message,
            field: field.into(),
        }
    }
}

pub fn success_status(rt: &ResourceType, name: &str, uid: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": name, "group": rt.group, "kind": rt.plural, "uid": uid},
    })
}

fn qualified(plural: &str, group: &str) -> String {
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iamroles() -> ResourceType {
        ResourceType {
            group: "iam.rolesmith.dev".into(),
            version: "v1alpha1".into(),
            kind: "IamRole".into(),
            list_kind: "IamRoleList".into(),
            plural: "iamroles".into(),
            singular: "iamrole".into(),
            namespaced: true,
            short_names: vec![],
            categories: vec![],
            verbs: vec![],
            status_subresource: true,
            schema: None,
            printer_columns: vec![],
            custom: true,
        }
    }

    #[test]
    fn messages_match_kube_apiserver() {
        let rt = iamroles();
        let cases = [
            (
                ApiError::not_found(&rt, "x"),
                404,
                "NotFound",
                "iamroles.iam.rolesmith.dev \"x\" not found",
            ),
            (
                ApiError::namespace_not_found("nope"),
                404,
                "NotFound",
                "namespaces \"nope\" not found",
            ),
            (
                ApiError::already_exists(&rt, "x"),
                409,
                "AlreadyExists",
                "iamroles.iam.rolesmith.dev \"x\" already exists",
            ),
            (
                ApiError::conflict(&rt, "x"),
                409,
                "Conflict",
                "Operation cannot be fulfilled on iamroles.iam.rolesmith.dev \"x\": the object has been modified; please apply your changes to the latest version and try again",
            ),
            (
                ApiError::invalid(
                    &rt,
                    "x",
                    vec![Cause::new(
                        "FieldValueRequired",
                        "spec.a",
                        "spec.a: Required value".into(),
                    )],
                ),
                422,
                "Invalid",
                "IamRole.iam.rolesmith.dev \"x\" is invalid: spec.a: Required value",
            ),
            (
                ApiError::invalid(
                    &rt,
                    "x",
                    vec![
                        Cause::new(
                            "FieldValueRequired",
                            "spec.a",
                            "spec.a: Required value".into(),
                        ),
                        Cause::new(
                            "FieldValueRequired",
                            "spec.b",
                            "spec.b: Required value".into(),
                        ),
                    ],
                ),
                422,
                "Invalid",
                "IamRole.iam.rolesmith.dev \"x\" is invalid: [spec.a: Required value, spec.b: Required value]",
            ),
        ];
        for (err, code, reason, message) in cases {
            assert_eq!(err.code, code);
            assert_eq!(err.reason, reason);
            assert_eq!(err.message, message);
            let status = err.to_status();
            assert_eq!(status["kind"], "Status");
            assert_eq!(status["status"], "Failure");
            assert_eq!(status["code"], code);
        }
    }
}
