"""The Argo CD health check, run by the real Lua 5.1 interpreter against status fixtures.

Fixtures live in fixtures/argocd-health/*.json: {"description", "object", "expected": {"status",
"message"}}. Add statuses captured from the operator there; this runner needs no change.
"""

import json
import shutil
import subprocess
import unittest

from lua_literal import lua_string, to_lua
from support import ROOT, load_one

SCRIPT = ROOT / "deploy" / "argocd" / "iamrole-health.lua"
FIXTURES = sorted((ROOT / "tests" / "ship" / "fixtures" / "argocd-health").glob("*.json"))
CM_KEY = "resource.customizations.health.iam.rolesmith.dev_IamRole"


def lua51() -> str:
    found = shutil.which("lua5.1")
    if found is None:
        subprocess.run([str(ROOT / "scripts" / "system-deps.sh")], check=True)
        found = shutil.which("lua5.1")
    if found is None:
        raise AssertionError("lua5.1 is not installed and scripts/system-deps.sh could not install it")
    return found


def run_health(script: str, obj: dict) -> tuple[str, str]:
    # Argo CD sets `obj` as a global and runs the script as a chunk; it must return hs.
    chunk = (
        f"obj = {to_lua(obj)}\n"
        f"local check = assert(loadstring({lua_string(script)}, 'iamrole-health.lua'))\n"
        "local hs = check()\n"
        "assert(type(hs) == 'table', 'the script must return a table')\n"
        "io.write(tostring(hs.status), '\\n', tostring(hs.message))\n"
    )
    out = subprocess.run([lua51(), "-"], input=chunk, capture_output=True, text=True)
    if out.returncode != 0:
        raise AssertionError(f"lua5.1 failed: {out.stderr}")
    status, _, message = out.stdout.partition("\n")
    return status, message


class LuaLiteral(unittest.TestCase):
    def test_round_trip_through_lua(self):
        data = {"s": 'a"b\\c\nd é', "n": 3, "f": 1.5, "t": True, "l": ["x", "y"], "e": {}, "z": None}
        probe = (
            f"local o = {to_lua(data)}\n"
            "io.write(o.s, '|', o.n, '|', o.f, '|', tostring(o.t), '|', #o.l, o.l[1], '|', tostring(o.z))"
        )
        out = subprocess.run([lua51(), "-"], input=probe, capture_output=True, text=True, check=True)
        self.assertEqual(out.stdout, 'a"b\\c\nd é|3|1.5|true|2x|nil')


class ArgoCdHealth(unittest.TestCase):
    def test_fixtures_cover_every_outcome(self):
        outcomes = {json.loads(p.read_text())["expected"]["status"] for p in FIXTURES}
        self.assertEqual(outcomes, {"Healthy", "Progressing", "Degraded"})

    def test_statuses_captured_from_the_operator_cover_every_outcome(self):
        captured = [json.loads(p.read_text()) for p in FIXTURES if p.name.startswith("captured-")]
        self.assertEqual({f["expected"]["status"] for f in captured}, {"Healthy", "Progressing", "Degraded"},
                         "run capture_health_fixtures.py")

    def test_each_fixture(self):
        script = SCRIPT.read_text()
        for path in FIXTURES:
            fixture = json.loads(path.read_text())
            with self.subTest(path.stem, why=fixture.get("description")):
                status, message = run_health(script, fixture["object"])
                self.assertEqual(status, fixture["expected"]["status"])
                self.assertEqual(message, fixture["expected"]["message"])

    def test_argocd_cm_patch_carries_the_same_script(self):
        cm = load_one(ROOT / "deploy" / "argocd" / "argocd-cm-patch.yaml")
        self.assertEqual((cm["kind"], cm["metadata"]["name"]), ("ConfigMap", "argocd-cm"))
        self.assertEqual(cm["data"][CM_KEY], SCRIPT.read_text())

    def test_chart_readme_carries_the_same_script(self):
        readme = (ROOT / "charts" / "rolesmith" / "README.md").read_text()
        # In the README the script sits under the argocd-cm key, indented four spaces.
        indented = "".join("    " + line if line.strip() else line for line in SCRIPT.read_text().splitlines(True))
        self.assertIn(f"  {CM_KEY}: |\n{indented}", readme)


if __name__ == "__main__":
    unittest.main()
