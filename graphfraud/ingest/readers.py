"""Reading one source file of a dataset into a raw DuckDB table, losing nothing.

A raw table has one row per record that parsed, with ``_line`` (the physical line the record
starts on; the header is line 1; for Parquet the row number), every mapped column as trimmed
text under its canonical name (NULL when empty), and ``_extra_vals`` (the values of the extra
columns the mapping declares; other columns are not read into it).
Records that do not parse (wrong field count, broken quoting, invalid bytes) come back as
structural rejects with their line. Types are checked later, in ``ingest``.

CSV goes through DuckDB's reader with its reject store. DuckDB does not report the line of a
good record, so the record boundaries are found first by a vectorised scan of the bytes
(newlines outside quotes); the two must agree on the number of records, otherwise the file is
read again with Python's csv module, which is slow but exact.
"""

from __future__ import annotations

import concurrent.futures
import csv
import datetime as dt
import decimal
import gzip
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from graphfraud.core.errors import GraphfraudError
from graphfraud.core.i18n import t
from graphfraud.ingest.mapping import Mapping, best_mapping
from graphfraud.ingest.repair import DEFAULT_MAX_RECORD_LINES, Repaired, open_bytes, read_header, repair_csv
from graphfraud.ingest.repair import detect_encoding as detect
from graphfraud.store.schema import TABLES

FORMATS = {".csv": "csv", ".csv.gz": "csv.gz", ".parquet": "parquet", ".xlsx": "xlsx"}
CHUNK = 64 << 20
SCAN_CHUNK = 16 << 20
DELIMITERS = (",", "\t", "|", ";")


@dataclass
class SourceFile:
    path: Path
    table: str
    fmt: str

    @property
    def name(self) -> str:
        return self.path.name


class ReadAborted(Exception):
    """DuckDB's reader stopped on a file (its state machine refused the bytes). The statement
    failed inside the ingest's transaction, which must be rolled back; the ingest then starts
    again reading this file the careful way (``mode``)."""

    def __init__(self, path: Path, mode: str, cause: str) -> None:
        super().__init__(f"{path}: {cause}")
        self.path, self.mode, self.cause = path, mode, cause


#: how carefully a CSV is read, in order: each failure moves a file to the next
READ_MODES = ("fast", "careful", "python")


@dataclass
class StructuralReject:
    line: int
    reason: str  # malformed_row or bad_encoding
    column: str | None  # canonical column, when one is to blame
    raw: str


@dataclass
class RawSource:
    """What reading one file produced; ``table_name`` is the raw DuckDB table."""

    source: SourceFile
    table_name: str
    sha256: str
    size: int
    encoding: str
    mapping: Mapping
    headers: list[str]
    column_map: dict[str, str]  # source header -> canonical column
    extra_columns: list[str]
    n_good: int
    blank_lines: int
    structural: list[StructuralReject] = field(default_factory=list)
    had_replacements: bool = False
    reader: str = "duckdb"
    #: what separates the fields of a structural reject's raw text
    delimiter: str = ","
    #: set when the rows were typed on the way in (see ``read_source``'s ``shape``): the
    #: physical table holding them, without ``_line``; the line of a row ``v`` of it at
    #: position ``v._r`` (``row_index``) is ``line_sql`` after ``line_joins``
    typed_table: str | None = None
    line_sql: str = "v._line"
    line_joins: str = ""
    #: physical lines of the file (rows of a sheet; rows of a Parquet file), the header's
    #: lines, and the lines that continue a record (newlines inside quoted values): the
    #: physical lines are the header's, the blank ones, the records' first lines and these
    physical_lines: int = 0
    header_lines: int = 1
    continuation_lines: int = 0
    #: how the file was read: ``fast`` (DuckDB on the file itself), ``careful`` (DuckDB on
    #: the careful copy, see ``repair``), ``python`` (Python's csv module on that copy)
    path: str = "fast"
    #: lines decoded with another encoding than the file's: encoding -> line numbers
    decoded_lines: dict[str, list[int]] = field(default_factory=dict)
    #: line ends normalised in the careful copy: CRLF ends, CR inside lines
    crlf_lines: int = 0
    lone_cr: int = 0
    cr_line_ends: bool = False

    @property
    def n_records(self) -> int:
        return self.n_good + len(self.structural)

    @property
    def dropped_columns(self) -> list[str]:
        """Columns neither in the contract nor declared by the mapping: not stored anywhere."""
        kept = set(self.column_map) | set(self.extra_columns)
        return [h for h in self.headers if h not in kept]


def scalar(con, sql: str, params=None):
    """The single value of a one-row query, with the result fully consumed."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def split_format(path: Path) -> tuple[str, str] | None:
    """(stem, format) of a data file, or None for files that are not tables."""
    name = path.name
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)], FORMATS[suffix]
    return None


def discover(dataset: Path, mappings: list[Mapping]) -> tuple[dict[str, list[SourceFile]], list[Path]]:
    """Tables found in ``dataset`` (each with its files, in name order) and ignored files.

    A file belongs to a table when its stem is the table name, a file name that one of the
    mappings lists for it (e.g. ``结算``), or one of those followed by ``_``, ``-`` or ``.``
    and more (``claims_2025-01.csv``)."""
    if not dataset.is_dir():
        raise GraphfraudError("dataset_missing", path=str(dataset))
    stems: dict[str, str] = {}
    for m in mappings:
        for table in TABLES:
            for stem in m.file_stems(table):
                stems.setdefault(stem.lower(), table)
    found: dict[str, list[SourceFile]] = {}
    ignored: list[Path] = []
    for path in sorted(p for p in dataset.iterdir() if p.is_file()):
        split = split_format(path)
        table = None
        if split:
            stem = split[0].lower()
            table = stems.get(stem)
            if table is None:
                for known, tname in stems.items():
                    if stem.startswith(known) and stem[len(known) : len(known) + 1] in ("_", "-", "."):
                        table = tname
                        break
        if table is None:
            if not path.name.startswith(".") and path.suffix.lower() not in (".json", ".md", ".txt"):
                ignored.append(path)
            continue
        found.setdefault(table, []).append(SourceFile(path, table, split[1]))
    return found, ignored


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _open_bytes(path: Path, fmt: str):
    return open_bytes(path, fmt)


def detect_encoding(path: Path, fmt: str, hint: str | None = None) -> str:
    """The name of a file's encoding (see ``repair.detect_encoding``)."""
    return detect(path, fmt, hint).name


