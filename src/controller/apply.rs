//! Create-or-update of one object: admission, the engine (manage or observe), and what the
//! attempt means for status, Events and the next look.

use super::*;
use crate::admission::{self, Admitted};

pub(super) fn object_key(role: &IamRole) -> String {
    format!(
        "{}/{}",
        role.namespace().unwrap_or_default(),
        role.name_any()
    )
}

/// The role name this object manages: the one recorded in status once created (so a name
/// derivation change can never orphan a role), else the one the spec gives.
pub(super) fn managed_role_name(role: &IamRole) -> Result<String> {
    if let Some(name) = role.status.as_ref().and_then(|s| s.role_name.clone()) {
        return Ok(name);
    }
    Ok(desired::role_name(role))
}

pub(super) async fn apply(role: Arc<IamRole>, ctx: &Context) -> Result<Action> {
    let key = object_key(&role);
    let uid = role.uid().unwrap_or_default();
    let mut attempt = match role.spec.management_policy {
        ManagementPolicy::Manage => manage(&role, ctx, &uid).await?,
        ManagementPolicy::Observe => observe(&role, ctx).await,
    };
    // The ServiceAccounts get the role once it exists and matches the spec. An observed role is
    // only read: no annotation, no association.
    let mut associations = None;
    if let (None, Some(arn), ManagementPolicy::Manage) = (
        &attempt.failure,
        attempt.role.arn.clone(),
        role.spec.management_policy,
    ) {
        let (now, associated) = super::pod_identity::associate(&role, &arn, ctx).await;
        associations = Some(now);
        let wired = super::service_accounts::wire(&role, &arn, ctx).await;
        if let Err(error) = associated.and(wired) {
            attempt.failure = Some(Failure::from(&error));
        }
    }
    let error = attempt.failure.clone();
    let mut decision = decide(
        &attempt,
        role.status.as_ref(),
        role.metadata.generation,
        jiff::Timestamp::now(),
    );
    if let Some(now) = associations {
        let before = role
            .status
            .as_ref()
            .map(|s| s.pod_identity_associations.as_slice())
            .unwrap_or_default();
        decision.write_status |= before != now.as_slice();
        decision.status.pod_identity_associations = now;
    }
    let action = match (&error, decision.requeue) {
        (Some(failure), Requeue::Retry) => {
            let delay = ctx.retry_delay(&key, failure.retry_after);
            tracing::warn!(category = %failure.category, error = %failure.message, ?delay, "transient failure; retrying");
            Action::requeue(delay)
        }
        (failure, _) => {
            if let Some(failure) = failure {
                tracing::info!(category = %failure.category, error = %failure.message, "blocked until the spec changes");
            }
            ctx.retry.forget_failures(&key, &uid);
            Action::await_change()
        }
    };
    if let Some(failure) = &error {
        ctx.metrics.failed(failure.category);
    }
    for note in &decision.events {
        publish(&role.object_ref(&()), ctx, note).await;
    }
    if decision.write_status {
        write_status(role.as_ref(), ctx, &decision.status).await?;
    }
    Ok(action)
}

/// Makes IAM match the spec, and says what happened.
pub(super) async fn manage(role: &IamRole, ctx: &Context, uid: &str) -> Result<Attempt> {
    let mut account = None;
    let (name, result) = match admit_and_route(role, ctx, true).await {
        Ok((admitted, routed)) => {
            let result = engine::apply(
                routed.iam.as_ref(),
                &admitted.desired,
                &admitted.owner,
                role.spec.adopt,
                Mode::Execute,
            )
            .await;
            account = Some(routed.account_id);
            (Some(admitted.desired.name), result)
        }
        Err(error) => (None, Err(ApplyFailure::from(error))),
    };
    let (mut report, error) = match result {
        Ok(report) => (report, None),
        Err(failure) => (
            failure.report,
            Some(
                ctx.retry
                    .patience(uid, failure.error, ctx.settings.propagation_window),
            ),
        ),
    };
    if let Some(quota) = &report.quota {
        ctx.metrics.account_quota(quota);
    }
    report.findings.extend(unused(
        report.created.as_deref(),
        report.last_used.as_ref(),
        &ctx.settings,
    ));
    // Like the Warnings condition: a reconcile that failed before checking keeps the prior count.
    if error.is_none() || !report.findings.is_empty() {
        ctx.metrics
            .set_findings(&object_key(role), &report.findings);
    }
    Ok(Attempt {
        // A name goes into status only once a role of that name exists and is this object's:
        // status.roleName decides what deletion removes.
        role: RoleIdentity {
            name: name.filter(|_| report.role_arn.is_some()),
            arn: report.role_arn.clone(),
            id: report.role_id.clone(),
            last_used: report.last_used.clone(),
            account: account.filter(|_| report.role_arn.is_some()),
            instance_profile_arn: report.instance_profile_arn.clone(),
        },
        changes: report.ops.iter().map(|op| op.action()).collect(),
        findings: (error.is_none() || !report.findings.is_empty()).then_some(report.findings),
        failure: error.as_ref().map(Failure::from),
        differences: report.differences,
        observing: false,
        spec_changed: spec_changed(role),
    })
}

