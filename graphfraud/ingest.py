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

import datetime as dt
import json
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pyarrow as pa

from graphfraud import __version__
from graphfraud.errors import GraphfraudError
from graphfraud.idnumber import sql_is_valid
from graphfraud.mapping import Mapping, builtin_mappings, get_mapping
from graphfraud.pseudo import Keyring, load_keyring
from graphfraud.readers import RawSource, discover, read_source
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


def _typed_expr(table: str, col, mapping: Mapping, params: list, others: list[Mapping] = ()) -> str:
    """DuckDB expression turning the trimmed text column ``r_<name>`` into its typed value
    (NULL when it cannot be read). Values from mapping files only ever enter as parameters."""
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
        whens = []
        for source_value, canon in vmap.items():
            whens.append("WHEN ? THEN ?")
            params.extend([source_value, canon])
        return f"(CASE lower({src}) {' '.join(whens)} ELSE NULL END)"
    if kind == DATE:
        params.append(list(mapping.date_formats))
        return f"COALESCE(TRY_CAST({src} AS DATE), CAST(try_strptime({src}, ?) AS DATE))"
    if kind == DATETIME:
        params.append(list(mapping.datetime_formats))
        return f"COALESCE(TRY_CAST({src} AS TIMESTAMP), CAST(try_strptime({src}, ?) AS TIMESTAMP))"
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
    """One ingest run over one dataset into one workspace."""

    def __init__(self, ws: Workspace, con, keyring: Keyring, mappings: list[Mapping], forced: Mapping | None,
                 run_id: str, progress: Progress | None = None) -> None:
        self.ws, self.con, self.keyring = ws, con, keyring
        self.mappings, self.forced, self.run_id = mappings, forced, run_id
        self.progress = progress or (lambda label, n: None)
        self.flags: Counter = Counter()

    # -- per table -------------------------------------------------------------------------
    def ingest_table(self, table: Table, raws: list[RawSource]) -> list[FileCounts]:
        con = self.con
        counts = [
            FileCounts(table.name, r.source.name, r.sha256, r.size, r.source.fmt, r.encoding, r.mapping.name,
                       r.reader, blank_lines=r.blank_lines, extra_columns=r.extra_columns)
            for r in raws
        ]
        self._register_files(table, raws)
        self._stage(table, raws)
        self._write_structural_rejects(table, raws, counts)
        self._typed(table, raws)
        if table.name in PII_COLUMNS:
            self._pseudonymise(table)
        self._write_rejects(table, raws, "typed", "_reason IS NOT NULL", counts)
        self._classify(table)
        self._write_rejects(table, raws, "classed", "_outcome NOT IN ('loaded', 'duplicate')", counts)
        for src, outcome, n in con.execute(
            "SELECT _src, _outcome, count(*) FROM classed WHERE _outcome IN ('loaded', 'duplicate') GROUP BY ALL"
        ).fetchall():
            setattr(counts[src], outcome, getattr(counts[src], outcome) + n)
        self._insert(table)
        for c, r in zip(counts, raws):
            c.input_rows = r.n_records
        for t in ("stage_all", "typed", "classed"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
        for r in raws:
            con.execute(f"DROP TABLE IF EXISTS {r.table_name}")
        return counts

    def _stage(self, table: Table, raws: list[RawSource]) -> None:
        selects = []
        for i, r in enumerate(raws):
            present = set(r.column_map.values())
            cols = [f"{c.name} AS r_{c.name}" if c.name in present else f"CAST(NULL AS VARCHAR) AS r_{c.name}"
                    for c in table.columns]
            selects.append(f"SELECT {i} AS _src, _line, _extra, {', '.join(cols)} FROM {r.table_name}")
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE stage_all AS {' UNION ALL '.join(selects)}")

    def _typed(self, table: Table, raws: list[RawSource]) -> None:
        params: list = []
        # one mapping per file: enum values and date formats follow each file's own mapping
        typed_cols = []
        for c in table.columns:
            if c.kind in (ENUM, DATE, DATETIME) and len({r.mapping.name for r in raws}) > 1:
                whens = []
                for i, r in enumerate(raws):
                    whens.append(f"WHEN _src = {i} THEN {_typed_expr(table.name, c, r.mapping, params, self.mappings)}")
                typed_cols.append(f"(CASE {' '.join(whens)} END) AS {c.name}")
            else:
                typed_cols.append(f"{_typed_expr(table.name, c, raws[0].mapping, params, self.mappings)} AS {c.name}")
        extra = ""
        if table.name == "patients":
            extra = f", {sql_is_valid('r_id_number')} AS id_number_valid"
        raw_cols = ", ".join(f"r_{c.name}" for c in table.columns)
        check_encoding = any(r.had_replacements for r in raws)
        reason, column = _reason_exprs(table, check_encoding)
        inner = f"SELECT _src, _line, _extra, {raw_cols}, {', '.join(typed_cols)}{extra} FROM stage_all"
        if table.name == "patients":
            # birth date and sex stay usable after pseudonymisation: read them from a valid ID
            inner = f"""SELECT * REPLACE (
                COALESCE(birth_date, CASE WHEN id_number_valid THEN
                    CAST(try_strptime(substr(r_id_number, 7, 8), '%Y%m%d') AS DATE) END) AS birth_date,
                COALESCE(sex, CASE WHEN id_number_valid THEN
                    CASE WHEN CAST(substr(r_id_number, 17, 1) AS INTEGER) % 2 = 1 THEN 'M' ELSE 'F' END END) AS sex)
                FROM ({inner})"""
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE typed AS SELECT *, {reason} AS _reason, {column} AS _column FROM ({inner})",
            params,
        )
        self.con.execute("DROP TABLE stage_all")

    def _pseudonymise(self, table: Table) -> None:
        """Replace personal values by keyed pseudonyms in the typed stage, keeping the
        originals in ``o_<col>`` for the vault; rejected rows' raw text is pseudonymised too."""
        con = self.con
        for col in PII_COLUMNS[table.name]:
            values = con.execute(f"SELECT DISTINCT r_{col} FROM typed WHERE r_{col} IS NOT NULL").fetchall()
            mapping = pa.table({
                "v": pa.array([v for (v,) in values], pa.string()),
                "p": pa.array([self.keyring.pseudonym(col, v) for (v,) in values], pa.string()),
            })
            con.register("_pseudo", mapping)
            try:
                con.execute(
                    f"""CREATE OR REPLACE TEMP TABLE typed AS
                    SELECT t.* REPLACE (m.p AS {col}, m.p AS r_{col}), t.r_{col} AS o_{col}
                    FROM typed t LEFT JOIN _pseudo m ON t.r_{col} = m.v"""
                )
            finally:
                con.unregister("_pseudo")

    def _classify(self, table: Table) -> None:
        """Outcome of every valid row: loaded, duplicate, conflicting_duplicate or unknown_*."""
        con = self.con
        cols = table.column_names
        key = list(table.key)
        if table.name == "items":
            # lines without a number are numbered in file order within their claim
            con.execute(
                """CREATE OR REPLACE TEMP TABLE typed AS SELECT * REPLACE (
                     CASE WHEN _reason IS NULL THEN COALESCE(item_no, row_number() OVER (
                       PARTITION BY claim_id, _reason IS NULL ORDER BY _src, _line)) ELSE item_no END AS item_no)
                   FROM typed"""
            )
        key_sql = ", ".join(key)
        hash_sql = f"hash({', '.join(cols)})"
        same_as_existing = " AND ".join(f"v.{c} IS NOT DISTINCT FROM e.{c}" for c in cols)
        join_on = " AND ".join(f"e.{k} = v.{k}" for k in key)
        ref_checks = []
        for ref in table.references:
            has_rows = con.execute(f"SELECT EXISTS (SELECT 1 FROM main.{ref.table})").fetchone()[0]
            if has_rows or ref.table == "claims":
                ref_checks.append(
                    f"WHEN v.{ref.column} IS NOT NULL AND NOT EXISTS "
                    f"(SELECT 1 FROM main.{ref.table} x WHERE x.{ref.target} = v.{ref.column}) THEN '{ref.reason}'"
                )
        first = f"""
            CASE WHEN e.{key[0]} IS NOT NULL THEN
                   CASE WHEN {same_as_existing} THEN 'duplicate' ELSE 'conflicting_duplicate' END
                 {' '.join(ref_checks)}
                 ELSE 'loaded' END"""
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE classed AS
            WITH v AS (
                SELECT *, {hash_sql} AS _h,
                       row_number() OVER w AS _rn, first_value({hash_sql}) OVER w AS _h0
                FROM typed WHERE _reason IS NULL
                WINDOW w AS (PARTITION BY {key_sql} ORDER BY _src, _line)
            ), firsts AS (
                SELECT v.*, {first} AS _outcome FROM v LEFT JOIN main.{table.name} e ON {join_on} WHERE v._rn = 1
            )
            SELECT * FROM firsts
            UNION ALL BY NAME
            SELECT v.*, CASE WHEN v._h <> v._h0 THEN 'conflicting_duplicate'
                             WHEN f._outcome IN ('loaded', 'duplicate') THEN 'duplicate'
                             ELSE f._outcome END AS _outcome
            FROM v JOIN firsts f USING ({key_sql}) WHERE v._rn > 1"""
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
                derived.append("NULL")
            else:
                derived.append(name)
        lineage = ["_extra", "_file_name", "_line", "?"]
        names = cols + [n for n, _ in table.derived] + [n for n, _ in LINEAGE]
        con.execute(
            f"""INSERT INTO main.{table.name} ({', '.join(names)})
            SELECT {', '.join(cols + derived + lineage)} FROM classed c JOIN _files f USING (_src)
            WHERE c._outcome = 'loaded' ORDER BY _src, _line""",
            [self.run_id],
        )
        if table.name == "claims":
            # a reversal is linked when the claim it cancels is loaded (now or in a later run)
            con.execute(
                """UPDATE main.claims AS r SET reversal_linked = EXISTS (
                       SELECT 1 FROM main.claims o WHERE o.claim_id = r.reverses_claim_id)
                   WHERE r.reverses_claim_id IS NOT NULL AND r.reversal_linked IS NOT TRUE"""
            )
        if table.name in PII_COLUMNS:
            self._seal(table)

    def _seal(self, table: Table) -> None:
        """Seal the original personal values of newly loaded rows in the identity vault."""
        con = self.con
        pii = PII_COLUMNS[table.name]
        key = table.key[0]
        entity = table.name[:-1]  # patients -> patient, doctors -> doctor
        rows = con.execute(
            f"SELECT {key}, {', '.join('o_' + c for c in pii)} FROM classed WHERE _outcome = 'loaded'"
        ).fetchall()
        sealed = [self.keyring.seal(dict(zip(pii, r[1:]))) for r in rows]
        vault = pa.table({
            "entity_type": pa.array([entity] * len(rows), pa.string()),
            "entity_id": pa.array([r[0] for r in rows], pa.string()),
            "sealed": pa.array(sealed, pa.binary()),
        })
        con.register("_vault", vault)
        try:
            con.execute("INSERT OR IGNORE INTO identity_vault SELECT * FROM _vault")
        finally:
            con.unregister("_vault")

    # -- rejects ---------------------------------------------------------------------------
    def _write_structural_rejects(self, table: Table, raws: list[RawSource], counts: list[FileCounts]) -> None:
        rows = []
        for i, r in enumerate(raws):
            header_of = {canon: h for h, canon in r.column_map.items()}
            for s in r.structural:
                raw = s.raw
                if table.name in PII_COLUMNS:
                    raw = "[personal data withheld; see the source file]"
                rows.append((self.run_id, table.name, r.source.name, r.sha256, s.line, s.column,
                             header_of.get(s.column) if s.column else None, s.reason, None, raw))
                counts[i].rejected += 1
                counts[i].reasons[s.reason] += 1
        if rows:
            arrow = pa.table(list(zip(*rows)), names=["run_id", "table_name", "source_file", "source_sha256", "line",
                                                       "column_name", "source_column", "reason", "value", "raw"])
            self._append_rejects(arrow)

    def _append_rejects(self, relation_sql_or_arrow) -> None:
        con = self.con
        if isinstance(relation_sql_or_arrow, pa.Table):
            con.register("_rej", relation_sql_or_arrow)
            src = "_rej"
        else:
            src = f"({relation_sql_or_arrow})"
        try:
            # a file ingested again rejects the same lines again: store each only once
            con.execute(
                f"""INSERT INTO rejects SELECT n.* FROM {src} n
                WHERE NOT EXISTS (SELECT 1 FROM rejects o WHERE o.source_sha256 = n.source_sha256
                                  AND o.line = n.line AND o.table_name = n.table_name)"""
            )
        finally:
            if src == "_rej":
                con.unregister("_rej")

    def _write_rejects(self, table: Table, raws: list[RawSource], source: str, where: str,
                       counts: list[FileCounts]) -> None:
        con = self.con
        reason_col = "_reason" if source == "typed" else "_outcome"
        column_col = "_column" if source == "typed" else self._column_of_outcome(table)
        raw_json = "json_object(" + ", ".join(f"'{c.name}', r_{c.name}" if source == "typed" else
                                             f"'{c.name}', CAST({c.name} AS VARCHAR)" for c in table.columns) + ")"
        value = "(CASE " + " ".join(
            f"WHEN {column_col} = '{c.name}' THEN " + (f"r_{c.name}" if source == "typed" else f"CAST({c.name} AS VARCHAR)")
            for c in table.columns) + " END)"
        for src, reason, n in con.execute(
            f"SELECT _src, {reason_col}, count(*) FROM {source} WHERE {where} GROUP BY ALL"
        ).fetchall():
            counts[src].rejected += n
            counts[src].reasons[reason] += n
        self._append_rejects(self._rejects_select(table, source, where, reason_col, column_col, value, raw_json))

    def _rejects_select(self, table, source, where, reason_col, column_col, value, raw_json) -> str:
        # run ids are generated here (letters, digits, dashes), never from input
        assert all(ch.isalnum() or ch == "-" for ch in self.run_id)
        return f"""SELECT '{self.run_id}' AS run_id, '{table.name}' AS table_name, f._file_name AS source_file,
                       f._sha256 AS source_sha256, s._line AS line, {column_col} AS column_name,
                       h._header AS source_column, {reason_col} AS reason, {value} AS value,
                       CAST({raw_json} AS VARCHAR) AS raw
                FROM {source} s JOIN _files f USING (_src)
                LEFT JOIN _headers h ON h._src = s._src AND h._canon = {column_col}
                WHERE {where}"""

    @staticmethod
    def _column_of_outcome(table: Table) -> str:
        whens = [f"WHEN _outcome = '{ref.reason}' THEN '{ref.column}'" for ref in table.references]
        whens.append(f"WHEN _outcome = 'conflicting_duplicate' THEN '{table.key[0]}'")
        return f"(CASE {' '.join(whens)} END)"

    def _register_files(self, table: Table, raws: list[RawSource]) -> None:
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
    con = ws.connect()
    run_id = new_run_id("ingest")
    timings: dict[str, float] = {}
    try:
        ws.check_key(con, keyring.fingerprint)
        ing = Ingestor(ws, con, keyring, mappings, forced, run_id, progress)
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
        if parquet:
            t0 = time.perf_counter()
            ws.export_parquet(con)
            timings["parquet export"] = round(time.perf_counter() - t0, 3)
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
    return {k: con.execute(sql, [run_id]).fetchone()[0] for k, sql in q.items()}


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
