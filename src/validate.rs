//! IAM's input rules, checked before any call: moto enforces almost none of them and real IAM
//! answers with terse errors after a round trip, so every rule IAM documents and rolesmith can
//! check offline is checked here, with a message that names the spec field, says what is
//! wrong and what is allowed.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::model::{DesiredRole, OWNER_TAG_KEY};
use crate::policy::{self, DocumentKind};

mod managed_policy;
pub use managed_policy::{policy_warnings, validate_policy};

const ROLE_NAME_MAX: usize = 64;
const PATH_MAX: usize = 512;
const DESCRIPTION_MAX: usize = 1000;
const SESSION_MIN: i32 = 3600;
const SESSION_MAX: i32 = 43200;
const TRUST_POLICY_MAX: usize = 2048;
const TRUST_POLICY_RAISED_MAX: usize = 4096;
const POLICY_NAME_MAX: usize = 128;
const INLINE_TOTAL_MAX: usize = 10_240;
const MANAGED_POLICIES_MAX: usize = 20;
const TAGS_MAX: usize = 50;
const TAG_KEY_MAX: usize = 128;
const TAG_VALUE_MAX: usize = 256;
const PARTITIONS: [&str; 3] = ["aws", "aws-cn", "aws-us-gov"];
const NAME_CHARS_TEXT: &str = "A-Z a-z 0-9 and + = , . @ _ -";
const TAG_CHARS_TEXT: &str = "letters, digits, spaces and _ . : / = + - @";
const ADMIN_POLICIES: [&str; 3] = [
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws-cn:iam::aws:policy/AdministratorAccess",
    "arn:aws-us-gov:iam::aws:policy/AdministratorAccess",
];

