"""Evidence packages on a generated region with known rings: every format read back by the
tools that read it, exact money, tamper detection for packages and the audit log, and no
personal value outside a package exported with the key."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import zipfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from graphfraud.cli import main
from graphfraud.core.errors import GraphfraudError
from graphfraud.evidence.formats import day_runs
from graphfraud.evidence.package import NETWORK_PAGE, PACKAGE_FILES, export_case
from graphfraud.evidence.summary import whistleblower_reward
from graphfraud.views.casegraph import lead_graph, ring_graph

ALL_FILES = {*PACKAGE_FILES, NETWORK_PAGE, "manifest.json", "manifest.sig"}  # the dev extra brings pyvis


@pytest.fixture(scope="module")
def region(detected_region, tmp_path_factory):
    """A private copy of the session's detected workspace (exports write its audit log)."""
    data, ws, _, result = detected_region
    base = tmp_path_factory.mktemp("evidence")
    shutil.copytree(ws, base / "ws")
    return data, base / "ws", result, base


@pytest.fixture(scope="module")
def ring_pkg(region):
    """A card-collection ring exported through the CLI, as folder and zip."""
    _, ws, result, base = region
    ring = next(r for r in result.rings if r.kind == "card_collection")
    out = base / "pkg" / ring.ring_id
    r = CliRunner().invoke(main, ["export", ring.ring_id, "-w", str(ws), "--out", str(out), "--zip",
                                  "--operator", "测试员"])
    assert r.exit_code == 0, r.output
    assert ring.ring_id in r.output and "审计日志" in r.output
    return ring, out, out.parent / f"{out.name}.zip"


@pytest.fixture(scope="module")
def graph_of(region):
    _, ws, _, _ = region

    def get(case_id: str, lead: bool = False):
        con = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
        try:
            return (lead_graph if lead else ring_graph)(con, case_id, cap=10**9)
        finally:
            con.close()

    return get


def read_csv(path: Path) -> list[dict]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name} must start with a UTF-8 BOM"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


# ------------------------------------------------------------------ the package and its manifest
def test_package_holds_every_file_and_the_manifest_says_where_it_came_from(ring_pkg, region):
    ring, out, zip_path = ring_pkg
    _, ws, result, _ = region
    assert {p.name for p in out.iterdir()} == ALL_FILES
    with zipfile.ZipFile(zip_path) as zf:
        assert set(zf.namelist()) == ALL_FILES
        for name in ALL_FILES:
            assert zf.read(name) == (out / name).read_bytes()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["files"]) == {*PACKAGE_FILES, NETWORK_PAGE} and manifest["interactive_page"] == NETWORK_PAGE
    import hashlib

    for name, meta in manifest["files"].items():
        data = (out / name).read_bytes()
        assert meta == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    con = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
    try:
        run_manifest = json.loads(con.execute("SELECT manifest FROM detect_runs WHERE run_id = ?",
                                              [result.run_id]).fetchall()[0][0])
        ingested = {r[0] for r in con.execute("SELECT sha256 FROM ingest_files").fetchall()}
    finally:
        con.close()
    assert manifest["run_id"] == result.run_id and manifest["case_id"] == ring.ring_id
    assert manifest["inputs"] == run_manifest["inputs"] and {i["sha256"] for i in manifest["inputs"]} == ingested
    assert manifest["parameters"] == run_manifest["parameters"]
    assert manifest["parameters"]["transfer_threshold"] == "6000"
    from graphfraud import __version__

    assert manifest["software"] == {"name": "graphfraud", "version": __version__}
    assert manifest["operator"] == "测试员" and manifest["exported_at"].endswith("+00:00")
    assert manifest["identities_revealed"] is False


def test_claims_and_items_are_every_row_behind_the_case_exactly_as_stored(ring_pkg, region):
    ring, out, _ = ring_pkg
    _, ws, _, _ = region
    claims = read_csv(out / "claims.csv")
    items = read_csv(out / "items.csv")
    assert sorted(c["claim_id"] for c in claims) == sorted(ring.claim_ids)
    con = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
    try:
        for table, rows, key in (("claims", claims, ("claim_id",)), ("items", items, ("claim_id", "item_no"))):
            cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
            assert list(rows[0]) == cols  # every column as stored, in order
            # the stored rows as DuckDB itself writes them as text
            stored = con.execute(
                f"SELECT {', '.join(f'coalesce({c}::VARCHAR, {chr(39)}{chr(39)})' for c in cols)} FROM {table} "
                f"WHERE claim_id IN (SELECT unnest(?::VARCHAR[]))", [list(ring.claim_ids)]).fetchall()
            got = sorted(tuple(r[c] for c in cols) for r in rows)
            assert got == sorted(stored), table
            assert len({tuple(r[k] for k in key) for r in rows}) == len(rows)
        assert len(items) == con.execute("SELECT count(*) FROM items WHERE claim_id IN (SELECT unnest(?::VARCHAR[]))",
                                         [list(ring.claim_ids)]).fetchall()[0][0] > 0
    finally:
        con.close()


