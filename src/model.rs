//! Plain data shared by the pure core (validation, plan) and the IAM adapter.
//!
//! Nothing here knows about Kubernetes or the AWS SDK: the controller and the CLI translate an
//! `IamRole` into a [`DesiredRole`], the IAM adapter translates IAM's answers into an
//! [`ObservedRole`], and the plan turns the pair into [`IamOp`]s.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The tag that marks a role as managed by one IamRole object. Its value is [`Owner::tag_value`].
pub const OWNER_TAG_KEY: &str = "rolesmith.dev/owner";

/// Who a role belongs to: one IamRole object in one cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub cluster: String,
    pub namespace: String,
    pub name: String,
}

impl Owner {
    /// `cluster/namespace/name`: only characters IAM allows in tag values.
    pub fn tag_value(&self) -> String {
        format!("{}/{}/{}", self.cluster, self.namespace, self.name)
    }
}

/// What happens to the IAM role when its IamRole object is deleted. (Variant notes are plain
/// comments: doc comments would change the CRD's generated schema.)
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    // Delete the role in IAM.
    #[default]
    Delete,
    // Keep the role, but drop the claim on it, so it can be adopted again later.
    Retain,
}

/// Whether rolesmith changes the role or only watches it. (Variant notes are plain comments, as
/// for [`DeletionPolicy`].)
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ManagementPolicy {
    // Make IAM match the spec.
    #[default]
    Manage,
    // Read and report, never write.
    Observe,
}

/// The parts of a role that the user asks for and IAM shows alike: what the plan compares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleSettings {
    pub path: String,
    /// Empty means "no description".
    pub description: String,
    pub max_session_duration: i32,
    /// The trust policy as JSON text (desired: exactly as it will be sent to IAM; observed:
    /// URL-decoded).
    pub assume_role_policy: String,
    /// Inline policy name → JSON text.
    pub inline_policies: BTreeMap<String, String>,
    /// Desired: in the order the user wrote them. Compared as a set.
    pub managed_policy_arns: Vec<String>,
    pub permissions_boundary: Option<String>,
    /// Desired: the user's tags; the ownership tag is not in here, the plan adds it. Observed:
    /// every tag IAM has, including the ownership tag and `aws:` tags.
    pub tags: BTreeMap<String, String>,
}

/// What the user asked for, after defaults, ready to send to IAM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredRole {
    pub name: String,
    pub settings: RoleSettings,
    /// Tag keys owned by others, never removed, changed or set: exact keys or `prefix*`,
    /// case-insensitive.
    pub ignored_tag_keys: Vec<String>,
    /// Whether an instance profile of the role's name and path holds the role (EC2 roles).
    pub instance_profile: bool,
}

/// What IAM has for a role, as read by the IAM adapter (documents already URL-decoded).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObservedRole {
    pub name: String,
    pub arn: String,
    pub role_id: String,
    pub settings: RoleSettings,
    /// When and where the role was last used, if IAM tracked it (RoleLastUsed).
    pub last_used: Option<LastUsed>,
    /// The instance profiles that hold the role (a per-role read lists them; the account sweep
    /// has them in each role's InstanceProfileList).
    pub instance_profiles: Vec<InstanceProfileRef>,
}

/// An instance profile as IAM lists it for a role. IAM's lists leave out tags, so ownership is
/// never decided from one of these: see [`ObservedInstanceProfile`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstanceProfileRef {
    pub name: String,
    pub path: String,
    pub arn: String,
}

/// One instance profile read on its own (GetInstanceProfile): with its roles and tags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObservedInstanceProfile {
    pub name: String,
    pub path: String,
    pub arn: String,
    /// IAM lets a profile hold at most one role.
    pub roles: Vec<String>,
    pub tags: BTreeMap<String, String>,
}

// Both read as their settings: the plan, drift and admission compare and check the shared
// fields by name on either side.
impl std::ops::Deref for DesiredRole {
    type Target = RoleSettings;
    fn deref(&self) -> &RoleSettings {
        &self.settings
    }
}

