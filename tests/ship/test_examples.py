"""examples/ holds ready-to-apply IamRoles that IAM accepts.

Checked three ways: IAM's own input rules (the ones moto skips), a real IAM API (moto with the
AWS-managed policies loaded) creating each role exactly as the operator would, and the CRD's
schema once the generated CRD exists.
"""

import functools
import json
import os
import subprocess
import unittest

from iam_rules import spec_problems
from support import ACCOUNT_ID, ROOT, iam_client, load_one, moto_server, target_dir

ALL_EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
EXAMPLES = [p for p in ALL_EXAMPLES if load_one(p)["kind"] == "IamRole"]
POLICY_EXAMPLES = [p for p in ALL_EXAMPLES if load_one(p)["kind"] == "IamPolicy"]
SLR_EXAMPLES = [p for p in ALL_EXAMPLES if load_one(p)["kind"] == "IamServiceLinkedRole"]
EXPECTED_POLICIES = {"shared-policy.yaml"}
EXPECTED_SERVICE_LINKED = {"service-linked-role.yaml"}
EXPECTED = {
    "reports-reader.yaml",
    "lambda-service-role.yaml",
    "ec2-service-role.yaml",
    "cross-account-external-id-mfa.yaml",
    "irsa-web-identity.yaml",
    "saml-federation.yaml",
    "full-featured.yaml",
    "workload-identity.yaml",
}
# The sandbox's kind of OIDC provider, for examples whose trust comes from spec.serviceAccounts.
OIDC_PROVIDER = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLES"


@functools.cache
def effective_spec(name: str) -> dict:
    """The example's spec with the trust policy IAM gets: as written, or for serviceAccounts the one
    the real `rolesmith plan` makes (it adds the statements to what is written)."""
    path = ROOT / "examples" / name
    spec = load_one(path)["spec"]
    if not spec.get("serviceAccounts"):
        return spec
    binary = os.environ.get("ROLESMITH_BIN", str(target_dir() / "debug" / "rolesmith"))
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_REGION="us-east-1")
    with moto_server() as endpoint:
        out = subprocess.run(
            [binary, "plan", "-f", str(path), "-o", "json", "--iam-endpoint", endpoint,
             "--oidc-provider-arn", OIDC_PROVIDER, "--eks-cluster-name", "examples"],
            env=env, capture_output=True, text=True,
        )
    if out.returncode != 2:
        raise AssertionError(f"rolesmith plan {name}: exit {out.returncode}\n{out.stdout}{out.stderr}")
    create = json.loads(out.stdout)[0]["operations"][0]
    assert create["operation"] == "CreateRole", create
    return dict(spec, assumeRolePolicy=json.loads(create["assume_role_policy"]))


def trust_actions(spec: dict) -> set[str]:
    actions = set()
    for stmt in spec["assumeRolePolicy"]["Statement"]:
        a = stmt["Action"]
        actions.update(a if isinstance(a, list) else [a])
    return actions


def conditions(spec: dict) -> dict:
    merged: dict = {}
    for stmt in spec["assumeRolePolicy"]["Statement"]:
        for op, kv in stmt.get("Condition", {}).items():
            merged.setdefault(op, {}).update(kv)
    return merged


