"""deploy/iam-policy.json: exactly the IAM actions the operator calls, writes scoped to owned roles."""

import json
import re
import unittest

from iam_rules import spec_problems
from support import ROOT, iam_client, load_one, moto_server

POLICY = ROOT / "deploy" / "iam-policy.json"
OWNER_TAG = "rolesmith.dev/owner"
READS = {
    "GetRole", "ListRolePolicies", "GetRolePolicy", "ListAttachedRolePolicies", "ListInstanceProfilesForRole",
    "ListRoles", "GetAccountAuthorizationDetails", "GetAccountSummary",
    "GetPolicy", "ListPolicyVersions", "GetPolicyVersion", "ListEntitiesForPolicy",
    "GetInstanceProfile", "GetServiceLinkedRoleDeletionStatus",
}
ROLE_WRITES = {
    "CreateRole", "UpdateRole", "UpdateAssumeRolePolicy", "PutRolePolicy", "DeleteRolePolicy", "AttachRolePolicy",
    "DetachRolePolicy", "TagRole", "UntagRole", "PutRolePermissionsBoundary", "DeleteRolePermissionsBoundary",
    "RemoveRoleFromInstanceProfile", "DeleteRole",
}
POLICY_WRITES = {"CreatePolicy", "CreatePolicyVersion", "DeletePolicyVersion", "TagPolicy", "UntagPolicy", "DeletePolicy"}
# spec.instanceProfile. IAM asks for PassRole on the role that AddRoleToInstanceProfile adds.
PROFILE_WRITES = {"CreateInstanceProfile", "AddRoleToInstanceProfile", "DeleteInstanceProfile", "PassRole"}
# IamServiceLinkedRole: IAM creates and deletes the role for the service; it carries no tag.
SLR_WRITES = {"CreateServiceLinkedRole", "DeleteServiceLinkedRole"}
WRITES = ROLE_WRITES | POLICY_WRITES | PROFILE_WRITES | SLR_WRITES
# AwsAccounts with assumeRole: the operator assumes a role in another account, with session tags.
STS = {"sts:AssumeRole", "sts:TagSession"}


def as_list(v):
    return v if isinstance(v, list) else [v]


def statements(policy):
    return as_list(policy["Statement"])


def actions(stmt):
    return {a.removeprefix("iam:") for a in as_list(stmt.get("Action", []))}


def conditions_on(stmt, key):
    return [(op, k, v) for op, kv in stmt.get("Condition", {}).items() for k, v in kv.items() if k == key]


