//! Policy documents: decoding IAM's answers, deciding when two documents are the same, and
//! checking a document against IAM's grammar before IAM sees it.
//!
//! Everything here works on JSON text, because that is what IAM stores and returns; no
//! function here performs IO.

mod check;
mod decode;
mod document;
mod equivalence;
mod guardrails;
pub(crate) mod json;

pub use check::{DocumentKind, check_document};
pub use decode::decode_iam_text;
pub use document::{PolicyError, document_text};
pub use equivalence::{equivalent, only_drops_allow_statements};
pub(crate) use guardrails::{KeyKind, identifying_key, narrowing_condition};
pub use guardrails::{
    WebIdentityTrust, allows_actions_matching, allows_all_but_on_everything, grants_admin,
    saml_providers_without_audience, trusted_accounts, unique_id_principals,
    untrusted_accounts_without_external_id, web_identity_trusts,
    wildcard_principal_without_condition,
};

/// The size IAM measures against its quotas: it does not count whitespace, so a
/// pretty-printed document costs the same as a compact one.
pub fn non_whitespace_len(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_whitespace_len_ignores_every_kind_of_whitespace() {
        let cases = [
            ("", 0),
            ("{}", 2),
            ("{ \"a\" : 1 }", 7),
            ("{\n\t\"a\":\r\n 1}", 7),
            ("\"é ü\"", 4),
        ];
        for (text, want) in cases {
            assert_eq!(non_whitespace_len(text), want, "{text:?}");
        }
    }
}
