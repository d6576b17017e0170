"""The commands the documents tell users to type, run exactly as written.

Each command's text is read from its document (documented_commands.py) at test time and run with
`bash -c` from the repository root, in a shell set up the way a user's would be: `kubectl` (the
real one), `rolesmith` (the binary cargo built), `helm` (a command line over the real Helm library:
helm_cli.py), a kubeconfig for a fresh kube-sim, and AWS credentials for a fresh moto. kube-sim
runs no pods, so once an install command has created the operator's Deployment, the test starts
that Deployment's container itself: the `rolesmith` binary with the Deployment's args and
environment (only the API server, the credentials, the IAM endpoint and the metrics port are
the local ones).

`Coverage` checks that every documented command is run here, by tests/e2e/sandbox.rs (README's
first command) or by CI (README's second, which .ci/run must run verbatim), or that the document
says next to it what it needs that this machine lacks (Docker, an EKS cluster, pods).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import documented_commands as docs
from support import ACCOUNT_ID, ROOT, VENV_BIN, free_port, iam_client, kube_sim, moto_server, target_dir, wait_http

EXAMPLE_ROLE = "arn:aws:iam::123456789012:role/rolesmith/default.lambda-basic-execution"


# A scenario: the commands that install the operator, then (once its pod runs) the ones after.
Scenario = tuple[list[docs.Command], list[docs.Command]]


def chart_readme() -> Scenario:
    commands = docs.section("charts/rolesmith/README.md", "# rolesmith Helm chart")
    first_check = next(i for i, c in enumerate(commands) if not c.words.startswith("helm install "))
    return commands[:first_check], commands[first_check:]


def deploy_readme_manifests() -> Scenario:
    section = lambda prefix: docs.section("deploy/README.md", prefix)  # noqa: E731
    return section("## 1.") + section("## 2b."), section("## 3.")


def deploy_readme_helm() -> Scenario:
    return docs.section("deploy/README.md", "## 2a."), docs.section("deploy/README.md", "## 3.")


def argocd_patch() -> Scenario:
    return docs.yaml_comment_commands(ROOT / "deploy" / "argocd" / "argocd-cm-patch.yaml"), []


def readme_audit() -> Scenario:
    return docs.section("README.md", "## Findings and `rolesmith audit`"), []


def make_generate() -> Scenario:
    return [c for c in docs.makefile_commands() if c.words == "make generate"], []


# Every scenario the tests below run, with the documented commands each runs.
SCENARIOS = {
    "charts/rolesmith/README.md quick start": chart_readme,
    "deploy/README.md: bootstrap role, plain manifests, check": deploy_readme_manifests,
    "deploy/README.md: Helm, check": deploy_readme_helm,
    "deploy/argocd/argocd-cm-patch.yaml": argocd_patch,
    "make generate": make_generate,
    "README.md: rolesmith audit": readme_audit,
}


def elsewhere() -> dict[str, str]:
    """Commands run by other tests: README's first (the sandbox) and second (CI)."""
    first, second = docs.readme_front_door()[:2]
    return {
        first.words: "tests/e2e/sandbox.rs runs README's first command",
        second.words: ".ci/run runs README's second command (FrontDoor checks it)",
    }


# Not in a user's shell: what the test runners set (cargo for its test binaries: CARGO_PKG_NAME, …;
# ring's build script reruns when those change, and the whole TLS and AWS stack is rebuilt after
# it), an enclosing make's variables, and this project's own overrides and credentials.
SET_BY_TESTS = re.compile(
    r"^(CARGO|OUT_DIR|RUST_RECURSION_COUNT|CARGO_(PKG|MANIFEST|BIN|CRATE)_[\w-]+|CARGO_PRIMARY_PACKAGE|CARGO_TARGET_TMPDIR"
    r"|CARGO_RUSTC_CURRENT_DIR|MAKEFLAGS|MAKELEVEL|MFLAGS|ROLESMITH_(?!VENV$)\w+|KUBE_SIM_BIN|AWS_\w+|KUBECONFIG)$"
)


def rolesmith_binary() -> Path:
    override = os.environ.get("ROLESMITH_BIN")
    return Path(override) if override else target_dir() / "debug" / "rolesmith"


