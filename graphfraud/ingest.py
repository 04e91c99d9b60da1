"""``graphfraud ingest``: a dataset folder into the workspace's canonical tables.

Every input record ends in exactly one place: loaded, merged as an exact duplicate of a row
already loaded, or written to ``rejects`` with its file, line, column and reason. The counts
are printed, stored per file in ``ingest_files`` and written to the run manifest, and they add
up to the input. Personal data is pseudonymised before anything is stored; the originals are
sealed in the identity vault for authorised exports.

Example::

    >>> from graphfraud.ingest import ingest                      # doctest: +SKIP
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
import pyarrow as pa

from graphfraud import __version__
from graphfraud.errors import GraphfraudError
from graphfraud.idnumber import sql_is_valid
from graphfraud.mapping import Mapping, builtin_mappings, get_mapping
from graphfraud.pseudo import Keyring, load_keyring, seal_batches, sql_normalise, sql_pseudonym
from graphfraud.readers import RawSource, discover, drop_raw, read_source, scalar
from graphfraud.schema import (
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
from graphfraud.workspace import LINEAGE, Workspace, new_run_id

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

    def as_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "reasons"}
        d["rejected_by_reason"] = dict(sorted(self.reasons.items()))
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
        return f"(CASE lower({src}) {whens} ELSE NULL END)"
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


def _reason_exprs(table: Table, check_encoding: bool) -> tuple[str, str]:
    """(reason, column) CASE expressions over the typed stage: the first failing check wins."""
    reasons, columns = [], []
    if check_encoding:
        cond = " OR ".join(f"contains(r_{c.name}, '\ufffd')" for c in table.columns)
        reasons.append(f"WHEN {cond} THEN 'bad_encoding'")
        columns.append(f"WHEN {cond} THEN NULL")
    for c in table.columns:
        if c.required:
            reasons.append(f"WHEN r_{c.name} IS NULL THEN 'missing_required'")
            columns.append(f"WHEN r_{c.name} IS NULL THEN '{c.name}'")
        if c.kind != STRING:
            reasons.append(f"WHEN r_{c.name} IS NOT NULL AND {c.name} IS NULL THEN '{_KIND_REASON[c.kind]}'")
            columns.append(f"WHEN r_{c.name} IS NOT NULL AND {c.name} IS NULL THEN '{c.name}'")
    if table.name == "claims":
        cond = "discharge_date < admit_date"
        reasons.append(f"WHEN {cond} THEN 'bad_date_order'")
        columns.append(f"WHEN {cond} THEN 'discharge_date'")
    return f"(CASE {' '.join(reasons)} END)", f"(CASE {' '.join(columns)} END)"


class Ingestor:
    """One ingest run over one dataset into one workspace.

    Per table, one DuckDB statement turns the raw text of every file into ``staged``: typed
    values, pseudonyms, the first failing check (reason, column, raw value) and the outcome
    against the workspace (loaded, duplicate, conflicting, unknown reference). Keys repeated
    within the batch are then settled (the first line wins), rejects written, and the loaded
    rows inserted: three passes over the data in all, read, stage and insert."""

    def __init__(self, ws: Workspace, con, keyring: Keyring, mappings: list[Mapping], forced: Mapping | None,
                 run_id: str, progress: Progress | None = None, *, parquet: bool = True) -> None:
        # run ids are generated here (letters, digits, dashes) and may appear in query text
        assert all(ch.isalnum() or ch == "-" for ch in run_id)
        self.ws, self.con, self.keyring = ws, con, keyring
        self.mappings, self.forced, self.run_id = mappings, forced, run_id
        self.progress = progress or (lambda label, n: None)
        self.parquet = parquet
        self.timings: dict[str, float] = {}

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
                       r.reader, input_rows=r.n_records, blank_lines=r.blank_lines, extra_columns=r.extra_columns)
            for r in raws
        ]
        self._register_files(raws)
        try:
            self._write_structural_rejects(table, raws, counts)
            with self._timed(f"stage {table.name}"):
                self._stage(table, raws)
            for r in raws:
                drop_raw(con, r.table_name)
            with self._timed(f"settle {table.name}"):
                self._settle_batch_duplicates(table)
            with self._timed(f"rejects {table.name}"):
                self._write_rejects(table, counts)
            for src, outcome, n in con.execute(
                "SELECT _src, _outcome, count(*) FROM staged WHERE _outcome IN ('loaded', 'duplicate') GROUP BY ALL"
            ).fetchall():
                setattr(counts[src], outcome, getattr(counts[src], outcome) + n)
            with self._timed(f"insert {table.name}"):
                self._insert(table)
        finally:
            # after a failed statement the transaction refuses everything until the rollback
            # in ingest(); cleaning up then must not hide the original error
            with contextlib.suppress(duckdb.Error):
                for t in ("staged", "dupinfo"):
                    con.execute(f"DROP TABLE IF EXISTS {t}")
            con.unregister("_files")
            con.unregister("_headers")
        return counts

    def _stage(self, table: Table, raws: list[RawSource]) -> None:
        con = self.con
        param = Params()
        pii = PII_COLUMNS.get(table.name, ())
        selects = []
        for i, r in enumerate(raws):
            present = set(r.column_map.values())
            cols = [f"{c.name} AS r_{c.name}" if c.name in present else f"CAST(NULL AS VARCHAR) AS r_{c.name}"
                    for c in table.columns]
            selects.append(f"SELECT {i} AS _src, _line, _extra_vals, {', '.join(cols)} FROM {r.table_name}")
        stage = " UNION ALL ".join(selects)
        # unknown columns as JSON; their header names enter only as parameters
        extra_whens = [f"WHEN _src = {i} THEN CAST(to_json(map({param(list(r.extra_columns))}, _extra_vals)) AS VARCHAR)"
                       for i, r in enumerate(raws) if r.extra_columns]
        extra = f"(CASE {' '.join(extra_whens)} END)" if extra_whens else "CAST(NULL AS VARCHAR)"
        typed = []
        for c in table.columns:
            if c.kind in (ENUM, DATE, DATETIME) and len({r.mapping.name for r in raws}) > 1:
                # each file's enum spellings and date formats follow its own mapping
                whens = [f"WHEN _src = {i} THEN {_typed_expr(table.name, c, r.mapping, param, self.mappings)}"
                         for i, r in enumerate(raws)]
                typed.append(f"(CASE {' '.join(whens)} END) AS {c.name}")
            else:
                typed.append(f"{_typed_expr(table.name, c, raws[0].mapping, param, self.mappings)} AS {c.name}")
        raw_cols = ", ".join(f"r_{c.name}" for c in table.columns)
        derived = f", {sql_is_valid('r_id_number')} AS id_number_valid" if table.name == "patients" else ""
        q = f"SELECT _src, _line, {extra} AS _extra, {raw_cols}, {', '.join(typed)}{derived} FROM ({stage})"
        if table.name == "patients":
            # birth date and sex stay usable after pseudonymisation: read them from a valid ID
            q = f"""SELECT * REPLACE (
                COALESCE(birth_date, CASE WHEN id_number_valid THEN
                    CAST(try_strptime(substr(r_id_number, 7, 8), '%Y%m%d') AS DATE) END) AS birth_date,
                COALESCE(sex, CASE WHEN id_number_valid THEN
                    CASE WHEN CAST(substr(r_id_number, 17, 1) AS INTEGER) % 2 = 1 THEN 'M' ELSE 'F' END END) AS sex)
                FROM ({q})"""
        reason, column = _reason_exprs(table, any(r.had_replacements for r in raws))
        q = f"SELECT *, {reason} AS _reason, {column} AS _column FROM ({q})"
        if pii:
            # personal values become keyed pseudonyms here; originals go only to the vault
            norms = ", ".join(f"{sql_normalise(c, 'r_' + c, param)} AS n_{c}" for c in pii)
            pseudonyms = ", ".join(f"{sql_pseudonym(self.keyring, c, 'n_' + c, param)} AS {c}" for c in pii)
            q = f"SELECT * REPLACE ({pseudonyms}) FROM (SELECT *, {norms} FROM ({q}))"
        if table.name == "items" and self._items_need_numbers(raws):
            # lines without a number are numbered in file order within their claim
            q = f"""SELECT * REPLACE (CASE WHEN _reason IS NULL THEN COALESCE(item_no, row_number() OVER (
                        PARTITION BY claim_id, _reason IS NULL ORDER BY _src, _line)) ELSE item_no END AS item_no)
                    FROM ({q})"""
        value = "(CASE _column " + " ".join(f"WHEN '{c.name}' THEN r_{c.name}" for c in table.columns) + " END)"
        raw_json = "json_object(" + ", ".join(
            f"'{c.name}', {c.name if c.name in pii else 'r_' + c.name}" for c in table.columns) + ")"
        keep = ["_src", "_line", "_extra", *table.column_names]
        if table.name == "patients":
            keep.append("id_number_valid")
        keep += [f"r_{c} AS o_{c}" for c in pii]
        key = list(table.key)
        keep.append(f"hash({', '.join(key)}) AS _kh")  # for finding keys repeated in the batch
        joins = [f"LEFT JOIN (SELECT *, true AS _present FROM main.{table.name}) e ON "
                 + " AND ".join(f"e.{k} = s.{k}" for k in key)]
        whens = ["WHEN e._present THEN CASE WHEN "
                 + " AND ".join(f"s.{c} IS NOT DISTINCT FROM e.{c}" for c in table.column_names)
                 + " THEN 'duplicate' ELSE 'conflicting_duplicate' END"]
        for i, ref in enumerate(table.references):
            has_rows = scalar(con, f"SELECT EXISTS (SELECT 1 FROM main.{ref.table})")
            if has_rows or ref.table == "claims":
                joins.append(f"LEFT JOIN (SELECT DISTINCT {ref.target} AS k FROM main.{ref.table}) r{i} "
                             f"ON r{i}.k = s.{ref.column}")
                whens.append(f"WHEN s.{ref.column} IS NOT NULL AND r{i}.k IS NULL THEN '{ref.reason}'")
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE staged AS
            SELECT s.*, CASE WHEN s._reason IS NOT NULL THEN s._reason {' '.join(whens)} ELSE 'loaded' END AS _outcome
            FROM (SELECT {', '.join(keep)}, _reason, _column,
                         CASE WHEN _reason IS NOT NULL THEN {value} END AS _value,
                         CASE WHEN _reason IS NOT NULL THEN CAST({raw_json} AS VARCHAR) END AS _raw
                  FROM ({q})) s
            {' '.join(joins)}""",
            param.values,
        )

    def _items_need_numbers(self, raws: list[RawSource]) -> bool:
        for r in raws:
            if "item_no" not in r.column_map.values():
                return True
            if scalar(self.con, f"SELECT EXISTS (SELECT 1 FROM {r.table_name} WHERE item_no IS NULL)"):
                return True
        return False

    def _settle_batch_duplicates(self, table: Table) -> None:
        """A key seen on several valid lines of this batch: the first line keeps its outcome;
        an identical later line shares its fate (merged if it loaded), a different one is a
        conflicting duplicate."""
        con = self.con
        key_sql = ", ".join(table.key)
        row_hash = f"hash({', '.join(table.column_names)})"
        # grouping on a 64-bit hash of the key is much cheaper than on the key itself; a hash
        # collision only adds a key to the candidates, which the window then sorts out
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE dupinfo AS
            WITH h AS (SELECT _kh FROM staged WHERE _reason IS NULL GROUP BY _kh HAVING count(*) > 1),
            cand AS (SELECT * FROM staged WHERE _reason IS NULL AND _kh IN (SELECT _kh FROM h))
            SELECT _src, _line, {key_sql}, _outcome, row_number() OVER w AS _rn,
                   {row_hash} = first_value({row_hash}) OVER w AS _same
            FROM cand
            WINDOW w AS (PARTITION BY {key_sql} ORDER BY _src, _line)"""
        )
        con.execute(
            f"""UPDATE staged AS s SET _outcome =
                    CASE WHEN NOT d._same THEN 'conflicting_duplicate'
                         WHEN f._outcome IN ('loaded', 'duplicate') THEN 'duplicate' ELSE f._outcome END
                FROM dupinfo d JOIN (SELECT * FROM dupinfo WHERE _rn = 1) f USING ({key_sql})
                WHERE d._rn > 1 AND s._src = d._src AND s._line = d._line"""
        )

    def _insert(self, table: Table) -> None:
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
        select = (f"SELECT {', '.join(f'{e} AS {n}' for e, n in zip(cols + derived, names))}, _extra, "
                  f"f._file_name AS _source_file, _line AS _source_line, '{self.run_id}' AS _run_id "
                  f"FROM staged s JOIN _files f USING (_src) WHERE s._outcome = 'loaded'")
        con.execute(f"INSERT INTO main.{table.name} ({', '.join(names)}) {select}")
        if self.parquet:
            # the Parquet export is an append-only dataset: one file per run with the rows it
            # added, written from the staged rows rather than re-read from the table
            with self._timed(f"parquet {table.name}"):
                self.ws.write_parquet(con, table.name, self.run_id, select)
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
            self._seal(table)

    def _seal(self, table: Table) -> None:
        """Seal the original personal values of newly loaded rows in the identity vault,
        in batches (one AES-GCM box per batch, an index row per person)."""
        con = self.con
        pii = PII_COLUMNS[table.name]
        entity = table.name[:-1]  # patients -> patient, doctors -> doctor
        data = con.sql(
            f"SELECT {table.key[0]} AS id, {', '.join(f'o_{c} AS {c}' for c in pii)} FROM staged "
            f"WHERE _outcome = 'loaded'"
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
        for i, r in enumerate(raws):
            header_of = {canon: h for h, canon in r.column_map.items()}
            for s in r.structural:
                raw = "[personal data withheld; see the source file]" if table.name in PII_COLUMNS else s.raw
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
        """Rows of ``staged`` whose outcome is a reason: count them and store them."""
        where = "_outcome NOT IN ('loaded', 'duplicate')"
        for src, code, n in self.con.execute(
            f"SELECT _src, _outcome, count(*) FROM staged WHERE {where} GROUP BY ALL"
        ).fetchall():
            counts[src].rejected += n
            counts[src].reasons[code] += n
        # rejected after typing: the column at fault is the reference or the key
        whens = [f"WHEN '{ref.reason}' THEN '{ref.column}'" for ref in table.references]
        whens.append(f"WHEN 'conflicting_duplicate' THEN '{table.key[0]}'")
        column = f"COALESCE(_column, CASE _outcome {' '.join(whens)} END)"
        value = ("COALESCE(_value, CASE " + " ".join(
            f"WHEN {column} = '{c.name}' THEN CAST({c.name} AS VARCHAR)" for c in table.columns) + " END)")
        raw = ("COALESCE(_raw, CAST(json_object(" + ", ".join(
            f"'{c.name}', CAST({c.name} AS VARCHAR)" for c in table.columns) + ") AS VARCHAR))")
        self._append_rejects(
            f"""SELECT '{self.run_id}' AS run_id, '{table.name}' AS table_name, f._file_name AS source_file,
                       f._sha256 AS source_sha256, s._line AS line, {column} AS column_name,
                       h._header AS source_column, _outcome AS reason, {value} AS value, {raw} AS raw
                FROM staged s JOIN _files f USING (_src)
                LEFT JOIN _headers h ON h._src = s._src AND h._canon = {column}
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
) -> IngestResult:
    """Ingest every table of ``dataset`` into ``workspace`` (created when missing).

    ``mapping`` forces a mapping (a built-in name such as ``nhsa_zh`` or a TOML path); by
    default each file gets the mapping that recognises most of its headers. Ingesting the same
    files again changes no table; ingesting a later month appends."""
    from graphfraud.i18n import t

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
    con = ws.connect(memory_limit=memory_limit)
    run_id = new_run_id("ingest")
    timings: dict[str, float] = {}
    try:
        ws.check_key(con, keyring.fingerprint)
        ing = Ingestor(ws, con, keyring, mappings, forced, run_id, progress, parquet=parquet)
        for path in ignored:
            note(t("ingest_unknown_file", file=path.name))
        all_counts: list[FileCounts] = []
        # read and check every file's header first, so a missing column stops before any load
        index = 0
        raws_by_table: dict[str, list[RawSource]] = {}
        try:
            for tname in LOAD_ORDER:
                for source in found.get(tname, []):
                    t0 = time.perf_counter()
                    raw = read_source(con, source, index, mappings, forced, ws.tmp_dir)
                    index += 1
                    raws_by_table.setdefault(tname, []).append(raw)
                    timings[f"read {source.name}"] = round(time.perf_counter() - t0, 3)
                    note(t("ingest_mapping_line", file=source.name, mapping=raw.mapping.name, encoding=raw.encoding))
                    if raw.extra_columns:
                        note(t("ingest_ignored_columns", file=source.name, columns=", ".join(raw.extra_columns)))
                    ing.progress(source.name, 1)
            con.execute("BEGIN TRANSACTION")
            for tname in LOAD_ORDER:
                if tname not in raws_by_table:
                    continue
                t0 = time.perf_counter()
                all_counts += ing.ingest_table(TABLES[tname], raws_by_table[tname])
                timings[f"load {tname}"] = round(time.perf_counter() - t0, 3)
                ing.progress(tname, 1)
            if parquet:
                ws.write_parquet(con, "rejects", run_id, "SELECT * FROM rejects WHERE run_id = ?", [run_id])
            timings.update(ing.timings)
            flags = _flag_counts(con, run_id)
            finished_at = dt.datetime.now()
            manifest = _manifest(run_id, dataset, ws, all_counts, flags, timings, started_at, finished_at,
                                 keyring, ignored)
            con.execute("INSERT INTO ingest_runs VALUES (?, ?, ?, ?, ?)",
                        [run_id, started_at, finished_at, str(dataset.resolve()), json.dumps(manifest, ensure_ascii=False)])
            for c in all_counts:
                con.execute(
                    "INSERT INTO ingest_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_id, c.table, c.file, c.sha256, c.size, c.fmt, c.encoding, c.mapping, c.reader, c.input_rows,
                     c.loaded, c.duplicate, c.rejected, c.blank_lines],
                )
            con.execute("COMMIT")
        except BaseException:
            try:
                con.execute("ROLLBACK")
            except Exception:  # noqa: BLE001 - no transaction open yet
                pass
            raise
        manifest["timings_s"] = timings
        manifest["seconds"] = round(time.perf_counter() - started, 3)
        run_dir = ws.runs_dir / run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        manifest_path = run_dir / "manifest.json"
        manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    finally:
        con.close()
        shutil.rmtree(ws.tmp_dir, ignore_errors=True)
        ws.tmp_dir.mkdir(exist_ok=True)
    return IngestResult(run_id, ws.path, all_counts, flags, time.perf_counter() - started, manifest_path,
                        [p.name for p in ignored])


def _flag_counts(con, run_id: str) -> dict[str, int]:
    """Rows loaded by this run that carry a warning flag (kept, not rejected)."""
    q = {
        "id_number_invalid": "SELECT count(*) FROM patients WHERE _run_id = ? AND NOT id_number_valid",
        "reversal_unlinked": "SELECT count(*) FROM claims WHERE _run_id = ? AND reversal_linked = false",
        "amount_parts_mismatch": "SELECT count(*) FROM claims WHERE _run_id = ? AND amount_parts_mismatch",
    }
    return {k: scalar(con, sql, [run_id]) for k, sql in q.items()}


def _manifest(run_id, dataset, ws, counts, flags, timings, started_at, finished_at, keyring, ignored) -> dict:
    by_table: dict[str, dict] = {}
    for c in counts:
        t = by_table.setdefault(c.table, {"input": 0, "loaded": 0, "duplicate": 0, "rejected": 0,
                                          "rejected_by_reason": Counter()})
        for k in ("input", "loaded", "duplicate", "rejected"):
            t[k] += c.input_rows if k == "input" else getattr(c, k)
        t["rejected_by_reason"].update(c.reasons)
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