class Examples(unittest.TestCase):
    def test_every_scenario_is_present(self):
        self.assertEqual({p.name for p in EXAMPLES}, EXPECTED)
        self.assertEqual({p.name for p in POLICY_EXAMPLES}, EXPECTED_POLICIES)
        self.assertEqual({p.name for p in SLR_EXAMPLES}, EXPECTED_SERVICE_LINKED)
        self.assertEqual(len(ALL_EXAMPLES), len(EXAMPLES) + len(POLICY_EXAMPLES) + len(SLR_EXAMPLES))

    def test_policy_references_name_the_example_policies(self):
        policies = {load_one(p)["metadata"]["name"] for p in POLICY_EXAMPLES}
        refs = [r for p in EXAMPLES for r in load_one(p)["spec"].get("managedPolicyRefs", [])]
        self.assertTrue(refs, "an example shows managedPolicyRefs")
        for ref in refs:
            self.assertNotIn("namespace", ref, "examples apply to the current namespace")
            self.assertIn(ref["name"], policies)

    def test_a_real_iam_api_creates_each_policy(self):
        with moto_server() as endpoint:
            iam = iam_client(endpoint)
            for path in POLICY_EXAMPLES:
                with self.subTest(path.name):
                    obj = load_one(path)
                    self.assertNotIn("namespace", obj["metadata"], "examples apply to the current namespace")
                    spec = obj["spec"]
                    created = iam.create_policy(
                        PolicyName=f"default.{obj['metadata']['name']}",
                        Path=spec.get("path", "/"),
                        Description=spec.get("description", ""),
                        PolicyDocument=json.dumps(spec["document"]),
                        Tags=[{"Key": k, "Value": v} for k, v in spec.get("tags", {}).items()],
                    )["Policy"]
                    self.assertEqual(created["DefaultVersionId"], "v1")
                    self.assertLessEqual(len(json.dumps(spec["document"], separators=(",", ":"))), 6144)

    def test_a_real_iam_api_creates_each_service_linked_role(self):
        with moto_server() as endpoint:
            iam = iam_client(endpoint)
            for path in SLR_EXAMPLES:
                with self.subTest(path.name):
                    obj = load_one(path)
                    self.assertNotIn("namespace", obj["metadata"], "examples apply to the current namespace")
                    spec = obj["spec"]
                    args = {"AWSServiceName": spec["awsServiceName"], "Description": spec.get("description", "")}
                    if "customSuffix" in spec:
                        args["CustomSuffix"] = spec["customSuffix"]
                    role = iam.create_service_linked_role(**args)["Role"]
                    self.assertEqual(role["Path"], f"/aws-service-role/{spec['awsServiceName']}/")

    def test_the_ec2_example_has_its_instance_profile(self):
        spec = load_one(ROOT / "examples" / "ec2-service-role.yaml")["spec"]
        self.assertIs(spec["instanceProfile"], True)
        principals = [s["Principal"] for s in spec["assumeRolePolicy"]["Statement"]]
        self.assertIn({"Service": "ec2.amazonaws.com"}, principals)

    def test_service_linked_role_examples_match_the_crd_schema(self):
        self._match_schema("iamservicelinkedroles.iam.rolesmith.dev.yaml", SLR_EXAMPLES)

    def test_policy_examples_match_the_crd_schema(self):
        self._match_schema("iampolicies.iam.rolesmith.dev.yaml", POLICY_EXAMPLES)

    def _match_schema(self, crd_file, examples):
        crd = load_one(ROOT / "crds" / crd_file)
        version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1")
        schema = version["schema"]["openAPIV3Schema"]
        validator = _crd_validator(_strip_k8s_extensions(schema))
        for path in examples:
            with self.subTest(path.name):
                errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(load_one(path))]
                self.assertEqual(errors, [])
                _assert_no_pruned_fields(self, load_one(path)["spec"], schema["properties"]["spec"], "spec")

    def test_each_is_an_iamrole_that_follows_iams_rules(self):
        names = set()
        for path in EXAMPLES:
            with self.subTest(path.name):
                obj = load_one(path)
                self.assertEqual(obj["apiVersion"], "iam.rolesmith.dev/v1alpha1")
                self.assertEqual(obj["kind"], "IamRole")
                self.assertNotIn("namespace", obj["metadata"], "examples apply to the current namespace")
                self.assertEqual(spec_problems(effective_spec(path.name)), [])
                names.add(obj["spec"].get("roleName", obj["metadata"]["name"]))
        self.assertEqual(len(names), len(EXAMPLES), "role names must not collide")

    def test_scenarios_say_what_they_promise(self):
        ex = {p.name: effective_spec(p.name) for p in EXAMPLES}
        cross = conditions(ex["cross-account-external-id-mfa.yaml"])
        self.assertIn("sts:ExternalId", cross["StringEquals"])
        self.assertEqual(cross["Bool"]["aws:MultiFactorAuthPresent"], "true")
        irsa = ex["irsa-web-identity.yaml"]
        self.assertEqual(trust_actions(irsa), {"sts:AssumeRoleWithWebIdentity"})
        keys = set(conditions(irsa)["StringEquals"])
        self.assertTrue(any(k.endswith(":sub") for k in keys) and any(k.endswith(":aud") for k in keys))
        saml = ex["saml-federation.yaml"]
        self.assertEqual(trust_actions(saml), {"sts:AssumeRoleWithSAML"})
        self.assertIn("SAML:aud", conditions(saml)["StringEquals"])
        workloads = ex["workload-identity.yaml"]
        self.assertNotIn("assumeRolePolicy", load_one(ROOT / "examples" / "workload-identity.yaml")["spec"])
        self.assertEqual(
            sorted(e.get("via", "IRSA") for e in workloads["serviceAccounts"]), ["IRSA", "IRSA", "PodIdentity"]
        )
        self.assertEqual(trust_actions(workloads), {"sts:AssumeRoleWithWebIdentity", "sts:AssumeRole", "sts:TagSession"})
        full = ex["full-featured.yaml"]
        for field in ("inlinePolicies", "managedPolicyArns", "permissionsBoundary", "tags"):
            self.assertTrue(full.get(field), field)
        for spec in ex.values():
            for stmt in spec["assumeRolePolicy"]["Statement"]:
                for arn in json.dumps(stmt.get("Principal", {})).split('"'):
                    if arn.startswith("arn:aws:iam::") and ":root" not in arn:
                        self.assertIn(f"::{ACCOUNT_ID}:", arn, "local principals use the local account")

    def test_a_real_iam_api_creates_each_role(self):
        with moto_server() as endpoint:
            iam = iam_client(endpoint)
            for path in EXAMPLES:
                with self.subTest(path.name):
                    obj = load_one(path)
                    spec = effective_spec(path.name)
                    name = spec.get("roleName", obj["metadata"]["name"])
                    create = {
                        "RoleName": name,
                        "Path": spec.get("path", "/"),
                        "Description": spec.get("description", ""),
                        "MaxSessionDuration": spec.get("maxSessionDuration", 3600),
                        "AssumeRolePolicyDocument": json.dumps(spec["assumeRolePolicy"]),
                        "Tags": [{"Key": k, "Value": v} for k, v in spec.get("tags", {}).items()],
                    }
                    if "permissionsBoundary" in spec:
                        create["PermissionsBoundary"] = spec["permissionsBoundary"]
                    iam.create_role(**create)
                    for pname, doc in spec.get("inlinePolicies", {}).items():
                        iam.put_role_policy(RoleName=name, PolicyName=pname, PolicyDocument=json.dumps(doc))
                    for arn in spec.get("managedPolicyArns", []):
                        iam.get_policy(PolicyArn=arn)  # the ARN must name a policy AWS really has
                        iam.attach_role_policy(RoleName=name, PolicyArn=arn)
                    if "permissionsBoundary" in spec:
                        iam.get_policy(PolicyArn=spec["permissionsBoundary"])
                    role = iam.get_role(RoleName=name)["Role"]
                    self.assertEqual(role["Arn"], f"arn:aws:iam::{ACCOUNT_ID}:role{create['Path']}{name}")
                    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
                    self.assertEqual(
                        sorted(a["PolicyArn"] for a in attached), sorted(spec.get("managedPolicyArns", []))
                    )

    def test_examples_match_the_crd_schema(self):
        crd_path = ROOT / "crds" / "iamroles.iam.rolesmith.dev.yaml"
        if not crd_path.exists():
            self.fail(f"{crd_path} is missing: run `rolesmith crd` (the CRD is generated by the operator)")
        crd = load_one(crd_path)
        version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1")
        schema = version["schema"]["openAPIV3Schema"]
        validator = _crd_validator(_strip_k8s_extensions(schema))
        for path in EXAMPLES:
            with self.subTest(path.name):
                errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(load_one(path))]
                self.assertEqual(errors, [])
                _assert_no_pruned_fields(self, load_one(path)["spec"], schema["properties"]["spec"], "spec")


