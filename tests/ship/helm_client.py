"""The real Helm library (PyPI helm-sdkpy) driven synchronously, with its state in a temp dir."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from support import ROOT

CHART = ROOT / "charts" / "rolesmith"

# Helm keeps caches and repository config under these; never touch the user's own.
_HELM_HOME = tempfile.mkdtemp(prefix="ship-helm-home-")
for _var, _sub in (("HELM_CACHE_HOME", "cache"), ("HELM_CONFIG_HOME", "config"), ("HELM_DATA_HOME", "data")):
    os.environ.setdefault(_var, str(Path(_HELM_HOME) / _sub))

import helm_sdkpy  # noqa: E402  (after the environment above)

# helm.sh/helm/v4/pkg/lint/support: the severities a lint message can carry.
LINT_WARNING = 2


def lint(chart: Path = CHART) -> dict:
    # Lint never contacts a cluster; the configuration only has to exist.
    config = helm_sdkpy.Configuration(namespace="default", kubeconfig=str(Path(_HELM_HOME) / "no-cluster"))
    return asyncio.run(helm_sdkpy.Lint(config).run(str(chart)))


def install(
    kubeconfig: Path, release: str, namespace: str, values: dict | None = None, chart: Path = CHART, create_namespace: bool = True
) -> dict:
    """`helm install [--create-namespace]` without waiting (no kubelet runs the pods)."""
    config = helm_sdkpy.Configuration(namespace=namespace, kubeconfig=str(kubeconfig))
    return asyncio.run(
        helm_sdkpy.Install(config).run(
            release, str(chart), values=values, create_namespace=create_namespace, wait=False, timeout=60
        )
    )


def uninstall(kubeconfig: Path, release: str, namespace: str) -> dict:
    config = helm_sdkpy.Configuration(namespace=namespace, kubeconfig=str(kubeconfig))
    return asyncio.run(helm_sdkpy.Uninstall(config).run(release, wait=False))


InstallError = helm_sdkpy.InstallError