def test_summary_totals_are_the_exact_sums_of_claims_csv(ring_pkg):
    ring, out, _ = ring_pkg
    claims = read_csv(out / "claims.csv")
    # no float anywhere: every number in summary.json is parsed as Decimal or int, amounts are strings
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"), parse_float=Decimal)
    total = sum((Decimal(c["total_amount"]) for c in claims), Decimal("0.00"))
    fund = sum((Decimal(c["fund_amount"] or "0") for c in claims), Decimal("0.00"))
    assert summary["total_amount"] == str(total) and summary["fund_amount"] == str(fund.quantize(Decimal("0.01")))
    assert Decimal(summary["total_amount"]) == ring.total_amount
    days = sorted(c["settled_at"][:10] for c in claims)
    assert (summary["first_date"], summary["last_date"]) == (days[0], days[-1])
    holders = {c["patient_id"] for c in claims}
    assert summary["counts"]["people"] == len(holders)
    assert summary["counts"]["cards"] == len({c["card_id"] for c in claims})
    assert summary["counts"]["facilities"] == len({c["facility_id"] for c in claims})
    assert summary["counts"]["claims"] == len(claims)
    assert summary["over_transfer_threshold"] is (total >= Decimal(6000)) is ring.over_transfer_threshold
    assert summary["whistleblower_reward"] == str(whistleblower_reward(total))
    assert summary["kind"] == "card_collection" and summary["kind_zh"] == "聚敛盗刷"
    # Chinese and English: the same numbers in both
    amount = f"{total:,.2f}"
    assert any(amount in line for line in summary["zh"]) and any(amount in line for line in summary["en"])
    assert any("移送公安" in line for line in summary["zh"]) and any("police" in line for line in summary["en"])
    assert [r["code"] for r in summary["reasons"]] == [x.code for x in ring.reasons]


@pytest.mark.parametrize("amount, reward", [
    ("0.00", "0.00"), ("0.01", "500.00"), ("9999.99", "500.00"), ("10000.00", "1000.00"), ("19999.99", "1000.00"),
    ("20000.00", "1500.00"), ("40000.00", "1500.00"), ("40000.01", "2000.00"), ("123456.78", "6172.84"),
    ("200000.00", "10000.00"), ("5000000.00", "10000.00"), ("-300.00", "0.00")])
def test_whistleblower_reward_follows_the_schedule(amount, reward):
    assert whistleblower_reward(Decimal(amount)) == Decimal(reward)
    assert str(whistleblower_reward(Decimal(amount))) == reward


def test_the_case_page_and_the_package_state_the_same_reward():
    from graphfraud.views.render import reward

    # 5 % of 40000.10 is 2000.005: rounded half up (四舍五入) in both places
    for amount in ("9999.99", "20000.00", "40000.10", "123456.78", "999999.99"):
        assert reward(Decimal(amount)) == whistleblower_reward(Decimal(amount))
    assert whistleblower_reward(Decimal("40000.10")) == Decimal("2000.01")


def test_no_message_key_is_defined_twice():
    """MESSAGES is one dict literal: a key written twice (two branches adding the same key)
    would silently keep only the later text."""
    import collections

    import graphfraud.core.i18n as i18n

    from graphfraud.detect import registry

    source = Path(i18n.__file__).read_text(encoding="utf-8")
    keys = re.findall(r'^ {4}"([^"]+)": *\{', source, re.M)
    assert [k for k, n in collections.Counter(keys).items() if n > 1] == []
    # beyond the literal, only the names the detectors declare (registered when they load)
    registry.detectors()
    assert set(i18n.MESSAGES) - set(keys) == {f"kind.{k}" for k in registry.kinds()}
    assert set(keys) <= set(i18n.MESSAGES)


def test_money_never_passes_through_float():
    from graphfraud.evidence.summary import money

    with pytest.raises(TypeError):
        whistleblower_reward(10000.0)
    with pytest.raises(TypeError):
        money(0.1)
    assert money(None) == Decimal("0.00") and money(Decimal("1.1")) == Decimal("1.10")


# ------------------------------------------------------------------ graph formats read back
NODE_FIELDS = ("type", "entity_id", "label", "member", "role", "n_claims", "amount", "first_date", "last_date")
EDGE_FIELDS = ("n_claims", "amount", "fund_amount", "n_days", "first_date", "last_date")


