//! The one error type. Its [`Category`] is bounded: it becomes the Event reason, the Ready
//! condition's reason and the `category` label of the error metric.

use std::time::Duration;

use crate::admission::{Problem, Rule};

/// Bounded error categories. Never add a variant that carries data: labels must stay finite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// The spec breaks an IAM rule we check before calling IAM.
    InvalidSpec,
    /// A role with this name exists and is not ours (or belongs to another object).
    OwnershipConflict,
    /// The role name or path is outside what the object's namespace may use.
    Forbidden,
    /// A RoleGuardrail covering the object's namespace refuses the role.
    GuardrailViolation,
    /// An observed (`Observe`) role does not exist in IAM.
    RoleNotFound,
    /// A role refers to an IamPolicy that has no policy in IAM yet: retried, and woken when the
    /// IamPolicy changes.
    PolicyNotReady,
    /// An IamPolicy being deleted is still attached: its deletion waits.
    PolicyInUse,
    /// IAM refused the request as invalid (ValidationError, MalformedPolicyDocument, …).
    IamRejected,
    /// An IAM quota (LimitExceeded).
    IamLimitExceeded,
    /// The operator's credentials lack a permission.
    IamAccessDenied,
    /// Throttling, 5xx, dropped connections, eventual-consistency errors: retried.
    IamTransient,
    /// The Kubernetes API failed.
    Kube,
    /// A bug or an answer we cannot interpret.
    Internal,
    /// The role's namespace may not use the account it names (or the role would move to
    /// another account): nothing is done in that account until the objects change.
    AccountNotAllowed,
    /// STS refused to let the operator assume the account's role: retried.
    AssumeRoleDenied,
    /// The account cannot be used yet: its AwsAccount is missing, not verified, acts in another
    /// account, or is one of two defaults. Retried.
    AccountUnavailable,
    /// An AwsAccount being deleted is still used by IamRoles: its deletion waits.
    AccountInUse,
}

