"""Hashes of a package's files, the signature over them, and the check that nothing was
altered, removed or added.

``manifest.json`` lists every other file of the package with its SHA-256 and size;
``manifest.sig`` is the bureau's Ed25519 signature of ``manifest.json`` (see ``signing``). A
package is a folder or a zip of the same files; ``verify_package`` reads either, and a zip's
detached signature (``CASE.zip.sig``) beside it when there is one. A damaged zip is a message
naming the file and the cause, never a traceback.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from graphfraud.core.errors import GraphfraudError
from graphfraud.evidence.signing import MANIFEST_SIG, ZIP_SIG_SUFFIX, SignatureCheck, TrustedKeys, check_document
from graphfraud.ingest.readers import file_sha256

MANIFEST = "manifest.json"
#: the files of a package that the manifest does not list
UNLISTED = frozenset({MANIFEST, MANIFEST_SIG})
#: what a damaged zip raises while it is read
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError, KeyError,
               NotImplementedError, RuntimeError, OverflowError, UnicodeDecodeError, IndexError)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    return file_sha256(path)


@dataclass
class VerifyReport:
    package: Path
    checked: list[str] = field(default_factory=list)  # files whose hash matched
    altered: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # zip members stored more than once
    unsafe: list[str] = field(default_factory=list)  # zip members with paths outside the package
    manifest_sha256: str = ""
    case_id: str = ""
    audit_seq: int | None = None
    signature: SignatureCheck = field(default_factory=lambda: SignatureCheck("missing"))
    zip_signature: SignatureCheck | None = None  # None: not a zip, or no detached signature beside it
    zip_sha256: str = ""

    @property
    def problems(self) -> int:
        n = len(self.altered) + len(self.missing) + len(self.extra) + len(self.duplicates) + len(self.unsafe)
        n += 0 if self.signature.ok else 1
        if self.zip_signature is not None and not self.zip_signature.ok:
            n += 1
        return n

    @property
    def ok(self) -> bool:
        return self.problems == 0

    @property
    def origin_checked(self) -> bool:
        return self.signature.trusted is True


class _Folder:
    def __init__(self, root: Path) -> None:
        self.root = root

    def names(self) -> list[str]:
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())

    def duplicates(self) -> list[str]:
        return []

    def read(self, name: str) -> bytes:
        return (self.root / name).read_bytes()

    def sha256(self, name: str) -> str:
        return sha256_file(self.root / name)


class _Zip:
    """A zip read defensively: every member the central directory names is looked at, so a
    name stored twice (a tampered copy first) or a member outside the package's root is seen."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.zf = zipfile.ZipFile(path)
            self.infos = self.zf.infolist()  # folders too: a package has none, so one is extra
        except _ZIP_ERRORS as exc:
            raise GraphfraudError("verify.bad_zip", path=str(path), cause=_cause(exc)) from None

    def names(self) -> list[str]:
        return sorted({i.filename for i in self.infos})

    def duplicates(self) -> list[str]:
        seen: set[str] = set()
        dup: set[str] = set()
        for i in self.infos:
            (dup if i.filename in seen else seen).add(i.filename)
        return sorted(dup)

    def unsafe(self) -> list[str]:
        return sorted({i.filename for i in self.infos if not _safe_member(i.filename)})

    def read(self, name: str) -> bytes:
        try:
            return self.zf.read(name)
        except _ZIP_ERRORS as exc:
            raise GraphfraudError("verify.bad_member", path=str(self.path), file=name, cause=_cause(exc)) from None

    def sha256(self, name: str) -> str | None:
        """The member's SHA-256, or None when it cannot be read (a bad CRC, a damaged stream):
        its bytes changed, so it counts as altered."""
        h = hashlib.sha256()
        try:
            with self.zf.open(name) as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
        except _ZIP_ERRORS:
            return None
        return h.hexdigest()


def _safe_member(name: str) -> bool:
    norm = posixpath.normpath(name)
    return bool(name) and not name.startswith(("/", "\\")) and not norm.startswith("..") and "\\" not in name \
        and ":" not in name.split("/")[0] and "\x00" not in name


def _cause(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:160] if text else type(exc).__name__


def _listed_files(raw: bytes, package: Path) -> tuple[dict, dict[str, str]]:
    try:
        manifest = json.loads(raw.decode("utf-8"))
        listed = manifest["files"]
        if not isinstance(manifest, dict) or not isinstance(listed, dict):
            raise TypeError
        hashes = {}
        for name, entry in listed.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
                raise TypeError
            hashes[name] = entry["sha256"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise GraphfraudError("verify.bad_manifest", path=str(package)) from None
    return manifest, hashes


def verify_package(package: str | Path, trusted: TrustedKeys | None = None) -> VerifyReport:
    """Check the signature of the manifest (against ``trusted`` keys when given: origin), then
    recompute the SHA-256 of every file it lists; report the files that were altered, are
    missing, are there without being listed, or are stored twice. A folder or a ``.zip``; a
    zip's detached signature beside it is checked too. Raises ``GraphfraudError`` when the
    package cannot be read at all (not a package, a damaged zip, no or unreadable manifest)."""
    package = Path(package)
    trusted = trusted or TrustedKeys()
    zip_doc = None
    if package.is_dir():
        src: _Folder | _Zip = _Folder(package)
    elif package.is_file():
        src = _Zip(package)
        sig_path = package.with_name(package.name + ZIP_SIG_SUFFIX)
        if sig_path.is_file():
            zip_doc = sig_path.read_bytes()
    else:
        raise GraphfraudError("verify.not_a_package", path=str(package))
    names = src.names()
    if MANIFEST not in names:
        raise GraphfraudError("verify.no_manifest", path=str(package))
    raw = src.read(MANIFEST)
    sig = src.read(MANIFEST_SIG) if MANIFEST_SIG in names else None
    report = VerifyReport(package, manifest_sha256=sha256_bytes(raw), signature=check_document(sig, raw, trusted))
    if isinstance(src, _Zip):
        report.duplicates = src.duplicates()
        report.unsafe = src.unsafe()
        if zip_doc is not None:  # the zip is read once: for its signature and its hash
            data = package.read_bytes()
            report.zip_signature = check_document(zip_doc, data, trusted)
            report.zip_sha256 = sha256_bytes(data)
        else:
            report.zip_sha256 = sha256_file(package)
    manifest, listed = _listed_files(raw, package)
    report.case_id = str(manifest.get("case_id", ""))
    seq = manifest.get("audit_seq")
    report.audit_seq = seq if isinstance(seq, int) and not isinstance(seq, bool) else None
    present = set(names)
    for name in sorted(listed):
        if name not in present:
            report.missing.append(name)
        elif src.sha256(name) != listed[name]:
            report.altered.append(name)
        else:
            report.checked.append(name)
    report.extra = sorted(present - set(listed) - UNLISTED)
    return report
