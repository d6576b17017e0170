//! Which [`Category`] an IAM error belongs to. The category decides whether the controller
//! retries (transient, access denied) or waits for the user to change the spec (rejected, limit).
//!
//! Sources: iam-facts.md, the IAM API reference's error lists, and what terraform-provider-aws
//! retries on for eventual consistency.

use std::time::Duration;

use crate::error::Category;

/// IAM says so when the principal in a trust policy does not exist yet, which is also what a
/// principal created seconds ago looks like until IAM's replicas catch up.
const NEW_PRINCIPAL_MESSAGE: &str = "Invalid principal in policy";

/// IAM's answers that mean "this account is calling too fast".
pub fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "Throttling" | "ThrottlingException" | "RequestLimitExceeded"
    )
}

/// Classifies an error answered with a 4xx status (or whose status is unknown).
pub fn classify(action: &'static str, code: &str, message: &str) -> Category {
    match code {
        code if is_throttling(code) => Category::IamTransient,
        "ServiceUnavailable"
        | "ServiceUnavailableException"
        | "ServiceFailure"
        | "ServiceFailureException"
        | "InternalFailure"
        | "InternalError"
        | "RequestTimeout"
        | "RequestTimeoutException" => Category::IamTransient,
        // Eventual consistency and concurrent writers: the next attempt usually succeeds.
        "ConcurrentModification" | "DeleteConflict" | "EntityTemporarilyUnmodifiable" => {
            Category::IamTransient
        }
        // Temporary credentials that expired (or a skewed clock) heal when they are refreshed.
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => Category::IamTransient,
        "MalformedPolicyDocument" if message.contains(NEW_PRINCIPAL_MESSAGE) => {
            Category::IamTransient
        }
        // An AWS-managed policy ARN that names nothing is a typo: AWS's own policies never
        // "appear later", so retrying is pointless. (A customer-managed one may have been created
        // moments ago and not be visible yet: that stays transient, below.)
        "NoSuchEntity"
            if matches!(action, "AttachRolePolicy" | "PutRolePermissionsBoundary")
                && message.contains(":iam::aws:policy/") =>
        {
            Category::IamRejected
        }
        // Right after CreateRole the role may not be visible yet on every replica. A read that
        // races a concurrent delete is the same story.
        "NoSuchEntity" => Category::IamTransient,
        // Two creators raced: the next observe finds the role and decides whether it is ours.
        "EntityAlreadyExists" if action == "CreateRole" => Category::IamTransient,
        "LimitExceeded" => Category::IamLimitExceeded,
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "InvalidClientTokenId"
        | "UnrecognizedClientException"
        | "SignatureDoesNotMatch"
        | "IncompleteSignature"
        | "MissingAuthenticationToken"
        | "InvalidAccessKeyId" => Category::IamAccessDenied,
        // ValidationError, InvalidInput, PolicyNotAttachable, UnmodifiableEntity, other
        // MalformedPolicyDocument, and every code we do not know: the request itself is wrong.
        _ => Category::IamRejected,
    }
}

/// Classifies an error with the HTTP status it came with: a server-side failure is worth
/// retrying whatever its code says.
pub fn classify_response(action: &'static str, status: u16, code: &str, message: &str) -> Category {
    if (500..600).contains(&status) || status == 429 {
        return Category::IamTransient;
    }
    classify(action, code, message)
}

/// The `Code` and `Message` of an IAM error body (`<ErrorResponse><Error><Code>…`), for a caller
/// that has the raw answer and not the SDK's typed error. The text is taken as written, XML
/// entities included: enough to classify, which is all it is used for.
pub fn error_code_and_message(body: &str) -> Option<(&str, &str)> {
    let code = element(body, "Code")?;
    Some((code, element(body, "Message").unwrap_or_default()))
}

/// The text of the first `<name>…</name>` in `xml`.
fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let length = xml[start..].find(&format!("</{name}>"))?;
    Some(&xml[start..start + length])
}