impl Category {
    pub const ALL: [Category; 17] = [
        Category::InvalidSpec,
        Category::OwnershipConflict,
        Category::Forbidden,
        Category::GuardrailViolation,
        Category::RoleNotFound,
        Category::PolicyNotReady,
        Category::PolicyInUse,
        Category::IamRejected,
        Category::IamLimitExceeded,
        Category::IamAccessDenied,
        Category::IamTransient,
        Category::Kube,
        Category::Internal,
        Category::AccountNotAllowed,
        Category::AssumeRoleDenied,
        Category::AccountUnavailable,
        Category::AccountInUse,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::InvalidSpec => "InvalidSpec",
            Category::OwnershipConflict => "OwnershipConflict",
            Category::Forbidden => "OutsideNamespaceRoles",
            Category::GuardrailViolation => "GuardrailViolation",
            Category::RoleNotFound => "RoleNotFound",
            Category::PolicyNotReady => "PolicyNotReady",
            Category::PolicyInUse => "PolicyInUse",
            Category::IamRejected => "IamRejected",
            Category::IamLimitExceeded => "IamLimitExceeded",
            Category::IamAccessDenied => "IamAccessDenied",
            Category::IamTransient => "IamTransient",
            Category::Kube => "KubeApiError",
            Category::Internal => "InternalError",
            Category::AccountNotAllowed => "AccountNotAllowed",
            Category::AssumeRoleDenied => "AssumeRoleDenied",
            Category::AccountUnavailable => "AccountUnavailable",
            Category::AccountInUse => "AccountInUse",
        }
    }

    /// User errors wait for a spec change (or the slow resync); the rest is retried with backoff.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Category::IamTransient
                | Category::PolicyNotReady
                | Category::PolicyInUse
                | Category::Kube
                | Category::Internal
                | Category::IamAccessDenied
                | Category::AssumeRoleDenied
                | Category::AccountUnavailable
                | Category::AccountInUse
        )
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object may not proceed: every problem admission found (see [`Error::refused`]).
    #[error("{}", refusal_text(.0))]
    Refused(Vec<Problem>),

    #[error("{0}")]
    OwnershipConflict(String),

    #[error("{0}")]
    RoleNotFound(String),

    #[error("{0}")]
    PolicyNotReady(String),

    #[error("{0}")]
    PolicyInUse(String),

    /// An error answered by IAM (or by EKS for Pod Identity associations, classified alike).
    /// `code` is the service's error code (e.g. `MalformedPolicyDocument`).
    #[error("{} {action} failed: {code}: {message}", service_of(action))]
    Iam {
        action: &'static str,
        code: String,
        message: String,
        category: Category,
        /// What IAM asked us to wait (x-amz-retry-after), if anything.
        retry_after: Option<Duration>,
    },

    /// The account a role lives in cannot be used (see the Account* categories).
    #[error("{message}")]
    Account { category: Category, message: String },

    #[error("Kubernetes API error: {0}")]
    Kube(#[source] Box<kube::Error>),

    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The same IAM error in `category`, with `note` after IAM's message: what rolesmith makes
    /// of it. Any other error is returned as it is.
    pub fn reclassified(self, category: Category, note: impl std::fmt::Display) -> Error {
        match self {
            Error::Iam {
                action,
                code,
                message,
                retry_after,
                ..
            } => Error::Iam {
                action,
                code,
                message: format!("{message} ({note})"),
                category,
                retry_after,
            },
            other => other,
        }
    }

    /// The error for an object admission refused.
    pub fn refused(problems: Vec<Problem>) -> Error {
        Error::Refused(problems)
    }

    /// A refusal with one problem.
    pub fn invalid(field: impl Into<String>, rule: Rule, message: impl Into<String>) -> Error {
        Error::Refused(vec![Problem::new(field, rule, message)])
    }

    /// The problems, when admission refused the object.
    pub fn problems(&self) -> &[Problem] {
        match self {
            Error::Refused(problems) => problems,
            _ => &[],
        }
    }

    pub fn category(&self) -> Category {
        match self {
            Error::Refused(problems) => refusal_category(problems),
            Error::OwnershipConflict(_) => Category::OwnershipConflict,
            Error::RoleNotFound(_) => Category::RoleNotFound,
            Error::PolicyNotReady(_) => Category::PolicyNotReady,
            Error::PolicyInUse(_) => Category::PolicyInUse,
            Error::Iam { category, .. } | Error::Account { category, .. } => *category,
            Error::Kube(_) => Category::Kube,
            Error::Internal(_) => Category::Internal,
        }
    }

    pub fn is_retryable(&self) -> bool {
        self.category().is_retryable()
    }

    /// An IAM error with its message replaced by `explain(action, code, message)` when that
    /// has more to say; anything else unchanged.
    pub fn explained(
        mut self,
        explain: impl FnOnce(&'static str, &str, &str) -> Option<String>,
    ) -> Error {
        if let Error::Iam {
            action,
            code,
            message,
            ..
        } = &mut self
            && let Some(explanation) = explain(action, code, message)
        {
            *message = explanation;
        }
        self
    }

    /// The message shown in status and Events: the whole chain, cut to a sane length.
    pub fn message(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        truncate(&text, 1024)
    }
}

/// The AWS service an action of [`Error::Iam`] belongs to, for its message.
fn service_of(action: &str) -> &'static str {
    if action.ends_with("PodIdentityAssociation") || action.ends_with("PodIdentityAssociations") {
        "EKS"
    } else {
        "IAM"
    }
}

/// Forbidden when any problem is a namespace's limit (the object could never have that role
/// here), else GuardrailViolation when a RoleGuardrail refuses it, else InvalidSpec.
fn refusal_category(problems: &[Problem]) -> Category {
    let has = |category: Category| {
        problems
            .iter()
            .any(|problem| problem.rule.category() == category)
    };
    if has(Category::Forbidden) {
        Category::Forbidden
    } else if has(Category::GuardrailViolation) {
        Category::GuardrailViolation
    } else {
        Category::InvalidSpec
    }
}

fn refusal_text(problems: &[Problem]) -> String {
    let what = match refusal_category(problems) {
        Category::Forbidden => "not allowed in this namespace",
        Category::GuardrailViolation => "refused by a RoleGuardrail",
        _ => "invalid spec",
    };
    format!("{what}: {}", crate::admission::joined(problems))
}

impl From<kube::Error> for Error {
    fn from(error: kube::Error) -> Self {
        Error::Kube(Box::new(error))
    }
}

/// Cuts on a character boundary, marking the cut.
pub fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
