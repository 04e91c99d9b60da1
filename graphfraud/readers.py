"""Reading one source file of a dataset into a raw DuckDB table, losing nothing.

A raw table has one row per record that parsed, with ``_line`` (the physical line the record
starts on; the header is line 1; for Parquet the row number), every mapped column as trimmed
text under its canonical name (NULL when empty), and ``_extra`` (JSON of unmapped columns).
Records that do not parse (wrong field count, broken quoting, invalid bytes) come back as
structural rejects with their line. Types are checked later, in ``ingest``.

CSV goes through DuckDB's reader with its reject store. DuckDB does not report the line of a
good record, so the record boundaries are found first by a vectorised scan of the bytes
(newlines outside quotes); the two must agree on the number of records, otherwise the file is
read again with Python's csv module, which is slow but exact.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import decimal
import gzip
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from graphfraud.errors import GraphfraudError
from graphfraud.mapping import Mapping, best_mapping
from graphfraud.schema import TABLES

FORMATS = {".csv": "csv", ".csv.gz": "csv.gz", ".parquet": "parquet", ".xlsx": "xlsx"}
CHUNK = 64 << 20
DELIMITERS = (",", "\t", "|", ";")


@dataclass
class SourceFile:
    path: Path
    table: str
    fmt: str

    @property
    def name(self) -> str:
        return self.path.name


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

    @property
    def n_records(self) -> int:
        return self.n_good + len(self.structural)


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
    return gzip.open(path, "rb") if fmt == "csv.gz" else open(path, "rb")


def _utf8_ok(sample: bytes, final: bool) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=final)
        return True
    except UnicodeDecodeError:
        return False


def detect_encoding(path: Path, fmt: str, hint: str | None = None) -> str:
    """``utf-8-sig``, ``utf-8`` or ``gb18030``, from the BOM and samples across the file.

    UTF-8 is chosen when every sample decodes as UTF-8 (GB18030 text almost never does);
    otherwise GB18030, which also covers GBK and GB2312."""
    with _open_bytes(path, fmt) as fh:
        head = fh.read(1 << 20)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        samples = [(head, len(head) < (1 << 20))]
        if fmt == "csv":
            size = path.stat().st_size
            for pos in (size // 2, max(size - (1 << 20), 0)):
                if pos > len(head):
                    fh.seek(pos)
                    chunk = fh.read(1 << 20)
                    # skip to the next newline so a sample never starts mid-character
                    cut = chunk.find(b"\n")
                    samples.append((chunk[cut + 1 :] if cut >= 0 else b"", True))
    if all(_utf8_ok(s[: len(s) - 4] if not final else s, final) for s, final in samples):
        return "utf-8"
    return "gb18030" if hint in (None, "gb18030", "gbk", "gb2312") else hint


def to_utf8_file(path: Path, fmt: str, encoding: str, tmpdir: Path) -> tuple[Path, bool]:
    """A plain UTF-8 copy of a compressed or non-UTF-8 CSV (or the file itself when it already
    is one). Returns the path and whether undecodable bytes were replaced by U+FFFD."""
    if fmt == "csv" and encoding in ("utf-8", "utf-8-sig"):
        return path, False
    fd, name = tempfile.mkstemp(suffix=".csv", dir=tmpdir)
    replaced = False
    with _open_bytes(path, fmt) as src, os.fdopen(fd, "wb") as dst:
        if encoding in ("utf-8", "utf-8-sig"):
            shutil.copyfileobj(src, dst, CHUNK)
        else:
            dec = codecs.getincrementaldecoder(encoding)(errors="replace")
            while True:
                chunk = src.read(CHUNK)
                text = dec.decode(chunk, final=not chunk)
                if "\ufffd" in text:
                    replaced = True
                dst.write(text.encode("utf-8"))
                if not chunk:
                    break
    return Path(name), replaced


def _first_record(path: Path) -> str:
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
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
    """The mapping for a file, its header -> canonical column map and its extra headers.

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
    column_map: dict[str, str] = {}
    extra: list[str] = []
    for h in headers:
        canon = known.get(h)
        if canon and canon not in column_map.values():
            column_map[h] = canon
        else:
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


