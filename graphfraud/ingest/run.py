"""``graphfraud ingest``: a dataset folder into the workspace's canonical tables.

Every input record ends in exactly one place: loaded, merged as an exact duplicate of a row
already loaded, or written to ``rejects`` with its file, line, column and reason. The counts
are printed, stored per file in ``ingest_files`` and written to the run manifest, and they add
up to the input. Personal data is pseudonymised before anything is stored; the originals are
sealed in the identity vault for authorised exports.

Example::

    >>> from graphfraud.ingest.run import ingest                      # doctest: +SKIP
    >>> result = ingest("data/region", "ws")                       # doctest: +SKIP
    >>> result.totals()["claims"]["loaded"]                        # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb
import numpy as np
import pyarrow as pa

from graphfraud import __version__
from graphfraud.core.errors import GraphfraudError
from graphfraud.core.i18n import t
from graphfraud.ingest.idnumber import sql_is_valid
from graphfraud.ingest.mapping import Mapping, builtin_mappings, get_mapping
from graphfraud.ingest.pseudo import Keyring, load_keyring, seal_batches, sql_normalise, sql_pseudonym
from graphfraud.ingest.readers import (
    READ_MODES,
    RawSource,
    ReadAborted,
    check_header,
    discover,
    drop_raw,
    read_source,
    row_index,
    scalar,
)
from graphfraud.ingest.repair import DEFAULT_MAX_RECORD_LINES
from graphfraud.store.schema import (
    DATE,
    DATETIME,
    DECIMAL,
    ENUM,
    FLOAT,
    INTEGER,
    LOAD_ORDER,
    MONEY,
    PII_COLUMNS,
    REGION,
    STRING,
    TABLES,
    Table,
)
from graphfraud.store.workspace import LINEAGE, Workspace, new_run_id

Progress = Callable[[str, int], None]  # (step label, units done since last call)

_MONEY_RE = r"[-+]?([0-9]{1,16}(\.[0-9]{0,2})?|\.[0-9]{1,2})"
_DECIMAL_RE = r"[-+]?([0-9]{1,14}(\.[0-9]{0,4})?|\.[0-9]{1,4})"
_INTEGER_RE = r"[-+]?[0-9]{1,18}"
_KIND_REASON = {
    DATE: "bad_date",
    DATETIME: "bad_date",
    MONEY: "bad_amount",
    DECIMAL: "bad_number",
    INTEGER: "bad_number",
    FLOAT: "bad_number",
    ENUM: "bad_enum",
    REGION: "bad_region",
}


@dataclass
class FileCounts:
    table: str
    file: str
    sha256: str
    size: int
    fmt: str
    encoding: str
    mapping: str
    reader: str
    input_rows: int = 0
    loaded: int = 0
    duplicate: int = 0
    rejected: int = 0
    blank_lines: int = 0
    reasons: Counter = field(default_factory=Counter)
    extra_columns: list[str] = field(default_factory=list)
    #: columns neither in the contract nor declared by the mapping: dropped, named here only
    dropped_columns: list[str] = field(default_factory=list)
    #: physical lines = header lines + blank lines + input rows (records) + continuation lines
    physical_lines: int = 0
    header_lines: int = 1
    continuation_lines: int = 0
    read_path: str = "fast"
    decoded_lines: dict[str, list[int]] = field(default_factory=dict)

    @property
    def lines_balanced(self) -> bool:
        """Every physical line is the header's, blank, a record's first line or a record's
        continuation."""
        return self.physical_lines == self.header_lines + self.blank_lines + self.input_rows + self.continuation_lines

    def as_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "reasons"}
        d["rejected_by_reason"] = dict(sorted(self.reasons.items()))
        d["lines_balanced"] = self.lines_balanced
        return d


@dataclass
class IngestResult:
    run_id: str
    workspace: Path
    files: list[FileCounts]
    flags: dict[str, int]
    seconds: float
    manifest_path: Path
    ignored: list[str]
    #: rejects caused by rejects of the same run (see ``cascades``)
    cascades: dict[str, dict[str, dict]] = field(default_factory=dict)

    def reject_rates(self) -> dict[str, float]:
        """Per table: the share of its input rows that were rejected (0 for an empty table)."""
        return {table: (c["rejected"] / c["input"] if c["input"] else 0.0) for table, c in self.totals().items()}

    def over_reject_rate(self, rate: float) -> dict[str, float]:
        """The tables whose reject rate is above ``rate`` (a fraction), with their rates."""
        return {table: r for table, r in self.reject_rates().items() if r > rate}

    def totals(self) -> dict[str, dict[str, int]]:
        """Per table: input, loaded, duplicate, rejected."""
        out: dict[str, dict[str, int]] = {}
        for f in self.files:
            t = out.setdefault(f.table, {"input": 0, "loaded": 0, "duplicate": 0, "rejected": 0})
            t["input"] += f.input_rows
            t["loaded"] += f.loaded
            t["duplicate"] += f.duplicate
            t["rejected"] += f.rejected
        return out

    def reasons(self) -> dict[str, dict[str, int]]:
        out: dict[str, Counter] = {}
        for f in self.files:
            out.setdefault(f.table, Counter()).update(f.reasons)
        return {t: dict(sorted(c.items())) for t, c in out.items()}


#: the raw text of an unreadable line that may hold personal data
WITHHELD = "[原始行已隐去，可能含个人信息，请查看源文件 / raw line withheld: it may hold personal data; see the source file]"


class Params:
    """Named query parameters: ``params(value)`` stores a value and returns its placeholder,
    so values (from data or mapping files) never become query text."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def __call__(self, value: object) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"


