"""``graphfraud case|explore|expand|report --neo4j``: the investigator views on a Neo4j graph.

The views are written against the workspace's tables. Here they run unchanged on a temporary
workspace that starts with a detection run's results (Ring, Lead, MEMBER_OF, EVIDENCE and
DetectRun read back into the ``detect_runs``, ``rings``, ``ring_members``, ``reasons``,
``ring_claims`` and ``leads`` tables), the facilities and the doctors, and that gets the
claims, items, cards and people a view asks for as it asks (``graphfraud.store.viewsource``), by id,
with the queries of ``cypher/views/``. Drawing one case reads that case's claims, not the graph.
Money travels as integer fen and comes back as exact yuan.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from graphfraud.neo4j.connect import Graph, Neo4jTarget
from graphfraud.neo4j.cypher import library
from graphfraud.neo4j.detect import append, extract_table, fen_to_yuan, native, rows_to_table
from graphfraud.store.claims import live_claims
from graphfraud.store.results import STORE_DDL
from graphfraud.store.viewsource import using
from graphfraud.store.workspace import Workspace

#: claims asked for in one query
CHUNK = 5000
#: entity type -> the query giving the claims it touches
TOUCHING = {"card": "view_card_claims", "patient": "view_patient_claims", "doctor": "view_doctor_claims",
            "facility": "view_facility_claims", "terminal": "view_terminal_claims"}


def _chunks(values: list, size: int = CHUNK) -> Iterator[list]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


class Neo4jViews:
    """A ``PartialSource``: copies what the views ask for out of the graph into ``con``."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.q = library("views")
        self.claims: set[str] = set()  # claim rows copied
        self.closed: set[str] = set()  # claims whose items, cards and people are copied too
        self.items: set[tuple[str, int]] = set()
        self.codes: set[str] = set()  # trace codes whose lines anywhere are copied
        self.cards: set[str] = set()
        self.patients: set[str] = set()
        self.touched: set[tuple[str, str]] = set()

    # ------------------------------------------------------------------ reading
    def _read(self, name: str, **params) -> list[dict]:
        q = self.q[name]
        return self.graph.read(q.text, params, name=q.name)

    def _read_ids(self, name: str, key: str, values: list[str]) -> list[dict]:
        rows: list[dict] = []
        for part in _chunks(values):
            rows += self._read(name, **{key: part})
        return rows

    @staticmethod
    def _insert(con, table: str, rows: list[dict]) -> None:
        """Rows an extraction-shaped query returned (money in fen) into a canonical table."""
        if rows:
            append(con, table, rows_to_table(table, rows))

    # ------------------------------------------------------------------ the run and the small tables
    def load_base(self, con, run_id: str | None) -> str | None:
        """Facilities, doctors and the results of run ``run_id`` (default: the latest); returns
        the run's id, or None when the graph holds no detection run."""

        for table in ("facilities", "doctors"):
            append(con, table, extract_table(self.graph, table))
        for ddl in STORE_DDL:
            con.execute(ddl)
        runs = self._read("view_run", run_id=run_id)
        if not runs:
            return None
        run = runs[0]
        run_id = run["run_id"]
        con.execute("INSERT INTO detect_runs VALUES (?, ?, ?, ?, NULL, NULL)",
                    [run_id, native(run["started_at"]), native(run["finished_at"]), run["out_dir"]])
        rings = self._read("view_rings", run_id=run_id)
        self._store(con, "rings", [
            {"run_id": run_id, "ring_id": r["ring_id"], "kind": r["kind"], "score": float(r["score"]),
             "rank": int(r["rank"]), "n_members": int(r["n_members"]), "n_claims": int(r["n_claims"]),
             "total_amount": fen_to_yuan(r["total_fen"]), "fund_amount": fen_to_yuan(r["fund_fen"]),
             "first_date": native(r["first_date"]), "last_date": native(r["last_date"]),
             "over_transfer_threshold": bool(r["over_transfer_threshold"]), "reasons_zh": r["reasons_zh"],
             "reasons_en": r["reasons_en"], "status": r["status"], "previous_id": r["previous_id"]}
            for r in rings])
        reasons = [{"run_id": run_id, "ring_id": r["ring_id"], "code": code, "value": value, "text_zh": zh,
                    "text_en": en}
                   for r in rings for code, value, zh, en in zip(r["reason_codes"] or [], r["reason_values"] or [],
                                                                r["reason_texts_zh"] or [], r["reason_texts_en"] or [])]
        self._store(con, "reasons", reasons)
        members = [{"run_id": run_id, "ring_id": m["ring_id"], "entity_type": m["entity_type"],
                    "entity_id": m["entity_id"], "role": m["role"], "n_claims": m["n_claims"],
                    "amount": fen_to_yuan(m["amount_fen"])} for m in self._read("view_members", run_id=run_id)]
        self._store(con, "ring_members", members)
        evidence = [{"run_id": run_id, **e} for e in self._read("view_evidence", run_id=run_id)]
        self._store(con, "ring_claims", evidence)
        rows = self._read("view_leads", run_id=run_id)
        leads = [{"run_id": run_id, "lead_id": x["lead_id"], "kind": x["kind"], "entity_type": x["entity_type"],
                  "entity_id": x["entity_id"], "claim_ids": ";".join(x["claim_ids"] or []),
                  "amount": fen_to_yuan(x["amount_fen"]), "text_zh": x["text_zh"], "text_en": x["text_en"],
                  "score": x["score"], "rank": x["rank"], "kind_rank": x["kind_rank"], "reasons_zh": x["reasons_zh"],
                  "reasons_en": x["reasons_en"], "queued": x["queued"]} for x in rows]
        self._store(con, "leads", leads)
        self._store(con, "lead_reasons", [
            {"run_id": run_id, "lead_id": x["lead_id"], "code": code, "value": value, "points": points,
             "text_zh": zh, "text_en": en}
            for x in rows for code, value, points, zh, en in zip(
                x["reason_codes"] or [], x["reason_values"] or [], x["reason_points"] or [],
                x["reason_texts_zh"] or [], x["reason_texts_en"] or [])])
        return run_id

    @staticmethod
    def _store(con, table: str, rows: list[dict]) -> None:
        """Rows already in a results table's columns and units."""
        if rows:
            append(con, table, pa.Table.from_pylist(rows, schema=_schema(con, table)))

    # ------------------------------------------------------------------ PartialSource
    def need_claims(self, con, claim_ids: Iterable[str], entities: Iterable[tuple[str, str]] = ()) -> None:
        ids = sorted(set(claim_ids) - self.closed)
        self._copy_claims(con, ids)
        if ids:
            self._copy_items(con, ids)
            self.closed.update(ids)
        cards = {eid for et, eid in entities if et == "card"}
        patients = {eid for et, eid in entities if et == "patient"}
        if ids:
            for card, patient in con.execute(
                    "SELECT card_id, patient_id FROM claims WHERE claim_id IN (SELECT unnest(?::VARCHAR[]))",
                    [ids]).fetchall():
                cards.add(card)
                if patient:
                    patients.add(patient)
        self._copy_cards(con, cards)
        if cards:
            patients |= {p for (p,) in con.execute(
                "SELECT patient_id FROM cards WHERE card_id IN (SELECT unnest(?::VARCHAR[])) AND patient_id IS NOT NULL",
                [sorted(cards)]).fetchall()}
        self._copy_patients(con, patients)

    def need_touching(self, con, entities: Iterable[tuple[str, str]]) -> None:
        by_type: dict[str, list[str]] = {}
        for et, eid in entities:
            if et in TOUCHING and (et, eid) not in self.touched:
                by_type.setdefault(et, []).append(eid)
        found: set[str] = set()
        for et, ids in by_type.items():
            found |= {r["claim_id"] for r in self._read_ids(TOUCHING[et], "ids", sorted(ids))}
            self.touched.update((et, eid) for eid in ids)
        self._copy_claims(con, sorted(found))

    def need_people(self, con, kind: str, value: str) -> None:
        name = {"phone": "view_phone_people", "address": "view_address_people"}[kind]
        people = sorted({r["patient_id"] for r in self._read(name, value=value)})
        self._copy_patients(con, people)
        self.need_touching(con, [("patient", p) for p in people])

    # ------------------------------------------------------------------ copying
    def _copy_claims(self, con, ids: list[str]) -> None:
        """Claim rows, and the reversal rows that cancel them (so live_claims stays right)."""

        new = [c for c in ids if c not in self.claims]
        if not new:
            return
        rows = self._read_ids("view_claims", "ids", new)
        self.claims.update(new)
        reversals = [r["claim_id"] for r in self._read_ids("view_reversals", "ids", new)
                     if r["claim_id"] not in self.claims]
        if reversals:
            rows += self._read_ids("view_claims", "ids", reversals)
            self.claims.update(reversals)
        self._insert(con, "claims", rows)
        live_claims(con)

    def _copy_items(self, con, ids: list[str]) -> None:
        rows = self._read_ids("view_items", "ids", ids)
        codes = sorted({r["trace_code"] for r in rows if r["trace_code"]} - self.codes)
        if codes:
            rows += self._read_ids("view_trace_items", "codes", codes)
            self.codes.update(codes)
        fresh = []
        for r in rows:
            key = (r["claim_id"], int(r["item_no"]))
            if key not in self.items:
                self.items.add(key)
                fresh.append(r)
        self._insert(con, "items", fresh)

    def _copy_cards(self, con, cards: set[str]) -> None:
        new = sorted(cards - self.cards)
        if new:
            self._insert(con, "cards", self._read_ids("view_cards", "ids", new))
            self.cards.update(new)

    def _copy_patients(self, con, patients: Iterable[str]) -> None:
        new = sorted(set(patients) - self.patients)
        if new:
            self._insert(con, "patients", self._read_ids("view_patients", "ids", new))
            self.patients.update(new)


