//! Tags: IAM's rules for keys and values, rolesmith's own tag, and keys owned by others.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::limits::{SPEC_TAGS_MAX, TAG_CHARS_TEXT, TAG_KEY_MAX, TAG_VALUE_MAX, TAGS_MAX};
use super::problem::{Problem, Rule};
use super::text::{invalid_chars, shown};
use crate::model::{OWNER_TAG_KEY, Owner};
use crate::plan;

/// IAM's tag character set; Unicode classes make a regex the clearest statement of it.
pub(super) static TAG_CHARS: LazyLock<Result<Regex, regex::Error>> =
    LazyLock::new(|| Regex::new(r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$"));

fn tag_chars() -> Result<&'static Regex, Problem> {
    TAG_CHARS.as_ref().map_err(|err| {
        Problem::new(
            "spec.tags",
            Rule::TagKeyCharacters,
            format!("cannot be checked: {err}"),
        )
    })
}

/// The characters of `text` IAM refuses in a tag, quoted (empty when all are fine).
fn bad_tag_chars(pattern: &Regex, text: &str) -> String {
    if pattern.is_match(text) {
        return String::new();
    }
    invalid_chars(text, |c| pattern.is_match(c.encode_utf8(&mut [0; 4])))
}

/// Everything wrong with the tags an object asks for and the ownership tag rolesmith would
/// add: IAM's tag rules, keys owned by others, the owner's value.
pub(super) fn all_tag_problems(
    tags: &BTreeMap<String, String>,
    ignored_keys: &[String],
    owner: &Owner,
) -> Vec<Problem> {
    let mut problems = tag_problems(tags);
    problems.extend(ignored_tag_problems(tags, ignored_keys));
    problems.extend(owner_problems(owner));
    problems
}

pub(super) fn tag_problems(tags: &BTreeMap<String, String>) -> Vec<Problem> {
    let tag_chars = match tag_chars() {
        Ok(pattern) => pattern,
        Err(problem) => return vec![problem],
    };
    let mut problems = Vec::new();
    if tags.len() > SPEC_TAGS_MAX {
        problems.push(Problem::new(
            "spec.tags",
            Rule::TagsTooMany,
            format!(
                "has {} tags; IAM allows {TAGS_MAX} per role and rolesmith adds its ownership tag {OWNER_TAG_KEY}, so at most {SPEC_TAGS_MAX}",
                tags.len(),
            ),
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
            problems.push(Problem::new(
                "spec.tags",
                Rule::TagKeyEmpty,
                format!("a key is empty; IAM allows keys of 1 to {TAG_KEY_MAX} characters"),
            ));
        } else if key_length > TAG_KEY_MAX {
            problems.push(Problem::new(
                "spec.tags",
                Rule::TagKeyTooLong,
                format!(
                    "key {} is {key_length} characters long; IAM allows 1 to {TAG_KEY_MAX}",
                    shown(key)
                ),
            ));
        }
        let bad = bad_tag_chars(tag_chars, key);
        if !bad.is_empty() {
            problems.push(Problem::new(
                &field,
                Rule::TagKeyCharacters,
                format!("the key contains {bad}; IAM allows only {TAG_CHARS_TEXT}"),
            ));
        }
        if key.to_lowercase().starts_with("aws:") {
            problems.push(Problem::new(
                &field,
                Rule::TagKeyReserved,
                "keys starting with \"aws:\" are reserved for AWS",
            ));
        }
        if key.to_lowercase() == OWNER_TAG_KEY.to_lowercase() {
            problems.push(Problem::new(
                &field,
                Rule::OwnerTagInSpec,
                "this tag is set by rolesmith itself to mark the roles it manages; remove it from spec.tags",
            ));
        }
        let value_length = value.chars().count();
        if value_length > TAG_VALUE_MAX {
            problems.push(Problem::new(
                &field,
                Rule::TagValueTooLong,
                format!(
                    "the value is {value_length} characters long; IAM allows at most {TAG_VALUE_MAX}"
                ),
            ));
        }
        let bad = bad_tag_chars(tag_chars, value);
        if !bad.is_empty() {
            problems.push(Problem::new(
                &field,
                Rule::TagValueCharacters,
                format!("the value contains {bad}; IAM allows only {TAG_CHARS_TEXT}"),
            ));
        }
    }
    for keys in by_folded_key.values().filter(|keys| keys.len() > 1) {
        let quoted: Vec<String> = keys.iter().map(|key| format!("{key:?}")).collect();
        problems.push(Problem::new(
            "spec.tags",
            Rule::TagKeysDifferInCase,
            format!(
                "keys {} differ only in case; IAM tag keys are case-insensitive, so they are one tag",
                quoted.join(" and ")
            ),
        ));
    }
    problems
}

/// A tag in the spec whose key belongs to others would be set by rolesmith and then never
/// maintained: a contradiction the user must resolve.
pub(super) fn ignored_tag_problems(
    tags: &BTreeMap<String, String>,
    ignored: &[String],
) -> Vec<Problem> {
    tags.keys()
        .filter(|key| plan::is_ignored(key, ignored))
        .map(|key| {
            Problem::new(
                format!("spec.tags.{key}"),
                Rule::IgnoredTagInSpec,
                "the key is owned by others (spec.ignoreTagKeys or the operator's --ignore-tag-keys), so rolesmith never sets it; remove it from spec.tags or from the ignored keys",
            )
        })
        .collect()
}

/// The ownership tag's value must be a valid IAM tag value, or CreateRole fails in real IAM
/// (moto would take it): a `--cluster-id` with `#`, or an object name with a comma from a
/// file given to the CLI.
pub(super) fn owner_problems(owner: &Owner) -> Vec<Problem> {
    let value = owner.tag_value();
    let mut problems = Vec::new();
    let bad = match tag_chars() {
        Ok(pattern) => bad_tag_chars(pattern, &value),
        Err(problem) => return vec![problem],
    };
    if !bad.is_empty() {
        problems.push(Problem::new(
            "",
            Rule::OwnerTagInvalid,
            format!(
                "the ownership tag value {value:?} (cluster id/namespace/name) contains {bad}, which IAM does not allow in tag values"
            ),
        ));
    }
    if value.chars().count() > TAG_VALUE_MAX {
        problems.push(Problem::new(
            "",
            Rule::OwnerTagInvalid,
            format!(
                "the ownership tag value {value:?} is longer than IAM's {TAG_VALUE_MAX} characters"
            ),
        ));
    }
    problems
}
