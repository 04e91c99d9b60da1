"""Hashes of a package's files and the check that nothing was altered, removed or added.

``manifest.json`` lists every other file of the package with its SHA-256 and size. A
package is a folder or a zip of the same files; ``verify_package`` reads either.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from graphfraud.errors import GraphfraudError
from graphfraud.readers import file_sha256

MANIFEST = "manifest.json"


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
    manifest_sha256: str = ""
    case_id: str = ""

    @property
    def ok(self) -> bool:
        return not (self.altered or self.missing or self.extra)


class _Folder:
    def __init__(self, root: Path) -> None:
        self.root = root

    def names(self) -> list[str]:
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())

    def read(self, name: str) -> bytes:
        return (self.root / name).read_bytes()

    def sha256(self, name: str) -> str:
        return sha256_file(self.root / name)


class _Zip:
    def __init__(self, path: Path) -> None:
        self.zf = zipfile.ZipFile(path)

    def names(self) -> list[str]:
        return sorted(i.filename for i in self.zf.infolist() if not i.is_dir())

    def read(self, name: str) -> bytes:
        return self.zf.read(name)

    def sha256(self, name: str) -> str:
        h = hashlib.sha256()
        with self.zf.open(name) as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()


def verify_package(package: str | Path) -> VerifyReport:
    """Recompute the SHA-256 of every file the manifest lists; report the files that were
    altered, are missing, or are there without being listed. A folder or a ``.zip``."""
    package = Path(package)
    if package.is_dir():
        src = _Folder(package)
    elif package.is_file() and zipfile.is_zipfile(package):
        src = _Zip(package)
    else:
        raise GraphfraudError("verify.not_a_package", path=str(package))
    names = src.names()
    if MANIFEST not in names:
        raise GraphfraudError("verify.no_manifest", path=str(package))
    raw = src.read(MANIFEST)
    try:
        manifest = json.loads(raw.decode("utf-8"))
        listed = manifest["files"]
        if not isinstance(listed, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise GraphfraudError("verify.bad_manifest", path=str(package)) from None
    report = VerifyReport(package, manifest_sha256=sha256_bytes(raw), case_id=str(manifest.get("case_id", "")))
    present = set(names)
    for name in sorted(listed):
        if name not in present:
            report.missing.append(name)
        elif src.sha256(name) != listed[name].get("sha256"):
            report.altered.append(name)
        else:
            report.checked.append(name)
    report.extra = sorted(present - set(listed) - {MANIFEST})
    return report
