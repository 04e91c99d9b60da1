"""What graphfraud writes opens safely whatever the data held: no CSV cell a spreadsheet would
evaluate, no page whose embedded JSON a name can break out of, no export an XML reader
refuses because an id carries a control character."""

from __future__ import annotations

import csv
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner
from lxml import etree

from graphfraud.cli import main
from graphfraud.core.safe_text import csv_cell, json_for_html, xml_text
from graphfraud.detect.run import detect
from graphfraud.evidence.package import export_case
from graphfraud.views.report import report
from tests.conftest import write_csv
from tests.test_detect import Region, rings_of

FORMULA = re.compile(r"^[=+\-@\t\r]")
NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def test_the_rules_themselves():
    assert csv_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert [csv_cell(v) for v in ("+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx")] == [
        "'+cmd", "'-2+3", "'@SUM(A1)", "'\tx", "'\rx"]
    assert [csv_cell(v) for v in ("-99.00", "+86", "1e5", "C0001", "", None)] == ["-99.00", "+86", "1e5", "C0001", "",
                                                                                 ""]
    assert "<" not in json_for_html({"name": "<!--<script>x</script>"})
    assert json_for_html({"a": "x&y\u2028"}) == '{"a": "x\\u0026y\\u2028"}'
    assert xml_text("F\x00X\x01\tY\ud800\ufffe") == "F\ufffdX\ufffd\tY\ufffd\ufffd"