def _node_expect(n) -> dict:
    out = {"type": n.type, "entity_id": n.entity_id, "label": n.label, "member": n.member, "role": n.role,
           "n_claims": n.n_claims, "amount": str(n.amount),
           "first_date": n.first_date.isoformat() if n.first_date else None,
           "last_date": n.last_date.isoformat() if n.last_date else None}
    for k, v in n.attrs.items():
        out[k] = v if isinstance(v, (int, bool)) else (";".join(map(str, v)) if isinstance(v, (list, tuple))
                                                        else str(v))
    return out


def _edge_expect(e) -> dict:
    return {"type": e.type, "n_claims": e.n_claims, "amount": str(e.amount), "fund_amount": str(e.fund_amount),
            "n_days": e.n_days, "first_date": e.first_date.isoformat() if e.first_date else None,
            "last_date": e.last_date.isoformat() if e.last_date else None}


def test_graphml_reads_back_in_networkx_and_igraph_with_the_same_nodes_edges_and_numbers(ring_pkg, graph_of):
    import igraph as ig
    import networkx as nx

    ring, out, _ = ring_pkg
    g = graph_of(ring.ring_id)
    assert len(g.nodes) > len(g.members) and g.edges
    nxg = nx.read_graphml(out / "case.graphml")
    assert nxg.is_directed() and nxg.graph["case_id"] == ring.ring_id
    assert set(nxg.nodes) == {n.key for n in g.nodes}
    assert set(nxg.edges) == {(e.source, e.target) for e in g.edges} and nxg.number_of_edges() == len(g.edges)
    for n in g.nodes:
        want = {k: v for k, v in _node_expect(n).items() if v is not None}
        assert nxg.nodes[n.key] == want, n.key
    for e in g.edges:
        got = nxg.edges[e.source, e.target]
        assert {k: got.get(k) for k in ("type", *EDGE_FIELDS)} == _edge_expect(e)
        assert got["days"] == ";".join(d.isoformat() for d in e.days)

    igg = ig.Graph.Read_GraphML(str(out / "case.graphml"))
    assert igg.is_directed() and igg.vcount() == len(g.nodes) and igg.ecount() == len(g.edges)
    by_key = {n.key: n for n in g.nodes}
    for v in igg.vs:
        n = by_key[v["id"]]
        assert (v["type"], v["entity_id"], v["member"], int(v["n_claims"]), v["amount"]) == \
            (n.type, n.entity_id, n.member, n.n_claims, str(n.amount))
    edges = {(e.source, e.target): e for e in g.edges}
    for ie in igg.es:
        e = edges[(igg.vs[ie.source]["id"], igg.vs[ie.target]["id"])]
        assert (ie["type"], int(ie["n_claims"]), ie["amount"], ie["fund_amount"], int(ie["n_days"])) == \
            (e.type, e.n_claims, str(e.amount), str(e.fund_amount), e.n_days)


def test_gexf_is_dynamic_with_one_spell_per_run_of_days(ring_pkg, graph_of):
    import datetime as dt

    import networkx as nx

    ring, out, _ = ring_pkg
    g = graph_of(ring.ring_id)
    text = (out / "case.gexf").read_text(encoding="utf-8")
    assert 'version="1.3"' in text and 'mode="dynamic"' in text and 'timeformat="date"' in text
    gx = nx.read_gexf(out / "case.gexf")
    assert gx.graph["mode"] == "dynamic" and gx.is_directed()
    assert set(gx.nodes) == {n.key for n in g.nodes}
    assert {(s, t) for s, t in gx.edges} == {(e.source, e.target) for e in g.edges}
    for n in g.nodes:
        got = gx.nodes[n.key]
        want = {k: v for k, v in _node_expect(n).items() if v is not None}
        assert {k: got.get(k) for k in want} == want, n.key
        if n.first_date:
            assert got["spells"] == [(n.first_date.isoformat(), n.last_date.isoformat())]
    multi_day_runs = 0
    for e in g.edges:
        got = gx.edges[e.source, e.target]
        assert {k: got.get(k) for k in ("type", *EDGE_FIELDS)} == _edge_expect(e)
        spells = got["spells"]
        assert spells == [(a.isoformat(), b.isoformat()) for a, b in day_runs(e.days)]
        # the spells cover exactly the tie's days, no more
        covered = set()
        for a, b in spells:
            day = dt.date.fromisoformat(a)
            while day <= dt.date.fromisoformat(b):
                covered.add(day)
                day += dt.timedelta(days=1)
        assert covered == set(e.days)
        multi_day_runs += sum(a != b for a, b in spells)
    assert sum(len(gx.edges[e.source, e.target]["spells"]) for e in g.edges) >= len(g.edges)


