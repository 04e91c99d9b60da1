"""``graphfraud load``: the canonical tables of a workspace into Neo4j, over Bolt.

Each table is read from the workspace in key order and written in batches with the table's
``UNWIND $rows`` query from ``cypher/load/tables.cypher`` (MERGE on constrained keys, so a
second load changes nothing). Claims and claim lines the graph does not hold yet take a
CREATE query instead, checked in the batch's own transaction: their ties cannot exist yet, so
the server does not look for them among a busy pharmacy's or a common drug's ties. When the
graph holds none of a table's rows but those this load has committed (``graph_counts``: the
usual first load), the check is skipped and every row of patients, cards, claims and claim
lines takes the CREATE query. A ``LoadProgress`` node per table, written in the same
transaction as each batch, records how many batches are committed: a load that was
interrupted continues after its last committed batch. Lost connections and transient errors
are retried with backoff. The only query text is the named queries; table names come from
the code's whitelist, never from data.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from graphfraud.core.errors import GraphfraudError
from graphfraud.neo4j.connect import Graph, Neo4jTarget
from graphfraud.neo4j.cypher import library
from graphfraud.store.schema import LOAD_ORDER
from graphfraud.store.workspace import Workspace

DEFAULT_BATCH_SIZE = 5000

#: a TIMESTAMP column as ISO text to the microsecond (``localdatetime()`` reads it), a DATE as
#: ISO text (``date()``): text crosses Bolt far cheaper than the driver's temporal types
ISO_TIMESTAMP = "strftime({c}, '%Y-%m-%dT%H:%M:%S.%f')"
ISO_DATE = "CAST({c} AS VARCHAR)"


def _ts(c: str) -> str:
    return ISO_TIMESTAMP.format(c=c) + f" AS {c}"


def _d(c: str) -> str:
    return ISO_DATE.format(c=c) + f" AS {c}"


#: tables whose new rows take a CREATE query (ties that cannot exist yet are not looked for):
#: table -> (the query naming the keys already in the graph, or None, and the query for the
#: others). Without a naming query the CREATE query is used only on a fresh table (see ``load``).
NEW_ROWS = {"patients": (None, "load_patients_new"), "cards": (None, "load_cards_new"),
            "claims": ("existing_claims", "load_claims_new"), "items": ("existing_items", "load_items_new")}

#: per canonical table: the SELECT that reads it in key order, shaped for its load query.
#: Money becomes integer fen, exact decimals become text: Neo4j has no decimal type.
SELECTS: dict[str, str] = {
    "patients": f"""SELECT patient_id, id_number, name, sex, {_d('birth_date')}, {_d('death_date')}, phone, address,
                           insured_region, insurance_type, id_number_valid FROM patients ORDER BY patient_id""",
    "facilities": """SELECT facility_id, name, facility_type, level, region_code, latitude, longitude
                     FROM facilities ORDER BY facility_id""",
    "doctors": "SELECT doctor_id, name, facility_id, department FROM doctors ORDER BY doctor_id",
    "cards": f"SELECT card_id, patient_id, card_type, {_d('issued_at')} FROM cards ORDER BY card_id",
    "claims": f"""SELECT claim_id, card_id, patient_id, facility_id, doctor_id, claim_type, {_ts('settled_at')},
                        {_d('admit_date')}, {_d('discharge_date')}, diagnosis_code,
                        CAST(total_amount * 100 AS BIGINT) AS total_fen, CAST(fund_amount * 100 AS BIGINT) AS fund_fen,
                        CAST(account_amount * 100 AS BIGINT) AS account_fen,
                        CAST(self_amount * 100 AS BIGINT) AS self_fen,
                        terminal_id, region_code, reverses_claim_id, reversal_linked, amount_parts_mismatch,
                        coalesce(k.holder, patient_id, card_id) AS _stream_key
                 FROM claims LEFT JOIN (SELECT card_id, any_value(patient_id) AS holder FROM cards GROUP BY card_id) k
                      USING (card_id)
                 ORDER BY claim_id""",
    "items": """SELECT claim_id, item_no, item_code, item_name, category, CAST(quantity AS VARCHAR) AS quantity,
                       CAST(unit_price AS VARCHAR) AS unit_price, CAST(amount * 100 AS BIGINT) AS amount_fen,
                       days_supply, trace_code, claim_id AS _stream_key
                FROM items ORDER BY claim_id, item_no""",
}
#: the catalogue of claim items: each code with the name and category of its first line in key
#: order. The Bolt loader creates the Drug nodes from it before the lines, the bulk files
#: write it as the Drug nodes, so either way a drug is named alike, whichever writer is first.
DRUG_CATALOGUE = """SELECT item_code, first(item_name ORDER BY claim_id, item_no) AS item_name,
                           first(category ORDER BY claim_id, item_no) AS category
                    FROM items GROUP BY item_code ORDER BY item_code"""

#: the tables written by several writers at once, with the key order of each writer's rows.
#: A claim goes to the writer its card's holder picks (``_stream_key``), so one writer touches
#: a person's cards and claims; the writers then seldom wait for each other's locks, and when
#: they deadlock (two new doctors or terminals at once) the driver retries the batch. Every
#: node a claim MERGEs has no property set on creation, so the graph does not depend on which
#: writer came first. Claim lines go by claim: a claim's lines stay with one writer. Their
#: drugs exist before the lines (``load_drugs``), and a trace code is created bare by whichever
#: writer meets it first (two writers meeting one new code at once deadlock, and one retries).
STREAMED = {"claims": "claim_id", "items": "claim_id, item_no"}


def _grouped_items(rows: list[dict]) -> dict:
    """The parameters of ``load_items_new`` for ``rows`` (in key order): the batch's distinct
    drugs, each with the name and category of its first line (as the MERGE of ``load_items``
    would create it), and its claims, each with its lines, a line's drug by index. ``rows``
    are left as they were: a transaction retried after a deadlock shapes them again."""
    drugs: dict[str, int] = {}
    drug_rows: list[dict] = []
    claims: list[dict] = []
    for r in rows:
        code = r["item_code"]
        d = drugs.get(code)
        if d is None:
            d = drugs[code] = len(drug_rows)
            drug_rows.append({"item_code": code, "item_name": r["item_name"], "category": r["category"]})
        if not claims or claims[-1]["claim_id"] != r["claim_id"]:
            claims.append({"claim_id": r["claim_id"], "lines": []})
        line = dict(r)
        del line["claim_id"], line["item_code"]
        line["d"] = d
        claims[-1]["lines"].append(line)
    return {"drugs": drug_rows, "claims": claims}


def _grouped_claims(rows: list[dict]) -> dict:
    """The parameters of ``load_claims_new`` for ``rows``: the batch's distinct facilities,
    doctors and terminals, and the rows naming theirs by index (``f``, ``d``, ``t``)."""
    out: dict[str, list] = {"facilities": [], "doctors": [], "terminals": [], "rows": []}
    index: dict[str, dict[str, int]] = {"facilities": {}, "doctors": {}, "terminals": {}}
    for r in rows:
        row = dict(r)
        for column, ref, group in (("facility_id", "f", "facilities"), ("doctor_id", "d", "doctors"),
                                   ("terminal_id", "t", "terminals")):
            key = row.pop(column)
            if key is None:
                row[ref] = None
                continue
            seen = index[group]
            i = seen.get(key)
            if i is None:
                i = seen[key] = len(out[group])
                out[group].append(key)
            row[ref] = i
        out["rows"].append(row)
    return out


#: load queries whose parameters are not ``{"rows": rows}``: query name -> the shaping function
GROUPED = {"load_items_new": _grouped_items, "load_claims_new": _grouped_claims}
DEFAULT_WRITERS = 2


@dataclass
class TableLoad:
    table: str
    rows: int = 0
    batches: int = 0
    skipped_batches: int = 0
    skipped_rows: int = 0  # in the skipped batches
    nodes_created: int = 0
    relationships_created: int = 0
    properties_set: int = 0
    seconds: float = 0.0
    fresh: bool = False  # written by the CREATE query without asking the graph (see ``load``)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass
class LoadResult:
    uri: str
    load_key: str
    batch_size: int
    tables: dict[str, TableLoad] = field(default_factory=dict)
    resumed: bool = False
    seconds: float = 0.0
    aggregate_seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables.values())

    @property
    def relationships_created(self) -> int:
        return sum(t.relationships_created for t in self.tables.values())

    @property
    def nodes_created(self) -> int:
        return sum(t.nodes_created for t in self.tables.values())


def apply_schema(graph: Graph) -> int:
    """Create the constraints and indexes of ``cypher/schema.cypher`` (idempotent)."""
    q = library("schema")["schema"]
    statements = q.statements()
    for i, stmt in enumerate(statements):
        graph.run_auto(stmt, name=f"schema.{i}")
    graph.run_auto("CALL db.awaitIndexes(300)", name="schema.await")
    return len(statements)


def load_key(con, ws: Workspace, batch_size: int, writers: int = 1) -> str:
    """Names one state of the workspace (its ingest runs) loaded with one batch size: progress
    is resumed only for the same state and batch size."""
    runs = [r[0] for r in con.execute("SELECT run_id FROM ingest_runs ORDER BY run_id").fetchall()]
    text = "\x1f".join([str(ws.path.resolve()), str(batch_size), f"writers={writers}", *runs])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def load(workspace: str | Path, target: Neo4jTarget, *, batch_size: int = DEFAULT_BATCH_SIZE,
         tables: tuple[str, ...] = LOAD_ORDER, aggregate: bool = True, writers: int = DEFAULT_WRITERS,
         progress: Callable[[str, int], None] | None = None) -> LoadResult:
    """Load the workspace's canonical tables into the Neo4j at ``target``; the claims
    with ``writers`` concurrent writers (the server then uses more than one core)."""
    if batch_size < 1:
        raise GraphfraudError("bad_option", option="--batch-size", detail=str(batch_size))
    if not 1 <= writers <= 8:
        raise GraphfraudError("bad_option", option="--writers", detail=str(writers))
    unknown = [t for t in tables if t not in SELECTS]
    if unknown:
        raise GraphfraudError("bad_option", option="tables", detail=", ".join(unknown))
    ws = Workspace.open(workspace)
    queries = library("load")
    started = time.perf_counter()
    con = ws.connect(read_only=True)
    try:
        key = load_key(con, ws, batch_size, writers)
        with Graph(target) as graph:
            apply_schema(graph)
            done = {(r["table"], r["stream"] or 0): r for r in graph.read(
                queries["progress_get"].text, {"load_key": key}, name="progress_get")}
            if done and all(r["complete"] for r in done.values()):
                # the same state was fully loaded before: load again from the start (idempotent)
                graph.write(lambda tx: tx.run(queries["progress_reset"].text, {"load_key": key}).consume(),
                            name="progress_reset")
                done = {}
            counts = graph.read(queries["graph_counts"].text, name="graph_counts")[0]
            # a table is fresh when the graph holds only what this load has committed of it
            fresh = {t: int(counts[t]) == sum(int(r["rows_done"] or 0) for (tt, _), r in done.items() if tt == t)
                     for t in NEW_ROWS}
            result = LoadResult(target.safe_uri(), key, batch_size, resumed=bool(done))
            lock = threading.Lock()

            def locked_progress(table: str, n: int) -> None:
                with lock:
                    progress(table, n)

            for table in tables:
                t_drugs = time.perf_counter()
                drugs = _load_drugs(con, graph, queries) if table == "items" else 0
                t_drugs = time.perf_counter() - t_drugs
                if table in STREAMED and writers > 1:
                    result.tables[table] = _load_streams(con, target, queries, table, key, batch_size, writers,
                                                         done, locked_progress if progress else None,
                                                         fresh=fresh.get(table, False))
                else:
                    result.tables[table] = _load_table(con, graph, queries, table, key, batch_size,
                                                       done.get((table, 0)), progress, fresh=fresh.get(table, False))
                # the catalogue step is part of loading the lines: its nodes and time count there
                result.tables[table].nodes_created += drugs
                result.tables[table].seconds = round(result.tables[table].seconds + t_drugs, 3)
            if aggregate:
                t0 = time.perf_counter()
                for name in ("aggregate_visited", "aggregate_prescribes_to"):
                    graph.run_auto(queries[name].text, name=name)
                result.aggregate_seconds = round(time.perf_counter() - t0, 3)
    finally:
        con.close()
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _load_streams(con, target: Neo4jTarget, queries, table: str, key: str, batch_size: int, writers: int,
                  done: dict, progress, *, fresh: bool = False) -> TableLoad:
    """One table by ``writers`` threads, each with its own connection, its own rows (by
    ``_stream_key``) in key order and its own progress; the stats added up."""
    parts: list[TableLoad | BaseException | None] = [None] * writers
    t0 = time.perf_counter()

    def run(stream: int) -> None:
        try:
            with Graph(target) as graph:
                parts[stream] = _load_table(con.cursor(), graph, queries, table, key, batch_size,
                                            done.get((table, stream)), progress, stream=stream, streams=writers,
                                            fresh=fresh)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            parts[stream] = exc

    threads = [threading.Thread(target=run, args=(i,), name=f"load-{table}-{i}") for i in range(writers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for part in parts:
        if isinstance(part, BaseException):
            raise part
    stats = TableLoad(table, fresh=fresh)
    for part in parts:
        for name in ("rows", "batches", "skipped_batches", "skipped_rows", "nodes_created", "relationships_created",
                     "properties_set"):
            setattr(stats, name, getattr(stats, name) + getattr(part, name))
    stats.seconds = round(time.perf_counter() - t0, 3)
    return stats


def _load_drugs(con, graph: Graph, queries) -> int:
    """Create the Drug nodes of the catalogue (``DRUG_CATALOGUE``) that the graph lacks, in one
    transaction (a region has a few thousand items); returns how many were created."""
    rows = con.sql(DRUG_CATALOGUE).to_arrow_table().to_pylist()
    if not rows:
        return 0
    counters = graph.write(lambda tx: tx.run(queries["load_drugs"].text, {"rows": rows}).consume().counters,
                           name="load_drugs")
    return counters.nodes_created


def _stream_select(table: str, stream: int, streams: int) -> str:
    """The rows of one writer: the table's SELECT filtered on a stable hash of its stream key
    (MD5, the same in every DuckDB version, so a resumed load cuts the same batches)."""
    if streams == 1:
        return SELECTS[table]
    bucket = "(strpos('0123456789abcdef', left(md5(_stream_key), 1)) - 1)"
    return (f"SELECT * FROM ({SELECTS[table]}) WHERE {bucket} % {int(streams)} = {int(stream)} "
            f"ORDER BY {STREAMED[table]}")


def _load_table(con, graph: Graph, queries, table: str, key: str, batch_size: int, done: dict | None,
                progress, *, stream: int = 0, streams: int = 1, fresh: bool = False) -> TableLoad:
    """One table (or one writer's share of it) in batches. ``fresh``: the graph held none of
    the table's rows still to write when the load started, so they all take the CREATE query."""
    stats = TableLoad(table, fresh=fresh)
    t0 = time.perf_counter()
    query_name = f"load_{table}"
    query = queries[query_name].text
    check_name, new_name = NEW_ROWS.get(table, (None, None))
    check = queries[check_name].text if check_name and not fresh else None
    if fresh and new_name:
        # nothing to look for: every row is new
        query_name, query = new_name, queries[new_name].text
    mark = queries["progress_mark"].text
    already = int(done["batches_done"]) if done else 0
    progress_id = f"{key}/{table}" if streams == 1 else f"{key}/{table}/{stream}"
    if done and done.get("complete"):
        stats.skipped_batches = already
        stats.skipped_rows = int(done.get("rows_done") or 0)
        stats.seconds = 0.0
        return stats
    batch_no = 0
    rows_done = 0
    for chunk in _batches(con, _stream_select(table, stream, streams), batch_size):
        rows_done += chunk.num_rows
        if batch_no < already:  # committed by an earlier, interrupted load
            batch_no += 1
            stats.skipped_batches += 1
            stats.skipped_rows += chunk.num_rows
            if progress:
                progress(table, chunk.num_rows)
            continue
        if "_stream_key" in chunk.column_names:
            chunk = chunk.drop_columns(["_stream_key"])
        rows = chunk.to_pylist()
        params = {"progress_id": progress_id, "load_key": key, "table": table, "stream": stream,
                  "batches_done": batch_no + 1, "rows_done": rows_done, "batch_size": batch_size, "complete": False}

        def work(tx, rows=rows, params=params):
            parts = [(query_name, query, rows)]
            if check is not None:
                # rows of claims the graph does not hold yet are CREATEd; the rest are MERGEd
                ids = sorted({r["claim_id"] for r in rows})
                there = {r["id"] for r in tx.run(check, {"ids": ids})}
                parts = [(new_name, queries[new_name].text, [r for r in rows if r["claim_id"] not in there]),
                         (query_name, query, [r for r in rows if r["claim_id"] in there])]
            counters = [tx.run(q, (GROUPED[q_name](part) if q_name in GROUPED else {"rows": part})).consume().counters
                        for q_name, q, part in parts if part]
            tx.run(mark, params).consume()
            return counters

        for counters in graph.write(work, name=f"load_{table}", batch=batch_no):
            stats.nodes_created += counters.nodes_created
            stats.relationships_created += counters.relationships_created
            stats.properties_set += counters.properties_set
        stats.rows += chunk.num_rows
        stats.batches += 1
        batch_no += 1
        if progress:
            progress(table, chunk.num_rows)
    graph.write(lambda tx: tx.run(mark, {"progress_id": progress_id, "load_key": key, "table": table,
                                         "stream": stream, "batches_done": batch_no, "rows_done": rows_done,
                                         "batch_size": batch_size, "complete": True}).consume(),
                name="progress_mark")
    stats.seconds = round(time.perf_counter() - t0, 3)
    return stats


def _batches(con, select: str, size: int):
    """The rows of ``select`` as Arrow record batches of exactly ``size`` rows (the last may be
    shorter), so batch numbers mean the same rows on every run of the same load."""
    import pyarrow as pa

    reader = con.sql(select).to_arrow_reader(size)
    pending: list = []
    n = 0
    for rb in reader:
        pending.append(rb)
        n += rb.num_rows
        while n >= size:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, size)
            rest = table.slice(size)
            pending, n = rest.to_batches(), rest.num_rows
    if n:
        yield pa.Table.from_batches(pending)


def table_rows(workspace: str | Path, tables: tuple[str, ...] = LOAD_ORDER) -> dict[str, int]:
    """Row counts of the tables a load reads (for a progress bar)."""
    ws = Workspace.open(workspace)
    con = ws.connect(read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables if t in SELECTS}
    finally:
        con.close()
