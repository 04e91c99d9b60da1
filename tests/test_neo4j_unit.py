"""Neo4j pieces that need no server: the named-query loader, the Cypher files' hygiene, exact
money conversion, query parameters and the CLI's errors."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from graphfraud.cli import main
from graphfraud.core.errors import GraphfraudError
from graphfraud.core.resources import asset_dir
from graphfraud.neo4j.cypher import library, parse
from graphfraud.neo4j.detect import fen_to_yuan, yuan_to_fen
from graphfraud.neo4j.queries import parameters, parse_value
from graphfraud.store.schema import LOAD_ORDER, TABLES


def test_parse_reads_names_comments_and_text():
    qs = parse("// header\n\n// name: a\n// what a does\n// params: $x (default 3)\nMATCH (n) RETURN $x\n"
               "// name: b\n// b\nRETURN $y // trailing\n", Path("t.cypher"))
    assert list(qs) == ["a", "b"]
    assert qs["a"].comment == "what a does\nparams: $x (default 3)" and qs["a"].text == "MATCH (n) RETURN $x"
    assert qs["a"].params == ["x"] and qs["a"].defaults == {"x": "3"}
    with pytest.raises(ValueError):
        parse("// name: a\nRETURN 1\n// name: a\nRETURN 2", Path("t.cypher"))


def test_every_cypher_file_uses_parameters_and_whitelisted_labels_only():
    root = asset_dir("cypher")
    files = sorted(root.rglob("*.cypher"))
    assert len(files) >= 9 + 6 + 4
    labels = {"Patient", "Card", "Claim", "Facility", "Pharmacy", "Hospital", "Clinic", "Doctor", "Drug", "Terminal",
              "Phone", "Address", "TraceCode", "Ring", "Lead", "DetectRun", "LoadProgress"}
    types = {"HOLDS", "MADE", "AT", "BY", "INCLUDES", "VIA", "HAS_PHONE", "LIVES_AT", "SCANNED", "WORKS_AT", "VISITED",
             "PRESCRIBES_TO", "MEMBER_OF", "EVIDENCE", "ABOUT"}
    for path in files:
        text = "\n".join(ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.lstrip().startswith("//"))
        assert "{" + "}" not in text and "%s" not in text and "{0}" not in text, path  # no format slots
        for label in re.findall(r"\(\w*:(\w+)", text):
            assert label in labels, (path, label)
        for rel in re.findall(r"\[\w*:(\w+)", text):
            assert rel in types, (path, rel)


def test_one_extraction_query_per_canonical_table_returning_the_contract_columns():
    lib = library("extract")
    assert set(lib) == {f"extract_{t}" for t in LOAD_ORDER}
    money = {"total_amount": "total_fen", "fund_amount": "fund_fen", "account_amount": "account_fen",
             "self_amount": "self_fen", "amount": "amount_fen"}
    for t in LOAD_ORDER:
        returned = re.findall(r"AS (\w+)", lib[f"extract_{t}"].text)
        want = [money.get(c, c) if TABLES[t].column(c).kind == "money" else c for c in TABLES[t].column_names]
        assert returned == want + [n for n, _ in TABLES[t].derived], t


def test_schema_statements_are_idempotent():
    stmts = library("schema")["schema"].statements()
    assert len(stmts) >= 14 and all("IF NOT EXISTS" in s for s in stmts)


@given(st.integers(min_value=-10**15, max_value=10**15))
def test_fen_round_trips_exactly(fen):
    yuan = fen_to_yuan(fen)
    assert isinstance(yuan, Decimal) and yuan_to_fen(yuan) == fen
    assert yuan == Decimal(fen) / 100


def test_yuan_with_more_than_two_decimals_is_refused():
    with pytest.raises(ValueError):
        yuan_to_fen(Decimal("1.005"))
    assert yuan_to_fen(None) is None and fen_to_yuan(None) is None


def test_query_parameters_defaults_and_errors():
    q = library("queries")["ring_overview"]
    assert parameters(q, {}) == {"kind": None, "limit": 20}
    assert parameters(q, {"limit": 5, "kind": "card_collection"}) == {"kind": "card_collection", "limit": 5}
    with pytest.raises(GraphfraudError):
        parameters(q, {"nope": 1})
    with pytest.raises(GraphfraudError):
        parameters(library("queries")["ring_detail"], {})
    assert parse_value("10") == 10 and parse_value("null") is None and parse_value('"0042"') == "0042"
    assert parse_value("}) DETACH DELETE n //") == "}) DETACH DELETE n //"


def test_query_list_needs_no_server_and_missing_uri_is_one_line(monkeypatch):
    monkeypatch.delenv("NEO4J_URI", raising=False)
    r = CliRunner().invoke(main, ["--lang", "en", "query"])
    assert r.exit_code == 0
    for name in library("queries"):
        assert name in r.output
    r = CliRunner().invoke(main, ["--lang", "en", "query", "ring_overview"])
    assert r.exit_code == 2 and "NEO4J_URI" in r.output and len(r.output.strip().splitlines()) == 1
    r = CliRunner().invoke(main, ["query", "ring_overview"])
    assert r.exit_code == 2 and "错误" in r.output


def test_detect_with_an_unreachable_neo4j_says_so(tmp_path):
    r = CliRunner().invoke(main, ["--lang", "en", "detect", "--neo4j", "bolt://127.0.0.1:1", "--out",
                                  str(tmp_path / "out"), "--neo4j-password", "x"])
    assert r.exit_code == 2 and "cannot reach Neo4j" in r.output


def test_neo4j_tests_fail_under_ci_and_skip_elsewhere(monkeypatch):
    from conftest import _neo4j_unavailable

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required under CI"):
        _neo4j_unavailable("no java")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="make neo4j-launcher"):
        _neo4j_unavailable("no java")


def test_credentials_never_appear_in_the_recorded_address():
    from graphfraud.neo4j.connect import Neo4jTarget

    t = Neo4jTarget("bolt://user:secret@db.example:7687", password="secret")
    assert t.safe_uri() == "bolt://db.example:7687"


def test_grouped_batches_name_each_shared_node_once_and_keep_every_row():
    from graphfraud.neo4j.load import _grouped_claims, _grouped_items

    lines = [{"claim_id": "S1", "item_no": 1, "item_code": "D1", "item_name": "甲", "category": "drug", "q": 1},
             {"claim_id": "S1", "item_no": 2, "item_code": "D2", "item_name": None, "category": None, "q": 2},
             {"claim_id": "S2", "item_no": 1, "item_code": "D1", "item_name": "乙", "category": "drug", "q": 3}]
    got = _grouped_items(lines)
    # a new drug takes its first line's name and category, as load_items' MERGE would
    assert got["drugs"] == [{"item_code": "D1", "item_name": "甲", "category": "drug"},
                            {"item_code": "D2", "item_name": None, "category": None}]
    assert [c["claim_id"] for c in got["claims"]] == ["S1", "S2"]
    back = [{**ln, "claim_id": c["claim_id"], "item_code": got["drugs"][ln["d"]]["item_code"]}
            for c in got["claims"] for ln in c["lines"]]
    assert [{k: v for k, v in b.items() if k != "d"} for b in back] == lines

    claims = [{"claim_id": "S1", "facility_id": "F1", "doctor_id": None, "terminal_id": "T1"},
              {"claim_id": "S2", "facility_id": "F2", "doctor_id": "D9", "terminal_id": "T1"},
              {"claim_id": "S3", "facility_id": "F1", "doctor_id": "D9", "terminal_id": None}]
    got = _grouped_claims(claims)
    assert got["facilities"] == ["F1", "F2"] and got["doctors"] == ["D9"] and got["terminals"] == ["T1"]
    assert [(r["claim_id"], r["f"], r["d"], r["t"]) for r in got["rows"]] == [
        ("S1", 0, None, 0), ("S2", 1, 0, 0), ("S3", 0, 0, None)]
    assert claims[0]["facility_id"] == "F1"  # the caller's rows are left as they were