class Shell:
    """A user's shell for the documented commands, with everything in a temp dir."""

    def __init__(self, tmp: Path, kubeconfig: Path | None = None, iam_endpoint: str | None = None):
        self.tmp = tmp
        self.transcript: list[str] = []
        bin_dir = tmp / "bin"
        bin_dir.mkdir()
        (bin_dir / "kubectl").symlink_to(VENV_BIN / "kubectl")
        (bin_dir / "rolesmith").symlink_to(rolesmith_binary())
        helm = bin_dir / "helm"
        helm.write_text(f'#!/bin/sh\nexec "{VENV_BIN / "python"}" "{Path(__file__).parent / "helm_cli.py"}" "$@"\n')
        helm.chmod(0o755)
        home = tmp / "home"
        home.mkdir()
        env = {k: v for k, v in os.environ.items() if not SET_BY_TESTS.match(k)}
        # A HOME of its own (kubectl's caches); the Rust toolchain stays the user's.
        user_home = Path.home()
        env.setdefault("RUSTUP_HOME", str(user_home / ".rustup"))
        env.setdefault("CARGO_HOME", str(user_home / ".cargo"))
        env.update(PATH=f"{bin_dir}:{env.get('PATH', '/usr/bin:/bin')}", HOME=str(home))
        if kubeconfig:
            env["KUBECONFIG"] = str(kubeconfig)
        if iam_endpoint:
            # The user's AWS credentials; the endpoint makes the CLI talk to moto instead of AWS.
            env.update(
                AWS_ACCESS_KEY_ID="docs", AWS_SECRET_ACCESS_KEY="docs", AWS_REGION="us-east-1", ROLESMITH_IAM_ENDPOINT=iam_endpoint
            )
        self.env = env

    def run(
        self, command: docs.Command, cwd: Path = ROOT, timeout: float = 180, context=lambda: "", exit_codes=(0,)
    ) -> str:
        start = time.monotonic()
        try:
            out = subprocess.run(
                ["bash", "-c", command.text], cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as error:
            raise AssertionError(f"{command.source}: `{command.words}` still running after {timeout}s\n{error.stdout}\n{error.stderr}\n{context()}")
        took = time.monotonic() - start
        self.transcript.append(f"$ {command.words}   ({took:.1f}s, exit {out.returncode})\n{out.stdout}{out.stderr}")
        if out.returncode not in exit_codes:
            raise AssertionError(
                f"{command.source}: `{command.words}` failed ({out.returncode}):\n{out.stdout}\n{out.stderr}\n"
                f"--- before it:\n" + "\n".join(self.transcript[:-1]) + f"\n{context()}"
            )
        return out.stdout

    def kubectl_json(self, *args: str) -> dict:
        out = subprocess.run([str(VENV_BIN / "kubectl"), *args, "-o", "json"], env=self.env, capture_output=True, text=True)
        if out.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {out.stderr}")
        return json.loads(out.stdout)


class DeploymentPod:
    """The operator's Deployment as its pod would run, as a local process (kube-sim has no kubelet)."""

    def __init__(self, shell: Shell, iam_endpoint: str):
        deployments = shell.kubectl_json("get", "deployments", "-A", "-l", "app.kubernetes.io/name=rolesmith")["items"]
        if len(deployments) != 1:
            raise AssertionError(f"expected the operator's Deployment, found {[d['metadata']['name'] for d in deployments]}")
        deployment = deployments[0]
        namespace = deployment["metadata"]["namespace"]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(shell.tmp / "home")}
        field = {"metadata.namespace": namespace, "metadata.name": f"{deployment['metadata']['name']}-0"}
        for var in container.get("env", []):
            if "valueFrom" in var:
                env[var["name"]] = field[var["valueFrom"]["fieldRef"]["fieldPath"]]
            else:
                env[var["name"]] = var.get("value", "")
        self.metrics_port = free_port()
        env.update(
            KUBECONFIG=shell.env["KUBECONFIG"],  # instead of the in-cluster configuration
            AWS_ACCESS_KEY_ID="pod",  # instead of IRSA / EKS Pod Identity
            AWS_SECRET_ACCESS_KEY="pod",
            ROLESMITH_IAM_ENDPOINT=iam_endpoint,  # instead of AWS
            ROLESMITH_METRICS_ADDR=f"127.0.0.1:{self.metrics_port}",  # instead of the pod's own 0.0.0.0:8080
        )
        self.env = env
        self.log_path = shell.tmp / "operator.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(rolesmith_binary()), *container.get("args", [])], env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        wait_http(f"http://127.0.0.1:{self.metrics_port}/healthz", timeout=60, proc=self.proc)

    def log(self) -> str:
        return f"--- operator log:\n{self.log_path.read_text(errors='replace')[-6000:]}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


