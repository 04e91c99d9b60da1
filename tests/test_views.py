"""The view commands end to end on a detected region: case, explore, expand, report, and
the pages' content (members, totals, language) without a browser."""

from __future__ import annotations

import csv
from decimal import Decimal

import duckdb
import pytest
from click.testing import CliRunner

from graphfraud.cli import main
from graphfraud.views.expand import expand, read_seeds


@pytest.fixture(scope="module")
def region(detected_region):
    data, ws, _, result = detected_region
    return data, ws, result


def test_case_command_for_a_ring_and_a_lead_in_both_languages(region, tmp_path):
    _, ws, result = region
    ring = result.rings[0]
    runner = CliRunner()
    out = tmp_path / "case.html"
    r = runner.invoke(main, ["case", ring.ring_id, "-w", str(ws), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert f"{ring.total_amount:,.2f}" in r.output and "已写出" in r.output
    text = out.read_text(encoding="utf-8")
    assert f'data-total="{ring.total_amount}"' in text and "<html lang=\"zh-CN\">" in text
    assert "团伙" in text and "vis.Network" in text  # inlined vis-network
    r = runner.invoke(main, ["--lang", "en", "case", ring.ring_id, "-w", str(ws), "-o", str(tmp_path / "en.html")])
    assert r.exit_code == 0 and "wrote" in r.output
    en = (tmp_path / "en.html").read_text(encoding="utf-8")
    assert "<html lang=\"en\">" in en and "Why it is suspicious" in en
    lead = next(x for x in result.leads if x.reasons)  # the work queue's first lead with scoring reasons
    r = runner.invoke(main, ["case", lead.lead_id, "-w", str(ws), "-o", str(tmp_path / "lead.html"), "--lang", "en"])
    assert r.exit_code == 0, r.output
    page = (tmp_path / "lead.html").read_text(encoding="utf-8")
    assert f'data-total="{lead.amount}"' in page
    # the page shows the lead's score, its place in the queue and why, with the points
    assert "place in the work queue" in page and f"{lead.score:.1f}" in page
    from html import escape
    assert escape(lead.reasons[0].line("en")) in page
    r = runner.invoke(main, ["--lang", "en", "case", "CC-NOSUCH", "-w", str(ws)])
    assert r.exit_code == 2 and "has no ring or lead CC-NOSUCH" in r.output


def test_explore_caps_the_neighbourhood(region, tmp_path):
    _, ws, result = region
    ring = next(r for r in result.rings if r.kind == "card_collection")
    pharmacy = next(m.entity_id for m in ring.members if m.entity_type == "facility")
    out = tmp_path / "x.html"
    r = CliRunner().invoke(main, ["explore", pharmacy, "--type", "facility", "--cap", "40", "-w", str(ws),
                                  "-o", str(out)])
    assert r.exit_code == 0, r.output
    import re

    nodes = int(re.search(r"(\d+) 个节点", r.output).group(1))
    assert 10 <= nodes <= 40 and "未显示" in r.output
    assert 'data-hidden="' in out.read_text(encoding="utf-8")


def test_expand_finds_the_rest_of_a_ring_from_some_of_its_cards(region, tmp_path):
    _, ws, result = region
    ring = max((r for r in result.rings if r.kind == "card_collection"), key=lambda r: r.n_members)
    cards = sorted(m.entity_id for m in ring.members if m.entity_type == "card")
    seeds, rest = cards[:3], set(cards[3:])
    con = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
    try:
        found = expand(con, seeds, top=len(rest))
    finally:
        con.close()
    top = {c.card_id for c in found.candidates}
    assert len(top & rest) >= 0.8 * len(rest)
    best = found.candidates[0]
    assert best.seed in seeds and best.days >= best.place_days >= 2 and best.significance > 3
    assert best.expected < best.days

    seed_file = tmp_path / "seeds.txt"
    seed_file.write_text("card_id\n" + "\n".join(seeds) + "\n# checked on site\nNO-SUCH-CARD\n", encoding="utf-8")
    assert read_seeds(seed_file) == [*seeds, "NO-SUCH-CARD"]
    out_csv, out_html = tmp_path / "related.csv", tmp_path / "related.html"
    r = CliRunner().invoke(main, ["expand", "--seed", str(seed_file), "-w", str(ws), "--csv", str(out_csv),
                                  "-o", str(out_html), "--top", "10"])
    assert r.exit_code == 0, r.output
    assert "NO-SUCH-CARD" in r.output and "种子卡" in r.output
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8-sig")))
    assert rows and rows[0]["path_seed"] in seeds and Decimal(rows[0]["amount"]) > 0
    page = out_html.read_text(encoding="utf-8")
    assert 'id="expand-table"' in page and rows[0]["card_id"] in page


def test_the_settings_file_reaches_expand(region, tmp_path):
    """expand follows the places and the window of ``[card_collection]``, as detection does."""
    _, ws, result = region
    ring = max((r for r in result.rings if r.kind == "card_collection"), key=lambda r: r.n_members)
    seeds = sorted(m.entity_id for m in ring.members if m.entity_type == "card")[:3]
    seed_file = tmp_path / "seeds.txt"
    seed_file.write_text("\n".join(seeds) + "\n", encoding="utf-8")

    def run(*args: str) -> list[dict]:
        out = tmp_path / f"r{len(list(tmp_path.glob('r*.csv')))}.csv"
        r = CliRunner().invoke(main, ["expand", "--seed", str(seed_file), "-w", str(ws), "--csv", str(out), *args])
        assert r.exit_code == 0, r.output
        return list(csv.DictReader(out.open(encoding="utf-8-sig")))

    default = run()
    assert default and any(x["path_place"].startswith("F:") for x in default)
    cfg = tmp_path / "wide.toml"
    cfg.write_text("[card_collection]\nwindow_minutes = 10\n", encoding="utf-8")
    assert run("--config", str(cfg)) == default  # the default window, said in the file
    cfg.write_text("[card_collection]\nwindow_minutes = 1\n", encoding="utf-8")
    assert run("--config", str(cfg)) == run("--window", "1") != default
    # no facility type is followed: only shared terminals remain as places
    cfg.write_text('[card_collection]\nfacility_types = []\nclaim_types = []\n', encoding="utf-8")
    assert all(x["path_place"].startswith("T:") for x in run("--config", str(cfg)))


def test_report_site_and_demo_wiring(region, tmp_path):
    _, ws, result = region
    r = CliRunner().invoke(main, ["report", "-w", str(ws), "--out", str(tmp_path / "site"), "--lead-pages", "3",
                                  "--lang", "en"])
    assert r.exit_code == 0, r.output
    assert "Open" in r.output and str((tmp_path / "site" / "index.html").resolve()) in r.output
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    for ring in result.rings:
        assert f'href="rings/{ring.ring_id}.html"' in index
        assert (tmp_path / "site" / "rings" / f"{ring.ring_id}.html").is_file()
    assert len(list((tmp_path / "site" / "leads").glob("*.html"))) == 3
    # the lead table is the work queue: the first three of it have pages, every row its rank and score
    queued = sorted((x for x in result.leads if x.queued), key=lambda x: x.rank)
    for x in queued[:3]:
        assert (tmp_path / "site" / "leads" / f"{x.lead_id}.html").is_file()
    for x in queued:
        row = index.split(f'data-lead="{x.lead_id}"', 1)[1].split("</tr>", 1)[0]
        assert f'<td data-sort="{x.rank}">{x.rank}</td>' in row and f">{x.score:.1f}</td>" in row
    assert not any(f'data-lead="{x.lead_id}"' in index for x in result.leads if not x.queued)
    assert (tmp_path / "site" / "assets" / "vis-network.min.js").is_file()
    assert (tmp_path / "site" / "assets" / "vis-network.LICENSE.txt").is_file()
    assert "Medical-insurance fraud rings and leads" in index


def test_demo_ends_with_the_report_and_the_path_to_open(tmp_path):
    out = tmp_path / "demo"
    r = CliRunner().invoke(main, ["--lang", "en", "demo", "--out", str(out), "--patients", "1500", "--months", "1"])
    assert r.exit_code == 0, r.output
    index = (out / "report" / "index.html").resolve()
    assert r.output.strip().splitlines()[-1] == f"open the report in a browser: {index}"
    assert index.is_file() and (out / "report" / "assets" / "vis-network.min.js").is_file()
    assert "Medical-insurance fraud rings and leads" in index.read_text(encoding="utf-8")


def test_views_on_a_workspace_without_detection_say_what_to_do(tmp_path):
    from graphfraud.store.workspace import Workspace

    ws = Workspace.open(tmp_path / "ws", create=True)
    ws.connect().close()
    runner = CliRunner()
    for args in (["report", "--out", str(tmp_path / "site")], ["case", "CC-1"]):
        r = runner.invoke(main, ["--lang", "en", *args, "-w", str(ws.path)])
        assert r.exit_code == 2 and "run graphfraud detect first" in r.output, r.output


def test_every_member_role_of_a_run_reads_in_both_languages(detected_region):
    from graphfraud.core.i18n import MESSAGES
    from graphfraud.views.render import role_text

    *_, result = detected_region
    roles = {m.role for r in result.rings for m in r.members}
    kinds = {r.kind for r in result.rings}
    assert {"card_collection", "drug_resale", "shared_identity"} <= kinds
    missing = sorted(role for role in roles if "role." + role not in MESSAGES)
    assert not missing
    assert role_text("excess-supply card", "zh") == "超量购药卡"
    assert role_text("excess-supply card", "en") == "excess-supply card"
