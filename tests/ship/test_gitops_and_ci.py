"""GitOps examples and CI workflows point at real paths and pass the chart's values schema."""

import json
import unittest

import jsonschema

from support import ROOT, load_all, load_one

SCHEMA = json.loads((ROOT / "charts" / "rolesmith" / "values.schema.json").read_text())
GITOPS = ROOT / "deploy" / "gitops"
WORKFLOWS = ROOT / ".github" / "workflows"


def by_kind(docs):
    out = {}
    for d in docs:
        out.setdefault(d["kind"], []).append(d)
    return out


def workflow(name):
    wf = load_one(WORKFLOWS / name)
    # YAML 1.1 reads the key `on` as True.
    wf["on"] = wf.pop(True, wf.get("on"))
    return wf


def run_text(wf):
    return "\n".join(s.get("run", "") for job in wf["jobs"].values() for s in job["steps"])


class GitOps(unittest.TestCase):
    def test_argocd_applications(self):
        apps = by_kind(load_all(GITOPS / "argocd-application.yaml"))["Application"]
        self.assertEqual(len(apps), 2)
        for app in apps:
            with self.subTest(app["metadata"]["name"]):
                self.assertEqual(app["apiVersion"], "argoproj.io/v1alpha1")
                src = app["spec"]["source"]
                self.assertTrue((ROOT / src["path"]).is_dir(), src["path"])
                if "helm" in src:
                    jsonschema.validate(src["helm"]["valuesObject"], SCHEMA)

    def test_flux_kustomizations(self):
        docs = by_kind(load_all(GITOPS / "flux-kustomization.yaml"))
        self.assertEqual(docs["GitRepository"][0]["apiVersion"], "source.toolkit.fluxcd.io/v1")
        for k in docs["Kustomization"]:
            with self.subTest(k["metadata"]["name"]):
                self.assertEqual(k["apiVersion"], "kustomize.toolkit.fluxcd.io/v1")
                self.assertTrue((ROOT / k["spec"]["path"]).is_dir(), k["spec"]["path"])
                self.assertTrue(k["spec"]["wait"], "wait: true is what makes Flux read the kstatus conditions")
        self.assertTrue((ROOT / "deploy" / "kustomization.yaml").exists())

    def test_flux_helmrelease(self):
        docs = by_kind(load_all(GITOPS / "flux-helmrelease.yaml"))
        repo, release = docs["HelmRepository"][0], docs["HelmRelease"][0]
        self.assertEqual(release["apiVersion"], "helm.toolkit.fluxcd.io/v2")
        self.assertEqual(release["spec"]["chart"]["spec"]["sourceRef"]["name"], repo["metadata"]["name"])
        self.assertEqual(release["spec"]["chart"]["spec"]["chart"], "rolesmith")
        jsonschema.validate(release["spec"]["values"], SCHEMA)


class Workflows(unittest.TestCase):
    def test_e2e_kind_runs_the_whole_scenario(self):
        wf = workflow("e2e-kind.yaml")
        self.assertIn("pull_request", wf["on"])
        steps = wf["jobs"]["e2e"]["steps"]
        uses = [s.get("uses", "").split("@")[0] for s in steps]
        for action in ("actions/checkout", "docker/build-push-action", "helm/kind-action", "azure/setup-helm"):
            self.assertIn(action, uses)
        build = next(s for s in steps if s.get("uses", "").startswith("docker/build-push-action"))
        self.assertEqual(build["with"]["context"], ".", "the image is built from the repository's Dockerfile")
        text = run_text(wf)
        for expected in (
            'kind load docker-image "$IMAGE"',
            "motoserver/moto:",
            "MOTO_IAM_LOAD_MANAGED_POLICIES",
            "helm install rolesmith charts/rolesmith",
            "iamEndpoint: http://moto.moto.svc:5000",
            "kubectl apply -f examples/",
            "kubectl wait --for=condition=Ready iamroles --all",
            "kubectl delete -f examples/",
        ):
            self.assertIn(expected, text)

    def test_e2e_names_the_roles_the_examples_really_create(self):
        from support import load_one as one

        text = run_text(workflow("e2e-kind.yaml"))
        retained = [one(p) for p in sorted((ROOT / "examples").glob("*.yaml"))
                    if one(p)["spec"].get("deletionPolicy") == "Retain"]
        self.assertEqual(len(retained), 1)
        obj = retained[0]
        # Without spec.roleName the operator derives <namespace>.<name> (src/admission/names.rs).
        name = obj["spec"].get("roleName", f"default.{obj['metadata']['name']}")
        self.assertIn(f'[ "$left" = "{name}" ]', text)
        # The leftover check lists /rolesmith/: every example must live under it.
        self.assertIn("--path-prefix /rolesmith/", text)
        for p in (ROOT / "examples").glob("*.yaml"):
            if one(p)["kind"] == "IamServiceLinkedRole":
                continue  # IAM chooses its path; checked below
            self.assertTrue(one(p)["spec"]["path"].startswith("/rolesmith/"), p.name)
        # Service-linked roles live under IAM's /aws-service-role/: none may be left either.
        self.assertIn("--path-prefix /aws-service-role/", text)
        self.assertIn("kubectl wait --for=condition=Ready iamservicelinkedroles --all", text)

    def test_e2e_values_pass_the_chart_schema(self):
        import yaml

        text = run_text(workflow("e2e-kind.yaml"))
        block = text.split("cat > /tmp/e2e-values.yaml <<'YAML'\n", 1)[1].split("\nYAML", 1)[0]
        values = yaml.safe_load(block)
        jsonschema.validate(values, SCHEMA)
        self.assertEqual(values["image"]["pullPolicy"], "Never", "kind-loaded images must not be pulled")

    def test_ci_runs_what_make_test_runs(self):
        self.assertEqual(run_text(workflow("ci.yaml")).strip(), ".ci/run")
        self.assertIn("make test", (ROOT / ".ci" / "run").read_text())
        makefile = (ROOT / "Makefile").read_text()
        # tests/ship/main.rs needs the tools, lua5.1 and a kube-sim built before `cargo test`.
        for expected in ("scripts/venv.sh", "scripts/system-deps.sh", "$(CARGO) build --workspace --bins",
                         "$(CARGO) test --workspace"):
            self.assertIn(expected, makefile)


if __name__ == "__main__":
    unittest.main()