def _read_record(fh) -> str:
    """The next record of a text stream, without its line end."""
    line = fh.readline()
    # a header with a quoted newline continues on the next lines
    while line.count('"') % 2 and (more := fh.readline()):
        line += more
    return line.rstrip("\r\n")


def _sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _parse_header(header_line: str, delimiter: str) -> list[str]:
    fields = next(csv.reader([header_line], delimiter=delimiter), [])
    return [f.strip().lstrip("\ufeff").strip() for f in fields]


def resolve_columns(
    source: SourceFile, headers: list[str], mappings: list[Mapping], forced: Mapping | None
) -> tuple[Mapping, dict[str, str], list[str]]:
    """The mapping for a file, its header -> canonical column map and the extra columns its
    mapping declares (kept; every other column is dropped: see ``RawSource.dropped_columns``).

    Stops with a message naming the file and column when a required column is missing."""
    table = TABLES[source.table]
    if not headers or all(h == "" for h in headers):
        raise GraphfraudError("empty_file", file=str(source.path))
    seen: set[str] = set()
    for h in headers:
        if h in seen and h:
            raise GraphfraudError("duplicate_header", file=str(source.path), column=h)
        seen.add(h)
    mapping = forced or best_mapping(source.table, headers, mappings)[0]
    known = mapping.header_map(source.table)
    declared = mapping.extra_map(source.table)
    column_map: dict[str, str] = {}
    extra: list[str] = []  # unmapped columns the mapping declares: kept; the rest are dropped
    for h in headers:
        canon = known.get(h)
        if canon and canon not in column_map.values():
            column_map[h] = canon
        elif h in declared:
            extra.append(h)
    present = set(column_map.values())
    for col in table.columns:
        if col.required and col.name not in present:
            wanted = mapping.source_headers(source.table)[col.name]
            raise GraphfraudError(
                "required_column_missing",
                file=str(source.path),
                column=wanted if wanted == col.name else f"{wanted} ({col.name})",
                mapping=mapping.name,
                headers=", ".join(headers),
            )
    return mapping, column_map, extra


class Steps:
    """A step function over record numbers, kept as its few steps: ``at(i)`` is the sum of
    the increments ``by`` of the steps at positions ``pos`` up to ``i`` (0 before the first)."""

    def __init__(self, pos, by=None) -> None:
        pos = np.asarray(pos, dtype=np.int64)
        by = np.ones(pos.size, np.int64) if by is None else np.asarray(by, dtype=np.int64)
        order = np.argsort(pos, kind="stable")
        pos, cum = pos[order], np.cumsum(by[order])
        last = np.append(pos[1:] != pos[:-1], True) if pos.size else np.empty(0, bool)
        self.pos, self.val = pos[last], cum[last]

    @property
    def increments(self) -> np.ndarray:
        return np.diff(self.val, prepend=0)

    def at(self, i):
        return np.append(np.int64(0), self.val)[np.searchsorted(self.pos, i, side="right")]


@dataclass
class Records:
    """The records of a UTF-8 CSV after its header, as the byte scan found them.

    ``starts`` is the byte offset of every non-blank record; record ``i`` starts on line
    ``i + 2 + shift.at(i)``: blank lines and newlines inside quoted values, both rare, are
    the only steps, so no array of lines is kept."""

    starts: np.ndarray
    shift: Steps
    blank_lines: int
    physical_lines: int
    #: byte offsets of the newlines inside quoted values (continuation lines)
    quoted_nl: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    def line(self, i):
        return np.asarray(i, dtype=np.int64) + 2 + self.shift.at(i)