class Scenarios(unittest.TestCase):
    def run_scenario(self, scenario: Scenario, check) -> None:
        """Runs the install commands against a fresh kube-sim and moto, starts the operator's pod,
        runs the other commands, then `check(shell, iam endpoint, outputs)` while all still runs."""
        install, after = scenario
        self.assertTrue(install and after, scenario)
        outputs: dict[str, str] = {}
        with tempfile.TemporaryDirectory(prefix="docs-") as tmp, moto_server() as iam, kube_sim() as kubeconfig:
            shell = Shell(Path(tmp), kubeconfig, iam)
            pod: DeploymentPod | None = None
            try:
                for command in install:
                    if not command.needs:
                        outputs[command.words] = shell.run(command)
                pod = DeploymentPod(shell, iam)
                for command in after:
                    if not command.needs:
                        outputs[command.words] = shell.run(command, context=pod.log)
                try:
                    self.check_example_is_ready(shell, iam, outputs)
                    check(shell, iam, outputs)
                except AssertionError as error:
                    raise AssertionError(f"{error}\n" + "\n".join(shell.transcript) + pod.log()) from None
            finally:
                if pod:
                    pod.stop()

    def check_example_is_ready(self, shell: Shell, iam: str, outputs: dict[str, str]) -> None:
        table = outputs["kubectl get iamroles -o wide"]
        header, *rows = table.strip().splitlines()
        self.assertIn("ARN", header.split(), table)
        row = next((r.split() for r in rows if r.split()[0] == "lambda-basic-execution"), None)
        self.assertIsNotNone(row, table)
        self.assertIn("True", row, table)
        self.assertIn(EXAMPLE_ROLE, row, table)
        role = iam_client(iam).get_role(RoleName="default.lambda-basic-execution")["Role"]
        self.assertEqual(role["Arn"], EXAMPLE_ROLE)

    def test_chart_readme(self):
        scenario = chart_readme()

        def check(shell, iam, outputs):
            self.assertIn("STATUS: deployed", outputs[scenario[0][0].words])
            sa = shell.kubectl_json("-n", "rolesmith", "get", "serviceaccount", "rolesmith")
            self.assertEqual(sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"], set_value(scenario[0][0], "serviceAccount.roleArn"))

        self.run_scenario(scenario, check)

    def test_deploy_readme_with_plain_manifests(self):
        scenario = deploy_readme_manifests()

        def check(shell, iam, outputs):
            # Section 1: the operator's own role, from deploy/bootstrap-iamrole.yaml as it is (its
            # account id is moto's), with deploy/iam-policy.json as its inline policy.
            client = iam_client(iam)
            role = client.get_role(RoleName="rolesmith-operator")["Role"]
            self.assertEqual(role["Arn"], f"arn:aws:iam::{ACCOUNT_ID}:role/rolesmith-operator")
            policy = client.get_role_policy(RoleName="rolesmith-operator", PolicyName="rolesmith-operator")["PolicyDocument"]
            self.assertEqual(policy, json.loads((ROOT / "deploy" / "iam-policy.json").read_text()))
            # Section 2b: the IRSA annotation and the rollout restart left their marks.
            annotate = next(c for c in scenario[0] if " annotate " in c.words)
            key, value = annotate.words.rsplit(" ", 1)[1].split("=", 1)
            sa = shell.kubectl_json("-n", "rolesmith", "get", "serviceaccount", "rolesmith")
            self.assertEqual(sa["metadata"]["annotations"][key], value)
            deployment = shell.kubectl_json("-n", "rolesmith", "get", "deployment", "rolesmith")
            self.assertIn("kubectl.kubernetes.io/restartedAt", deployment["spec"]["template"]["metadata"]["annotations"])

        self.run_scenario(scenario, check)

    def test_deploy_readme_with_helm(self):
        scenario = deploy_readme_helm()

        def check(shell, iam, outputs):
            deployment = shell.kubectl_json("-n", "rolesmith", "get", "deployment", "rolesmith")
            env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
            self.assertEqual(env["ROLESMITH_CLUSTER_ID"], set_value(scenario[0][0], "clusterId"))

        self.run_scenario(scenario, check)


def set_value(command: docs.Command, key: str) -> str:
    """The value a `--set KEY=VALUE` of the command gives."""
    match = re.search(rf"--set {re.escape(key)}=(\S+)", command.words)
    if not match:
        raise AssertionError(f"{command.source}: no --set {key}=")
    return match.group(1)


class ArgoCdPatch(unittest.TestCase):
    def test_patch_merges_the_health_check_into_argocd_cm(self):
        (command,), _ = argocd_patch()
        with tempfile.TemporaryDirectory(prefix="docs-") as tmp, kube_sim() as kubeconfig:
            shell = Shell(Path(tmp), kubeconfig)
            # What an Argo CD installation already has: its namespace and argocd-cm.
            for args in (["create", "namespace", "argocd"],
                         ["-n", "argocd", "create", "configmap", "argocd-cm", "--from-literal=url=https://argocd.example.com"]):
                subprocess.run([str(VENV_BIN / "kubectl"), *args], env=shell.env, check=True, capture_output=True)
            # The command names the patch file by its bare name: it is typed next to the file.
            shell.run(command, cwd=ROOT / "deploy" / "argocd")
            data = shell.kubectl_json("-n", "argocd", "get", "configmap", "argocd-cm")["data"]
            self.assertEqual(data["url"], "https://argocd.example.com", "the patch merges, it does not replace")
            lua = (ROOT / "deploy" / "argocd" / "iamrole-health.lua").read_text()
            self.assertEqual(data["resource.customizations.health.iam.rolesmith.dev_IamRole"].strip(), lua.strip())


class ReadmeAudit(unittest.TestCase):
    def test_audit_commands_report_the_risky_role(self):
        commands, _ = readme_audit()
        self.assertEqual(len(commands), 2, [c.words for c in commands])
        table_command, json_command = commands
        with tempfile.TemporaryDirectory(prefix="docs-") as tmp, moto_server() as iam:
            client = iam_client(iam)
            trust = json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
            for name in ("clean", "admin"):
                client.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
            client.attach_role_policy(RoleName="admin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
            client.put_role_policy(RoleName="clean", PolicyName="logs", PolicyDocument=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "arn:aws:logs:*:123456789012:*"}]}))
            shell = Shell(Path(tmp), iam_endpoint=iam)
            # Exit 3: there are findings, and the user's shell sees it.
            table = shell.run(table_command, exit_codes=(3,))
            self.assertIn(f"admin (arn:aws:iam::{ACCOUNT_ID}:role/admin)\n  high      admin-access", table)
            self.assertNotIn("clean (", table)
            self.assertIn("scanned 2 roles (quota 1000): 1 finding on 1 role (1 high) at or above low", table)
            rows = json.loads(shell.run(json_command, exit_codes=(3,)))
            self.assertEqual([(r["roleName"], r["check"], r["severity"]) for r in rows], [("admin", "admin-access", "high")])
            # Nothing was written: the two roles are as they were.
            roles = client.list_roles()["Roles"]
            self.assertEqual(sorted(r["RoleName"] for r in roles), ["admin", "clean"])


