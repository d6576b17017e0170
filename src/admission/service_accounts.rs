//! `spec.serviceAccounts`: roles for a cluster's own pods, without hand-written trust JSON.
//!
//! Each entry names a ServiceAccount and how its pods get credentials: IRSA (the cluster's OIDC
//! provider, `sts:AssumeRoleWithWebIdentity`) or EKS Pod Identity (`pods.eks.amazonaws.com`, an
//! association made through the EKS API). Here, pure: which accounts an object names (defaults,
//! duplicates, confinement, the operator's settings each needs), the trust statements they
//! need, their merge with `assumeRolePolicy`, and what to do with a ServiceAccount's role-ARN
//! annotation.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::confine::Confinement;
use super::problem::{Problem, Rule};

#[cfg(test)]
mod tests;

/// The annotation the EKS pod identity webhook reads to give a pod the role's credentials.
pub const ROLE_ARN_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
/// The Service principal of EKS Pod Identity.
pub const POD_IDENTITY_SERVICE: &str = "pods.eks.amazonaws.com";
/// The audience the EKS webhook asks tokens for.
const AUDIENCE: &str = "sts.amazonaws.com";
/// A ServiceAccount name: a DNS-1123 subdomain.
pub const SERVICE_ACCOUNT_NAME_PATTERN: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/// A namespace name: a DNS-1123 label.
pub const NAMESPACE_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// At most this many entries: even grouped, more would not fit IAM's 2,048-character trust
/// policy.
pub const SERVICE_ACCOUNTS_MAX: usize = 20;

/// How a ServiceAccount's pods get the role's credentials.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
)]
pub enum WorkloadIdentity {
    // IAM roles for service accounts: the cluster's OIDC provider and the role-ARN annotation.
    #[default]
    #[serde(rename = "IRSA")]
    Irsa,
    // EKS Pod Identity: an association between the ServiceAccount and the role.
    PodIdentity,
}

impl WorkloadIdentity {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadIdentity::Irsa => "IRSA",
            WorkloadIdentity::PodIdentity => "PodIdentity",
        }
    }

    /// `IRSA` or `PodIdentity`, as in the spec.
    pub fn parse(text: &str) -> Result<WorkloadIdentity, String> {
        match text {
            "IRSA" => Ok(WorkloadIdentity::Irsa),
            "PodIdentity" => Ok(WorkloadIdentity::PodIdentity),
            other => Err(format!("{other:?} is not IRSA or PodIdentity")),
        }
    }
}

impl std::fmt::Display for WorkloadIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A ServiceAccount whose pods may assume the role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountRef {
    /// Name of the ServiceAccount.
    #[schemars(regex(pattern = SERVICE_ACCOUNT_NAME_PATTERN), length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the ServiceAccount (default: the IamRole's own). Another namespace may be
    /// named only from a namespace the operator does not confine (--unconfined-namespaces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = NAMESPACE_PATTERN), length(min = 1, max = 63))]
    pub namespace: Option<String>,
    /// `IRSA` (the cluster's OIDC provider; the ServiceAccount is annotated with the role's
    /// ARN) or `PodIdentity` (an EKS Pod Identity association). Default: the operator's
    /// --workload-identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<WorkloadIdentity>,
}

/// What the operator knows about the cluster's workload identity (its flags).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Workloads {
    /// ARN of the cluster's IAM OIDC provider (--oidc-provider-arn), needed for IRSA.
    pub oidc_provider_arn: Option<String>,
    /// The `via` of an entry that names none (--workload-identity).
    pub default_via: WorkloadIdentity,
    /// The EKS cluster Pod Identity associations are made in (--eks-cluster-name).
    pub eks_cluster_name: Option<String>,
    /// The account of a role that lives in another account than the cluster's (an AwsAccount),
    /// set by [`Workloads::in_other_account`].
    pub other_account: Option<String>,
}

