"""The unit layer of the Neo4j loader, without a server: ``load`` runs against a recording fake
of the graph (tests/neo4j_fake.py) and the test checks what it sends — every value a
parameter, only the schema's labels and types, batches of the size asked for that add up to
every row, a progress mark in each batch's transaction, and a resumed load that sends only
the batches the interrupted one did not commit. The same loader is run against the real
Neo4j in test_neo4j_load.py."""

from __future__ import annotations

import re
import shutil

import duckdb
import pytest
from neo4j_fake import RecordingGraph

from graphfraud.core.resources import asset_path
from graphfraud.neo4j import load as load_module
from graphfraud.neo4j.connect import Neo4jTarget

TARGET = Neo4jTarget("bolt://fake:7687", "neo4j", "not-a-password", None)


@pytest.fixture(scope="module")
def workspace(detected_region, tmp_path_factory):
    _, ws, _, _ = detected_region
    copy = tmp_path_factory.mktemp("recording") / "ws"
    shutil.copytree(ws, copy)
    return copy


def _counts(ws) -> dict[str, int]:
    con = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                for t in ("patients", "cards", "facilities", "doctors", "claims", "items")}
    finally:
        con.close()


def _run(monkeypatch, ws, fake: RecordingGraph, **kw):
    monkeypatch.setattr(load_module, "Graph", fake)
    return load_module.load(ws, TARGET, **kw)


def _schema_labels() -> set[str]:
    text = asset_path("cypher", "schema.cypher").read_text(encoding="utf-8")
    return set(re.findall(r"\(\w*:([A-Z]\w*)", text))


def test_the_loader_sends_parameters_batches_and_progress_marks(monkeypatch, workspace):
    fake = RecordingGraph(answers={"graph_counts": [{"patients": 0, "cards": 0, "claims": 0, "items": 0}]})
    result = _run(monkeypatch, workspace, fake, batch_size=700, writers=2)
    counts = _counts(workspace)
    con = duckdb.connect(str(workspace / "graphfraud.duckdb"), read_only=True)
    try:
        some_ids = [r[0] for r in con.execute("SELECT claim_id FROM claims ORDER BY claim_id LIMIT 50").fetchall()]
        some_cards = [r[0] for r in con.execute("SELECT card_id FROM cards ORDER BY card_id LIMIT 50").fetchall()]
    finally:
        con.close()
    # every value travels as a parameter: no id of the data appears in any query's text
    texts = "\n".join(c.text for c in fake.calls)
    assert not [x for x in some_ids + some_cards if x in texts]
    # only the schema's labels, the facility types' fixed labels and the loader's progress node
    labels = _schema_labels()
    used = set(re.findall(r"\(\w*:([A-Z]\w*)", texts)) | set(re.findall(r"SET \w+:([A-Z]\w*)", texts))
    allowed = labels | {"Hospital", "Clinic", "Pharmacy", "LoadProgress"}
    assert used <= allowed and "Pharmacy" in used, used - allowed
    # batches of at most the size asked for, adding up to every row of each table
    for table in ("patients", "cards", "claims", "items"):
        batches = [c for c in fake.writes(f"load_{table}") if "rows" in c.params or "claims" in c.params]
        sent = [len(c.params.get("rows", ())) for c in batches]
        assert sent and max(sent) <= 700, table
        assert result.tables[table].rows == counts[table], table
        # each batch's transaction also writes its progress mark
        marks = [c for c in fake.writes(f"load_{table}") if c.params.get("table") == table and "batches_done" in c.params]
        assert len(marks) == result.tables[table].batches, table
    claims_sent = sum(len(c.params.get("rows", ())) for c in fake.writes("load_claims") if "rows" in c.params)
    assert claims_sent == counts["claims"]
    # two writers: each claims stream marks its own progress, and each ends with a complete mark
    finals = [c.params for c in fake.calls if c.name == "progress_mark" and c.params.get("complete")]
    assert {(p["table"], p["stream"]) for p in finals} >= {("claims", 0), ("claims", 1), ("patients", 0)}
    assert [c.name for c in fake.calls if c.kind == "auto"][-2:] == ["aggregate_visited", "aggregate_prescribes_to"]


def test_a_resumed_load_sends_only_what_the_interrupted_one_did_not_commit(monkeypatch, workspace):
    first = RecordingGraph(answers={"graph_counts": [{"patients": 0, "cards": 0, "claims": 0, "items": 0}]})
    _run(monkeypatch, workspace, first, batch_size=500, writers=1, tables=("patients",))
    all_batches = [c.params["rows"] for c in first.writes("load_patients") if "rows" in c.params]
    assert len(all_batches) >= 3
    # the graph says two batches of patients were committed by an earlier load of this state
    key = next(c.params["load_key"] for c in first.calls if c.name == "progress_get")
    resumed = RecordingGraph(answers={
        "progress_get": [{"table": "patients", "stream": 0, "batches_done": 2, "rows_done": 1000, "complete": False}],
        "graph_counts": [{"patients": 1000, "cards": 0, "claims": 0, "items": 0}]})
    result = _run(monkeypatch, workspace, resumed, batch_size=500, writers=1, tables=("patients",))
    sent = [c.params["rows"] for c in resumed.writes("load_patients") if "rows" in c.params]
    assert result.resumed and result.tables["patients"].skipped_batches == 2
    assert sent == all_batches[2:]  # the same rows, from the third batch on
    assert next(c.params["load_key"] for c in resumed.calls if c.name == "progress_get") == key
