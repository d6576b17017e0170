"""charts/rolesmith, proven with the real Helm library: lint, schema, and installs into kube-sim.

Every object a release renders must exist in the API server afterwards, and the security-relevant
parts (pod and container security context, probes, RBAC rules, the IRSA annotation) are asserted
on the objects as stored, not on the templates.
"""

import filecmp
import unittest

import yaml

import helm_client
from support import ROOT, kube_sim, kubectl, kubectl_json

IAMROLE_RULES = [
    {"apiGroups": ["iam.rolesmith.dev"], "resources": ["iamroles"], "verbs": ["list", "watch", "patch"]},
    {"apiGroups": ["iam.rolesmith.dev"], "resources": ["iampolicies"], "verbs": ["get", "list", "watch", "patch"]},
    {"apiGroups": ["iam.rolesmith.dev"], "resources": ["iamroles/status", "iampolicies/status"], "verbs": ["patch"]},
    {"apiGroups": ["iam.rolesmith.dev"], "resources": ["awsaccounts"], "verbs": ["list", "watch", "patch"]},
    {"apiGroups": ["iam.rolesmith.dev"], "resources": ["awsaccounts/status"], "verbs": ["patch"]},
    {"apiGroups": ["iam.rolesmith.dev"], "resources": ["iamservicelinkedroles"], "verbs": ["list", "watch", "patch"]},
    {"apiGroups": ["iam.rolesmith.dev"], "resources": ["iamservicelinkedroles/status"], "verbs": ["patch"]},
    {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
    {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["list", "watch", "patch"]},
]
GUARDRAIL_RULES = [
    {"apiGroups": ["iam.rolesmith.dev"], "resources": ["roleguardrails"], "verbs": ["list", "watch"]},
    {"apiGroups": ["iam.rolesmith.dev"], "resources": ["roleguardrails/status"], "verbs": ["patch"]},
]
# Cluster-wide, the one ClusterRole also reads the (cluster-scoped) RoleGuardrails.
CLUSTER_RULES = IAMROLE_RULES[:3] + GUARDRAIL_RULES + IAMROLE_RULES[3:]
LEASE_RULES = [
    {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
    {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": ["rolesmith-leader"], "verbs": ["get", "update"]},
]
ROLE_ARN = "arn:aws:iam::123456789012:role/rolesmith"

# A minimal ServiceMonitor CRD, as the Prometheus Operator would have installed it.
SERVICEMONITOR_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "servicemonitors.monitoring.coreos.com"},
    "spec": {
        "group": "monitoring.coreos.com",
        "scope": "Namespaced",
        "names": {"plural": "servicemonitors", "singular": "servicemonitor", "kind": "ServiceMonitor", "listKind": "ServiceMonitorList"},
        "versions": [{"name": "v1", "served": True, "storage": True,
                      "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}],
    },
}


def rendered_objects(manifest: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(manifest) if d]


def env_of(deployment: dict) -> dict:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    # The API server drops `value: ""` (omitempty); the container still gets the variable, empty.
    return {e["name"]: e["valueFrom"] if "valueFrom" in e else e.get("value", "") for e in container["env"]}


def get(kubeconfig, kind: str, name: str, namespace: str | None = None) -> dict:
    args = ["get", kind, name] + (["-n", namespace] if namespace else [])
    return kubectl_json(kubeconfig, *args)


class Lint(unittest.TestCase):
    def test_app_version_is_the_crate_version(self):
        import tomllib

        chart = yaml.safe_load((ROOT / "charts" / "rolesmith" / "Chart.yaml").read_text())
        crate = tomllib.loads((ROOT / "Cargo.toml").read_text())["package"]["version"]
        self.assertEqual(chart["appVersion"], crate)

    def test_lint_passes_without_warnings(self):
        result = helm_client.lint()
        self.assertEqual(result["TotalChartsLinted"], 1)
        self.assertFalse(result["Errors"], result)
        worst = max((m["Severity"] for m in result["Messages"]), default=0)
        self.assertLess(worst, helm_client.LINT_WARNING, result["Messages"])

    def test_chart_crds_are_the_generated_crds(self):
        repo = ROOT / "crds"
        chart = ROOT / "charts" / "rolesmith" / "crds"
        self.assertTrue((repo / "iamroles.iam.rolesmith.dev.yaml").exists(), "run `rolesmith crd` to generate crds/")
        names = sorted(p.name for p in repo.glob("*.yaml"))
        self.assertEqual(sorted(p.name for p in chart.glob("*.yaml")), names, "copy crds/*.yaml into the chart")
        match, mismatch, errors = filecmp.cmpfiles(repo, chart, names, shallow=False)
        self.assertEqual((mismatch, errors), ([], []), "the chart's CRDs differ from crds/: copy them again")


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._sim = kube_sim()
        cls.kubeconfig = cls._sim.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls._sim.__exit__(None, None, None)

    def assert_everything_rendered_exists(self, manifest: str, *namespaces: str):
        objects = rendered_objects(manifest)
        self.assertTrue(objects)
        for obj in objects:
            ns = obj["metadata"].get("namespace")
            with self.subTest(kind=obj["kind"], name=obj["metadata"]["name"]):
                resource = f"{obj['kind'].lower()}.{obj['apiVersion'].split('/')[0]}" if "/" in obj["apiVersion"] else obj["kind"].lower()
                live = get(self.kubeconfig, resource, obj["metadata"]["name"], ns)
                self.assertEqual(live["kind"], obj["kind"])
                if ns is not None:
                    self.assertIn(ns, namespaces)
        return objects

    def test_default_install(self):
        ns = "rolesmith"
        values = {"serviceAccount": {"roleArn": ROLE_ARN}, "aws": {"region": "eu-west-1", "iamEndpoint": "http://moto.iam:5000"}}
        release = helm_client.install(self.kubeconfig, "rolesmith", ns, values)
        self.assertEqual(release["info"]["status"], "deployed")
        self.assertIn("kubectl get iamroles", release["info"]["notes"])
        objects = self.assert_everything_rendered_exists(release["manifest"], ns)
        self.assertEqual(
            sorted(o["kind"] for o in objects),
            sorted(["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Service", "Deployment"]),
        )

        # Helm keeps the release in a Secret it writes as protobuf, then updates to "deployed".
        stored = kubectl_json(self.kubeconfig, "get", "secret", "sh.helm.release.v1.rolesmith.v1", "-n", ns)
        self.assertEqual(stored["type"], "helm.sh/release.v1")
        self.assertEqual(stored["metadata"]["labels"]["owner"], "helm")
        self.assertEqual(stored["metadata"]["labels"]["status"], "deployed")

        crd = kubectl_json(self.kubeconfig, "get", "crd", "iamroles.iam.rolesmith.dev")
        self.assertEqual(crd["spec"]["names"]["kind"], "IamRole", "Helm installs the CRD from the chart's crds/")

        sa = get(self.kubeconfig, "serviceaccount", "rolesmith", ns)
        self.assertEqual(sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"], ROLE_ARN)

        role = get(self.kubeconfig, "clusterrole", "rolesmith")
        self.assertEqual(role["rules"], CLUSTER_RULES)
        binding = get(self.kubeconfig, "clusterrolebinding", "rolesmith")
        self.assertEqual(binding["roleRef"], {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "rolesmith"})
        self.assertEqual(binding["subjects"], [{"kind": "ServiceAccount", "name": "rolesmith", "namespace": ns}])

        dep = get(self.kubeconfig, "deployment", "rolesmith", ns)
        pod = dep["spec"]["template"]["spec"]
        self.assertEqual(dep["spec"]["replicas"], 1)
        self.assertEqual(dep["spec"]["strategy"]["type"], "Recreate")
        self.assertEqual(pod["serviceAccountName"], "rolesmith")
        self.assertEqual(pod["terminationGracePeriodSeconds"], 30)
        self.assertEqual(pod["securityContext"]["runAsNonRoot"], True)
        self.assertEqual(pod["securityContext"]["seccompProfile"], {"type": "RuntimeDefault"})
        c = pod["containers"][0]
        self.assertEqual(c["args"], ["run"])
        sc = c["securityContext"]
        self.assertEqual(sc["allowPrivilegeEscalation"], False)
        self.assertEqual(sc["readOnlyRootFilesystem"], True)
        self.assertEqual(sc["runAsNonRoot"], True)
        self.assertEqual(sc["capabilities"], {"drop": ["ALL"]})
        self.assertEqual(sc["seccompProfile"], {"type": "RuntimeDefault"})
        self.assertEqual(c["livenessProbe"]["httpGet"], {"path": "/healthz", "port": "metrics"})
        self.assertEqual(c["readinessProbe"]["httpGet"], {"path": "/readyz", "port": "metrics"})
        self.assertEqual(c["ports"], [{"name": "metrics", "containerPort": 8080, "protocol": "TCP"}])
        self.assertTrue(c["resources"]["requests"] and c["resources"]["limits"])
        env = env_of(dep)
        self.assertEqual(env["AWS_REGION"], "eu-west-1")
        self.assertEqual(env["ROLESMITH_IAM_ENDPOINT"], "http://moto.iam:5000")
        self.assertEqual(env["ROLESMITH_LEADER_ELECTION"], "false")
        self.assertEqual(env["ROLESMITH_METRICS_ADDR"], "0.0.0.0:8080")
        self.assertEqual(env["POD_NAMESPACE"]["fieldRef"]["fieldPath"], "metadata.namespace")
        self.assertNotIn("ROLESMITH_WATCH_NAMESPACE", env, "empty means all namespaces: leave the flag's default")
        self.assertNotIn("ROLESMITH_LEASE_NAME", env)
        self.assertEqual(env["ROLESMITH_ROLE_NAME_PREFIX"], "{namespace}.")
        self.assertNotIn("ROLESMITH_ROLE_PATH_PREFIX", env)
        self.assertNotIn("ROLESMITH_UNCONFINED_NAMESPACES", env)
        self.assertEqual((env["ROLESMITH_RETRY_BASE"], env["ROLESMITH_RETRY_MAX"]), ("1s", "2m"))
        self.assertEqual(env["ROLESMITH_UNUSED_AFTER"], "90d")
        self.assertEqual(env["ROLESMITH_WORKLOAD_IDENTITY"], "IRSA")
        self.assertNotIn("ROLESMITH_OIDC_PROVIDER_ARN", env, "no provider: IRSA entries are refused with a clear reason")
        self.assertNotIn("ROLESMITH_EKS_CLUSTER_NAME", env)

        svc = get(self.kubeconfig, "service", "rolesmith-metrics", ns)
        self.assertEqual(svc["spec"]["ports"][0]["targetPort"], "metrics")
        self.assertEqual(svc["spec"]["selector"], dep["spec"]["selector"]["matchLabels"])

        lease_roles = kubectl_json(self.kubeconfig, "get", "roles", "-n", ns)["items"]
        self.assertEqual(lease_roles, [], "no Lease permissions without leader election")

    def test_one_namespace_with_replicas_and_extras(self):
        ns, watched = "ops", "team-a"
        kubectl(self.kubeconfig, "create", "namespace", watched)
        kubectl(self.kubeconfig, "apply", "-f", "-", input_yaml=yaml.safe_dump(SERVICEMONITOR_CRD))
        values = {
            "watchNamespace": watched,
            "replicas": 2,
            "clusterId": "prod-eu-1",
            "logFormat": "text",
            "concurrency": 8,
            "resyncInterval": "30m",
            "podDisruptionBudget": {"enabled": True},
            "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}}},
            "podAnnotations": {"example.com/team": "platform"},
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "confinement": {"roleNamePrefix": "", "rolePathPrefix": "/{namespace}/", "unconfinedNamespaces": ["platform", "ops"]},
            "workloadIdentity": {
                "oidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC",
                "default": "PodIdentity",
                "eksClusterName": "prod-eu-1",
            },
        }
        release = helm_client.install(self.kubeconfig, "ops-rolesmith", ns, values)
        objects = self.assert_everything_rendered_exists(release["manifest"], ns, watched)
        kinds = sorted(o["kind"] for o in objects)
        self.assertEqual(kinds, sorted([
            "ServiceAccount", "Role", "RoleBinding", "Role", "RoleBinding",
            "ClusterRole", "ClusterRoleBinding", "Service", "Deployment", "PodDisruptionBudget", "ServiceMonitor",
        ]))

        role = get(self.kubeconfig, "role", "ops-rolesmith", watched)
        self.assertEqual(role["rules"], IAMROLE_RULES)
        binding = get(self.kubeconfig, "rolebinding", "ops-rolesmith", watched)
        self.assertEqual(binding["subjects"], [{"kind": "ServiceAccount", "name": "ops-rolesmith", "namespace": ns}])
        lease = get(self.kubeconfig, "role", "ops-rolesmith-leader-election", ns)
        self.assertEqual(lease["rules"], LEASE_RULES)
        self.assertEqual(get(self.kubeconfig, "rolebinding", "ops-rolesmith-leader-election", ns)["roleRef"]["name"],
                         "ops-rolesmith-leader-election")
        self.assertNotEqual(kubectl(self.kubeconfig, "get", "clusterrole", "ops-rolesmith", check=False).returncode, 0,
                            "watching one namespace needs no cluster-wide role for IamRoles")
        guardrails = get(self.kubeconfig, "clusterrole", "ops-rolesmith-guardrails")
        self.assertEqual(guardrails["rules"], GUARDRAIL_RULES, "cluster-scoped RoleGuardrails need a ClusterRole")
        self.assertEqual(get(self.kubeconfig, "clusterrolebinding", "ops-rolesmith-guardrails")["subjects"],
                         [{"kind": "ServiceAccount", "name": "ops-rolesmith", "namespace": ns}])

        dep = get(self.kubeconfig, "deployment", "ops-rolesmith", ns)
        env = env_of(dep)
        self.assertEqual(dep["spec"]["replicas"], 2)
        self.assertEqual(dep["spec"]["strategy"]["type"], "RollingUpdate")
        self.assertEqual(env["ROLESMITH_LEADER_ELECTION"], "true", "two replicas force leader election on")
        self.assertEqual(env["ROLESMITH_WATCH_NAMESPACE"], watched)
        self.assertEqual(env["ROLESMITH_CLUSTER_ID"], "prod-eu-1")
        self.assertEqual(env["ROLESMITH_LOG_FORMAT"], "text")
        self.assertEqual(env["ROLESMITH_CONCURRENCY"], "8")
        self.assertEqual(env["ROLESMITH_RESYNC_INTERVAL"], "30m")
        self.assertNotIn("ROLESMITH_IAM_ENDPOINT", env)
        self.assertEqual(dep["spec"]["template"]["spec"]["containers"][0]["args"], ["run"])
        self.assertEqual(env["ROLESMITH_LEASE_NAME"], "rolesmith-leader")
        self.assertEqual(env["ROLESMITH_ROLE_NAME_PREFIX"], "", "an empty prefix must reach the operator: it disables the rule")
        self.assertEqual(env["ROLESMITH_ROLE_PATH_PREFIX"], "/{namespace}/")
        self.assertEqual(env["ROLESMITH_UNCONFINED_NAMESPACES"], "platform,ops")
        self.assertEqual(env["ROLESMITH_OIDC_PROVIDER_ARN"],
                         "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC")
        self.assertEqual(env["ROLESMITH_WORKLOAD_IDENTITY"], "PodIdentity")
        self.assertEqual(env["ROLESMITH_EKS_CLUSTER_NAME"], "prod-eu-1")
        self.assertEqual(dep["spec"]["template"]["metadata"]["annotations"], {"example.com/team": "platform"})
        self.assertEqual(dep["spec"]["template"]["spec"]["nodeSelector"], {"kubernetes.io/os": "linux"})

        pdb = get(self.kubeconfig, "poddisruptionbudget", "ops-rolesmith", ns)
        self.assertEqual(pdb["spec"]["minAvailable"], 1)
        sm = get(self.kubeconfig, "servicemonitor.monitoring.coreos.com", "ops-rolesmith", ns)
        self.assertEqual(sm["metadata"]["labels"]["release"], "prometheus")
        self.assertEqual(sm["spec"]["endpoints"][0]["port"], "metrics")

    def test_accounts_become_aws_accounts(self):
        ns = "accounts"
        values = {"accounts": [
            {"name": "prod", "accountId": "111111111111", "allowedNamespaces": ["team-a", "team-b"], "default": True,
             "assumeRole": {"roleArn": "arn:aws:iam::111111111111:role/rolesmith-access", "externalId": "prod-7f3c9e",
                            "sessionTags": {"team": "platform"}}},
            {"name": "home", "accountId": "123456789012", "allowedNamespaces": []},
        ]}
        release = helm_client.install(self.kubeconfig, "accounts", ns, values)
        objects = self.assert_everything_rendered_exists(release["manifest"], ns)
        self.assertEqual(sorted(o["metadata"]["name"] for o in objects if o["kind"] == "AwsAccount"), ["home", "prod"])
        prod = get(self.kubeconfig, "awsaccount.iam.rolesmith.dev", "prod", None)
        self.assertEqual(prod["spec"], {
            "accountId": "111111111111",
            "assumeRole": {"roleArn": "arn:aws:iam::111111111111:role/rolesmith-access", "externalId": "prod-7f3c9e",
                           "sessionTags": {"team": "platform"}},
            "allowedNamespaces": ["team-a", "team-b"],
            "default": True,
        })
        home = get(self.kubeconfig, "awsaccount.iam.rolesmith.dev", "home", None)
        self.assertEqual(home["spec"], {"accountId": "123456789012", "allowedNamespaces": [], "default": False})
        with self.assertRaises(helm_client.InstallError) as caught:
            helm_client.install(self.kubeconfig, "bad-accounts", "bad-accounts",
                                {"accounts": [{"name": "x", "accountId": "12345", "allowedNamespaces": []}]})
        self.assertIn("accountId", str(caught.exception))

    def test_mistyped_values_fail_the_install(self):
        cases = [
            ("string for a number", {"replicas": "two"}, "replicas"),
            ("unknown top-level key", {"replica": 2}, "replica"),
            ("unknown nested key", {"aws": {"regoin": "eu-west-1"}}, "regoin"),
            ("log format outside the enum", {"logFormat": "xml"}, "logFormat"),
            ("duration in words", {"resyncInterval": "ten minutes"}, "resyncInterval"),
            ("unused-after in words", {"unusedAfter": "three months"}, "unusedAfter"),
            ("role ARN that is not one", {"serviceAccount": {"roleArn": "rolesmith"}}, "roleArn"),
            ("boolean as a string", {"rbac": {"create": "yes"}}, "create"),
            ("slash in the cluster id", {"clusterId": "a/b"}, "clusterId"),
            ("retry delay without a unit", {"retry": {"base": "soon"}}, "base"),
            ("namespace list as a string", {"confinement": {"unconfinedNamespaces": "platform"}}, "unconfinedNamespaces"),
        ]
        for i, (label, values, key) in enumerate(cases):
            with self.subTest(label):
                with self.assertRaises(helm_client.InstallError) as caught:
                    helm_client.install(self.kubeconfig, f"bad-{i}", f"bad-{i}", values)
                message = str(caught.exception)
                self.assertIn("schema", message.lower())
                self.assertIn(key, message)


if __name__ == "__main__":
    unittest.main()
