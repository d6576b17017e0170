//! IAM returns policy documents percent-encoded (RFC 3986) and the SDK hands them over as is.

use percent_encoding::percent_decode_str;

/// Percent-decodes a document returned by IAM.
///
/// This is not form decoding: `+` is a literal plus (it appears in ARNs and condition values).
/// Text that is not a well-formed encoding — a `%` not followed by two hex digits, or bytes
/// that are not UTF-8 once decoded — is returned unchanged, because it cannot have come from
/// IAM's encoder and is most likely an already-decoded document (moto, or a caller that
/// decoded twice).
pub fn decode_iam_text(encoded: &str) -> String {
    if !escapes_well_formed(encoded) {
        return encoded.to_string();
    }
    match percent_decode_str(encoded).decode_utf8() {
        Ok(decoded) => decoded.into_owned(),
        Err(_) => encoded.to_string(),
    }
}

fn escapes_well_formed(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex_pair = bytes.get(i + 1..i + 3);
            if !hex_pair.is_some_and(|pair| pair.iter().all(u8::is_ascii_hexdigit)) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_rfc3986_and_leaves_malformed_text_alone() {
        let cases = [
            ("", ""),
            ("plain", "plain"),
            ("%7B%22a%22%3A1%7D", "{\"a\":1}"),
            // Real IAM encodes `/`, moto does not: both decode to the same text.
            ("arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fa", "arn:aws:iam::1:role/a"),
            ("arn%3Aaws%3Aiam%3A%3A1%3Arole/a", "arn:aws:iam::1:role/a"),
            ("a+b", "a+b"),
            ("a%2Bb", "a+b"),
            ("%20", " "),
            ("%c3%a9", "é"),
            ("%C3%A9", "é"),
            // Malformed escapes: returned as given.
            ("100%", "100%"),
            ("%zz", "%zz"),
            ("%4", "%4"),
            ("a%2", "a%2"),
            ("%e9%20", "%e9%20"),
            ("%C3", "%C3"),
            // Already-decoded JSON containing a literal percent sign.
            ("{\"a\":\"50%\"}", "{\"a\":\"50%\"}"),
        ];
        for (input, want) in cases {
            assert_eq!(decode_iam_text(input), want, "{input:?}");
        }
    }

    #[test]
    fn decodes_a_whole_trust_policy_as_iam_returns_it() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22lambda.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
        assert_eq!(
            decode_iam_text(encoded),
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#
        );
    }
}