impl std::ops::DerefMut for DesiredRole {
    fn deref_mut(&mut self) -> &mut RoleSettings {
        &mut self.settings
    }
}

impl std::ops::Deref for ObservedRole {
    type Target = RoleSettings;
    fn deref(&self) -> &RoleSettings {
        &self.settings
    }
}

impl std::ops::DerefMut for ObservedRole {
    fn deref_mut(&mut self) -> &mut RoleSettings {
        &mut self.settings
    }
}

/// IAM's RoleLastUsed: the last time a session of the role made an AWS request, and the region.
/// IAM tracks a window of about 400 days and updates it with a delay of hours.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LastUsed {
    /// RFC 3339.
    pub date: Option<String>,
    pub region: Option<String>,
}

impl LastUsed {
    /// None when IAM said nothing (a role never used, or an endpoint that does not track it).
    pub fn from_parts(date: Option<String>, region: Option<String>) -> Option<LastUsed> {
        (date.is_some() || region.is_some()).then_some(LastUsed { date, region })
    }
}

/// Who a bulk read of an account hands each role to, page by page as IAM answers: the reader
/// keeps what it needs (the drift check: only the roles that differ), so a sweep of 10,000
/// roles never holds them all at once.
pub trait SweepVisitor: Send {
    /// Whether the role of this name matters: the sweep reads the rest only for these.
    fn wants(&self, name: &str) -> bool;
    /// A wanted role, as complete as a per-role read reads it. A wanted role the sweep does
    /// not hand over was not in the account when the sweep read it (gone, or too new).
    fn visit(&mut self, role: ObservedRole);
}

/// Keeps every wanted role: for tests, and readers of accounts small enough to hold.
pub struct CollectRoles<F> {
    pub wanted: F,
    pub roles: std::collections::HashMap<String, ObservedRole>,
}

impl<F: Fn(&str) -> bool + Send> CollectRoles<F> {
    pub fn new(wanted: F) -> Self {
        CollectRoles {
            wanted,
            roles: Default::default(),
        }
    }
}

impl<F: Fn(&str) -> bool + Send> SweepVisitor for CollectRoles<F> {
    fn wants(&self, name: &str) -> bool {
        (self.wanted)(name)
    }
    fn visit(&mut self, role: ObservedRole) {
        self.roles.insert(role.name.clone(), role);
    }
}

/// What one bulk read of an account cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Every role in the account, managed or not: the sweep's cost grows with it.
    pub roles_in_account: usize,
    /// IAM calls the sweep made.
    pub calls: usize,
}

/// The largest page IAM serves for ListRoles and GetAccountAuthorizationDetails. It may still
/// answer with fewer and a marker.
pub const BULK_PAGE_SIZE: i32 = 1000;

/// One IAM write. The plan emits them in the order they must run.
// The variant names are IAM's action names: `IntoStaticStr` gives them to `action()`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, strum::IntoStaticStr)]
#[serde(tag = "operation")]
pub enum IamOp {
    /// Tags (including the ownership tag) and the boundary go in the create call itself, so a
    /// role never exists without its ownership tag.
    CreateRole {
        role: String,
        path: String,
        description: String,
        max_session_duration: i32,
        assume_role_policy: String,
        permissions_boundary: Option<String>,
        tags: BTreeMap<String, String>,
    },
    /// IAM resets whichever of the two is omitted, so both are always sent.
    UpdateRole {
        role: String,
        description: String,
        max_session_duration: i32,
    },
    UpdateAssumeRolePolicy {
        role: String,
        document: String,
    },
    PutRolePolicy {
        role: String,
        policy_name: String,
        document: String,
    },
    DeleteRolePolicy {
        role: String,
        policy_name: String,
    },
    AttachRolePolicy {
        role: String,
        policy_arn: String,
    },
    DetachRolePolicy {
        role: String,
        policy_arn: String,
    },
    TagRole {
        role: String,
        tags: BTreeMap<String, String>,
    },
    UntagRole {
        role: String,
        keys: Vec<String>,
    },
    PutRolePermissionsBoundary {
        role: String,
        policy_arn: String,
    },
    DeleteRolePermissionsBoundary {
        role: String,
    },
    /// The ownership tag goes in the create call, as for a role.
    CreateInstanceProfile {
        instance_profile: String,
        path: String,
        tags: BTreeMap<String, String>,
    },
    AddRoleToInstanceProfile {
        role: String,
        instance_profile: String,
    },
    RemoveRoleFromInstanceProfile {
        role: String,
        instance_profile: String,
    },
    DeleteInstanceProfile {
        instance_profile: String,
    },
    DeleteRole {
        role: String,
    },
}

