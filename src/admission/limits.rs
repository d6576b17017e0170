//! IAM's limits, named once: the CRD's schema attributes (`crate::api`), the admission checks
//! and the IAM adapter all use these, so a limit cannot differ between the layers that enforce
//! it. Documented in IAM's "IAM and AWS STS quotas" and the CreateRole/TagRole API reference.

/// Role names: 1 to 64 characters.
pub const ROLE_NAME_MAX: usize = 64;
/// Paths: 1 to 512 characters.
pub const PATH_MAX: usize = 512;
pub const DESCRIPTION_MAX: usize = 1000;
/// MaxSessionDuration, in seconds: 1 to 12 hours; IAM's default is the minimum.
pub const SESSION_MIN: i32 = 3600;
pub const SESSION_MAX: i32 = 43200;
pub const SESSION_DEFAULT: i32 = SESSION_MIN;
/// Trust policy size without whitespace: the default quota (rolesmith enforces it)...
pub const TRUST_POLICY_MAX: usize = 2048;
/// ...and the most an account's quota can be raised to.
pub const TRUST_POLICY_RAISED_MAX: usize = 4096;
/// Inline and managed policy names.
pub const POLICY_NAME_MAX: usize = 128;
/// A customer managed policy document, without whitespace.
pub const MANAGED_POLICY_MAX: usize = 6144;
/// Versions IAM keeps of one managed policy.
pub const POLICY_VERSIONS_MAX: usize = 5;
/// All inline policies of a role together, without whitespace.
pub const INLINE_TOTAL_MAX: usize = 10_240;
/// Inline policies per object: rolesmith's own bound for the schema; IAM's total size already
/// makes more than ~150 impossible.
pub const INLINE_POLICIES_MAX: usize = 100;
/// Managed policies per role (10 unless the account's quota was raised).
pub const MANAGED_POLICIES_MAX: usize = 20;
/// Tags per role.
pub const TAGS_MAX: usize = 50;
/// Tags a spec may list: rolesmith adds its ownership tag.
pub const SPEC_TAGS_MAX: usize = TAGS_MAX - 1;
pub const TAG_KEY_MAX: usize = 128;
pub const TAG_VALUE_MAX: usize = 256;
/// spec.ignoreTagKeys: as many as a role has tags, each a key or a key prefix plus `*`.
pub const IGNORE_TAG_KEYS_MAX: usize = TAGS_MAX;
pub const IGNORE_TAG_KEY_MAX: usize = TAG_KEY_MAX + 1;
/// The partitions IAM ARNs can be in.
pub const PARTITIONS: [&str; 3] = ["aws", "aws-cn", "aws-us-gov"];
/// The characters of role and policy names, for messages.
pub const NAME_CHARS_TEXT: &str = "A-Z a-z 0-9 and + = , . @ _ -";
/// The characters of tag keys and values, for messages.
pub const TAG_CHARS_TEXT: &str = "letters, digits, spaces and _ . : / = + - @";

/// Whether `c` may appear in a role or policy name: IAM's `[\w+=,.@-]` with an ASCII `\w`.
pub fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)
}

/// Whether `c` may appear in a path: printable ASCII without spaces.
pub fn is_path_char(c: char) -> bool {
    ('\x21'..='\x7e').contains(&c)
}