def test_anx_has_the_structure_i2_imports(ring_pkg, graph_of):
    """Checked against the documented structure of ANX charts (no published XSD is available
    outside an i2 installation): collections before items, every reference resolves."""
    from lxml import etree

    ring, out, _ = ring_pkg
    g = graph_of(ring.ring_id)
    root = etree.parse(str(out / "case.anx")).getroot()
    assert root.tag == "Chart"
    order = [c.tag for c in root]
    expected = ["StrengthCollection", "AttributeClassCollection", "EntityTypeCollection", "LinkTypeCollection",
                "ChartItemCollection"]
    assert order == expected
    ids = [el.get("Id") for el in root.iter() if el.get("Id") is not None]
    assert len(ids) == len(set(ids))  # xs:ID: unique in the document
    strengths = {s.get("Name") for s in root.find("StrengthCollection")}
    classes = {c.get("Name"): (c.get("Id"), c.get("Type")) for c in root.find("AttributeClassCollection")}
    assert {t for _, t in classes.values()} <= {"AttText", "AttNumber", "AttTime", "AttFlag"}
    etypes = {e.get("Name"): e for e in root.find("EntityTypeCollection")}
    assert all(e.get("IconFile") and e.get("PreferredRepresentation") == "RepresentAsIcon" for e in etypes.values())
    ltypes = {lt.get("Name"): lt.get("Id") for lt in root.find("LinkTypeCollection")}
    entities, links = {}, []
    for item in root.find("ChartItemCollection"):
        assert item.tag == "ChartItem" and item.get("Label")
        kids = [c.tag for c in item]
        if kids[0] == "End":
            end = item[0]
            assert {"X", "Y"} <= set(end.attrib)
            ent = end.find("Entity")
            style = ent.find("Icon/IconStyle")
            assert style.get("Type") in etypes and etypes[style.get("Type")].get("Id") == style.get(
                "EntityTypeReference")
            entities[ent.get("EntityId")] = (ent.get("Identity"), item)
        else:
            assert kids[0] == "Link"
            link = item[0]
            ls = link.find("LinkStyle")
            assert ls.get("Strength") in strengths and ltypes[ls.get("Type")] == ls.get("LinkTypeReference")
            links.append((link.get("End1Id"), link.get("End2Id"), item))
        assert kids[1:] in ([], ["AttributeCollection"])
        for att in item.iterfind("AttributeCollection/Attribute"):
            assert classes[att.get("AttributeClass")][0] == att.get("AttributeClassReference")
    # one entity per node (identity = node key), one link per tie, both ends resolve
    assert sorted(i for i, _ in entities.values()) == sorted(n.key for n in g.nodes)
    assert len(links) == len(g.edges)
    got = {(entities[a][0], entities[b][0]) for a, b, _ in links}
    assert got == {(e.source, e.target) for e in g.edges}
    by_pair = {(e.source, e.target): e for e in g.edges}
    for a, b, item in links:
        e = by_pair[(entities[a][0], entities[b][0])]
        values = {att.get("AttributeClass"): att.get("Value") for att in item.iterfind("AttributeCollection/Attribute")}
        assert values["金额 Amount (CNY)"] == str(e.amount) and values["结算笔数 Claims"] == str(e.n_claims)
        assert values["首次 First date"].startswith(e.first_date.isoformat())
        assert item.get("DateTime").startswith(e.first_date.isoformat())
    node_types = {n.type for n in g.nodes}
    assert len(etypes) == len(node_types)


def test_nodes_and_edges_csv_carry_the_numbers_behind_each_tie(ring_pkg, graph_of):
    ring, out, _ = ring_pkg
    g = graph_of(ring.ring_id)
    nodes = {r["key"]: r for r in read_csv(out / "nodes.csv")}
    edges = {(r["source"], r["target"]): r for r in read_csv(out / "edges.csv")}
    assert set(nodes) == {n.key for n in g.nodes} and len(edges) == len(g.edges)
    for e in g.edges:
        r = edges[(e.source, e.target)]
        assert (r["type"], int(r["n_claims"]), Decimal(r["amount"]), int(r["n_days"]), r["first_date"],
                r["last_date"]) == (e.type, e.n_claims, e.amount, e.n_days, e.first_date.isoformat(),
                                    e.last_date.isoformat())
        assert r["days"].split(";") == [d.isoformat() for d in e.days]
    used = [r for r in edges.values() if r["type"] == "USED_AT"]
    assert sum(Decimal(r["amount"]) for r in used) == ring.total_amount


def test_case_html_is_one_offline_printable_page_with_graph_and_timeline(ring_pkg, graph_of):
    import re

    ring, out, _ = ring_pkg
    html = (out / "case.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "@media print" in html
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) <= {"http://www.w3.org/2000/svg"}
    assert html.count("<svg") == 3  # the subgraph, the timeline (as the pages draw it) and the card lanes
    assert 'class="timeline"' in html and 'data-day="' in html
    g = graph_of(ring.ring_id)
    assert html.count("<circle") >= len(g.nodes)
    assert ring.ring_id in html and f"{ring.total_amount}" in html
    assert "时间线 / Timeline" in html and "关系图 / Graph" in html