impl IamOp {
    /// The IAM API action name, for logs, metrics and the least-privilege policy.
    pub fn action(&self) -> &'static str {
        self.into()
    }
}

/// A customer managed policy as the user asked for it (an `IamPolicy` object), after defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredPolicy {
    pub name: String,
    /// The policy document as JSON text, exactly as it will be sent to IAM.
    pub document: String,
    /// Path and description are fixed at creation: IAM cannot change either afterwards.
    pub path: String,
    /// Empty means "no description".
    pub description: String,
    /// The user's tags; the plan adds the ownership tag.
    pub tags: BTreeMap<String, String>,
    /// As for roles: tag keys owned by others.
    pub ignored_tag_keys: Vec<String>,
}

/// One version of a managed policy, as ListPolicyVersions shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyVersion {
    /// `v1`, `v2`, …
    pub id: String,
    pub is_default: bool,
    /// Seconds since the epoch; 0 when IAM did not say.
    pub created: i64,
}

/// What IAM has for a customer managed policy (the default version's document URL-decoded).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObservedPolicy {
    pub name: String,
    pub path: String,
    pub arn: String,
    pub policy_id: String,
    pub description: String,
    pub default_version_id: String,
    /// The default version's document.
    pub document: String,
    pub versions: Vec<PolicyVersion>,
    /// Users, groups and roles the policy is attached to.
    pub attachment_count: i32,
    pub tags: BTreeMap<String, String>,
}

/// Who a managed policy is attached to (ListEntitiesForPolicy).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyAttachments {
    pub roles: Vec<String>,
    pub users: Vec<String>,
    pub groups: Vec<String>,
}

impl PolicyAttachments {
    pub fn is_empty(&self) -> bool {
        self.roles.is_empty() && self.users.is_empty() && self.groups.is_empty()
    }

    /// `role a, user b`: for messages.
    pub fn describe(&self) -> String {
        let roles = self.roles.iter().map(|r| format!("role {r}"));
        let users = self.users.iter().map(|u| format!("user {u}"));
        let groups = self.groups.iter().map(|g| format!("group {g}"));
        roles
            .chain(users)
            .chain(groups)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The most versions IAM keeps of one managed policy.
pub const MAX_POLICY_VERSIONS: usize = 5;

/// One IAM write on a customer managed policy. The plan emits them in the order they must run.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, strum::IntoStaticStr)]
#[serde(tag = "operation")]
pub enum PolicyOp {
    /// The ownership tag goes in the create call, so a policy never exists unclaimed.
    CreatePolicy {
        policy_name: String,
        path: String,
        description: String,
        document: String,
        tags: BTreeMap<String, String>,
    },
    /// Always made the default version: a version that is not the default grants nothing.
    CreatePolicyVersion {
        policy_arn: String,
        document: String,
    },
    DeletePolicyVersion {
        policy_arn: String,
        version_id: String,
    },
    TagPolicy {
        policy_arn: String,
        tags: BTreeMap<String, String>,
    },
    UntagPolicy {
        policy_arn: String,
        keys: Vec<String>,
    },
    /// `--force-detach` only: the policy is taken off a role before it is deleted.
    DetachRolePolicy {
        role: String,
        policy_arn: String,
    },
    DeletePolicy {
        policy_arn: String,
    },
}

impl PolicyOp {
    /// The IAM API action name, as for [`IamOp::action`].
    pub fn action(&self) -> &'static str {
        self.into()
    }
}
