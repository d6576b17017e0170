//! Reading a role: the 4 + N calls floor (GetRole already carries tags and the boundary, so
//! ListRoleTags would be a wasted call), and every list followed to its last page by the SDK's
//! paginators.

use std::collections::BTreeMap;

use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::Role;
use aws_smithy_async::future::pagination_stream::PaginationStream;

use super::aws::AwsIam;
use super::sdk_error::from_sdk;
use crate::admission::limits::SESSION_DEFAULT;
use crate::error::{Category, Error, Result};
use crate::model::{LastUsed, ObservedRole};
use crate::policy::decode_iam_text;

/// One page of a paginated IAM list: items, IsTruncated, and the marker of the next page.
type Page<T> = (Vec<T>, bool, Option<String>);

impl AwsIam {
    pub(super) async fn read_role(&self, name: &str) -> Result<Option<ObservedRole>> {
        let request = self.client.get_role().role_name(name).send();
        let Some(output) = self.call_optional("GetRole", request).await? else {
            return Ok(None);
        };
        let Some(role) = output.role else {
            return Err(unexpected("GetRole", "the answer has no Role"));
        };
        let mut observed = observed_role(&role);

        for policy_name in self.inline_policy_names(name).await? {
            let request = self
                .client
                .get_role_policy()
                .role_name(name)
                .policy_name(&policy_name)
                .send();
            let output = self.call("GetRolePolicy", request).await?;
            observed
                .inline_policies
                .insert(policy_name, decode_iam_text(&output.policy_document));
        }
        observed.managed_policy_arns = self.attached_policy_arns(name).await?;
        observed.instance_profiles = self.read_instance_profiles(name).await?;
        Ok(Some(observed))
    }

    async fn inline_policy_names(&self, role: &str) -> Result<Vec<String>> {
        let pages = self
            .client
            .list_role_policies()
            .role_name(role)
            .into_paginator()
            .send();
        all_pages("ListRolePolicies", pages, |page| {
            (page.policy_names, page.is_truncated, page.marker)
        })
        .await
    }

    async fn attached_policy_arns(&self, role: &str) -> Result<Vec<String>> {
        let pages = self
            .client
            .list_attached_role_policies()
            .role_name(role)
            .into_paginator()
            .send();
        all_pages("ListAttachedRolePolicies", pages, |page| {
            let arns = page
                .attached_policies
                .unwrap_or_default()
                .into_iter()
                .filter_map(|policy| policy.policy_arn)
                .collect();
            (arns, page.is_truncated, page.marker)
        })
        .await
    }
}

/// Everything GetRole tells us; inline and attached policies are filled in by the caller.
fn observed_role(role: &Role) -> ObservedRole {
    ObservedRole {
        name: role.role_name.clone(),
        settings: crate::model::RoleSettings {
            path: role.path.clone(),
            description: role.description.clone().unwrap_or_default(),
            max_session_duration: role.max_session_duration.unwrap_or(SESSION_DEFAULT),
            assume_role_policy: role
                .assume_role_policy_document
                .as_deref()
                .map(decode_iam_text)
                .unwrap_or_default(),
            inline_policies: BTreeMap::new(),
            managed_policy_arns: Vec::new(),
            permissions_boundary: role
                .permissions_boundary
                .as_ref()
                .and_then(|boundary| boundary.permissions_boundary_arn.clone()),
            tags: role
                .tags()
                .iter()
                .map(|tag| (tag.key.clone(), tag.value.clone()))
                .collect(),
        },
        arn: role.arn.clone(),
        role_id: role.role_id.clone(),
        last_used: role.role_last_used.as_ref().and_then(last_used),
        instance_profiles: Vec::new(),
    }
}

/// RoleLastUsed as GetRole and GetAccountAuthorizationDetails answer it.
pub(super) fn last_used(used: &aws_sdk_iam::types::RoleLastUsed) -> Option<LastUsed> {
    let date = used
        .last_used_date
        .and_then(|date| date.fmt(aws_smithy_types::date_time::Format::DateTime).ok());
    LastUsed::from_parts(date, used.region.clone())
}