def _cells(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [cell for row in csv.reader(fh) for cell in row]


def _assert_safe(path: Path) -> None:
    for cell in _cells(path):
        assert not (FORMULA.match(cell) and not NUMBER.match(cell)), (path.name, cell)


@pytest.fixture
def hostile(tmp_path):
    """A trace-code ring at a pharmacy whose id and name are hostile, on cards whose ids start
    with formula characters or carry control characters."""
    region = Region(seed=71)
    region.facility("=PX")
    region.facilities[-1]["name"] = "<!--<script>alert(1)</script>"
    region.facility("PY")
    cards = {}
    for pid, card in (("Q1", "+Q1"), ("Q2", "@Q2"), ("Q3", "C\x01Q3"), ("Q4", "-Q4")):
        region.person(pid)
        region.cards[-1]["card_id"] = card
        cards[card] = pid
    for k, code in enumerate(("81000001", "81000002", "81000003")):
        for i, (card, pid) in enumerate(cards.items()):
            when = dt.datetime(2025, 3, 1, 10) + dt.timedelta(days=7 * k + i)
            claim = region.settle(card, "=PX" if (i + k) % 2 else "PY", when, "58.00", patient_id=pid)
            region.items.append({"claim_id": claim, "item_no": 1, "item_code": "=XC10", "item_name": "@drug",
                                 "category": "drug", "quantity": Decimal("1"), "amount": Decimal("58.00"),
                                 "trace_code": code})
    ws = region.save(tmp_path / "ws")
    result = detect(ws.path, tmp_path / "out")
    [ring] = rings_of(result, "trace_code_reuse")
    return ws, result, ring, tmp_path


def test_detection_outputs_neutralise_formula_cells(hostile):
    ws, result, ring, tmp = hostile
    members = {m.entity_id for m in ring.members}
    assert {"=PX", "+Q1", "@Q2", "-Q4"} <= members  # the ids themselves are untouched
    for name in ("rings", "ring_members", "reasons", "leads", "lead_reasons"):
        _assert_safe(tmp / "out" / f"{name}.csv")
    cells = _cells(tmp / "out" / "ring_members.csv")
    assert {"'=PX", "'+Q1", "'@Q2", "'-Q4"} <= set(cells)


def test_pages_keep_their_script_blocks_whatever_the_names(hostile):
    ws, result, ring, tmp = hostile
    site = report(ws.path, tmp / "site", lang="en")
    page = (tmp / "site" / "rings" / f"{ring.ring_id}.html").read_text(encoding="utf-8")
    block = page.split('<script type="application/json" id="graph-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block and "\\u003c!--\\u003cscript\\u003e" in block
    assert page.rstrip().endswith("</html>")
    assert site.index.is_file()


def test_exports_are_well_formed_and_their_csv_cells_safe(hostile):
    ws, result, ring, tmp = hostile
    res = export_case(ws.path, ring.ring_id, tmp / "pkg")
    out = tmp / "pkg"
    for name in ("nodes.csv", "edges.csv", "claims.csv", "items.csv"):
        _assert_safe(out / name)
    for name in ("case.graphml", "case.gexf", "case.anx"):
        etree.parse(str(out / name))  # raises on ill-formed XML
    g = nx.read_graphml(out / "case.graphml")
    assert any("\ufffd" in n for n in g.nodes)  # the control character replaced, the node kept
    nx.read_gexf(out / "case.gexf")
    r = CliRunner().invoke(main, ["--lang", "en", "verify", str(out)])
    assert r.exit_code == 0, r.output
    assert res.case_type == "ring"


def test_rejects_csv_neutralises_the_raw_values(tmp_path):
    data = tmp_path / "data"
    header = ["claim_id", "card_id", "facility_id", "claim_type", "settled_at", "total_amount"]
    write_csv(data / "claims.csv", header, [["K1", "C1", "F1", "pharmacy", "2025-03-01 10:00", "=1+1"],
                                            ["=K2", "C1", "F1", "pharmacy", "2025-03-01 11:00", "-12.50"]])
    r = CliRunner().invoke(main, ["--lang", "en", "ingest", str(data), "--workspace", str(tmp_path / "ws"),
                                  "--max-reject-rate", "100"])
    assert r.exit_code == 0, r.output
    out = tmp_path / "rejects.csv"
    r = CliRunner().invoke(main, ["--lang", "en", "rejects", "--workspace", str(tmp_path / "ws"), "--csv", str(out)])
    assert r.exit_code == 0, r.output
    _assert_safe(out)
    assert "'=1+1" in _cells(out)


# ------------------------------------------------------------------ honest totals
def test_the_report_counts_each_claim_once_and_pages_show_every_part_of_the_money(hostile):
    ws, result, ring, tmp = hostile
    con = ws.connect()
    try:
        run = result.run_id
        # a second ring over the same claims (a hub of the same people, say)
        con.execute("""INSERT INTO rings SELECT * REPLACE ('TC-TWIN' AS ring_id, rank + 1 AS rank) FROM rings
                       WHERE run_id = ? AND ring_id = ?""", [run, ring.ring_id])
        con.execute("""INSERT INTO ring_claims SELECT run_id, 'TC-TWIN', claim_id FROM ring_claims
                       WHERE run_id = ? AND ring_id = ?""", [run, ring.ring_id])
        con.execute("UPDATE claims SET account_amount = 20.00, self_amount = 38.00, fund_amount = 0.00")
    finally:
        con.close()
    report(ws.path, tmp / "site", lang="en")
    index = (tmp / "site" / "index.html").read_text(encoding="utf-8")
    assert f"<b>{ring.total_amount:,.2f}</b>amount in rings (yuan, each claim once)" in index
    page = (tmp / "site" / "rings" / f"{ring.ring_id}.html").read_text(encoding="utf-8")
    n = ring.n_claims
    assert "personal account (yuan)" in page and f"{Decimal('20.00') * n:,.2f}" in page
    assert "self-paid (yuan)" in page and f"{Decimal('38.00') * n:,.2f}" in page
    export_case(ws.path, ring.ring_id, tmp / "pkg2")
    import json

    summary = json.loads((tmp / "pkg2" / "summary.json").read_text(encoding="utf-8"))
    assert summary["account_amount"] == str(Decimal("20.00") * n) and summary["self_amount"] == str(Decimal("38.00") * n)
    assert "the personal account" in " ".join(summary["en"])
