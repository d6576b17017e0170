//! Managed policy ARNs and the permissions boundary: their form, how many, and one partition.

use std::collections::BTreeMap;

use super::limits::{MANAGED_POLICIES_MAX, NAME_CHARS_TEXT, PARTITIONS, PATH_MAX, POLICY_NAME_MAX};
use super::limits::{is_name_char, is_path_char};
use super::problem::{Problem, Rule};
use super::text::shown;
use crate::arn::{Arn, NotAnArn, is_account_id};

pub(super) fn policy_arn_problems(managed: &[String], boundary: Option<&str>) -> Vec<Problem> {
    let mut problems = Vec::new();
    if managed.len() > MANAGED_POLICIES_MAX {
        problems.push(Problem::new(
            "spec.managedPolicyArns",
            Rule::ManagedPoliciesTooMany,
            format!(
                "lists {} policies; IAM allows at most {MANAGED_POLICIES_MAX} per role (10 unless the account's quota was raised)",
                managed.len()
            ),
        ));
    }
    let mut partitions: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut first_index: BTreeMap<&str, usize> = BTreeMap::new();
    let fields = managed
        .iter()
        .enumerate()
        .map(|(index, arn)| {
            (
                format!("spec.managedPolicyArns[{index}]"),
                Some(index),
                arn.as_str(),
            )
        })
        .chain(boundary.map(|arn| ("spec.permissionsBoundary".to_string(), None, arn)));
    for (field, index, arn) in fields {
        if let Some(index) = index {
            if let Some(first) = first_index.get(arn) {
                problems.push(Problem::new(
                    field,
                    Rule::ManagedPolicyListedTwice,
                    format!("{arn:?} is already listed at [{first}]; list each policy once"),
                ));
                continue;
            }
            first_index.insert(arn, index);
        }
        match policy_arn_partition(arn) {
            Ok(partition) => partitions.entry(partition).or_default().push(field),
            Err(reason) => problems.push(Problem::new(
                field,
                Rule::PolicyArnInvalid,
                format!("{} {reason}", shown(arn)),
            )),
        }
    }
    if partitions.len() > 1 {
        let listing: Vec<String> = partitions
            .iter()
            .map(|(partition, fields)| format!("{partition}: {}", fields.join(", ")))
            .collect();
        problems.push(Problem::new(
            "spec.managedPolicyArns/spec.permissionsBoundary",
            Rule::PolicyArnsMixedPartitions,
            format!(
                "the ARNs are in several partitions ({}); a role and its policies live in one partition",
                listing.join("; ")
            ),
        ));
    }
    problems
}

/// The partition of `arn:PARTITION:iam::(ACCOUNT|aws):policy/[PATH/]NAME`, or why it is not
/// such an ARN (completing the sentence "<arn> …").
fn policy_arn_partition(text: &str) -> Result<&str, String> {
    const FORM: &str = "arn:aws:iam::<12-digit account or aws>:policy/<optional path/><name>";
    let arn = match Arn::parse(text) {
        Ok(arn) => arn,
        Err(NotAnArn::Fields) => return Err(format!("is not a policy ARN; expected {FORM}")),
        Err(NotAnArn::Prefix) if text.splitn(6, ':').count() < 6 => {
            return Err(format!("is not a policy ARN; expected {FORM}"));
        }
        Err(NotAnArn::Prefix) => {
            return Err(format!("does not start with \"arn:\"; expected {FORM}"));
        }
    };
    let Arn {
        partition,
        service,
        region,
        account,
        resource,
    } = arn;
    if !PARTITIONS.contains(&partition) {
        return Err(format!(
            "has partition {partition:?}; IAM policy ARNs are in aws, aws-cn or aws-us-gov"
        ));
    }
    if service != "iam" {
        return Err(format!(
            "is not an IAM ARN (service {service:?}); expected {FORM}"
        ));
    }
    if !region.is_empty() {
        return Err(format!("has a region ({region:?}); IAM ARNs have none"));
    }
    if !(is_account_id(account) || account == "aws") {
        return Err(format!(
            "has account {account:?}; expected 12 digits, or \"aws\" for AWS-managed policies"
        ));
    }
    let Some(path_and_name) = resource.strip_prefix("policy/") else {
        return Err(format!(
            "is not a policy ARN (resource {resource:?}); expected {FORM}"
        ));
    };
    let (path, name) = path_and_name
        .rsplit_once('/')
        .unwrap_or(("", path_and_name));
    let name_fine =
        (1..=POLICY_NAME_MAX).contains(&name.chars().count()) && name.chars().all(is_name_char);
    if !name_fine {
        return Err(format!(
            "has policy name {name:?}; IAM allows 1 to {POLICY_NAME_MAX} characters of {NAME_CHARS_TEXT}"
        ));
    }
    if path.chars().count() + 2 > PATH_MAX || !path.chars().all(is_path_char) {
        return Err(format!(
            "has path {path:?}; IAM allows up to {PATH_MAX} printable ASCII characters without spaces"
        ));
    }
    Ok(partition)
}
