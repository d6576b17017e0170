//! The periodic drift check, decided over plain data: which managed roles differ from their spec
//! according to one bulk read of the account, and whether the bulk read is worth its calls.

use crate::iam::Sweep;
use crate::iam::sweep::PAGE_SIZE;
use crate::model::{DesiredRole, Owner};
use crate::plan;

/// How the periodic drift check reads IAM.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DriftCheck {
    /// Sweep unless per-role reads cost fewer calls.
    #[default]
    Auto,
    Sweep,
    PerRole,
}

/// One managed role as its object wants it.
#[derive(Clone, Debug)]
pub struct Managed<K> {
    /// Whatever identifies the object to the caller.
    pub key: K,
    pub desired: DesiredRole,
    pub owner: Owner,
    pub adopt: bool,
}

/// The objects whose role needs a reconcile: missing from the sweep (gone, or created after it
/// began), claimed by someone else, or different from the spec in anything the plan would write.
pub fn drifted<'a, K>(managed: &'a [Managed<K>], sweep: &Sweep) -> Vec<&'a K> {
    managed
        .iter()
        .filter(|m| {
            let observed = sweep.roles.get(&m.desired.name);
            observed.is_none()
                || !matches!(
                    plan::plan_apply(&m.desired, observed, &m.owner, m.adopt),
                    Ok(ops) if ops.is_empty()
                )
        })
        .map(|m| &m.key)
        .collect()
}

/// IAM calls to re-read these roles one by one: GetRole, ListRolePolicies, one GetRolePolicy
/// per inline policy and ListAttachedRolePolicies.
pub fn per_role_calls<K>(managed: &[Managed<K>]) -> usize {
    managed
        .iter()
        .map(|m| 3 + m.desired.inline_policies.len())
        .sum()
}

/// IAM calls of one sweep of an account with `roles` roles (all of them, managed or not): one
/// ListRoles and one GetAccountAuthorizationDetails page per 1,000 roles, at least one each.
/// IAM may answer with shorter pages, so this is the least it costs.
pub fn sweep_calls(roles: usize) -> usize {
    2 * roles.div_ceil(PAGE_SIZE as usize).max(1)
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::model::OWNER_TAG_KEY;
    use crate::plan::tests::fixtures::{LOGS, desired, observed, owner};

    fn managed(name: &str) -> Managed<String> {
        let mut desired = desired();
        desired.name = name.into();
        Managed {
            key: name.into(),
            desired,
            owner: owner(),
            adopt: false,
        }
    }

    fn seen(
        name: &str,
        change: impl Fn(&mut crate::model::ObservedRole),
    ) -> (String, crate::model::ObservedRole) {
        let mut role = observed();
        role.name = name.into();
        change(&mut role);
        (name.to_string(), role)
    }

    #[test]
    fn which_roles_drifted() {
        let fleet: Vec<Managed<String>> = [
            "same",
            "reordered",
            "inline",
            "tag",
            "claimed",
            "gone",
            "session",
        ]
        .into_iter()
        .map(managed)
        .collect();
        let sweep = Sweep {
            roles: HashMap::from([
                seen("same", |_| {}),
                // IAM answers documents reformatted: not drift.
                seen("reordered", |r| {
                    r.inline_policies
                        .insert("logs".into(), format!("  {LOGS}\n"));
                    r.managed_policy_arns.reverse();
                }),
                seen("inline", |r| {
                    r.inline_policies.insert("extra".into(), LOGS.into());
                }),
                seen("tag", |r| {
                    r.tags.insert("team".into(), "b".into());
                }),
                seen("claimed", |r| {
                    r.tags.insert(OWNER_TAG_KEY.into(), "other/ns/name".into());
                }),
                seen("session", |r| r.max_session_duration = 7200),
            ]),
            roles_in_account: 7,
            calls: 2,
        };
        let drifted: Vec<&str> = drifted(&fleet, &sweep)
            .into_iter()
            .map(String::as_str)
            .collect();
        assert_eq!(drifted, ["inline", "tag", "claimed", "gone", "session"]);
    }

    #[test]
    fn costs() {
        let cases = [
            (0, 2),
            (1, 2),
            (999, 2),
            (1000, 2),
            (1001, 4),
            (10_000, 20),
            (10_001, 22),
        ];
        for (roles, calls) in cases {
            assert_eq!(sweep_calls(roles), calls, "{roles} roles");
        }
        let fleet: Vec<Managed<String>> = (0..3).map(|i| managed(&format!("r{i}"))).collect();
        assert_eq!(
            per_role_calls(&fleet),
            15,
            "3 roles with 2 inline policies each"
        );
    }

    #[test]
    fn when_to_sweep() {
        let cases = [
            // per-role calls, roles in the account, sweep?
            (5, None, true),
            (1, Some(0), false),
            (2, Some(10), true),
            (5, Some(10), true),
            (5, Some(5_000), false),
            (50_000, Some(10_000), true),
            (15, Some(3_000), true),
            (5, Some(3_000), false),
        ];
        for (per_role, roles, want) in cases {
            assert_eq!(
                sweep_pays_off(DriftCheck::Auto, per_role, roles),
                want,
                "{per_role} vs {roles:?}"
            );
            assert!(sweep_pays_off(DriftCheck::Sweep, per_role, roles));
            assert!(!sweep_pays_off(DriftCheck::PerRole, per_role, roles));
        }
    }
}
