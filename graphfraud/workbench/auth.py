"""Accounts, passwords and sessions of the workbench.

Passwords are stored as scrypt hashes (memory-hard: N=2^15, r=8 needs 32 MiB per guess), each
with its own random salt, in the form ``scrypt$N$r$p$salt$hash``. A session is a random token
kept by the browser in an HttpOnly, SameSite=Strict cookie; the server keeps only its SHA-256,
with the session's CSRF token, which every state-changing request must echo in a header.

Roles: ``investigator`` (queue, cases, notes, status, exports with pseudonyms),
``liaison`` (police liaison: also exports with real identities and transfers to the police),
``admin`` (all of that, and accounts, and extending a case's deadline).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

ROLES = ("investigator", "liaison", "admin")
#: what each role may do beyond reading the queue and its cases
RIGHTS = {
    "investigator": frozenset({"case.update", "case.export"}),
    "liaison": frozenset({"case.update", "case.export", "case.reveal", "case.transfer"}),
    "admin": frozenset({"case.update", "case.export", "case.reveal", "case.transfer", "case.extend", "users.manage"}),
}
MIN_PASSWORD = 10
_N, _R, _P = 2 ** 15, 8, 1
_MAXMEM = 64 * 1024 * 1024


def hash_password(password: str, *, n: int = _N) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=_R, p=_P, maxmem=_MAXMEM, dklen=32)
    return "$".join(["scrypt", str(n), str(_R), str(_P), _b64(salt), _b64(digest)])


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode("utf-8"), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                             maxmem=_MAXMEM, dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, _unb64(digest))


def may(role: str, right: str) -> bool:
    return right in RIGHTS.get(role, frozenset())


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
