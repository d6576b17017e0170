"""Shared helpers for the shipping tests: paths, YAML loading, and local servers.

Every server starts on 127.0.0.1 on a free port and is stopped by the test that started it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
ACCOUNT_ID = "123456789012"


def load_all(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


def load_one(path: Path) -> dict:
    docs = load_all(path)
    if len(docs) != 1:
        raise AssertionError(f"{path}: expected one YAML document, found {len(docs)}")
    return docs[0]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server for {url} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers: good enough
        except OSError as e:
            last = e
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout}s: {last}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def moto_server():
    """Yields the endpoint URL of a fresh moto IAM server that knows the AWS-managed policies."""
    port = free_port()
    env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true")
    proc = subprocess.Popen(
        [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/moto-api/", proc=proc)
        yield url
    finally:
        _stop(proc)


def iam_client(endpoint: str):
    import boto3

    return boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def kube_sim_binary() -> Path:
    """The kube-sim binary, built on demand (cargo waits for other builds' locks by itself)."""
    override = os.environ.get("KUBE_SIM_BIN")
    if override:
        return Path(override)
    if os.environ.get("SHIP_NO_NESTED_CARGO"):
        raise AssertionError("kube-sim is missing or older than its sources: run `cargo build --workspace --bins`")
    # The workspace's one feature set, as `make test` builds it (`-p kube-sim` alone would rebuild
    # shared dependencies with fewer features).
    subprocess.run([os.environ.get("CARGO", "cargo"), "build", "--quiet", "--workspace", "--bins"], cwd=ROOT, check=True)
    return target_dir() / "debug" / "kube-sim"


def target_dir() -> Path:
    """Where cargo builds, as cargo resolves it (CARGO_TARGET_DIR, build.target-dir or target/)."""
    out = subprocess.run(["bash", str(ROOT / "scripts" / "target-dir.sh")], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


@contextlib.contextmanager
def kube_sim():
    """Yields the path of a kubeconfig for a fresh kube-sim on a free port."""
    binary = kube_sim_binary()
    with tempfile.TemporaryDirectory(prefix="ship-kube-sim-") as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        port = free_port()
        log = open(Path(tmp) / "kube-sim.log", "wb")
        proc = subprocess.Popen(
            [str(binary), "--port", str(port), "--kubeconfig", str(kubeconfig)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/version", proc=proc)
            deadline = time.monotonic() + 10
            while not kubeconfig.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            if not kubeconfig.exists():
                raise AssertionError("kube-sim did not write its kubeconfig")
            yield kubeconfig
        finally:
            _stop(proc)
            log.close()


def kubectl(kubeconfig: Path, *args: str, check: bool = True, input_yaml: str | None = None) -> subprocess.CompletedProcess:
    """Runs the real kubectl with its own discovery cache, so runs never share stale discovery."""
    cache = Path(kubeconfig).parent / "kube-cache"
    out = subprocess.run(
        [str(VENV_BIN / "kubectl"), "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache), *args],
        capture_output=True,
        text=True,
        input=input_yaml,
    )
    if check and out.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed ({out.returncode}): {out.stderr.strip()}")
    return out


def kubectl_json(kubeconfig: Path, *args: str) -> dict:
    return json.loads(kubectl(kubeconfig, *args, "-o", "json").stdout)
