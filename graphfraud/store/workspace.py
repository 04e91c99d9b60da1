"""A workspace: one folder with a DuckDB database of the canonical tables, their Parquet
export, the identity vault and the manifests of every run."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from graphfraud.core.errors import GraphfraudError, WorkspaceBusy
from graphfraud.store.schema import TABLES

SCHEMA_VERSION = "1"
DEFAULT_MEMORY_LIMIT = "4GB"
DB_NAME = "graphfraud.duckdb"
#: held (flock) by the command writing the workspace; says which and since when
LOCK_NAME = ".lock"
#: lineage columns every canonical table carries after its contract and derived columns
LINEAGE = (("_extra", "VARCHAR"), ("_source_file", "VARCHAR"), ("_source_line", "BIGINT"), ("_run_id", "VARCHAR"))

META_DDL = (
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    """CREATE TABLE IF NOT EXISTS rejects (
        run_id VARCHAR, table_name VARCHAR, source_file VARCHAR, source_sha256 VARCHAR, line BIGINT,
        column_name VARCHAR, source_column VARCHAR, reason VARCHAR, value VARCHAR, raw VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS ingest_runs (
        run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP, dataset VARCHAR, manifest VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS ingest_files (
        run_id VARCHAR, table_name VARCHAR, source_file VARCHAR, sha256 VARCHAR, size BIGINT, format VARCHAR,
        encoding VARCHAR, mapping VARCHAR, reader VARCHAR, input_rows BIGINT, loaded BIGINT, duplicate BIGINT,
        rejected BIGINT, blank_lines BIGINT)""",
    # physical lines beside records (workspaces made before these columns were added get them)
    "ALTER TABLE ingest_files ADD COLUMN IF NOT EXISTS physical_lines BIGINT",
    "ALTER TABLE ingest_files ADD COLUMN IF NOT EXISTS header_lines BIGINT",
    "ALTER TABLE ingest_files ADD COLUMN IF NOT EXISTS continuation_lines BIGINT",
    "ALTER TABLE ingest_files ADD COLUMN IF NOT EXISTS read_path VARCHAR",
    # originals of personal data, sealed with the key: boxes of many people, indexed per person
    "CREATE TABLE IF NOT EXISTS vault_boxes (box_id VARCHAR PRIMARY KEY, sealed BLOB)",
    """CREATE TABLE IF NOT EXISTS identity_vault (
        entity_type VARCHAR, entity_id VARCHAR, box_id VARCHAR, PRIMARY KEY (entity_type, entity_id))""",
)


def table_ddl(name: str) -> str:
    """``CREATE TABLE`` of one canonical table: contract columns, derived flags, lineage."""
    table = TABLES[name]
    cols = [f"{c.name} {c.storage_type}" for c in table.columns]
    cols += [f"{n} {t}" for n, t in table.derived]
    cols += [f"{n} {t}" for n, t in LINEAGE]
    return f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(cols)})"


def new_run_id(kind: str) -> str:
    """Sortable, unique run id such as ``ingest-20251123T101500-3fa2``."""
    return f"{kind}-{dt.datetime.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:4]}"


@dataclass
class Workspace:
    path: Path

    @property
    def db_path(self) -> Path:
        return self.path / DB_NAME

    @property
    def parquet_dir(self) -> Path:
        return self.path / "parquet"

    @property
    def runs_dir(self) -> Path:
        return self.path / "runs"

    @property
    def tmp_dir(self) -> Path:
        return self.path / "tmp"

    def exists(self) -> bool:
        return self.db_path.is_file()

    @classmethod
    def open(cls, path: str | Path, *, create: bool = False) -> Workspace:
        ws = cls(Path(path))
        if not ws.exists():
            if not create:
                raise GraphfraudError("workspace_missing", workspace=str(ws.path))
            ws.path.mkdir(parents=True, exist_ok=True)
            os.chmod(ws.path, 0o700)
        for d in (ws.parquet_dir, ws.runs_dir, ws.tmp_dir):
            d.mkdir(exist_ok=True)
        return ws

    @property
    def lock_path(self) -> Path:
        return self.path / LOCK_NAME

    def lock(self, command: str) -> "WorkspaceLock":
        """Hold the workspace for one writing command (ingest, detect, export): a second one
        gets ``WorkspaceBusy`` at once, naming the first and when it started. Release with
        ``.release()`` or use it as a context manager."""
        return WorkspaceLock(self, command)

    def busy(self) -> GraphfraudError:
        """The error for a workspace another process holds, with what the lock file says."""
        try:
            held = json.loads(self.lock_path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            held = {}
        if not held.get("command") or held.get("pid") == os.getpid():
            # no other writer holds it (or this process does, and DuckDB refused it the file):
            # a reader (a query, a workbench) has the database open
            return WorkspaceBusy("workspace_open_elsewhere", workspace=str(self.path))
        return WorkspaceBusy("workspace_busy", workspace=str(self.path), command=held["command"],
                             since=held.get("since", "?"), pid=held.get("pid", "?"))

    def connect(self, *, read_only: bool = False, memory_limit: str | None = None):
        """A DuckDB connection to the workspace, with the schema in place. While another process
        writes the workspace, ``WorkspaceBusy`` (DuckDB lets one process at a time open it)."""
        import duckdb

        # DuckDB would take 80 % of RAM; a modest default keeps big regions within a laptop's
        # means, spilling to the workspace's tmp/ when needed
        config = {"temp_directory": str(self.tmp_dir),
                  "memory_limit": memory_limit or os.environ.get("GRAPHFRAUD_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT)}
        try:
            con = duckdb.connect(str(self.db_path), read_only=read_only, config=config)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise self.busy() from None
            raise
        if not read_only:
            for ddl in META_DDL:
                con.execute(ddl)
            for name in TABLES:
                con.execute(table_ddl(name))
            con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [SCHEMA_VERSION])
            con.execute("INSERT OR IGNORE INTO meta VALUES ('created_at', ?)", [dt.datetime.now().isoformat()])
        return con

    def check_key(self, con, fingerprint: str) -> None:
        """Record the key fingerprint on first use; refuse another key afterwards."""
        rows = con.execute("SELECT value FROM meta WHERE key = 'key_fingerprint'").fetchall()
        row = rows[0] if rows else None
        if row is None:
            con.execute("INSERT INTO meta VALUES ('key_fingerprint', ?)", [fingerprint])
        elif row[0] != fingerprint:
            raise GraphfraudError("key_mismatch", workspace=str(self.path), expected=row[0], actual=fingerprint)

    def write_parquet(self, con, table: str, run_id: str, select_sql: str, params: list | None = None,
                      rows: int | None = None) -> Path | None:
        """Stage the rows of ``select_sql`` for the Parquet dataset of ``table``: they become
        ``parquet/<table>/<run_id>.parquet`` when ``publish_parquet(run_id)`` runs, after the
        run's transaction committed (nothing when there are none; ``rows``, when the caller
        knows how many there are, saves asking). Read a table back with
        ``read_parquet('parquet/claims/*.parquet')``: a run that did not commit never shows."""
        if rows is None:
            rows = con.execute(f"SELECT EXISTS ({select_sql})", params or []).fetchall()[0][0]
        if not rows:
            return None
        folder = self.parquet_dir / table
        folder.mkdir(parents=True, exist_ok=True)
        pending = folder / f".{run_id}.parquet.pending"
        # zstd level 1: ~20 % less CPU than the default level 3, and no larger on these tables
        con.execute(f"COPY ({select_sql}) TO '{_sql_path(pending)}' "
                    f"(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)", params or [])
        return pending

    def publish_parquet(self, run_id: str) -> list[Path]:
        """The committed run's staged Parquet files under their final names."""
        out = []
        for pending in sorted(self.parquet_dir.glob(f"*/.{run_id}.parquet.pending")):
            target = pending.with_name(f"{run_id}.parquet")
            pending.replace(target)
            out.append(target)
        return out

    def discard_parquet(self, run_id: str) -> None:
        """Remove what a run that rolled back staged."""
        for pending in self.parquet_dir.glob(f"*/.{run_id}.parquet.pending"):
            pending.unlink(missing_ok=True)

    def recover(self, con) -> dict[str, int]:
        """Tidy what a killed or failed run left: staged files of a run that committed are
        published; staged or final files of a run that never committed (and any ``.tmp``) are
        removed, so the Parquet dataset holds each committed row once. Returns the counts."""
        committed = {r for (r,) in con.execute("SELECT run_id FROM ingest_runs").fetchall()}
        counts = {"published": 0, "removed": 0}
        for path in sorted(self.parquet_dir.glob("*/*")):
            name = path.name
            if name.endswith(".parquet.pending"):
                run = name[1:-len(".parquet.pending")]
                if run in committed:
                    path.replace(path.with_name(f"{run}.parquet"))
                    counts["published"] += 1
                    continue
            elif name.endswith(".parquet") and name[:-len(".parquet")] in committed:
                continue
            elif not name.endswith((".tmp", ".parquet")):
                continue  # not ours
            path.unlink()
            counts["removed"] += 1
        return counts

    def table_counts(self, con) -> dict[str, int]:
        return {name: con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0] for name in [*TABLES, "rejects"]}


def _sql_path(path: Path) -> str:
    """A path for a COPY statement (COPY takes no parameters); quotes are doubled."""
    return str(path).replace("'", "''")


class WorkspaceLock:
    """An exclusive ``flock`` on ``<workspace>/.lock``, which records the command, its process
    and its start so that a second writer can be told who holds the workspace. The kernel
    drops the lock when the process dies, so a killed run never leaves the workspace locked."""

    def __init__(self, ws: Workspace, command: str) -> None:
        import fcntl

        ws.path.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(ws.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            raise ws.busy() from None
        os.ftruncate(self._fd, 0)
        os.write(self._fd, json.dumps({"command": command, "pid": os.getpid(),
                                       "since": dt.datetime.now().isoformat(timespec="seconds")}).encode())

    def release(self) -> None:
        import fcntl

        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "WorkspaceLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()
