//! Mistakes IAM controllers are known to make, each replayed against rolesmith's plan.
//!
//! The tests marked "semantic" rely on `crate::policy::equivalent` comparing documents by
//! meaning; they fail while it compares text.

use super::checks::assert_plan;
use super::fixtures::*;
use super::iam_model::Iam;
use crate::model::{OWNER_TAG_KEY, ObservedRole};
use crate::plan::{PlanError, plan_apply};
use crate::policy::decode_iam_text;

const TRUST_TWO: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/ci"},"Action":["sts:AssumeRole","sts:TagSession"]}]}"#;

/// How IAM hands the trust policy of `TRUST_TWO` back: statements reordered, keys reordered,
/// pretty-printed.
const TRUST_TWO_AS_IAM_RETURNS_IT: &str = r#"{
  "Statement": [
    {
      "Action": ["sts:TagSession", "sts:AssumeRole"],
      "Principal": {"AWS": "arn:aws:iam::123456789012:role/ci"},
      "Effect": "Allow"
    },
    {
      "Effect": "Allow",
      "Action": "sts:AssumeRole",
      "Principal": {"Service": "ec2.amazonaws.com"}
    }
  ],
  "Version": "2012-10-17"
}"#;

/// `S3` reformatted: one-element arrays for single strings, Effect in lower case, keys and
/// statements in another order.
const S3_REFORMATTED: &str = r#"{"Statement":[
  {"Resource":["arn:aws:s3:::bucket"],"Action":["s3:ListBucket"],"Effect":"allow","Sid":"List"},
  {"Sid":"Read","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::bucket/*"],"Effect":"Allow"}
],"Version":"2012-10-17"}"#;

/// RFC 3986 percent-encoding as IAM applies it to documents; moto leaves `/` alone.
fn percent_encode(text: &str, keep_slash: bool) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b'/' if keep_slash => "/".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Semantic: IAM reorders and reformats policies; comparing text would rewrite them every pass.
#[test]
fn reordered_and_reformatted_documents_are_not_drift() {
    let mut d = desired();
    d.assume_role_policy = TRUST_TWO.into();
    let mut o = observed();
    o.assume_role_policy = TRUST_TWO_AS_IAM_RETURNS_IT.into();
    o.inline_policies.insert("s3".into(), S3_REFORMATTED.into());
    assert_plan("reordered + reformatted", &d, Some(o), false, &[]);
}

/// Semantic: IAM's answers arrive percent-encoded; the adapter decodes them with
/// `decode_iam_text`, and what comes out must compare equal to the spec.
#[test]
fn url_encoded_documents_are_not_drift() {
    for keep_slash in [true, false] {
        let mut d = desired();
        d.assume_role_policy = TRUST_TWO.into();
        let mut o = observed();
        o.assume_role_policy =
            decode_iam_text(&percent_encode(TRUST_TWO_AS_IAM_RETURNS_IT, keep_slash));
        for (name, document) in [("logs", LOGS), ("s3", S3_REFORMATTED)] {
            o.inline_policies.insert(
                name.into(),
                decode_iam_text(&percent_encode(document, keep_slash)),
            );
        }
        let case = format!("url-encoded, slash kept: {keep_slash}");
        assert_plan(&case, &d, Some(o), false, &[]);
    }
}

/// The encoded text itself differs from the spec, so this catches an adapter that forgets to
/// decode (and proves the test above is not vacuous).
#[test]
fn undecoded_documents_are_drift() {
    let mut o = observed();
    o.assume_role_policy = percent_encode(TRUST, true);
    let ops = plan_apply(&desired(), Some(&o), &owner(), false).unwrap();
    assert_eq!(ops, vec![update_trust(TRUST)]);
}

/// A real change hidden among reformatting is still found.
#[test]
fn a_real_change_inside_a_reformatted_document_is_drift() {
    let mut o = observed();
    o.inline_policies.insert(
        "s3".into(),
        S3_REFORMATTED.replace("arn:aws:s3:::bucket/*", "arn:aws:s3:::Bucket/*"),
    );
    assert_plan(
        "case in an ARN",
        &desired(),
        Some(o),
        false,
        &[put("s3", S3)],
    );
}

/// TagRole then UntagRole of the same key would delete the new value.
#[test]
fn tag_value_change_keeps_the_new_value() {
    let mut d = desired();
    d.tags.insert("team".into(), "b".into());
    let ops = plan_apply(&d, Some(&observed()), &owner(), false).unwrap();
    assert_eq!(ops, vec![tag(&[("team", "b")])]);
    let mut iam = Iam::with(observed());
    iam.run(&ops).unwrap();
    assert_eq!(
        iam.role.unwrap().tags.get("team").map(String::as_str),
        Some("b")
    );
}

/// IAM keys are case-insensitive: untag the old spelling first, then write the new one.
#[test]
fn tag_key_case_change_ends_with_the_new_spelling() {
    let mut d = desired();
    d.tags.remove("team");
    d.tags.insert("Team".into(), "a".into());
    let ops = plan_apply(&d, Some(&observed()), &owner(), false).unwrap();
    assert_eq!(ops, vec![untag(&["team"]), tag(&[("Team", "a")])]);
    let mut iam = Iam::with(observed());
    iam.run(&ops).unwrap();
    let tags = iam.role.unwrap().settings.tags;
    assert_eq!(tags.get("Team").map(String::as_str), Some("a"));
    assert!(!tags.contains_key("team"));
}