/// The value of `x-amz-retry-after`. AWS sends it in milliseconds: aws-runtime's
/// `AwsErrorCodeClassifier` parses it as an integer number of milliseconds, and so do we.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Category::*;

    #[test]
    fn codes() {
        let cases: &[(&str, &str, &str, Category)] = &[
            ("GetRole", "Throttling", "Rate exceeded", IamTransient),
            ("PutRolePolicy", "ThrottlingException", "", IamTransient),
            ("TagRole", "RequestLimitExceeded", "", IamTransient),
            ("GetRole", "ServiceUnavailable", "", IamTransient),
            ("GetRole", "ServiceFailure", "", IamTransient),
            ("GetRole", "InternalFailure", "", IamTransient),
            ("GetRole", "InternalError", "", IamTransient),
            ("GetRole", "RequestTimeout", "", IamTransient),
            ("UpdateRole", "ConcurrentModification", "", IamTransient),
            (
                "DeleteRole",
                "DeleteConflict",
                "must delete policies first",
                IamTransient,
            ),
            (
                "PutRolePolicy",
                "EntityTemporarilyUnmodifiable",
                "",
                IamTransient,
            ),
            (
                "GetRole",
                "ExpiredToken",
                "The security token included in the request is expired",
                IamTransient,
            ),
            (
                "CreateRole",
                "MalformedPolicyDocument",
                "Invalid principal in policy: \"AWS\":\"arn:aws:iam::123456789012:role/new\"",
                IamTransient,
            ),
            (
                "UpdateAssumeRolePolicy",
                "MalformedPolicyDocument",
                "Invalid principal in policy: \"AWS\":\"arn:aws:iam::123456789012:role/new\"",
                IamTransient,
            ),
            (
                "PutRolePolicy",
                "MalformedPolicyDocument",
                "Syntax errors in policy.",
                IamRejected,
            ),
            (
                "CreateRole",
                "MalformedPolicyDocument",
                "Has prohibited field Resource",
                IamRejected,
            ),
            (
                "AttachRolePolicy",
                "NoSuchEntity",
                "Policy arn:aws:iam::1:policy/x does not exist",
                IamTransient,
            ),
            (
                "AttachRolePolicy",
                "NoSuchEntity",
                "Policy arn:aws:iam::aws:policy/Typo does not exist or is not attachable.",
                IamRejected,
            ),
            (
                "PutRolePermissionsBoundary",
                "NoSuchEntity",
                "Policy arn:aws:iam::aws:policy/Typo does not exist or is not attachable.",
                IamRejected,
            ),
            (
                "PutRolePermissionsBoundary",
                "NoSuchEntity",
                "Policy arn:aws:iam::1:policy/b does not exist or is not attachable.",
                IamTransient,
            ),
            (
                "AttachRolePolicy",
                "NoSuchEntity",
                "The role with name app cannot be found.",
                IamTransient,
            ),
            (
                "PutRolePolicy",
                "NoSuchEntity",
                "Role app not found",
                IamTransient,
            ),
            (
                "DeleteRole",
                "NoSuchEntity",
                "Role app not found",
                IamTransient,
            ),
            (
                "GetRolePolicy",
                "NoSuchEntity",
                "The role policy with name x cannot be found.",
                IamTransient,
            ),
            (
                "CreateRole",
                "EntityAlreadyExists",
                "Role with name app already exists.",
                IamTransient,
            ),
            ("AttachRolePolicy", "EntityAlreadyExists", "", IamRejected),
            (
                "CreateRole",
                "LimitExceeded",
                "Cannot exceed quota for RolesPerAccount: 1000",
                IamLimitExceeded,
            ),
            (
                "AttachRolePolicy",
                "LimitExceeded",
                "Cannot exceed quota for PoliciesPerRole: 10",
                IamLimitExceeded,
            ),
            (
                "TagRole",
                "ValidationError",
                "1 validation error detected",
                IamRejected,
            ),
            ("CreateRole", "InvalidInput", "", IamRejected),
            ("AttachRolePolicy", "PolicyNotAttachable", "", IamRejected),
            ("DeleteRole", "UnmodifiableEntity", "", IamRejected),
            (
                "GetRole",
                "AccessDenied",
                "User: x is not authorized to perform: iam:GetRole",
                IamAccessDenied,
            ),
            ("GetRole", "AccessDeniedException", "", IamAccessDenied),
            ("GetRole", "UnauthorizedOperation", "", IamAccessDenied),
            (
                "GetRole",
                "InvalidClientTokenId",
                "The security token included in the request is invalid",
                IamAccessDenied,
            ),
            ("GetRole", "SignatureDoesNotMatch", "", IamAccessDenied),
            ("GetRole", "SomethingNew", "", IamRejected),
            ("GetRole", "", "", IamRejected),
        ];
        for (action, code, message, want) in cases {
            let action: &'static str = action;
            assert_eq!(
                classify(action, code, message),
                *want,
                "{action} {code} {message}"
            );
        }
    }

    #[test]
    fn statuses() {
        let cases: &[(u16, &str, &str, Category)] = &[
            (500, "SomethingNew", "", IamTransient),
            (503, "", "", IamTransient),
            (502, "ValidationError", "", IamTransient),
            (599, "AccessDenied", "", IamTransient),
            (429, "SomethingNew", "", IamTransient),
            (400, "SomethingNew", "", IamRejected),
            (404, "NoSuchEntity", "Role x not found", IamTransient),
            (400, "Throttling", "Rate exceeded", IamTransient),
            (409, "LimitExceeded", "", IamLimitExceeded),
            (403, "AccessDenied", "not authorized", IamAccessDenied),
            (
                400,
                "MalformedPolicyDocument",
                "Syntax errors in policy.",
                IamRejected,
            ),
        ];
        for (status, code, message, want) in cases {
            assert_eq!(
                classify_response("PutRolePolicy", *status, code, message),
                *want,
                "{status} {code}"
            );
        }
    }

    #[test]
    fn error_bodies() {
        let iam = "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\n  <Error>\n    \
                   <Type>Sender</Type>\n    <Code>Throttling</Code>\n    <Message>Rate exceeded</Message>\n  \
                   </Error>\n  <RequestId>r</RequestId>\n</ErrorResponse>\n";
        // moto wraps the error in <Errors>.
        let moto = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ErrorResponse><Errors><Error>\
                    <Code>NoSuchEntity</Code><Message>Role x not found</Message><Type>Sender</Type>\
                    </Error></Errors></ErrorResponse>";
        let cases = [
            (iam, Some(("Throttling", "Rate exceeded"))),
            (moto, Some(("NoSuchEntity", "Role x not found"))),
            (
                "<ErrorResponse><Error><Code>Weird</Code></Error></ErrorResponse>",
                Some(("Weird", "")),
            ),
            ("<ErrorResponse><Error><Code>Cut", None),
            ("", None),
            ("<html>Bad Gateway</html>", None),
        ];
        for (body, want) in cases {
            assert_eq!(error_code_and_message(body), want, "{body}");
        }
    }

    #[test]
    fn throttling_codes() {
        for code in ["Throttling", "ThrottlingException", "RequestLimitExceeded"] {
            assert!(is_throttling(code), "{code}");
        }
        for code in ["LimitExceeded", "ServiceUnavailable", ""] {
            assert!(!is_throttling(code), "{code}");
        }
    }

    #[test]
    fn retry_after_values() {
        let cases: &[(&str, Option<Duration>)] = &[
            ("5000", Some(Duration::from_secs(5))),
            ("250", Some(Duration::from_millis(250))),
            (" 1000 ", Some(Duration::from_secs(1))),
            ("0", Some(Duration::ZERO)),
            ("", None),
            ("soon", None),
            ("-1", None),
            ("1.5", None),
            ("Wed, 21 Oct 2015 07:28:00 GMT", None),
        ];
        for (value, want) in cases {
            assert_eq!(parse_retry_after(value), *want, "{value:?}");
        }
    }
}