def _schema(con, table: str) -> pa.Schema:
    """The Arrow schema of a workspace table (so empty or all-null columns keep their types)."""
    return con.sql(f"SELECT * FROM {table} LIMIT 0").to_arrow_table().schema


@contextmanager
def open_views(target: Neo4jTarget, *, run_id: str | None = None, workdir: str | Path | None = None,
               memory_limit: str | None = None):
    """A DuckDB connection the view functions can take, filled from the graph at ``target``
    as they ask (see the module doc). The temporary workspace is removed afterwards."""
    with Graph(target) as graph, tempfile.TemporaryDirectory(prefix="graphfraud-views-", dir=workdir) as tmp:
        ws = Workspace.open(Path(tmp) / "workspace", create=True)
        con = ws.connect(memory_limit=memory_limit)
        try:
            source = Neo4jViews(graph)
            source.load_base(con, run_id)
            with using(source):
                yield con
        finally:
            con.close()


@dataclass(frozen=True)
class Neo4jSource:
    """The graph at ``target`` as a ``store.source.Source``: each ``connect`` opens a temporary
    workspace that ``open_views`` fills from the graph as the views ask."""

    target: Neo4jTarget
    workdir: str | Path | None = None

    @property
    def name(self) -> str:
        return self.target.uri

    @contextmanager
    def connect(self, run_id: str | None = None):
        with open_views(self.target, run_id=run_id, workdir=self.workdir) as con:
            yield con