impl Workloads {
    /// The same settings for a role in `account`, which is not the cluster's. IAM accepts only
    /// an OIDC provider of the role's own account as a Federated principal, so IRSA trusts the
    /// provider of the cluster's issuer in `account` (which must have one, as for any
    /// cross-account IRSA). An EKS Pod Identity association names a role of the cluster's
    /// account, so Pod Identity is refused.
    pub fn in_other_account(&self, account: &str) -> Workloads {
        let oidc_provider_arn = self.oidc_provider_arn.as_deref().map(|arn| {
            crate::arn::Arn::parse(arn)
                .map(|parsed| parsed.in_account(account))
                .unwrap_or_else(|_| arn.to_string())
        });
        Workloads {
            oidc_provider_arn,
            other_account: Some(account.to_string()),
            ..self.clone()
        }
    }
}

/// One entry with its defaults applied.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkloadAccount {
    pub namespace: String,
    pub name: String,
    pub via: WorkloadIdentity,
}

impl WorkloadAccount {
    /// The subject the cluster's OIDC issuer puts in this account's tokens.
    pub fn subject(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.name)
    }
}

/// The entries of an object in `namespace` with defaults applied, unchecked (for a caller that
/// acts on an object admission has let through).
pub fn with_defaults(
    namespace: &str,
    entries: &[ServiceAccountRef],
    default_via: WorkloadIdentity,
) -> Vec<WorkloadAccount> {
    entries
        .iter()
        .map(|entry| WorkloadAccount {
            namespace: entry
                .namespace
                .clone()
                .unwrap_or_else(|| namespace.to_string()),
            name: entry.name.clone(),
            via: entry.via.unwrap_or(default_via),
        })
        .collect()
}

/// The entries of an object in `namespace`, with defaults applied, or every reason they cannot
/// be had: an account listed twice, one in another namespace from a confined namespace, or a
/// `via` the operator has no settings for.
pub fn resolve(
    namespace: &str,
    entries: &[ServiceAccountRef],
    workloads: &Workloads,
    confinement: &Confinement,
) -> Result<Vec<WorkloadAccount>, Vec<Problem>> {
    let mut accounts: Vec<WorkloadAccount> = Vec::new();
    let mut problems = Vec::new();
    let defaulted = with_defaults(namespace, entries, workloads.default_via);
    for (index, account) in defaulted.into_iter().enumerate() {
        let field = format!("spec.serviceAccounts[{index}]");
        let names = [
            (
                "name",
                &account.name,
                is_dns_subdomain(&account.name),
                "a DNS-1123 subdomain: up to 253 of a-z 0-9 - . starting and ending with a letter or digit",
            ),
            (
                "namespace",
                &account.namespace,
                is_dns_label(&account.namespace),
                "a DNS-1123 label: up to 63 of a-z 0-9 - starting and ending with a letter or digit",
            ),
        ];
        let bad: Vec<Problem> = names
            .into_iter()
            .filter(|(_, _, ok, _)| !ok)
            .map(|(part, value, _, rule)| {
                Problem::new(
                    format!("{field}.{part}"),
                    Rule::ServiceAccountNameInvalid,
                    format!("{value:?} cannot name a ServiceAccount's {part}: it must be {rule}"),
                )
            })
            .collect();
        if !bad.is_empty() {
            problems.extend(bad);
            continue;
        }
        if accounts
            .iter()
            .any(|a| a.namespace == account.namespace && a.name == account.name)
        {
            problems.push(Problem::new(
                &field,
                Rule::ServiceAccountListedTwice,
                format!(
                    "ServiceAccount {}/{} is listed twice; list each once",
                    account.namespace, account.name
                ),
            ));
            continue;
        }
        if !confinement.may_refer(namespace, &account.namespace) {
            problems.push(Problem::new(
                format!("{field}.namespace"),
                Rule::CrossNamespaceServiceAccount,
                format!(
                    "namespace {namespace} may not give a role to ServiceAccounts of namespace {}: only namespaces the operator does not confine may (--unconfined-namespaces); create the IamRole in {} instead",
                    account.namespace, account.namespace
                ),
            ));
        }
        problems.extend(unconfigured(&field, account.via, workloads));
        accounts.push(account);
    }
    if problems.is_empty() {
        Ok(accounts)
    } else {
        Err(problems)
    }
}

