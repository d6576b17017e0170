"""`helm` on the command line, for running the documents' `helm install` commands as written.

There is no Helm binary here, only the real Helm library (helm-sdkpy, see helm_client.py). This
covers exactly what the documents type: `helm install NAME CHART [-n|--namespace NS]
[--create-namespace] [--set KEY=VALUE[,KEY=VALUE]]...`, against $KUBECONFIG. Anything else is
refused, so a document cannot use a flag this stand-in would silently ignore.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import helm_client


def parse_set(expression: str, values: dict) -> None:
    """Helm's --set for plain keys: `a.b=c,d=1`; true/false/null and integers are typed like Helm does."""
    if "\\" in expression or "[" in expression or "{" in expression:
        raise SystemExit(f"helm (test stand-in): --set {expression!r}: escapes, lists and maps are not supported")
    for assignment in expression.split(","):
        key, sep, raw = assignment.partition("=")
        if not sep or not key:
            raise SystemExit(f"helm (test stand-in): --set {assignment!r} is not KEY=VALUE")
        value: object = raw
        if raw in ("true", "false"):
            value = raw == "true"
        elif raw == "null":
            value = None
        elif re.fullmatch(r"-?[0-9]+", raw) and not (len(raw) > 1 and raw.lstrip("-").startswith("0")):
            value = int(raw)
        node = values
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "install":
        raise SystemExit(f"helm (test stand-in): only `helm install` is supported, not {' '.join(argv)!r}")
    args = argv[1:]
    positional: list[str] = []
    namespace, create_namespace, values = "default", False, {}
    while args:
        arg = args.pop(0)
        if arg in ("-n", "--namespace"):
            namespace = args.pop(0)
        elif arg.startswith("--namespace="):
            namespace = arg.split("=", 1)[1]
        elif arg == "--create-namespace":
            create_namespace = True
        elif arg == "--set":
            parse_set(args.pop(0), values)
        elif arg.startswith("--set="):
            parse_set(arg.split("=", 1)[1], values)
        elif arg.startswith("-"):
            raise SystemExit(f"helm (test stand-in): flag {arg} is not supported")
        else:
            positional.append(arg)
    if len(positional) != 2:
        raise SystemExit(f"helm (test stand-in): expected NAME CHART, got {positional}")
    release, chart = positional
    kubeconfig = Path(os.environ["KUBECONFIG"])
    try:
        result = helm_client.install(
            kubeconfig, release, namespace, values or None, chart=Path(chart).resolve(), create_namespace=create_namespace
        )
    except helm_client.InstallError as error:
        print(f"Error: INSTALLATION FAILED: {error}", file=sys.stderr)
        return 1
    info = result["info"]
    print(f"NAME: {result['name']}\nNAMESPACE: {result['namespace']}\nSTATUS: {info['status']}")
    print(f"REVISION: {result.get('version', 1)}\n\nNOTES:\n{info.get('notes', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