def scan_records(path: Path, hasher=None) -> Records:
    """Record boundaries of a UTF-8 CSV: newlines outside double quotes.

    Also counts blank lines (skipped) and physical lines. ``hasher`` (e.g. a
    ``hashlib.sha256()``) is fed the bytes on the way, so the file is read once. One array of
    record offsets is kept; everything else is as small as the file's irregularities. Whether
    values need trimming is ``has_padding``'s question, asked before the file is read."""
    ends: list[np.ndarray] = []  # byte offsets of record-ending newlines
    quoted_nl: list[np.ndarray] = []  # byte offsets of newlines inside quoted values
    parity = 0  # quotes seen so far, mod 2: 1 means inside a quoted field
    base = 0
    last = b"\n"
    with open(path, "rb") as fh:
        while chunk := fh.read(SCAN_CHUNK):
            if hasher is not None:
                hasher.update(chunk)
            arr = np.frombuffer(chunk, dtype=np.uint8)
            nl = np.flatnonzero(arr == 10)
            if parity or chunk.find(b'"') >= 0:
                inside, parity = _inside_quotes(arr, nl, parity)
                if inside is not None:
                    quoted_nl.append(nl[inside] + base)
                    nl = nl[~inside]
            nl += base  # a new array: shifted in place
            ends.append(nl)
            base += len(chunk)
            last = chunk[-1:]
    size = base
    end = np.concatenate(ends) if ends else np.empty(0, np.int64)
    del ends
    dropped = np.concatenate(quoted_nl) if quoted_nl else np.empty(0, np.int64)
    physical = end.size + dropped.size + (0 if last == b"\n" else 1)
    if size and (end.size == 0 or end[-1] < size - 1):
        # content after the last boundary: a last line without a newline, or a quote left
        # open to the end of the file; either way it is one more record
        end = np.append(end, size)
    if end.size == 0:
        return Records(np.empty(0, np.int64), Steps([]), 0, physical, dropped)
    # record k (k >= 1; 0 is the header) runs from end[k-1] + 1 to end[k]
    length = np.diff(end) - 1  # the record's bytes, between the two newlines
    blank = length == 0
    one = np.flatnonzero(length == 1)
    del length
    if one.size:
        data = np.memmap(path, dtype=np.uint8, mode="r")
        blank[one] = data[end[:-1][one] + 1] == 13
        del data
    starts = end[:-1] + 1
    blank_at = np.flatnonzero(blank)  # data-record positions (0-based) of blank records
    if blank_at.size:
        starts = starts[~blank]
    del blank
    # a record after a quoted newline or a blank line starts one line further down; in terms
    # of non-blank record numbers, record position j becomes j - (blank records before it)
    after_quoted = np.searchsorted(end, dropped)  # data position of the record after each
    shift = Steps(np.concatenate([after_quoted - np.searchsorted(blank_at, after_quoted),
                                  blank_at - np.arange(blank_at.size)]))
    return Records(starts.astype(np.int64, copy=False), shift, int(blank_at.size), physical, dropped)


def _inside_quotes(arr: np.ndarray, nl: np.ndarray, parity: int) -> tuple[np.ndarray | None, int]:
    """Which newlines ``nl`` of a chunk lie inside a quoted value (``parity``: 1 when the chunk
    starts inside one), and the parity after the chunk. Works on the quoted spans, which are
    few, rather than on every newline; None when no newline is inside one."""
    q = np.flatnonzero(arr == 34)
    # after quote k, k + 1 quotes have been seen: a span opens at k when parity + k is even
    # and runs to the next quote (or past the chunk's end)
    k = np.flatnonzero((parity + np.arange(q.size)) % 2 == 0)
    lo = q[k]
    hi = np.where(k + 1 < q.size, q[np.minimum(k + 1, q.size - 1)], arr.size) if k.size else k
    if parity:
        lo = np.concatenate([[-1], lo])
        hi = np.concatenate([[q[0] if q.size else arr.size], hi])
    a = np.searchsorted(nl, lo, side="right")
    b = np.searchsorted(nl, hi, side="left")
    new_parity = (parity + q.size) & 1
    if not (b > a).any():
        return None, new_parity
    mark = np.zeros(nl.size + 1, np.int32)
    np.add.at(mark, a, 1)
    np.add.at(mark, b, -1)
    return np.cumsum(mark[:-1]) > 0, new_parity


def _chunk_padded(arr: np.ndarray, chunk: bytes, tail: bytes, is_edge: np.ndarray) -> bool:
    """Whether a space in ``chunk`` (``tail``: the byte before it) touches a delimiter, a
    quote or a line end (``is_edge``: a table of 256 booleans, one per byte value)."""
    spaces = np.flatnonzero(arr == 32)
    if spaces.size:
        # a table lookup per neighbour: much cheaper than np.isin where every row has a space
        if is_edge[arr[np.minimum(spaces + 1, arr.size - 1)]].any() or is_edge[arr[np.maximum(spaces - 1, 0)]].any():
            return True
    pair = tail + chunk[:1]  # the two bytes either side of the chunk boundary
    return len(pair) == 2 and b" " in pair and bool(is_edge[pair.replace(b" ", b"", 1)[0]])


def has_padding(path: Path, delimiter: str = ",") -> bool:
    """Whether any value may carry leading or trailing spaces (a space next to a delimiter,
    quote or line end), so that trimming can be skipped for files that need none. Stops at
    the first padded value."""
    is_edge = np.zeros(256, dtype=bool)
    is_edge[np.frombuffer(delimiter.encode() + b'\n\r"', dtype=np.uint8)] = True
    tail = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(SCAN_CHUNK):
            if _chunk_padded(np.frombuffer(chunk, dtype=np.uint8), chunk, tail, is_edge):
                return True
            tail = chunk[-1:]
    return False


@dataclass
class PreScan:
    padded: bool  # some value may carry spaces to trim
    line_ends_mixed: bool  # LF and CRLF both, CR line ends, or a CR inside a line


def pre_scan(path: Path, delimiter: str = ",") -> PreScan:
    """What a plain UTF-8 CSV needs before DuckDB reads it: whether to trim, and whether its
    line ends are anything but all LF or all CRLF (DuckDB's reader stops on those, so they go
    the careful way). One pass; the padding test stops at the first padded value."""
    is_edge = np.zeros(256, dtype=bool)
    is_edge[np.frombuffer(delimiter.encode() + b'\n\r"', dtype=np.uint8)] = True
    tail = b""
    padded = False
    cr_seen = lf_only = lone_cr = False
    with open(path, "rb") as fh:
        while chunk := fh.read(SCAN_CHUNK):
            if not padded:
                padded = _chunk_padded(np.frombuffer(chunk, dtype=np.uint8), chunk, tail, is_edge)
            joined = tail == b"\r" and chunk[:1] == b"\n"  # a CRLF split between two chunks
            if tail == b"\r" and not joined:
                lone_cr = True
            if b"\r" not in chunk:  # nearly every file: a memchr, no counting
                lf_only = lf_only or b"\n" in chunk[1 if joined else 0:]
            else:
                cr_seen = True
                crlf = chunk.count(b"\r\n")
                lf_only = lf_only or chunk.count(b"\n") - joined > crlf
                lone_cr = lone_cr or chunk.count(b"\r") - crlf - chunk.endswith(b"\r") > 0
            tail = chunk[-1:]
    lone_cr = lone_cr or tail == b"\r"
    # anything but all LF or all CRLF
    mixed = (cr_seen or lone_cr) and (lf_only or lone_cr)
    return PreScan(padded, mixed)


