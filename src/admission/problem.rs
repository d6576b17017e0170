//! The vocabulary of admission: a [`Rule`] names one thing rolesmith checks, by a stable
//! kebab-case id. A refusal is a [`Problem`]; a risky but legal choice is a [`Finding`] with a
//! [`Severity`]. Both use the same ids, so a rule can move from warning to refusal (or back)
//! without renaming it, and the ids are a bounded set fit for a metric label.

use crate::error::Category;

/// Declares [`Rule`] with its id, and [`Rule::ALL`] in declaration order.
macro_rules! rules {
    ($($(#[doc = $doc:literal])* $variant:ident => $id:literal,)*) => {
        /// One check, by its stable id (never reword an id: dashboards and tests key on it).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Rule {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Rule {
            pub const ALL: &[Rule] = &[$(Rule::$variant,)*];

            /// The stable kebab-case id.
            pub fn id(self) -> &'static str {
                match self {
                    $(Rule::$variant => $id,)*
                }
            }
        }
    };
}

rules! {
    /// metadata.namespace or metadata.name is missing.
    MissingMetadata => "missing-metadata",
    /// A manifest file cannot be read or is not YAML.
    ManifestUnreadable => "manifest-unreadable",
    /// A manifest field the IamRole kind does not have.
    UnknownField => "unknown-field",
    /// A manifest field of the wrong type.
    MalformedField => "malformed-field",
    RoleNameEmpty => "role-name-empty",
    RoleNameTooLong => "role-name-too-long",
    RoleNameCharacters => "role-name-characters",
    /// No roleName, and the namespace leaves no room to derive one.
    RoleNameUnderivable => "role-name-underivable",
    PathEmpty => "path-empty",
    PathTooLong => "path-too-long",
    PathForm => "path-form",
    PathCharacters => "path-characters",
    /// The path differs from the existing role's: IAM cannot move a role.
    PathImmutable => "path-immutable",
    DescriptionTooLong => "description-too-long",
    DescriptionCharacters => "description-characters",
    SessionDurationRange => "session-duration-range",
    /// A policy document that is not a JSON object, or has a key twice.
    PolicyUnreadable => "policy-unreadable",
    /// A policy document that breaks IAM's policy grammar.
    PolicyGrammar => "policy-grammar",
    TrustPolicyTooLarge => "trust-policy-too-large",
    /// Principal "*" without a condition that narrows who may assume the role.
    WildcardTrust => "wildcard-trust",
    PolicyNameEmpty => "policy-name-empty",
    PolicyNameTooLong => "policy-name-too-long",
    PolicyNameCharacters => "policy-name-characters",
    PolicyNamesDifferInCase => "policy-names-differ-in-case",
    InlinePoliciesTooLarge => "inline-policies-too-large",
    ManagedPoliciesTooMany => "managed-policies-too-many",
    ManagedPolicyListedTwice => "managed-policy-listed-twice",
    PolicyArnInvalid => "policy-arn-invalid",
    PolicyArnsMixedPartitions => "policy-arns-mixed-partitions",
    TagsTooMany => "tags-too-many",
    TagKeyEmpty => "tag-key-empty",
    TagKeyTooLong => "tag-key-too-long",
    TagKeyCharacters => "tag-key-characters",
    /// `aws:` keys belong to AWS.
    TagKeyReserved => "tag-key-reserved",
    /// rolesmith's ownership tag in spec.tags.
    OwnerTagInSpec => "owner-tag-in-spec",
    TagValueTooLong => "tag-value-too-long",
    TagValueCharacters => "tag-value-characters",
    TagKeysDifferInCase => "tag-keys-differ-in-case",
    /// A tag rolesmith was told never to set (spec.ignoreTagKeys, --ignore-tag-keys).
    IgnoredTagInSpec => "ignored-tag-in-spec",
    /// The ownership tag value (cluster id/namespace/name) is not a valid IAM tag value.
    OwnerTagInvalid => "owner-tag-invalid",
    ConfinementNamePrefix => "confinement-name-prefix",
    ConfinementPathPrefix => "confinement-path-prefix",
    /// A new role name for an object that already manages a role.
    RenameOrphansRole => "rename-orphans-role",
    /// A managed policy document over IAM's 6,144 characters.
    ManagedPolicyTooLarge => "managed-policy-too-large",
    /// A managed policy's path or description differs from IAM's, which cannot change them.
    PolicyImmutable => "policy-immutable",
    /// A managedPolicyRefs entry into another namespace, from a confined namespace.
    CrossNamespaceReference => "cross-namespace-reference",
    /// An IamServiceLinkedRole in a confined namespace adopting a role the account shares.
    SharedAdoption => "confinement-shared-adoption",
    /// A managedPolicyRefs entry `rolesmith plan/apply` cannot resolve from the given files.
    PolicyReferenceUnresolved => "policy-reference-unresolved",
    /// Neither assumeRolePolicy nor serviceAccounts: nobody could assume the role.
    TrustPolicyMissing => "trust-policy-missing",
    /// A spec.serviceAccounts name or namespace Kubernetes would never give a ServiceAccount.
    ServiceAccountNameInvalid => "service-account-name-invalid",
    /// One ServiceAccount listed twice in spec.serviceAccounts.
    ServiceAccountListedTwice => "service-account-listed-twice",
    /// A spec.serviceAccounts entry in another namespace, from a confined namespace.
    CrossNamespaceServiceAccount => "cross-namespace-service-account",
    /// An entry's `via` needs an operator flag that is not set (--oidc-provider-arn,
    /// --eks-cluster-name).
    WorkloadIdentityUnconfigured => "workload-identity-unconfigured",
    /// A spec.serviceAccounts entry via PodIdentity in a role of another account than the
    /// cluster's.
    PodIdentityOtherAccount => "pod-identity-other-account",
    /// A finding a RoleGuardrail's `deny` makes a refusal.
    GuardrailDeniedFinding => "guardrail-denied-finding",
    /// No permissions boundary, or one a RoleGuardrail's `requirePermissionsBoundary` does not list.
    GuardrailPermissionsBoundary => "guardrail-permissions-boundary",
    /// An inline policy allows an action a RoleGuardrail's `denyActions` names.
    GuardrailDeniedAction => "guardrail-denied-action",
    /// The trust policy names an account a RoleGuardrail's `allowedTrustAccounts` does not list.
    GuardrailTrustAccount => "guardrail-trust-account",
    /// maxSessionDuration above a RoleGuardrail's `maxSessionDuration`.
    GuardrailSessionDuration => "guardrail-session-duration",
    /// Every action on every resource.
    AdminAccess => "admin-access",
    /// Every action but a NotAction list, on every resource.
    NotActionEverywhere => "not-action-everywhere",
    /// Another account may assume the role without sts:ExternalId.
    CrossAccountNoExternalId => "cross-account-no-external-id",
    /// A web identity provider trusted without a condition on its subject claim.
    WebIdentityNoSubject => "web-identity-no-subject",
    /// A SAML provider trusted without a SAML:aud condition.
    SamlNoAudience => "saml-no-audience",
    /// A service acting for other accounts' resources trusted without aws:SourceArn/SourceAccount.
    ServiceTrustNoSource => "service-trust-no-source",
    /// A web identity provider trusted without a condition on its audience claim.
    WebIdentityNoAudience => "web-identity-no-audience",
    /// EKS Pod Identity trusted without conditions on its session tags.
    PodIdentityNoTagConditions => "pod-identity-no-tag-conditions",
    /// An Allow statement with NotAction.
    NotActionAllow => "notaction-allow",
    /// An Allow statement with NotResource.
    NotResourceAllow => "notresource-allow",
    /// An Allow statement with NotPrincipal.
    NotPrincipalAllow => "notprincipal-allow",
    /// iam:PassRole on every role without iam:PassedToService.
    PassRoleWildcard => "passrole-wildcard",
    /// Grants with which the role can grant itself more.
    PrivilegeEscalation => "privilege-escalation",
    /// ForAllValues on a key that has a single value.
    ForAllValuesSingleValued => "forallvalues-single-valued",
    NoPermissionsBoundary => "no-permissions-boundary",
    /// Not used for longer than allowed.
    UnusedRole => "unused-role",
    /// The account is near or at its quota of roles.
    AccountQuota => "account-quota",
}

