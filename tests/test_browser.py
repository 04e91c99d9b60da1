"""The report site and case pages in real headless Chromium, with the network refused:
nothing leaves the machine, no console error, the graph is drawn, Chinese renders, the ring
table sorts and filters, and a case page shows exactly its ring's members and totals."""

from __future__ import annotations

import re
from decimal import Decimal

import duckdb
import pytest
from browser import chromium

from graphfraud.views.report import report

# a canvas with two different CJK characters drawn apart: real glyphs differ, tofu boxes
# (missing fonts) are identical; also their advance is full width
GLYPHS_JS = """() => {
  const c = document.createElement('canvas'); c.width = 200; c.height = 60;
  const g = c.getContext('2d'); g.fillStyle = '#fff'; g.fillRect(0, 0, 200, 60);
  g.fillStyle = '#000'; g.font = '40px "Noto Sans CJK SC", sans-serif'; g.textBaseline = 'top';
  g.fillText('医', 5, 5); g.fillText('保', 105, 5);
  const a = g.getImageData(0, 0, 100, 60).data, b = g.getImageData(100, 0, 100, 60).data;
  let diff = 0, ink = 0;
  for (let i = 0; i < a.length; i += 4) { if (a[i] !== b[i]) diff++; if (a[i] < 128) ink++; }
  return {diff, ink, width: g.measureText('医保基金').width,
          cjk: document.fonts.check('16px "Noto Sans CJK SC"')};
}"""

# pixel statistics of the graph's canvas
CANVAS_JS = """() => {
  const c = document.querySelector('#network canvas');
  const g = c.getContext('2d');
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let n = 0, sum = 0, sq = 0; const colours = new Set();
  for (let i = 0; i < d.length; i += 16) {
    const v = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
    n++; sum += v; sq += v * v; colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
  }
  const mean = sum / n;
  return {width: c.width, height: c.height, variance: sq / n - mean * mean, colours: colours.size};
}"""


@pytest.fixture(scope="module")
def site(detected_region, tmp_path_factory):
    _, ws, _, _ = detected_region
    out = tmp_path_factory.mktemp("site")
    result = report(ws, out, lead_pages=5)
    return ws, result


def _pixel_variance_of_screenshot(page, selector: str) -> float:
    """Variance of the screenshot's bytes after decoding the PNG ourselves (zlib)."""
    import struct
    import zlib

    png = page.locator(selector).screenshot()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        body = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    values = []
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):  # undo the PNG filter of the row
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = line
        if y % 4 == 0:
            values += [line[i] for i in range(0, stride, bpp * 4)]
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / len(values)


def test_index_is_offline_renders_chinese_and_sorts_and_filters(site):
    ws, result = site
    con = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
    n_rings = con.execute("SELECT count(*) FROM rings WHERE run_id = ?", [result.run_id]).fetchall()[0][0]
    con.close()
    with chromium() as browser:
        page = browser.open(result.index)
        assert page.title() == "医保基金欺诈团伙与线索报告"
        assert page.locator("#ring-table tbody tr").count() == n_rings > 3
        glyphs = page.evaluate(GLYPHS_JS)
        assert glyphs["cjk"] and glyphs["ink"] > 50 and glyphs["diff"] > 50, glyphs
        assert 150 <= glyphs["width"] <= 170, glyphs  # four full-width glyphs at 40px
        # the header is laid out in CJK: about one em per character
        box = page.locator("h1").bounding_box()
        assert box["width"] > 11 * 18

        amounts = lambda: [Decimal(x) for x in page.locator("#ring-table tbody tr td:nth-child(7)").evaluate_all(
            "cells => cells.map(c => c.dataset.sort)")]
        ranks = lambda: [int(x) for x in page.locator("#ring-table tbody tr td:nth-child(1)").all_inner_texts()]
        assert ranks() == sorted(ranks())
        page.click("#ring-table th[data-col=amount]")
        assert amounts() == sorted(amounts())
        assert page.get_attribute("#ring-table th[data-col=amount]", "aria-sort") == "ascending"
        page.click("#ring-table th[data-col=amount]")
        assert amounts() == sorted(amounts(), reverse=True) and amounts()[0] > amounts()[-1]
        page.click("#ring-table th[data-col=score]")
        scores = [float(x) for x in page.locator("#ring-table tbody tr td:nth-child(4)").all_inner_texts()]
        assert scores == sorted(scores)

        page.select_option("#ring-kind", "card_collection")
        visible = page.locator("#ring-table tbody tr:not([hidden])")
        kinds = visible.evaluate_all("rows => rows.map(r => r.dataset.kind)")
        assert kinds and set(kinds) == {"card_collection"}
        assert page.inner_text("[data-count-for=ring-table]") == str(len(kinds))
        page.select_option("#ring-kind", "")
        page.check("#ring-over")
        over = page.locator("#ring-table tbody tr:not([hidden])").evaluate_all("rows => rows.map(r => r.dataset.over)")
        assert over and set(over) == {"1"}
        page.uncheck("#ring-over")
        page.fill("#ring-filter", "CC-")
        ids = page.locator("#ring-table tbody tr:not([hidden])").evaluate_all("rows => rows.map(r => r.dataset.ring)")
        assert ids and all(i.startswith("CC-") for i in ids)
        assert page.locator("#lead-table tbody tr").count() == result.n_leads > 0
        assert browser.errors == [] and browser.external == []


