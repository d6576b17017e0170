//! Credentials in another account: aws-config's AssumeRole provider, chained from the
//! operator's own credentials (the same endpoint, region and retries), with an ExternalId and
//! session tags. The IAM client's identity cache keeps the session and renews it before it
//! expires; `verify` asks STS afresh who the credentials are.

use std::fmt;
use std::sync::Arc;

use aws_config::sts::AssumeRoleProvider;
use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::config::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::assume_role::AssumeRoleError;

use super::aws::AwsIam;
use super::classify::is_throttling;
use super::{CallObserver, CallerIdentity};
use crate::error::{Category, Error, Result};
use crate::ratelimit::AccountLimiter;

/// The role to assume and how. `Debug` never prints the ExternalId.
#[derive(Clone, PartialEq, Eq)]
pub struct AssumeSettings {
    pub role_arn: String,
    pub external_id: Option<String>,
    pub session_name: String,
    pub tags: Vec<(String, String)>,
}

impl fmt::Debug for AssumeSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssumeSettings")
            .field("role_arn", &self.role_arn)
            .field(
                "external_id",
                &self.external_id.as_ref().map(|_| "<redacted>"),
            )
            .field("session_name", &self.session_name)
            .field("tags", &self.tags.len())
            .finish()
    }
}

/// Who the credentials are, as STS answered just now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub identity: CallerIdentity,
    pub caller_arn: String,
}

impl AwsIam {
    /// An IAM client acting as `settings.role_arn`, assumed with this client's credentials, with
    /// its own observer and its own rate limit (IAM's limits are per account).
    pub async fn assuming(
        &self,
        settings: &AssumeSettings,
        observer: Arc<dyn CallObserver>,
        limiter: Arc<AccountLimiter>,
    ) -> AwsIam {
        let mut builder = AssumeRoleProvider::builder(settings.role_arn.clone())
            .session_name(settings.session_name.clone())
            .configure(&self.sdk_config);
        if let Some(external_id) = &settings.external_id {
            builder = builder.external_id(external_id.clone());
        }
        if !settings.tags.is_empty() {
            builder = builder.tags(settings.tags.clone());
        }
        let provider = SharedCredentialsProvider::new(builder.build().await);
        let sdk_config = self
            .sdk_config
            .clone()
            .into_builder()
            .credentials_provider(provider.clone())
            .build();
        let mut iam = AwsIam::from_sdk_config(sdk_config, observer).with_limiter(limiter);
        iam.assumed = Some(provider);
        iam
    }

    /// Asks STS now (no cache) which account and caller the credentials are: first AssumeRole,
    /// when they are assumed, so a refusal is told apart from STS being unreachable.
    pub(super) async fn verify_now(&self) -> Result<Verified> {
        if let Some(provider) = &self.assumed {
            provider
                .provide_credentials()
                .await
                .map_err(|error| assume_error(&error))?;
        }
        let answer = self.ask_caller_identity().await?;
        let identity = CallerIdentity::from_sts(answer.account(), answer.arn())?;
        // Later calls of caller_identity() need not ask again.
        let _ = self.identity.set(identity.clone());
        Ok(Verified {
            identity,
            caller_arn: answer.arn().unwrap_or_default().to_string(),
        })
    }
}

/// STS's refusal is the account's configuration (the role's trust policy, the ExternalId, the
/// operator's sts:AssumeRole permission): `AssumeRoleDenied`. Throttling, 5xx and transport
/// trouble are transient.
fn assume_error(error: &(dyn std::error::Error + 'static)) -> Error {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(sdk) = cause.downcast_ref::<SdkError<AssumeRoleError, HttpResponse>>() {
            return match sdk {
                SdkError::ServiceError(context) => {
                    let code = context.err().code().unwrap_or("Unknown").to_string();
                    let status = context.raw().status().as_u16();
                    let transient = is_throttling(&code) || status >= 500;
                    denied_or_transient(
                        code,
                        context.err().message().unwrap_or_default(),
                        transient,
                    )
                }
                other => denied_or_transient(
                    "DispatchFailure".to_string(),
                    &aws_smithy_types::error::display::DisplayErrorContext(other).to_string(),
                    true,
                ),
            };
        }
        source = cause.source();
    }
    // The provider's own refusals (a malformed session policy, a disabled region) carry no
    // answer: configuration, like a refusal.
    denied_or_transient(
        "InvalidConfiguration".to_string(),
        &aws_smithy_types::error::display::DisplayErrorContext(error).to_string(),
        false,
    )
}

fn denied_or_transient(code: String, message: &str, transient: bool) -> Error {
    let category = if transient {
        Category::IamTransient
    } else {
        Category::AssumeRoleDenied
    };
    let message = if transient {
        format!("{message}; rolesmith tries again")
    } else {
        format!(
            "{message}. STS refused: check the role's trust policy (the operator's identity, the ExternalId) and the operator's sts:AssumeRole permission"
        )
    };
    Error::Iam {
        action: "AssumeRole",
        code,
        message,
        category,
        retry_after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_external_id() {
        let settings = AssumeSettings {
            role_arn: "arn:aws:iam::111111111111:role/rolesmith".into(),
            external_id: Some("s3cr3t-external".into()),
            session_name: "rolesmith".into(),
            tags: vec![("team".into(), "a".into())],
        };
        let printed = format!("{settings:?}");
        assert!(!printed.contains("s3cr3t-external"), "{printed}");
        assert!(printed.contains("<redacted>"), "{printed}");
    }

    #[test]
    fn refusals_and_transient_failures() {
        let cases = [
            ("AccessDenied", false, Category::AssumeRoleDenied),
            ("Throttling", true, Category::IamTransient),
            ("InternalFailure", true, Category::IamTransient),
        ];
        for (code, transient, want) in cases {
            let error = denied_or_transient(code.to_string(), "m", transient);
            assert_eq!(error.category(), want, "{code}");
            assert!(error.to_string().contains(code), "{error}");
        }
    }
}
