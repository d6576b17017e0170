//! The one reading of an ARN (`arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`), for every module
//! that needs an account, a partition or a resource out of one.

/// An ARN's six fields, borrowed from the text. The resource keeps any further colons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    /// An account id, `aws` for AWS-managed policies, or empty (S3 buckets).
    pub account: &'a str,
    pub resource: &'a str,
}

/// Why a text is not an ARN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotAnArn {
    /// It does not start with `arn:`.
    Prefix,
    /// It has fewer than six colon-separated fields.
    Fields,
}

impl<'a> Arn<'a> {
    pub fn parse(text: &'a str) -> Result<Arn<'a>, NotAnArn> {
        let fields: Vec<&str> = text.splitn(6, ':').collect();
        match fields.as_slice() {
            ["arn", partition, service, region, account, resource] => Ok(Arn {
                partition,
                service,
                region,
                account,
                resource,
            }),
            [_, _, _, _, _, _] => Err(NotAnArn::Prefix),
            _ if !text.starts_with("arn:") => Err(NotAnArn::Prefix),
            _ => Err(NotAnArn::Fields),
        }
    }

    /// The account, when it is a 12-digit account id.
    pub fn account_id(&self) -> Option<&'a str> {
        is_account_id(self.account).then_some(self.account)
    }

    /// The same ARN with `account` in place of its account.
    pub fn in_account(&self, account: &str) -> String {
        format!(
            "arn:{}:{}:{}:{account}:{}",
            self.partition, self.service, self.region, self.resource
        )
    }

    /// Whether this is the root of `account` (`arn:PARTITION:iam::ACCOUNT:root`), which IAM
    /// writes for a principal given as the bare account id.
    pub fn is_root_of(&self, account: &str) -> bool {
        !self.partition.is_empty()
            && self.service == "iam"
            && self.region.is_empty()
            && self.resource == "root"
            && is_account_id(account)
            && self.account == account
    }
}

/// Twelve digits.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// The account of an AWS principal: a bare account id, or the account of an iam or sts ARN.
/// Unique ids (`AROA…`) and `*` name no account.
pub fn principal_account(principal: &str) -> Option<&str> {
    if is_account_id(principal) {
        return Some(principal);
    }
    Arn::parse(principal)
        .ok()
        .filter(|arn| matches!(arn.service, "iam" | "sts"))
        .and_then(|arn| arn.account_id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_six_fields() {
        let cases: &[(&str, Result<[&str; 5], NotAnArn>)] = &[
            (
                "arn:aws:iam::123456789012:role/a/b",
                Ok(["aws", "iam", "", "123456789012", "role/a/b"]),
            ),
            (
                "arn:aws-cn:sts::123456789012:assumed-role/r:x",
                Ok(["aws-cn", "sts", "", "123456789012", "assumed-role/r:x"]),
            ),
            ("arn:aws:s3:::bucket", Ok(["aws", "s3", "", "", "bucket"])),
            ("urn:aws:iam::123456789012:root", Err(NotAnArn::Prefix)),
            ("role/x", Err(NotAnArn::Prefix)),
            ("arn:aws:iam::123", Err(NotAnArn::Fields)),
        ];
        for (text, want) in cases {
            let got =
                Arn::parse(text).map(|a| [a.partition, a.service, a.region, a.account, a.resource]);
            assert_eq!(&got, want, "{text}");
        }
    }

    #[test]
    fn accounts() {
        let cases = [
            ("123456789012", Some("123456789012")),
            ("arn:aws:iam::123456789012:root", Some("123456789012")),
            (
                "arn:aws:sts::123456789012:assumed-role/r/s",
                Some("123456789012"),
            ),
            ("arn:aws:s3:::123456789012", None),
            ("arn:aws:iam::aws:policy/ReadOnlyAccess", None),
            ("AROAEXAMPLE", None),
            ("*", None),
            ("12345678901", None),
        ];
        for (principal, want) in cases {
            assert_eq!(principal_account(principal), want, "{principal}");
        }
    }

    #[test]
    fn roots() {
        let cases = [
            ("arn:aws:iam::123456789012:root", "123456789012", true),
            ("arn:aws-cn:iam::123456789012:root", "123456789012", true),
            ("arn:aws:iam::123456789012:root", "210987654321", false),
            ("arn:aws:iam::123456789012:role/root", "123456789012", false),
            ("arn::iam::123456789012:root", "123456789012", false),
            (
                "arn:aws:iam:us-east-1:123456789012:root",
                "123456789012",
                false,
            ),
            ("arn:aws:iam::*:root", "*", false),
        ];
        for (arn, account, want) in cases {
            let root = Arn::parse(arn).is_ok_and(|a| a.is_root_of(account));
            assert_eq!(root, want, "{arn} {account}");
        }
    }
}
