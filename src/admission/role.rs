//! IAM's input rules for a role's own fields and its documents, checked before any call: moto
//! enforces almost none of them and real IAM answers with terse errors after a round trip, so
//! every rule IAM documents and rolesmith can check offline is checked, with a message that
//! says what is wrong and what is allowed.

use std::collections::BTreeMap;

use super::limits::{
    DESCRIPTION_MAX, INLINE_TOTAL_MAX, NAME_CHARS_TEXT, PATH_MAX, POLICY_NAME_MAX, ROLE_NAME_MAX,
    SESSION_MAX, SESSION_MIN, TRUST_POLICY_MAX, TRUST_POLICY_RAISED_MAX, is_name_char,
    is_path_char,
};
use super::problem::{Problem, Rule};
use super::text::{invalid_chars, shown};
use crate::policy::{self, DocumentKind};

pub(super) fn role_name_problems(name: &str) -> Vec<Problem> {
    let rules = [
        Rule::RoleNameEmpty,
        Rule::RoleNameTooLong,
        Rule::RoleNameCharacters,
    ];
    name_problems("spec.roleName", "", name, ROLE_NAME_MAX, rules)
}

/// Role and policy names share IAM's `[\w+=,.@-]` with an ASCII `\w`: a Cyrillic `а` that looks
/// like a Latin `a` is refused by IAM, so it is refused here. `rules`: empty, too long, bad
/// characters.
pub(super) fn name_problems(
    field: &str,
    what: &str,
    name: &str,
    max: usize,
    rules: [Rule; 3],
) -> Vec<Problem> {
    let [empty, too_long, characters] = rules;
    let length = name.chars().count();
    let mut problems = Vec::new();
    if length == 0 {
        problems.push(Problem::new(
            field,
            empty,
            format!("{what}is empty; IAM allows 1 to {max} characters of {NAME_CHARS_TEXT}"),
        ));
    } else if length > max {
        problems.push(Problem::new(
            field,
            too_long,
            format!(
                "{what}{} is {length} characters long; IAM allows 1 to {max}",
                shown(name)
            ),
        ));
    }
    let bad = invalid_chars(name, is_name_char);
    if !bad.is_empty() {
        problems.push(Problem::new(
            field,
            characters,
            format!(
                "{what}{} contains {bad}; IAM allows only {NAME_CHARS_TEXT}",
                shown(name)
            ),
        ));
    }
    problems
}

pub(super) fn path_problems(path: &str) -> Vec<Problem> {
    let field = "spec.path";
    let length = path.chars().count();
    if length == 0 {
        return vec![Problem::new(
            field,
            Rule::PathEmpty,
            "is empty; use \"/\" or \"/segment/…/\"",
        )];
    }
    let mut problems = Vec::new();
    if length > PATH_MAX {
        problems.push(Problem::new(
            field,
            Rule::PathTooLong,
            format!(
                "{} is {length} characters long; IAM allows 1 to {PATH_MAX}",
                shown(path)
            ),
        ));
    }
    // IAM's pattern is `/` or `/` + at least one character + `/`, so "//" is refused.
    if !path.starts_with('/') || !path.ends_with('/') || path == "//" {
        problems.push(Problem::new(
            field,
            Rule::PathForm,
            format!(
                "{} must be \"/\" or start and end with \"/\" around a name, e.g. \"/team/app/\"",
                shown(path)
            ),
        ));
    }
    let bad = invalid_chars(path, is_path_char);
    if !bad.is_empty() {
        problems.push(Problem::new(
            field,
            Rule::PathCharacters,
            format!(
                "{} contains {bad}; IAM allows only printable ASCII without spaces (! to ~)",
                shown(path)
            ),
        ));
    }
    problems
}

pub(super) fn description_problems(description: &str) -> Vec<Problem> {
    let field = "spec.description";
    let length = description.chars().count();
    let mut problems = Vec::new();
    if length > DESCRIPTION_MAX {
        problems.push(Problem::new(
            field,
            Rule::DescriptionTooLong,
            format!("is {length} characters long; IAM allows at most {DESCRIPTION_MAX}"),
        ));
    }
    let bad = invalid_chars(
        description,
        |c| matches!(c, '\t' | '\n' | '\r' | '\x20'..='\x7e' | '\u{a1}'..='\u{ff}'),
    );
    if !bad.is_empty() {
        problems.push(Problem::new(
            field,
            Rule::DescriptionCharacters,
            format!(
                "contains {bad}; IAM allows only tab, line breaks, printable ASCII and the Latin-1 characters ¡ to ÿ"
            ),
        ));
    }
    problems
}

pub(super) fn session_duration_problems(seconds: i32) -> Vec<Problem> {
    if (SESSION_MIN..=SESSION_MAX).contains(&seconds) {
        return Vec::new();
    }
    vec![Problem::new(
        "spec.maxSessionDuration",
        Rule::SessionDurationRange,
        format!(
            "{seconds} seconds is outside IAM's range of {SESSION_MIN} (1 hour) to {SESSION_MAX} (12 hours)"
        ),
    )]
}

pub(super) fn trust_policy_problems(document: &str) -> Vec<Problem> {
    let field = "spec.assumeRolePolicy";
    let mut problems: Vec<Problem> = policy::check_document(document, DocumentKind::Trust)
        .into_iter()
        .map(|problem| Problem::new(field, Rule::PolicyGrammar, problem))
        .collect();
    let size = policy::non_whitespace_len(document);
    if size > TRUST_POLICY_MAX {
        problems.push(Problem::new(
            field,
            Rule::TrustPolicyTooLarge,
            format!(
                "is {size} characters long without whitespace; IAM allows {TRUST_POLICY_MAX} by default (the quota can be raised to {TRUST_POLICY_RAISED_MAX}, but rolesmith enforces the default)"
            ),
        ));
    }
    if policy::wildcard_principal_without_condition(document) {
        problems.push(Problem::new(
            field,
            Rule::WildcardTrust,
            "a statement allows Principal \"*\" (any AWS account) without a Condition that narrows who may assume the role; name the principals, or require a literal value such as StringEquals aws:PrincipalOrgID \"o-…\" (a value that is only a wildcard, or a negated, IfExists, ForAllValues, Null or Bool condition, narrows nothing)",
        ));
    }
    problems
}

pub(super) fn inline_policy_problems(policies: &BTreeMap<String, String>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut total = 0;
    let name_rules = [
        Rule::PolicyNameEmpty,
        Rule::PolicyNameTooLong,
        Rule::PolicyNameCharacters,
    ];
    for (name, document) in policies {
        problems.extend(name_problems(
            "spec.inlinePolicies",
            "policy name ",
            name,
            POLICY_NAME_MAX,
            name_rules,
        ));
        let field = format!("spec.inlinePolicies.{name}");
        problems.extend(
            policy::check_document(document, DocumentKind::Permissions)
                .into_iter()
                .map(|problem| Problem::new(&field, Rule::PolicyGrammar, problem)),
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
        problems.push(Problem::new(
            "spec.inlinePolicies",
            Rule::PolicyNamesDifferInCase,
            format!(
                "policy names {} and {last} differ only in case; IAM does not tell policy names apart by case, so they would overwrite each other: give them names that differ in more than case",
                rest.join(", ")
            ),
        ));
    }
    if total > INLINE_TOTAL_MAX {
        problems.push(Problem::new(
            "spec.inlinePolicies",
            Rule::InlinePoliciesTooLarge,
            format!(
                "the documents together are {total} characters long without whitespace; IAM allows {INLINE_TOTAL_MAX} per role (move some statements into managed policies)"
            ),
        ));
    }
    problems
}