/// Reads the role and reports how it differs; never writes to IAM.
pub(super) async fn observe(role: &IamRole, ctx: &Context) -> Attempt {
    // Observe never writes: there is nothing for a guardrail to refuse.
    let result = match admit_and_route(role, ctx, false).await {
        Ok((admitted, routed)) => {
            engine::observe(routed.iam.as_ref(), &admitted.desired, &admitted.owner)
                .await
                .map(|report| (admitted.desired.name, report, routed.account_id))
        }
        Err(error) => Err(error),
    };
    match result {
        Ok((name, mut report, account)) => {
            report.findings.extend(unused(
                report.created.as_deref(),
                report.last_used.as_ref(),
                &ctx.settings,
            ));
            ctx.metrics
                .set_findings(&object_key(role), &report.findings);
            Attempt {
                role: RoleIdentity {
                    name: Some(name),
                    arn: Some(report.role_arn),
                    id: Some(report.role_id),
                    last_used: report.last_used,
                    account: Some(account),
                    instance_profile_arn: report.instance_profile_arn,
                },
                findings: Some(report.findings),
                differences: report.differences,
                observing: true,
                spec_changed: spec_changed(role),
                ..Attempt::default()
            }
        }
        Err(error) => Attempt {
            failure: Some(Failure::from(&error)),
            observing: true,
            spec_changed: spec_changed(role),
            ..Attempt::default()
        },
    }
}

/// `unused-role` for a role IAM created at `created` and last saw used as `last_used`, judged now.
fn unused(
    created: Option<&str>,
    last_used: Option<&crate::model::LastUsed>,
    settings: &Settings,
) -> Option<admission::Finding> {
    let usage = crate::findings::Usage::from_iam(jiff::Timestamp::now(), created, last_used)?;
    crate::findings::unused_role(&usage, settings.unused_after).map(|f| f.to_admission())
}

/// IamPolicies are made in the operator's own account: a role in another account cannot attach
/// them. Checked before the references are resolved, so the role does not wait for them.
async fn refs_stay_home(role: &IamRole, ctx: &Context) -> Result<()> {
    if role.spec.managed_policy_refs.is_empty() {
        return Ok(());
    }
    let Ok(Some((_, spec))) = ctx.accounts.choose(role) else {
        return Ok(());
    };
    let own = ctx.iam.caller_account().await?;
    if spec.account_id == own {
        return Ok(());
    }
    Err(Error::Account {
        category: Category::AccountNotAllowed,
        message: format!(
            "managedPolicyRefs name IamPolicies, which rolesmith makes in its own account {own}; a role in account {} cannot attach them: use managedPolicyArns with policies of that account",
            spec.account_id
        ),
    })
}

/// A reconcile of a throttled account that would wait longer than this for the account's pause
/// is requeued instead: the workers are shared by every account, and waiting in one would hold
/// back the roles of accounts that are not throttled.
const WAIT_IN_WORKER: std::time::Duration = std::time::Duration::from_millis(250);

/// Admission first (a refused object costs no call anywhere), with the guardrails in force when
/// the role is to be written; then the account: a namespace that may not use it causes no call
/// with its credentials; then the guardrails' rules that need the role's account. A role they
/// refuse causes no IAM write, and an existing one stays as it is.
async fn admit_and_route(
    role: &IamRole,
    ctx: &Context,
    guarded: bool,
) -> Result<(Admitted, super::account::Routed)> {
    refs_stay_home(role, ctx).await?;
    let guardrails = if guarded {
        super::guardrails::in_force(ctx).await?
    } else {
        Vec::new()
    };
    let admitted =
        super::refs::admit_with_refs(role, ctx, &mut Default::default(), &guardrails).await?;
    let routed = ctx.accounts.route(role).await?;
    let problems = admission::account_guardrail_problems(
        &admitted.owner.namespace,
        &admitted.desired,
        &guardrails,
        &routed.account_id,
    );
    if !problems.is_empty() {
        return Err(Error::refused(problems));
    }
    if let Some(pause) = routed
        .iam
        .paused_for()
        .filter(|pause| *pause >= WAIT_IN_WORKER)
    {
        return Err(Error::Iam {
            action: "Throttled",
            code: "Throttling".into(),
            message: format!(
                "IAM is throttling account {}; rolesmith calls it again in {} ms",
                routed.account_id,
                pause.as_millis()
            ),
            category: Category::IamTransient,
            retry_after: Some(pause),
        });
    }
    Ok((admitted, routed))
}

pub(super) fn spec_changed(role: &IamRole) -> bool {
    role.status.as_ref().and_then(|s| s.observed_generation) != role.metadata.generation
}

/// Admission with the operator's settings and `guardrails`; `other_account` is the account of
/// a role that does not live in the operator's (its ServiceAccounts' trust differs there).
/// Findings are left to the engine, which knows the account.
pub(super) fn admit(
    role: &IamRole,
    settings: &Settings,
    guardrails: &[admission::Guardrail],
    other_account: Option<&str>,
) -> Result<Admitted> {
    let workloads = match other_account {
        Some(account) => std::borrow::Cow::Owned(settings.workloads.in_other_account(account)),
        None => std::borrow::Cow::Borrowed(&settings.workloads),
    };
    let context = admission::Context {
        confinement: &settings.confinement,
        ignore_tag_keys: &settings.ignore_tag_keys,
        cluster_id: &settings.cluster_id,
        guardrails,
        workloads: &workloads,
    };
    admission::admit(&desired::input(role), &context).map_err(Error::refused)
}
