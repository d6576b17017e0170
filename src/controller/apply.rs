//! Create-or-update of one object: admission, the engine (manage or observe), and what the
//! attempt means for status, Events and the next look.

use super::*;

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
    Ok(desired::role_name(
        &role.namespace().unwrap_or_default(),
        &role.name_any(),
        role.spec.role_name.as_deref(),
    ))
}

pub(super) async fn apply(role: Arc<IamRole>, ctx: &Context) -> Result<Action> {
    let key = object_key(&role);
    let uid = role.uid().unwrap_or_default();
    let attempt = match role.spec.management_policy {
        ManagementPolicy::Manage => manage(&role, ctx, &uid).await?,
        ManagementPolicy::Observe => observe(&role, ctx).await,
    };
    let error = attempt.failure.clone();
    let decision = decide(
        &attempt,
        role.status.as_ref(),
        role.metadata.generation,
        jiff::Timestamp::now(),
    );
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
        write_status(&role, ctx, &decision.status).await?;
    }
    Ok(action)
}

/// Makes IAM match the spec, and says what happened.
pub(super) async fn manage(role: &IamRole, ctx: &Context, uid: &str) -> Result<Attempt> {
    let owner = desired::owner(&ctx.settings.cluster_id, role)?;
    let admitted = match admissible_desired(role, &ctx.settings) {
        Ok(desired) => super::refs::with_policy_refs(desired, role, ctx).await,
        Err(error) => Err(error),
    };
    let (name, result) = match admitted {
        Ok(desired) => {
            let result = engine::apply(
                ctx.iam.as_ref(),
                &desired,
                &owner,
                role.spec.adopt,
                Mode::Execute,
            )
            .await;
            (Some(desired.name), result)
        }
        Err(error) => (None, Err(ApplyFailure::from(error))),
    };
    let (report, error) = match result {
        Ok(report) => (report, None),
        Err(failure) => (
            failure.report,
            Some(
                ctx.retry
                    .patience(uid, failure.error, ctx.settings.propagation_window),
            ),
        ),
    };
    Ok(Attempt {
        // A name goes into status only once a role of that name exists and is this object's:
        // status.roleName decides what deletion removes.
        role: RoleIdentity {
            name: name.filter(|_| report.role_arn.is_some()),
            arn: report.role_arn.clone(),
            id: report.role_id.clone(),
            last_used: report.last_used.clone(),
        },
        changes: report.ops.iter().map(|op| op.action()).collect(),
        warnings: (error.is_none() || !report.warnings.is_empty()).then_some(report.warnings),
        failure: error.as_ref().map(Failure::from),
        differences: report.differences,
        observing: false,
        spec_changed: spec_changed(role),
    })
}

/// Reads the role and reports how it differs; never writes to IAM.
pub(super) async fn observe(role: &IamRole, ctx: &Context) -> Attempt {
    let admitted = match admissible_desired(role, &ctx.settings) {
        Ok(desired) => super::refs::with_policy_refs(desired, role, ctx).await,
        Err(error) => Err(error),
    };
    let result = match admitted {
        Ok(desired) => engine::observe(ctx.iam.as_ref(), &desired)
            .await
            .map(|report| (desired.name, report)),
        Err(error) => Err(error),
    };
    match result {
        Ok((name, report)) => Attempt {
            role: RoleIdentity {
                name: Some(name),
                arn: Some(report.role_arn),
                id: Some(report.role_id),
                last_used: report.last_used,
            },
            warnings: Some(report.warnings),
            differences: report.differences,
            observing: true,
            spec_changed: spec_changed(role),
            ..Attempt::default()
        },
        Err(error) => Attempt {
            failure: Some(Failure::from(&error)),
            observing: true,
            spec_changed: spec_changed(role),
            ..Attempt::default()
        },
    }
}

pub(super) fn spec_changed(role: &IamRole) -> bool {
    role.status.as_ref().and_then(|s| s.observed_generation) != role.metadata.generation
}

/// The desired role, if this object may have it: the namespace's confinement, and the name it
/// already created (an old CRD without the CEL immutability rule must not rename and orphan it).
pub(super) fn admissible_desired(
    role: &IamRole,
    settings: &Settings,
) -> Result<crate::model::DesiredRole> {
    let mut desired = desired::desired_role(role)?;
    desired
        .ignored_tag_keys
        .extend(settings.ignore_tag_keys.iter().cloned());
    let namespace = role.namespace().unwrap_or_default();
    let problems = settings
        .confinement
        .check(&namespace, &desired.name, &desired.path);
    if !problems.is_empty() {
        return Err(Error::Forbidden(problems));
    }
    if let Some(status) = &role.status
        && status.role_arn.is_some()
        && let Some(recorded) = &status.role_name
        && recorded != &desired.name
    {
        return Err(Error::InvalidSpec(vec![format!(
            "spec.roleName: this object manages role {recorded}; renaming it to {} would orphan that role: create a new IamRole instead",
            desired.name
        )]));
    }
    Ok(desired)
}
