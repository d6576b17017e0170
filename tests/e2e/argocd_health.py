"""Runs the shipped Argo CD health check (deploy/argocd/iamrole-health.lua) in the real Lua 5.1
on an IamRole read from stdin (JSON), and prints `status\nmessage`. Used by the e2e tests with
objects the operator really produced."""
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "ship"))
from test_argocd_health import SCRIPT, run_health  # noqa: E402

status, message = run_health(SCRIPT.read_text(), json.load(sys.stdin))
print(status)
print(message)