/// IAM's tag character set; Unicode classes make a regex the clearest statement of it.
static TAG_CHARS: LazyLock<Result<Regex, regex::Error>> =
    LazyLock::new(|| Regex::new(r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$"));

/// Every IAM input rule the desired role breaks. Empty means IAM should accept it.
pub fn validate_desired(desired: &DesiredRole) -> Vec<String> {
    let mut problems = Vec::new();
    problems.extend(role_name_problems(&desired.name));
    problems.extend(path_problems(&desired.path));
    problems.extend(description_problems(&desired.description));
    problems.extend(session_duration_problems(desired.max_session_duration));
    problems.extend(trust_policy_problems(&desired.assume_role_policy));
    problems.extend(inline_policy_problems(&desired.inline_policies));
    problems.extend(policy_arn_problems(
        &desired.managed_policy_arns,
        desired.permissions_boundary.as_deref(),
    ));
    problems.extend(tag_problems(&desired.tags));
    problems
}

/// Guardrails that do not block: risky but legitimate choices the user should see.
pub fn warnings(desired: &DesiredRole, own_account_id: Option<&str>) -> Vec<String> {
    let mut warnings = Vec::new();
    for (name, document) in &desired.inline_policies {
        if policy::grants_admin(document) {
            warnings.push(format!(
                "spec.inlinePolicies.{name}: allows every action on every resource (Action \"*\", Resource \"*\"): the role is an administrator; grant only the actions it needs"
            ));
        }
    }
    for arn in &desired.managed_policy_arns {
        if ADMIN_POLICIES.contains(&arn.as_str()) {
            warnings.push(format!(
                "spec.managedPolicyArns: {arn} makes the role an administrator; attach policies that grant only what it needs"
            ));
        }
    }
    let trust = &desired.assume_role_policy;
    for account in policy::untrusted_accounts_without_external_id(trust, own_account_id) {
        let whose = if own_account_id.is_some() {
            "another AWS account"
        } else {
            "an AWS account (the operator's own account is unknown)"
        };
        warnings.push(format!(
            "spec.assumeRolePolicy: {whose}, {account}, may assume the role without an sts:ExternalId condition; when a third party assumes it, require the external id they gave you (confused deputy)"
        ));
    }
    for provider in policy::web_identity_providers_without_subject(trust) {
        warnings.push(format!(
            "spec.assumeRolePolicy: web identity provider {provider:?} is trusted without a condition on \"{provider}:sub\" or \"{provider}:aud\"; every identity it issues tokens for can assume the role"
        ));
    }
    for provider in policy::saml_providers_without_audience(trust) {
        warnings.push(format!(
            "spec.assumeRolePolicy: SAML provider {provider:?} is trusted without a SAML:aud condition; add StringEquals SAML:aud \"https://signin.aws.amazon.com/saml\""
        ));
    }
    warnings
}

fn role_name_problems(name: &str) -> Vec<String> {
    name_problems("spec.roleName", "", name, ROLE_NAME_MAX)
}

/// Role and policy names share IAM's `[\w+=,.@-]` with an ASCII `\w`: a Cyrillic `а` that looks
/// like a Latin `a` is refused by IAM, so it is refused here.
fn name_problems(field: &str, what: &str, name: &str, max: usize) -> Vec<String> {
    let length = name.chars().count();
    let mut problems = Vec::new();
    if length == 0 {
        problems.push(format!(
            "{field}: {what}is empty; IAM allows 1 to {max} characters of {NAME_CHARS_TEXT}"
        ));
    } else if length > max {
        problems.push(format!(
            "{field}: {what}{} is {length} characters long; IAM allows 1 to {max}",
            shown(name)
        ));
    }
    let bad = invalid_chars(name, |c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if !bad.is_empty() {
        problems.push(format!(
            "{field}: {what}{} contains {bad}; IAM allows only {NAME_CHARS_TEXT}",
            shown(name)
        ));
    }
    problems
}

fn path_problems(path: &str) -> Vec<String> {
    let field = "spec.path";
    let length = path.chars().count();
    if length == 0 {
        return vec![format!("{field}: is empty; use \"/\" or \"/segment/…/\"")];
    }
    let mut problems = Vec::new();
    if length > PATH_MAX {
        problems.push(format!(
            "{field}: {} is {length} characters long; IAM allows 1 to {PATH_MAX}",
            shown(path)
        ));
    }
    // IAM's pattern is `/` or `/` + at least one character + `/`, so "//" is refused.
    if !path.starts_with('/') || !path.ends_with('/') || path == "//" {
        problems.push(format!(
            "{field}: {} must be \"/\" or start and end with \"/\" around a name, e.g. \"/team/app/\"",
            shown(path)
        ));
    }
    let bad = invalid_chars(path, |c| ('\x21'..='\x7e').contains(&c));
    if !bad.is_empty() {
        problems.push(format!(
            "{field}: {} contains {bad}; IAM allows only printable ASCII without spaces (! to ~)",
            shown(path)
        ));
    }
    problems
}

fn description_problems(description: &str) -> Vec<String> {
    let field = "spec.description";
    let length = description.chars().count();
    let mut problems = Vec::new();
    if length > DESCRIPTION_MAX {
        problems.push(format!(
            "{field}: is {length} characters long; IAM allows at most {DESCRIPTION_MAX}"
        ));
    }
    let bad = invalid_chars(
        description,
        |c| matches!(c, '\t' | '\n' | '\r' | '\x20'..='\x7e' | '\u{a1}'..='\u{ff}'),
    );
    if !bad.is_empty() {
        problems.push(format!(
            "{field}: contains {bad}; IAM allows only tab, line breaks, printable ASCII and the Latin-1 characters ¡ to ÿ"
        ));
    }
    problems
}

fn session_duration_problems(seconds: i32) -> Vec<String> {
    if (SESSION_MIN..=SESSION_MAX).contains(&seconds) {
        return Vec::new();
    }
    vec![format!(
        "spec.maxSessionDuration: {seconds} seconds is outside IAM's range of {SESSION_MIN} (1 hour) to {SESSION_MAX} (12 hours)"
    )]
}

fn trust_policy_problems(document: &str) -> Vec<String> {
    let field = "spec.assumeRolePolicy";
    let mut problems: Vec<String> = policy::check_document(document, DocumentKind::Trust)
        .into_iter()
        .map(|problem| format!("{field}: {problem}"))
        .collect();
    let size = policy::non_whitespace_len(document);
    if size > TRUST_POLICY_MAX {
        problems.push(format!(
            "{field}: is {size} characters long without whitespace; IAM allows {TRUST_POLICY_MAX} by default (the quota can be raised to {TRUST_POLICY_RAISED_MAX}, but rolesmith enforces the default)"
        ));
    }
    if policy::wildcard_principal_without_condition(document) {
        problems.push(format!(
            "{field}: a statement allows Principal \"*\" (any AWS account) without a Condition that narrows who may assume the role; name the principals, or require a literal value such as StringEquals aws:PrincipalOrgID \"o-…\" (a value that is only a wildcard, or a negated, IfExists, ForAllValues, Null or Bool condition, narrows nothing)"
        ));
    }
    problems
}

fn inline_policy_problems(policies: &BTreeMap<String, String>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut total = 0;
    for (name, document) in policies {
        problems.extend(name_problems(
            "spec.inlinePolicies",
            "policy name ",
            name,
            POLICY_NAME_MAX,
        ));
        problems.extend(
            policy::check_document(document, DocumentKind::Permissions)
                .into_iter()
                .map(|problem| format!("spec.inlinePolicies.{name}: {problem}")),
        );
        total += policy::non_whitespace_len(document);
    }
    // IAM's names (of roles, policies and the rest) are not told apart by case, and the plan
    // treats a policy renamed only in case as the same policy: two such names would overwrite
    // each other in IAM and be written again on every pass.
    let mut by_folded_name: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for name in policies.keys() {
        by_folded_name
            .entry(name.to_lowercase())
            .or_default()
            .push(name);
    }
    for names in by_folded_name.values().filter(|names| names.len() > 1) {
        let quoted: Vec<String> = names.iter().map(|name| format!("{name:?}")).collect();
        let Some((last, rest)) = quoted.split_last() else {
            continue;
        };
        problems.push(format!(
            "spec.inlinePolicies: policy names {} and {last} differ only in case; IAM does not tell policy names apart by case, so they would overwrite each other: give them names that differ in more than case",
            rest.join(", ")
        ));
    }
    if total > INLINE_TOTAL_MAX {
        problems.push(format!(
            "spec.inlinePolicies: the documents together are {total} characters long without whitespace; IAM allows {INLINE_TOTAL_MAX} per role (move some statements into managed policies)"
        ));
    }
    problems
}

fn policy_arn_problems(managed: &[String], boundary: Option<&str>) -> Vec<String> {
    let mut problems = Vec::new();
    if managed.len() > MANAGED_POLICIES_MAX {
        problems.push(format!(
            "spec.managedPolicyArns: lists {} policies; IAM allows at most {MANAGED_POLICIES_MAX} per role (10 unless the account's quota was raised)",
            managed.len()
        ));
    }
    let mut partitions: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut first_index: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, arn) in managed.iter().enumerate() {
        let field = format!("spec.managedPolicyArns[{index}]");
        if let Some(first) = first_index.get(arn.as_str()) {
            problems.push(format!(
                "{field}: {arn:?} is already listed at [{first}]; list each policy once"
            ));
            continue;
        }
        first_index.insert(arn, index);
        match policy_arn_partition(arn) {
            Ok(partition) => partitions.entry(partition).or_default().push(field),
            Err(reason) => problems.push(format!("{field}: {} {reason}", shown(arn))),
        }
    }
    if let Some(arn) = boundary {
        let field = "spec.permissionsBoundary".to_string();
        match policy_arn_partition(arn) {
            Ok(partition) => partitions.entry(partition).or_default().push(field),
            Err(reason) => problems.push(format!("{field}: {} {reason}", shown(arn))),
        }
    }
    if partitions.len() > 1 {
        let listing: Vec<String> = partitions
            .iter()
            .map(|(partition, fields)| format!("{partition}: {}", fields.join(", ")))
            .collect();
        problems.push(format!(
            "spec.managedPolicyArns/spec.permissionsBoundary: the ARNs are in several partitions ({}); a role and its policies live in one partition",
            listing.join("; ")
        ));
    }
    problems
}

/// The partition of `arn:PARTITION:iam::(ACCOUNT|aws):policy/[PATH/]NAME`, or why it is not
/// such an ARN (completing the sentence "<arn> …").
fn policy_arn_partition(arn: &str) -> Result<&str, String> {
    const FORM: &str = "arn:aws:iam::<12-digit account or aws>:policy/<optional path/><name>";
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts.as_slice() else {
        return Err(format!("is not a policy ARN; expected {FORM}"));
    };
    if *prefix != "arn" {
        return Err(format!("does not start with \"arn:\"; expected {FORM}"));
    }
    if !PARTITIONS.contains(partition) {
        return Err(format!(
            "has partition {partition:?}; IAM policy ARNs are in aws, aws-cn or aws-us-gov"
        ));
    }
    if *service != "iam" {
        return Err(format!(
            "is not an IAM ARN (service {service:?}); expected {FORM}"
        ));
    }
    if !region.is_empty() {
        return Err(format!("has a region ({region:?}); IAM ARNs have none"));
    }
    let twelve_digits = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    if !(twelve_digits || *account == "aws") {
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
    let name_fine = (1..=POLICY_NAME_MAX).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if !name_fine {
        return Err(format!(
            "has policy name {name:?}; IAM allows 1 to {POLICY_NAME_MAX} characters of {NAME_CHARS_TEXT}"
        ));
    }
    if path.chars().count() + 2 > PATH_MAX || !path.chars().all(|c| ('\x21'..='\x7e').contains(&c))
    {
        return Err(format!(
            "has path {path:?}; IAM allows up to {PATH_MAX} printable ASCII characters without spaces"
        ));
    }
    Ok(partition)
}

fn tag_problems(tags: &BTreeMap<String, String>) -> Vec<String> {
    let tag_chars = match TAG_CHARS.as_ref() {
        Ok(pattern) => pattern,
        Err(err) => return vec![format!("spec.tags: cannot be checked: {err}")],
    };
    let mut problems = Vec::new();
    if tags.len() > TAGS_MAX - 1 {
        problems.push(format!(
            "spec.tags: has {} tags; IAM allows {TAGS_MAX} per role and rolesmith adds its ownership tag {OWNER_TAG_KEY}, so at most {}",
            tags.len(),
            TAGS_MAX - 1
        ));
    }
    let mut by_folded_key: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (key, value) in tags {
        let field = format!("spec.tags.{key}");
        by_folded_key
            .entry(key.to_lowercase())
            .or_default()
            .push(key);
        let key_length = key.chars().count();
        if key_length == 0 {
            problems.push(format!(
                "spec.tags: a key is empty; IAM allows keys of 1 to {TAG_KEY_MAX} characters"
            ));
        } else if key_length > TAG_KEY_MAX {
            problems.push(format!(
                "spec.tags: key {} is {key_length} characters long; IAM allows 1 to {TAG_KEY_MAX}",
                shown(key)
            ));
        }
        if !tag_chars.is_match(key) {
            problems.push(format!(
                "{field}: the key contains {}; IAM allows only {TAG_CHARS_TEXT}",
                invalid_chars(key, |c| tag_chars.is_match(c.encode_utf8(&mut [0; 4])))
            ));
        }
        if key.to_lowercase().starts_with("aws:") {
            problems.push(format!(
                "{field}: keys starting with \"aws:\" are reserved for AWS"
            ));
        }
        if key.to_lowercase() == OWNER_TAG_KEY.to_lowercase() {
            problems.push(format!(
                "{field}: this tag is set by rolesmith itself to mark the roles it manages; remove it from spec.tags"
            ));
        }
        let value_length = value.chars().count();
        if value_length > TAG_VALUE_MAX {
            problems.push(format!(
                "{field}: the value is {value_length} characters long; IAM allows at most {TAG_VALUE_MAX}"
            ));
        }
        if !tag_chars.is_match(value) {
            problems.push(format!(
                "{field}: the value contains {}; IAM allows only {TAG_CHARS_TEXT}",
                invalid_chars(value, |c| tag_chars.is_match(c.encode_utf8(&mut [0; 4])))
            ));
        }
    }
    for keys in by_folded_key.values().filter(|keys| keys.len() > 1) {
        let quoted: Vec<String> = keys.iter().map(|key| format!("{key:?}")).collect();
        problems.push(format!(
            "spec.tags: keys {} differ only in case; IAM tag keys are case-insensitive, so they are one tag",
            quoted.join(" and ")
        ));
    }
    problems
}

/// The distinct characters `allowed` refuses, quoted, with their code point when they are not
/// plain ASCII (so a look-alike letter is recognisable in the message).
fn invalid_chars(text: &str, allowed: impl Fn(char) -> bool) -> String {
    let mut seen: Vec<char> = Vec::new();
    for c in text.chars().filter(|c| !allowed(*c)) {
        if !seen.contains(&c) {
            seen.push(c);
        }
    }
    seen.iter()
        .map(|c| {
            if c.is_ascii_graphic() || *c == ' ' {
                format!("{c:?}")
            } else {
                format!("{c:?} (U+{:04X})", u32::from(*c))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A value quoted for a message, shortened so a 1000-character mistake does not flood it.
fn shown(text: &str) -> String {
    const LIMIT: usize = 80;
    if text.chars().count() <= LIMIT {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(LIMIT - 1).collect();
        format!("{head:?}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    const READ: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;

    fn role() -> DesiredRole {
        DesiredRole {
            name: "app-role".into(),
            path: "/".into(),
            description: String::new(),
            max_session_duration: 3600,
            assume_role_policy: TRUST.into(),
            inline_policies: BTreeMap::from([("read".to_string(), READ.to_string())]),
            managed_policy_arns: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
            permissions_boundary: None,
            tags: BTreeMap::from([("team".to_string(), "payments".to_string())]),
            ignored_tag_keys: Vec::new(),
        }
    }

    /// Runs each case's edit on a valid role and checks the problems: one fragment per
    /// expected problem, in order; no fragments means the role must be valid.
    type Edit<'a> = Box<dyn Fn(&mut DesiredRole) + 'a>;

    fn check(cases: Vec<(&str, Edit<'_>, &[&str])>) {
        for (label, edit, fragments) in cases {
            let mut desired = role();
            edit(&mut desired);
            let problems = validate_desired(&desired);
            assert_eq!(problems.len(), fragments.len(), "{label}: {problems:#?}");
            for (problem, fragment) in problems.iter().zip(fragments.iter()) {
                assert!(
                    problem.contains(fragment),
                    "{label}: {problem:?} lacks {fragment:?}"
                );
            }
        }
    }

    macro_rules! case {
        ($label:expr, |$r:ident| $edit:expr, $fragments:expr) => {
            (
                $label,
                Box::new(|$r: &mut DesiredRole| {
                    $edit;
                }) as Edit<'_>,
                &$fragments[..],
            )
        };
    }

    #[test]
    fn the_base_role_is_valid_and_has_no_warnings() {
        assert_eq!(validate_desired(&role()), Vec::<String>::new());
        assert_eq!(
            warnings(&role(), Some("123456789012")),
            Vec::<String>::new()
        );
    }

    #[test]
    fn role_name() {
        let seventy = format!(
            "spec.roleName: \"{}\" is 70 characters long; IAM allows 1 to 64",
            "b".repeat(70)
        );
        check(vec![
            case!(
                "all allowed characters",
                |r| r.name = "Az09+=,.@_-".into(),
                []
            ),
            case!("64 characters", |r| r.name = "a".repeat(64), []),
            case!("one character", |r| r.name = "a".into(), []),
            case!(
                "empty",
                |r| r.name = String::new(),
                ["spec.roleName: is empty; IAM allows 1 to 64"]
            ),
            case!(
                "65 characters",
                |r| r.name = "a".repeat(65),
                ["is 65 characters long; IAM allows 1 to 64"]
            ),
            case!(
                "70 characters",
                |r| r.name = "b".repeat(70),
                [seventy.as_str()]
            ),
            case!(
                "space and slash",
                |r| r.name = "app role/x".into(),
                [
                    "spec.roleName: \"app role/x\" contains ' ', '/'; IAM allows only A-Z a-z 0-9 and + = , . @ _ -"
                ]
            ),
            case!(
                "Cyrillic look-alike",
                |r| r.name = "аpp".into(),
                ["contains 'а' (U+0430)"]
            ),
            case!(
                "accented letter",
                |r| r.name = "café".into(),
                ["contains 'é' (U+00E9)"]
            ),
            case!("Unicode digit", |r| r.name = "app١".into(), ["(U+0661)"]),
        ]);
    }

    #[test]
    fn path() {
        check(vec![
            case!("root", |r| r.path = "/".into(), []),
            case!("nested", |r| r.path = "/team/app-1/".into(), []),
            case!("printable ASCII", |r| r.path = "/!~a/".into(), []),
            case!(
                "512 characters",
                |r| r.path = format!("/{}/", "a".repeat(510)),
                []
            ),
            case!(
                "513 characters",
                |r| r.path = format!("/{}/", "a".repeat(511)),
                ["is 513 characters long; IAM allows 1 to 512"]
            ),
            case!("empty", |r| r.path = String::new(), ["spec.path: is empty"]),
            case!(
                "no leading slash",
                |r| r.path = "team/".into(),
                ["spec.path: \"team/\" must be \"/\" or start and end with \"/\""]
            ),
            case!(
                "no trailing slash",
                |r| r.path = "/team".into(),
                ["must be \"/\" or start and end"]
            ),
            case!(
                "empty segment only",
                |r| r.path = "//".into(),
                ["must be \"/\" or start and end"]
            ),
            case!(
                "space",
                |r| r.path = "/my team/".into(),
                ["contains ' '; IAM allows only printable ASCII"]
            ),
            case!(
                "non-ASCII",
                |r| r.path = "/équipe/".into(),
                ["contains 'é' (U+00E9)"]
            ),
        ]);
    }

    #[test]
    fn description() {
        check(vec![
            case!("empty", |r| r.description = String::new(), []),
            case!(
                "ASCII and control whitespace",
                |r| r.description = "Runs the app.\n\tOwner: payments\r\n".into(),
                []
            ),
            case!("Latin-1", |r| r.description = "Café ¡olé! ÿ".into(), []),
            case!("1000 characters", |r| r.description = "é".repeat(1000), []),
            case!(
                "1001 characters",
                |r| r.description = "a".repeat(1001),
                ["spec.description: is 1001 characters long; IAM allows at most 1000"]
            ),
            case!(
                "emoji",
                |r| r.description = "app 🚀".into(),
                ["spec.description: contains '🚀' (U+1F680)"]
            ),
            case!(
                "beyond Latin-1",
                |r| r.description = "Zürich – east".into(),
                ["contains '–' (U+2013)"]
            ),
            case!(
                "non-breaking space and soft hyphen",
                |r| r.description = "a\u{a0}b".into(),
                ["(U+00A0)"]
            ),
            case!(
                "other control character",
                |r| r.description = "a\u{7}".into(),
                ["(U+0007)"]
            ),
        ]);
    }

    #[test]
    fn max_session_duration() {
        check(vec![
            case!("minimum", |r| r.max_session_duration = 3600, []),
            case!("maximum", |r| r.max_session_duration = 43200, []),
            case!(
                "below",
                |r| r.max_session_duration = 3599,
                [
                    "spec.maxSessionDuration: 3599 seconds is outside IAM's range of 3600 (1 hour) to 43200 (12 hours)"
                ]
            ),
            case!(
                "above",
                |r| r.max_session_duration = 43201,
                ["43201 seconds is outside"]
            ),
            case!("negative", |r| r.max_session_duration = -1, ["-1 seconds"]),
        ]);
    }

    #[test]
    fn trust_policy() {
        let padded = |size: usize| {
            // A condition value long enough to bring the document to `size` non-whitespace characters.
            let base = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":""}}}]}"#;
            let filler = "x".repeat(size - base.len());
            base.replace(
                r#""sts:ExternalId":"""#,
                &format!(r#""sts:ExternalId":"{filler}""#),
            )
        };
        assert_eq!(policy::non_whitespace_len(&padded(2048)), 2048);
        check(vec![
            case!(
                "2048 characters",
                |r| r.assume_role_policy = padded(2048),
                []
            ),
            case!(
                "2049 characters",
                |r| r.assume_role_policy = padded(2049),
                [
                    "spec.assumeRolePolicy: is 2049 characters long without whitespace; IAM allows 2048 by default (the quota can be raised to 4096, but rolesmith enforces the default)"
                ]
            ),
            case!(
                "whitespace is free",
                |r| r.assume_role_policy = padded(2048).replace(',', ",\n        "),
                []
            ),
            case!(
                "empty",
                |r| r.assume_role_policy = String::new(),
                ["spec.assumeRolePolicy: is empty"]
            ),
            case!(
                "not JSON",
                |r| r.assume_role_policy = "{".into(),
                ["spec.assumeRolePolicy: is not valid JSON"]
            ),
            case!(
                "structural problem",
                |r| r.assume_role_policy = TRUST.replace("\"Effect\":\"Allow\",", ""),
                ["spec.assumeRolePolicy: Statement[0]: Effect is missing"]
            ),
            case!(
                "permissions action in a trust policy",
                |r| r.assume_role_policy = TRUST.replace("sts:AssumeRole", "s3:GetObject"),
                [
                    "spec.assumeRolePolicy: Statement[0]: Action \"s3:GetObject\" cannot be in a trust policy"
                ]
            ),
            case!(
                "wildcard principal",
                |r| r.assume_role_policy =
                    TRUST.replace(r#"{"Service":"lambda.amazonaws.com"}"#, r#""*""#),
                [
                    "spec.assumeRolePolicy: a statement allows Principal \"*\" (any AWS account) without a Condition"
                ]
            ),
            case!(
                "wildcard AWS principal",
                |r| r.assume_role_policy =
                    TRUST.replace(r#""Service":"lambda.amazonaws.com""#, r#""AWS":"*""#),
                ["without a Condition"]
            ),
            case!(
                "wildcard principal with a condition that narrows nothing",
                |r| {
                    r.assume_role_policy = TRUST.replace(
                    r#"{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole""#,
                    r#""*","Action":"sts:AssumeRole","Condition":{"Bool":{"aws:SecureTransport":"true"}}"#
                )
                },
                [
                    "spec.assumeRolePolicy: a statement allows Principal \"*\" (any AWS account) without a Condition that narrows who may assume the role"
                ]
            ),
            case!(
                "wildcard principal with a wildcard organisation",
                |r| {
                    r.assume_role_policy = TRUST.replace(
                    r#"{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole""#,
                    r#""*","Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:PrincipalOrgID":"*"}}"#
                )
                },
                ["without a Condition that narrows"]
            ),
            case!(
                "wildcard principal with an organisation condition",
                |r| {
                    r.assume_role_policy = TRUST.replace(
                    r#"{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole""#,
                    r#""*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc"}}"#
                )
                },
                []
            ),
        ]);
    }

    #[test]
    fn inline_policies() {
        let sized = |size: usize| {
            let base = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::"}]}"#;
            base.replace(":::", &format!(":::{}", "b".repeat(size - base.len())))
        };
        check(vec![
            case!("none", |r| r.inline_policies.clear(), []),
            case!(
                "name characters",
                |r| r.inline_policies = BTreeMap::from([("Az09+=,.@_-".into(), READ.into())]),
                []
            ),
            case!(
                "128-character name",
                |r| r.inline_policies = BTreeMap::from([("p".repeat(128), READ.into())]),
                []
            ),
            case!(
                "129-character name",
                |r| r.inline_policies = BTreeMap::from([("p".repeat(129), READ.into())]),
                ["is 129 characters long; IAM allows 1 to 128"]
            ),
            case!(
                "empty name",
                |r| r.inline_policies = BTreeMap::from([(String::new(), READ.into())]),
                ["spec.inlinePolicies: policy name is empty"]
            ),
            case!(
                "name with a colon",
                |r| r.inline_policies = BTreeMap::from([("s3:read".into(), READ.into())]),
                ["spec.inlinePolicies: policy name \"s3:read\" contains ':'"]
            ),
            case!(
                "principal in a permissions policy",
                |r| r.inline_policies = BTreeMap::from([(
                    "p".into(),
                    READ.replace(r#""Action""#, r#""Principal":"*","Action""#)
                )]),
                [
                    "spec.inlinePolicies.p: Statement[0]: Policy document should not specify a principal"
                ]
            ),
            case!(
                "missing resource",
                |r| r.inline_policies = BTreeMap::from([(
                    "p".into(),
                    READ.replace(r#","Resource":"arn:aws:s3:::b/*""#, "")
                )]),
                ["spec.inlinePolicies.p: Statement[0] has neither Resource nor NotResource"]
            ),
            case!(
                "names differing only in case",
                |r| r.inline_policies = BTreeMap::from([
                    ("Read".into(), READ.into()),
                    ("read".into(), READ.into()),
                    ("write".into(), READ.into()),
                    ("READ".into(), READ.into())
                ]),
                [
                    "spec.inlinePolicies: policy names \"READ\", \"Read\" and \"read\" differ only in case; IAM does not tell policy names apart by case"
                ]
            ),
            case!(
                "names differing in more than case",
                |r| r.inline_policies = BTreeMap::from([
                    ("read".into(), READ.into()),
                    ("read-1".into(), READ.into()),
                    ("reads".into(), READ.into())
                ]),
                []
            ),
            case!(
                "10240 characters together",
                |r| r.inline_policies =
                    BTreeMap::from([("a".into(), sized(5120)), ("b".into(), sized(5120))]),
                []
            ),
            case!(
                "10241 characters together",
                |r| r.inline_policies =
                    BTreeMap::from([("a".into(), sized(5120)), ("b".into(), sized(5121))]),
                [
                    "spec.inlinePolicies: the documents together are 10241 characters long without whitespace; IAM allows 10240 per role"
                ]
            ),
        ]);
    }

    #[test]
    fn managed_policies_and_boundary() {
        let arns = |count: usize| -> Vec<String> {
            (0..count)
                .map(|i| format!("arn:aws:iam::123456789012:policy/p{i}"))
                .collect()
        };
        check(vec![
            case!("20 policies", |r| r.managed_policy_arns = arns(20), []),
            case!(
                "21 policies",
                |r| r.managed_policy_arns = arns(21),
                ["spec.managedPolicyArns: lists 21 policies; IAM allows at most 20 per role"]
            ),
            case!(
                "AWS-managed with a path",
                |r| r.managed_policy_arns =
                    vec!["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole".into()],
                []
            ),
            case!(
                "customer-managed with a nested path",
                |r| r.managed_policy_arns =
                    vec!["arn:aws:iam::123456789012:policy/a/b/Name+=,.@_-".into()],
                []
            ),
            case!(
                "China partition",
                |r| r.managed_policy_arns =
                    vec!["arn:aws-cn:iam::aws:policy/ReadOnlyAccess".into()],
                []
            ),
            case!(
                "GovCloud partition",
                |r| r.managed_policy_arns =
                    vec!["arn:aws-us-gov:iam::123456789012:policy/x".into()],
                []
            ),
            case!(
                "duplicate",
                |r| r.managed_policy_arns = vec![
                    "arn:aws:iam::aws:policy/A".into(),
                    "arn:aws:iam::aws:policy/B".into(),
                    "arn:aws:iam::aws:policy/A".into()
                ],
                [
                    "spec.managedPolicyArns[2]: \"arn:aws:iam::aws:policy/A\" is already listed at [0]"
                ]
            ),
            case!(
                "ARNs differing in case are two policies",
                |r| r.managed_policy_arns = vec![
                    "arn:aws:iam::aws:policy/A".into(),
                    "arn:aws:iam::aws:policy/a".into()
                ],
                []
            ),
            case!(
                "not an ARN",
                |r| r.managed_policy_arns = vec!["ReadOnlyAccess".into()],
                [
                    "spec.managedPolicyArns[0]: \"ReadOnlyAccess\" is not a policy ARN; expected arn:aws:iam::"
                ]
            ),
            case!(
                "unknown partition",
                |r| r.managed_policy_arns = vec!["arn:aws-iso:iam::aws:policy/A".into()],
                ["has partition \"aws-iso\""]
            ),
            case!(
                "other service",
                |r| r.managed_policy_arns = vec!["arn:aws:s3:::bucket/policy/x".into()],
                ["is not an IAM ARN (service \"s3\")"]
            ),
            case!(
                "region",
                |r| r.managed_policy_arns = vec!["arn:aws:iam:us-east-1:aws:policy/A".into()],
                ["has a region (\"us-east-1\")"]
            ),
            case!(
                "short account",
                |r| r.managed_policy_arns = vec!["arn:aws:iam::12345:policy/A".into()],
                ["has account \"12345\""]
            ),
            case!(
                "role instead of policy",
                |r| r.managed_policy_arns = vec!["arn:aws:iam::123456789012:role/A".into()],
                ["is not a policy ARN (resource \"role/A\")"]
            ),
            case!(
                "empty name",
                |r| r.managed_policy_arns = vec!["arn:aws:iam::aws:policy/team/".into()],
                ["has policy name \"\""]
            ),
            case!(
                "space in name",
                |r| r.managed_policy_arns = vec!["arn:aws:iam::aws:policy/Read Only".into()],
                ["has policy name \"Read Only\""]
            ),
            case!(
                "boundary",
                |r| r.permissions_boundary =
                    Some("arn:aws:iam::123456789012:policy/boundary".into()),
                []
            ),
            case!(
                "bad boundary",
                |r| r.permissions_boundary = Some("arn:aws:iam::123456789012:boundary".into()),
                [
                    "spec.permissionsBoundary: \"arn:aws:iam::123456789012:boundary\" is not a policy ARN"
                ]
            ),
            case!(
                "boundary in another partition",
                |r| r.permissions_boundary = Some("arn:aws-cn:iam::aws:policy/B".into()),
                [
                    "spec.managedPolicyArns/spec.permissionsBoundary: the ARNs are in several partitions (aws: spec.managedPolicyArns[0]; aws-cn: spec.permissionsBoundary)"
                ]
            ),
            case!(
                "managed policies in two partitions",
                |r| r
                    .managed_policy_arns
                    .push("arn:aws-us-gov:iam::aws:policy/B".into()),
                ["(aws: spec.managedPolicyArns[0]; aws-us-gov: spec.managedPolicyArns[1])"]
            ),
        ]);
    }

    #[test]
    fn tags() {
        let many = |count: usize| -> BTreeMap<String, String> {
            (0..count)
                .map(|i| (format!("k{i}"), "v".to_string()))
                .collect()
        };
        check(vec![
            case!("none", |r| r.tags.clear(), []),
            case!("49 tags", |r| r.tags = many(49), []),
            case!(
                "50 tags",
                |r| r.tags = many(50),
                [
                    "spec.tags: has 50 tags; IAM allows 50 per role and rolesmith adds its ownership tag rolesmith.dev/owner, so at most 49"
                ]
            ),
            case!(
                "allowed characters",
                |r| r.tags = BTreeMap::from([(
                    "Kostenstelle/Größe_1.a:b=c+d-e@f".into(),
                    "東京 ١٢ x".into()
                )]),
                []
            ),
            case!(
                "empty value",
                |r| r.tags = BTreeMap::from([("k".into(), String::new())]),
                []
            ),
            case!(
                "128-character key, 256-character value",
                |r| r.tags = BTreeMap::from([("k".repeat(128), "v".repeat(256))]),
                []
            ),
            case!(
                "129-character key",
                |r| r.tags = BTreeMap::from([("k".repeat(129), "v".into())]),
                ["is 129 characters long; IAM allows 1 to 128"]
            ),
            case!(
                "257-character value",
                |r| r.tags = BTreeMap::from([("k".into(), "v".repeat(257))]),
                ["spec.tags.k: the value is 257 characters long; IAM allows at most 256"]
            ),
            case!(
                "empty key",
                |r| r.tags = BTreeMap::from([(String::new(), "v".into())]),
                ["spec.tags: a key is empty"]
            ),
            case!(
                "bad key character",
                |r| r.tags = BTreeMap::from([("cost!".into(), "v".into())]),
                [
                    "spec.tags.cost!: the key contains '!'; IAM allows only letters, digits, spaces and _ . : / = + - @"
                ]
            ),
            case!(
                "bad value character",
                |r| r.tags = BTreeMap::from([("k".into(), "a,b;c".into())]),
                ["spec.tags.k: the value contains ',', ';'"]
            ),
            case!(
                "emoji value",
                |r| r.tags = BTreeMap::from([("k".into(), "🚀".into())]),
                ["the value contains '🚀' (U+1F680)"]
            ),
            case!(
                "aws: prefix",
                |r| r.tags = BTreeMap::from([("aws:cloudformation:stack-name".into(), "v".into())]),
                [
                    "spec.tags.aws:cloudformation:stack-name: keys starting with \"aws:\" are reserved"
                ]
            ),
            case!(
                "AWS: prefix",
                |r| r.tags = BTreeMap::from([("AWS:x".into(), "v".into())]),
                ["keys starting with \"aws:\" are reserved"]
            ),
            case!(
                "aws without colon is fine",
                |r| r.tags = BTreeMap::from([("aws-team".into(), "v".into())]),
                []
            ),
            case!(
                "ownership tag",
                |r| r.tags = BTreeMap::from([(OWNER_TAG_KEY.into(), "c/n/x".into())]),
                ["spec.tags.rolesmith.dev/owner: this tag is set by rolesmith itself"]
            ),
            case!(
                "ownership tag in another case",
                |r| r.tags = BTreeMap::from([("Rolesmith.dev/Owner".into(), "c/n/x".into())]),
                ["this tag is set by rolesmith itself"]
            ),
            case!(
                "keys equal ignoring case",
                |r| r.tags =
                    BTreeMap::from([("Team".into(), "a".into()), ("team".into(), "b".into())]),
                ["spec.tags: keys \"Team\" and \"team\" differ only in case"]
            ),
        ]);
    }

    #[test]
    fn all_problems_are_reported_together() {
        let mut desired = role();
        desired.name = String::new();
        desired.max_session_duration = 1;
        desired.tags.insert("aws:x".into(), "v".into());
        let problems = validate_desired(&desired);
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems[0].starts_with("spec.roleName"));
        assert!(problems[1].starts_with("spec.maxSessionDuration"));
        assert!(problems[2].starts_with("spec.tags.aws:x"));
    }

    #[test]
    fn warnings_for_risky_choices() {
        let own = Some("123456789012");
        let trust =
            |statement: &str| format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#);
        let cross = trust(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":"sts:AssumeRole"}"#,
        );
        let same_account = trust(
            r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/ci"},"Action":"sts:AssumeRole"}"#,
        );
        let external_id = trust(
            r#"{"Effect":"Allow","Principal":{"AWS":"444455556666"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"abc"}}}"#,
        );
        let eks = "oidc.eks.us-east-1.amazonaws.com/id/ABC";
        let oidc = |condition: &str| {
            trust(&format!(
                r#"{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::123456789012:oidc-provider/{eks}"}},"Action":"sts:AssumeRoleWithWebIdentity"{condition}}}"#
            ))
        };
        let saml = |condition: &str| {
            trust(&format!(
                r#"{{"Effect":"Allow","Principal":{{"Federated":"arn:aws:iam::123456789012:saml-provider/Okta"}},"Action":"sts:AssumeRoleWithSAML"{condition}}}"#
            ))
        };
        let admin = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        let cases: Vec<(&str, Edit<'_>, Option<&str>, &[&str])> = vec![
            (
                "admin inline policy",
                Box::new(|r| {
                    r.inline_policies.insert("all".into(), admin.into());
                }),
                own,
                &["spec.inlinePolicies.all: allows every action on every resource"],
            ),
            (
                "admin with *:*",
                Box::new(|r| {
                    r.inline_policies
                        .insert("all".into(), admin.replacen("\"*\"", "\"*:*\"", 1));
                }),
                own,
                &["spec.inlinePolicies.all: allows every action"],
            ),
            (
                "broad but not admin",
                Box::new(|r| {
                    r.inline_policies
                        .insert("s3".into(), admin.replacen("\"*\"", "\"s3:*\"", 1));
                }),
                own,
                &[],
            ),
            (
                "AdministratorAccess",
                Box::new(|r| {
                    r.managed_policy_arns =
                        vec!["arn:aws:iam::aws:policy/AdministratorAccess".into()]
                }),
                own,
                &[
                    "spec.managedPolicyArns: arn:aws:iam::aws:policy/AdministratorAccess makes the role an administrator",
                ],
            ),
            (
                "another account without external id",
                Box::new(move |r| r.assume_role_policy = cross.clone()),
                own,
                &[
                    "spec.assumeRolePolicy: another AWS account, 444455556666, may assume the role without an sts:ExternalId condition",
                ],
            ),
            (
                "own account",
                Box::new(move |r| r.assume_role_policy = same_account.clone()),
                own,
                &[],
            ),
            (
                "unknown own account",
                Box::new({
                    let t = trust(
                        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/ci"},"Action":"sts:AssumeRole"}"#,
                    );
                    move |r| r.assume_role_policy = t.clone()
                }),
                None,
                &[
                    "an AWS account (the operator's own account is unknown), 123456789012, may assume",
                ],
            ),
            (
                "with external id",
                Box::new(move |r| r.assume_role_policy = external_id.clone()),
                own,
                &[],
            ),
            (
                "web identity without sub or aud",
                Box::new({
                    let t = oidc("");
                    move |r| r.assume_role_policy = t.clone()
                }),
                own,
                &[
                    "spec.assumeRolePolicy: web identity provider \"oidc.eks.us-east-1.amazonaws.com/id/ABC\" is trusted without a condition on \"oidc.eks.us-east-1.amazonaws.com/id/ABC:sub\"",
                ],
            ),
            (
                "web identity with sub",
                Box::new({
                    let t = oidc(&format!(
                        r#","Condition":{{"StringEquals":{{"{eks}:sub":"system:serviceaccount:a:b"}}}}"#
                    ));
                    move |r| r.assume_role_policy = t.clone()
                }),
                own,
                &[],
            ),
            (
                "web identity through sts:*",
                Box::new({
                    let t = oidc("").replace("sts:AssumeRoleWithWebIdentity", "sts:*");
                    move |r| r.assume_role_policy = t.clone()
                }),
                own,
                &[
                    "spec.assumeRolePolicy: web identity provider \"oidc.eks.us-east-1.amazonaws.com/id/ABC\"",
                ],
            ),
            (
                "web identity through sts:AssumeRoleWith*",
                Box::new({
                    let t =
                        oidc("").replace("sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWith*");
                    move |r| r.assume_role_policy = t.clone()
                }),
                own,
                &[
                    "spec.assumeRolePolicy: web identity provider \"oidc.eks.us-east-1.amazonaws.com/id/ABC\"",
                ],
            ),
            (
                "SAML without audience",
                Box::new({
                    let t = saml("");
                    move |r| r.assume_role_policy = t.clone()
                }),
                own,
                &[
                    "spec.assumeRolePolicy: SAML provider \"arn:aws:iam::123456789012:saml-provider/Okta\" is trusted without a SAML:aud condition",
                ],
            ),
            (
                "SAML with audience",
                Box::new({
                    let t = saml(
                        r#","Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}"#,
                    );
                    move |r| r.assume_role_policy = t.clone()
                }),
                own,
                &[],
            ),
        ];
        for (label, edit, own, fragments) in cases {
            let mut desired = role();
            edit(&mut desired);
            let found = warnings(&desired, own);
            assert_eq!(found.len(), fragments.len(), "{label}: {found:#?}");
            for (warning, fragment) in found.iter().zip(fragments.iter()) {
                assert!(
                    warning.contains(fragment),
                    "{label}: {warning:?} lacks {fragment:?}"
                );
            }
            // Warnings never block.
            assert_eq!(validate_desired(&desired), Vec::<String>::new(), "{label}");
        }
    }

    #[test]
    fn tag_pattern_compiles() {
        assert!(TAG_CHARS.is_ok());
    }
}
