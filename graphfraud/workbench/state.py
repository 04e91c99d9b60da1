"""What the workbench remembers, in ``<workspace>/workbench.sqlite``: accounts, sessions, and
cases (a ring or lead someone opened: its status, assignee, notes, attachments' hashes, the
view saved with it, and its history). The detection results themselves stay in the store; a
case refers to them by their stable id, so next month's run finds its status again.

SQLite (in the standard library) because several requests and a CLI may touch it at once:
each call opens its own connection, WAL mode lets readers run while one writes.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from graphfraud.core.errors import GraphfraudError
from graphfraud.workbench import auth
from graphfraud.workbench.calendar import CLOSE_DAYS, EXTENSION_DAYS, TRANSFER_DAYS, VERIFY_DAYS, WorkCalendar

STATE_FILE = "workbench.sqlite"
SESSION_HOURS = 12

#: the lead lifecycle (生成 → 审核 → 派发 → 反馈 → 核实): a case's statuses and where each may go
STATUSES = ("new", "under_review", "dispatched", "feedback", "confirmed", "dismissed", "transferred")
TRANSITIONS = {
    "new": ("under_review", "dismissed"),
    "under_review": ("dispatched", "confirmed", "dismissed"),
    "dispatched": ("feedback",),
    "feedback": ("under_review", "confirmed", "dismissed"),
    "confirmed": ("transferred", "under_review"),
    "dismissed": ("under_review",),
    "transferred": (),
}

_DDL = (
    """CREATE TABLE IF NOT EXISTS users (
        username TEXT PRIMARY KEY, role TEXT NOT NULL, pw_hash TEXT NOT NULL, created_at TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS sessions (
        token_hash TEXT PRIMARY KEY, username TEXT NOT NULL, csrf TEXT NOT NULL, created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS cases (
        case_id TEXT PRIMARY KEY, case_type TEXT NOT NULL, kind TEXT, status TEXT NOT NULL, assignee TEXT,
        opened_at TEXT NOT NULL, opened_by TEXT NOT NULL, status_at TEXT NOT NULL, confirmed_at TEXT,
        extended INTEGER NOT NULL DEFAULT 0, members_at_dismissal INTEGER, view TEXT)""",
    """CREATE TABLE IF NOT EXISTS case_history (
        case_id TEXT NOT NULL, time TEXT NOT NULL, username TEXT NOT NULL, action TEXT NOT NULL,
        status_from TEXT, status_to TEXT, note TEXT)""",
    """CREATE TABLE IF NOT EXISTS attachments (
        case_id TEXT NOT NULL, time TEXT NOT NULL, username TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL,
        size INTEGER NOT NULL)""",
)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


@dataclass(frozen=True)
class User:
    username: str
    role: str


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str


class State:
    def __init__(self, folder: str | Path, calendar: WorkCalendar | None = None) -> None:
        self.path = Path(folder) / STATE_FILE
        self.calendar = calendar or WorkCalendar()
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            for ddl in _DDL:
                db.execute(ddl)

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        return closing(db)  # type: ignore[return-value]

    # ------------------------------------------------------------ accounts
    def add_user(self, username: str, role: str, password: str) -> User:
        if role not in auth.ROLES:
            raise GraphfraudError("workbench.bad_role", role=role, roles=", ".join(auth.ROLES))
        if not username or len(username) > 64 or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
            raise GraphfraudError("workbench.bad_username", username=username)
        if len(password) < auth.MIN_PASSWORD:
            raise GraphfraudError("workbench.weak_password", n=auth.MIN_PASSWORD)
        with self._db() as db:
            try:
                db.execute("INSERT INTO users VALUES (?, ?, ?, ?, 0)",
                           [username, role, auth.hash_password(password), now().isoformat()])
            except sqlite3.IntegrityError:
                raise GraphfraudError("workbench.user_exists", username=username) from None
        return User(username, role)

    def set_password(self, username: str, password: str) -> None:
        if len(password) < auth.MIN_PASSWORD:
            raise GraphfraudError("workbench.weak_password", n=auth.MIN_PASSWORD)
        with self._db() as db:
            if db.execute("UPDATE users SET pw_hash = ? WHERE username = ?",
                          [auth.hash_password(password), username]).rowcount == 0:
                raise GraphfraudError("workbench.no_user", username=username)
            db.execute("DELETE FROM sessions WHERE username = ?", [username])

    def users(self) -> list[dict]:
        with self._db() as db:
            return [dict(r) for r in db.execute(
                "SELECT username, role, created_at, disabled FROM users ORDER BY username")]

    def has_admin(self) -> bool:
        with self._db() as db:
            return db.execute("SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0").fetchone()[0] > 0

    def login(self, username: str, password: str) -> tuple[str, Session] | None:
        with self._db() as db:
            row = db.execute("SELECT role, pw_hash, disabled FROM users WHERE username = ?", [username]).fetchone()
        if row is None:
            auth.check_password(password, auth.hash_password("x" * auth.MIN_PASSWORD))  # same time either way
            return None
        if row["disabled"] or not auth.check_password(password, row["pw_hash"]):
            return None
        token, csrf = auth.new_token(), auth.new_token()
        start = now()
        with self._db() as db:
            db.execute("DELETE FROM sessions WHERE expires_at < ?", [start.isoformat()])
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)",
                       [auth.token_hash(token), username, csrf, start.isoformat(),
                        (start + dt.timedelta(hours=SESSION_HOURS)).isoformat()])
        return token, Session(User(username, row["role"]), csrf)

    def session(self, token: str | None) -> Session | None:
        if not token:
            return None
        with self._db() as db:
            row = db.execute("""SELECT s.username, s.csrf, s.expires_at, u.role, u.disabled FROM sessions s
                                JOIN users u USING (username) WHERE s.token_hash = ?""",
                             [auth.token_hash(token)]).fetchone()
        if row is None or row["disabled"] or row["expires_at"] < now().isoformat():
            return None
        return Session(User(row["username"], row["role"]), row["csrf"])

    def logout(self, token: str | None) -> None:
        if token:
            with self._db() as db:
                db.execute("DELETE FROM sessions WHERE token_hash = ?", [auth.token_hash(token)])

    # ------------------------------------------------------------ cases
    def cases(self) -> dict[str, dict]:
        with self._db() as db:
            return {r["case_id"]: self._with_deadlines(dict(r)) for r in db.execute("SELECT * FROM cases")}

    def case(self, case_id: str) -> dict | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM cases WHERE case_id = ?", [case_id]).fetchone()
            if row is None:
                return None
            out = self._with_deadlines(dict(row))
            out["history"] = [dict(r) for r in db.execute(
                "SELECT time, username, action, status_from, status_to, note FROM case_history WHERE case_id = ? "
                "ORDER BY rowid", [case_id])]
            out["attachments"] = [dict(r) for r in db.execute(
                "SELECT time, username, name, sha256, size FROM attachments WHERE case_id = ? ORDER BY rowid",
                [case_id])]
        out["view"] = json.loads(out["view"]) if out.get("view") else None
        return out

    def open_case(self, case_id: str, case_type: str, kind: str, user: User) -> dict:
        """The case of ring or lead ``case_id``, opened (status new) when nobody had yet."""
        stamp = now().isoformat()
        with self._db() as db:
            if db.execute("INSERT OR IGNORE INTO cases (case_id, case_type, kind, status, opened_at, opened_by, "
                          "status_at) VALUES (?, ?, ?, 'new', ?, ?, ?)",
                          [case_id, case_type, kind, stamp, user.username, stamp]).rowcount:
                db.execute("INSERT INTO case_history VALUES (?, ?, ?, 'open', NULL, 'new', NULL)",
                           [case_id, stamp, user.username])
        return self.case(case_id)

    def change(self, case_id: str, user: User, *, status: str | None = None, note: str | None = None,
               assignee: str | None = None, members: int | None = None) -> dict:
        """Move the case to ``status`` (along ``TRANSITIONS``), assign it, and/or add a note."""
        case = self.case(case_id)
        if case is None:
            raise GraphfraudError("workbench.no_case", case_id=case_id)
        stamp = now().isoformat()
        with self._db() as db:
            if status is not None and status != case["status"]:
                if status not in TRANSITIONS.get(case["status"], ()):
                    raise GraphfraudError("workbench.bad_transition", case_id=case_id, status_from=case["status"],
                                          status_to=status)
                db.execute("""UPDATE cases SET status = ?, status_at = ?,
                              confirmed_at = CASE WHEN ? = 'confirmed' THEN ? ELSE confirmed_at END,
                              members_at_dismissal = CASE WHEN ? = 'dismissed' THEN ? ELSE members_at_dismissal END
                              WHERE case_id = ?""", [status, stamp, status, stamp, status, members, case_id])
                db.execute("INSERT INTO case_history VALUES (?, ?, ?, 'status', ?, ?, ?)",
                           [case_id, stamp, user.username, case["status"], status, note])
                note = None
            if assignee is not None and assignee != case.get("assignee"):
                if assignee and db.execute("SELECT 1 FROM users WHERE username = ?", [assignee]).fetchone() is None:
                    raise GraphfraudError("workbench.no_user", username=assignee)
                db.execute("UPDATE cases SET assignee = ? WHERE case_id = ?", [assignee or None, case_id])
                db.execute("INSERT INTO case_history VALUES (?, ?, ?, 'assign', NULL, NULL, ?)",
                           [case_id, stamp, user.username, assignee or ""])
            if note:
                db.execute("INSERT INTO case_history VALUES (?, ?, ?, 'note', NULL, NULL, ?)",
                           [case_id, stamp, user.username, note])
        return self.case(case_id)

    def extend(self, case_id: str, user: User) -> dict:
        with self._db() as db:
            db.execute("UPDATE cases SET extended = 1 WHERE case_id = ?", [case_id])
            db.execute("INSERT INTO case_history VALUES (?, ?, ?, 'extend', NULL, NULL, NULL)",
                       [case_id, now().isoformat(), user.username])
        return self.case(case_id)

    def save_view(self, case_id: str, view: dict, user: User) -> None:
        with self._db() as db:
            db.execute("UPDATE cases SET view = ? WHERE case_id = ?", [json.dumps(view, ensure_ascii=False), case_id])
            db.execute("INSERT INTO case_history VALUES (?, ?, ?, 'save_view', NULL, NULL, NULL)",
                       [case_id, now().isoformat(), user.username])

    def attach(self, case_id: str, name: str, sha256: str, size: int, user: User) -> None:
        with self._db() as db:
            db.execute("INSERT INTO attachments VALUES (?, ?, ?, ?, ?, ?)",
                       [case_id, now().isoformat(), user.username, name, sha256, size])

    def _with_deadlines(self, case: dict) -> dict:
        """The working-day deadlines that apply to the case now, and how many working days are left."""
        cal = self.calendar
        opened = dt.datetime.fromisoformat(case["opened_at"]).date()
        deadlines = {}
        if case["status"] not in ("dismissed", "transferred", "confirmed"):
            deadlines["verify_by"] = cal.add(opened, VERIFY_DAYS)
        if case["status"] == "confirmed" and case.get("confirmed_at"):
            deadlines["transfer_by"] = cal.add(dt.datetime.fromisoformat(case["confirmed_at"]).date(), TRANSFER_DAYS)
        if case["status"] not in ("dismissed", "transferred"):
            deadlines["close_by"] = cal.add(opened, CLOSE_DAYS + (EXTENSION_DAYS if case.get("extended") else 0))
        today = now().date()
        case["deadlines"] = {k: {"date": d.isoformat(), "working_days_left": cal.between(today, d)}
                             for k, d in deadlines.items()}
        nearest = min(deadlines.values(), default=None)
        case["deadline"] = nearest.isoformat() if nearest else None
        return case
