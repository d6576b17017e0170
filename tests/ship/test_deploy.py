"""deploy/ is the chart with default values, as plain manifests kustomize (kubectl -k) understands."""

import subprocess
import unittest

import yaml

import render_deploy
from support import ROOT, VENV_BIN, kube_sim, kubectl, kubectl_json

DEPLOY = ROOT / "deploy"


def objects(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


def kustomize_build() -> list[dict]:
    # kustomize runs locally: no cluster, no kubeconfig.
    out = subprocess.run([str(VENV_BIN / "kubectl"), "kustomize", str(DEPLOY)], capture_output=True, text=True)
    if out.returncode != 0:
        raise AssertionError(f"kubectl kustomize deploy/ failed: {out.stderr}")
    return objects(out.stdout)


def keyed(objs: list[dict]) -> dict:
    return {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objs}


class DeployManifests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.manifest = render_deploy.render_chart_defaults()
        cls.expected = render_deploy.render_files(cls.manifest)

    def test_committed_files_are_a_fresh_render(self):
        for name, text in self.expected.items():
            with self.subTest(name):
                path = DEPLOY / name
                self.assertTrue(path.exists(), f"deploy/{name} missing: run scripts/render-deploy.sh")
                self.assertEqual(path.read_text(), text, f"deploy/{name} is stale: run scripts/render-deploy.sh")

    def test_kustomize_build_is_the_chart_plus_namespace_and_crds(self):
        built = kustomize_build()
        chart = objects(self.manifest)
        crd = objects((ROOT / "crds" / "iamroles.iam.rolesmith.dev.yaml").read_text())
        crd += objects((ROOT / "crds" / "iampolicies.iam.rolesmith.dev.yaml").read_text())
        crd += objects((ROOT / "crds" / "roleguardrails.iam.rolesmith.dev.yaml").read_text())
        crd += objects((ROOT / "crds" / "awsaccounts.iam.rolesmith.dev.yaml").read_text())
        crd += objects((ROOT / "crds" / "iamservicelinkedroles.iam.rolesmith.dev.yaml").read_text())
        namespace = objects(render_deploy.NAMESPACE_YAML)
        self.assertEqual(keyed(built), keyed(chart + crd + namespace))
        kinds = {o["kind"] for o in built}
        self.assertLessEqual(
            {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "ServiceAccount", "Deployment", "Service"},
            kinds,
        )

    def test_apply_k_creates_everything(self):
        built = kustomize_build()
        with kube_sim() as kubeconfig:
            kubectl(kubeconfig, "apply", "-k", str(DEPLOY))
            for o in built:
                with self.subTest(kind=o["kind"], name=o["metadata"]["name"]):
                    group = o["apiVersion"].split("/")[0] if "/" in o["apiVersion"] else ""
                    resource = o["kind"].lower() + (f".{group}" if group else "")
                    ns = o["metadata"].get("namespace")
                    live = kubectl_json(kubeconfig, "get", resource, o["metadata"]["name"], *(["-n", ns] if ns else []))
                    self.assertEqual(live["kind"], o["kind"])
            # The CRD from deploy/ serves IamRoles: an example applies.
            kubectl(kubeconfig, "apply", "-n", "default", "-f", str(ROOT / "examples" / "lambda-service-role.yaml"))


if __name__ == "__main__":
    unittest.main()