class IamPolicy(unittest.TestCase):
    def setUp(self):
        self.policy = json.loads(POLICY.read_text())

    def allowed(self):
        return set().union(*(actions(s) for s in statements(self.policy) if s["Effect"] == "Allow"))

    def test_allows_exactly_the_calls_the_operator_makes(self):
        self.assertEqual(self.allowed(), READS | WRITES | STS)
        # PassRole only for the role an instance profile of rolesmith's receives: owned roles.
        passing = [s for s in statements(self.policy) if "PassRole" in actions(s)]
        self.assertEqual([actions(s) for s in passing], [{"PassRole"}])
        self.assertEqual(conditions_on(passing[0], f"aws:ResourceTag/{OWNER_TAG}"),
                         [("Null", f"aws:ResourceTag/{OWNER_TAG}", "false")])

    def test_every_write_the_plan_can_emit_is_allowed(self):
        model = (ROOT / "src" / "model.rs").read_text()
        # The variant names of the two write enums are the IAM actions (`action()` derives them).
        bodies = re.findall(r"pub enum (?:IamOp|PolicyOp) \{\n(.*?)\n\}\n", model, re.S)
        self.assertEqual(len(bodies), 2, "IamOp and PolicyOp not found in src/model.rs")
        emitted = {v for body in bodies for v in re.findall(r"^    ([A-Z]\w+)\b", body, re.M)}
        self.assertIn("CreateRole", emitted)
        self.assertIn("CreatePolicyVersion", emitted)
        self.assertLessEqual(emitted, self.allowed())

    def test_no_wildcards_or_negations_in_allows(self):
        for s in statements(self.policy):
            if s["Effect"] != "Allow":
                continue
            with self.subTest(s["Sid"]):
                self.assertFalse({"NotAction", "NotResource", "NotPrincipal"} & set(s))
                for a in as_list(s["Action"]):
                    self.assertRegex(a, r"^(iam:[A-Za-z]+|sts:AssumeRole|sts:TagSession)$")
                if s["Sid"] == "AssumeAccountRoles":
                    # Only the roles AwsAccounts name by convention, in any account.
                    self.assertEqual(actions(s), STS)
                    self.assertEqual(s["Resource"], "arn:aws:iam::*:role/rolesmith-access")
                    continue
                # The bulk reads of the drift check take no resource-level scoping in IAM: "*"
                # is allowed for them alone, and only for reads.
                account_reads = {
                    "SweepTheAccount": {"ListRoles", "GetAccountAuthorizationDetails"},
                    "CountTheAccountsRoles": {"GetAccountSummary"},
                }
                if s["Sid"] in account_reads:
                    self.assertEqual(actions(s), account_reads[s["Sid"]])
                    self.assertEqual(s["Resource"], "*")
                    continue
                for r in as_list(s["Resource"]):
                    self.assertRegex(r, r"^arn:aws:iam::\*:(role|instance-profile|policy)/")

    def test_role_writes_require_the_ownership_tag(self):
        for s in statements(self.policy):
            writes = actions(s) & WRITES
            if s["Effect"] != "Allow" or not writes:
                continue
            with self.subTest(s["Sid"]):
                if writes == SLR_WRITES:
                    # Service-linked roles cannot always carry tags: only the service's own path.
                    self.assertEqual(as_list(s["Resource"]), ["arn:aws:iam::*:role/aws-service-role/*"])
                    continue
                if writes == {"RemoveRoleFromInstanceProfile"}:
                    # IAM authorizes it against the instance profile, which rolesmith never tags.
                    self.assertEqual(as_list(s["Resource"]), ["arn:aws:iam::*:instance-profile/*"])
                    continue
                resource_tag = conditions_on(s, f"aws:ResourceTag/{OWNER_TAG}")
                request_tag = conditions_on(s, f"aws:RequestTag/{OWNER_TAG}")
                if writes in ({"CreateRole"}, {"CreatePolicy"}, {"CreateInstanceProfile"}):
                    self.assertEqual(request_tag, [("Null", f"aws:RequestTag/{OWNER_TAG}", "false")])
                elif resource_tag == [("Null", f"aws:ResourceTag/{OWNER_TAG}", "true")]:
                    self.assertIn(writes, ({"TagRole"}, {"TagPolicy"}), "only claiming an untagged entity may skip ownership")
                    self.assertEqual(request_tag, [("Null", f"aws:RequestTag/{OWNER_TAG}", "false")])
                else:
                    self.assertEqual(resource_tag, [("Null", f"aws:ResourceTag/{OWNER_TAG}", "false")])

    def test_the_operator_cannot_change_its_own_role(self):
        deny = [s for s in statements(self.policy) if s["Effect"] == "Deny"]
        self.assertEqual(len(deny), 1)
        self.assertEqual(actions(deny[0]), ROLE_WRITES - {"RemoveRoleFromInstanceProfile"})
        bootstrap = load_one(ROOT / "deploy" / "bootstrap-iamrole.yaml")["spec"]
        path = bootstrap["path"].strip("/")
        arn = f"arn:aws:iam::*:role/{path + '/' if path else ''}{bootstrap['roleName']}"
        self.assertIn(arn, as_list(deny[0]["Resource"]))

    def test_iam_md_explains_every_statement(self):
        doc = (ROOT / "deploy" / "IAM.md").read_text()
        for s in statements(self.policy):
            self.assertIn(f"`{s['Sid']}`", doc)

    def test_bootstrap_role_carries_the_policy_and_is_valid(self):
        obj = load_one(ROOT / "deploy" / "bootstrap-iamrole.yaml")
        spec = obj["spec"]
        self.assertEqual((obj["apiVersion"], obj["kind"]), ("iam.rolesmith.dev/v1alpha1", "IamRole"))
        self.assertEqual(spec["inlinePolicies"], {"rolesmith-operator": self.policy})
        self.assertEqual(spec["deletionPolicy"], "Retain")
        self.assertEqual(spec_problems(spec), [])
        trust = statements(spec["assumeRolePolicy"])
        web = next(s for s in trust if s["Action"] == "sts:AssumeRoleWithWebIdentity")
        cond = web["Condition"]["StringEquals"]
        self.assertEqual({k.rsplit(":", 1)[1]: v for k, v in cond.items()},
                         {"sub": "system:serviceaccount:rolesmith:rolesmith", "aud": "sts.amazonaws.com"})
        self.assertTrue(web["Principal"]["Federated"].startswith("arn:aws:iam::123456789012:oidc-provider/oidc.eks."))
        # EKS Pod Identity: only the operator's ServiceAccount (pod-identity-no-tag-conditions).
        pods = next(s for s in trust if s["Principal"] == {"Service": "pods.eks.amazonaws.com"})
        self.assertEqual(pods["Condition"]["StringEquals"], {
            "aws:RequestTag/kubernetes-namespace": "rolesmith",
            "aws:RequestTag/kubernetes-service-account": "rolesmith",
        })

    def test_iam_accepts_the_policy_and_the_bootstrap_role(self):
        spec = load_one(ROOT / "deploy" / "bootstrap-iamrole.yaml")["spec"]
        with moto_server() as endpoint:
            iam = iam_client(endpoint)
            iam.create_policy(PolicyName="rolesmith-operator", PolicyDocument=POLICY.read_text())
            iam.create_role(RoleName=spec["roleName"], Path=spec["path"],
                            AssumeRolePolicyDocument=json.dumps(spec["assumeRolePolicy"]))
            for name, doc in spec["inlinePolicies"].items():
                iam.put_role_policy(RoleName=spec["roleName"], PolicyName=name, PolicyDocument=json.dumps(doc))
            self.assertEqual(iam.list_role_policies(RoleName=spec["roleName"])["PolicyNames"], ["rolesmith-operator"])

    def test_the_documented_account_role_trust_policy_is_valid(self):
        doc = (ROOT / "deploy" / "IAM.md").read_text().split("## Other accounts (AwsAccount)")[1]
        trust = json.loads(doc.split("```json")[1].split("```")[0]
                           .replace("OPERATOR_ACCOUNT", "123456789012").replace("EXTERNAL_ID", "prod-7f3c9e"))
        allow = [s for s in statements(trust) if s["Action"] == "sts:AssumeRole"]
        self.assertEqual(len(allow), 1)
        self.assertEqual(allow[0]["Condition"], {"StringEquals": {"sts:ExternalId": "prod-7f3c9e"}})
        permissions = dict(self.policy, Statement=[s for s in statements(self.policy) if s["Sid"] != "AssumeAccountRoles"])
        with moto_server() as endpoint:
            iam = iam_client(endpoint)
            iam.create_role(RoleName="rolesmith-access", AssumeRolePolicyDocument=json.dumps(trust))
            iam.put_role_policy(RoleName="rolesmith-access", PolicyName="rolesmith", PolicyDocument=json.dumps(permissions))