# ------------------------------------------------------------------ tampering
def _tamper_cases(pkg: Path, tmp: Path):
    """(name, path of a tampered copy, what verify must say) for a folder package."""
    out = []
    altered = tmp / "altered"
    shutil.copytree(pkg, altered)
    data = bytearray((altered / "case.gexf").read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of one byte
    (altered / "case.gexf").write_bytes(bytes(data))
    out.append((altered, "altered", "case.gexf"))
    missing = tmp / "missing"
    shutil.copytree(pkg, missing)
    (missing / "items.csv").unlink()
    out.append((missing, "missing", "items.csv"))
    extra = tmp / "extra"
    shutil.copytree(pkg, extra)
    (extra / "note.txt").write_text("added later", encoding="utf-8")
    out.append((extra, "extra", "note.txt"))
    return out


def _zip_of(folder: Path, path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for p in sorted(folder.iterdir()):
            zf.write(p, p.name)
    return path


def test_verify_names_each_altered_missing_or_extra_file_in_folder_and_zip(ring_pkg, tmp_path):
    from graphfraud.evidence.integrity import verify_package

    _, out, zip_path = ring_pkg
    runner = CliRunner()
    for pkg in (out, zip_path):
        r = runner.invoke(main, ["verify", str(pkg)])
        assert r.exit_code == 0 and "证据包完好" in r.output, r.output
        assert verify_package(pkg).ok
    for folder, what, name in _tamper_cases(out, tmp_path):
        for pkg in (folder, _zip_of(folder, tmp_path / f"{folder.name}.zip")):
            report = verify_package(pkg)
            assert not report.ok and getattr(report, what) == [name], (pkg, what)
            others = {"altered", "missing", "extra"} - {what}
            assert all(getattr(report, o) == [] for o in others)
            r = runner.invoke(main, ["verify", str(pkg)])
            assert r.exit_code == 1 and name in r.output and "未通过核验" in r.output, r.output
            r = runner.invoke(main, ["--lang", "en", "verify", str(pkg)])
            assert r.exit_code == 1 and f"{what}: {name}" in r.output and "failed verification" in r.output, r.output
    # a tampered zip produced by editing a member in place
    edited = tmp_path / "edited.zip"
    with zipfile.ZipFile(zip_path) as src, zipfile.ZipFile(edited, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "summary.json":
                data = data.replace(b'"over_transfer_threshold": true', b'"over_transfer_threshold": false')
            dst.writestr(info, data)
    assert verify_package(edited).altered == ["summary.json"]


def test_verify_against_the_audit_log_catches_a_replaced_manifest(ring_pkg, region, tmp_path):
    import hashlib

    _, out, _ = ring_pkg
    _, ws, _, _ = region
    r = CliRunner().invoke(main, ["verify", str(out), "-w", str(ws)])
    assert r.exit_code == 0 and "审计日志" in r.output, r.output
    # a forger edits a file and rewrites its hash in the manifest: the hashes agree again...
    forged = tmp_path / "forged"
    shutil.copytree(out, forged)
    (forged / "summary.json").write_text("{}", encoding="utf-8")
    manifest = json.loads((forged / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["summary.json"] = {"sha256": hashlib.sha256(b"{}").hexdigest(), "size": 2}
    (forged / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    # ...but the signature no longer matches the manifest...
    r = CliRunner().invoke(main, ["verify", str(forged)])
    assert r.exit_code == 1 and "签名无效" in r.output, r.output
    # ...and the workspace never exported that manifest
    r = CliRunner().invoke(main, ["--lang", "en", "verify", str(forged), "-w", str(ws)])
    assert r.exit_code == 1 and "not in the audit log" in r.output, r.output


def test_verify_refuses_what_is_not_a_package(tmp_path):
    r = CliRunner().invoke(main, ["verify", str(tmp_path)])
    assert r.exit_code == 2 and "manifest.json" in r.output


# ------------------------------------------------------------------ audit log
def test_audit_log_detects_edited_removed_and_reordered_entries(region, tmp_path):
    data, ws_src, result, _ = region
    ws = tmp_path / "ws"
    shutil.copytree(ws_src, ws)
    (ws / "audit.log").unlink(missing_ok=True)
    con = duckdb.connect(str(ws / "graphfraud.duckdb"))
    con.execute("DELETE FROM meta WHERE key = 'audit_head'")
    con.close()
    rings = result.rings[:3]
    for i, ring in enumerate(rings):
        export_case(ws, ring.ring_id, tmp_path / f"p{i}", operator=f"op{i}")
    runner = CliRunner()
    r = runner.invoke(main, ["audit", "verify", "-w", str(ws)])
    assert r.exit_code == 0 and "共 3 条" in r.output, r.output
    log = ws / "audit.log"
    lines = log.read_text(encoding="utf-8").splitlines()
    entries = [json.loads(x) for x in lines]
    assert [e["case_id"] for e in entries] == [x.ring_id for x in rings]
    assert [e["seq"] for e in entries] == [1, 2, 3] and entries[0]["prev_hash"] == "0" * 64
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(entries, entries[1:]))
    assert all(e["operator"] == f"op{i}" and e["revealed"] is False and e["revealed_count"] == 0
               for i, e in enumerate(entries))
    assert entries[0]["manifest_sha256"] == __import__("hashlib").sha256(
        (tmp_path / "p0" / "manifest.json").read_bytes()).hexdigest()

    def check(text: str, expect_zh: str, expect_en: str):
        log.write_text(text, encoding="utf-8")
        r = runner.invoke(main, ["audit", "verify", "-w", str(ws)])
        assert r.exit_code == 1 and expect_zh in r.output, r.output
        r = runner.invoke(main, ["--lang", "en", "audit", "verify", "-w", str(ws)])
        assert r.exit_code == 1 and expect_en in r.output, r.output

    edited = dict(entries[1], operator="someone else")
    check("\n".join([lines[0], json.dumps(edited, ensure_ascii=False), lines[2]]) + "\n",
          "第 2 行被修改", "line 2 was edited")
    check("\n".join([lines[0], lines[2]]) + "\n", "第 2 行的序号是 3", "line 2 has sequence number 3")
    check("\n".join([lines[0], lines[2], lines[1]]) + "\n", "第 2 行没有接在第 1 行之后", "line 2 does not follow line 1")
    check("\n".join(lines[:2]) + "\n", "第 3 行起的记录被删除", "entries from line 3 on were removed")
    check("\n".join([lines[0], lines[1], "not json"]) + "\n", "第 3 行不是有效的审计记录", "line 3 is not a valid")
    # the intact log verifies again, and a broken one refuses further exports
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert runner.invoke(main, ["audit", "verify", "-w", str(ws)]).exit_code == 0
    log.write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    with pytest.raises(GraphfraudError, match="audit"):
        export_case(ws, rings[0].ring_id, tmp_path / "again", make_zip=True)
    # nothing was written that the log could not record, not even half a package
    assert not (tmp_path / "again").exists() and not (tmp_path / "again.zip").exists()
    assert not list(tmp_path.glob(".again*"))


# ------------------------------------------------------------------ personal data
def _raw_personal_values(data: Path) -> dict[str, set[tuple[str, str]]]:
    """Every name, citizen ID, phone and address in the generated input -> who holds it."""
    held: dict[str, set[tuple[str, str]]] = defaultdict(set)
    with open(data / "patients.csv", encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            for col in ("name", "id_number", "phone", "address"):
                if row.get(col):
                    held[row[col].strip()].add(("patient", row["patient_id"]))
    with open(data / "doctors.csv", encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("name"):
                held[row["name"].strip()].add(("doctor", row["doctor_id"]))
    return held


def _package_texts(folder: Path, zip_path: Path | None) -> list[str]:
    """Every file of the package, and the zip both as raw bytes and member by member."""
    texts = [p.read_bytes().decode("utf-8") for p in sorted(folder.iterdir())]
    if zip_path is not None:
        texts.append(zip_path.read_bytes().decode("utf-8", errors="replace"))
        with zipfile.ZipFile(zip_path) as zf:
            texts += [zf.read(n).decode("utf-8") for n in zf.namelist()]
    return texts


def _trie_pattern(values) -> str:
    """One regex matching any of ``values`` (a trie, so thousands of values scan fast)."""
    trie: dict = {}
    for v in values:
        node = trie
        for ch in v:
            node = node.setdefault(ch, {})
        node[""] = {}

    def walk(node: dict) -> str:
        alts = [re.escape(ch) + walk(sub) for ch, sub in sorted(node.items()) if ch]
        end = "" in node
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if end else body

    return walk(trie)


def found_values(blob: str, values) -> set[str]:
    """The values present in ``blob``: long ones (phones, citizen IDs, addresses) anywhere,
    short ones (names) as whole words, since the name 王龙 is not in 王龙飞's record."""
    long_vals = [v for v in values if len(v) >= 5]
    short_vals = [v for v in values if len(v) < 5]
    out: set[str] = set()
    for vals, fmt in ((long_vals, "(?=({}))"), (short_vals, r"(?<!\w)(?=({})(?!\w))")):
        if vals:
            out |= {m.group(1) for m in re.finditer(fmt.format(_trie_pattern(vals)), blob)}
    return out & set(values)


def test_found_values_sees_long_values_anywhere_and_names_as_whole_words():
    blob = "x,王龙飞,1380000000012,<td>李四</td> 云南省昆明市人民路1号"
    assert found_values(blob, ["王龙", "王龙飞", "13800000000", "李四", "张三", "云南省昆明市人民路1号"]) == {
        "王龙飞", "13800000000", "李四", "云南省昆明市人民路1号"}


def test_a_pseudonymised_package_holds_no_name_citizen_id_phone_or_address(ring_pkg, region, tmp_path):
    data, ws, result, _ = region
    held = _raw_personal_values(data)
    assert len(held) > 1000
    _, out, zip_path = ring_pkg
    packages = [(out, zip_path)]
    # a shared-identity ring (phones and addresses in the graph) and a lead, too
    si = next(r for r in result.rings if r.kind == "shared_identity")
    export_case(ws, si.ring_id, tmp_path / "si", make_zip=True)
    packages.append((tmp_path / "si", tmp_path / "si.zip"))
    lead = result.leads[0]
    export_case(ws, lead.lead_id, tmp_path / "lead")
    packages.append((tmp_path / "lead", None))
    for folder, zp in packages:
        leaked = found_values("\n".join(_package_texts(folder, zp)), held)
        assert leaked == set(), (folder.name, sorted(leaked)[:5])


def test_a_revealed_package_holds_exactly_the_case_people(region, tmp_path, graph_of):
    data, ws, result, _ = region
    held = _raw_personal_values(data)
    ring = next(r for r in result.rings if r.kind == "shared_identity")
    g = graph_of(ring.ring_id)
    case_people = {(n.type, n.entity_id) for n in g.nodes if n.type in ("patient", "doctor")}
    assert any(t == "patient" for t, _ in case_people)
    key = tmp_path / "key.txt"
    key.write_text("graphfraud-test-key-0123456789abcdef\n", encoding="utf-8")
    key.chmod(0o600)
    out = tmp_path / "revealed"
    r = CliRunner().invoke(main, ["--lang", "en", "export", ring.ring_id, "-w", str(ws), "--out", str(out), "--zip",
                                  "--reveal", "--key", str(key), "--operator", "liaison"])
    assert r.exit_code == 0, r.output
    assert f"real identities of {len(case_people)} people restored" in r.output
    blob = "\n".join(_package_texts(out, tmp_path / "revealed.zip"))
    present = found_values(blob, held)
    # every value present belongs to someone in the case...
    assert all(held[v] & case_people for v in present), [v for v in present if not held[v] & case_people][:5]
    # ...and every value of everyone in the case is present
    mine = {v for v, owners in held.items() if owners & case_people}
    assert mine and mine <= present
    nodes = {row["key"]: row for row in read_csv(out / "nodes.csv")}
    for t, pid in case_people:
        assert nodes[f"{t}:{pid}"]["name"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["identities_revealed"] is True
    entry = json.loads((ws / "audit.log").read_text(encoding="utf-8").splitlines()[-1])
    assert entry["revealed"] is True and entry["operator"] == "liaison"
    assert entry["revealed_identities"] == sorted(f"{t}:{i}" for t, i in case_people)
    assert entry["revealed_count"] == len(case_people)
    # real identities are for the exporting user only: the folder 0700, its files and the zip 0600
    assert (out.stat().st_mode & 0o777) == 0o700
    assert all((p.stat().st_mode & 0o777) == 0o600 for p in out.iterdir())
    zpath = tmp_path / "revealed.zip"
    assert (zpath.stat().st_mode & 0o777) == 0o600
    with zipfile.ZipFile(zpath) as zf:
        assert all((info.external_attr >> 16) & 0o777 == 0o600 for info in zf.infolist())


def test_reveal_needs_the_workspace_key(region, tmp_path):
    _, ws, result, _ = region
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("another-secret-key-that-is-long-enough\n", encoding="utf-8")
    wrong.chmod(0o600)
    before = (ws / "audit.log").read_text(encoding="utf-8")
    r = CliRunner().invoke(main, ["export", result.rings[0].ring_id, "-w", str(ws), "--out", str(tmp_path / "x"),
                                  "--reveal", "--key", str(wrong)])
    assert r.exit_code == 2 and "密钥" in r.output, r.output
    assert not (tmp_path / "x").exists() and (ws / "audit.log").read_text(encoding="utf-8") == before
    r = CliRunner().invoke(main, ["export", result.rings[0].ring_id, "-w", str(ws), "--out", str(tmp_path / "y"),
                                  "--key", str(wrong)])
    assert r.exit_code == 2 and "--reveal" in r.output


# ------------------------------------------------------------------ leads and errors
def test_a_lead_exports_with_its_claims_and_amount(region, tmp_path, graph_of):
    _, ws, result, _ = region
    lead = max(result.leads, key=lambda x: len(x.claim_ids))
    res = export_case(ws, lead.lead_id, tmp_path / "lead")
    assert res.case_type == "lead"
    claims = read_csv(tmp_path / "lead" / "claims.csv")
    assert sorted(c["claim_id"] for c in claims) == sorted(lead.claim_ids)
    summary = json.loads((tmp_path / "lead" / "summary.json").read_text(encoding="utf-8"))
    assert Decimal(summary["total_amount"]) == lead.amount == sum(Decimal(c["total_amount"]) for c in claims)
    assert summary["case_type"] == "lead" and summary["reasons"][0]["text_zh"] == lead.text_zh
    g = graph_of(lead.lead_id, lead=True)
    assert {r["key"] for r in read_csv(tmp_path / "lead" / "nodes.csv")} == {n.key for n in g.nodes}


def test_export_refuses_an_unknown_case_and_a_used_folder(region, tmp_path):
    _, ws, result, _ = region
    r = CliRunner().invoke(main, ["--lang", "en", "export", "CC-NOSUCHRING", "-w", str(ws), "--out",
                                  str(tmp_path / "a")])
    assert r.exit_code == 2 and "CC-NOSUCHRING" in r.output
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("x", encoding="utf-8")
    r = CliRunner().invoke(main, ["export", result.rings[0].ring_id, "-w", str(ws), "--out", str(used)])
    assert r.exit_code == 2 and "不覆盖" in r.output and (used / "keep.txt").read_text(encoding="utf-8") == "x"


@pytest.mark.integration
def test_the_pages_open_offline_in_chromium_and_case_html_prints(ring_pkg, graph_of):
    """Real headless Chromium with the network refused (``tests/browser.py``)."""
    from browser import chromium

    ring, out, _ = ring_pkg
    g = graph_of(ring.ring_id)
    with chromium() as session:
        page = session.open(out / "case.html")
        assert page.locator("svg").count() == 3
        drawn = page.evaluate("""() => [...document.querySelectorAll('svg')].map(s => {
            const b = s.getBoundingClientRect();
            return {w: b.width, h: b.height, circles: s.querySelectorAll('circle').length,
                    bars: s.querySelectorAll('rect').length,
                    painted: [...s.querySelectorAll('circle')].filter(c => c.getBBox().width > 0).length};
        })""")
        graph_svg, timeline_svg, lanes_svg = drawn
        assert graph_svg["w"] > 500 and graph_svg["h"] > 300
        assert graph_svg["circles"] == graph_svg["painted"] == len(g.nodes)
        assert timeline_svg["w"] > 500 and timeline_svg["bars"] > 0
        assert lanes_svg["w"] > 500 and lanes_svg["circles"] > 0
        assert ring.ring_id in page.inner_text("h1")
        pdf = page.pdf(format="A4", print_background=True)
        assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 2
        net = session.open(out / NETWORK_PAGE)
        net.wait_for_selector("#network canvas", timeout=30000)
        assert session.external == [] and session.errors == [], (session.external, session.errors)


def test_one_style_table_names_and_colours_nodes_in_pages_and_exports(ring_pkg):
    """viz/styles.toml is the only place node names and colours come from: the GEXF colours,
    the ANX entity and link types and the package page agree with it."""
    import tomllib

    from lxml import etree

    _, out, _ = ring_pkg
    table = tomllib.loads((Path(__file__).resolve().parents[1] / "viz" / "styles.toml").read_text(encoding="utf-8"))
    gexf = etree.parse(str(out / "case.gexf"))
    ns = {"g": "http://gexf.net/1.3", "viz": "http://gexf.net/1.3/viz"}
    seen = set()
    for node in gexf.iterfind(".//g:node", ns):
        key = node.get("id").split(":", 1)[0]
        types = {a.get("for"): a.get("value") for a in node.iterfind(".//g:attvalue", ns)}
        if key == "facility" and "pharmacy" in types.values():
            key = "pharmacy"
        c = node.find("viz:color", ns)
        colour = "#{:02x}{:02x}{:02x}".format(int(c.get("r")), int(c.get("g")), int(c.get("b")))
        assert colour == table["node"][key]["color"], key
        seen.add(key)
    assert {"card", "patient"} <= seen
    anx = etree.parse(str(out / "case.anx"))
    names = {e.get("Name") for e in anx.iter("EntityType")}
    icons = {e.get("Name"): e.get("IconFile") for e in anx.iter("EntityType")}
    for key in seen:
        name = f"{table['node'][key]['label_zh']} {table['node'][key]['label_en']}"
        assert name in names and icons[name] == table["node"][key]["i2_icon"], key
    links = {e.get("Name") for e in anx.iter("LinkType")}
    assert f"{table['edge']['HOLDS']['label_zh']} {table['edge']['HOLDS']['label_en']}" in links
    page = (out / "case.html").read_text(encoding="utf-8")
    for key in seen:
        assert table["node"][key]["label_zh"] in page and table["node"][key]["color"] in page