def check_header(source: SourceFile, mappings: list[Mapping], forced: Mapping | None) -> None:
    """Read only the header of ``source`` and resolve its columns, so that a missing table
    column, an empty file or a repeated header stops an ingest before any file is read whole.
    Raises what ``read_source`` would raise for the same header."""
    try:
        if source.fmt in ("csv", "csv.gz"):
            encoding = detect(source.path, source.fmt, forced.encoding if forced else None)
            header_line, _ = read_header(source.path, source.fmt, encoding)
            headers = _parse_header(header_line, _sniff_delimiter(header_line))
        elif source.fmt == "parquet":
            import pyarrow.parquet as pq

            headers = [str(n).strip() for n in pq.ParquetFile(source.path).schema_arrow.names]
        else:
            headers = _xlsx_headers(source.path)
    except (GraphfraudError, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes a message, not a traceback
        raise GraphfraudError("unreadable_file", file=str(source.path), detail=describe_error(source, exc)) from None
    resolve_columns(source, headers, mappings, forced)


def _xlsx_headers(path: Path) -> list[str]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = wb.worksheets[0]
        sheet.reset_dimensions()  # a wrong <dimension> must not cut the header short
        return _header_cells(next(sheet.iter_rows(values_only=True, max_row=1), None))
    finally:
        wb.close()


def _header_cells(row) -> list[str]:
    """A spreadsheet's header row as text, without the empty cells that trail it."""
    headers = [(_cell_text(v) or "").strip() for v in (row or [])]
    while headers and headers[-1] == "":
        headers.pop()
    return headers


def row_index(con, table: str) -> str:
    """SQL for the position of a row of ``table`` (a table just read, rows in file order):
    0, 1, 2, … A table created inside the open transaction numbers its rowids from a large
    base instead of 0, so the base is taken from the table."""
    base = scalar(con, f"SELECT min(rowid) FROM {table}") or 0
    return f"(rowid - {int(base)})"


def _safe_name(i: int) -> str:
    return f"c{i}"


def _trimmed(col: str, trim: bool = True) -> str:
    return f"NULLIF(trim({col}), '')" if trim else f"NULLIF({col}, '')"


def read_source(
    con, source: SourceFile, index: int, mappings: list[Mapping], forced: Mapping | None, tmpdir: Path,
    shape=None, mode: str = "fast", max_record_lines: int = DEFAULT_MAX_RECORD_LINES,
) -> RawSource:
    """Read one file into the raw table ``raw_<index>`` of connection ``con``.

    ``shape(inner_sql, mapping, column_map, extra, replaced)`` may return ``(sql, params)``
    wrapping the raw select (no ``_line``) into the query whose rows are stored instead: a
    CSV read by DuckDB is then typed on the way in, in one pass, into ``typed_table`` (other
    formats come back raw and ``typed_table`` stays None). ``mode`` (``READ_MODES``) says how
    carefully a CSV is read. A file that cannot be read at all stops with a one-line message
    naming it and the cause; ``ReadAborted`` asks the caller to roll back and read it again
    more carefully."""
    table_name = f"raw_{index}"
    size = source.path.stat().st_size
    try:
        # a plain UTF-8 CSV is hashed while its records are scanned; the rest are hashed here
        sha = None if source.fmt == "csv" else file_sha256(source.path)
        if source.fmt in ("csv", "csv.gz"):
            return _read_csv(con, source, table_name, sha, size, mappings, forced, tmpdir, shape, mode,
                             max_record_lines)
        if source.fmt == "parquet":
            return _read_parquet(con, source, table_name, sha, size, mappings, forced)
        return _read_xlsx(con, source, table_name, sha, size, mappings, forced)
    except (GraphfraudError, ReadAborted, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure becomes a message, not a traceback
        raise GraphfraudError("unreadable_file", file=str(source.path), detail=describe_error(source, exc)) from None


def describe_error(source: SourceFile, exc: BaseException) -> str:
    """A one-line cause for a file that cannot be read, in the user's language."""
    import zipfile
    import zlib


    detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    if source.fmt == "xlsx" and isinstance(exc, (zipfile.BadZipFile, KeyError)):
        return t("unreadable.xlsx", detail=detail)
    if source.fmt == "csv.gz" and isinstance(exc, (zlib.error, EOFError, gzip.BadGzipFile)):
        return t("unreadable.gzip", detail=detail)
    if source.fmt == "parquet":
        return t("unreadable.parquet", detail=detail)
    return f"{type(exc).__name__}: {detail}"


def _create_raw(con, table_name: str, select_sql: str, column_map: dict[str, str], extra: list[str],
                positions: dict[str, str], view: bool = False, params: list | None = None,
                trim: bool = True) -> None:
    """Create the raw table (or view) from ``select_sql`` whose columns are named by
    ``positions`` (source header -> positional column name). Unmapped columns travel as the
    list ``_extra_vals``; their header names stay in Python and enter SQL only as parameters."""
    kind = "VIEW" if view else "TABLE"
    con.execute(f"CREATE OR REPLACE TEMP {kind} {table_name} AS "
                f"SELECT _line, {_raw_columns(column_map, extra, positions, trim)} FROM ({select_sql})", params or [])


def _raw_columns(column_map: dict[str, str], extra: list[str], positions: dict[str, str], trim: bool) -> str:
    """The raw table's columns (all but ``_line``) from positionally named text columns."""
    cols = [f"{_trimmed(positions[h], trim)} AS {canon}" for h, canon in column_map.items()]
    if extra:
        cols.append("[" + ", ".join(_trimmed(positions[h], trim) for h in extra) + "] AS _extra_vals")
    else:
        cols.append("CAST(NULL AS VARCHAR[]) AS _extra_vals")
    return ", ".join(cols)


def _raw_from_columns(con, table_name: str, lines: list[int], cols: list[list[str | None]], headers: list[str],
                      column_map: dict[str, str], extra: list[str]) -> None:
    """The raw table of records parsed in Python (the csv fallback and XLSX)."""
    data = {"_line": pa.array(lines, pa.int64())}
    data.update({_safe_name(i): pa.array(col, pa.string()) for i, col in enumerate(cols)})
    con.register("_py_arrow", pa.table(data))
    try:
        positions = {h: _safe_name(i) for i, h in enumerate(headers)}
        _create_raw(con, table_name, "SELECT * FROM _py_arrow", column_map, extra, positions)
    finally:
        con.unregister("_py_arrow")


def drop_raw(con, table_name: str, keep: tuple[str, ...] = ()) -> None:
    """Drop a raw table or view and whatever backs it (except the tables in ``keep``)."""
    names = [table_name, f"{table_name}_v", f"{table_name}_t", f"{table_name}_buckets", f"{table_name}_rows"]
    kinds = dict(con.execute(
        "SELECT table_name, table_type FROM information_schema.tables WHERE table_name IN (?, ?, ?, ?, ?)", names
    ).fetchall())
    for name in names:  # the view first: it depends on the tables
        if name in kinds and name not in keep:
            con.execute(f"DROP {'VIEW' if kinds[name] == 'VIEW' else 'TABLE'} {name}")


def _read_csv(con, source, table_name, sha, size, mappings, forced, tmpdir, shape=None, mode="fast",
              max_record_lines=DEFAULT_MAX_RECORD_LINES) -> RawSource:
    """A CSV (or CSV.gz) into the raw table. ``fast``: DuckDB reads the file itself, while a
    thread scans its bytes for record boundaries and hashes it; a file that is not plain UTF-8
    with one kind of line end, or whose reading shows invalid bytes or a record that breaks the
    bounded-quote rule, is read ``careful``: from the copy ``repair`` writes (same lines, every
    line decoded on its own, bad lines emptied and returned as rejects)."""
    hint = forced.encoding if forced else None
    encoding = detect(source.path, source.fmt, hint)
    header_line, header_lines = read_header(source.path, source.fmt, encoding, max_record_lines)
    delimiter = _sniff_delimiter(header_line)
    headers = _parse_header(header_line, delimiter)
    mapping, column_map, extra = resolve_columns(source, headers, mappings, forced)
    shaper = None
    if shape is not None:
        def shaper(inner, replaced=False):
            return shape(inner, mapping, column_map, extra, replaced)
    if mode == "fast":
        pre = pre_scan(source.path, delimiter) if source.fmt == "csv" and encoding.is_utf8 else None
        if pre is None or pre.line_ends_mixed:
            mode = "careful"
    while True:
        repaired: Repaired | None = None
        plain = source.path
        try:
            if mode != "fast":
                repaired = repair_csv(source.path, source.fmt, encoding, tmpdir, delimiter=delimiter,
                                      n_fields=len(headers), header_lines=header_lines,
                                      max_record_lines=max_record_lines)
                plain = repaired.path
                pre = pre_scan(plain, delimiter)
            # the careful copy of UTF-16 may hold replacement characters: the typed checks
            # reject those rows as bad_encoding
            replaced = encoding.is_utf16
            out = _read_plain(con, source, plain, table_name, headers, delimiter, column_map, extra, pre.padded,
                              shaper, replaced, python=mode == "python", header_lines=header_lines,
                              max_record_lines=max_record_lines)
            if mode == "fast" and out is None:  # invalid bytes or a record the rule refuses
                drop_raw(con, table_name)
                mode = "careful"
                continue
            break
        finally:
            if repaired is not None:
                repaired.path.unlink(missing_ok=True)
    raw, records, reader, scanned_sha = out
    n_good, structural, blank = raw[:3]
    result = RawSource(
        source=source, table_name=table_name, sha256=sha or scanned_sha or file_sha256(source.path), size=size,
        encoding=encoding.name, mapping=mapping, headers=headers, column_map=column_map, extra_columns=extra,
        n_good=n_good, blank_lines=blank, structural=structural, had_replacements=encoding.is_utf16, reader=reader,
        header_lines=header_lines, path=mode, delimiter=delimiter,
    )
    result.physical_lines = records.physical_lines
    result.continuation_lines = int(records.quoted_nl.size) - (header_lines - 1)
    if repaired is not None:
        # the careful copy shows rejected lines as blank ones; they are records here
        result.structural = sorted([*(StructuralReject(r.line, r.reason, None, r.raw) for r in repaired.rejects),
                                    *structural], key=lambda r: r.line)
        result.blank_lines = blank - repaired.blanked
        result.physical_lines = repaired.physical_lines
        result.decoded_lines = repaired.decoded
        result.crlf_lines, result.lone_cr = repaired.crlf, repaired.lone_cr
        result.cr_line_ends = repaired.cr_line_ends
    if len(raw) > 3 and raw[3] is not None:
        result.typed_table = f"{table_name}_v"
        result.line_sql, result.line_joins = raw[3]
    return result


def _read_plain(con, source, plain, table_name, headers, delimiter, column_map, extra, padded, shaper, replaced,
                *, python: bool, header_lines: int, max_record_lines: int):
    """Read a plain UTF-8 CSV (the file or its careful copy): (raw, records, reader, the
    file's SHA-256 when the scan hashed it), or None
    when DuckDB met invalid bytes or a record spanning lines breaks the bounded-quote rule (on
    the file itself: then it is read the careful way)."""
    import duckdb

    hasher = hashlib.sha256() if plain == source.path else None
    if python:
        raw = _python_csv(con, plain, table_name, headers, delimiter, column_map, extra)
        return raw, scan_records(plain), "python-csv", None
    careful = plain != source.path
    shape = (lambda inner: shaper(inner, replaced)) if shaper is not None else None
    # the byte scan (and hash) runs in a thread while DuckDB reads the file: both release
    # the GIL, and DuckDB's reader does not need the record starts until it has finished
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        scan = pool.submit(scan_records, plain, hasher)
        try:
            raw = _duckdb_csv(con, plain, table_name, headers, delimiter, column_map, extra, scan.result,
                              trim=padded, shape=shape)
            reader = "duckdb"
        except _Disagree:
            raw = _python_csv(con, plain, table_name, headers, delimiter, column_map, extra)
            reader = "python-csv"
        except duckdb.Error as exc:
            scan.result()
            raise ReadAborted(source.path, "python" if careful else "careful", str(exc).splitlines()[0]) from None
        records = scan.result()
    if reader == "duckdb":
        raw = (raw[0], raw[1], records.blank_lines, raw[3])
    if not careful and (any(r.reason == "bad_encoding" for r in raw[1])
                        or not spans_follow_rule(plain, records, delimiter, len(headers), header_lines,
                                                 max_record_lines)):
        return None
    return raw, records, reader, hasher.hexdigest() if hasher is not None else None


def spans_follow_rule(path: Path, records: Records, delimiter: str, n_fields: int, header_lines: int,
                      max_record_lines: int) -> bool:
    """Whether every record spanning lines (by the byte scan's quote parity) is one that the
    bounded-quote rule accepts: at most ``max_record_lines`` lines, and exactly one record of
    ``n_fields`` fields when parsed."""
    nl = records.quoted_nl
    if nl.size <= header_lines - 1:
        return True
    rec = np.searchsorted(records.starts, nl, side="right") - 1
    rec = rec[rec >= 0]
    if rec.size == 0:
        return True
    ids, counts = np.unique(rec, return_counts=True)
    if (counts + 1 > max_record_lines).any():
        return False
    data = np.memmap(path, dtype=np.uint8, mode="r")
    try:
        for r in ids:
            lo = int(records.starts[r])
            hi = int(records.starts[r + 1]) if r + 1 < records.starts.size else data.size
            span = bytes(data[lo:hi]).rstrip(b"\r\n")
            try:
                rows = list(csv.reader(io.StringIO(span.decode("utf-8"), newline=""), delimiter=delimiter,
                                       strict=True))
            except (csv.Error, UnicodeDecodeError):
                return False
            if len(rows) != 1 or len(rows[0]) != n_fields:
                return False
    finally:
        del data
    return True


class _Disagree(Exception):
    """DuckDB's records and the byte scan's records do not line up."""


def _duckdb_csv(con, plain, table_name, headers, delimiter, column_map, extra, records, trim=True,
                shape=None):
    """Read with DuckDB into ``{table_name}_v`` and check its records against the byte scan.

    Without ``shape`` the raw view ``table_name`` is created over it; with ``shape`` the rows
    are stored typed and the line of each is returned as (SQL, joins) over its rowid."""
    import duckdb

    names = {_safe_name(i): "VARCHAR" for i in range(len(headers))}
    rejects = f"{table_name}_rej"
    scans = f"{table_name}_scan"
    read = (
        "read_csv($csv_path, header=true, auto_detect=false, columns=$csv_columns, delim=$csv_delim, quote='\"', "
        f"escape='\"', store_rejects=true, rejects_table='{rejects}', rejects_scan='{scans}', "
        "null_padding=false, strict_mode=true, parallel=true)"
    )
    params = {"csv_path": str(plain), "csv_columns": names, "csv_delim": delimiter}
    positions = {h: _safe_name(i) for i, h in enumerate(headers)}
    if shape is None:
        select = f"SELECT * FROM {read}"
    else:
        select, more = shape(f"SELECT {_raw_columns(column_map, extra, positions, trim)} FROM {read}")
        params.update(more)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table_name}_v AS {select}", params)
        errs = con.execute(
            f"SELECT line_byte_position, min(line), arg_min(error_type, column_idx), arg_min(column_name, column_idx),"
            f" any_value(csv_line) FROM {rejects} GROUP BY line_byte_position ORDER BY line_byte_position"
        ).fetchall()
        n_good = scalar(con, f"SELECT count(*) FROM {table_name}_v")
    except duckdb.Error:
        con.execute(f"DROP TABLE IF EXISTS {table_name}_v")
        raise _Disagree() from None
    finally:
        for t in (rejects, scans):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    scanned = records()  # the byte scan's records
    starts = scanned.starts
    n_rec = starts.size
    rej_idx = np.array([e[0] for e in errs], dtype=np.int64)
    rec_of = np.searchsorted(starts, rej_idx, side="right") - 1
    if (
        n_good + len(errs) != n_rec
        or (rec_of < 0).any()
        or (rej_idx - starts[np.clip(rec_of, 0, None)] > 1).any()
        or np.unique(rec_of).size != rec_of.size
    ):
        con.execute(f"DROP TABLE IF EXISTS {table_name}_v")
        raise _Disagree()
    # good row j is record i_j: its line is j + 2 plus the rejected records before it plus
    # the record's own shift (blank lines, quoted newlines), each a step at a good row
    rej = np.sort(rec_of)
    shift = scanned.shift
    offset = Steps(np.concatenate([rej - np.arange(rej.size), shift.pos - np.searchsorted(rej, shift.pos)]),
                   np.concatenate([np.ones(rej.size, np.int64), shift.increments]))
    line_sql, gaps = _line_expression(n_good, offset)
    col_of = {i: h for i, h in enumerate(headers)}
    structural = []
    for (_, _, etype, cname, text), rec in zip(errs, rec_of):
        canon = None
        if cname and cname.startswith("c") and cname[1:].isdigit():
            canon = column_map.get(col_of.get(int(cname[1:]), ""))
        reason = "bad_encoding" if etype in ("INVALID UNICODE", "INVALID ENCODING") else "malformed_row"
        structural.append(StructuralReject(int(scanned.line(rec)), reason, canon, (text or "").strip("\r\n")))
    for name, data in gaps.items():
        con.register("_gap_arrow", data)
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table_name}_{name} AS SELECT * FROM _gap_arrow")
        finally:
            con.unregister("_gap_arrow")
    joins = (f" JOIN {table_name}_buckets b ON b.bucket = v._r // {LINE_BUCKET}"
             f" LEFT JOIN {table_name}_rows x ON x.r = v._r") if gaps else ""
    if shape is not None:
        return n_good, structural, None, (line_sql, joins)
    source = (f"SELECT {line_sql} AS _line, v.* FROM (SELECT {row_index(con, f'{table_name}_v')} AS _r, * "
              f"FROM {table_name}_v) v{joins}")
    # a view, not a copy: the records are read once into {table_name}_v and typed from there
    _create_raw(con, table_name, source, column_map, extra, positions, view=True, trim=trim)
    return n_good, structural, None, None


