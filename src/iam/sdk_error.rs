//! Turns the SDK's errors into [`Error::Iam`], keeping IAM's own code and message (an
//! AccessDenied message names the missing action, which is what the user needs to see).

use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::error::{BuildError, DisplayErrorContext, ProvideErrorMetadata, SdkError};

use super::classify::{classify_response, parse_retry_after};
use crate::error::{Category, Error};

const RETRY_AFTER_HEADER: &str = "x-amz-retry-after";

/// The code given to errors IAM never answered, so logs and status still say what happened.
pub(crate) const CODE_TIMEOUT: &str = "Timeout";
pub(crate) const CODE_DISPATCH: &str = "DispatchFailure";
pub(crate) const CODE_RESPONSE: &str = "ResponseError";
pub(crate) const CODE_CONSTRUCTION: &str = "ConstructionFailure";

pub(crate) fn from_sdk<E>(action: &'static str, error: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let retry_after = error
        .raw_response()
        .and_then(|response| response.headers().get(RETRY_AFTER_HEADER))
        .and_then(parse_retry_after);
    let (code, message, category) = match &error {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let code = context.err().code().unwrap_or("Unknown");
            let message = context.err().message().unwrap_or_default();
            let category = classify_response(action, status, code, message);
            (code.to_string(), message.to_string(), category)
        }
        // Timeouts, refused or dropped connections and truncated answers: nothing IAM decided.
        SdkError::TimeoutError(_) => (
            CODE_TIMEOUT.to_string(),
            chain(&error),
            Category::IamTransient,
        ),
        // The HTTP read timeout (the deadline of one attempt) comes back from the connector.
        SdkError::DispatchFailure(failure) if failure.is_timeout() => (
            CODE_TIMEOUT.to_string(),
            chain(&error),
            Category::IamTransient,
        ),
        SdkError::DispatchFailure(_) => (
            CODE_DISPATCH.to_string(),
            chain(&error),
            Category::IamTransient,
        ),
        SdkError::ResponseError(_) => (
            CODE_RESPONSE.to_string(),
            chain(&error),
            Category::IamTransient,
        ),
        // The request could not even be built: our bug, not IAM's answer.
        _ => (
            CODE_CONSTRUCTION.to_string(),
            chain(&error),
            Category::Internal,
        ),
    };
    Error::Iam {
        action,
        code,
        message,
        category,
        retry_after,
    }
}

/// A required field was missing when building a request value (e.g. a `Tag`).
pub(crate) fn from_build(action: &'static str, error: BuildError) -> Error {
    Error::Iam {
        action,
        code: CODE_CONSTRUCTION.to_string(),
        message: chain(&error),
        category: Category::Internal,
        retry_after: None,
    }
}

/// The SDK's top-level messages ("dispatch failure") hide the cause; the chain names it
/// ("Connection refused", "no credentials in the chain", …).
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    DisplayErrorContext(error).to_string()
}

/// True when IAM answered that the entity does not exist.
pub(crate) fn is_no_such_entity<E: ProvideErrorMetadata>(
    error: &SdkError<E, HttpResponse>,
) -> bool {
    matches!(error, SdkError::ServiceError(_)) && error.code() == Some("NoSuchEntity")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aws_sdk_iam::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_iam::operation::get_role::GetRoleError;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn response(status: u16, retry_after: Option<&str>) -> HttpResponse {
        let mut response = HttpResponse::new(status.try_into().unwrap(), SdkBody::from(""));
        if let Some(value) = retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER_HEADER, value.to_string());
        }
        response
    }

    fn service(
        status: u16,
        code: &str,
        message: &str,
        retry_after: Option<&str>,
    ) -> SdkError<GetRoleError> {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        SdkError::service_error(GetRoleError::generic(meta), response(status, retry_after))
    }

    fn parts(error: Error) -> (String, String, Category, Option<Duration>) {
        match error {
            Error::Iam {
                code,
                message,
                category,
                retry_after,
                ..
            } => (code, message, category, retry_after),
            other => panic!("not an IAM error: {other:?}"),
        }
    }

    #[test]
    fn service_errors_keep_iam_code_and_message() {
        let cases = [
            (
                service(400, "Throttling", "Rate exceeded", Some("1500")),
                (
                    "Throttling",
                    "Rate exceeded",
                    Category::IamTransient,
                    Some(Duration::from_millis(1500)),
                ),
            ),
            (
                service(
                    403,
                    "AccessDenied",
                    "User: u is not authorized to perform: iam:GetRole",
                    None,
                ),
                (
                    "AccessDenied",
                    "User: u is not authorized to perform: iam:GetRole",
                    Category::IamAccessDenied,
                    None,
                ),
            ),
            (
                service(503, "Weird", "try later", Some("junk")),
                ("Weird", "try later", Category::IamTransient, None),
            ),
            (
                service(409, "LimitExceeded", "Cannot exceed quota", None),
                (
                    "LimitExceeded",
                    "Cannot exceed quota",
                    Category::IamLimitExceeded,
                    None,
                ),
            ),
        ];
        for (error, (code, message, category, retry_after)) in cases {
            let got = parts(from_sdk("GetRole", error));
            assert_eq!(
                got,
                (code.to_string(), message.to_string(), category, retry_after)
            );
        }
    }

    #[test]
    fn failures_without_an_answer() {
        let refused: SdkError<GetRoleError> =
            SdkError::dispatch_failure(ConnectorError::io("Connection refused".into()));
        let (code, message, category, _) = parts(from_sdk("GetRole", refused));
        assert_eq!(
            (code.as_str(), category),
            (CODE_DISPATCH, Category::IamTransient)
        );
        assert!(message.contains("Connection refused"), "{message}");

        let timeout: SdkError<GetRoleError> = SdkError::timeout_error("attempt timed out");
        let (code, _, category, _) = parts(from_sdk("GetRole", timeout));
        assert_eq!(
            (code.as_str(), category),
            (CODE_TIMEOUT, Category::IamTransient)
        );
        let read_timeout: SdkError<GetRoleError> =
            SdkError::dispatch_failure(ConnectorError::timeout("HTTP read timeout".into()));
        let (code, message, category, _) = parts(from_sdk("GetRole", read_timeout));
        assert_eq!(
            (code.as_str(), category),
            (CODE_TIMEOUT, Category::IamTransient)
        );
        assert!(message.contains("HTTP read timeout"), "{message}");

        let truncated: SdkError<GetRoleError> =
            SdkError::response_error("unexpected EOF", response(200, Some("2000")));
        let (code, _, category, retry_after) = parts(from_sdk("GetRole", truncated));
        assert_eq!(
            (code.as_str(), category, retry_after),
            (
                CODE_RESPONSE,
                Category::IamTransient,
                Some(Duration::from_secs(2))
            )
        );

        let unbuildable: SdkError<GetRoleError> =
            SdkError::construction_failure("missing role name");
        let (code, message, category, _) = parts(from_sdk("GetRole", unbuildable));
        assert_eq!(
            (code.as_str(), category),
            (CODE_CONSTRUCTION, Category::Internal)
        );
        assert!(message.contains("missing role name"), "{message}");
    }

    #[test]
    fn no_such_entity_only_from_iam() {
        assert!(is_no_such_entity(&service(
            404,
            "NoSuchEntity",
            "Role x not found",
            None
        )));
        assert!(!is_no_such_entity(&service(400, "Throttling", "", None)));
        let refused: SdkError<GetRoleError> =
            SdkError::dispatch_failure(ConnectorError::io("Connection refused".into()));
        assert!(!is_no_such_entity(&refused));
    }
}