class MakeGenerate(unittest.TestCase):
    def test_leaves_an_up_to_date_tree_unchanged(self):
        (command,), _ = make_generate()
        before = generated_files()
        listing = directory_listing()
        tmp = Path(tempfile.mkdtemp(prefix="docs-generate-"))
        try:
            # Builds first: a no-op after `make test`'s build; minutes when run on a cold target dir.
            output = Shell(tmp).run(command, timeout=1800)
        finally:
            changed = [name for name, content in before.items() if (ROOT / name).read_bytes() != content]
            # Put back what it changed, so a failing run leaves the tree as it found it.
            for name in changed:
                (ROOT / name).write_bytes(before[name])
            shutil.rmtree(tmp, ignore_errors=True)
        self.assertEqual(changed, [], f"`make generate` changed generated files (put back; regenerate and commit them):\n{output}")
        self.assertNotIn("wrote", output)
        self.assertEqual(directory_listing(), listing, "`make generate` left files behind")


def generated_files() -> dict[str, bytes]:
    """The files `make generate` writes: the CRD, the chart's copy, and deploy/'s kustomize base."""
    names = [str(p.relative_to(ROOT)) for top in ("crds", "charts/rolesmith/crds") for p in (ROOT / top).glob("*.yaml")]
    kustomization = (ROOT / "deploy" / "kustomization.yaml").read_text()
    names += ["deploy/kustomization.yaml"] + [f"deploy/{r}" for r in re.findall(r"^  - (\S+)$", kustomization, re.M)]
    return {name: (ROOT / name).read_bytes() for name in names}