/// Every item of a paginator's pages. The SDK follows the Marker; IAM's own rules stay on top:
/// IsTruncated false ends the list even if a Marker came along (the paginator would ask again;
/// dropping it asks nothing more, as it fetches a page only once the last one is taken), and a
/// truncated page without a new Marker is an error, not a silent end that would hide policies
/// from the drift check.
pub(super) async fn all_pages<O, E, T>(
    action: &'static str,
    mut pages: PaginationStream<std::result::Result<O, SdkError<E, HttpResponse>>>,
    split: impl Fn(O) -> Page<T>,
) -> Result<Vec<T>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let mut items = Vec::new();
    let mut marker: Option<String> = None;
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| from_sdk(action, error))?;
        let (page, is_truncated, next) = split(page);
        items.extend(page);
        match next_marker(action, marker.as_deref(), is_truncated, next)? {
            Some(next) => marker = Some(next),
            None => return Ok(items),
        }
    }
    Err(unexpected(action, "a truncated page and then no next page"))
}

/// The marker to ask for next, None after the last page. A truncated page without a new marker
/// would make us loop forever on the same page: that is an answer we cannot use.
fn next_marker(
    action: &'static str,
    previous: Option<&str>,
    is_truncated: bool,
    next: Option<String>,
) -> Result<Option<String>> {
    if !is_truncated {
        return Ok(None);
    }
    match next {
        Some(next) if !next.is_empty() && Some(next.as_str()) != previous => Ok(Some(next)),
        _ => Err(unexpected(action, "a truncated page without a new Marker")),
    }
}

