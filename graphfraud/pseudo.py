"""Keyed pseudonyms for personal data, and the sealed vault that an authorised export opens.

A single secret (``GRAPHFRAUD_KEY`` or a key file created on first use with mode 0600)
yields three sub-keys: one for HMAC-SHA256 pseudonyms (equal values give equal pseudonyms,
so shared phones and addresses still link people), one that seals the original values in
the workspace vault (AES-GCM), and a fingerprint stored in the workspace so that a second
ingest with another key is refused instead of silently breaking every link.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from graphfraud.errors import GraphfraudError
from graphfraud.schema import PSEUDONYM_PREFIX

ENV_KEY = "GRAPHFRAUD_KEY"
ENV_KEY_FILE = "GRAPHFRAUD_KEY_FILE"


def default_key_file() -> Path:
    """``$GRAPHFRAUD_KEY_FILE``, else ``$XDG_CONFIG_HOME/graphfraud/key`` (``~/.config/...``)."""
    if os.environ.get(ENV_KEY_FILE):
        return Path(os.environ[ENV_KEY_FILE])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "graphfraud" / "key"


@dataclass(frozen=True)
class Keyring:
    """The sub-keys derived from one secret. Never stored; rebuilt from the secret."""

    hmac_key: bytes
    vault_key: bytes
    fingerprint: str
    source: str  # where the secret came from: "env" or the key file path

    @classmethod
    def from_secret(cls, secret: bytes, source: str) -> Keyring:
        def sub(label: str) -> bytes:
            return hmac.new(secret, label.encode(), hashlib.sha256).digest()

        return cls(
            hmac_key=sub("graphfraud pseudonym v1"),
            vault_key=sub("graphfraud vault v1"),
            fingerprint=sub("graphfraud fingerprint v1").hex()[:16],
            source=source,
        )

    def pseudonym(self, kind: str, value: str | None) -> str | None:
        """The pseudonym of one personal value, e.g. ``ph_3fa2…`` for a phone number.

        >>> k = Keyring.from_secret(b"x" * 32, "test")
        >>> k.pseudonym("phone", "138 0000 0000") == k.pseudonym("phone", "+86 13800000000")
        True
        """
        norm = normalise(kind, value)
        if norm is None:
            return None
        digest = hmac.new(self.hmac_key, f"{kind}\x1f{norm}".encode(), hashlib.sha256).hexdigest()
        return PSEUDONYM_PREFIX[kind] + digest[:20]

    def seal(self, record: dict[str, str | None]) -> bytes:
        """Encrypt original personal values (AES-GCM, random nonce) for the vault."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = secrets.token_bytes(12)
        plain = json.dumps(record, ensure_ascii=False, sort_keys=True).encode()
        return nonce + AESGCM(self.vault_key).encrypt(nonce, plain, b"graphfraud vault v1")

    def unseal(self, blob: bytes) -> dict[str, str | None]:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        plain = AESGCM(self.vault_key).decrypt(blob[:12], blob[12:], b"graphfraud vault v1")
        return json.loads(plain)


_SPACE = re.compile(r"\s+")
_NON_DIGIT = re.compile(r"\D")


def normalise(kind: str, value: str | None) -> str | None:
    """The form a personal value is hashed in, so trivial spelling differences still link.

    Full-width characters are folded (NFKC), spaces removed; phones keep digits only and
    lose a leading +86/86 country code; citizen IDs are upper-cased.
    """
    if value is None:
        return None
    text = _SPACE.sub("", unicodedata.normalize("NFKC", str(value)))
    if not text:
        return None
    if kind == "phone":
        digits = _NON_DIGIT.sub("", text)
        if len(digits) == 13 and digits.startswith("86"):
            digits = digits[2:]
        return digits or None
    if kind == "id_number":
        return text.upper()
    return text


def load_keyring(key_file: str | Path | None = None, *, create: bool = True) -> Keyring:
    """The keyring from ``GRAPHFRAUD_KEY``, else from ``key_file`` (default: the user's key
    file), creating a random key file with mode 0600 on first use when ``create`` is true."""
    env = os.environ.get(ENV_KEY)
    if env and key_file is None:
        if len(env) < 16:
            raise GraphfraudError("key_too_short")
        return Keyring.from_secret(env.encode(), "env:" + ENV_KEY)
    path = Path(key_file) if key_file else default_key_file()
    if not path.exists():
        if not create:
            raise GraphfraudError("key_file_bad", path=str(path), detail="missing")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
    text = path.read_text(encoding="utf-8").strip()
    if len(text) < 16:
        raise GraphfraudError("key_file_bad", path=str(path), detail="shorter than 16 characters")
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise GraphfraudError(
            "key_file_bad", path=str(path), detail=f"mode {mode:o} lets others read it; run chmod 600"
        )
    return Keyring.from_secret(text.encode(), str(path))
