"""``graphfraud detect --neo4j``: the same detectors on the tables a Neo4j server holds.

The canonical tables are read with the extraction queries of ``cypher/extract/`` (one per
table, returning the data contract's columns), materialised into a temporary workspace, and
``graphfraud.detect.run.detect`` runs on it unchanged. The previous run's ring keys are read
back from the Ring nodes, so ids stay stable. The results are then written into the graph
(``cypher/results/write.cypher``), replacing the rings and leads of the kinds this run looked
for.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from graphfraud import __version__
from graphfraud.detect import registry
from graphfraud.detect.run import detect as run_detect
from graphfraud.detect.settings import Settings
from graphfraud.neo4j.connect import Graph, Neo4jTarget
from graphfraud.neo4j.cypher import library
from graphfraud.store.results import LEAD_KINDS, STORE_DDL
from graphfraud.store.schema import DATE, DATETIME, DECIMAL, FLOAT, INTEGER, LOAD_ORDER, MONEY, TABLES
from graphfraud.store.workspace import Workspace

#: entity types a ring member may have (the only ones written back; each has its query)
MEMBER_TYPES = ("card", "patient", "doctor", "facility", "terminal", "phone", "address", "drug")
#: money columns travel as integer fen under these names
FEN = {"total_amount": "total_fen", "fund_amount": "fund_fen", "account_amount": "account_fen",
       "self_amount": "self_fen", "amount": "amount_fen"}
_ARROW = {MONEY: pa.decimal128(18, 2), DECIMAL: pa.decimal128(18, 4), DATE: pa.date32(),
          DATETIME: pa.timestamp("us"), INTEGER: pa.int64(), FLOAT: pa.float64()}


def fen_to_yuan(fen: int | None) -> Decimal | None:
    """Integer fen back to exact yuan: ``12345`` -> ``Decimal('123.45')``."""
    return None if fen is None else Decimal(int(fen)).scaleb(-2)


def yuan_to_fen(amount: Decimal | None) -> int | None:
    if amount is None:
        return None
    fen = Decimal(amount) * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"amount {amount} has more than two decimals")
    return int(fen)


def native(v):
    return v.to_native() if hasattr(v, "to_native") else v


def _column(table: str, name: str, values: list) -> pa.Array:
    derived = dict(TABLES[table].derived)
    if name in derived:
        return pa.array(values, pa.bool_())
    kind = TABLES[table].column(name).kind
    if kind == MONEY:
        return pa.array([fen_to_yuan(v) for v in values], _ARROW[MONEY])
    if kind == DECIMAL:
        return pa.array([None if v is None else Decimal(v) for v in values], _ARROW[DECIMAL])
    if kind in (DATE, DATETIME):
        return pa.array([native(v) for v in values], _ARROW[kind])
    return pa.array(values, _ARROW.get(kind, pa.string()))


def extract_table(graph: Graph, table: str) -> pa.Table:
    """One canonical table read from the graph with ``cypher/extract/<table>.cypher``."""
    q = library("extract")[f"extract_{table}"]
    return rows_to_table(table, graph.read(q.text, name=q.name))


def rows_to_table(table: str, rows: list[dict]) -> pa.Table:
    """Rows an extraction query returned (money in fen) as the canonical table's columns."""
    names = [*TABLES[table].column_names, *dict(TABLES[table].derived)]
    derived = dict(TABLES[table].derived)
    arrays, fields = [], []
    for name in names:
        src = FEN[name] if name not in derived and TABLES[table].column(name).kind == MONEY else name
        values = [r.get(src) for r in rows]
        arrays.append(_column(table, name, values))
        fields.append(name)
    return pa.Table.from_arrays(arrays, names=fields)


def append(con, table: str, data: pa.Table) -> None:
    """Add an Arrow table's rows to workspace table ``table`` (a fixed name), by column name."""
    con.register("_neo4j_rows", data)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _neo4j_rows")
    finally:
        con.unregister("_neo4j_rows")


def materialise(graph: Graph, con) -> dict[str, int]:
    """Every canonical table from the graph into the workspace connection ``con``."""
    counts = {}
    for table in LOAD_ORDER:
        data = extract_table(graph, table)
        append(con, table, data)
        counts[table] = data.num_rows
    return counts


def seed_previous(graph: Graph, con) -> str | None:
    """The rings now in the graph become the temporary workspace's previous run, so
    ``assign_ids`` keeps their ids."""

    for ddl in STORE_DDL:
        con.execute(ddl)
    rows = graph.read(library("results")["previous_ring_keys"].text, name="previous_ring_keys")
    if not rows:
        return None
    run_id = max(r["run_id"] or "" for r in rows) or "neo4j-previous"
    con.execute("INSERT INTO detect_runs VALUES (?, now(), now(), NULL, NULL, NULL)", [run_id])
    keys = [(run_id, r["ring_id"], r["kind"], e) for r in rows for e in (r["key"] or [])]
    if keys:
        con.executemany("INSERT INTO ring_keys VALUES (?, ?, ?, ?)", keys)
    return run_id