impl Rule {
    /// The error category a refusal under this rule gets: the namespace rules are a matter of
    /// permission, the guardrail rules of the cluster's policy, the rest of a spec IAM would not
    /// take.
    pub fn category(self) -> Category {
        match self {
            Rule::ConfinementNamePrefix
            | Rule::ConfinementPathPrefix
            | Rule::CrossNamespaceReference
            | Rule::CrossNamespaceServiceAccount
            | Rule::SharedAdoption => Category::Forbidden,
            Rule::GuardrailDeniedFinding
            | Rule::GuardrailPermissionsBoundary
            | Rule::GuardrailDeniedAction
            | Rule::GuardrailTrustAccount
            | Rule::GuardrailSessionDuration => Category::GuardrailViolation,
            _ => Category::InvalidSpec,
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.id())
    }
}

/// Why an object may not proceed: the field at fault, the rule it breaks, and a message that says
/// what is wrong and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The field's path (`spec.tags.team`); empty when the problem is in no one field (the
    /// operator's --cluster-id).
    pub field: String,
    pub rule: Rule,
    /// The explanation, without the field.
    pub message: String,
}

impl Problem {
    pub fn new(field: impl Into<String>, rule: Rule, message: impl Into<String>) -> Problem {
        Problem {
            field: field.into(),
            rule,
            message: message.into(),
        }
    }
}

/// `field: message`, as users read it in status, Events and `rolesmith plan`.
impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write_field_and_message(f, &self.field, &self.message)
    }
}

fn write_field_and_message(
    f: &mut std::fmt::Formatter<'_>,
    field: &str,
    message: &str,
) -> std::fmt::Result {
    if field.is_empty() {
        f.write_str(message)
    } else {
        write!(f, "{field}: {message}")
    }
}

/// How much a finding matters; a bounded set, fit for a metric label. Declared (and ordered)
/// from the worst: compare with [`Severity::at_least`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    /// Worth knowing in an audit, too common to warn about on every object.
    Info,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }

    /// Whether this is `other` or worse.
    pub fn at_least(self, other: Severity) -> bool {
        self <= other
    }

    /// The severity named `text` (`info`, `low`, `medium`, `high`, `critical`, any case).
    pub fn parse(text: &str) -> Result<Severity, String> {
        Severity::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                format!("unknown severity {text:?}; use info, low, medium, high or critical")
            })
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// A risky but legal choice: shown to the user, never blocking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub id: Rule,
    pub severity: Severity,
    pub field: String,
    pub message: String,
}

impl Finding {
    pub fn new(
        id: Rule,
        severity: Severity,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            id,
            severity,
            field: field.into(),
            message: message.into(),
        }
    }
}

/// `field: message`, like [`Problem`].
impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write_field_and_message(f, &self.field, &self.message)
    }
}

/// One line per problem, for errors and logs.
pub fn joined(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
