//! A request as the handlers see it (already read off the wire), and what they answer.

use bytes::Bytes;
use serde_json::Value;

use crate::status::{ApiError, ApiResult};
use crate::watch::WatchSetup;

pub struct Request {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub content_type: String,
    pub accept: String,
    pub user_agent: String,
    pub body: Bytes,
}

impl Request {
    /// kube sends query strings starting with `?&`; empty pairs are simply skipped.
    pub fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
        raw.map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
    }

    pub fn q(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn flag(&self, key: &str) -> bool {
        matches!(self.q(key), Some("1" | "true" | "True"))
    }

    pub fn wants_table(&self) -> bool {
        self.accept
            .split(',')
            .next()
            .is_some_and(|first| first.contains("as=Table"))
    }

    /// `as=PartialObjectMetadata` / `as=PartialObjectMetadataList` (kube's `list_metadata`,
    /// `metadata_watcher`): objects reduced to their metadata.
    pub fn wants_metadata_only(&self) -> bool {
        self.accept
            .split(',')
            .next()
            .is_some_and(|first| first.contains("as=PartialObjectMetadata"))
    }

    pub fn wants_aggregated(&self) -> bool {
        self.accept.split(',').next().is_some_and(|first| {
            first.contains("as=APIGroupDiscoveryList") && first.contains("v=v2")
        })
    }

    /// The field manager of a non-apply write: `fieldManager`, else the user agent's program name,
    /// as kube-apiserver derives it.
    pub fn manager(&self) -> String {
        if let Some(m) = self.q("fieldManager").filter(|m| !m.is_empty()) {
            return m.to_string();
        }
        let prefix = self.user_agent.split('/').next().unwrap_or("").trim();
        if prefix.is_empty() {
            "unknown".to_string()
        } else {
            prefix.to_string()
        }
    }

    pub fn dry_run(&self) -> ApiResult<bool> {
        match self.q("dryRun") {
            None | Some("") => Ok(false),
            Some("All") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "dryRun: Unsupported value: \"{other}\": supported values: \"All\""
            ))),
        }
    }

    /// A JSON or YAML body that must be an object.
    pub fn body_object(&self) -> ApiResult<Value> {
        let media = self.content_type.split(';').next().unwrap_or("").trim();
        let value: Value = match media {
            "" | "application/json" | "*/*" => serde_json::from_slice(&self.body)
                .map_err(|e| ApiError::bad_request(format!("error decoding request body: {e}")))?,
            "application/yaml" | "application/apply-patch+yaml" => decode_yaml(&self.body)?,
            crate::protobuf::CONTENT_TYPE => crate::protobuf::decode(&self.body)
                .map_err(|why| ApiError::new(415, "UnsupportedMediaType", why))?,
            other => return Err(ApiError::unsupported_media_type(other)),
        };
        if !value.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be a JSON object",
            ));
        }
        Ok(value)
    }
}

pub fn decode_yaml(body: &[u8]) -> ApiResult<Value> {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return Ok(v);
    }
    let text = std::str::from_utf8(body)
        .map_err(|e| ApiError::bad_request(format!("body is not UTF-8: {e}")))?;
    serde_saphyr::from_str::<Value>(text)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
}

pub enum Reply {
    Json {
        code: u16,
        body: Value,
        content_type: String,
        warnings: Vec<String>,
    },
    Watch(Box<WatchSetup>),
    Text {
        code: u16,
        body: String,
    },
}

impl Reply {
    pub fn ok(body: Value) -> Self {
        Self::json(200, body)
    }

    pub fn json(code: u16, body: Value) -> Self {
        Reply::Json {
            code,
            body,
            content_type: "application/json".into(),
            warnings: Vec::new(),
        }
    }

    pub fn error(err: &ApiError) -> Self {
        Self::json(err.code, err.to_status())
    }

    pub fn with_warnings(self, extra: Vec<String>) -> Self {
        match self {
            Reply::Json {
                code,
                body,
                content_type,
                mut warnings,
            } => {
                warnings.extend(extra);
                Reply::Json {
                    code,
                    body,
                    content_type,
                    warnings,
                }
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(query: &str, accept: &str, ua: &str) -> Request {
        Request {
            method: "GET".into(),
            path: "/".into(),
            query: Request::parse_query(Some(query)),
            content_type: String::new(),
            accept: accept.into(),
            user_agent: ua.into(),
            body: Bytes::new(),
        }
    }

    #[test]
    fn kube_style_queries_parse() {
        let r = req(
            "&watch=true&timeoutSeconds=290&fieldSelector=metadata.name%3Ddemo",
            "",
            "",
        );
        assert_eq!(r.q("watch"), Some("true"));
        assert!(r.flag("watch"));
        assert_eq!(r.q("fieldSelector"), Some("metadata.name=demo"));
        assert_eq!(r.q("timeoutSeconds"), Some("290"));
    }

    #[test]
    fn accept_and_manager() {
        assert!(
            req(
                "",
                "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
                ""
            )
            .wants_table()
        );
        assert!(!req("", "application/json", "").wants_table());
        assert!(
            req("", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json", "")
                .wants_aggregated()
        );
        assert_eq!(req("fieldManager=op", "", "kubectl/v1").manager(), "op");
        assert_eq!(req("", "", "kubectl/v1.37 (linux)").manager(), "kubectl");
        assert_eq!(req("", "", "").manager(), "unknown");
    }
}
