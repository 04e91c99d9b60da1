"""The workspace's append-only audit log of evidence exports (``WS/audit.log``).

One JSON object per line. Each entry carries its sequence number, the hash of the entry
before it (``prev_hash``, 64 zeros for the first) and its own ``hash``: the SHA-256 of the
entry's canonical JSON without ``hash``. Editing an entry breaks its own hash; removing or
reordering entries breaks the sequence and the chain at the line where it happens. Removing
the *last* entries leaves a valid chain, so the head (number of entries and last hash) is
also kept in the workspace database; ``verify`` compares the two.

Hashes alone do not stop someone who can write the workspace: they can edit an entry and
recompute every hash after it and the head. So each entry is also signed with the bureau's
Ed25519 key (``signer``: its fingerprint, ``signature``: over the entry's hash, which chains
to every entry before it; the last entry's signature signs the chain head). ``verify`` with
the bureau's public key rejects an edited, re-hashed entry, an entry without a signature and
one signed by another key. Every package's manifest records the sequence number its export
entry takes (``audit_seq``), so a log cut back to before an export is caught by checking any
later package against the workspace (``graphfraud verify PACKAGE --workspace WS``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from graphfraud.core.errors import GraphfraudError
from graphfraud.core.i18n import t
from graphfraud.evidence.signing import SigningKey, TrustedKeys, check_entry, local_trusted, sign_entry

AUDIT_FILE = "audit.log"
GENESIS = "0" * 64
_HEAD_KEY = "audit_head"
_UNHASHED = frozenset({"hash", "signer", "signature"})


def entry_hash(entry: dict) -> str:
    """SHA-256 of the entry's canonical JSON (sorted keys, no spaces), ``hash`` and the
    signature (which is made over this hash) left out."""
    body = {k: v for k, v in entry.items() if k not in _UNHASHED}
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def audit_path(workspace: str | Path) -> Path:
    return Path(workspace) / AUDIT_FILE


def _read_lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    return path.read_text(encoding="utf-8").splitlines()


def check_writable(workspace: str | Path, con, key: SigningKey) -> AuditReport:
    """The log's state before an entry is added, raising when it does not verify: a broken
    chain must be looked at, not papered over. Every entry must carry a valid signature by
    ``key`` or by a key it replaced (``keys init --force`` keeps their public halves)."""
    report = verify(workspace, con, local_trusted(key))
    if not report.ok:
        raise GraphfraudError("audit.broken", path=str(report.path), problem=report.problems[0].text())
    return report


def append(workspace: str | Path, con, record: dict, key: SigningKey) -> dict:
    """Append ``record`` (operator, case, revealed identities, manifest hash, ...) as the next
    entry, chained to the last one and signed with ``key``, and move the head kept in the
    workspace (``con``, a writable connection). Refuses to append to a log that does not
    verify. Returns the entry written."""
    path = audit_path(workspace)
    report = check_writable(workspace, con, key)
    prev = report.last_hash
    entry = {"seq": report.entries + 1, "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
             **record, "prev_hash": prev}
    entry["hash"] = entry_hash(entry)
    entry.update(sign_entry(key, entry["hash"]))
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

        return t("audit.problem." + self.code, lang=lang, line=self.line, **self.detail)


@dataclass
class AuditReport:
    path: Path
    entries: int
    last_hash: str
    problems: list[Problem]
    signatures_checked: bool = False
    signers: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(workspace: str | Path, con=None, trusted: TrustedKeys | None = None) -> AuditReport:
    """Check every line of the log: well-formed, its own hash, its sequence number, its link
    to the line before and, with ``trusted`` keys, its signature; then the head kept in the
    workspace (when ``con`` is given). Every problem names its line."""
    path = audit_path(workspace)
    problems: list[Problem] = []
    prev = GENESIS
    n = 0
    signers: set[str] = set()
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
        own = entry_hash(entry)
        if own != entry["hash"]:
            problems.append(Problem(i, "edited", {}))
        if trusted:
            status = check_entry(entry, str(entry["hash"]), trusted)
            if status != "valid":
                problems.append(Problem(i, "signature_" + status, {"signer": str(entry.get("signer", ""))[:16]}))
        if entry.get("signer"):
            signers.add(str(entry["signer"]))
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
    return AuditReport(path, n, prev, problems, bool(trusted), tuple(sorted(signers)))


def entries(workspace: str | Path) -> list[dict]:
    """The log's entries that parse, in order."""
    out = []
    for line in _read_lines(audit_path(workspace)):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            out.append(entry)
    return out


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