def detect(target: Neo4jTarget, out_dir: str | Path, *, settings=None, memory_limit: str | None = None,
           progress: Callable[[str], None] | None = None, workdir: str | Path | None = None):
    """Detection on what the Neo4j at ``target`` holds; results go to ``out_dir`` and back
    into the graph. Returns the ``DetectResult`` of ``graphfraud.detect.run``."""

    settings = settings or Settings()
    with Graph(target) as graph, tempfile.TemporaryDirectory(prefix="graphfraud-neo4j-",
                                                             dir=workdir) as tmp:
        ws = Workspace.open(Path(tmp) / "workspace", create=True)
        con = ws.connect(memory_limit=memory_limit)
        try:
            materialise(graph, con)
            seed_previous(graph, con)
        finally:
            con.close()
        result = run_detect(ws.path, out_dir, settings=settings, memory_limit=memory_limit, progress=progress,
                            source=target.safe_uri())
        ring_kinds = sorted(registry.kinds())  # every kind the detectors can produce
        lead_kinds = list(LEAD_KINDS) if settings.leads.enabled else []
        write_results(graph, result, ring_kinds, lead_kinds)
    return result


def write_results(graph: Graph, result, ring_kinds: list[str], lead_kinds: list[str], *, batch: int = 500) -> None:
    """Replace the graph's rings and leads of these kinds with the run's, in one transaction."""
    q = library("results")
    manifest = json.loads(Path(result.manifest_path).read_text(encoding="utf-8"))
    rings = [{"ring_id": r.ring_id, "props": ring_props(r, result.run_id)} for r in result.rings]
    evidence = [{"ring_id": r.ring_id, "claim_ids": list(r.claim_ids)} for r in result.rings]
    members: dict[str, list[dict]] = {t: [] for t in MEMBER_TYPES}
    for r in result.rings:
        for m in r.members:
            if m.entity_type in members:
                members[m.entity_type].append({"ring_id": r.ring_id, "entity_type": m.entity_type,
                                               "entity_id": m.entity_id, "role": m.role,
                                               "n_claims": int(m.n_claims), "amount_fen": yuan_to_fen(m.amount)})
    leads = [{"lead_id": x.lead_id, "card_id": x.entity_id if x.entity_type == "card" else None,
              "claim_ids": list(x.claim_ids),
              "props": lead_props(x, result.run_id)} for x in result.leads]

    def work(tx):
        tx.run(q["delete_rings"].text, {"kinds": ring_kinds}).consume()
        tx.run(q["delete_leads"].text, {"kinds": lead_kinds}).consume()
        tx.run(q["create_run"].text, {
            "run_id": result.run_id, "started_at": dt.datetime.fromisoformat(manifest["started_at"]),
            "finished_at": dt.datetime.fromisoformat(manifest["finished_at"]), "out_dir": manifest["out_dir"],
            "source": manifest.get("source"), "n_rings": len(result.rings), "n_leads": len(result.leads),
            "version": __version__}).consume()
        for name, rows in [("create_rings", rings), ("ring_evidence", evidence), ("create_leads", leads),
                           *((f"member_{t}", members[t]) for t in MEMBER_TYPES)]:
            for i in range(0, len(rows), batch):
                tx.run(q[name].text, {"rows": rows[i:i + batch]}).consume()

    graph.write(work, name="write_results", run_id=result.run_id)


def lead_props(x, run_id: str) -> dict:
    """A lead's properties in the graph: the work queue's score, ranks and reasons with it
    (a lead the queue did not keep has no rank)."""
    return {"kind": x.kind, "entity_type": x.entity_type, "entity_id": x.entity_id, "claim_ids": list(x.claim_ids),
            "amount_fen": yuan_to_fen(x.amount), "text_zh": x.text_zh, "text_en": x.text_en,
            "score": float(x.score), "rank": x.rank, "kind_rank": x.kind_rank, "queued": bool(x.queued),
            "reasons_zh": x.reasons_line("zh"), "reasons_en": x.reasons_line("en"),
            "reason_codes": [r.code for r in x.reasons], "reason_values": [str(r.value) for r in x.reasons],
            "reason_points": [float(r.points or 0.0) for r in x.reasons],
            "reason_texts_zh": [r.text_zh for r in x.reasons], "reason_texts_en": [r.text_en for r in x.reasons],
            "run_id": run_id}


def ring_props(r, run_id: str) -> dict:
    return {"kind": r.kind, "score": float(r.score), "rank": int(r.rank), "n_members": int(r.n_members),
            "n_claims": int(r.n_claims), "total_fen": yuan_to_fen(r.total_amount),
            "fund_fen": yuan_to_fen(r.fund_amount), "first_date": r.first_date, "last_date": r.last_date,
            "over_transfer_threshold": bool(r.over_transfer_threshold), "reasons_zh": r.reasons_line("zh"),
            "reasons_en": r.reasons_line("en"), "reason_codes": [x.code for x in r.reasons],
            "reason_values": [str(x.value) for x in r.reasons], "reason_texts_zh": [x.text_zh for x in r.reasons],
            "reason_texts_en": [x.text_en for x in r.reasons], "status": r.status, "previous_id": r.previous_id,
            "key": sorted(r.key), "run_id": run_id}