/// Tags set by AWS itself and rolesmith's own claim survive even an empty tag spec.
#[test]
fn aws_tags_and_the_ownership_tag_are_left_alone() {
    let mut d = desired();
    d.tags.clear();
    let mut o = observed();
    o.tags
        .insert("aws:cloudformation:stack-name".into(), "stack".into());
    o.tags.insert("AWS:Legacy".into(), "x".into());
    assert_plan(
        "protected tags",
        &d,
        Some(o),
        false,
        &[untag(&["env", "team"])],
    );
}

/// An untagged role is taken over only when asked, and
/// marks the role as its own before changing anything else.
#[test]
fn adoption_claims_the_role_first() {
    let mut o = observed();
    o.tags.remove(OWNER_TAG_KEY);
    o.tags
        .insert("aws:cloudformation:stack-name".into(), "stack".into());
    o.tags.insert("legacy".into(), "1".into());
    o.description = "made by hand".into();
    o.managed_policy_arns.push(SSM.into());
    assert_plan(
        "adopt with drift",
        &desired(),
        Some(o),
        true,
        &[
            claim(),
            detach(SSM),
            update_role("app role", 3600),
            untag(&["legacy"]),
        ],
    );
}

/// Adoption keeps inline policies the spec names; adopting a role that already matches writes nothing
/// but the claim.
#[test]
fn adopting_a_matching_role_only_claims_it() {
    let mut o = observed();
    o.tags.remove(OWNER_TAG_KEY);
    assert_plan("adopt in sync", &desired(), Some(o), true, &[claim()]);
}

#[test]
fn an_untagged_role_is_not_adopted_unless_asked() {
    let mut o = observed();
    o.tags.remove(OWNER_TAG_KEY);
    let err = plan_apply(&desired(), Some(&o), &owner(), false).unwrap_err();
    assert!(matches!(err, PlanError::NotOwned { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "IAM role app-x exists and is not managed by rolesmith; set spec.adopt: true to take it over"
    );
}

#[test]
fn a_role_owned_by_another_object_is_never_touched() {
    let mut o: ObservedRole = observed();
    o.tags
        .insert(OWNER_TAG_KEY.into(), "prod/team-b/app".into());
    for adopt in [false, true] {
        let err = plan_apply(&desired(), Some(&o), &owner(), adopt).unwrap_err();
        assert_eq!(
            err.to_string(),
            "IAM role app-x is managed by IamRole team-b/app in cluster `prod` (tag \
             `rolesmith.dev/owner=prod/team-b/app`); spec.adopt never takes a role from another \
             owner"
        );
    }
}

#[test]
fn a_path_change_is_refused() {
    let mut d = desired();
    d.path = "/apps/".into();
    let err = plan_apply(&d, Some(&observed()), &owner(), false).unwrap_err();
    assert!(
        matches!(&err, PlanError::PathChanged { role, observed, desired }
            if role == ROLE && observed == "/" && desired == "/apps/"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "IAM role app-x is at path /, but spec.path is /apps/: IAM cannot move a role to another \
         path; set spec.path back to /, or delete the role so rolesmith recreates it"
    );
}

/// Ownership is checked first: a foreign role's path is none of our business.
#[test]
fn a_foreign_role_at_another_path_is_reported_as_foreign() {
    let mut d = desired();
    d.path = "/apps/".into();
    let mut o = observed();
    o.tags.remove(OWNER_TAG_KEY);
    let err = plan_apply(&d, Some(&o), &owner(), false).unwrap_err();
    assert!(matches!(err, PlanError::NotOwned { .. }), "{err:?}");
}

/// Adoption must not claim a role it then cannot manage.
#[test]
fn adoption_at_another_path_claims_nothing() {
    let mut d = desired();
    d.path = "/apps/".into();
    let mut o = observed();
    o.tags.remove(OWNER_TAG_KEY);
    let err = plan_apply(&d, Some(&o), &owner(), true).unwrap_err();
    assert!(matches!(err, PlanError::PathChanged { .. }), "{err:?}");
}

/// Attach-first would hit IAM's quota of 10 attached policies: make room first.
#[test]
fn replacing_policies_on_a_full_role_detaches_first() {
    let mut o = observed();
    o.managed_policy_arns = numbered_arns(10);
    let mut d = desired();
    d.managed_policy_arns = numbered_arns(7);
    d.managed_policy_arns.extend([
        SSM.to_string(),
        READ_ONLY.to_string(),
        CLOUDWATCH.to_string(),
    ]);
    let p = |i: usize| format!("arn:aws:iam::123456789012:policy/p{i}");
    assert_plan(
        "full role",
        &d,
        Some(o),
        false,
        &[
            detach(&p(8)),
            detach(&p(9)),
            detach(&p(10)),
            attach(SSM),
            attach(READ_ONLY),
            attach(CLOUDWATCH),
        ],
    );
}

/// Semantic: IAM stores a bare account id principal as its `:root` ARN; reading it back must
/// not cause an UpdateAssumeRolePolicy on every pass.
#[test]
fn account_id_principal_rewritten_by_iam_is_not_drift() {
    let mut d = desired();
    d.assume_role_policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"}}}]}"#.into();
    let mut o = observed();
    o.assume_role_policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"}}}]}"#.into();
    assert_plan("account id as root ARN", &d, Some(o), false, &[]);
}

/// A principal role that was deleted comes back as its unique id: that is real drift, and
/// writing the spec's document again is the repair.
#[test]
fn principal_replaced_by_a_unique_id_is_drift() {
    let mut d = desired();
    d.assume_role_policy = TRUST_TWO.into();
    let mut o = observed();
    o.assume_role_policy =
        TRUST_TWO.replace("arn:aws:iam::123456789012:role/ci", "AROAEXAMPLEUNIQUEID");
    assert_plan("unique id", &d, Some(o), false, &[update_trust(TRUST_TWO)]);
}