def _typed_expr(table: str, col, mapping: Mapping, param: Params, others: list[Mapping] = ()) -> str:
    """DuckDB expression turning the trimmed text column ``r_<name>`` into its typed value
    (NULL when it cannot be read)."""
    src = f"r_{col.name}"
    kind = col.kind
    if kind == STRING:
        return src
    if kind == ENUM:
        # enum spellings are unambiguous across layouts: accept every known one, the file's
        # own mapping taking precedence
        vmap: dict[str, str] = {}
        for m in [*others, mapping]:
            vmap.update({k.lower(): v for k, v in m.value_map(table, col.name).items()})
        whens = " ".join(f"WHEN {param(k)} THEN {param(v)}" for k, v in vmap.items())
        # stored as an ENUM while staged (1 byte a row, not a 16-byte string); the staged
        # rows are read back as text (``Ingestor._sources``)
        return f"CAST((CASE lower({src}) {whens} ELSE NULL END) AS {_enum_type(col.values)})"
    if kind == DATE:
        return f"COALESCE(TRY_CAST({src} AS DATE), CAST(try_strptime({src}, {param(list(mapping.date_formats))}) AS DATE))"
    if kind == DATETIME:
        return (f"COALESCE(TRY_CAST({src} AS TIMESTAMP), "
                f"CAST(try_strptime({src}, {param(list(mapping.datetime_formats))}) AS TIMESTAMP))")
    if kind == MONEY:
        return f"(CASE WHEN regexp_full_match({src}, '{_MONEY_RE}') THEN TRY_CAST({src} AS DECIMAL(18,2)) END)"
    if kind == DECIMAL:
        return f"(CASE WHEN regexp_full_match({src}, '{_DECIMAL_RE}') THEN TRY_CAST({src} AS DECIMAL(18,4)) END)"
    if kind == INTEGER:
        return f"(CASE WHEN regexp_full_match({src}, '{_INTEGER_RE}') THEN TRY_CAST({src} AS BIGINT) END)"
    if kind == FLOAT:
        return f"(CASE WHEN isfinite(TRY_CAST({src} AS DOUBLE)) THEN TRY_CAST({src} AS DOUBLE) END)"
    if kind == REGION:
        return f"(CASE WHEN regexp_full_match({src}, '[0-9]{{6}}') THEN {src} END)"
    raise AssertionError(kind)


def _enum_type(values) -> str:
    """An ENUM type over fixed canonical values (constants of the code, never data)."""
    assert values and all(v.replace("_", "").isalnum() for v in values), values
    return "ENUM(" + ", ".join(f"'{v}'" for v in values) + ")"


def _reason_exprs(table: Table, check_encoding: bool) -> tuple[str, str, str]:
    """(reason, column, reason type) over the typed stage: CASE expressions where the first
    failing check wins, and the ENUM of the reason codes those checks can give."""
    checks: list[tuple[str, str, str]] = []  # (condition, reason code, column SQL)
    if check_encoding:
        checks.append((" OR ".join(f"contains(r_{c.name}, '\ufffd')" for c in table.columns), "bad_encoding", "NULL"))
    for c in table.columns:
        if c.required:
            checks.append((f"r_{c.name} IS NULL", "missing_required", f"'{c.name}'"))
        if c.kind != STRING:
            checks.append((f"r_{c.name} IS NOT NULL AND {c.name} IS NULL", _KIND_REASON[c.kind], f"'{c.name}'"))
    if table.name == "claims":
        checks.append(("discharge_date < admit_date", "bad_date_order", "'discharge_date'"))
    reason = " ".join(f"WHEN {cond} THEN '{code}'" for cond, code, _ in checks)
    column = " ".join(f"WHEN {cond} THEN {col}" for cond, _, col in checks)
    return f"(CASE {reason} END)", f"(CASE {column} END)", _enum_type(sorted({code for _, code, _ in checks}))


@dataclass
class _Sources:
    """The typed rows of one table's files as SQL: ``fast`` yields ``_src`` (file index),
    ``_r`` (row within the file's typed table, in file order), ``_line`` (NULL for files in
    ``lines``: file index -> (SQL over ``v._r``, joins) computing it) and the row columns."""

    fast: str
    lines: dict[int, tuple[str, str]]

    def with_lines(self, rel: str, where: str = "") -> str:
        """``rel`` (columns ``_src``, ``_r``, ``_line``, …) with every ``_line`` filled in."""
        cond = f" WHERE {where}" if where else ""
        if not self.lines:
            return f"SELECT * FROM ({rel}) s{cond}"
        parts = [f"SELECT v.* REPLACE ({line} AS _line) FROM (SELECT * FROM ({rel}) s WHERE s._src = {i}"
                 f"{' AND ' + where if where else ''}) v {joins}" for i, (line, joins) in self.lines.items()]
        rest = ", ".join(str(i) for i in self.lines)
        parts.append(f"SELECT * FROM ({rel}) s WHERE s._src NOT IN ({rest}){' AND ' + where if where else ''}")
        return " UNION ALL ".join(parts)

    def lined(self, where: str = "") -> str:
        return self.with_lines(self.fast, where)


