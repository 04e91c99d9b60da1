"""Loading into the real Neo4j: idempotent, resumable after a kill, safe with hostile
strings, and the bulk-import files build the same graph."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest
from click.testing import CliRunner
from conftest import TEST_KEY

from graphfraud.cli import main
from graphfraud.neo4j.connect import Graph
from graphfraud.neo4j.load import load
from graphfraud.store.workspace import Workspace

ID_OF = ("coalesce(n.patient_id, n.card_id, n.claim_id, n.facility_id, n.doctor_id, n.item_code, n.terminal_id, "
         "n.phone_id, n.address_id, n.code)")


def fingerprint(target) -> dict:
    """Node counts per label set, relationship counts per type, and a SHA-256 over every
    node's and relationship's properties (the loader's own LoadProgress nodes left out)."""
    with Graph(target) as g:
        nodes = g.read(f"MATCH (n) WHERE NOT n:LoadProgress RETURN labels(n) AS labels, properties(n) AS props",
                       name="tests")
        rels = g.read(f"MATCH (a)-[r]->(b) WITH a, r, b, a AS n RETURN type(r) AS type, properties(r) AS props, "
                      f"{ID_OF} AS a_id, labels(a) AS a_labels, "
                      f"coalesce(b.patient_id, b.card_id, b.claim_id, b.facility_id, b.doctor_id, b.item_code, "
                      f"b.terminal_id, b.phone_id, b.address_id, b.code) AS b_id", name="tests")
    label_counts: dict[str, int] = {}
    for n in nodes:
        key = ":".join(sorted(n["labels"]))
        label_counts[key] = label_counts.get(key, 0) + 1
    type_counts: dict[str, int] = {}
    for r in rels:
        type_counts[r["type"]] = type_counts.get(r["type"], 0) + 1
    canon = sorted(json.dumps([sorted(n["labels"]), n["props"]], sort_keys=True, default=str) for n in nodes)
    canon += sorted(json.dumps([r["type"], r["a_labels"], r["a_id"], r["b_id"], r["props"]], sort_keys=True,
                               default=str) for r in rels)
    return {"nodes": label_counts, "relationships": type_counts,
            "sha256": hashlib.sha256("\n".join(canon).encode("utf-8")).hexdigest()}


def workspace_counts(ws) -> dict[str, int]:
    con = Workspace.open(ws).connect(read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                for t in ("patients", "cards", "claims", "items")}
    finally:
        con.close()


def test_load_twice_leaves_identical_counts_and_properties(neo4j, neo4j_region, monkeypatch):
    _, ws = neo4j_region
    monkeypatch.setenv("NEO4J_PASSWORD", neo4j.password)
    runner = CliRunner()
    r = runner.invoke(main, ["--lang", "en", "load", "-w", str(ws), "--neo4j", neo4j.uri, "--batch-size", "2500"])
    assert r.exit_code == 0, r.output
    assert "rows/s" in r.output and "load done" in r.output
    first = fingerprint(neo4j)
    want = workspace_counts(ws)
    assert first["nodes"]["Claim"] == want["claims"] and first["relationships"]["INCLUDES"] == want["items"]
    assert sum(v for k, v in first["nodes"].items() if "Patient" in k.split(":")) >= want["patients"]
    assert first["relationships"]["VISITED"] > 0 and first["relationships"]["PRESCRIBES_TO"] > 0
    r = runner.invoke(main, ["--lang", "en", "load", "-w", str(ws), "--neo4j", neo4j.uri, "--batch-size", "2500"])
    assert r.exit_code == 0, r.output
    assert re.search(r"claims\s+[\d,]+ rows written, 0 nodes and 0 relationships created", r.output), r.output
    assert fingerprint(neo4j) == first


@pytest.mark.slow
def test_a_killed_load_resumes_after_its_last_committed_batch(neo4j, neo4j_region):
    _, ws = neo4j_region
    load(ws, neo4j, batch_size=100, writers=1)  # one writer: the resumed two-writer load must equal it
    uninterrupted = fingerprint(neo4j)
    from conftest import wipe_neo4j

    wipe_neo4j(neo4j)
    env = {**os.environ, "NEO4J_PASSWORD": neo4j.password, "GRAPHFRAUD_KEY": TEST_KEY}
    proc = subprocess.Popen([sys.executable, "-m", "graphfraud", "-q", "load", "-w", str(ws), "--neo4j", neo4j.uri,
                             "--batch-size", "100"], env=env)
    done = 0
    with Graph(neo4j) as g:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            rows = g.read("MATCH (p:LoadProgress {table: 'claims'}) RETURN p.batches_done AS n", name="tests")
            done = rows[0]["n"] if rows else 0
            if done >= 5:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.05)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the load finished before it could be killed"
    partial = fingerprint(neo4j)
    assert 0 < partial["nodes"].get("Claim", 0) < uninterrupted["nodes"]["Claim"]
    assert "INCLUDES" not in partial["relationships"]

    result = load(ws, neo4j, batch_size=100)
    assert result.resumed
    assert result.tables["patients"].batches == 0 and result.tables["cards"].batches == 0  # done before the kill
    assert result.tables["claims"].skipped_batches >= 5
    # every claim was either committed before the kill or written now, by one of the writers
    assert result.tables["claims"].skipped_rows + result.tables["claims"].rows == workspace_counts(ws)["claims"]
    assert 0 < result.tables["claims"].skipped_rows
    # the graph's claims were all this load's committed batches: the rest were CREATEd unasked
    assert result.tables["claims"].fresh and result.tables["items"].fresh
    assert fingerprint(neo4j) == uninterrupted


