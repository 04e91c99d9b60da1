"""The bureau's signing key (Ed25519) and the signatures it makes.

A bureau creates one signing key (``graphfraud keys init``) and gives its public half
(``graphfraud keys export-public``) to whoever receives its evidence: a police analyst, a
court, another bureau. Every evidence package carries ``manifest.sig``, the signature of its
``manifest.json`` (which holds the SHA-256 of every other file); a zip gets a detached
``<name>.zip.sig`` beside it; every audit-log entry is signed. With the public key a
recipient proves, without the workspace, that a package comes from that bureau and that no
byte of it changed since: whoever edits a file and re-hashes the manifest cannot sign the new
manifest without the private key.

The private key is a PKCS#8 PEM file readable by its owner only (``GRAPHFRAUD_SIGNING_KEY``,
else ``$XDG_CONFIG_HOME/graphfraud/signing-key.pem``), encrypted with a passphrase when
``GRAPHFRAUD_SIGNING_PASSPHRASE`` is set. A fingerprint (SHA-256 of the raw public key) names
a key briefly enough to read over the phone.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from graphfraud.core.errors import GraphfraudError

ENV_SIGNING_KEY = "GRAPHFRAUD_SIGNING_KEY"
ENV_PASSPHRASE = "GRAPHFRAUD_SIGNING_PASSPHRASE"
SIGNATURE_FORMAT = "graphfraud-signature/1"
ALGORITHM = "Ed25519"
#: the signature of a package's manifest.json, inside the package
MANIFEST_SIG = "manifest.sig"
#: the detached signature of a zip, beside it: ``CASE.zip`` -> ``CASE.zip.sig``
ZIP_SIG_SUFFIX = ".sig"
#: what an audit entry's signature covers: this prefix and the entry's hash
AUDIT_CONTEXT = b"graphfraud-audit-entry/1:"


def default_signing_key_file() -> Path:
    """``$GRAPHFRAUD_SIGNING_KEY``, else ``$XDG_CONFIG_HOME/graphfraud/signing-key.pem``."""
    if os.environ.get(ENV_SIGNING_KEY):
        return Path(os.environ[ENV_SIGNING_KEY])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "graphfraud" / "signing-key.pem"


def fingerprint_of(raw: bytes) -> str:
    """SHA-256 of the raw 32-byte public key, lower-case hex."""
    return hashlib.sha256(raw).hexdigest()


def short_fingerprint(fp: str) -> str:
    """The first 32 hex digits in groups of four, for people to compare: ``1a2b:3c4d:...``."""
    return ":".join(fp[i:i + 4] for i in range(0, 32, 4))


def normalise_fingerprint(text: str) -> str:
    """A fingerprint as typed (colons, spaces, upper case) reduced to hex; at least 32 digits."""
    hexed = "".join(c for c in text.lower() if c not in ": -")
    if len(hexed) < 32 or any(c not in "0123456789abcdef" for c in hexed):
        raise GraphfraudError("signing.bad_fingerprint", value=text)
    return hexed


@dataclass(frozen=True)
class PublicKey:
    raw: bytes  # 32 bytes
    source: str = ""

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.raw)

    def pem(self) -> bytes:
        return Ed25519PublicKey.from_public_bytes(self.raw).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, data)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, eq=False)
class SigningKey:
    private: Ed25519PrivateKey
    path: str

    @property
    def public(self) -> PublicKey:
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return PublicKey(raw, self.path)

    @property
    def fingerprint(self) -> str:
        return self.public.fingerprint

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)


def _passphrase() -> bytes | None:
    value = os.environ.get(ENV_PASSPHRASE)
    return value.encode("utf-8") if value else None


def retired_dir(path: str | Path) -> Path:
    """Where the public halves of keys that ``path`` held before are kept: beside it, outside
    any workspace, so that whoever can write a workspace cannot add a key the tool trusts."""
    path = Path(path)
    return path.with_name(path.name + ".retired")


def init_key(path: str | Path | None = None, *, force: bool = False) -> SigningKey:
    """Create a new signing key at ``path`` (default: the user's signing key file), mode
    0600, encrypted with ``GRAPHFRAUD_SIGNING_PASSPHRASE`` when that is set. Refuses to replace
    an existing key unless ``force``: packages signed with it could no longer be told apart
    from forgeries by anyone who only has the new public key. A replaced key's public half is
    kept in ``retired_dir(path)``, so the audit entries it signed still verify here."""
    path = Path(path) if path else default_signing_key_file()
    if path.exists() and not force:
        raise GraphfraudError("signing.key_exists", path=str(path))
    if path.exists():
        old = load_signing_key(path).public
        retired = retired_dir(path)
        retired.mkdir(parents=True, exist_ok=True)
        (retired / f"{old.fingerprint[:32]}.pub").write_bytes(old.pem())
    key = Ed25519PrivateKey.generate()
    secret = _passphrase()
    encryption = (serialization.BestAvailableEncryption(secret) if secret else serialization.NoEncryption())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    tmp.replace(path)
    return SigningKey(key, str(path))


def load_signing_key(path: str | Path | None = None) -> SigningKey:
    """The private key at ``path`` (default: the user's signing key file). A missing file,
    one others may read, a wrong passphrase or a file that is not an Ed25519 key each get
    their own message naming the file."""
    path = Path(path) if path else default_signing_key_file()
    if not path.is_file():
        raise GraphfraudError("signing.no_key", path=str(path))
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise GraphfraudError("signing.key_mode", path=str(path), mode=f"{mode:o}")
    data = path.read_bytes()
    secret = _passphrase()
    try:
        key = serialization.load_pem_private_key(data, password=secret)
    except TypeError:  # encrypted without a passphrase, or a passphrase for a plain key
        raise GraphfraudError("signing.passphrase", path=str(path), env=ENV_PASSPHRASE) from None
    except ValueError as exc:
        if secret and b"ENCRYPTED" in data:
            raise GraphfraudError("signing.passphrase", path=str(path), env=ENV_PASSPHRASE) from None
        raise GraphfraudError("signing.key_bad", path=str(path), detail=str(exc).splitlines()[0][:120]) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise GraphfraudError("signing.key_bad", path=str(path), detail=type(key).__name__)
    return SigningKey(key, str(path))


def load_public_key(path: str | Path) -> PublicKey:
    """A public key file as ``keys export-public`` writes it (PEM); a private key file is
    refused so that nobody hands a recipient the private half by mistake."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GraphfraudError("signing.public_bad", path=str(path), detail=exc.strerror or str(exc)) from None
    if b"PRIVATE KEY" in data:
        raise GraphfraudError("signing.public_is_private", path=str(path))
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise GraphfraudError("signing.public_bad", path=str(path), detail=str(exc).splitlines()[0][:120]) from None
    if not isinstance(key, Ed25519PublicKey):
        raise GraphfraudError("signing.public_bad", path=str(path), detail=type(key).__name__)
    return PublicKey(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw), str(path))


def local_public_key() -> PublicKey | None:
    """The public half of this user's signing key when there is one (on the bureau's own
    machine), else nothing. Errors in the key file are raised: they must be fixed."""
    path = default_signing_key_file()
    if not path.exists():
        return None
    return load_signing_key(path).public


def local_trusted(key: SigningKey | None = None) -> TrustedKeys:
    """The keys this machine trusts without being told: its signing key (``key``, else the
    user's when there is one) and the keys it replaced. Empty on a recipient's machine."""
    if key is None:
        public = local_public_key()
        if public is None:
            return TrustedKeys()
        path = Path(default_signing_key_file())
    else:
        public, path = key.public, Path(key.path)
    retired = retired_dir(path)
    old = tuple(load_public_key(p) for p in sorted(retired.glob("*.pub"))) if retired.is_dir() else ()
    return TrustedKeys((public, *old))


# ------------------------------------------------------------------ signature documents


def _canonical(doc: dict) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


def _signed_body(doc: dict) -> bytes:
    """What the signature covers: every field of the document but the signature itself, so
    neither the hash of the subject nor the time nor the named key can be edited."""
    body = {k: v for k, v in doc.items() if k != "signature"}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def signature_document(key: SigningKey, data: bytes, subject: str, *, signed_at: str | None = None) -> bytes:
    """The detached signature of ``data`` (the bytes of ``subject``) as a small JSON file: the
    SHA-256 of what was signed, when, the signing key's public half and fingerprint, and the
    Ed25519 signature over all of that."""
    doc = {
        "format": SIGNATURE_FORMAT, "algorithm": ALGORITHM, "subject": subject,
        "sha256": hashlib.sha256(data).hexdigest(),
        "signed_at": signed_at or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "key_fingerprint": key.fingerprint,
        "public_key": base64.b64encode(key.public.raw).decode("ascii"),
    }
    doc["signature"] = base64.b64encode(key.sign(_signed_body(doc))).decode("ascii")
    return _canonical(doc)


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of checking one signature.

    ``status``: ``valid`` (the signature matches the bytes and the key it names), ``invalid``
    (it does not: the bytes changed, or the signature was edited), ``malformed`` (the signature
    file cannot be read), ``missing``. ``trusted``: True when the signing key is one the caller
    trusts, False when the caller named trusted keys and this is none of them, None when the
    caller named none (origin not checked)."""

    status: str
    fingerprint: str = ""
    trusted: bool | None = None
    signed_at: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "valid" and self.trusted is not False


def _b64(value: object, size: int) -> bytes:
    if not isinstance(value, str):
        raise ValueError("not text")
    raw = base64.b64decode(value.encode("ascii"), validate=True)
    if len(raw) != size:
        raise ValueError("wrong length")
    return raw


def check_document(doc_bytes: bytes | None, data: bytes, trusted: TrustedKeys) -> SignatureCheck:
    """Check the signature document ``doc_bytes`` against ``data``."""
    if doc_bytes is None:
        return SignatureCheck("missing")
    try:
        doc = json.loads(doc_bytes.decode("utf-8"))
        if not isinstance(doc, dict) or doc.get("format") != SIGNATURE_FORMAT or doc.get("algorithm") != ALGORITHM:
            raise ValueError("not a signature")
        if _canonical(doc) != doc_bytes:  # written by us or edited: not even whitespace may differ
            raise ValueError("not canonical")
        raw = _b64(doc.get("public_key"), 32)
        signature = _b64(doc.get("signature"), 64)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        return SignatureCheck("malformed")
    key = PublicKey(raw)
    signed_at = str(doc.get("signed_at", ""))
    intact = (key.verify(signature, _signed_body(doc)) and doc.get("key_fingerprint") == key.fingerprint
              and doc.get("sha256") == hashlib.sha256(data).hexdigest())
    return SignatureCheck("valid" if intact else "invalid", key.fingerprint, trusted.judge(key.fingerprint), signed_at)


@dataclass(frozen=True)
class TrustedKeys:
    """The keys a caller trusts: public key files and fingerprints. Empty: origin unchecked."""

    keys: tuple[PublicKey, ...] = ()
    fingerprints: tuple[str, ...] = ()

    @classmethod
    def from_options(cls, public_keys=(), fingerprints=()) -> TrustedKeys:
        return cls(tuple(load_public_key(p) for p in public_keys),
                   tuple(normalise_fingerprint(f) for f in fingerprints))

    def __bool__(self) -> bool:
        return bool(self.keys or self.fingerprints)

    def judge(self, fingerprint: str) -> bool | None:
        if not self:
            return None
        return (any(k.fingerprint == fingerprint for k in self.keys)
                or any(fingerprint.startswith(f) for f in self.fingerprints))

    def key_for(self, fingerprint: str) -> PublicKey | None:
        return next((k for k in self.keys if k.fingerprint == fingerprint), None)


# ------------------------------------------------------------------ audit entries


def sign_entry(key: SigningKey, entry_hash: str) -> dict:
    """The fields an audit entry gets: who signed it and the signature of its hash."""
    sig = key.sign(AUDIT_CONTEXT + entry_hash.encode("ascii"))
    return {"signer": key.fingerprint, "signature": base64.b64encode(sig).decode("ascii")}


def check_entry(entry: dict, entry_hash: str, trusted: TrustedKeys) -> str:
    """``valid``, ``unsigned``, ``untrusted`` (signed by a key not among ``trusted``) or
    ``invalid``. An audit entry carries only its signer's fingerprint, so checking needs the
    public key itself among ``trusted``."""
    signer, signature = entry.get("signer"), entry.get("signature")
    if not signer or not signature:
        return "unsigned"
    key = trusted.key_for(str(signer))
    if key is None:
        return "untrusted"
    try:
        raw = _b64(signature, 64)
    except (ValueError, binascii.Error):
        return "invalid"
    return "valid" if key.verify(raw, AUDIT_CONTEXT + entry_hash.encode("ascii")) else "invalid"
