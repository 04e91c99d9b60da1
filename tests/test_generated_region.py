"""Acceptance on generated regions: both header styles give identical canonical tables, and
every dirty row the generator planted ends where truth.json says, line for line."""

from __future__ import annotations

import json

import duckdb
import pytest

from graphfraud.ingest.run import ingest
from graphfraud.store.schema import TABLES
from graphfraud.synth.generate import generate_region


@pytest.fixture(scope="module")
def regions(tmp_path_factory):
    base = tmp_path_factory.mktemp("regions")
    import os

    os.environ.setdefault("GRAPHFRAUD_KEY", "graphfraud-test-key-0123456789abcdef")
    out = {}
    for style in ("en", "zh"):
        data = base / f"data-{style}"
        generate_region(data, patients=3000, months=3, seed=11, zh=style == "zh")
        result = ingest(data, base / f"ws-{style}")
        out[style] = (data, base / f"ws-{style}", result)
    return out


def _rows(ws, table):
    cols = ", ".join(TABLES[table].column_names + [n for n, _ in TABLES[table].derived])
    con = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
    try:
        return con.execute(f"SELECT {cols} FROM {table} ORDER BY ALL").fetchall()
    finally:
        con.close()


def test_both_header_styles_give_identical_canonical_tables(regions):
    (_, ws_en, r_en), (_, ws_zh, r_zh) = regions["en"], regions["zh"]
    assert {f.encoding for f in r_zh.files} == {"gb18030"}
    assert {f.mapping for f in r_zh.files} == {"nhsa_zh"}
    assert {f.mapping for f in r_en.files} == {"canonical"}
    for table in TABLES:
        en, zh = _rows(ws_en, table), _rows(ws_zh, table)
        assert en == zh, table
        assert len(en) > 0, table
    assert r_en.totals() == r_zh.totals()


def test_every_planted_dirty_row_lands_where_the_truth_says(regions):
    data, ws, result = regions["en"]
    truth = json.loads((data / "truth.json").read_text(encoding="utf-8"))
    con = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
    got = {(f, line): (reason, col) for f, line, reason, col in
           con.execute("SELECT source_file, line, reason, column_name FROM rejects").fetchall()}
    expected = {(d["file"], d["line"]): (d["reason"], d["column"]) for d in truth["dirty"] if d["outcome"] == "rejected"}
    assert set(got) == set(expected)
    for place, (reason, column) in expected.items():
        assert got[place][0] == reason, place
        if reason != "malformed_row":  # there the column is where the parser noticed
            assert got[place][1] == column, place
    duplicates = sum(1 for d in truth["dirty"] if d["outcome"] == "duplicate")
    assert sum(t["duplicate"] for t in result.totals().values()) == duplicates
    for table, t in result.totals().items():
        assert t["input"] == t["loaded"] + t["duplicate"] + t["rejected"] == truth["counts"][table], table
    flagged = {r[0] for r in con.execute("SELECT patient_id FROM patients WHERE NOT id_number_valid").fetchall()}
    assert flagged == set(truth["id_number_invalid"])


def test_reversals_are_linked_and_net_out_exactly(regions):
    _, ws, _ = regions["en"]
    con = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
    n, unlinked, net = con.execute(
        """SELECT count(*), count(*) FILTER (WHERE NOT r.reversal_linked), sum(r.total_amount + o.total_amount)
           FROM claims r LEFT JOIN claims o ON o.claim_id = r.reverses_claim_id
           WHERE r.reverses_claim_id IS NOT NULL""").fetchall()[0]
    assert n > 0 and unlinked == 0
    assert str(net) == "0.00"
    # money stays exact decimal from input to totals
    assert con.execute("SELECT typeof(sum(total_amount)) FROM claims").fetchall()[0][0].startswith("DECIMAL")


def test_planted_ring_claims_are_loaded(regions):
    data, ws, _ = regions["en"]
    truth = json.loads((data / "truth.json").read_text(encoding="utf-8"))
    ids = {c for ring in truth["rings"] for c in ring["claim_ids"]} | {c for lead in truth["leads"] for c in lead["claim_ids"]}
    con = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
    import pyarrow as pa

    con.register("wanted", pa.table({"claim_id": sorted(ids)}))
    loaded = con.execute("SELECT count(*) FROM wanted JOIN claims USING (claim_id)").fetchall()[0][0]
    assert loaded == len(ids) > 0