def directory_listing() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for top in ("crds", "charts/rolesmith/crds", "deploy") for p in (ROOT / top).iterdir())


class FrontDoor(unittest.TestCase):
    def test_readme_opens_with_two_commands(self):
        commands = docs.readme_front_door()
        self.assertEqual(len(commands), 2, [c.words for c in commands])

    def test_ci_runs_the_readme_second_command_verbatim(self):
        command = docs.readme_front_door()[1].words
        script = (ROOT / ".ci" / "run").read_text()
        # The command as a whole simple command: followed by the end of the line, a redirection,
        # a pipe or a list operator (and not, say, `make test-quick`).
        pattern = re.compile(rf"^\s*{re.escape(command)}(\s*$|\s+(\d?>|\||&&|;|#))", re.M)
        self.assertRegex(script, pattern, f".ci/run must run README's second command `{command}` verbatim")
        ci = (ROOT / ".github" / "workflows" / "ci.yaml").read_text()
        self.assertIn(".ci/run", ci)


class CargoCommandsInScripts(unittest.TestCase):
    """Each cargo command in the Makefile and scripts/ names only targets of the packages it
    selects. `make sandbox` and `make bench` once asked for `--bin kube-sim` without selecting
    kube-sim, another workspace member, and failed on every fresh clone; `make bench` takes over an
    hour, so this is what checks its recipe in `make test`."""

    SELECTORS = {"--bin": "bin", "--bench": "bench", "--test": "test", "--example": "example"}

    def test_named_targets_exist_in_the_selected_packages(self):
        out = subprocess.run(
            [os.environ.get("CARGO", "cargo"), "metadata", "--format-version", "1", "--no-deps"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )
        packages = {p["name"]: p for p in json.loads(out.stdout)["packages"]}
        root_package = next(n for n, p in packages.items() if Path(p["manifest_path"]) == ROOT / "Cargo.toml")
        checked = 0
        for path in [ROOT / "Makefile", *sorted((ROOT / "scripts").glob("*.sh"))]:
            for number, line in enumerate(path.read_text().splitlines(), 1):
                match = re.search(r'(?:\$\(CARGO\)|"\$\{CARGO:-cargo\}"|^\s*cargo)\s+(.*)', line)
                if not match or line.lstrip().startswith("#"):
                    continue
                words = shlex.split(re.split(r"\s(?:--|\||>|&&|;)(?:\s|$)", " " + match.group(1) + " ")[0])
                selected = [words[i + 1] for i, w in enumerate(words) if w in ("-p", "--package")]
                if "--workspace" in words:
                    selected = list(packages)
                selected = selected or [root_package]
                for i, word in enumerate(words[:-1]):
                    kind = self.SELECTORS.get(word)
                    if kind:
                        checked += 1
                        name = words[i + 1]
                        owners = [p for p in selected for t in packages[p]["targets"] if t["name"] == name and kind in t["kind"]]
                        with self.subTest(f"{path.name}:{number}"):
                            self.assertTrue(owners, f"{path.name}:{number}: {kind} {name} is in none of {selected}: {line.strip()}")
        self.assertGreater(checked, 0)


class Coverage(unittest.TestCase):
    def test_every_command_is_run_by_a_test_or_says_what_it_needs(self):
        run_here = {c.words for scenario in SCENARIOS.values() for part in scenario() for c in part if not c.needs}
        run_elsewhere = elsewhere()
        missing = []
        for command in docs.all_commands():
            if command.needs:
                self.assertTrue(command.needs.strip(), command)
                continue
            if command.words not in run_here and command.words not in run_elsewhere:
                missing.append(f"{command.source}: {command.words}")
        self.assertEqual(
            missing, [], "run these in a test, or say next to each what it needs (`# needs Docker`): see documented_commands.py"
        )

    def test_marked_commands_really_cannot_run_here(self):
        # The marks are for what this machine lacks; a command that runs here must be run instead.
        for command in docs.all_commands():
            if command.needs:
                with self.subTest(command.source):
                    self.assertRegex(
                        command.words, r"^(docker|aws eks|kubectl .*(rollout status|logs|port-forward)|curl .*localhost:8080|make bench$)", command
                    )

    def test_the_documents_have_the_commands_the_tests_expect(self):
        for name, scenario in SCENARIOS.items():
            with self.subTest(name):
                self.assertTrue([c for part in scenario() for c in part if not c.needs], f"{name}: no runnable commands")


if __name__ == "__main__":
    unittest.main()
