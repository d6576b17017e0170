//! What one account's drift check compares: its objects, admitted as their reconciles admit
//! them. Until the sweep reaches an object's role only a small record of it is kept
//! ([`Candidate`]); its desired role is built again then, so a sweep never holds every desired
//! role of a large fleet at once.

use std::collections::HashMap;
use std::sync::Arc;

use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};

use super::super::{CachedRole, Context, admit};
use crate::admission::{Admitted, Guardrail};
use crate::api::IamRole;
use crate::drift::{Candidate, LastSync, Managed};
use crate::error::Result;
use crate::model::ManagementPolicy;

pub(super) type Key = ObjectRef<CachedRole>;

/// The objects of one account whose roles a drift check judges. Objects that are being
/// deleted, cannot be read, or are refused by admission are left to their own reconciles.
pub(super) struct Fleet {
    pub candidates: Vec<Candidate<Key>>,
    /// Objects with `managedPolicyRefs`, admitted in full already: resolving the references
    /// takes API reads, which cannot wait inside the sweep.
    resolved: HashMap<String, Managed<Key>>,
    admission: Admission,
}

impl Fleet {
    /// The objects in `store` that live in the account `key` (None: the operator's own).
    pub(super) async fn of_account(
        ctx: &Arc<Context>,
        store: &Store<CachedRole>,
        key: Option<&str>,
    ) -> Fleet {
        let admission = Admission::now(ctx.clone()).await;
        let objects = store.state();
        // Sized once: grown by doubling, 10,000 candidates would take twice their memory.
        let mut candidates = Vec::with_capacity(objects.len());
        let mut resolved = HashMap::new();
        let mut policy_arns = super::super::refs::PolicyArns::default();
        for cached in objects {
            let Some(role) = admission.in_account(&cached, key) else {
                continue;
            };
            let role = &role;
            let admitted = if role.spec.managed_policy_refs.is_empty() {
                admission.admit(role)
            } else {
                super::super::refs::admit_with_refs(
                    role,
                    ctx,
                    &mut policy_arns,
                    &admission.guardrails,
                )
                .await
            };
            let Ok(admitted) = admitted else {
                continue;
            };
            let managed = managed(role, admitted);
            candidates.push(Candidate {
                key: managed.key.clone(),
                role_name: managed.desired.name.clone(),
                last_sync: managed.last_sync,
                inline_policies: managed.desired.inline_policies.len(),
            });
            if !role.spec.managed_policy_refs.is_empty() {
                resolved.insert(managed.desired.name.clone(), managed);
            }
        }
        // Other accounts' objects were counted in the capacity.
        candidates.shrink_to_fit();
        Fleet {
            candidates,
            resolved,
            admission,
        }
    }

    /// Builds a candidate's [`Managed`] from the object as the store holds it now.
    pub(super) fn resolver(
        &mut self,
        store: Store<CachedRole>,
    ) -> impl FnMut(&Candidate<Key>) -> Option<Managed<Key>> + Send + use<> {
        let mut resolved = std::mem::take(&mut self.resolved);
        let admission = self.admission.clone();
        move |candidate| {
            if let Some(managed) = resolved.remove(&candidate.role_name) {
                return Some(managed);
            }
            let cached = store.get(&candidate.key)?;
            if cached.meta().deletion_timestamp.is_some() {
                return None;
            }
            let role = cached.role()?;
            admission
                .admit(&role)
                .ok()
                .map(|admitted| managed(&role, admitted))
        }
    }
}

/// The guardrails and the operator's account as one sweep sees them.
#[derive(Clone)]
struct Admission {
    ctx: Arc<Context>,
    guardrails: Arc<Vec<Guardrail>>,
    own_account: Option<String>,
}

impl Admission {
    async fn now(ctx: Arc<Context>) -> Admission {
        // A role a guardrail refuses is left alone, as any refused one.
        let guardrails = Arc::new(super::super::guardrails::current(&ctx.guardrails));
        let own_account = ctx.iam.caller_account().await.ok();
        Admission {
            ctx,
            guardrails,
            own_account,
        }
    }

    /// The object's role, if it lives in the account `key` and is not being deleted. Only the
    /// objects of the account are decoded.
    fn in_account(&self, cached: &CachedRole, key: Option<&str>) -> Option<IamRole> {
        let facts = cached.facts();
        if cached.meta().deletion_timestamp.is_some() || !facts.readable {
            return None;
        }
        let namespace = cached.namespace().unwrap_or_default();
        let chosen = self
            .ctx
            .accounts
            .choose_for(facts.account_ref.as_deref(), &namespace)
            .ok()?;
        if chosen.as_ref().map(|(name, _)| name.as_str()) != key {
            return None;
        }
        cached.role()
    }

    /// As the reconcile admits it: ServiceAccounts' trust differs in another account.
    fn admit(&self, role: &IamRole) -> Result<Admitted> {
        let chosen = self.ctx.accounts.choose(role).ok().flatten();
        let other_account = self.own_account.as_deref().and_then(|own| {
            super::super::refs::other_account(role, chosen.as_ref().map(|(_, spec)| spec), own)
        });
        admit(role, &self.ctx.settings, &self.guardrails, other_account)
    }
}

fn managed(role: &IamRole, admitted: Admitted) -> Managed<Key> {
    let key = ObjectRef::new(&role.name_any()).within(&role.namespace().unwrap_or_default());
    let observed_drift = (role.spec.management_policy == ManagementPolicy::Observe).then(|| {
        role.status
            .as_ref()
            .map(|s| s.drift.iter().map(|d| d.field.clone()).collect())
            .unwrap_or_default()
    });
    let last_sync = match &role.status {
        None => LastSync::Pending,
        Some(status) => status
            .last_sync_time
            .as_deref()
            .and_then(|t| t.parse().ok())
            .map_or(LastSync::Never, LastSync::At),
    };
    Managed {
        key,
        desired: admitted.desired,
        owner: admitted.owner,
        adopt: role.spec.adopt,
        observed_drift,
        last_sync,
        recorded_last_used: role
            .status
            .as_ref()
            .and_then(|s| s.last_used.as_ref())
            .and_then(|used| used.last_used_date.clone()),
    }
}