/// A DNS-1123 label, as Kubernetes names namespaces.
fn is_dns_label(text: &str) -> bool {
    let bytes = text.as_bytes();
    (1..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// A DNS-1123 subdomain, as Kubernetes names ServiceAccounts.
fn is_dns_subdomain(text: &str) -> bool {
    text.len() <= 253 && text.split('.').all(is_dns_label)
}

/// Why the operator cannot serve `via`, if it cannot.
fn unconfigured(field: &str, via: WorkloadIdentity, workloads: &Workloads) -> Option<Problem> {
    let problem = |message: String| {
        Some(Problem::new(
            format!("{field}.via"),
            Rule::WorkloadIdentityUnconfigured,
            message,
        ))
    };
    match via {
        WorkloadIdentity::Irsa => match workloads.oidc_provider_arn.as_deref() {
            None => problem(
                "IRSA needs the cluster's OIDC provider, and the operator was started without --oidc-provider-arn; set it (chart value workloadIdentity.oidcProviderArn) or use via: PodIdentity".into(),
            ),
            Some(arn) if issuer(arn).is_none() => problem(format!(
                "the operator's --oidc-provider-arn {arn:?} is not an IAM OIDC provider ARN (arn:aws:iam::<account>:oidc-provider/<issuer>); fix the flag"
            )),
            Some(_) => None,
        },
        WorkloadIdentity::PodIdentity => match workloads.eks_cluster_name.as_deref() {
            None | Some("") => problem(
                "EKS Pod Identity needs the cluster's name, and the operator was started without --eks-cluster-name; set it (chart value workloadIdentity.eksClusterName) or use via: IRSA".into(),
            ),
            Some(_) => workloads.other_account.as_deref().map(|account| {
                Problem::new(
                    format!("{field}.via"),
                    Rule::PodIdentityOtherAccount,
                    format!(
                        "EKS Pod Identity associates a ServiceAccount with a role of the cluster's account, and this role lives in account {account} (spec.accountRef); use via: IRSA (account {account} needs an IAM OIDC provider for the cluster's issuer) or drop accountRef"
                    ),
                )
            }),
        },
    }
}

/// The OIDC issuer of an IAM OIDC provider ARN: its resource after `oidc-provider/`
/// (`oidc.eks.<region>.amazonaws.com/id/<id>`), the prefix of its tokens' condition keys.
pub fn issuer(provider_arn: &str) -> Option<&str> {
    let arn = crate::arn::Arn::parse(provider_arn).ok()?;
    if arn.service != "iam" || arn.account_id().is_none() {
        return None;
    }
    arn.resource
        .strip_prefix("oidc-provider/")
        .filter(|issuer| !issuer.is_empty())
}

/// The trust statements `accounts` need. IRSA: one statement for all of them, its `:sub`
/// condition listing every subject (a subject names namespace and account together, so one
/// list admits exactly the accounts listed; one statement each, about 440 characters with an
/// EKS provider, passes IAM's 2,048-character trust quota at the fifth: 20 entries take 1,318
/// characters grouped, 8,878 apart). Pod Identity: one statement per namespace, since namespace
/// and account are separate session tags and one list of each would admit every pairing.
pub fn trust_statements(accounts: &[WorkloadAccount], workloads: &Workloads) -> Vec<Value> {
    let mut statements = Vec::new();
    let irsa: Vec<String> = accounts
        .iter()
        .filter(|a| a.via == WorkloadIdentity::Irsa)
        .map(WorkloadAccount::subject)
        .collect();
    if let (false, Some(arn)) = (irsa.is_empty(), workloads.oidc_provider_arn.as_deref())
        && let Some(issuer) = issuer(arn)
    {
        statements.push(json!({
            "Effect": "Allow",
            "Principal": {"Federated": arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                format!("{issuer}:sub"): one_or_many(irsa),
                format!("{issuer}:aud"): AUDIENCE,
            }}
        }));
    }
    let mut by_namespace: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for account in accounts
        .iter()
        .filter(|a| a.via == WorkloadIdentity::PodIdentity)
    {
        by_namespace
            .entry(&account.namespace)
            .or_default()
            .push(account.name.clone());
    }
    for (namespace, names) in by_namespace {
        statements.push(json!({
            "Effect": "Allow",
            "Principal": {"Service": POD_IDENTITY_SERVICE},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {
                "aws:RequestTag/kubernetes-namespace": namespace,
                "aws:RequestTag/kubernetes-service-account": one_or_many(names),
            }}
        }));
    }
    statements
}

