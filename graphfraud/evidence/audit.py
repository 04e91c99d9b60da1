"""The workspace's append-only audit log of evidence exports (``WS/audit.log``).

One JSON object per line. Each entry carries its sequence number, the hash of the entry
before it (``prev_hash``, 64 zeros for the first) and its own ``hash``: the SHA-256 of the
entry's canonical JSON without ``hash``. Editing an entry breaks its own hash; removing or
reordering entries breaks the sequence and the chain at the line where it happens. Removing
the *last* entries leaves a valid chain, so the head (number of entries and last hash) is
also kept in the workspace database; ``verify`` compares the two.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

AUDIT_FILE = "audit.log"
GENESIS = "0" * 64
_HEAD_KEY = "audit_head"


def entry_hash(entry: dict) -> str:
    """SHA-256 of the entry's canonical JSON (sorted keys, no spaces), ``hash`` left out."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def audit_path(workspace: str | Path) -> Path:
    return Path(workspace) / AUDIT_FILE


def _read_lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    return path.read_text(encoding="utf-8").splitlines()


def append(workspace: str | Path, con, record: dict) -> dict:
    """Append ``record`` (operator, case, revealed identities, manifest hash, ...) as the next
    entry, chained to the last one, and move the head kept in the workspace (``con``, a
    writable connection). Refuses to append to a log that does not verify: a broken chain
    must be looked at, not papered over. Returns the entry written."""
    from graphfraud.errors import GraphfraudError

    path = audit_path(workspace)
    report = verify(workspace, con)
    if not report.ok:
        raise GraphfraudError("audit.broken", path=str(path), problem=report.problems[0].text())
    prev = report.last_hash
    entry = {"seq": report.entries + 1, "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
             **record, "prev_hash": prev}
    entry["hash"] = entry_hash(entry)
    line = json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [_HEAD_KEY, f"{entry['seq']}:{entry['hash']}"])
    return entry


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based line of audit.log
    code: str  # malformed | edited | sequence | chain | truncated
    detail: dict

    def text(self, lang: str | None = None) -> str:
        from graphfraud.i18n import t

        return t("audit.problem." + self.code, lang=lang, line=self.line, **self.detail)


@dataclass
class AuditReport:
    path: Path
    entries: int
    last_hash: str
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(workspace: str | Path, con=None) -> AuditReport:
    """Check every line of the log: well-formed, its own hash, its sequence number and its
    link to the line before; then the head kept in the workspace (when ``con`` is given).
    Every problem names its line."""
    path = audit_path(workspace)
    problems: list[Problem] = []
    prev = GENESIS
    n = 0
    for i, line in enumerate(_read_lines(path), 1):
        n = i
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict) or "hash" not in entry:
                raise ValueError
        except ValueError:
            problems.append(Problem(i, "malformed", {}))
            prev = ""
            continue
        if entry_hash(entry) != entry["hash"]:
            problems.append(Problem(i, "edited", {}))
        if entry.get("seq") != i:
            problems.append(Problem(i, "sequence", {"seq": entry.get("seq"), "expected": i}))
        if entry.get("prev_hash") != prev:
            problems.append(Problem(i, "chain", {"previous": i - 1}))
        prev = entry["hash"]
    if con is not None:
        rows = con.execute("SELECT value FROM meta WHERE key = ?", [_HEAD_KEY]).fetchall()
        if rows:
            head_n, head_hash = rows[0][0].split(":", 1)
            head_n = int(head_n)
            if n < head_n:
                problems.append(Problem(n + 1, "truncated", {"expected": head_n, "found": n}))
            elif n == head_n and prev != head_hash:
                problems.append(Problem(n, "head", {}))
            elif n > head_n:
                problems.append(Problem(head_n + 1, "unrecorded", {"expected": head_n, "found": n}))
        elif n:
            problems.append(Problem(1, "unrecorded", {"expected": 0, "found": n}))
    return AuditReport(path, n, prev, problems)


def find_manifest(workspace: str | Path, manifest_sha256: str) -> dict | None:
    """The audit entry that recorded an export with this manifest hash, if any."""
    for line in _read_lines(audit_path(workspace)):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("manifest_sha256") == manifest_sha256:
            return entry
    return None
