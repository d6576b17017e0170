"""The Dockerfile builds the operator the way the project does, into a minimal non-root image.

No Docker engine runs here, so the file is checked statically: stages, base images, the build
command (the same `cargo build` the README and CI use), the runtime user and the entrypoint.
"""

import json
import re
import tomllib
import unittest

from support import ROOT

DOCKERFILE = ROOT / "Dockerfile"


def instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


class Dockerfile(unittest.TestCase):
    def setUp(self):
        self.ins = instructions(DOCKERFILE.read_text())
        self.froms = [rest for word, rest in self.ins if word == "FROM"]
        final = max(i for i, (w, _) in enumerate(self.ins) if w == "FROM")
        self.final = self.ins[final:]

    def test_two_stages_on_matching_debian(self):
        self.assertEqual(self.froms[0], "rust:1.95-bookworm AS build")
        self.assertEqual(self.froms[-1], "gcr.io/distroless/cc-debian12:nonroot")
        self.assertEqual(len(self.froms), 2)

    def test_builds_the_release_binary_with_the_lockfile(self):
        run = " ".join(rest for w, rest in self.ins if w == "RUN")
        self.assertIn("cargo build --release --locked --bin rolesmith", run)
        manifest = tomllib.loads((ROOT / "Cargo.toml").read_text())
        self.assertEqual(manifest["package"]["name"], "rolesmith")
        self.assertTrue((ROOT / "src" / "main.rs").exists(), "the rolesmith binary is src/main.rs")
        self.assertTrue((ROOT / "Cargo.lock").exists(), "--locked needs the committed Cargo.lock")

    def test_rust_image_meets_the_crates_rust_version(self):
        manifest = tomllib.loads((ROOT / "Cargo.toml").read_text())
        need = tuple(int(x) for x in manifest["package"]["rust-version"].split("."))
        have = tuple(int(x) for x in re.match(r"rust:(\d+\.\d+)", self.froms[0]).group(1).split("."))
        self.assertGreaterEqual(have, need)

    def test_runtime_is_non_root_with_exec_form_entrypoint(self):
        final = dict((w, rest) for w, rest in self.final)
        self.assertEqual(final["USER"], "65532:65532")
        self.assertEqual(json.loads(final["ENTRYPOINT"]), ["/rolesmith"])
        self.assertEqual(json.loads(final["CMD"]), ["run"])
        self.assertEqual(final["COPY"], "--from=build /out/rolesmith /rolesmith")

    def test_oci_labels(self):
        labels = " ".join(rest for w, rest in self.final if w == "LABEL")
        self.assertIn('org.opencontainers.image.source="https://github.com/rolesmith/rolesmith"', labels)
        self.assertIn('org.opencontainers.image.version="${VERSION}"', labels)
        version = tomllib.loads((ROOT / "Cargo.toml").read_text())["package"]["version"]
        self.assertIn(("ARG", f"VERSION={version}"), self.final, "ARG VERSION's default follows Cargo.toml")

    def test_build_context_leaves_out_build_output_but_keeps_sources(self):
        ignored = {l.strip() for l in (ROOT / ".dockerignore").read_text().splitlines() if l.strip() and not l.startswith("#")}
        self.assertLessEqual({"target/", ".venv/", ".git/"}, ignored)
        for needed in ("src", "crds", "tests", "Cargo.toml", "Cargo.lock"):
            self.assertFalse(any(p.rstrip("/") == needed for p in ignored), needed)


if __name__ == "__main__":
    unittest.main()
