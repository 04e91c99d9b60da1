"""Named Cypher queries read from ``.cypher`` files (in the manner of aiosql).

A file holds one or more queries, each introduced by ``// name: NAME`` and followed by comment
lines that explain it, then the query text::

    // name: ring_overview
    // Rings by score, most suspicious first.
    MATCH (r:Ring) RETURN r.ring_id ORDER BY r.score DESC LIMIT $limit

Values are always ``$parameters``; the text is never built from data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from graphfraud.core.resources import asset_dir

_NAME = re.compile(r"^//\s*name:\s*([A-Za-z_][A-Za-z0-9_]*)\s*$")
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_DEFAULT = re.compile(r"^\s*\$?([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(default\s+([^)]*)\))?")


@dataclass(frozen=True)
class Query:
    name: str
    comment: str
    text: str
    path: Path

    @property
    def params(self) -> list[str]:
        """The ``$parameters`` the text uses, in order of first use."""
        seen: list[str] = []
        for p in _PARAM.findall(_strip_comments(self.text)):
            if p not in seen:
                seen.append(p)
        return seen

    @property
    def defaults(self) -> dict[str, str]:
        """Defaults declared in the comment as ``params: $limit (default 20), $kind``."""
        out: dict[str, str] = {}
        for line in self.comment.splitlines():
            if line.lower().startswith("params:"):
                for part in line.split(":", 1)[1].split(","):
                    m = _DEFAULT.match(part)
                    if m and m.group(2) is not None:
                        out[m.group(1)] = m.group(2).strip()
        return out

    def statements(self) -> list[str]:
        """The text split on semicolons at line ends (for schema files)."""
        parts = re.split(r";\s*(?:\n|$)", self.text)
        return [p.strip() for p in parts if _strip_comments(p).strip()]


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))


def parse(text: str, path: Path) -> dict[str, Query]:
    queries: dict[str, Query] = {}
    name: str | None = None
    comment: list[str] = []
    body: list[str] = []
    in_comment = False

    def flush() -> None:
        if name is not None:
            queries[name] = Query(name, "\n".join(comment).strip(), "\n".join(body).strip(), path)

    for line in text.splitlines():
        m = _NAME.match(line.strip())
        if m:
            flush()
            if m.group(1) in queries:
                raise ValueError(f"{path}: query {m.group(1)} is defined twice")
            name, comment, body, in_comment = m.group(1), [], [], True
            continue
        if name is None:
            continue  # a file header before the first query
        if in_comment and line.lstrip().startswith("//"):
            comment.append(line.lstrip()[2:].strip())
            continue
        in_comment = False
        body.append(line)
    flush()
    return queries


@cache
def library(folder: str) -> dict[str, Query]:
    """Every named query in ``cypher/<folder>/*.cypher`` (or ``cypher/<folder>.cypher``)."""
    root = asset_dir("cypher")
    files = sorted((root / folder).glob("*.cypher")) if (root / folder).is_dir() else [root / f"{folder}.cypher"]
    out: dict[str, Query] = {}
    for path in files:
        for name, q in parse(path.read_text(encoding="utf-8"), path).items():
            if name in out:
                raise ValueError(f"query {name} is defined in {out[name].path} and {path}")
            out[name] = q
    return out


def query(folder: str, name: str) -> Query:
    return library(folder)[name]
