"""The investigator views with --neo4j against the real server: the same detection run, read
from the workspace and from the graph it was written into, gives the same pages (case, lead,
neighbourhood, seed-and-expand, the whole report site), byte for byte but for the minute the
page was generated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import neo4j_with_run

from graphfraud.cli import main

_GENERATED = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?=[^<]*</p>)")


@pytest.fixture(scope="module")
def same_run(neo4j_server, neo4j_region, tmp_path_factory):
    """The region loaded into an empty graph; detection on the workspace (a copy), and that
    very run written into the graph, so both sides hold the same run id and results."""
    _, ws = neo4j_region
    out = tmp_path_factory.mktemp("neo4j-views")
    copy, result = neo4j_with_run(neo4j_server, ws, out)
    return {"target": neo4j_server, "ws": copy, "result": result, "out": out}


def _neo(run) -> list[str]:
    t = run["target"]
    return ["--neo4j", t.uri, "--neo4j-user", t.user, "--neo4j-password", t.password]


def _both(run, tmp_path: Path, name: str, args: list[str], out_flag: str = "-o") -> tuple[str, str]:
    """The command on the workspace and on Neo4j; the two outputs with the generation time
    blanked."""
    texts = []
    for side, source in (("ws", ["-w", str(run["ws"])]), ("neo4j", _neo(run))):
        path = tmp_path / side / name
        path.parent.mkdir(parents=True, exist_ok=True)
        r = CliRunner().invoke(main, [*args, *source, out_flag, str(path)])
        assert r.exit_code == 0, (side, r.output)
        texts.append(path)
    return texts[0], texts[1]


def _same_page(a: Path, b: Path) -> None:
    ta = _GENERATED.sub("TIME", a.read_text(encoding="utf-8"))
    tb = _GENERATED.sub("TIME", b.read_text(encoding="utf-8"))
    assert ta == tb, f"{a.name} differs between the workspace and Neo4j"


def test_case_pages_from_neo4j_equal_those_from_the_workspace(same_run, tmp_path):
    result = same_run["result"]
    assert result.rings and result.leads, "the region must give rings and leads to compare"
    kinds = {}
    for r in result.rings:
        kinds.setdefault(r.kind, r)  # one ring of every kind found
    for r in kinds.values():
        a, b = _both(same_run, tmp_path, f"{r.ring_id}.html", ["case", r.ring_id])
        _same_page(a, b)
        assert r.ring_id in b.read_text(encoding="utf-8")
    lead = max(result.leads, key=lambda x: (len(x.claim_ids), x.lead_id))
    a, b = _both(same_run, tmp_path, "lead.html", ["--lang", "en", "case", lead.lead_id])
    _same_page(a, b)


def test_report_site_from_neo4j_equals_the_workspace_site(same_run, tmp_path):
    a, b = _both(same_run, tmp_path, "site", ["report", "--lead-pages", "20"], out_flag="--out")
    pages_a = sorted(p.relative_to(a) for p in a.rglob("*.html"))
    pages_b = sorted(p.relative_to(b) for p in b.rglob("*.html"))
    assert pages_a == pages_b
    assert len([p for p in pages_a if p.parts[0] == "rings"]) == len(same_run["result"].rings)
    for rel in pages_a:
        _same_page(a / rel, b / rel)


def test_explore_from_neo4j_equals_the_workspace(same_run, tmp_path):
    ring = next(r for r in same_run["result"].rings if r.kind == "shared_identity")
    phone = next(m.entity_id for m in ring.members if m.entity_type == "phone")
    card = next(m.entity_id for r in same_run["result"].rings for m in r.members if m.entity_type == "card")
    for name, args in (("phone.html", ["explore", phone, "--type", "phone", "--hops", "2"]),
                       ("card.html", ["explore", card, "--hops", "3", "--cap", "60"])):
        a, b = _both(same_run, tmp_path, name, args)
        _same_page(a, b)


def test_expand_from_neo4j_equals_the_workspace(same_run, tmp_path):
    ring = next(r for r in same_run["result"].rings if r.kind == "card_collection")
    cards = sorted(m.entity_id for m in ring.members if m.entity_type == "card")
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("\n".join(cards[:2]) + "\n", encoding="utf-8")
    args = ["expand", "--seed", str(seeds)]
    a, b = _both(same_run, tmp_path, "expand.html", args)
    _same_page(a, b)
    out = []
    for source in (["-w", str(same_run["ws"])], _neo(same_run)):
        r = CliRunner().invoke(main, [*args, *source, "--csv", str(tmp_path / "x.csv")])
        assert r.exit_code == 0, r.output
        out.append((tmp_path / "x.csv").read_text(encoding="utf-8-sig"))
    assert out[0] == out[1]
    assert any(c in out[1] for c in cards[2:]), "the other cards of the ring are found from Neo4j too"


def test_an_unknown_run_is_refused_clearly_on_both(same_run, tmp_path):
    for source in (["-w", str(same_run["ws"])], _neo(same_run)):
        r = CliRunner().invoke(main, ["--lang", "en", "report", "--run", "detect-nope", *source,
                                      "--out", str(tmp_path / "s")])
        assert r.exit_code == 2
        assert "no detection run detect-nope" in r.output


def test_a_case_reads_its_own_claims_not_the_whole_graph(same_run):
    from graphfraud.neo4j.views import open_views
    from graphfraud.store.workspace import Workspace
    from graphfraud.views.casegraph import ring_graph

    ring = max(same_run["result"].rings, key=lambda r: r.n_claims)
    with Workspace.open(same_run["ws"]).connect(read_only=True) as ws:
        total = ws.execute("SELECT count(*) FROM claims").fetchall()[0][0]
    with open_views(same_run["target"]) as con:
        graph = ring_graph(con, ring.ring_id)
        copied = con.execute("SELECT count(*) FROM claims").fetchall()[0][0]
    assert set(graph.claim_ids) == set(ring.claim_ids)
    assert ring.n_claims <= copied < total / 10


def test_a_view_written_against_a_source_reads_the_workspace_and_neo4j_alike(same_run):
    """A new view needs only ``store.source.Source``: written once, it gives the same answer
    on the workspace and on the graph."""
    from graphfraud.neo4j.views import Neo4jSource
    from graphfraud.store.source import Source, WorkspaceSource
    from graphfraud.views.casegraph import ring_graph

    result = same_run["result"]
    ring = max(result.rings, key=lambda r: (len(r.claim_ids), r.ring_id))

    def members_view(source: Source) -> dict:
        with source.connect(result.run_id) as con:
            g = ring_graph(con, ring.ring_id, run_id=result.run_id, cap=10**6)
            return {"nodes": sorted((n.key, n.n_claims, str(n.amount)) for n in g.nodes),
                    "edges": sorted((e.source, e.target, e.n_claims, str(e.amount)) for e in g.edges),
                    "claims": sorted(g.claim_ids)}

    workspace, graph = WorkspaceSource(same_run["ws"]), Neo4jSource(same_run["target"])
    assert isinstance(workspace, Source) and isinstance(graph, Source)
    seen = members_view(workspace)
    assert seen["claims"] == sorted(ring.claim_ids) and len(seen["nodes"]) > ring.n_members
    assert members_view(graph) == seen
