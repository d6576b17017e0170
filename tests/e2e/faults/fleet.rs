//! A fleet of IamRoles in one manifest, and the checks that IAM holds exactly what they ask for:
//! each role equal to its spec, and no other role anywhere (none duplicated, none orphaned).

use std::collections::{BTreeMap, BTreeSet};

use rolesmith::iam::IamApi;
use rolesmith::model::{OWNER_TAG_KEY, ObservedRole, Owner};

use crate::harness::{CLUSTER_ID, World};
use crate::support::{self, FaultProxy};

pub const NAMESPACE: &str = "default";
const INLINE_POLICY: &str = "read-own-bucket";
/// AWS-managed policies moto knows; alternated so the fleet is not one role 50 times.
const MANAGED: [&str; 2] = [
    "arn:aws:iam::aws:policy/ReadOnlyAccess",
    "arn:aws:iam::aws:policy/AWSLambdaExecute",
];
/// The minimal plan of a new role: CreateRole (with tags), PutRolePolicy, AttachRolePolicy.
pub const MINIMAL_WRITES: usize = 3;

/// Who the fleet's trust policies let assume the roles.
#[derive(Clone, Debug)]
enum Principal {
    Service(&'static str),
    Aws(String),
}

#[derive(Clone, Debug)]
pub struct Fleet {
    pub size: usize,
    principal: Principal,
}

impl Fleet {
    /// `size` roles trusted by Lambda.
    pub fn new(size: usize) -> Fleet {
        Fleet {
            size,
            principal: Principal::Service("lambda.amazonaws.com"),
        }
    }

    /// Trusted by an IAM role instead (what "Invalid principal in policy" is about).
    pub fn trusting_role(mut self, arn: &str) -> Fleet {
        self.principal = Principal::Aws(arn.to_string());
        self
    }

    pub fn object_name(&self, index: usize) -> String {
        format!("fleet-{index:03}")
    }

    /// The name rolesmith derives: the fleet sets no roleName.
    pub fn role_name(&self, index: usize) -> String {
        rolesmith::admission::role_name(NAMESPACE, &self.object_name(index), None)
    }

    pub fn role_names(&self) -> Vec<String> {
        (0..self.size).map(|index| self.role_name(index)).collect()
    }

    pub fn manifest(&self) -> String {
        (0..self.size)
            .map(|index| self.document(index))
            .collect::<Vec<_>>()
            .join("---\n")
    }

    fn principal_yaml(&self) -> String {
        match &self.principal {
            Principal::Service(service) => format!("{{Service: {service}}}"),
            Principal::Aws(arn) => format!("{{AWS: \"{arn}\"}}"),
        }
    }

