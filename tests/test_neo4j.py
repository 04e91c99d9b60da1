"""Neo4j against the real server: the loaded graph gives back the workspace's tables exactly,
detection from Neo4j equals detection from the workspace, results are written back with
stable ids, and every investigator query returns what its comment promises."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal

import pandas as pd
import pytest
from conftest import TEST_KEY, wipe_neo4j

from graphfraud.neo4j.connect import Graph
from graphfraud.neo4j.cypher import library
from graphfraud.store.schema import TABLES
from graphfraud.store.workspace import Workspace


@pytest.fixture(scope="module")
def loaded(neo4j_server, neo4j_region, tmp_path_factory):
    """The region loaded into an empty graph, detection run on the workspace (a copy) and on
    Neo4j; returns what the tests compare."""
    from graphfraud.detect.run import detect as ws_detect
    from graphfraud.neo4j.detect import detect as neo_detect
    from graphfraud.neo4j.load import load

    _, ws = neo4j_region
    out = tmp_path_factory.mktemp("neo4j-detect")
    wipe_neo4j(neo4j_server)
    load(ws, neo4j_server, batch_size=2000)
    copy = out / "ws-copy"
    shutil.copytree(ws, copy)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRAPHFRAUD_KEY", TEST_KEY)
        from_ws = ws_detect(copy, out / "from-ws")
        from_neo = neo_detect(neo4j_server, out / "from-neo4j")
    return {"target": neo4j_server, "ws": copy, "from_ws": from_ws, "from_neo": from_neo, "out": out,
            "truth": json.loads((neo4j_region[0] / "truth.json").read_text(encoding="utf-8"))}


def read(target, text, **params):
    with Graph(target) as g:
        return g.read(text, params, name="tests")


def run(target, name, **params):
    from graphfraud.neo4j.queries import run_query

    cols, rows = run_query(target, name, params)
    return [dict(zip(cols, r)) for r in rows]


# ------------------------------------------------------------------ round trip and parity
def test_extracted_tables_equal_the_workspace_tables(loaded):
    from graphfraud.neo4j.detect import extract_table

    ws = Workspace.open(loaded["ws"])
    con = ws.connect(read_only=True)
    try:
        with Graph(loaded["target"]) as g:
            for name, table in TABLES.items():
                got = extract_table(g, name).sort_by([(k, "ascending") for k in table.key])
                want = con.sql(f"SELECT {', '.join(got.column_names)} FROM {name} "
                               f"ORDER BY {', '.join(table.key)}").to_arrow_table()
                assert got.num_rows == want.num_rows > 0, name
                assert got.equals(want.cast(got.schema)), name
    finally:
        con.close()


def test_money_is_stored_as_integer_fen_and_sums_exactly(loaded):
    ws = Workspace.open(loaded["ws"])
    con = ws.connect(read_only=True)
    try:
        want = con.execute("SELECT sum(total_amount), count(*) FROM claims").fetchall()[0]
    finally:
        con.close()
    got = read(loaded["target"], "MATCH (c:Claim) RETURN sum(c.total_fen) AS fen, count(c) AS n, "
                                 "collect(DISTINCT valueType(c.total_fen)) AS types")[0]
    assert got["types"] == ["INTEGER NOT NULL"]
    assert Decimal(got["fen"]).scaleb(-2) == want[0] and got["n"] == want[1]


def test_detection_from_neo4j_equals_detection_from_the_workspace(loaded):
    a, b = loaded["from_ws"], loaded["from_neo"]
    assert len(a.rings) > 3 and len(a.leads) > 3
    for name in ("rings", "ring_members", "reasons", "leads"):
        left = pd.read_csv(a.out_dir / f"{name}.csv", dtype=str, keep_default_na=False)
        right = pd.read_csv(b.out_dir / f"{name}.csv", dtype=str, keep_default_na=False)
        pd.testing.assert_frame_equal(left, right, obj=name)
    assert [(r.ring_id, r.score, sorted((m.entity_type, m.entity_id) for m in r.members)) for r in a.rings] == \
           [(r.ring_id, r.score, sorted((m.entity_type, m.entity_id) for m in r.members)) for r in b.rings]
    assert {x.lead_id for x in a.leads} == {x.lead_id for x in b.leads}


def test_results_are_written_back_into_the_graph(loaded):
    res = loaded["from_neo"]
    target = loaded["target"]
    rings = read(target, "MATCH (r:Ring) RETURN r.ring_id AS id, r.score AS score, r.total_fen AS fen")
    assert {r["id"]: (r["score"], r["fen"]) for r in rings} == \
           {r.ring_id: (r.score, int(r.total_amount * 100)) for r in res.rings}
    members = read(target, "MATCH (n)-[m:MEMBER_OF]->(r:Ring) RETURN r.ring_id AS ring, m.entity_type AS type, "
                           "coalesce(n.card_id, n.patient_id, n.doctor_id, n.facility_id, n.terminal_id, n.phone_id, "
                           "n.address_id, n.item_code) AS id, m.role AS role")
    assert sorted((m["ring"], m["type"], m["id"], m["role"]) for m in members) == \
           sorted((r.ring_id, m.entity_type, m.entity_id, m.role) for r in res.rings for m in r.members)
    evidence = read(target, "MATCH (r:Ring)-[:EVIDENCE]->(c:Claim) RETURN r.ring_id AS ring, count(c) AS n")
    assert {e["ring"]: e["n"] for e in evidence} == {r.ring_id: len(set(r.claim_ids)) for r in res.rings}
    leads = read(target, "MATCH (x:Lead) OPTIONAL MATCH (x)-[:EVIDENCE]->(c:Claim) "
                         "RETURN x.lead_id AS id, x.kind AS kind, collect(c.claim_id) AS claims")
    assert {x["id"]: (x["kind"], sorted(x["claims"])) for x in leads} == \
           {x.lead_id: (x.kind, sorted(set(x.claim_ids))) for x in res.leads}


def test_a_second_run_from_neo4j_keeps_ids_and_replaces_the_previous_rings(loaded):
    from graphfraud.neo4j.detect import detect as neo_detect

    first = loaded["from_neo"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRAPHFRAUD_KEY", TEST_KEY)
        again = neo_detect(loaded["target"], loaded["out"] / "again")
    assert {r.ring_id for r in again.rings} == {r.ring_id for r in first.rings}
    assert {r.status for r in again.rings} == {"same"}
    assert again.changes["new"] == [] and again.changes["dissolved"] == []
    n = read(loaded["target"], "MATCH (r:Ring) RETURN count(r) AS n, count(DISTINCT r.run_id) AS runs")[0]
    assert n == {"n": len(first.rings), "runs": 1}
    assert read(loaded["target"], "MATCH (x:Lead) RETURN count(x) AS n")[0]["n"] == len(first.leads)
    assert read(loaded["target"], "MATCH (d:DetectRun) RETURN count(d) AS n")[0]["n"] == 2


# ------------------------------------------------------------------ the investigator library
def test_every_library_query_is_named_commented_and_tested():
    lib = library("queries")
    assert set(lib) == set(TESTED)
    for q in lib.values():
        assert q.comment and q.text and any("\u4e00" <= ch <= "\u9fff" for ch in q.comment), q.name
        assert "{" not in q.name and q.path.suffix == ".cypher"
        for p in q.params:
            assert f"${p}" in q.comment, f"{q.name}: comment does not document ${p}"


def test_ring_overview_lists_rings_by_score(loaded):
    res = loaded["from_neo"]
    rows = run(loaded["target"], "ring_overview", limit=100)
    assert [r["ring_id"] for r in rows] == [r.ring_id for r in res.rings]  # rank order
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    kind = res.rings[0].kind
    only = run(loaded["target"], "ring_overview", kind=kind, limit=100)
    assert {r["kind"] for r in only} == {kind} and len(only) == sum(r.kind == kind for r in res.rings)
    assert len(run(loaded["target"], "ring_overview")) == min(20, len(res.rings))  # default limit


def test_ring_detail_gives_members_and_their_claims(loaded):
    ring = next(r for r in loaded["from_neo"].rings if r.kind == "card_collection")
    rows = run(loaded["target"], "ring_detail", ring_id=ring.ring_id)
    assert sorted((r["entity_type"], r["entity_id"]) for r in rows) == \
           sorted((m.entity_type, m.entity_id) for m in ring.members)
    claims = {c["claim_id"] for r in rows for c in r["claims"]}
    assert claims == set(ring.claim_ids)  # a card_collection ring's claims are its cards' claims
    fen = sum(c["total_fen"] for r in rows for c in r["claims"])
    assert Decimal(fen).scaleb(-2) == ring.total_amount


def test_card_neighbourhood(loaded):
    ws = Workspace.open(loaded["ws"])
    con = ws.connect(read_only=True)
    try:
        card, patient, phone, address = con.execute("""
            SELECT k.card_id, p.patient_id, p.phone, p.address FROM cards k JOIN patients p USING (patient_id)
            WHERE k.card_id IN (SELECT card_id FROM claims WHERE reverses_claim_id IS NULL
                                GROUP BY card_id HAVING count(DISTINCT facility_id) >= 2)
              AND p.phone IS NOT NULL AND p.address IS NOT NULL
            ORDER BY k.card_id LIMIT 1""").fetchall()[0]
        visits = dict((f, (n, amt)) for f, n, amt in con.execute("""
            SELECT facility_id, count(*), sum(total_amount) FROM claims c
            WHERE card_id = ? AND reverses_claim_id IS NULL
              AND claim_id NOT IN (SELECT reverses_claim_id FROM claims WHERE reverses_claim_id IS NOT NULL)
            GROUP BY facility_id""", [card]).fetchall())
    finally:
        con.close()
    rows = run(loaded["target"], "card_neighbourhood", card_id=card)
    by_tie = {}
    for r in rows:
        by_tie.setdefault(r["tie"], []).append(r)
    assert [r["id"] for r in by_tie["holder"]] == [patient]
    assert [r["id"] for r in by_tie["holder phone"]] == [phone]
    assert [r["id"] for r in by_tie["holder address"]] == [address]
    assert {r["id"]: (r["n_claims"], Decimal(r["amount_fen"]).scaleb(-2)) for r in by_tie["visited"]} == visits


def test_co_swiped_cards_finds_a_ring_members_partners(loaded):
    ring = next(r for r in loaded["from_neo"].rings if r.kind == "card_collection")
    cards = sorted(m.entity_id for m in ring.members if m.entity_type == "card")
    rows = run(loaded["target"], "co_swiped_cards", card_id=cards[0], min_days=3)
    found = {r["card_id"] for r in rows}
    assert cards[0] not in found
    assert len(set(cards[1:]) & found) >= 1  # collected cards are swiped together on several days
    assert all(r["days"] >= 3 and r["first_day"] <= r["last_day"] for r in rows)
    assert [r["days"] for r in rows] == sorted((r["days"] for r in rows), reverse=True)


def test_card_cooccurrence_agrees_with_the_python_engine(loaded):
    """The count both make: for two cards and a pharmacy, the distinct days (of the earlier
    settlement) on which both settled there within the window, over claims that stand."""
    from graphfraud.detect import card_collection
    from graphfraud.detect.cooccur import cooccurrence
    from graphfraud.detect.settings import Settings

    s = Settings().with_section("card_collection", min_days=2, min_significance=0.0)
    ws = Workspace.open(loaded["ws"])
    con = ws.connect()
    try:
        card_collection.events(con, s)
        pr = cooccurrence(con, "cc_events", card_collection.spec(s), "cc")
        python = {(a, b, ctx[2:]): k for a, b, ctx, k in con.execute(f"""
            SELECT ea.entity, eb.entity, cx.context, sig.k FROM {pr.table('sig')} sig
            JOIN {pr.table('ent')} ea ON ea.e = sig.a JOIN {pr.table('ent')} eb ON eb.e = sig.b
            JOIN {pr.table('ctx')} cx ON cx.c = sig.c WHERE cx.context LIKE 'F:%'""").fetchall()}
    finally:
        con.close()
    rows = run(loaded["target"], "card_cooccurrence", window_seconds=s.card_collection.window_minutes * 60,
               min_days=2, limit=1_000_000)
    neo = {(r["card_a"], r["card_b"], r["pharmacy_id"]): r["days"] for r in rows}
    assert len(python) > 20
    assert neo == python


def test_doctor_steering_shares(loaded):
    """The planted steering doctor (truth.json): the partner pharmacy fills most of the
    doctor's prescriptions, far above its share among the doctor's peers."""
    ring = next(r for r in loaded["truth"]["rings"] if r["kind"] == "doctor_pharmacy")
    doctor = next(m["entity_id"] for m in ring["members"] if m["entity_type"] == "doctor")
    pharmacy = next(m["entity_id"] for m in ring["members"] if m["entity_type"] == "facility")
    rows = run(loaded["target"], "doctor_steering", doctor_id=doctor)
    assert rows[0]["pharmacy_id"] == pharmacy  # the partner pharmacy fills the most
    assert abs(sum(r["share"] for r in rows) - 1.0) < 1e-9
    assert rows[0]["share"] > rows[0]["peer_share"]
    ws = Workspace.open(loaded["ws"])
    con = ws.connect(read_only=True)
    try:
        n = con.execute("""
            SELECT count(*) FROM claims c JOIN facilities f USING (facility_id)
            WHERE c.doctor_id = ? AND f.facility_type = 'pharmacy' AND c.total_amount > 0
              AND c.reverses_claim_id IS NULL
              AND c.claim_id NOT IN (SELECT reverses_claim_id FROM claims WHERE reverses_claim_id IS NOT NULL)""",
                        [doctor]).fetchall()[0][0]
        here, peers = con.execute("""
            SELECT count(*) FILTER (WHERE c.facility_id = ?), count(*) FROM claims c
            JOIN facilities f USING (facility_id) JOIN doctors d USING (doctor_id)
            WHERE d.facility_id = (SELECT facility_id FROM doctors WHERE doctor_id = ?) AND c.doctor_id <> ?
              AND f.facility_type = 'pharmacy' AND c.total_amount > 0 AND c.reverses_claim_id IS NULL
              AND c.claim_id NOT IN (SELECT reverses_claim_id FROM claims WHERE reverses_claim_id IS NOT NULL)""",
                                  [pharmacy, doctor, doctor]).fetchall()[0]
    finally:
        con.close()
    assert sum(r["fills"] for r in rows) == n
    assert rows[0]["peer_share"] == pytest.approx(here / peers)


def test_dead_card_use_matches_the_after_death_leads(loaded):
    rows = run(loaded["target"], "dead_card_use", limit=100000)
    assert rows and all(r["settled_at"].date() > r["death_date"] and r["days_after_death"] >= 1 for r in rows)
    leads = [x for x in loaded["from_neo"].leads if x.kind == "after_death"]
    assert leads
    assert {c for x in leads for c in x.claim_ids} <= {r["claim_id"] for r in rows}


def test_reused_trace_codes(loaded):
    rows = run(loaded["target"], "reused_trace_codes", limit=100000)
    ws = Workspace.open(loaded["ws"])
    con = ws.connect(read_only=True)
    try:
        want = dict(con.execute("""SELECT trace_code, count(DISTINCT claim_id) FROM items
                                   WHERE trace_code IS NOT NULL GROUP BY 1 HAVING count(DISTINCT claim_id) >= 2"""
                                ).fetchall())
    finally:
        con.close()
    assert want and {r["trace_code"]: r["n_claims"] for r in rows} == want
    assert all(len(r["claim_ids"]) == r["n_claims"] for r in rows)


def test_shortest_path_between_two_cards_of_one_holder(loaded):
    ws = Workspace.open(loaded["ws"])
    con = ws.connect(read_only=True)
    try:
        patient, a, b = con.execute("""SELECT patient_id, min(card_id), max(card_id) FROM cards
                                       GROUP BY patient_id HAVING count(*) >= 2 ORDER BY patient_id LIMIT 1"""
                                    ).fetchall()[0]
    finally:
        con.close()
    rows = run(loaded["target"], "shortest_path", from_id=a, to_id=b)
    assert [(r["label"], r["id"], r["next_tie"]) for r in rows] == [
        ("Card", a, "HOLDS"), ("Patient", patient, "HOLDS"), ("Card", b, None)]


TESTED = {"ring_overview", "ring_detail", "card_neighbourhood", "co_swiped_cards", "card_cooccurrence",
          "doctor_steering", "dead_card_use", "reused_trace_codes", "shortest_path"}


def test_query_command_prints_a_table_and_writes_csv(loaded, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from graphfraud.cli import main

    t = loaded["target"]
    monkeypatch.setenv("NEO4J_PASSWORD", t.password)
    out = tmp_path / "rings.csv"
    r = CliRunner().invoke(main, ["--lang", "en", "query", "ring_overview", "--param", "limit=3", "--neo4j", t.uri,
                                  "--csv", str(out)])
    assert r.exit_code == 0, r.output
    top = loaded["from_neo"].rings[0]
    assert top.ring_id in r.output and "total_yuan" in r.output and "3 rows" in r.output
    df = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert list(df["ring_id"]) == [x.ring_id for x in loaded["from_neo"].rings[:3]]
    assert Decimal(df["total_yuan"][0]) == top.total_amount
    r = CliRunner().invoke(main, ["--lang", "en", "query", "ring_detail", "--neo4j", t.uri])
    assert r.exit_code == 2 and "ring_id" in r.output


def test_transactions_carry_metadata(loaded):
    """Queries name graphfraud, its version and the query in the transaction metadata."""
    from graphfraud import __version__

    with Graph(loaded["target"]) as g:
        rows = g.read("SHOW TRANSACTIONS YIELD metaData RETURN metaData", name="ring_overview")
    assert any(r["metaData"].get("app") == "graphfraud" and r["metaData"].get("version") == __version__
               and r["metaData"].get("query") == "ring_overview" for r in rows)
