//! The drift check of a whole account in a few calls: GetAccountAuthorizationDetails (Filter
//! Role) returns every role with its trust policy, inline and attached policies, boundary and
//! tags, up to 1,000 per page; ListRoles adds what it lacks (description, maximum session). Two
//! walks of the account's roles: the first keeps only those two settings of the wanted roles,
//! the second hands each wanted role to the visitor as its page arrives, so memory holds one
//! page, not the fleet.

use std::collections::{BTreeMap, HashMap};

use super::SweepVisitor;

use aws_sdk_iam::types::{EntityType, RoleDetail};

use super::Sweep;
use super::aws::AwsIam;
use crate::admission::limits::SESSION_DEFAULT;
use crate::error::Result;
use crate::model::ObservedRole;
use crate::policy::decode_iam_text;

pub use crate::model::BULK_PAGE_SIZE as PAGE_SIZE;

impl AwsIam {
    pub(super) async fn read_account(&self, visitor: &mut dyn SweepVisitor) -> Result<Sweep> {
        let mut calls = 0;
        let mut in_account = 0;
        // Description and maximum session, by role name: only for the roles asked for.
        let mut settings: HashMap<String, (String, i32)> = HashMap::new();
        let mut marker: Option<String> = None;
        loop {
            let request = self
                .client
                .list_roles()
                .max_items(PAGE_SIZE)
                .set_marker(marker.take())
                .send();
            let page = self.call("ListRoles", request).await?;
            calls += 1;
            in_account += page.roles.len();
            for role in page.roles {
                if visitor.wants(&role.role_name) {
                    let session = role.max_session_duration.unwrap_or(SESSION_DEFAULT);
                    let description = role.description.unwrap_or_default();
                    settings.insert(role.role_name, (description, session));
                }
            }
            match next_marker(page.is_truncated, page.marker) {
                Some(next) => marker = Some(next),
                None => break,
            }
        }

        loop {
            let request = self
                .client
                .get_account_authorization_details()
                .filter(EntityType::Role)
                .max_items(PAGE_SIZE)
                .set_marker(marker.take())
                .send();
            let page = self.call("GetAccountAuthorizationDetails", request).await?;
            calls += 1;
            for detail in page.role_detail_list.unwrap_or_default() {
                let Some(name) = detail.role_name.as_deref() else {
                    continue;
                };
                // A role created between the two walks has no settings yet: leaving it out
                // makes the caller read it on its own.
                if let Some((description, session)) = settings.remove(name) {
                    visitor.visit(observed_role(detail, description, session));
                }
            }
            match next_marker(page.is_truncated, page.marker) {
                Some(next) => marker = Some(next),
                None => break,
            }
        }
        Ok(Sweep {
            roles_in_account: in_account,
            calls,
        })
    }
}

/// The marker of the next page, if IAM says there is one. A truncated page without a marker
/// would loop forever: it ends the walk instead.
pub(super) fn next_marker(is_truncated: bool, marker: Option<String>) -> Option<String> {
    marker.filter(|m| is_truncated && !m.is_empty())
}

pub(super) fn observed_role(detail: RoleDetail, description: String, session: i32) -> ObservedRole {
    ObservedRole {
        name: detail.role_name.unwrap_or_default(),
        settings: crate::model::RoleSettings {
            path: detail.path.unwrap_or_default(),
            description,
            max_session_duration: session,
            assume_role_policy: detail
                .assume_role_policy_document
                .as_deref()
                .map(decode_iam_text)
                .unwrap_or_default(),
            inline_policies: detail
                .role_policy_list
                .unwrap_or_default()
                .into_iter()
                .filter_map(|policy| {
                    let document = decode_iam_text(policy.policy_document.as_deref()?);
                    Some((policy.policy_name?, document))
                })
                .collect::<BTreeMap<_, _>>(),
            managed_policy_arns: detail
                .attached_managed_policies
                .unwrap_or_default()
                .into_iter()
                .filter_map(|policy| policy.policy_arn)
                .collect(),
            permissions_boundary: detail
                .permissions_boundary
                .and_then(|boundary| boundary.permissions_boundary_arn),
            tags: detail
                .tags
                .unwrap_or_default()
                .into_iter()
                .map(|tag| (tag.key, tag.value))
                .collect(),
        },
        arn: detail.arn.unwrap_or_default(),
        role_id: detail.role_id.unwrap_or_default(),
        last_used: detail
            .role_last_used
            .as_ref()
            .and_then(super::read::last_used),
        // The sweep's cover of the instance profiles: each role's InstanceProfileList, so drift
        // of spec.instanceProfile costs no call of its own.
        instance_profiles: detail
            .instance_profile_list
            .unwrap_or_default()
            .iter()
            .map(super::instance_profile::profile_ref)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The account sweep carries RoleLastUsed as GetRole does (moto fills neither).
    #[test]
    fn last_used_from_the_sweep() {
        let detail = RoleDetail::builder()
            .role_name("app")
            .role_last_used(
                aws_sdk_iam::types::RoleLastUsed::builder()
                    .last_used_date(aws_smithy_types::DateTime::from_secs(0))
                    .region("eu-central-1")
                    .build(),
            )
            .build();
        let observed = observed_role(detail, String::new(), 3600);
        assert_eq!(
            observed.last_used,
            Some(crate::model::LastUsed {
                date: Some("1970-01-01T00:00:00Z".into()),
                region: Some("eu-central-1".into()),
            })
        );
        let bare = observed_role(
            RoleDetail::builder().role_name("b").build(),
            String::new(),
            3600,
        );
        assert_eq!(bare.last_used, None);
    }

    #[test]
    fn markers() {
        let cases = [
            (true, Some("m"), Some("m")),
            (false, Some("m"), None),
            (true, None, None),
            (true, Some(""), None),
            (false, None, None),
        ];
        for (truncated, marker, want) in cases {
            assert_eq!(
                next_marker(truncated, marker.map(str::to_string)).as_deref(),
                want,
                "{truncated} {marker:?}"
            );
        }
    }
}
