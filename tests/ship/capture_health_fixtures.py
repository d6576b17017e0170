"""Captures IamRole statuses from the real operator into fixtures/argocd-health/captured-*.json.

Runs kube-sim, moto and target/debug/rolesmith (or $ROLESMITH_BIN), drives each situation the
health check must judge, and stores the object exactly as the API server returns it, with the
verdict Argo CD should reach. Re-run after the status logic changes:
    cargo build --bin rolesmith --bin kube-sim && .venv/bin/python tests/ship/capture_health_fixtures.py
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from support import ROOT, free_port, iam_client, kube_sim, kubectl, kubectl_json, moto_server, wait_http

FIXTURES = ROOT / "tests" / "ship" / "fixtures" / "argocd-health"
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def iamrole(name: str, **spec) -> str:
    return yaml.safe_dump({"apiVersion": "iam.rolesmith.dev/v1alpha1", "kind": "IamRole",
                           "metadata": {"name": name, "namespace": "default"},
                           "spec": {"assumeRolePolicy": TRUST, **spec}})


@contextlib.contextmanager
def operator(kubeconfig: Path, endpoint: str):
    binary = os.environ.get("ROLESMITH_BIN", str(ROOT / "target" / "debug" / "rolesmith"))
    port = free_port()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [binary, "run", "--cluster-id", "capture", "--iam-endpoint", endpoint, "--retry-base", "200ms",
             "--retry-max", "1s", "--metrics-addr", f"127.0.0.1:{port}"],
            env=dict(os.environ, KUBECONFIG=str(kubeconfig), AWS_ACCESS_KEY_ID="testing",
                     AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1"),
            stdout=subprocess.DEVNULL, stderr=log)
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz", proc=proc)
            yield proc
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            if proc.returncode not in (0, -15):
                log.seek(0)
                sys.stderr.write(log.read().decode(errors="replace")[-4000:])


def condition(obj: dict, kind: str) -> dict | None:
    return next((c for c in obj.get("status", {}).get("conditions", []) if c["type"] == kind), None)


def wait_for(kubeconfig: Path, name: str, kind: str, status: str = "True", timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        obj = kubectl_json(kubeconfig, "get", "iamrole", name, "-n", "default")
        c = condition(obj, kind)
        if c and c["status"] == status and obj["status"].get("observedGeneration") == obj["metadata"]["generation"]:
            return obj
        time.sleep(0.2)
    raise AssertionError(f"{name}: {kind} never became {status}: {json.dumps(obj.get('status'), indent=1)}")


def save(name: str, description: str, obj: dict, status: str, message_from: str | None, message: str | None = None):
    if message is None:
        message = condition(obj, message_from)["message"]
    fixture = {"description": description, "source": "captured from the operator by capture_health_fixtures.py",
               "object": obj, "expected": {"status": status, "message": message}}
    (FIXTURES / f"captured-{name}.json").write_text(json.dumps(fixture, indent=2) + "\n")
    print(f"captured-{name}: {status}: {message}")


def main() -> int:
    with moto_server() as endpoint, kube_sim() as kc:
        kubectl(kc, "apply", "-f", str(ROOT / "crds"))
        iam = iam_client(endpoint)
        iam.create_role(RoleName="default.foreign", AssumeRolePolicyDocument=json.dumps(TRUST))
        with operator(kc, endpoint) as proc:
            kubectl(kc, "apply", "-f", str(ROOT / "examples" / "lambda-service-role.yaml"))
            save("synced", "an example in sync with IAM", wait_for(kc, "lambda-basic-execution", "Ready"), "Healthy", "Ready")

            trust = {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}]}
            kubectl(kc, "apply", "-f", "-", input_yaml=iamrole("no-external-id", assumeRolePolicy=trust))
            obj = wait_for(kc, "no-external-id", "Ready")
            assert condition(obj, "Warnings")["status"] == "True", obj["status"]
            save("synced-with-warnings", "in sync, with a guardrail warning (no ExternalId)", obj, "Healthy", "Ready")

            kubectl(kc, "apply", "-f", "-", input_yaml=iamrole("foreign"))
            save("blocked-ownership", "a role of that name exists and is not ours",
                 wait_for(kc, "foreign", "Stalled"), "Degraded", "Stalled")

            wildcard = {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
            kubectl(kc, "apply", "-f", "-", input_yaml=iamrole("wildcard", assumeRolePolicy=wildcard))
            save("blocked-invalid-spec", "a trust policy rolesmith refuses",
                 wait_for(kc, "wildcard", "Stalled"), "Degraded", "Stalled")

            kubectl(kc, "patch", "iamrole", "lambda-basic-execution", "-n", "default", "--type", "merge",
                    "-p", '{"spec":{"description":"edited while the operator is away"}}')
        # The operator is stopped: the edit stays unobserved, as between a push and a reconcile.
        obj = kubectl_json(kc, "get", "iamrole", "lambda-basic-execution", "-n", "default")
        assert obj["status"]["observedGeneration"] < obj["metadata"]["generation"], obj
        save("stale-generation", "spec edited, not reconciled yet (operator stopped)", obj, "Progressing", None,
             f"Waiting for rolesmith to observe generation {obj['metadata']['generation']}")

    # IAM unreachable: every call fails at the connection, a transient error retried with backoff.
    dead = f"http://127.0.0.1:{free_port()}"
    with kube_sim() as kc:
        kubectl(kc, "apply", "-f", str(ROOT / "crds"))
        with operator(kc, dead):
            kubectl(kc, "apply", "-f", "-", input_yaml=iamrole("unreachable"))
            save("retrying-unreachable", "IAM does not answer: retried with backoff",
                 wait_for(kc, "unreachable", "Reconciling"), "Progressing", "Reconciling")
    return 0


if __name__ == "__main__":
    sys.exit(main())
