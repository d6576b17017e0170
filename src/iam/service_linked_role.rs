//! Service-linked roles: listed by the service's path, created and deleted through the service.
//! IAM runs the deletion as a task, polled with GetServiceLinkedRoleDeletionStatus.

use super::aws::AwsIam;
use super::read::{all_pages, unexpected};
use super::write::non_empty;
use crate::error::Result;
use crate::plan::service_linked_role::{
    DeletionAnswer, DesiredServiceLinkedRole, ObservedServiceLinkedRole, service_role_path,
};

impl AwsIam {
    /// ListRoles with the service's path prefix, every page.
    pub(super) async fn read_service_linked_roles(
        &self,
        aws_service_name: &str,
    ) -> Result<Vec<ObservedServiceLinkedRole>> {
        let pages = self
            .client
            .list_roles()
            .path_prefix(service_role_path(aws_service_name))
            .into_paginator()
            .send();
        all_pages("ListRoles", pages, |page| {
            let roles = page
                .roles
                .into_iter()
                .map(|role| ObservedServiceLinkedRole {
                    name: role.role_name,
                    arn: role.arn,
                    path: role.path,
                })
                .collect();
            (roles, page.is_truncated, page.marker)
        })
        .await
    }

    pub(super) async fn create_slr(
        &self,
        desired: &DesiredServiceLinkedRole,
    ) -> Result<ObservedServiceLinkedRole> {
        let action = "CreateServiceLinkedRole";
        let request = self
            .client
            .create_service_linked_role()
            .aws_service_name(&desired.aws_service_name)
            .set_custom_suffix(desired.custom_suffix.clone())
            .set_description(non_empty(&desired.description))
            .send();
        let created = self.call(action, request).await?;
        let role = created
            .role
            .ok_or_else(|| unexpected(action, "without the role it created"))?;
        Ok(ObservedServiceLinkedRole {
            name: role.role_name,
            arn: role.arn,
            path: role.path,
        })
    }

    /// The deletion task's id; `None` when the role is already gone.
    pub(super) async fn delete_slr(&self, name: &str) -> Result<Option<String>> {
        let request = self
            .client
            .delete_service_linked_role()
            .role_name(name)
            .send();
        let answer = self
            .call_optional("DeleteServiceLinkedRole", request)
            .await?;
        Ok(answer.map(|output| output.deletion_task_id))
    }

    pub(super) async fn slr_deletion_status(&self, task_id: &str) -> Result<DeletionAnswer> {
        let request = self
            .client
            .get_service_linked_role_deletion_status()
            .deletion_task_id(task_id)
            .send();
        let output = self
            .call("GetServiceLinkedRoleDeletionStatus", request)
            .await?;
        let failure = output.reason;
        Ok(DeletionAnswer {
            status: output.status.as_str().to_string(),
            reason: failure.as_ref().and_then(|f| f.reason.clone()),
            usage: failure
                .and_then(|f| f.role_usage_list)
                .unwrap_or_default()
                .into_iter()
                .map(|usage| {
                    (
                        usage.region.unwrap_or_default(),
                        usage.resources.unwrap_or_default(),
                    )
                })
                .collect(),
        })
    }
}
