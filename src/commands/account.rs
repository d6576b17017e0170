//! `plan`/`apply --account-id/--assume-role-arn/--external-id`: the account an AwsAccount would
//! name, without a cluster. The flags are checked like an AwsAccount's spec, and the credentials
//! are verified with STS before anything is read or written.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::api::AwsAccountSpec;
use crate::api::account::{AssumeRole, DEFAULT_SESSION_NAME};
use crate::cli::AccountArgs;
use crate::iam::{AssumeSettings, AwsIam, CallObserver, IamApi};
use crate::ratelimit::AccountLimiter;

/// The IAM client the flags ask for: `own` itself, or `own` assuming a role; verified to act in
/// --account-id when given.
pub async fn select(
    own: AwsIam,
    args: &AccountArgs,
    observer: Arc<dyn CallObserver>,
    limiter: Arc<AccountLimiter>,
) -> Result<AwsIam, String> {
    let settings = settings(args)?;
    let iam = match &settings {
        None => own,
        Some(settings) => own.assuming(settings, observer, limiter).await,
    };
    if settings.is_some() || args.account_id.is_some() {
        let verified = iam.verify().await.map_err(|error| error.message())?;
        if let Some(expected) = &args.account_id
            && verified.identity.account != *expected
        {
            return Err(format!(
                "the credentials act in account {} ({}), not in --account-id {expected}; nothing was done",
                verified.identity.account, verified.caller_arn
            ));
        }
    }
    Ok(iam)
}

/// The CLI's IAM client: the default credential chain at `config`, rate-limited, in the
/// account the flags ask for ([`select`]).
pub async fn client(
    config: crate::iam::AwsIamConfig,
    aws: &crate::cli::AwsArgs,
    args: &AccountArgs,
) -> Result<AwsIam, String> {
    let observer: Arc<dyn CallObserver> = Arc::new(crate::iam::NoopObserver);
    let limiter = Arc::new(AccountLimiter::new(aws.iam_rate_limit, 1));
    let own = AwsIam::new(config, observer.clone())
        .await
        .with_limiter(limiter.clone());
    select(own, args, observer, limiter).await
}

/// The role to assume, checked like an AwsAccount's spec. Pure.
pub fn settings(args: &AccountArgs) -> Result<Option<AssumeSettings>, String> {
    let Some(role_arn) = &args.assume_role_arn else {
        if let Some(id) = &args.account_id {
            check(AwsAccountSpec {
                account_id: id.clone(),
                assume_role: None,
                allowed_namespaces: Vec::new(),
                default: false,
            })?;
        }
        return Ok(None);
    };
    // Without --account-id, the role's own account: the ARN is still checked.
    let account_id = args.account_id.clone().unwrap_or_else(|| {
        role_arn
            .split(':')
            .nth(4)
            .map(str::to_string)
            .unwrap_or_default()
    });
    check(AwsAccountSpec {
        account_id,
        assume_role: Some(AssumeRole {
            role_arn: role_arn.clone(),
            external_id: args.external_id.clone(),
            session_name: None,
            session_tags: BTreeMap::new(),
        }),
        allowed_namespaces: Vec::new(),
        default: false,
    })?;
    Ok(Some(AssumeSettings {
        role_arn: role_arn.clone(),
        external_id: args.external_id.clone(),
        session_name: DEFAULT_SESSION_NAME.to_string(),
        tags: Vec::new(),
    }))
}

fn check(spec: AwsAccountSpec) -> Result<(), String> {
    let problems = spec.problems();
    if problems.is_empty() {
        Ok(())
    } else {
        let flags = problems
            .join("; ")
            .replace("assumeRole.roleArn", "--assume-role-arn")
            .replace("assumeRole.externalId", "--external-id")
            .replace("accountId", "--account-id");
        Err(format!("{flags}; nothing was done"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(id: Option<&str>, arn: Option<&str>, external: Option<&str>) -> AccountArgs {
        AccountArgs {
            account_id: id.map(str::to_string),
            assume_role_arn: arn.map(str::to_string),
            external_id: external.map(str::to_string),
        }
    }

    #[test]
    fn flags_are_checked_like_an_aws_account() {
        let arn = "arn:aws:iam::111111111111:role/rolesmith";
        let cases = [
            (args(None, None, None), Ok(false)),
            (args(Some("111111111111"), None, None), Ok(false)),
            (args(Some("1111"), None, None), Err("--account-id")),
            (args(None, Some(arn), Some("tenant-42")), Ok(true)),
            (args(Some("111111111111"), Some(arn), None), Ok(true)),
            (
                args(Some("222222222222"), Some(arn), None),
                Err("is not in account 222222222222"),
            ),
            (
                args(None, Some("arn:aws:iam::111111111111:user/x"), None),
                Err("--assume-role-arn"),
            ),
            (
                args(None, Some(arn), Some("bad id;x")),
                Err("--external-id"),
            ),
        ];
        for (args, want) in cases {
            let got = settings(&args);
            match (&got, want) {
                (Ok(assumed), Ok(expect)) => assert_eq!(assumed.is_some(), expect, "{args:?}"),
                (Err(message), Err(part)) => {
                    assert!(message.contains(part), "{args:?}: {message}");
                    assert!(!message.contains("bad id;x"), "the ExternalId is printed");
                }
                _ => panic!("{args:?}: {got:?}"),
            }
        }
        let assumed = settings(&args(None, Some(arn), Some("tenant-42")))
            .ok()
            .flatten()
            .expect("assumes");
        assert_eq!(assumed.external_id.as_deref(), Some("tenant-42"));
        assert_eq!(assumed.session_name, DEFAULT_SESSION_NAME);
    }
}