def scan_records(path: Path) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Record boundaries of a UTF-8 CSV: newlines outside double quotes.

    Returns (start byte offset, start line) of every non-blank data record after the header,
    the number of blank lines skipped, and the number of physical lines."""
    ends: list[np.ndarray] = []  # byte offsets of record-ending newlines
    end_lines: list[np.ndarray] = []  # physical line number each of them ends
    parity = 0
    base = 0
    lines_before = 0
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            arr = np.frombuffer(chunk, dtype=np.uint8)
            nl = np.flatnonzero(arr == 10)
            if parity == 0 and chunk.find(b'"') < 0:
                keep = np.arange(nl.size)
            else:
                acc = np.bitwise_xor.accumulate((arr == 34).view(np.uint8))
                inside = (acc[nl] ^ parity) if nl.size else np.empty(0, np.uint8)
                keep = np.flatnonzero(inside == 0)
                parity ^= int(acc[-1])
            ends.append(nl[keep] + base)
            end_lines.append(keep + lines_before + 1)
            lines_before += nl.size
            base += len(chunk)
            size = base
        if size:
            fh.seek(size - 1)
            last = fh.read(1)
        else:
            last = b"\n"
    end = np.concatenate(ends) if ends else np.empty(0, np.int64)
    end_line = np.concatenate(end_lines) if end_lines else np.empty(0, np.int64)
    physical = lines_before + (0 if last == b"\n" else 1)
    if size and (end.size == 0 or end[-1] < size - 1):
        # content after the last boundary: a last line without a newline, or a quote left
        # open to the end of the file; either way it is one more record
        end = np.append(end, size)
        end_line = np.append(end_line, physical)
    if end.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), 0, physical
    # records after the header: start right after the previous record's end
    starts = end[:-1] + 1
    stops = end[1:]
    start_lines = end_line[:-1] + 1
    length = stops - starts
    with open(path, "rb") as fh:
        data = np.memmap(fh, dtype=np.uint8, mode="r") if size else np.empty(0, np.uint8)
        blank = length == 0
        one = np.flatnonzero(length == 1)
        if one.size:
            blank[one] = data[starts[one]] == 13
        # a record of only spaces/tabs and no delimiter is blank to DuckDB only when empty; keep it
    keep = ~blank
    return starts[keep].astype(np.int64), start_lines[keep].astype(np.int64), int(blank.sum()), physical


def _safe_name(i: int) -> str:
    return f"c{i}"


def _trimmed(col: str) -> str:
    return f"NULLIF(trim({col}), '')"


def read_source(
    con, source: SourceFile, index: int, mappings: list[Mapping], forced: Mapping | None, tmpdir: Path
) -> RawSource:
    """Read one file into the raw table ``raw_<index>`` of connection ``con``."""
    table_name = f"raw_{index}"
    sha = file_sha256(source.path)
    size = source.path.stat().st_size
    try:
        if source.fmt in ("csv", "csv.gz"):
            return _read_csv(con, source, table_name, sha, size, mappings, forced, tmpdir)
        if source.fmt == "parquet":
            return _read_parquet(con, source, table_name, sha, size, mappings, forced)
        return _read_xlsx(con, source, table_name, sha, size, mappings, forced)
    except GraphfraudError:
        raise
    except (OSError, ValueError, EOFError, gzip.BadGzipFile) as exc:
        raise GraphfraudError("unreadable_file", file=str(source.path), detail=str(exc)) from None


def _create_raw(con, table_name: str, select_sql: str, column_map: dict[str, str], extra: list[str],
                positions: dict[str, str]) -> None:
    """Create the raw table from ``select_sql`` whose columns are named by ``positions``
    (source header -> column expression name in the select)."""
    cols = [f"{_trimmed(positions[h])} AS {canon}" for h, canon in column_map.items()]
    if extra:
        args = ", ".join(f"?, {_trimmed(positions[h])}" for h in extra)
        cols.append(f"CAST(json_object({args}) AS VARCHAR) AS _extra")
        params: list = list(extra)
    else:
        cols.append("CAST(NULL AS VARCHAR) AS _extra")
        params = []
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table_name} AS SELECT _line, {', '.join(cols)} FROM ({select_sql})", params)


def _read_csv(con, source, table_name, sha, size, mappings, forced, tmpdir) -> RawSource:
    hint = forced.encoding if forced else None
    encoding = detect_encoding(source.path, source.fmt, hint)
    plain, replaced = to_utf8_file(source.path, source.fmt, encoding, tmpdir)
    try:
        header_line = _first_record(plain)
        delimiter = _sniff_delimiter(header_line)
        headers = _parse_header(header_line, delimiter)
        mapping, column_map, extra = resolve_columns(source, headers, mappings, forced)
        starts, start_lines, blank, _ = scan_records(plain)
        try:
            raw = _duckdb_csv(con, plain, table_name, headers, delimiter, column_map, extra, starts, start_lines)
            reader = "duckdb"
        except _Disagree:
            raw = _python_csv(con, plain, table_name, headers, delimiter, column_map, extra)
            reader = "python-csv"
        n_good, structural, blank_py = raw
        if reader == "python-csv":
            blank = blank_py
        return RawSource(
            source=source, table_name=table_name, sha256=sha, size=size, encoding=encoding, mapping=mapping,
            headers=headers, column_map=column_map, extra_columns=extra, n_good=n_good, blank_lines=blank,
            structural=structural, had_replacements=replaced, reader=reader,
        )
    finally:
        if plain != source.path:
            plain.unlink(missing_ok=True)


class _Disagree(Exception):
    """DuckDB's records and the byte scan's records do not line up."""


def _duckdb_csv(con, plain, table_name, headers, delimiter, column_map, extra, starts, start_lines):
    import duckdb

    names = {_safe_name(i): "VARCHAR" for i in range(len(headers))}
    rejects = f"{table_name}_rej"
    scans = f"{table_name}_scan"
    read = (
        "SELECT * FROM read_csv(?, header=true, auto_detect=false, columns=?, delim=?, quote='\"', "
        f"escape='\"', store_rejects=true, rejects_table='{rejects}', rejects_scan='{scans}', "
        "null_padding=false, strict_mode=true, parallel=true)"
    )
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table_name}_v AS {read}", [str(plain), names, delimiter])
        errs = con.execute(
            f"SELECT line_byte_position, min(line), arg_min(error_type, column_idx), arg_min(column_name, column_idx),"
            f" any_value(csv_line) FROM {rejects} GROUP BY line_byte_position ORDER BY line_byte_position"
        ).fetchall()
        n_good = con.execute(f"SELECT count(*) FROM {table_name}_v").fetchone()[0]
    except duckdb.Error:
        con.execute(f"DROP TABLE IF EXISTS {table_name}_v")
        raise _Disagree() from None
    finally:
        for t in (rejects, scans):
            con.execute(f"DROP TABLE IF EXISTS {t}")
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
    good = np.ones(n_rec, dtype=bool)
    good[rec_of] = False
    lines = pa.table({"_line": start_lines[good]})
    col_of = {i: h for i, h in enumerate(headers)}
    structural = []
    for (_, _, etype, cname, text), rec in zip(errs, rec_of):
        canon = None
        if cname and cname.startswith("c") and cname[1:].isdigit():
            canon = column_map.get(col_of.get(int(cname[1:]), ""))
        reason = "bad_encoding" if etype == "INVALID UNICODE" else "malformed_row"
        structural.append(StructuralReject(int(start_lines[rec]), reason, canon, (text or "").strip("\r\n")))
    con.register("_lines_arrow", lines)
    try:
        positions = {h: _safe_name(i) for i, h in enumerate(headers)}
        _create_raw(
            con, table_name, f"SELECT * FROM {table_name}_v POSITIONAL JOIN _lines_arrow", column_map, extra, positions
        )
    finally:
        con.unregister("_lines_arrow")
        con.execute(f"DROP TABLE IF EXISTS {table_name}_v")
    return n_good, structural, None


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
    data = {"_line": pa.array(lines, pa.int64())}
    data.update({_safe_name(i): pa.array(cols[i], pa.string()) for i in range(n)})
    con.register("_py_arrow", pa.table(data))
    try:
        positions = {h: _safe_name(i) for i, h in enumerate(headers)}
        _create_raw(con, table_name, "SELECT * FROM _py_arrow", column_map, extra, positions)
    finally:
        con.unregister("_py_arrow")
    return len(lines), structural, blank


def _read_parquet(con, source, table_name, sha, size, mappings, forced) -> RawSource:
    import pyarrow.parquet as pq

    schema = pq.read_schema(source.path)
    headers = [str(n).strip() for n in schema.names]
    mapping, column_map, extra = resolve_columns(source, headers, mappings, forced)
    select = ", ".join(f'CAST("{_quote_ident(h)}" AS VARCHAR) AS {_safe_name(i)}' for i, h in enumerate(schema.names))
    sql = f"SELECT file_row_number + 1 AS _line, {select} FROM read_parquet(?, file_row_number=true)"
    positions = {h: _safe_name(i) for i, h in enumerate(headers)}
    cols = [f"{_trimmed(positions[h])} AS {canon}" for h, canon in column_map.items()]
    params: list = [str(source.path)]
    if extra:
        args = ", ".join(f"?, {_trimmed(positions[h])}" for h in extra)
        cols.append(f"CAST(json_object({args}) AS VARCHAR) AS _extra")
        params = list(extra) + params
    else:
        cols.append("CAST(NULL AS VARCHAR) AS _extra")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table_name} AS SELECT _line, {', '.join(cols)} FROM ({sql})", params)
    n_good = con.execute(f"SELECT count(*) FROM {table_name}").fetchone()[0]
    return RawSource(source, table_name, sha, size, "parquet", mapping, headers, column_map, extra, n_good, 0)


def _quote_ident(name: str) -> str:
    return name.replace('"', '""')


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
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header_row = next(rows, None)
        headers = [(_cell_text(v) or "").strip() for v in (header_row or [])]
        while headers and headers[-1] == "":
            headers.pop()
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
    data = {"_line": pa.array(lines, pa.int64())}
    data.update({_safe_name(i): pa.array(cols[i], pa.string()) for i in range(n)})
    con.register("_xlsx_arrow", pa.table(data))
    try:
        positions = {h: _safe_name(i) for i, h in enumerate(headers)}
        _create_raw(con, table_name, "SELECT * FROM _xlsx_arrow", column_map, extra, positions)
    finally:
        con.unregister("_xlsx_arrow")
    return RawSource(source, table_name, sha, size, "xlsx", mapping, headers, column_map, extra, len(lines), blank,
                     structural)