class Ingestor:
    """One ingest run over one dataset into one workspace.

    Each file is typed as it is read (``typed_sql``: typed values, pseudonyms, the first
    failing check with its column and raw value), in one pass, before the transaction. Per
    table, one statement then finds the outcome of every row against the workspace (duplicate,
    conflicting, unknown reference) and keeps only the rows not loaded, a small table
    (``bad0``); keys repeated within the batch are settled (the first line wins), rejects
    written, and every row not in ``bad`` inserted straight from the typed rows. The data is
    materialised once, typed; the loaded rows are never copied into a staging table."""

    def __init__(self, ws: Workspace, con, keyring: Keyring, mappings: list[Mapping], forced: Mapping | None,
                 run_id: str, progress: Progress | None = None, *, parquet: bool = True) -> None:
        # run ids are generated here (letters, digits, dashes) and may appear in query text
        assert all(ch.isalnum() or ch == "-" for ch in run_id)
        self.ws, self.con, self.keyring = ws, con, keyring
        self.mappings, self.forced, self.run_id = mappings, forced, run_id
        self.progress = progress or (lambda label, n: None)
        self.parquet = parquet
        self.timings: dict[str, float] = {}
        #: per table, the keys of the rows this run rejected for being unreadable (structural
        #: rejects: the key read from the raw line when it can be), to tell cascades apart
        self.unreadable_keys: dict[str, set[str]] = {}

    @contextlib.contextmanager
    def _timed(self, label: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[label] = round(time.perf_counter() - t0, 3)

    def ingest_table(self, table: Table, raws: list[RawSource]) -> list[FileCounts]:
        con = self.con
        counts = [
            FileCounts(table.name, r.source.name, r.sha256, r.size, r.source.fmt, r.encoding, r.mapping.name,
                       r.reader, input_rows=r.n_records, blank_lines=r.blank_lines, extra_columns=r.extra_columns,
                       dropped_columns=r.dropped_columns,
                       physical_lines=r.physical_lines, header_lines=r.header_lines,
                       continuation_lines=r.continuation_lines, read_path=r.path, decoded_lines=r.decoded_lines)
            for r in raws
        ]
        self._register_files(raws)
        try:
            self._write_structural_rejects(table, raws, counts)
            with self._timed(f"stage {table.name}"):
                src = self._sources(table, raws)
                self._stage(table, src)
            with self._timed(f"settle {table.name}"):
                self._settle_batch_duplicates(table, src)
            with self._timed(f"rejects {table.name}"):
                self._write_rejects(table, counts)
            not_loaded = Counter()
            for i, outcome, n in con.execute("SELECT _src, _outcome, count(*) FROM bad GROUP BY ALL").fetchall():
                not_loaded[i] += n
                if outcome == "duplicate":
                    counts[i].duplicate += n
            for i, r in enumerate(raws):
                counts[i].loaded = r.n_good - not_loaded[i]
            with self._timed(f"insert {table.name}"):
                inserted = self._insert(table, src)
            if inserted != sum(c.loaded for c in counts):  # every row is loaded or in ``bad``, once
                raise AssertionError(f"{table.name}: {inserted} rows inserted, {sum(c.loaded for c in counts)} counted")
        finally:
            # after a failed statement the transaction refuses everything until the rollback
            # in ingest(); cleaning up then must not hide the original error
            with contextlib.suppress(duckdb.Error):
                for t in ("numbered", "bad0", "dupinfo", "bad_nl", "bad"):
                    con.execute(f"DROP TABLE IF EXISTS {t}")
                for r in raws:
                    drop_raw(con, r.table_name)
            con.unregister("_files")
            con.unregister("_headers")
        return counts

    # -- typing: one pass over each file, before the transaction ----------------------------
    def type_raw(self, table: Table, raw: RawSource) -> None:
        """Type a file that was read raw (Parquet, XLSX, the Python CSV reader) into
        ``<raw>_t``, which keeps its ``_line``; a CSV read by DuckDB was typed on the way in."""
        if raw.typed_table:
            return
        sql, params = self.typed_sql(table, f"SELECT * FROM {raw.table_name}", raw.mapping, raw.column_map,
                                     raw.extra_columns, raw.had_replacements, has_line=True)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {raw.table_name}_t AS {sql}", params)
        drop_raw(self.con, raw.table_name, keep=(f"{raw.table_name}_t",))
        raw.typed_table, raw.line_sql, raw.line_joins = f"{raw.table_name}_t", "v._line", ""

    def shape(self, table: Table):
        """``read_source``'s ``shape`` for ``table``: type rows as they are read."""
        def shape(inner, mapping, column_map, extra, replaced):
            return self.typed_sql(table, inner, mapping, column_map, extra, replaced)
        return shape

    def typed_sql(self, table: Table, inner: str, mapping: Mapping, column_map: dict[str, str], extra: list[str],
                  replaced: bool, has_line: bool = False) -> tuple[str, dict]:
        """(query, parameters) typing one file's raw rows. ``inner`` yields its mapped columns
        as trimmed text (NULL when empty), ``_extra_vals`` and, when ``has_line``, ``_line``.

        The query yields ``_extra`` (unknown columns as JSON; only when the file has any), the
        typed and pseudonymised columns (enum columns as ENUMs), the originals of personal values
        (``o_<column>``, for the vault only) and the first failing check: ``_reason`` (an ENUM)
        and, for a failing row only, ``_fail``, the JSON list of its column, raw value and raw
        row. ``_row_columns`` reads these back as ``_reason``, ``_column``, ``_value``, ``_raw``.
        Rows keep the file's order, so a row's position (``row_index``) gives its line."""
        param = Params()
        pii = PII_COLUMNS.get(table.name, ())
        line = ["_line"] if has_line else []
        present = set(column_map.values())
        cols = [f"{c.name} AS r_{c.name}" if c.name in present else f"CAST(NULL AS VARCHAR) AS r_{c.name}"
                for c in table.columns]
        stage = f"SELECT {', '.join([*line, '_extra_vals', *cols])} FROM ({inner})"
        # the extra columns the mapping declares, as JSON under their declared names (entering
        # only as parameters); personal ones as keyed pseudonyms, their originals kept nowhere
        declared = mapping.extra_map(table.name)
        parts = []
        for i, h in enumerate(extra):
            spec = declared[h]
            value = f"_extra_vals[{i + 1}]"
            if spec.personal:
                value = sql_pseudonym(self.keyring, spec.personal, sql_normalise(spec.personal, value, param), param)
            parts += [param(spec.name), value]
        extra_sql = f"CAST(json_object({', '.join(parts)}) AS VARCHAR)" if extra else "CAST(NULL AS VARCHAR)"
        typed = [f"{_typed_expr(table.name, c, mapping, param, self.mappings)} AS {c.name}" for c in table.columns]
        raw_cols = [f"r_{c.name}" for c in table.columns]
        derived = [f"{sql_is_valid('r_id_number')} AS id_number_valid"] if table.name == "patients" else []
        q = f"SELECT {', '.join([*line, f'{extra_sql} AS _extra', *raw_cols, *typed, *derived])} FROM ({stage})"
        if table.name == "patients":
            # birth date and sex stay usable after pseudonymisation: read them from a valid ID
            q = f"""SELECT * REPLACE (
                COALESCE(birth_date, CASE WHEN id_number_valid THEN
                    CAST(try_strptime(substr(r_id_number, 7, 8), '%Y%m%d') AS DATE) END) AS birth_date,
                COALESCE(sex, CASE WHEN id_number_valid THEN
                    CASE WHEN CAST(substr(r_id_number, 17, 1) AS INTEGER) % 2 = 1 THEN 'M' ELSE 'F' END END) AS sex)
                FROM ({q})"""
        reason, column, reason_type = _reason_exprs(table, replaced)
        q = f"SELECT *, {reason} AS _reason, {column} AS _column FROM ({q})"
        if pii:
            # personal values become keyed pseudonyms here; originals go only to the vault
            norms = ", ".join(f"{sql_normalise(c, 'r_' + c, param)} AS n_{c}" for c in pii)
            pseudonyms = ", ".join(f"{sql_pseudonym(self.keyring, c, 'n_' + c, param)} AS {c}" for c in pii)
            q = f"SELECT * REPLACE ({pseudonyms}) FROM (SELECT *, {norms} FROM ({q}))"
        value = "(CASE _column " + " ".join(f"WHEN '{c.name}' THEN r_{c.name}" for c in table.columns) + " END)"
        raw_json = "json_object(" + ", ".join(
            f"'{c.name}', {c.name if c.name in pii else 'r_' + c.name}" for c in table.columns) + ")"
        # the staged rows are kept narrow, since a region's claim lines fill GBs: ``_extra``
        # only when the file has unknown columns, the reason as an ENUM, and what only a
        # failing row needs (column, raw value, raw row) in one JSON list, NULL for the others
        keep = [*line, *(["_extra"] if extra else []), *table.column_names,
                *(["id_number_valid"] if derived else []), *(f"r_{c} AS o_{c}" for c in pii),
                f"CAST(_reason AS {reason_type}) AS _reason",
                f"CASE WHEN _reason IS NOT NULL THEN CAST(to_json([_column, {value}, CAST({raw_json} AS VARCHAR)]) "
                f"AS VARCHAR) END AS _fail"]
        return f"SELECT {', '.join(keep)} FROM ({q})", param.values

    @staticmethod
    def _row_columns(table: Table, has_extra: bool = True) -> list[str]:
        """The columns of a typed row as read from its staged table, in order (after ``_line``
        when the table keeps it): text again where the stage keeps an ENUM, and ``_column``,
        ``_value`` and ``_raw`` out of ``_fail``."""
        cols = [c.name if c.kind != ENUM else f"CAST({c.name} AS VARCHAR) AS {c.name}" for c in table.columns]
        return ["_extra" if has_extra else "CAST(NULL AS VARCHAR) AS _extra", *cols,
                *(["id_number_valid"] if table.name == "patients" else []),
                *(f"o_{c}" for c in PII_COLUMNS.get(table.name, ())), "CAST(_reason AS VARCHAR) AS _reason",
                *(f"json_extract_string(_fail, '$[{i}]') AS {c}" for i, c in enumerate(("_column", "_value", "_raw")))]

    # -- staging: the outcome of every row, stored only for rows that are not loaded -----------
    def _sources(self, table: Table, raws: list[RawSource]) -> _Sources:
        """The typed rows of every file of ``table`` as one relation (``_src``, ``_r``,
        ``_line``, row columns); ``_line`` stays NULL until ``lined`` asks for it, since only
        the loaded and the rejected rows need it."""
        parts, lines = [], {}
        for i, r in enumerate(raws):
            cols = ", ".join(self._row_columns(table, has_extra=bool(r.extra_columns)))
            line = "_line" if r.line_sql == "v._line" else "CAST(NULL AS BIGINT) AS _line"
            parts.append(f"SELECT {i} AS _src, {row_index(self.con, r.typed_table)} AS _r, {line}, {cols} "
                         f"FROM {r.typed_table}")
            if r.line_sql != "v._line":
                lines[i] = (r.line_sql, r.line_joins)
        src = _Sources(" UNION ALL ".join(parts), lines)
        if table.name == "items" and self._items_need_numbers(raws):
            # lines without a number are numbered in file order within their claim
            self.con.execute(
                f"""CREATE OR REPLACE TEMP TABLE numbered AS SELECT * REPLACE (
                        CASE WHEN _reason IS NULL THEN COALESCE(item_no, row_number() OVER (
                        PARTITION BY claim_id, _reason IS NULL ORDER BY _src, _line)) ELSE item_no END AS item_no)
                    FROM ({src.lined()})""")
            src = _Sources("SELECT * FROM numbered", {})
        return src

    def _items_need_numbers(self, raws: list[RawSource]) -> bool:
        for r in raws:
            if "item_no" not in r.column_map.values():
                return True
            if scalar(self.con, f"SELECT EXISTS (SELECT 1 FROM {r.typed_table} WHERE item_no IS NULL AND _reason IS NULL)"):
                return True
        return False

    def _stage(self, table: Table, src: _Sources) -> None:
        """``bad0``: every row whose outcome against the workspace is not ``loaded`` (failed
        a check, exact or conflicting duplicate of a stored row, unknown reference), with
        what its reject needs. Loaded rows, nearly all of them, are not copied anywhere."""
        con = self.con
        key = list(table.key)
        joins = [f"LEFT JOIN (SELECT *, true AS _present FROM main.{table.name}) e ON "
                 + " AND ".join(f"e.{k} = s.{k}" for k in key)]
        whens = ["WHEN e._present THEN CASE WHEN "
                 + " AND ".join(f"s.{c} IS NOT DISTINCT FROM e.{c}" for c in table.column_names)
                 + " THEN 'duplicate' ELSE 'conflicting_duplicate' END"]
        for i, ref in enumerate(table.references):
            has_rows = scalar(con, f"SELECT EXISTS (SELECT 1 FROM main.{ref.table})")
            if has_rows or ref.table == "claims":
                # a semi-join (mark join): no DISTINCT over the referenced table's keys needed
                whens.append(f"WHEN s.{ref.column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM main.{ref.table} r{i} "
                             f"WHERE r{i}.{ref.target} = s.{ref.column}) THEN '{ref.reason}'")
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE bad0 AS
            SELECT _src, _r, _line, _outcome, {self._reject_fields(table)}
            FROM (SELECT s.*, CASE WHEN s._reason IS NOT NULL THEN s._reason {' '.join(whens)} ELSE 'loaded' END
                         AS _outcome
                  FROM ({src.fast}) s {' '.join(joins)})
            WHERE _outcome <> 'loaded'"""
        )

    @staticmethod
    def _reject_fields(table: Table) -> str:
        """``_rcol``, ``_rvalue``, ``_rraw`` of a rejected row (``_outcome`` a reason): the
        column at fault, its value and the whole row as JSON; NULL for other outcomes."""
        whens = [f"WHEN '{ref.reason}' THEN '{ref.column}'" for ref in table.references]
        whens.append(f"WHEN 'conflicting_duplicate' THEN '{table.key[0]}'")
        # rejected after typing: the column at fault is the reference or the key
        column = f"COALESCE(_column, CASE _outcome {' '.join(whens)} END)"
        value = ("COALESCE(_value, CASE " + " ".join(
            f"WHEN {column} = '{c.name}' THEN CAST({c.name} AS VARCHAR)" for c in table.columns) + " END)")
        raw = ("COALESCE(_raw, CAST(json_object(" + ", ".join(
            f"'{c.name}', CAST({c.name} AS VARCHAR)" for c in table.columns) + ") AS VARCHAR))")
        rejected = "_outcome NOT IN ('loaded', 'duplicate')"
        return (f"CASE WHEN {rejected} THEN {column} END AS _rcol, CASE WHEN {rejected} THEN {value} END AS _rvalue, "
                f"CASE WHEN {rejected} THEN {raw} END AS _rraw")

    def _settle_batch_duplicates(self, table: Table, src: _Sources) -> None:
        """A key seen on several valid lines of this batch: the first line keeps its outcome;
        an identical later line shares its fate (merged if it loaded), a different one is a
        conflicting duplicate. Leaves ``bad``: every row not loaded, with its line."""
        con = self.con
        key_sql = ", ".join(table.key)
        row_hash = f"hash({', '.join(table.column_names)})"
        # the keys seen more than once, as 64-bit hashes of the key: a hash collision only adds
        # a key to the candidates, which the window then sorts out. Nearly every key is unique,
        # so grouping would build a table as big as the batch (21M groups for a region's claim
        # lines, spilling); sorting the hashes in place needs 8 bytes a row and one core.
        # Rows keep the file's order, so (_src, _r) orders them like (_src, _line)
        hashes = con.execute(f"SELECT hash({key_sql}) AS h FROM ({src.fast}) WHERE _reason IS NULL").fetchnumpy()["h"]
        hashes = np.asarray(hashes, dtype=np.uint64)
        hashes.sort()
        repeated = np.unique(hashes[1:][hashes[1:] == hashes[:-1]])
        del hashes
        con.register("_repeated_keys", pa.table({"_kh": pa.array(repeated, pa.uint64())}))
        try:
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE dupinfo AS
                WITH cand AS (SELECT * FROM ({src.fast})
                              WHERE _reason IS NULL AND hash({key_sql}) IN (SELECT _kh FROM _repeated_keys))
                SELECT *, row_number() OVER w AS _rn, {row_hash} = first_value({row_hash}) OVER w AS _same
                FROM cand
                WINDOW w AS (PARTITION BY {key_sql} ORDER BY _src, _r)"""
            )
        finally:
            con.unregister("_repeated_keys")
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE bad_nl AS
            SELECT _src, _r, _line, _outcome, {self._reject_fields(table)} FROM (
                SELECT d.*, CASE WHEN NOT d._same THEN 'conflicting_duplicate'
                                 WHEN COALESCE(b._outcome, 'loaded') IN ('loaded', 'duplicate') THEN 'duplicate'
                                 ELSE b._outcome END AS _outcome
                FROM dupinfo d JOIN (SELECT {key_sql}, _src AS _fsrc, _r AS _fr FROM dupinfo WHERE _rn = 1) f
                     USING ({key_sql})
                LEFT JOIN bad0 b ON b._src = f._fsrc AND b._r = f._fr
                WHERE d._rn > 1)
            UNION ALL
            SELECT * FROM bad0 b WHERE NOT EXISTS (
                SELECT 1 FROM dupinfo d WHERE d._rn > 1 AND d._src = b._src AND d._r = b._r)"""
        )
        con.execute(f"CREATE OR REPLACE TEMP TABLE bad AS {src.with_lines('SELECT * FROM bad_nl')}")

    def _insert(self, table: Table, src: _Sources) -> int:
        """Insert the loaded rows (all but those in ``bad``); returns how many."""
        con = self.con
        cols = table.column_names
        derived = []
        for name, _ in table.derived:
            if name == "amount_parts_mismatch":
                derived.append(
                    "(COALESCE(fund_amount, account_amount, self_amount) IS NOT NULL AND "
                    "COALESCE(fund_amount, 0) + COALESCE(account_amount, 0) + COALESCE(self_amount, 0) <> total_amount)"
                )
            elif name == "reversal_linked":
                derived.append("CAST(NULL AS BOOLEAN)")
            else:
                derived.append(name)
        names = cols + [n for n, _ in table.derived] + [n for n, _ in LINEAGE]
        loaded = "NOT EXISTS (SELECT 1 FROM bad b WHERE b._src = s._src AND b._r = s._r)"
        select = (f"SELECT {', '.join(f'{e} AS {n}' for e, n in zip(cols + derived, names))}, _extra, "
                  f"f._file_name AS _source_file, _line AS _source_line, '{self.run_id}' AS _run_id "
                  f"FROM ({src.lined(loaded)}) s JOIN _files f USING (_src)")
        inserted = con.execute(f"INSERT INTO main.{table.name} ({', '.join(names)}) {select}").fetchall()[0][0]
        if self.parquet:
            # the Parquet export is an append-only dataset: one file per run with the rows it
            # added, written from the typed rows rather than re-read from the table
            with self._timed(f"parquet {table.name}"):
                self.ws.write_parquet(con, table.name, self.run_id, select, rows=inserted)
        if table.name == "claims":
            # a reversal is linked when the claim it cancels is loaded (now or in a later run)
            con.execute(
                """UPDATE main.claims AS r SET reversal_linked = (o.claim_id IS NOT NULL)
                   FROM (SELECT p.claim_id AS rid, o2.claim_id
                         FROM (SELECT claim_id, reverses_claim_id FROM main.claims
                               WHERE reverses_claim_id IS NOT NULL AND reversal_linked IS NOT TRUE) p
                         LEFT JOIN main.claims o2 ON o2.claim_id = p.reverses_claim_id) o
                   WHERE r.claim_id = o.rid"""
            )
        if table.name in PII_COLUMNS:
            self._seal(table, f"SELECT * FROM ({src.fast}) s WHERE {loaded}")
        return inserted

    def _seal(self, table: Table, loaded_sql: str) -> None:
        """Seal the original personal values of newly loaded rows (``loaded_sql``) in the
        identity vault, in batches (one AES-GCM box per batch, an index row per person)."""
        con = self.con
        pii = PII_COLUMNS[table.name]
        entity = table.name[:-1]  # patients -> patient, doctors -> doctor
        data = con.sql(
            f"SELECT {table.key[0]} AS id, {', '.join(f'o_{c} AS {c}' for c in pii)} FROM ({loaded_sql})"
        ).to_arrow_table()
        boxes, index = seal_batches(self.keyring, self.run_id, entity, data)
        con.register("_vault_boxes", boxes)
        con.register("_vault_index", index)
        try:
            con.execute("INSERT INTO vault_boxes SELECT * FROM _vault_boxes")
            con.execute("INSERT OR IGNORE INTO identity_vault SELECT * FROM _vault_index")
        finally:
            con.unregister("_vault_boxes")
            con.unregister("_vault_index")

    # -- rejects ---------------------------------------------------------------------------
    def _write_structural_rejects(self, table: Table, raws: list[RawSource], counts: list[FileCounts]) -> None:
        rows = []
        keys = self.unreadable_keys.setdefault(table.name, set())
        for i, r in enumerate(raws):
            header_of = {canon: h for h, canon in r.column_map.items()}
            key_at = r.headers.index(header_of[table.key[0]]) if table.key[0] in header_of else None
            # a raw line shows every column of the file: withheld where it may hold personal data
            # (a table with personal columns, or columns the mapping does not declare or declares
            # personal)
            personal = (table.name in PII_COLUMNS or r.dropped_columns
                        or any(r.mapping.extra_map(table.name)[h].personal for h in r.extra_columns))
            for s in r.structural:
                if key_at is not None:
                    key = _field(s.raw, r.delimiter, key_at)
                    if key:
                        keys.add(key)
                raw = WITHHELD if personal else s.raw
                rows.append((self.run_id, table.name, r.source.name, r.sha256, s.line, s.column,
                             header_of.get(s.column) if s.column else None, s.reason, None, raw))
                counts[i].rejected += 1
                counts[i].reasons[s.reason] += 1
        if rows:
            names = ["run_id", "table_name", "source_file", "source_sha256", "line", "column_name", "source_column",
                     "reason", "value", "raw"]
            con = self.con
            con.register("_rej", pa.table(list(zip(*rows)), names=names))
            try:
                self._append_rejects("SELECT * FROM _rej")
            finally:
                con.unregister("_rej")

    def _append_rejects(self, select_sql: str) -> None:
        # a file ingested again rejects the same lines again: store each only once
        self.con.execute(
            f"""INSERT INTO rejects SELECT n.* FROM ({select_sql}) n
            WHERE NOT EXISTS (SELECT 1 FROM rejects o WHERE o.source_sha256 = n.source_sha256
                              AND o.line = n.line AND o.table_name = n.table_name)"""
        )

    def _write_rejects(self, table: Table, counts: list[FileCounts]) -> None:
        """Rows of ``bad`` whose outcome is a reason: count them and store them."""
        where = "_outcome NOT IN ('loaded', 'duplicate')"
        for src, code, n in self.con.execute(
            f"SELECT _src, _outcome, count(*) FROM bad WHERE {where} GROUP BY ALL"
        ).fetchall():
            counts[src].rejected += n
            counts[src].reasons[code] += n
        self._append_rejects(
            f"""SELECT '{self.run_id}' AS run_id, '{table.name}' AS table_name, f._file_name AS source_file,
                       f._sha256 AS source_sha256, b._line AS line, b._rcol AS column_name,
                       h._header AS source_column, b._outcome AS reason, b._rvalue AS value, b._rraw AS raw
                FROM bad b JOIN _files f USING (_src)
                LEFT JOIN _headers h ON h._src = b._src AND h._canon = b._rcol
                WHERE {where}"""
        )

    def _register_files(self, raws: list[RawSource]) -> None:
        con = self.con
        con.register("_files", pa.table({
            "_src": pa.array(range(len(raws)), pa.int32()),
            "_file_name": pa.array([r.source.name for r in raws], pa.string()),
            "_sha256": pa.array([r.sha256 for r in raws], pa.string()),
        }))
        hdr = [(i, canon, h) for i, r in enumerate(raws) for h, canon in r.column_map.items()]
        con.register("_headers", pa.table({
            "_src": pa.array([x[0] for x in hdr], pa.int32()),
            "_canon": pa.array([x[1] for x in hdr], pa.string()),
            "_header": pa.array([x[2] for x in hdr], pa.string()),
        }))


def ingest(
    dataset: str | Path,
    workspace: str | Path,
    *,
    mapping: str | None = None,
    key_file: str | Path | None = None,
    parquet: bool = True,
    memory_limit: str | None = None,
    progress: Progress | None = None,
    note: Callable[[str], None] | None = None,
    max_record_lines: int = DEFAULT_MAX_RECORD_LINES,
) -> IngestResult:
    """Ingest every table of ``dataset`` into ``workspace`` (created when missing).

    ``mapping`` forces a mapping (a built-in name such as ``nhsa_zh`` or a TOML path); by
    default each file gets the mapping that recognises most of its headers. Ingesting the same
    files again changes no table; ingesting a later month appends. A record of a text file may
    span at most ``max_record_lines`` physical lines (inside a quoted value); one that would
    span more is rejected at its first line and reading resumes at the next."""

    started = time.perf_counter()
    started_at = dt.datetime.now()
    dataset = Path(dataset)
    note = note or (lambda msg: None)
    mappings = builtin_mappings()
    forced = get_mapping(mapping) if mapping else None
    if forced and forced.name not in {m.name for m in mappings}:
        mappings.append(forced)
    found, ignored = discover(dataset, mappings)
    if "claims" not in found:
        raise GraphfraudError("required_table_missing", path=str(dataset), table="claims")
    keyring = load_keyring(key_file)
    ws = Workspace.open(workspace, create=True)
    lock = ws.lock("ingest")
    con = None
    run_id = new_run_id("ingest")
    try:
        con = ws.connect(memory_limit=memory_limit)
        # a run killed before it finished left staged or unpublished Parquet files: tidy first
        ws.recover(con)
        ws.check_key(con, keyring.fingerprint)
        for path in ignored:
            note(t("ingest_unknown_file", file=path.name))
        # every file's header is checked first, so a missing column stops before any file
        # is read whole; then one table at a time is read, typed and loaded, so that each
        # step works on one table's typed rows (a region's claim lines alone fill GBs) and
        # what it no longer needs can leave memory
        for tname in LOAD_ORDER:
            for source in found.get(tname, []):
                check_header(source, mappings, forced)
        # how carefully each file is read: when DuckDB's reader stops on a file, the
        # transaction is rolled back and the run starts again reading that file line by line
        modes: dict[Path, str] = {}
        while True:
            ing = Ingestor(ws, con, keyring, mappings, forced, run_id, progress, parquet=parquet)
            try:
                all_counts, manifest, flags = _load(ing, found, modes, dataset, ignored, started_at, note,
                                                    max_record_lines)
                break
            except ReadAborted as exc:
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                ws.discard_parquet(run_id)
                if READ_MODES.index(exc.mode) <= READ_MODES.index(modes.get(exc.path, "fast")):
                    raise GraphfraudError("unreadable_file", file=str(exc.path), detail=exc.cause) from None
                modes[exc.path] = exc.mode
                note(t("ingest_retry_careful", file=exc.path.name, cause=exc.cause))
            except BaseException:
                with contextlib.suppress(Exception):  # noqa: BLE001 - no transaction open yet
                    con.execute("ROLLBACK")
                ws.discard_parquet(run_id)
                raise
        ws.publish_parquet(run_id)
        manifest["seconds"] = round(time.perf_counter() - started, 3)
        run_dir = ws.runs_dir / run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        manifest_path = run_dir / "manifest.json"
        manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    finally:
        if con is not None:
            con.close()
        shutil.rmtree(ws.tmp_dir, ignore_errors=True)
        ws.tmp_dir.mkdir(exist_ok=True)
        lock.release()
    return IngestResult(run_id, ws.path, all_counts, flags, time.perf_counter() - started, manifest_path,
                        [p.name for p in ignored], manifest.get("cascades", {}))


def _load(ing: Ingestor, found: dict, modes: dict[Path, str], dataset: Path, ignored: list[Path],
          started_at: dt.datetime, note: Callable[[str], None], max_record_lines: int
          ) -> tuple[list[FileCounts], dict, dict[str, int]]:
    """One attempt at the run's transaction: every table read, typed, loaded and recorded,
    then COMMIT. Raises ``ReadAborted`` (after which the caller rolls back) when DuckDB's
    reader stops on a file."""

    con, ws, run_id = ing.con, ing.ws, ing.run_id
    timings: dict[str, float] = {}
    all_counts: list[FileCounts] = []
    index = 0
    con.execute("BEGIN TRANSACTION")
    for tname in LOAD_ORDER:
        raws: list[RawSource] = []
        for source in found.get(tname, []):
            t0 = time.perf_counter()
            raw = read_source(con, source, index, ing.mappings, ing.forced, ws.tmp_dir, ing.shape(TABLES[tname]),
                              mode=modes.get(source.path, "fast"), max_record_lines=max_record_lines)
            index += 1
            ing.type_raw(TABLES[tname], raw)
            raws.append(raw)
            timings[f"read {source.name}"] = round(time.perf_counter() - t0, 3)
            note(t("ingest_mapping_line", file=source.name, mapping=raw.mapping.name, encoding=raw.encoding))
            if raw.dropped_columns:
                note(t("ingest_ignored_columns", file=source.name,
                       columns=", ".join(h or "(empty)" for h in raw.dropped_columns)))
            if raw.extra_columns:
                declared = raw.mapping.extra_map(tname)
                note(t("ingest_extra_columns", file=source.name, columns=", ".join(
                    f"{h} → {declared[h].name}" + (f" ({t('extra_personal')})" if declared[h].personal else "")
                    for h in raw.extra_columns)))
            for other, lines in raw.decoded_lines.items():
                note(t("ingest_decoded_lines", file=source.name, count=len(lines), encoding=raw.encoding,
                       other=other, lines=_line_list(lines)))
            if raw.cr_line_ends:
                note(t("ingest_cr_line_ends", file=source.name))
            elif 0 < raw.crlf_lines < raw.physical_lines - 1:
                note(t("ingest_line_ends", file=source.name, crlf=raw.crlf_lines))
            if raw.lone_cr:
                note(t("ingest_lone_cr", file=source.name, count=raw.lone_cr))
            ing.progress(source.name, 1)
        if not raws:
            continue
        t0 = time.perf_counter()
        all_counts += ing.ingest_table(TABLES[tname], raws)
        timings[f"load {tname}"] = round(time.perf_counter() - t0, 3)
        ing.progress(tname, 1)
    if ing.parquet:
        ws.write_parquet(con, "rejects", run_id, "SELECT * FROM rejects WHERE run_id = ?", [run_id])
    timings.update(ing.timings)
    flags = _flag_counts(con, run_id)
    cascaded = cascades(con, run_id, ing.unreadable_keys)
    finished_at = dt.datetime.now()
    manifest = _manifest(run_id, dataset, ws, all_counts, flags, timings, started_at, finished_at,
                         ing.keyring, ignored)
    manifest["max_record_lines"] = max_record_lines
    manifest["cascades"] = cascaded
    for tname, by_reason in cascaded.items():
        manifest["counts"][tname]["cascaded"] = sum(c["rows"] for c in by_reason.values())
    con.execute("INSERT INTO ingest_runs VALUES (?, ?, ?, ?, ?)",
                [run_id, started_at, finished_at, str(dataset.resolve()), json.dumps(manifest, ensure_ascii=False)])
    for c in all_counts:
        con.execute(
            "INSERT INTO ingest_files (run_id, table_name, source_file, sha256, size, format, encoding, mapping, "
            "reader, input_rows, loaded, duplicate, rejected, blank_lines, physical_lines, header_lines, "
            "continuation_lines, read_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, c.table, c.file, c.sha256, c.size, c.fmt, c.encoding, c.mapping, c.reader, c.input_rows,
             c.loaded, c.duplicate, c.rejected, c.blank_lines, c.physical_lines, c.header_lines,
             c.continuation_lines, c.read_path],
        )
    con.execute("COMMIT")
    manifest["timings_s"] = timings
    return all_counts, manifest, flags


def _line_list(lines: list[int], limit: int = 10) -> str:
    shown = ", ".join(str(n) for n in lines[:limit])
    return shown + (f", … (+{len(lines) - limit})" if len(lines) > limit else "")


def _field(raw: str, delimiter: str, index: int) -> str | None:
    """Field ``index`` of a raw line, when the line parses that far."""
    import csv
    import io

    try:
        row = next(csv.reader(io.StringIO(raw, newline=""), delimiter=delimiter), [])
    except csv.Error:
        return None
    return row[index].strip() if index < len(row) and row[index].strip() else None


def cascades(con, run_id: str, unreadable_keys: dict[str, set[str]]) -> dict[str, dict[str, dict]]:
    """Rejects caused by other rejects of the same run: per table and reason (an unknown
    reference), how many rows, and of which table, were rejected because the row they refer
    to was itself rejected in this run (for a bad value, or unreadable). The rest of those
    rejects refer to rows that were never in the data."""
    out: dict[str, dict[str, dict]] = {}
    for table in TABLES.values():
        for ref in table.references:
            n_ref = scalar(con, "SELECT count(*) FROM rejects WHERE run_id = ? AND table_name = ? AND reason = ?",
                           [run_id, table.name, ref.reason])
            if not n_ref:
                continue
            keys = pa.table({"k": pa.array(sorted(unreadable_keys.get(ref.table, ())), pa.string())})
            con.register("_unreadable_keys", keys)
            try:
                # the referenced table's rejects of this run: typed ones carry their values as
                # JSON; unreadable ones, the keys read from their lines
                n = scalar(con, f"""
                    WITH parent AS (
                        SELECT json_extract_string(raw, '$.{ref.target}') AS k FROM rejects
                        WHERE run_id = ? AND table_name = ? AND raw LIKE '{{%'
                        UNION SELECT k FROM _unreadable_keys)
                    SELECT count(*) FROM rejects c WHERE c.run_id = ? AND c.table_name = ? AND c.reason = ?
                      AND c.value IN (SELECT k FROM parent WHERE k IS NOT NULL)""",
                           [run_id, ref.table, run_id, table.name, ref.reason])
            finally:
                con.unregister("_unreadable_keys")
            if n:
                out.setdefault(table.name, {})[ref.reason] = {"rows": n, "of": n_ref, "because_of": ref.table}
    return out


def _flag_counts(con, run_id: str) -> dict[str, int]:
    """Rows loaded by this run that carry a warning flag (kept, not rejected)."""
    q = {
        "id_number_invalid": "SELECT count(*) FROM patients WHERE _run_id = ? AND NOT id_number_valid",
        "id_number_missing": "SELECT count(*) FROM patients WHERE _run_id = ? AND id_number_valid IS NULL",
        "reversal_unlinked": "SELECT count(*) FROM claims WHERE _run_id = ? AND reversal_linked = false",
        "amount_parts_mismatch": "SELECT count(*) FROM claims WHERE _run_id = ? AND amount_parts_mismatch",
    }
    return {k: scalar(con, sql, [run_id]) for k, sql in q.items()}


def _manifest(run_id, dataset, ws, counts, flags, timings, started_at, finished_at, keyring, ignored) -> dict:
    by_table: dict[str, dict] = {}
    for c in counts:
        t = by_table.setdefault(c.table, {"input": 0, "loaded": 0, "duplicate": 0, "rejected": 0,
                                          "rejected_by_reason": Counter(), "physical_lines": 0,
                                          "continuation_lines": 0, "lines_balanced": True})
        for k in ("input", "loaded", "duplicate", "rejected"):
            t[k] += c.input_rows if k == "input" else getattr(c, k)
        t["rejected_by_reason"].update(c.reasons)
        t["physical_lines"] += c.physical_lines
        t["continuation_lines"] += c.continuation_lines
        t["lines_balanced"] = t["lines_balanced"] and c.lines_balanced
    for t in by_table.values():
        t["rejected_by_reason"] = dict(sorted(t["rejected_by_reason"].items()))
        t["balanced"] = t["input"] == t["loaded"] + t["duplicate"] + t["rejected"]
    return {
        "kind": "ingest",
        "run_id": run_id,
        "software": {"name": "graphfraud", "version": __version__},
        "dataset": str(dataset.resolve()),
        "workspace": str(ws.path.resolve()),
        "started_at": started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "key_fingerprint": keyring.fingerprint,
        "files": [c.as_dict() for c in counts],
        "ignored_files": [p.name for p in ignored],
        "counts": by_table,
        "flags": flags,
        "timings_s": timings,
    }
