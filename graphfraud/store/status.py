"""What a workspace holds, for ``graphfraud status`` and ``graphfraud rejects``: its tables,
its ingest and detection runs, and the rows ingest rejected with their file, line, column and
reason."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from graphfraud.core.i18n import t
from graphfraud.core.safe_text import write_csv
from graphfraud.store.workspace import Workspace

#: the columns of ``rejects --csv``
REJECT_CSV_COLUMNS = ("table", "file", "line", "column", "source_column", "reason", "reason_text", "value", "raw")


@dataclass
class WorkspaceStatus:
    path: Path
    tables: dict[str, int]
    ingest_runs: int
    last_ingest: str | None
    detect_runs: int = 0
    last_detect: str | None = None
    last_out_dir: str | None = None
    rings: int = 0
    rings_over_threshold: int = 0


def workspace_status(workspace: str | Path) -> WorkspaceStatus:
    ws = Workspace.open(workspace)
    con = ws.connect(read_only=True)
    try:
        runs, last = con.execute("SELECT count(*), max(run_id) FROM ingest_runs").fetchall()[0]
        status = WorkspaceStatus(ws.path, ws.table_counts(con), runs, last)
        has_detect = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'detect_runs'"
                                 ).fetchall()[0][0]
        if has_detect:
            status.detect_runs = con.execute("SELECT count(*) FROM detect_runs").fetchall()[0][0]
            rows = con.execute("""
                SELECT d.run_id, d.out_dir, count(r.ring_id), count(r.ring_id) FILTER (WHERE r.over_transfer_threshold)
                FROM detect_runs d LEFT JOIN rings r USING (run_id)
                GROUP BY d.run_id, d.out_dir, d.finished_at ORDER BY d.finished_at DESC LIMIT 1""").fetchall()
            if rows:
                status.last_detect, status.last_out_dir, status.rings, status.rings_over_threshold = rows[0]
        return status
    finally:
        con.close()


@dataclass
class Reject:
    table: str
    file: str
    line: int
    column: str | None
    source_column: str | None
    reason: str
    value: str | None
    raw: str | None

    @property
    def shown_column(self) -> str:
        return self.source_column or self.column or "-"


@dataclass
class Rejects:
    total: int
    rows: list[Reject] = field(default_factory=list)


_WHERE = "WHERE (? IS NULL OR table_name = ?) AND (? IS NULL OR reason = ?)"
_COLUMNS = "table_name, source_file, line, column_name, source_column, reason, value, raw"


def find_rejects(workspace: str | Path, *, table: str | None = None, reason: str | None = None,
                 limit: int | None = None, order_by_table: bool = True) -> Rejects:
    """The rejects matching ``table`` and ``reason`` (every one when ``limit`` is None), and
    how many match in all."""
    ws = Workspace.open(workspace)
    con = ws.connect(read_only=True)
    params = [table, table, reason, reason]
    try:
        total = con.execute(f"SELECT count(*) FROM rejects {_WHERE}", params).fetchall()[0][0]
        order = "table_name, source_file, line" if order_by_table else "source_file, line"
        sql = f"SELECT {_COLUMNS} FROM rejects {_WHERE} ORDER BY {order}"
        if limit is not None:
            sql += " LIMIT ?"
            params = [*params, limit]
        return Rejects(total, [Reject(*r) for r in con.execute(sql, params).fetchall()])
    finally:
        con.close()


def write_rejects_csv(path: str | Path, rejects: Rejects, lang: str | None = None) -> None:
    """Every reject as CSV, with the reason's text in ``lang`` beside its code."""
    write_csv(path, list(REJECT_CSV_COLUMNS), _reject_rows(rejects, lang))


def _reject_rows(rejects: Rejects, lang: str | None) -> Iterator[list]:
    for r in rejects.rows:
        yield [r.table, r.file, None if r.line is None else str(r.line), r.column, r.source_column, r.reason,
               t("reason." + r.reason, lang=lang), r.value, r.raw]
