//! The periodic drift check, decided over plain data: which managed roles differ from their spec
//! according to one bulk read of the account, and whether the bulk read is worth its calls.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

use crate::error::truncate;
use crate::model::{BULK_PAGE_SIZE, DesiredRole, ObservedRole, Owner, SweepVisitor};
use crate::plan;
use crate::policy::equivalent;

/// Status lists at most this many differences; the last entry then says how many more.
pub const MAX_DIFFERENCES: usize = 20;

/// One field in which IAM differs from the spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub field: String,
    pub summary: String,
}

fn difference(field: impl Into<String>, summary: impl Into<String>) -> Difference {
    Difference {
        field: field.into(),
        summary: summary.into(),
    }
}

/// How the role in IAM differs from the spec, field by field, compared as the plan compares
/// (documents by meaning, attachments as a set). rolesmith's ownership tag, `aws:` tags and keys
/// owned by others are not differences.
pub fn differences(desired: &DesiredRole, observed: &ObservedRole) -> Vec<Difference> {
    let mut found = Vec::new();
    if !equivalent(&desired.assume_role_policy, &observed.assume_role_policy) {
        found.push(difference(
            "trust",
            "the trust policy in IAM differs from the spec",
        ));
    }
    let names: BTreeSet<&String> = desired
        .inline_policies
        .keys()
        .chain(observed.inline_policies.keys())
        .collect();
    for name in names {
        let summary = match (
            desired.inline_policies.get(name),
            observed.inline_policies.get(name),
        ) {
            (Some(_), None) => "missing in IAM",
            (None, Some(_)) => "in IAM but not in the spec",
            (Some(want), Some(have)) if !equivalent(want, have) => "the document in IAM differs",
            _ => continue,
        };
        found.push(difference(format!("inlinePolicies.{name}"), summary));
    }
    let want: BTreeSet<&String> = desired.managed_policy_arns.iter().collect();
    let have: BTreeSet<&String> = observed.managed_policy_arns.iter().collect();
    if want != have {
        let list = |arns: Vec<&&String>| {
            arns.iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let missing = list(want.difference(&have).collect());
        let extra = list(have.difference(&want).collect());
        let summary = match (missing.is_empty(), extra.is_empty()) {
            (false, false) => {
                format!("not attached: {missing}; attached but not in the spec: {extra}")
            }
            (false, true) => format!("not attached: {missing}"),
            _ => format!("attached but not in the spec: {extra}"),
        };
        found.push(difference("managedPolicyArns", summary));
    }
    let ignored =
        |key: &str| plan::is_protected(key) || plan::is_ignored(key, &desired.ignored_tag_keys);
    let keys: BTreeSet<&String> = desired.tags.keys().chain(observed.tags.keys()).collect();
    for key in keys.into_iter().filter(|k| !ignored(k)) {
        let summary = match (desired.tags.get(key), observed.tags.get(key)) {
            (Some(want), None) => format!("missing in IAM (spec: {})", shown(want)),
            (None, Some(have)) => format!("in IAM ({}) but not in the spec", shown(have)),
            (Some(want), Some(have)) if want != have => {
                format!("IAM has {}, the spec {}", shown(have), shown(want))
            }
            _ => continue,
        };
        found.push(difference(format!("tags.{key}"), summary));
    }
    if desired.permissions_boundary != observed.permissions_boundary {
        let show = |b: &Option<String>| b.clone().unwrap_or_else(|| "none".into());
        found.push(difference(
            "permissionsBoundary",
            format!(
                "IAM has {}, the spec {}",
                show(&observed.permissions_boundary),
                show(&desired.permissions_boundary)
            ),
        ));
    }
    if desired.description != observed.description {
        found.push(difference(
            "description",
            format!(
                "IAM has {}, the spec {}",
                shown(&observed.description),
                shown(&desired.description)
            ),
        ));
    }
    if desired.max_session_duration != observed.max_session_duration {
        found.push(difference(
            "maxSessionDuration",
            format!(
                "IAM has {} s, the spec {} s",
                observed.max_session_duration, desired.max_session_duration
            ),
        ));
    }
    if profile_missing(desired, observed) {
        found.push(difference(
            "instanceProfile",
            format!("no instance profile {} holds the role in IAM", desired.name),
        ));
    }
    bounded(found)
}

fn shown(text: &str) -> String {
    format!("{:?}", truncate(text, 40))
}

fn bounded(mut found: Vec<Difference>) -> Vec<Difference> {
    if found.len() > MAX_DIFFERENCES {
        let more = found.len() - (MAX_DIFFERENCES - 1);
        found.truncate(MAX_DIFFERENCES - 1);
        found.push(difference("…", format!("{more} more differences")));
    }
    found
}

/// How the periodic drift check reads IAM.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DriftCheck {
    /// Sweep unless per-role reads cost fewer calls.
    #[default]
    Auto,
    Sweep,
    PerRole,
}

