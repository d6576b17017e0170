//! How long IAM's eventual consistency may explain an error. IAM propagates changes within
//! seconds, rarely minutes: an error that outlives that window is not propagation any more but a
//! fact the user has to fix, and retrying it forever would hide the cause.

use std::time::Duration;

use crate::error::{Category, Error};

/// How long a new principal, or a role just created, may stay invisible to IAM's checks: IAM
/// documents "usually within seconds"; two minutes covers the slow cases seen in practice.
pub const PROPAGATION_WINDOW: Duration = Duration::from_secs(120);

/// IAM's words for a trust policy naming a principal it does not know (yet).
const INVALID_PRINCIPAL: &str = "Invalid principal in policy";

pub fn is_invalid_principal(code: &str, message: &str) -> bool {
    code == "MalformedPolicyDocument" && message.contains(INVALID_PRINCIPAL)
}

/// The errors propagation explains for a while, each with its own clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Wait {
    /// A trust policy names a principal IAM does not know yet.
    Principal,
    /// A role this object created is not visible to reads yet.
    CreatedRole,
}

impl Wait {
    pub fn as_str(self) -> &'static str {
        match self {
            Wait::Principal => "principal",
            Wait::CreatedRole => "created-role",
        }
    }
}

/// Which clock an error runs on, if propagation can explain it.
pub fn wait_for(error: &Error) -> Option<Wait> {
    match error {
        Error::Iam { code, message, .. } if is_invalid_principal(code, message) => {
            Some(Wait::Principal)
        }
        _ => None,
    }
}

/// Whether `waited` is still within `window`.
pub fn still_plausible(waited: Duration, window: Duration) -> bool {
    waited < window
}

/// The error once the window has passed: the user's to fix, with the reason it stopped being
/// retried.
pub fn give_up(error: Error, waited: Duration) -> Error {
    error.reclassified(
        Category::IamRejected,
        format_args!(
            "still refused after {} s, longer than IAM takes to propagate a new principal: fix the trust policy",
            waited.as_secs()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iam(code: &str, message: &str) -> Error {
        Error::Iam {
            action: "UpdateAssumeRolePolicy",
            code: code.into(),
            message: message.into(),
            category: Category::IamTransient,
            retry_after: None,
        }
    }

    #[test]
    fn which_errors_wait() {
        let principal =
            "Invalid principal in policy: \"AWS\":\"arn:aws:iam::123456789012:role/gone\"";
        let cases = [
            (
                iam("MalformedPolicyDocument", principal),
                Some(Wait::Principal),
            ),
            (
                iam("MalformedPolicyDocument", "Syntax errors in policy."),
                None,
            ),
            (iam("Throttling", "Rate exceeded"), None),
            (iam("NoSuchEntity", "role"), None),
            (Error::Internal("x".into()), None),
        ];
        for (error, want) in cases {
            assert_eq!(wait_for(&error), want, "{error}");
        }
    }

    #[test]
    fn window() {
        let cases = [
            (0, true),
            (60, true),
            (119, true),
            (120, false),
            (600, false),
        ];
        for (seconds, want) in cases {
            assert_eq!(
                still_plausible(Duration::from_secs(seconds), PROPAGATION_WINDOW),
                want,
                "{seconds}"
            );
        }
    }

    #[test]
    fn giving_up_makes_it_the_users_error() {
        let error = give_up(
            iam(
                "MalformedPolicyDocument",
                "Invalid principal in policy: \"AWS\":\"arn:aws:iam::1:role/x\"",
            ),
            Duration::from_secs(125),
        );
        assert_eq!(error.category(), Category::IamRejected);
        assert!(!error.is_retryable());
        let text = error.to_string();
        assert!(
            text.contains("arn:aws:iam::1:role/x") && text.contains("125 s"),
            "{text}"
        );
    }
}
