"""IAM's input rules that a local moto does not enforce (see docs iam-facts.md), as pure checks.

Each function returns a list of problems; an empty list means IAM would take the input.
"""

from __future__ import annotations

import json
import re

NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
POLICY_NAME = re.compile(r"^[\w+=,.@-]{1,128}$")
PATH = re.compile(r"^/([\x21-\x7E]*/)?$")


def _compact_len(doc: dict) -> int:
    # IAM does not count whitespace towards document size limits.
    return len(re.sub(r"\s", "", json.dumps(doc, separators=(",", ":"))))


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def wildcard_principal_problems(trust: dict) -> list[str]:
    problems = []
    for stmt in _as_list(trust.get("Statement", [])):
        principal = stmt.get("Principal")
        values = []
        if principal == "*":
            values = ["*"]
        elif isinstance(principal, dict):
            values = _as_list(principal.get("AWS", []))
        if "*" in values and not stmt.get("Condition"):
            problems.append("wildcard principal without a Condition lets any AWS account assume the role")
    return problems


def spec_problems(spec: dict) -> list[str]:
    p = []
    name = spec.get("roleName")
    if name is not None and not NAME.match(name):
        p.append(f"roleName {name!r} breaks 1-64 chars of [\\w+=,.@-]")
    path = spec.get("path", "/")
    if not (1 <= len(path) <= 512 and PATH.match(path)):
        p.append(f"path {path!r} is not / or /…/")
    if len(spec.get("description", "")) > 1000:
        p.append("description longer than 1000 chars")
    msd = spec.get("maxSessionDuration", 3600)
    if not 3600 <= msd <= 43200:
        p.append(f"maxSessionDuration {msd} outside 3600-43200")
    trust = spec.get("assumeRolePolicy")
    if not isinstance(trust, dict) or trust.get("Version") != "2012-10-17":
        p.append("assumeRolePolicy must be an object with Version 2012-10-17")
    else:
        if _compact_len(trust) > 2048:
            p.append("assumeRolePolicy longer than 2048 chars")
        p.extend(wildcard_principal_problems(trust))
    inline = spec.get("inlinePolicies", {})
    total = 0
    for pname, doc in inline.items():
        if not POLICY_NAME.match(pname):
            p.append(f"inline policy name {pname!r} invalid")
        if doc.get("Version") != "2012-10-17":
            p.append(f"inline policy {pname} lacks Version 2012-10-17")
        total += _compact_len(doc)
    if total > 10240:
        p.append("inline policies together exceed 10240 chars")
    if len(spec.get("managedPolicyArns", [])) > 10:
        p.append("more than 10 managed policies")
    tags = spec.get("tags", {})
    if len(tags) > 50:
        p.append("more than 50 tags")
    for k, v in tags.items():
        if not 1 <= len(k) <= 128 or len(str(v)) > 256:
            p.append(f"tag {k!r} too long")
        if k.lower().startswith("aws:"):
            p.append(f"tag {k!r} uses the reserved aws: prefix")
        if not isinstance(v, str):
            p.append(f"tag {k!r} value must be a string (quote it in YAML)")
    if spec.get("deletionPolicy", "Delete") not in ("Delete", "Retain"):
        p.append("deletionPolicy must be Delete or Retain")
    return p
