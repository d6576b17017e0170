//! Which account an IamRole's role lives in: pure, over the AwsAccounts the watch holds.
//!
//! `accountRef` names one; without it the AwsAccount marked default is used, and without one
//! the operator's own account, exactly as before AwsAccounts existed. The namespace must be
//! allowed by the account; a role never moves to another account than the one it lives in.

use crate::api::AwsAccountSpec;
use crate::error::{Category, Error};

/// One AwsAccount as routing sees it.
#[derive(Clone, Copy, Debug)]
pub struct Known<'a> {
    pub name: &'a str,
    pub spec: &'a AwsAccountSpec,
}

/// Where a role goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chosen<'a> {
    /// The operator's own credentials, no AwsAccount involved.
    Own,
    /// The AwsAccount of this name.
    Account(&'a str),
}

impl Chosen<'_> {
    /// The key of the account's client and sweep: None for the operator's own.
    pub fn key(&self) -> Option<String> {
        match self {
            Chosen::Own => None,
            Chosen::Account(name) => Some(name.to_string()),
        }
    }
}

fn unavailable(message: String) -> Error {
    Error::Account {
        category: Category::AccountUnavailable,
        message,
    }
}

fn not_allowed(message: String) -> Error {
    Error::Account {
        category: Category::AccountNotAllowed,
        message,
    }
}

/// The account of a role of `namespace` naming `account_ref`, or why there is none. No IO, so
/// a refusal costs no call in any account.
pub fn choose<'a>(
    account_ref: Option<&str>,
    namespace: &str,
    accounts: &[Known<'a>],
) -> Result<Chosen<'a>, Error> {
    let account = match account_ref {
        Some(name) => accounts.iter().find(|a| a.name == name).ok_or_else(|| {
            unavailable(format!(
                "AwsAccount {name} (spec.accountRef) does not exist; create it, or wait until it is applied"
            ))
        })?,
        None => {
            let defaults: Vec<&Known> = accounts.iter().filter(|a| a.spec.default).collect();
            match defaults.as_slice() {
                [] => return Ok(Chosen::Own),
                [one] => *one,
                several => {
                    let names: Vec<&str> = several.iter().map(|a| a.name).collect();
                    return Err(unavailable(format!(
                        "AwsAccounts {} are all marked default; mark only one, or name the account in spec.accountRef",
                        names.join(", ")
                    )));
                }
            }
        }
    };
    if !account.spec.allows(namespace) {
        return Err(not_allowed(format!(
            "namespace {namespace} is not in the allowedNamespaces of AwsAccount {} (account {}): nothing is done in that account; add the namespace there, or name another account",
            account.name, account.spec.account_id
        )));
    }
    Ok(Chosen::Account(account.name))
}

/// The account a role lives in, as its status records it (the account, else its ARN's).
pub fn home(account_id: Option<&str>, role_arn: Option<&str>) -> Option<String> {
    account_id.map(str::to_string).or_else(|| {
        role_arn
            .and_then(|arn| crate::arn::Arn::parse(arn).ok())
            .and_then(|arn| arn.account_id().map(str::to_string))
    })
}

/// A role that lives in one account is never made in another: changing the default account,
/// or the credentials of an AwsAccount, must not orphan it.
pub fn stays_home(home: Option<&str>, chosen_account: &str) -> Result<(), Error> {
    match home {
        Some(home) if home != chosen_account => Err(not_allowed(format!(
            "the role lives in account {home} (status.accountId) but the object now resolves to account {chosen_account}; a role cannot move between accounts: restore the account it used, or create a new IamRole"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