    fn principal_json(&self) -> String {
        match &self.principal {
            Principal::Service(service) => format!(r#"{{"Service":"{service}"}}"#),
            Principal::Aws(arn) => format!(r#"{{"AWS":"{arn}"}}"#),
        }
    }

    fn document(&self, index: usize) -> String {
        format!(
            r#"apiVersion: iam.rolesmith.dev/v1alpha1
kind: IamRole
metadata: {{name: {name}, namespace: {NAMESPACE}}}
spec:
  description: fleet role {index}
  assumeRolePolicy:
    Version: "2012-10-17"
    Statement:
      - Effect: Allow
        Principal: {principal}
        Action: sts:AssumeRole
  inlinePolicies:
    {INLINE_POLICY}:
      Version: "2012-10-17"
      Statement:
        - Effect: Allow
          Action: [s3:GetObject, s3:ListBucket]
          Resource: ["arn:aws:s3:::fleet-{index}", "arn:aws:s3:::fleet-{index}/*"]
  managedPolicyArns: [{managed}]
  tags: {{team: fleet, index: "{index}"}}
"#,
            name = self.object_name(index),
            principal = self.principal_yaml(),
            managed = MANAGED[index % MANAGED.len()],
        )
    }

    /// Every difference between what IAM has for role `index` and its spec.
    fn differences(&self, index: usize, role: &ObservedRole) -> Vec<String> {
        let mut problems = Vec::new();
        let trust = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{},"Action":"sts:AssumeRole"}}]}}"#,
            self.principal_json()
        );
        if !rolesmith::policy::equivalent(&role.assume_role_policy, &trust) {
            problems.push(format!("trust policy {}", role.assume_role_policy));
        }
        let inline = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::fleet-{index}","arn:aws:s3:::fleet-{index}/*"]}}]}}"#
        );
        let names: Vec<&String> = role.inline_policies.keys().collect();
        match role.inline_policies.get(INLINE_POLICY) {
            Some(document) if names.len() == 1 => {
                if !rolesmith::policy::equivalent(document, &inline) {
                    problems.push(format!("inline policy {document}"));
                }
            }
            _ => problems.push(format!("inline policies {names:?}")),
        }
        let managed = vec![MANAGED[index % MANAGED.len()].to_string()];
        if role.managed_policy_arns != managed {
            problems.push(format!("managed policies {:?}", role.managed_policy_arns));
        }
        let owner = Owner {
            cluster: CLUSTER_ID.to_string(),
            namespace: NAMESPACE.to_string(),
            name: self.object_name(index),
        };
        let tags: BTreeMap<String, String> = [
            ("team".to_string(), "fleet".to_string()),
            ("index".to_string(), index.to_string()),
            (OWNER_TAG_KEY.to_string(), owner.tag_value()),
        ]
        .into();
        if role.tags != tags {
            problems.push(format!("tags {:?}", role.tags));
        }
        if role.description != format!("fleet role {index}") {
            problems.push(format!("description {:?}", role.description));
        }
        problems
    }

    /// IAM, read directly from moto, equals every spec; the account holds exactly the fleet's
    /// roles, each tagged as owned by its own object.
    pub async fn assert_iam_matches(&self, world: &World) {
        let mut problems = Vec::new();
        for index in 0..self.size {
            let name = self.role_name(index);
            match world.iam.get_role(&name).await {
                Ok(Some(role)) => problems.extend(
                    self.differences(index, &role)
                        .into_iter()
                        .map(|problem| format!("{name}: {problem}")),
                ),
                Ok(None) => problems.push(format!("{name}: missing from IAM")),
                Err(error) => problems.push(format!("{name}: {error}")),
            }
        }
        let expected: BTreeSet<String> = self.role_names().into_iter().collect();
        let all = all_role_names(world).await;
        let strangers: Vec<&String> = all.iter().filter(|n| !expected.contains(*n)).collect();
        if !strangers.is_empty() {
            problems.push(format!("roles no IamRole asked for: {strangers:?}"));
        }
        assert!(
            problems.is_empty() && all.len() == self.size,
            "IAM differs from the fleet's specs ({} roles in the account, {} expected):\n{}",
            all.len(),
            self.size,
            problems.join("\n")
        );
    }
}

impl Fleet {
    /// Every role's writes (from the proxy's log) are at least the minimal plan and at most the
    /// minimal plan plus the failures the proxy injected for it. Returns the writes beyond the
    /// minimal plan: in total, and the most for one role.
    pub fn assert_write_budget(&self, proxy: &FaultProxy) -> (usize, usize) {
        let budget = write_budget(
            &self.role_names(),
            &proxy.writes_per_role(),
            &proxy.injected_per_role(),
        );
        assert!(
            budget.problems.is_empty(),
            "writes per role outside [minimal plan, minimal plan + injected failures]:\n{}",
            budget.problems.join("\n")
        );
        (budget.extra, budget.max_extra)
    }
}

#[derive(Debug, PartialEq)]
struct Budget {
    problems: Vec<String>,
    extra: usize,
    max_extra: usize,
}

/// Each injected failure can cost one more write: the failed write itself, or the CreateRole
/// planned after a read was told the new role does not exist.
fn write_budget(
    roles: &[String],
    writes: &BTreeMap<String, usize>,
    injected: &BTreeMap<String, usize>,
) -> Budget {
    let mut budget = Budget {
        problems: Vec::new(),
        extra: 0,
        max_extra: 0,
    };
    for role in roles {
        let written = writes.get(role).copied().unwrap_or(0);
        let forced = injected.get(role).copied().unwrap_or(0);
        if written < MINIMAL_WRITES || written > MINIMAL_WRITES + forced {
            budget.problems.push(format!(
                "{role}: {written} writes, {forced} failures injected"
            ));
        }
        let extra = written.saturating_sub(MINIMAL_WRITES);
        budget.extra += extra;
        budget.max_extra = budget.max_extra.max(extra);
    }
    budget
}

/// Every role in the account, listed page by page.
async fn all_role_names(world: &World) -> Vec<String> {
    let client = support::sdk_client(&world.moto.endpoint).await;
    let mut names = Vec::new();
    let mut marker = None;
    loop {
        let page = client
            .list_roles()
            .set_marker(marker)
            .send()
            .await
            .expect("moto lists roles");
        names.extend(page.roles.into_iter().map(|role| role.role_name));
        if !page.is_truncated {
            return names;
        }
        marker = page.marker;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_budgets() {
        let roles = vec!["a".to_string(), "b".to_string()];
        let map = |pairs: &[(&str, usize)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect::<BTreeMap<_, _>>()
        };
        let cases = [
            // (writes, injected, problem roles, extra, max extra)
            (map(&[("a", 3), ("b", 3)]), map(&[]), vec![], 0, 0),
            (map(&[("a", 5), ("b", 3)]), map(&[("a", 2)]), vec![], 2, 2),
            (
                map(&[("a", 5), ("b", 4)]),
                map(&[("a", 9), ("b", 1)]),
                vec![],
                3,
                2,
            ),
            (map(&[("a", 4), ("b", 3)]), map(&[]), vec!["a"], 1, 1),
            (map(&[("a", 3)]), map(&[("b", 4)]), vec!["b"], 0, 0),
            (
                map(&[("a", 2), ("b", 6)]),
                map(&[("b", 2)]),
                vec!["a", "b"],
                3,
                3,
            ),
        ];
        for (writes, injected, bad, extra, max_extra) in cases {
            let budget = write_budget(&roles, &writes, &injected);
            let flagged: Vec<&str> = budget
                .problems
                .iter()
                .filter_map(|p| p.split(':').next())
                .collect();
            assert_eq!(
                (flagged, budget.extra, budget.max_extra),
                (bad, extra, max_extra),
                "{writes:?} {injected:?}"
            );
        }
    }
}