LINE_BUCKET = 256


def _line_expression(n: int, offset: Steps) -> tuple[str, dict[str, pa.Table]]:
    """SQL for the line of the record at table row ``v._r`` (``n`` rows), whose line is
    ``row + 2 + offset.at(row)``, and the small tables it joins.

    Rows of the read table follow the file (insertion order), so the offset changes only
    after a blank line, a rejected record or a record spanning several lines. Rows are
    grouped in buckets of ``LINE_BUCKET``: a bucket without a change takes its offset from a
    table of buckets; only rows of buckets with a change are looked up one by one. Both are
    hash joins with small build sides."""
    inner = offset.pos[(offset.pos > 0) & (offset.pos < n)]
    if inner.size == 0:
        return f"(v._r + 2 + {int(offset.at(0)) if n else 0})", {}
    buckets = np.arange(0, n, LINE_BUCKET)
    bucket_ids = buckets // LINE_BUCKET
    # a bucket is exact when a change falls inside it (not on its first row)
    exact = np.zeros(bucket_ids.size, dtype=bool)
    exact[inner[inner % LINE_BUCKET != 0] // LINE_BUCKET] = True
    rows = np.concatenate([np.arange(b * LINE_BUCKET, min((b + 1) * LINE_BUCKET, n)) for b in bucket_ids[exact]]) \
        if exact.any() else np.empty(0, np.int64)
    tables = {
        "buckets": pa.table({"bucket": pa.array(bucket_ids, pa.int64()),
                             "off": pa.array(offset.at(buckets), pa.int64())}),
        "rows": pa.table({"r": pa.array(rows, pa.int64()), "line": pa.array(rows + 2 + offset.at(rows), pa.int64())}),
    }
    return "COALESCE(x.line, v._r + 2 + b.off)", tables


def _python_csv(con, plain, table_name, headers, delimiter, column_map, extra):
    """Exact but slow: Python's csv module, one record at a time."""
    n = len(headers)
    cols: list[list[str | None]] = [[] for _ in range(n)]
    lines: list[int] = []
    structural: list[StructuralReject] = []
    blank = 0
    with open(plain, encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)
        try:
            next(reader)
        except (StopIteration, csv.Error):
            return 0, structural, 0
        start = reader.line_num + 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                structural.append(StructuralReject(start, "malformed_row", None, str(exc)))
                start = reader.line_num + 1
                continue
            if not row:
                blank += 1
                start = reader.line_num + 1
                continue
            text = delimiter.join(row)
            if any("\udc80" <= ch <= "\udcff" for ch in text):
                structural.append(StructuralReject(start, "bad_encoding", None, text.encode("utf-8", "replace").decode()))
            elif len(row) != n:
                structural.append(StructuralReject(start, "malformed_row", None, text))
            else:
                for i, v in enumerate(row):
                    cols[i].append(v)
                lines.append(start)
            start = reader.line_num + 1
    _raw_from_columns(con, table_name, lines, cols, headers, column_map, extra)
    return len(lines), structural, blank


def _read_parquet(con, source, table_name, sha, size, mappings, forced) -> RawSource:
    """Stream a Parquet file into the raw table. Its columns are renamed by position
    (c0, c1, …) on the Arrow side, so no name from the file ever enters query text; the
    ``_line`` of a row is its row number (Parquet has no header line). Every column becomes
    text: nested values (lists, structs, maps) as JSON, binary as UTF-8 (or GB18030) text; a
    row with bytes that are neither is a ``bad_encoding`` reject. A file that breaks off (a
    corrupt page, a truncated row group) stops with a message naming the row it reached."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(source.path)
    headers = [str(n).strip() for n in pf.schema_arrow.names]
    mapping, column_map, extra = resolve_columns(source, headers, mappings, forced)
    names = ["_line"] + [_safe_name(i) for i in range(len(headers))]
    structural: list[StructuralReject] = []
    failed: list[str] = []
    seen = [0]

    def batches():
        try:
            for batch in pf.iter_batches(batch_size=1 << 16):
                first = seen[0] + 1
                lines = np.arange(first, first + batch.num_rows, dtype=np.int64)
                seen[0] += batch.num_rows
                cols, bad = [], np.zeros(batch.num_rows, dtype=bool)
                for col in batch.columns:
                    text, col_bad = _parquet_text(col)
                    cols.append(text)
                    if col_bad is not None:
                        bad |= col_bad
                if bad.any():
                    for k in np.flatnonzero(bad):
                        raw = "\t".join("" if c[int(k)] is None else str(c[int(k)].as_py()) for c in cols)
                        structural.append(StructuralReject(int(lines[k]), "bad_encoding", None, raw))
                    keep = pa.array(~bad)
                    cols = [c.filter(keep) for c in cols]
                    lines = lines[~bad]
                yield pa.RecordBatch.from_arrays([pa.array(lines), *cols], names=names)
        except Exception as exc:  # noqa: BLE001 - reported after the stream ends, not inside DuckDB
            failed.append(f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}")

    schema = pa.schema([pa.field(n, pa.int64() if n == "_line" else pa.string()) for n in names])
    con.register("_parquet_arrow", pa.RecordBatchReader.from_batches(schema, batches()))
    try:
        positions = {h: _safe_name(i) for i, h in enumerate(headers)}
        _create_raw(con, table_name, "SELECT * FROM _parquet_arrow", column_map, extra, positions)
    finally:
        con.unregister("_parquet_arrow")
    if failed:

        raise GraphfraudError("unreadable_file", file=str(source.path),
                              detail=t("unreadable.parquet_row", row=seen[0], detail=failed[0]))
    n_good = scalar(con, f"SELECT count(*) FROM {table_name}")
    out = RawSource(source, table_name, sha, size, "parquet", mapping, headers, column_map, extra, n_good, 0,
                    structural)
    out.physical_lines, out.header_lines, out.delimiter = pf.metadata.num_rows, 0, "\t"
    return out


def _parquet_text(col: pa.Array) -> tuple[pa.Array, np.ndarray | None]:
    """A Parquet column as text, and which rows hold bytes that are not text (None: none)."""
    import json

    typ = col.type
    if pa.types.is_dictionary(typ):
        return _parquet_text(col.dictionary_decode())
    if pa.types.is_string(typ):
        return col, None
    if pa.types.is_large_string(typ) or pa.types.is_string_view(typ):
        return col.cast(pa.string()), None
    if pa.types.is_binary(typ) or pa.types.is_large_binary(typ) or pa.types.is_fixed_size_binary(typ):
        try:
            return col.cast(pa.string()), None
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values, bad = [], np.zeros(len(col), dtype=bool)
            for k, v in enumerate(col.to_pylist()):
                if v is None:
                    values.append(None)
                    continue
                text, _ = _decode_bytes(v)
                bad[k] = text is None
                values.append(text)
            return pa.array(values, pa.string()), bad
    if pa.types.is_nested(typ):
        return pa.array([None if v is None else json.dumps(v, ensure_ascii=False, default=str, sort_keys=True)
                         for v in col.to_pylist()], pa.string()), None
    try:
        return col.cast(pa.string()), None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([None if v is None else str(v) for v in col.to_pylist()], pa.string()), None


def _decode_bytes(v: bytes) -> tuple[str | None, str | None]:
    for enc in ("utf-8", "gb18030"):
        try:
            return v.decode(enc), enc
        except UnicodeDecodeError:
            continue
    return None, None


def _cell_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return str(decimal.Decimal(repr(value)))
    return str(value)


def _read_xlsx(con, source, table_name, sha, size, mappings, forced) -> RawSource:
    from openpyxl import load_workbook

    wb = load_workbook(source.path, read_only=True, data_only=True)
    try:
        sheet = wb.worksheets[0]
        # the declared <dimension> may be wrong (many writers never update it): read every row
        sheet.reset_dimensions()
        rows = sheet.iter_rows(values_only=True)
        headers = _header_cells(next(rows, None))
        mapping, column_map, extra = resolve_columns(source, headers, mappings, forced)
        n = len(headers)
        cols: list[list[str | None]] = [[] for _ in range(n)]
        lines: list[int] = []
        structural: list[StructuralReject] = []
        blank = 0
        for line, row in enumerate(rows, start=2):
            values = [_cell_text(v) for v in row]
            if all(v is None or v == "" for v in values):
                blank += 1
                continue
            if any(v not in (None, "") for v in values[n:]):
                structural.append(StructuralReject(line, "malformed_row", None, "\t".join(v or "" for v in values)))
                continue
            values = (values + [None] * n)[:n]
            for i, v in enumerate(values):
                cols[i].append(v)
            lines.append(line)
    finally:
        wb.close()
    _raw_from_columns(con, table_name, lines, cols, headers, column_map, extra)
    out = RawSource(source, table_name, sha, size, "xlsx", mapping, headers, column_map, extra, len(lines), blank,
                    structural)
    out.physical_lines = 1 + blank + len(lines) + len(structural)  # the sheet's rows
    out.delimiter = "\t"
    return out