/// When an object's role was last made to match its spec, as its status says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LastSync {
    /// No status yet: the object's first reconcile is queued and reads the role itself.
    Pending,
    /// Reconciled but never in sync (its retries, or the user, deal with it).
    Never,
    At(jiff::Timestamp),
}

impl LastSync {
    /// Whether a sweep that began at `sweep_started` knows more than the object's own last
    /// reconcile: not when that reconcile is still to come or ended after the bulk read began (a
    /// role created or written meanwhile would look missing or half-written to the sweep).
    pub fn judged_by(self, sweep_started: jiff::Timestamp) -> bool {
        match self {
            LastSync::Pending => false,
            LastSync::Never => true,
            LastSync::At(at) => at < sweep_started,
        }
    }
}

/// One managed role as its object wants it.
#[derive(Clone, Debug)]
pub struct Managed<K> {
    /// Whatever identifies the object to the caller.
    pub key: K,
    pub desired: DesiredRole,
    pub owner: Owner,
    pub adopt: bool,
    /// `Observe`: only a change in how IAM differs from the spec is news, given the fields the
    /// object's status already lists.
    pub observed_drift: Option<Vec<String>>,
    pub last_sync: LastSync,
    /// status.lastUsed's date, as the object's last reconcile recorded it.
    pub recorded_last_used: Option<String>,
}

/// What a drift check needs of an object before its role is read; the rest ([`Managed`]) is
/// built only when the sweep hands that role over, so a sweep of 10,000 roles never holds
/// 10,000 desired roles at once.
#[derive(Clone, Debug)]
pub struct Candidate<K> {
    pub key: K,
    pub role_name: String,
    pub last_sync: LastSync,
    pub inline_policies: usize,
}

/// Builds an object's [`Managed`] when the sweep reaches its role; `None` leaves the object to
/// its own reconcile (it changed, went, or is refused now).
type Resolve<'a, K> = Box<dyn FnMut(usize) -> Option<Cow<'a, Managed<K>>> + Send + 'a>;

/// The drift check of one sweep, fed page by page: it keeps only which objects need a
/// reconcile. Those are the objects whose role is missing from the sweep (gone, or created after
/// it began), claimed by someone else, or different from the spec in anything the plan would
/// write. Objects reconciled since the sweep began (or not yet) are left out: they know better.
pub struct DriftJudge<'a, K: Clone> {
    objects: Vec<(&'a K, LastSync)>,
    by_name: HashMap<&'a str, usize>,
    resolve: Resolve<'a, K>,
    seen: Vec<bool>,
    drifted: Vec<bool>,
    sweep_started: jiff::Timestamp,
    /// When set, a role whose use is news ([`usage::use_changed`]) is reconciled too.
    unused_after: Option<std::time::Duration>,
}

impl<'a, K: Clone + Sync> DriftJudge<'a, K> {
    /// A judge of roles whose objects were all admitted beforehand.
    pub fn new(managed: &'a [Managed<K>], sweep_started: jiff::Timestamp) -> Self {
        Self::build(
            managed
                .iter()
                .map(|m| (&m.key, m.desired.name.as_str(), m.last_sync)),
            Box::new(move |i| managed.get(i).map(Cow::Borrowed)),
            sweep_started,
        )
    }

    /// A judge that admits each object (`resolve`) only when the sweep hands over its role.
    pub fn lazy(
        candidates: &'a [Candidate<K>],
        mut resolve: impl FnMut(&Candidate<K>) -> Option<Managed<K>> + Send + 'a,
        sweep_started: jiff::Timestamp,
    ) -> Self {
        Self::build(
            candidates
                .iter()
                .map(|c| (&c.key, c.role_name.as_str(), c.last_sync)),
            Box::new(move |i| {
                let candidate = candidates.get(i)?;
                // An object whose role name changed since is its own reconcile's.
                resolve(candidate)
                    .filter(|m| m.desired.name == candidate.role_name)
                    .map(Cow::Owned)
            }),
            sweep_started,
        )
    }

