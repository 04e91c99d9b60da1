"""Keyed pseudonyms for personal data, and the sealed vault that an authorised export opens.

A single secret (``GRAPHFRAUD_KEY`` or a key file created on first use with mode 0600)
yields three sub-keys: one for HMAC-SHA256 pseudonyms (equal values give equal pseudonyms,
so shared phones and addresses still link people), one that seals the original values in
the workspace vault (AES-GCM), and a fingerprint stored in the workspace so that a second
ingest with another key is refused instead of silently breaking every link.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from graphfraud.core.errors import GraphfraudError
from graphfraud.store.schema import PSEUDONYM_PREFIX

ENV_KEY = "GRAPHFRAUD_KEY"
ENV_KEY_FILE = "GRAPHFRAUD_KEY_FILE"


def default_key_file() -> Path:
    """``$GRAPHFRAUD_KEY_FILE``, else ``$XDG_CONFIG_HOME/graphfraud/key`` (``~/.config/...``)."""
    if os.environ.get(ENV_KEY_FILE):
        return Path(os.environ[ENV_KEY_FILE])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "graphfraud" / "key"


@dataclass(frozen=True, eq=False)
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
        return self.pseudonyms(kind, [value])[0]

    def pseudonyms(self, kind: str, values: list[str | None]) -> list[str | None]:
        """``pseudonym`` over many values (the fast path used by ingest)."""
        key, prefix, tag = self.hmac_key, PSEUDONYM_PREFIX[kind], f"{kind}\x1f".encode()
        digest = hmac.digest
        out: list[str | None] = []
        for value in values:
            norm = normalise(kind, value)
            out.append(None if norm is None else prefix + digest(key, tag + norm.encode(), "sha256").hex()[:20])
        return out

    @functools.cached_property
    def _aead(self):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        return AESGCM(self.vault_key)

    def seal_bytes(self, plain: bytes) -> bytes:
        """Encrypt bytes (AES-GCM, random 96-bit nonce prepended) for the vault."""
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, plain, b"graphfraud vault v1")

    def unseal_bytes(self, blob: bytes) -> bytes:
        return self._aead.decrypt(blob[:12], blob[12:], b"graphfraud vault v1")


VAULT_BATCH = 8192


def seal_batches(keyring: Keyring, run_id: str, entity: str, data):
    """Seal the originals of many people: one AES-GCM box per ``VAULT_BATCH`` people (an
    Arrow IPC stream of their rows, ``id`` first) and an index row per person. ``data`` is
    an Arrow table. Returns the two Arrow tables (boxes, index) to insert."""
    import pyarrow as pa

    box_ids, sealed, idx_box = [], [], []
    for i, batch in enumerate(data.to_batches(max_chunksize=VAULT_BATCH)):
        box = f"{run_id}/{entity}/{i}"
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_batch(batch)
        box_ids.append(box)
        sealed.append(keyring.seal_bytes(sink.getvalue().to_pybytes()))
        idx_box.append(pa.array([box] * batch.num_rows, pa.string()))
    boxes = pa.table({"box_id": pa.array(box_ids, pa.string()), "sealed": pa.array(sealed, pa.binary())})
    index = pa.table({"entity_type": pa.array([entity] * data.num_rows, pa.string()),
                      "entity_id": data.column("id").cast(pa.string()),
                      "box_id": pa.chunked_array(idx_box, pa.string()) if idx_box else pa.array([], pa.string())})
    return boxes, index


def reveal(con, keyring: Keyring, entity: str, ids: list[str]) -> dict[str, dict[str, str | None]]:
    """The original personal values of ``ids`` (patients or doctors) from a workspace's vault.

    Only the boxes that hold them are opened; a wrong key raises ``cryptography``'s
    ``InvalidTag``."""
    import pyarrow as pa

    con.register("_wanted", pa.table({"entity_id": pa.array(ids, pa.string())}))
    try:
        rows = con.execute(
            """SELECT DISTINCT b.box_id, b.sealed FROM identity_vault v JOIN _wanted w USING (entity_id)
               JOIN vault_boxes b USING (box_id) WHERE v.entity_type = ?""", [entity]).fetchall()
    finally:
        con.unregister("_wanted")
    wanted = set(ids)
    out: dict[str, dict[str, str | None]] = {}
    for _, blob in rows:
        table = pa.ipc.open_stream(keyring.unseal_bytes(blob)).read_all()
        for row in table.to_pylist():
            entity_id = row.pop("id")
            if entity_id in wanted:
                out[entity_id] = row
    return out


#: full-width ASCII variants and the ideographic space, folded to ASCII before hashing
FULL_WIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
HALF_WIDTH = "".join(chr(c) for c in range(0x21, 0x7F)) + " "
_FOLD = str.maketrans(FULL_WIDTH, HALF_WIDTH)
_SPACE = re.compile(r"[\t\n\x0b\x0c\r \xa0]+")
_SPACE_SQL = r"[\t\n\x0B\x0C\r \x{A0}]+"
_NON_DIGIT = re.compile(r"\D")


def normalise(kind: str, value: str | None) -> str | None:
    """The form a personal value is hashed in, so trivial spelling differences still link.

    Full-width letters, digits and punctuation are folded to ASCII and spaces removed; phones
    keep digits only and lose a leading 86 country code; citizen IDs are upper-cased.
    ``sql_pseudonym`` computes exactly the same in DuckDB.
    """
    if value is None:
        return None
    text = _SPACE.sub("", str(value).translate(_FOLD))
    if kind == "phone":
        text = _NON_DIGIT.sub("", text)
        if len(text) == 13 and text.startswith("86"):
            text = text[2:]
    elif kind == "id_number":
        text = text.upper()
    return text or None


def sql_normalise(kind: str, col: str, param) -> str:
    """A DuckDB expression computing ``normalise(kind, <col>)`` (``col`` a trusted name;
    constants enter through ``param(value) -> placeholder``)."""
    # translate() is slow on a 95-character map: only values with full-width characters need it
    fold = (f"(CASE WHEN regexp_matches({col}, '[\\x{{FF01}}-\\x{{FF5E}}\\x{{3000}}]') "
            f"THEN translate({col}, {param(FULL_WIDTH)}, {param(HALF_WIDTH)}) ELSE {col} END)")
    folded = f"regexp_replace({fold}, {param(_SPACE_SQL)}, '', 'g')"
    if kind == "phone":
        digits = f"regexp_replace({folded}, '[^0-9]', '', 'g')"
        return f"NULLIF(regexp_replace({digits}, '^86([0-9]{{11}})$', '\\1'), '')"
    if kind == "id_number":
        return f"NULLIF(upper({folded}), '')"
    return f"NULLIF({folded}, '')"


def sql_pseudonym(keyring: Keyring, kind: str, norm_col: str, param) -> str:
    """A DuckDB expression computing ``keyring.pseudonym`` from a column already holding
    ``normalise(kind, value)`` (see ``sql_normalise``): HMAC-SHA256 from DuckDB's ``sha256``,
    the key entering only as parameters."""
    block = keyring.hmac_key.ljust(64, b"\0")
    ipad = param(bytes(b ^ 0x36 for b in block))
    opad = param(bytes(b ^ 0x5C for b in block))
    inner = f"unhex(sha256({ipad} || encode({param(kind + chr(31))} || {norm_col})))"
    return f"({param(PSEUDONYM_PREFIX[kind])} || substr(sha256({opad} || {inner}), 1, 20))"


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