pub(super) fn unexpected(action: &'static str, what: &str) -> Error {
    Error::Iam {
        action,
        code: "UnexpectedResponse".to_string(),
        message: format!("IAM answered {what}"),
        category: Category::Internal,
        retry_after: None,
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_iam::operation::list_role_policies::ListRolePoliciesError;
    use aws_sdk_iam::types::{AttachedPermissionsBoundary, Tag};
    use aws_smithy_types::DateTime;

    use super::*;

    fn role() -> aws_sdk_iam::types::builders::RoleBuilder {
        Role::builder()
            .role_name("app")
            .path("/team/")
            .arn("arn:aws:iam::123456789012:role/team/app")
            .role_id("AROAEXAMPLE")
            .create_date(DateTime::from_secs(0))
    }

    #[test]
    fn observed_from_get_role() {
        let full = role()
            .description("the app")
            .max_session_duration(7200)
            .assume_role_policy_document("%7B%22Version%22%3A%222012-10-17%22%7D")
            .permissions_boundary(
                AttachedPermissionsBoundary::builder()
                    .permissions_boundary_arn("arn:aws:iam::aws:policy/PowerUserAccess")
                    .build(),
            )
            .tags(Tag::builder().key("team").value("a").build().unwrap())
            .tags(
                Tag::builder()
                    .key("rolesmith.dev/owner")
                    .value("c/ns/app")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let observed = observed_role(&full);
        assert_eq!(observed.name, "app");
        assert_eq!(observed.path, "/team/");
        assert_eq!(observed.arn, "arn:aws:iam::123456789012:role/team/app");
        assert_eq!(observed.role_id, "AROAEXAMPLE");
        assert_eq!(observed.description, "the app");
        assert_eq!(observed.max_session_duration, 7200);
        assert_eq!(
            observed.assume_role_policy,
            decode_iam_text("%7B%22Version%22%3A%222012-10-17%22%7D")
        );
        assert_eq!(
            observed.permissions_boundary.as_deref(),
            Some("arn:aws:iam::aws:policy/PowerUserAccess")
        );
        assert_eq!(
            observed.tags,
            BTreeMap::from([
                ("team".to_string(), "a".to_string()),
                ("rolesmith.dev/owner".to_string(), "c/ns/app".to_string()),
            ])
        );
        assert!(observed.inline_policies.is_empty() && observed.managed_policy_arns.is_empty());
    }

    #[test]
    fn observed_from_a_bare_role() {
        let observed = observed_role(&role().build().unwrap());
        assert_eq!(observed.description, "");
        assert_eq!(observed.max_session_duration, 3600);
        assert_eq!(observed.assume_role_policy, "");
        assert_eq!(observed.permissions_boundary, None);
        assert!(observed.tags.is_empty());
        assert_eq!(observed.last_used, None);
    }

    /// moto never fills RoleLastUsed, so the mapping is tested here on the SDK's own types.
    #[test]
    fn last_used_from_get_role() {
        use aws_sdk_iam::types::RoleLastUsed;
        let used = role()
            .role_last_used(
                RoleLastUsed::builder()
                    .last_used_date(DateTime::from_secs(1_764_806_400))
                    .region("eu-west-1")
                    .build(),
            )
            .build()
            .unwrap();
        assert_eq!(
            observed_role(&used).last_used,
            Some(LastUsed {
                date: Some("2025-12-04T00:00:00Z".into()),
                region: Some("eu-west-1".into()),
            })
        );
        let empty = role()
            .role_last_used(RoleLastUsed::builder().build())
            .build()
            .unwrap();
        assert_eq!(
            observed_role(&empty).last_used,
            None,
            "nothing said, nothing shown"
        );
        let region_only = RoleLastUsed::builder().region("us-east-1").build();
        assert_eq!(
            last_used(&region_only),
            Some(LastUsed {
                date: None,
                region: Some("us-east-1".into())
            })
        );
    }

    #[test]
    fn markers() {
        let some = |s: &str| Some(s.to_string());
        // (previous marker, IsTruncated, Marker answered, what to ask next; None = an error)
        type Case<'a> = (
            Option<&'a str>,
            bool,
            Option<String>,
            Option<Option<String>>,
        );
        let cases: &[Case] = &[
            (None, false, None, Some(None)),
            (None, false, some("ignored"), Some(None)),
            (None, true, some("m1"), Some(some("m1"))),
            (Some("m1"), true, some("m2"), Some(some("m2"))),
            (Some("m1"), false, None, Some(None)),
            (None, true, None, None),
            (None, true, some(""), None),
            (Some("m1"), true, some("m1"), None),
        ];
        for (previous, truncated, next, want) in cases {
            let got = next_marker("ListRolePolicies", *previous, *truncated, next.clone()).ok();
            assert_eq!(&got, want, "{previous:?} {truncated} {next:?}");
        }
    }

    type Asked = std::sync::Arc<std::sync::Mutex<Vec<Option<String>>>>;

    /// A paginator over `pages` that records the marker each page was asked for with.
    fn paginator(
        pages: Vec<Page<u32>>,
        asked: Asked,
    ) -> PaginationStream<std::result::Result<Page<u32>, SdkError<ListRolePoliciesError>>> {
        use aws_smithy_async::future::pagination_stream::fn_stream::FnStream;
        PaginationStream::new(FnStream::new(move |tx| {
            Box::pin(async move {
                let mut marker = None;
                for page in pages {
                    asked.lock().unwrap().push(marker.take());
                    marker = page.2.clone();
                    if tx.send(Ok(page)).await.is_err() {
                        return;
                    }
                }
            })
        }))
    }

    #[tokio::test]
    async fn all_pages_follows_markers_in_order() {
        let asked = Asked::default();
        let pages = vec![
            (vec![1, 2], true, Some("m1".to_string())),
            (vec![3, 4], true, Some("m2".to_string())),
            (vec![5, 6], false, None),
        ];
        let items = all_pages("ListRolePolicies", paginator(pages, asked.clone()), |p| p)
            .await
            .unwrap();
        assert_eq!(items, vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(
            *asked.lock().unwrap(),
            vec![None, Some("m1".to_string()), Some("m2".to_string())]
        );
    }

    #[tokio::test]
    async fn the_last_page_is_the_one_iam_says_is_not_truncated() {
        let asked = Asked::default();
        // A Marker on an untruncated page: the paginator alone would ask for another page.
        let pages = vec![
            (vec![1], false, Some("m1".to_string())),
            (vec![2], false, None),
        ];
        let items = all_pages("ListRolePolicies", paginator(pages, asked.clone()), |p| p)
            .await
            .unwrap();
        assert_eq!(items, vec![1]);
        assert_eq!(asked.lock().unwrap().len(), 1, "no second page asked for");
    }

    #[tokio::test]
    async fn truncated_pages_without_a_new_marker_are_errors() {
        let cases = [
            vec![(vec![1], true, None)],
            vec![
                (vec![1], true, Some("m1".to_string())),
                (vec![2], true, Some("m1".to_string())),
            ],
            // The paginator ended (as it does on a repeated marker) after a truncated page.
            vec![(vec![1], true, Some("m1".to_string()))],
        ];
        for pages in cases {
            let result = all_pages(
                "ListRolePolicies",
                paginator(pages.clone(), Asked::default()),
                |p| p,
            )
            .await;
            assert!(
                matches!(
                    &result,
                    Err(Error::Iam {
                        category: Category::Internal,
                        ..
                    })
                ),
                "{pages:?}: {result:?}"
            );
        }
    }
}