def test_ring_page_draws_the_graph_offline_with_exactly_its_members_and_totals(site):
    ws, result = site
    con = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
    with chromium() as browser:
        for kind in ("card_collection", "shared_identity"):
            ring_id = con.execute("SELECT ring_id FROM rings WHERE run_id = ? AND kind = ? ORDER BY rank LIMIT 1",
                                  [result.run_id, kind]).fetchall()[0][0]
            members = {(t, e) for t, e in con.execute(
                "SELECT entity_type, entity_id FROM ring_members WHERE run_id = ? AND ring_id = ?",
                [result.run_id, ring_id]).fetchall()}
            claims = dict(con.execute("""
                SELECT c.claim_id, c.total_amount FROM ring_claims r JOIN claims c USING (claim_id)
                WHERE r.run_id = ? AND r.ring_id = ?""", [result.run_id, ring_id]).fetchall())
            total = sum(claims.values(), Decimal("0.00"))
            page = browser.open(result.out_dir / "rings" / f"{ring_id}.html")
            page.wait_for_function("document.body.dataset.graphReady === '1'", timeout=30000)
            stats = page.evaluate(CANVAS_JS)
            assert stats["width"] > 300 and stats["variance"] > 20 and stats["colours"] > 8, stats
            assert _pixel_variance_of_screenshot(page, "#network") > 20
            # members: the table and the drawn nodes with the member border are the ring's members
            shown = set(page.locator("#members-table tbody tr").evaluate_all(
                "rows => rows.map(r => r.dataset.entity)"))
            assert shown == {e for _, e in members}
            drawn = page.evaluate("""() => {
                const ds = window.graphfraudNetwork.body.data.nodes;
                return ds.get().filter(n => n.borderWidth === 4).map(n => n.id); }""")
            assert {tuple(k.split(":", 1)) for k in drawn} == members
            # totals on the page equal the sum of the ring's claims
            assert Decimal(page.get_attribute("#totals", "data-total")) == total
            rows = page.locator("#claims-table tbody tr td:nth-child(9)").evaluate_all(
                "cells => cells.map(c => c.dataset.sort)")
            # (textContent: the table is laid out only when scrolled to)
            ids = page.locator("#claims-table tbody tr td:nth-child(1)").evaluate_all(
                "cells => cells.map(c => c.textContent.trim())")
            assert sorted(ids) == sorted(claims) and sum(map(Decimal, rows)) == total
            assert f"{total:,.2f}" in page.inner_text("#totals")
            page.locator("#claims-table").scroll_into_view_if_needed()  # laid out once scrolled to
            page.wait_for_function("document.querySelector('#claims-table tfoot').innerText.length > 0")
            assert page.locator("#claims-table tfoot").inner_text().split()[-2] == f"{total:,.2f}"
            # the timeline is a chart whose bars add up to the same total
            bars = page.locator("#timeline svg rect.bar").evaluate_all("rs => rs.map(r => r.dataset.amount)")
            assert len(bars) > 1 and sum(map(Decimal, bars)) == total
            # Chinese labels on the page and in the tooltips' texts
            assert re.search(r"[\u4e00-\u9fff]", page.inner_text("h1"))
            assert page.locator("#legend li").count() >= 3
        assert browser.errors == [] and browser.external == []
    con.close()


def test_pages_name_no_remote_resource(site):
    _, result = site
    for page in [result.index, *result.ring_pages, *result.lead_pages]:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), page
        assert "cdnjs.cloudflare.com" not in text and "cdn.jsdelivr.net" not in text, page


def test_a_remote_request_would_be_caught(tmp_path):
    """The guard the tests rely on: a page asking for anything remote is recorded."""
    page_file = tmp_path / "remote.html"
    page_file.write_text('<!DOCTYPE html><html><head><meta charset="utf-8">'
                         '<script src="https://cdn.example.invalid/x.js"></script></head><body>x</body></html>',
                         encoding="utf-8")
    with chromium() as browser:
        browser.open(page_file)
        assert any("cdn.example.invalid" in u for u in browser.external)