    fn build(
        objects: impl Iterator<Item = (&'a K, &'a str, LastSync)>,
        resolve: Resolve<'a, K>,
        sweep_started: jiff::Timestamp,
    ) -> Self {
        let mut by_name = HashMap::new();
        let objects: Vec<(&'a K, LastSync)> = objects
            .enumerate()
            .map(|(i, (key, name, last_sync))| {
                by_name.insert(name, i);
                (key, last_sync)
            })
            .collect();
        DriftJudge {
            seen: vec![false; objects.len()],
            drifted: vec![false; objects.len()],
            objects,
            by_name,
            resolve,
            sweep_started,
            unused_after: None,
        }
    }

    /// Also reconciles the objects whose role's use is news: used since status recorded it, or
    /// turned unused (after `unused_after`) or used since the object was last in sync.
    pub fn judging_use(mut self, unused_after: std::time::Duration) -> Self {
        self.unused_after = Some(unused_after);
        self
    }

    /// The objects to reconcile, in the order they were given.
    pub fn drifted(self) -> Vec<&'a K> {
        let started = self.sweep_started;
        self.objects
            .iter()
            .zip(self.seen.iter().zip(&self.drifted))
            .filter(|((_, last_sync), (seen, drifted))| {
                last_sync.judged_by(started) && (**drifted || !**seen)
            })
            .map(|((key, _), _)| *key)
            .collect()
    }
}

impl<K: Clone + Sync> SweepVisitor for DriftJudge<'_, K> {
    fn wants(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    fn visit(&mut self, observed: ObservedRole) {
        let Some(&i) = self.by_name.get(observed.name.as_str()) else {
            return;
        };
        self.seen[i] = true;
        let Some(m) = (self.resolve)(i) else {
            return;
        };
        self.drifted[i] = differs(&m, &observed)
            || self
                .unused_after
                .is_some_and(|after| usage::use_changed(&m, &observed, self.sweep_started, after));
    }
}

fn differs<K>(m: &Managed<K>, observed: &ObservedRole) -> bool {
    match &m.observed_drift {
        Some(known) => {
            let fields: Vec<String> = differences(&m.desired, observed)
                .into_iter()
                .map(|d| d.field)
                .collect();
            &fields != known
        }
        None => {
            !matches!(
                plan::plan_apply(&m.desired, Some(observed), &m.owner, m.adopt),
                Ok(ops) if ops.is_empty()
            ) || profile_missing(&m.desired, observed)
        }
    }
}

/// The instance profile the spec asks for does not hold the role. Only that way round: a
/// profile holding the role without being asked for may be someone else's, which the reconcile
/// (reading its tags) leaves alone, so it would be found again after every sweep.
fn profile_missing(desired: &DesiredRole, observed: &ObservedRole) -> bool {
    desired.instance_profile && plan::own_profile(Some(observed)).is_none()
}

/// IAM calls to re-read these roles one by one: GetRole, ListRolePolicies, one GetRolePolicy
/// per inline policy, ListAttachedRolePolicies and ListInstanceProfilesForRole.
pub fn per_role_calls(inline_policies: impl IntoIterator<Item = usize>) -> usize {
    inline_policies.into_iter().map(|n| 4 + n).sum()
}

/// IAM calls of one sweep of an account with `roles` roles (all of them, managed or not): one
/// ListRoles and one GetAccountAuthorizationDetails page per 1,000 roles, at least one each.
/// IAM may answer with shorter pages, so this is the least it costs.
pub fn sweep_calls(roles: usize) -> usize {
    2 * roles.div_ceil(BULK_PAGE_SIZE as usize).max(1)
}

/// Whether to sweep rather than read the managed roles one by one. `Auto` sweeps when that is
/// no dearer; until a sweep has counted the account's roles it sweeps: that is how they get
/// counted.
pub fn sweep_pays_off(
    mode: DriftCheck,
    per_role_calls: usize,
    roles_in_account: Option<usize>,
) -> bool {
    match mode {
        DriftCheck::Sweep => true,
        DriftCheck::PerRole => false,
        DriftCheck::Auto => {
            roles_in_account.is_none_or(|roles| sweep_calls(roles) <= per_role_calls)
        }
    }
}

mod usage;
pub use usage::LAST_USED_REFRESH;

#[cfg(test)]
mod tests;