/// A single value as a string, as people write it; several as a list.
fn one_or_many(mut values: Vec<String>) -> Value {
    if values.len() == 1 {
        Value::String(values.remove(0))
    } else {
        Value::from(values)
    }
}

/// The trust policy IAM gets: `written` (the spec's `assumeRolePolicy` as JSON text, if any)
/// with `statements` appended, keeping its Version; without one, a document of the statements.
/// `written` unchanged when there is nothing to add.
pub fn merged_trust(written: Option<&str>, statements: Vec<Value>) -> Result<String, String> {
    let Some(text) = written else {
        return Ok(json!({"Version": "2012-10-17", "Statement": statements}).to_string());
    };
    if statements.is_empty() {
        return Ok(text.to_string());
    }
    let mut document: Value = serde_json::from_str(text).map_err(|error| error.to_string())?;
    let Some(object) = document.as_object_mut() else {
        return Err("the trust policy is not a JSON object".into());
    };
    let mut all = match object.remove("Statement") {
        None => Vec::new(),
        Some(Value::Array(existing)) => existing,
        Some(single) => vec![single],
    };
    all.extend(statements);
    object.insert("Statement".into(), Value::Array(all));
    Ok(document.to_string())
}

/// What to do with a ServiceAccount's role-ARN annotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Annotation {
    /// It already names this role.
    InSync,
    /// It is absent (or empty): write this role's ARN.
    Write,
    /// It names another role (another IamRole's, or set by hand): left alone, reported.
    HeldByOther(String),
}

/// The annotation a ServiceAccount that should get `ours` has now (`current`) → what to do.
/// The first value written wins: an IamRole never replaces another's value, so two IamRoles
/// naming one ServiceAccount cannot flap its annotation.
pub fn annotation_action(current: Option<&str>, ours: &str) -> Annotation {
    match current {
        Some(value) if value == ours => Annotation::InSync,
        None | Some("") => Annotation::Write,
        Some(other) => Annotation::HeldByOther(other.to_string()),
    }
}

/// Whether to remove the annotation of a ServiceAccount no longer listed (or whose IamRole is
/// gone): only when it holds this role's ARN, never someone else's value.
pub fn removes_annotation(current: Option<&str>, ours: &str) -> bool {
    current == Some(ours)
}

/// What to do about the Pod Identity association of a ServiceAccount that should get `ours`,
/// given the role of the one EKS has (`found`, if any).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Association {
    /// It gives this role already.
    Keep,
    /// There is none: create it.
    Create,
    /// It gives another role: left alone (EKS allows one per ServiceAccount), reported.
    HeldByOther(String),
}

pub fn association_action(found: Option<&str>, ours: &str) -> Association {
    match found {
        None => Association::Create,
        Some(role) if role == ours => Association::Keep,
        Some(other) => Association::HeldByOther(other.to_string()),
    }
}

/// Whether an association this object made for `namespace/name` is still wanted: only those
/// are kept, the rest deleted (never one it did not make, which it has no record of).
pub fn association_wanted(wanted: &[WorkloadAccount], namespace: &str, name: &str) -> bool {
    wanted.iter().any(|account| {
        account.via == WorkloadIdentity::PodIdentity
            && account.namespace == namespace
            && account.name == name
    })
}
