"""Every command the project's documents tell a user to type, read from the documents themselves.

Sources:
- the ```sh blocks of README.md, deploy/README.md and charts/rolesmith/README.md;
- commands in the comments of examples/ and deploy/ YAML files (e.g. `rolesmith apply -f ...`);
- the Makefile's documented targets (those with a `##` comment): `make <target>`.

A command that cannot run on this machine says so next to it, in words a reader understands: in a
```sh block a comment starting with `# needs` on the command's line or on the line just before it;
in a YAML comment `needs ...` later on the command's line; in the Makefile a comment line of the
target saying `needs ...`. Every other command must be run by a test exactly as written (see
test_documented_commands.py, which checks that and runs most of them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from support import ROOT

MARKDOWN = ("README.md", "deploy/README.md", "charts/rolesmith/README.md")
YAML_GLOBS = ("examples/*.yaml", "deploy/*.yaml", "deploy/*/*.yaml")
MAKEFILE = "Makefile"

# How a command starts in a YAML comment (prose mentions such as "rolesmith writes ..." are not).
_YAML_COMMAND = re.compile(
    r"(?:kubectl\s+(?:-n\s+\S+\s+)?(?:apply|get|wait|patch|annotate|rollout|create|delete|edit|logs|port-forward)"
    r"|helm\s+(?:install|upgrade|template|lint)"
    r"|rolesmith\s+(?:run|crd|plan|apply)"
    r"|aws\s+\w+\s+[\w-]+"
    r"|docker\s+(?:build|run|push)"
    r"|make\s+[\w-]+)\b[^`();\n]*"
)
_NEEDS = re.compile(r"#\s*(needs\b.*)$", re.I)


@dataclass(frozen=True)
class Command:
    source: str  # "deploy/README.md:41"
    heading: str  # the Markdown section ("## 2b. With plain manifests"), or "" elsewhere
    block: int  # index of its ```sh block in the document (-1 outside Markdown)
    text: str  # as written; continuation lines keep their backslash and newline
    needs: str | None  # the document's note on what it needs that this machine lacks

    @property
    def document(self) -> str:
        return self.source.rsplit(":", 1)[0]

    @property
    def words(self) -> str:
        """The command on one line, for comparing and for messages."""
        return " ".join(self.text.replace("\\\n", " ").split())


def markdown_commands(document: str) -> list[Command]:
    lines = (ROOT / document).read_text().splitlines()
    commands: list[Command] = []
    heading, block, in_sh, fence = "", -1, False, None
    previous_comment: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if fence is None and stripped.startswith("```"):
            fence = stripped
            in_sh = stripped in ("```sh", "```bash", "```shell")
            block += in_sh
            previous_comment = None
            i += 1
            continue
        if fence is not None and stripped == "```":
            fence, in_sh = None, False
            i += 1
            continue
        if fence is None:
            if line.startswith("#"):
                heading = line.strip()
            i += 1
            continue
        if not in_sh:
            i += 1
            continue
        if not stripped:
            previous_comment = None
            i += 1
            continue
        if stripped.startswith("#"):
            previous_comment = stripped
            i += 1
            continue
        start = i
        while lines[i].rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
        text = "\n".join(lines[start : i + 1])
        needs = None
        for comment in (_trailing_comment(lines[start]), _trailing_comment(lines[i]), previous_comment):
            match = _NEEDS.search(comment or "")
            if match:
                needs = match.group(1)
        commands.append(Command(f"{document}:{start + 1}", heading, block, _strip_trailing_comment(text), needs))
        previous_comment = None
        i += 1
    return commands


def _trailing_comment(line: str) -> str | None:
    # Good enough for the documents' commands: no '#' inside quotes.
    match = re.search(r"\s(#.*)$", line)
    return match.group(1) if match else None


def _strip_trailing_comment(text: str) -> str:
    return "\n".join(re.sub(r"\s+#.*$", "", line) for line in text.split("\n"))


def yaml_comment_commands(path: Path) -> list[Command]:
    commands = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.startswith("#"):
            continue
        for match in _YAML_COMMAND.finditer(line):
            text = match.group(0).strip().rstrip(".,;:")
            rest = line[match.end() :]
            needs = re.search(r"\b(needs\b[^.;)]*)", rest)
            commands.append(Command(f"{path.relative_to(ROOT)}:{number}", "", -1, text, needs.group(1) if needs else None))
    return commands


def makefile_commands() -> list[Command]:
    commands = []
    comments: list[str] = []
    for number, line in enumerate((ROOT / MAKEFILE).read_text().splitlines(), 1):
        if line.startswith("#"):
            comments.append(line)
            continue
        target = re.match(r"^([\w-]+):", line)
        if target and any(c.startswith("##") for c in comments):
            needs = next((m.group(1) for c in comments if (m := re.search(r"\b(needs\b.*)$", c, re.I))), None)
            commands.append(Command(f"{MAKEFILE}:{number}", "", -1, f"make {target.group(1)}", needs))
        comments = []
    return commands


def all_commands() -> list[Command]:
    commands = [c for doc in MARKDOWN for c in markdown_commands(doc)]
    for pattern in YAML_GLOBS:
        for path in sorted(ROOT.glob(pattern)):
            commands += yaml_comment_commands(path)
    return commands + makefile_commands()


def section(document: str, heading_prefix: str) -> list[Command]:
    """The commands of the ```sh blocks under the Markdown heading that starts with the prefix."""
    found = [c for c in markdown_commands(document) if c.heading.startswith(heading_prefix)]
    if not found:
        raise AssertionError(f"{document}: no ```sh commands under a heading starting {heading_prefix!r}")
    return found


def readme_front_door() -> list[Command]:
    """README.md's first code block: the two commands a newcomer types."""
    commands = markdown_commands("README.md")
    return [c for c in commands if c.block == 0]