class PodIdentityPolicy(unittest.TestCase):
    """deploy/iam-policy-pod-identity.json: the EKS calls src/eks.rs makes, and passing owned roles to Pod Identity."""

    def setUp(self):
        self.policy = json.loads((ROOT / "deploy" / "iam-policy-pod-identity.json").read_text())

    def test_allows_exactly_the_eks_calls_the_adapter_makes(self):
        source = (ROOT / "src" / "eks.rs").read_text()
        called = {
            "eks:" + "".join(part.capitalize() for part in name.split("_"))
            for name in re.findall(r"\.(\w+_pod_identity_associations?)\(\)", source)
        }
        self.assertEqual(len(called), 4, called)
        eks = next(s for s in statements(self.policy) if s["Sid"] == "ManagePodIdentityAssociations")
        # Creating with tags is authorized as TagResource too.
        self.assertEqual(set(as_list(eks["Action"])), called | {"eks:TagResource"})
        for resource in as_list(eks["Resource"]):
            self.assertRegex(resource, r"^arn:aws:eks:\*:\*:(cluster|podidentityassociation)/\*$")

    def test_passes_only_owned_roles_only_to_pod_identity(self):
        passing = next(s for s in statements(self.policy) if s["Sid"] == "PassOwnedRolesToPodIdentity")
        self.assertEqual(passing["Action"], "iam:PassRole")
        self.assertEqual(conditions_on(passing, "iam:PassedToService"),
                         [("StringEquals", "iam:PassedToService", "pods.eks.amazonaws.com")])
        self.assertEqual(conditions_on(passing, f"aws:ResourceTag/{OWNER_TAG}"),
                         [("Null", f"aws:ResourceTag/{OWNER_TAG}", "false")])
        self.assertEqual(len(statements(self.policy)), 2)
        self.assertTrue(all(s["Effect"] == "Allow" for s in statements(self.policy)))

    def test_iam_md_explains_every_statement(self):
        doc = (ROOT / "deploy" / "IAM.md").read_text()
        for s in statements(self.policy):
            self.assertIn(f"`{s['Sid']}`", doc)


if __name__ == "__main__":
    unittest.main()