def _crd_validator(schema):
    """A JSON-schema validator whose `pattern` follows Go's RE2 syntax (\\x{A1}, \\p{L}) like the API server."""
    import jsonschema
    import regex

    def pattern(validator, patrn, instance, _schema):
        # RE2's \\x{HHHH} is spelled \\UHHHHHHHH in Python's regex module.
        python_pattern = regex.sub(r"\\x\{([0-9A-Fa-f]{1,6})\}", lambda m: "\\U%08X" % int(m.group(1), 16), patrn)
        if validator.is_type(instance, "string") and not regex.search(python_pattern, instance):
            yield jsonschema.ValidationError(f"{instance!r} does not match {patrn!r}")

    cls = jsonschema.validators.extend(jsonschema.Draft7Validator, {"pattern": pattern})
    return cls(schema)


def _strip_k8s_extensions(schema):
    if isinstance(schema, dict):
        return {k: _strip_k8s_extensions(v) for k, v in schema.items() if not k.startswith("x-kubernetes-")}
    if isinstance(schema, list):
        return [_strip_k8s_extensions(v) for v in schema]
    return schema


def _assert_no_pruned_fields(tc: unittest.TestCase, value, schema: dict, where: str) -> None:
    """A field the schema does not know would be silently pruned by the API server: refuse it."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for k, v in value.items():
            if props is not None and k in props:
                _assert_no_pruned_fields(tc, v, props[k], f"{where}.{k}")
            elif isinstance(extra, dict):
                _assert_no_pruned_fields(tc, v, extra, f"{where}.{k}")
            else:
                tc.fail(f"{where}.{k} is not in the CRD schema and would be pruned")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, v in enumerate(value):
            _assert_no_pruned_fields(tc, v, schema["items"], f"{where}[{i}]")


if __name__ == "__main__":
    unittest.main()