def test_a_load_onto_a_graph_holding_part_of_the_region_gives_the_graph_of_a_fresh_load(neo4j, neo4j_region):
    _, ws = neo4j_region
    from conftest import wipe_neo4j

    wipe_neo4j(neo4j)
    first = load(ws, neo4j, batch_size=500)
    # an empty graph: every table goes straight to its CREATE query
    assert all(first.tables[t].fresh for t in ("patients", "cards", "claims", "items"))
    fresh = fingerprint(neo4j)
    with Graph(neo4j) as g:
        ids = [r["id"] for r in g.read("MATCH (c:Claim) RETURN c.claim_id AS id ORDER BY id", name="tests")]
        # half the claims go with all their ties; a quarter keep the claim and lose their lines
        g.run_auto("MATCH (c:Claim) WHERE c.claim_id < $cut DETACH DELETE c", {"cut": ids[len(ids) // 2]},
                   name="tests")
        g.run_auto("MATCH (c:Claim)-[r:INCLUDES|SCANNED]->() WHERE c.claim_id >= $lo AND c.claim_id < $hi DELETE r",
                   {"lo": ids[len(ids) // 2], "hi": ids[3 * len(ids) // 4]}, name="tests")
        g.run_auto("MATCH (p:LoadProgress) DELETE p", name="tests")
    again = load(ws, neo4j, batch_size=500)
    # the graph held rows of no load in progress: each batch asks which of its rows are there
    assert not any(t.fresh for t in again.tables.values())
    assert again.tables["claims"].nodes_created > 0 and again.tables["items"].relationships_created > 0
    assert fingerprint(neo4j) == fresh


HOSTILE = ["C'\"`}) DETACH DELETE n //", "`Card`) MATCH (x) DETACH DELETE x //", "卡号-张三-医保", "💳🏥 card",
           "'; MATCH (n) DETACH DELETE n; //", "{rows}", "$rows", "\\u0027 OR 1=1", "C-normal"]


def test_hostile_strings_are_stored_verbatim_and_nothing_else_happens(neo4j, tmp_path):
    ws = Workspace.open(tmp_path / "ws", create=True)
    con = ws.connect()
    try:
        con.execute("INSERT INTO facilities (facility_id, name, facility_type) VALUES (?, ?, 'pharmacy')",
                    ["F'`}) DETACH DELETE n //", "药店 🏪 '`\""])
        for i, card in enumerate(HOSTILE):
            patient = f"P{i}-{card}"
            con.execute("INSERT INTO patients (patient_id, name, phone, address) VALUES (?, ?, ?, ?)",
                        [patient, f"nm_{card}", f"ph_{card}", "ad_}) DETACH DELETE n //"])
            con.execute("INSERT INTO cards (card_id, patient_id, card_type) VALUES (?, ?, 'ssc')", [card, patient])
            con.execute("""INSERT INTO claims (claim_id, card_id, patient_id, facility_id, claim_type, settled_at,
                               total_amount, diagnosis_code) VALUES (?, ?, ?, ?, 'pharmacy', ?, ?, ?)""",
                        [f"S{i}{card}", card, patient, "F'`}) DETACH DELETE n //",
                         dt.datetime(2025, 1, 1, 9, i), Decimal("12.34") + i, "`) RETURN 1 //"])
            con.execute("""INSERT INTO items (claim_id, item_no, item_code, item_name, amount, trace_code)
                           VALUES (?, 1, ?, ?, ?, ?)""",
                        [f"S{i}{card}", f"X{card}", card, Decimal("12.34") + i, f"TC{card}"])
    finally:
        con.close()
    with Graph(neo4j) as g:
        g.write(lambda tx: tx.run("CREATE (:Canary {name: $n})", {"n": "still here"}).consume(), name="tests")
    load(ws.path, neo4j, batch_size=3)
    with Graph(neo4j) as g:
        assert g.read("MATCH (c:Canary) RETURN c.name AS n", name="tests") == [{"n": "still here"}]
        cards = g.read("MATCH (k:Card)-[:MADE]->(c:Claim)-[:AT]->(f:Facility) "
                       "RETURN k.card_id AS card, c.claim_id AS claim, f.facility_id AS f, c.diagnosis_code AS dx",
                       name="tests")
        assert sorted(r["card"] for r in cards) == sorted(HOSTILE)
        assert {r["claim"] for r in cards} == {f"S{i}{c}" for i, c in enumerate(HOSTILE)}
        assert {r["f"] for r in cards} == {"F'`}) DETACH DELETE n //"} and {r["dx"] for r in cards} == {"`) RETURN 1 //"}
        labels = g.read("MATCH (n) RETURN DISTINCT labels(n) AS l", name="tests")
        assert {":".join(sorted(r["l"])) for r in labels} <= {
            "Canary", "Patient", "Card", "Claim", "Facility:Pharmacy", "Drug", "TraceCode", "Phone", "Address",
            "LoadProgress"}
        from graphfraud.neo4j.detect import extract_table

        assert sorted(extract_table(g, "items").column("item_name").to_pylist()) == sorted(HOSTILE)
    # hostile values as query parameters
    from graphfraud.neo4j.queries import run_query

    for card in HOSTILE:
        cols, rows = run_query(neo4j, "card_neighbourhood", {"card_id": card})
        got = {r[cols.index("tie")]: r[cols.index("id")] for r in rows}
        assert got["holder"] == f"P{HOSTILE.index(card)}-{card}" and got["holder phone"] == f"ph_{card}"
    cols, rows = run_query(neo4j, "ring_overview", {"kind": "x' OR 1=1 //", "limit": 5})
    assert rows == []
    r = CliRunner().invoke(main, ["--lang", "en", "query", "shortest_path", "-p", f"from_id={HOSTILE[0]}",
                                  "-p", f"to_id={HOSTILE[2]}", "--neo4j", neo4j.uri, "--neo4j-password",
                                  neo4j.password])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    # two hops each way: through the shared address or the shared pharmacy
    assert HOSTILE[0] in lines[1] and HOSTILE[2] in lines[5] and "5 rows" in lines[6]
    with Graph(neo4j) as g:
        assert g.read("MATCH (c:Canary) RETURN count(c) AS n", name="tests") == [{"n": 1}]
        assert g.read("MATCH (k:Card) RETURN count(k) AS n", name="tests") == [{"n": len(HOSTILE)}]


@pytest.mark.slow
def test_bulk_import_files_build_the_same_graph_as_the_bolt_loader(neo4j, neo4j_region, tmp_path):
    from graphfraud.neo4j import bulk
    from graphfraud.neo4j.server import launcher_built

    _, ws = neo4j_region
    res = bulk.export(ws, tmp_path / "import")
    headers = {p.name: p.read_text(encoding="utf-8").splitlines()[0] for p in res.node_files + res.relationship_files}
    assert headers["nodes_cards.csv"].startswith(":ID(Card),card_id,")
    # the import ids are the node ids, 0 … n-1 over all node files (--id-type=actual); the
    # card's own id stays a property, and every tie finds its ends
    first = (res.out_dir / "nodes_cards.csv").read_text(encoding="utf-8").splitlines()[1].split(",")
    assert first[0].isdigit() and first[1].startswith("C")
    ids = sorted(int(line.split(",", 1)[0]) for p in res.node_files
                 for line in p.read_text(encoding="utf-8").splitlines()[1:])
    assert ids == list(range(res.nodes))
    for path in res.relationship_files:
        for line in path.read_text(encoding="utf-8").splitlines()[1:50]:
            start, end = line.split(",")[:2]
            assert start.isdigit() and end.isdigit(), (path.name, line)
    assert "settled_at:localdatetime" in headers["nodes_claims.csv"] and "total_fen:long" in headers["nodes_claims.csv"]
    assert headers["rels_made_card.csv"] == ":START_ID(Card),:END_ID(Claim),:TYPE"
    assert res.command[:5] == ["neo4j-admin", "database", "import", "full", "neo4j"]

    load(ws, neo4j, aggregate=False)
    bolt = fingerprint(neo4j)
    assert res.nodes == sum(bolt["nodes"].values())
    assert res.relationships == sum(bolt["relationships"].values())
    if not launcher_built():
        pytest.skip("tools/neo4j is not built: the import itself is not run")
    bulk.run_import(res, tmp_path / "home", heap="512m")
    m = re.search(r"Imported:\s+(\d+) nodes\s+(\d+) relationships", res.import_log)
    assert m, res.import_log
    assert (int(m.group(1)), int(m.group(2))) == (res.nodes, res.relationships)
    assert (tmp_path / "home" / "data" / "databases" / "neo4j").is_dir()
    # the imported database, served, is the graph the Bolt loader built: same labels, keys,
    # properties and ties
    from graphfraud.neo4j.connect import Neo4jTarget
    from graphfraud.neo4j.server import LocalNeo4j

    with LocalNeo4j.start(tmp_path / "home", heap="512m", pagecache="256m") as server:
        assert fingerprint(Neo4jTarget(server.uri, server.user, server.password)) == bolt


@pytest.mark.slow
def test_a_line_that_names_its_drug_otherwise_keeps_its_own_name_in_bolt_and_bulk(neo4j, tmp_path):
    """The Drug holds the name and category of its first line; a line that says something else
    (another name, another category, or nothing) reads back as it was ingested, whichever way
    the graph was built. Trace codes come back through SCANNED."""
    from graphfraud.neo4j import bulk
    from graphfraud.neo4j.connect import Neo4jTarget
    from graphfraud.neo4j.detect import extract_table
    from graphfraud.neo4j.server import LocalNeo4j

    ws = Workspace.open(tmp_path / "ws", create=True)
    lines = [  # (claim, item_no, item_code, item_name, category, trace_code)
        ("S1", 1, "D1", "阿莫西林胶囊", "drug", "81000000000000000001"),
        ("S1", 2, "D2", None, "consumable", None),
        ("S2", 1, "D1", "阿莫西林胶囊(0.25g)", "drug", "81000000000000000002"),
        ("S2", 2, "D2", "棉签", None, None),
        ("S3", 1, "D1", None, None, "81000000000000000001"),
        ("S3", 2, "D1", "阿莫西林胶囊", "consumable", None),
    ]
    con = ws.connect()
    try:
        con.execute("INSERT INTO facilities (facility_id, facility_type) VALUES ('F1', 'pharmacy')")
        for i, claim in enumerate(("S1", "S2", "S3")):
            con.execute("""INSERT INTO claims (claim_id, card_id, facility_id, claim_type, settled_at, total_amount)
                           VALUES (?, 'C1', 'F1', 'pharmacy', ?, 10)""", [claim, dt.datetime(2025, 1, 1 + i, 9)])
        for claim, no, code, name, cat, tc in lines:
            con.execute("""INSERT INTO items (claim_id, item_no, item_code, item_name, category, amount, trace_code)
                           VALUES (?, ?, ?, ?, ?, 5, ?)""", [claim, no, code, name, cat, tc])
    finally:
        con.close()

    def read_back(target):
        with Graph(target) as g:
            t = extract_table(g, "items")
            drugs = g.read("MATCH (d:Drug) RETURN d.item_code AS code, d.item_name AS name, d.category AS cat",
                           name="tests")
        got = sorted(zip(t.column("claim_id").to_pylist(), t.column("item_no").to_pylist(),
                         t.column("item_code").to_pylist(), t.column("item_name").to_pylist(),
                         t.column("category").to_pylist(), t.column("trace_code").to_pylist()))
        return got, sorted((d["code"], d["name"], d["cat"]) for d in drugs)

    load(ws.path, neo4j, batch_size=2, aggregate=False)
    got, drugs = read_back(neo4j)
    assert got == sorted(lines)
    assert drugs == [("D1", "阿莫西林胶囊", "drug"), ("D2", None, "consumable")]
    with Graph(neo4j) as g:
        # a line that repeats its drug's catalogue entry carries neither on its INCLUDES
        own = g.read("MATCH (c:Claim {claim_id: 'S1'})-[r:INCLUDES]->(:Drug {item_code: 'D1'}) "
                     "RETURN r.item_name AS name, r.category AS cat, r.trace_code AS tc", name="tests")
        assert own == [{"name": None, "cat": None, "tc": None}]
    bolt = fingerprint(neo4j)

    res = bulk.export(ws.path, tmp_path / "import")
    bulk.run_import(res, tmp_path / "home", heap="512m")
    with LocalNeo4j.start(tmp_path / "home", heap="512m", pagecache="128m") as server:
        target = Neo4jTarget(server.uri, server.user, server.password)
        assert read_back(target) == (sorted(lines), drugs)
        imported = fingerprint(target)
    # the Bolt loader's own progress nodes are left out of the fingerprint; nothing else differs
    assert imported == bolt
