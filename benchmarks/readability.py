"""Are the drawn case graphs readable? Overlapping node labels, counted from what headless
Chromium actually drew, and how soon the workbench's case view is interactive.

On the demo's region (``graphfraud demo``'s size and seed: 20,000 people, 3 months, seed 7),
detected once: every ring is opened in the workbench (``graphfraud serve``, logged in, in
Debian's headless Chromium with the network refused), and every ring's static case page and a
500-node exploration (the 2-hop neighbourhood of the busiest pharmacy, ``explore --cap 500``)
are opened as files. For each drawing, vis-network's own bounding box of every node (its shape
and its label, ``network.getBoundingBox``) is read; a node counts as overlapping when its box
overlaps another's by more than half a pixel each way. "Interactive" is the time from asking
for the case to the graph's first complete drawing (the case's data fetched, laid out on the
server, drawn).

Targets (issue: investigator workbench): zero overlapping labels on the rings, under 2 % of
the nodes for the 500-node view; the case view interactive within 2 s.

    .venv/bin/python benchmarks/readability.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests"))
from case_page import build  # noqa: E402  (the same region, generated and detected once)
from common import git_commit, machine, save  # noqa: E402

OVERLAPS_JS = """(net) => {
  const ids = net.body.nodeIndices.slice();
  const boxes = ids.map(id => net.getBoundingBox(id));
  let hit = 0;
  for (let i = 0; i < boxes.length; i++) {
    const a = boxes[i];
    for (let j = 0; j < boxes.length; j++) {
      if (i === j) continue;
      const b = boxes[j];
      if (Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 &&
          Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5) { hit++; break; }
    }
  }
  return {nodes: ids.length, overlapping: hit};
}"""




def static_pages(ws: Path, out: Path, cap: int) -> dict[str, Path]:
    from graphfraud.store.workspace import Workspace
    from graphfraud.views.casegraph import neighbourhood, ring_graph
    from graphfraud.views.render import write_case_page

    con = Workspace.open(ws).connect(read_only=True)
    pages = {}
    try:
        busiest = con.execute("""
            SELECT c.facility_id FROM claims c JOIN facilities f USING (facility_id)
            WHERE f.facility_type = 'pharmacy' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""").fetchall()[0][0]
        pages["explore"] = write_case_page(con, neighbourhood(con, "facility", busiest, hops=2, cap=cap),
                                           out / "explore.html", cap=cap)
        for (ring_id,) in con.execute("""SELECT ring_id FROM rings WHERE run_id = (SELECT max(run_id) FROM detect_runs)
                                         ORDER BY rank""").fetchall():
            pages[ring_id] = write_case_page(con, ring_graph(con, ring_id), out / f"{ring_id}.html")
    finally:
        con.close()
    return pages


def measure_static(pages: dict[str, Path]) -> dict[str, dict]:
    from browser import chromium

    out = {}
    with chromium() as browser:
        for name, path in pages.items():
            tab = browser.open(path)
            tab.wait_for_function("() => document.body.dataset.graphReady === '1'", timeout=120000)
            out[name] = tab.evaluate(f"() => ({OVERLAPS_JS})(window.graphfraudNetwork)")
            tab.close()
        assert not browser.errors and not browser.external, (browser.errors, browser.external)
    return out


def measure_workbench(ws: Path) -> dict[str, dict]:
    from browser import chromium

    from graphfraud.store.source import WorkspaceSource
    from graphfraud.workbench.server import open_workbench, start
    from graphfraud.workbench.state import State

    password = "benchmark-password-1"
    state = State(ws)
    if not any(u["username"] == "bench" for u in state.users()):
        state.add_user("bench", "admin", password)
    running = start(open_workbench(WorkspaceSource(ws), ws), "127.0.0.1", 0)
    out = {}
    try:
        with chromium(allow=(running.url,)) as browser:
            page = browser.open(running.url + "/")
            page.set_viewport_size({"width": 1600, "height": 1000})
            page.fill("#username", "bench")
            page.fill("#password", password)
            page.click("#login")
            page.wait_for_selector("#queue tbody tr")
            rings = page.evaluate("() => window.gfWorkbench.queue.rows.filter(r => r.case_type === 'ring').map(r => r.id)")
            for ring_id in rings:
                page.evaluate("id => window.gfWorkbench.open(id, null)", ring_id)
                page.wait_for_function("() => window.gfWorkbench.case && window.gfWorkbench.case.drawnAt", timeout=60000)
                counts = page.evaluate(f"() => ({OVERLAPS_JS})(window.gfWorkbench.case.network)")
                counts["interactive_s"] = round(page.evaluate("() => window.gfWorkbench.case.interactiveMs") / 1000, 3)
                out[ring_id] = counts
            assert not browser.errors and not browser.external, (browser.errors, browser.external)
    finally:
        running.stop()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, default=20000)
    ap.add_argument("--months", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--cap", type=int, default=500)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "graphfraud-readability")
    ap.add_argument("--fresh", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("GRAPHFRAUD_KEY", "graphfraud-benchmark-key-0123456789")
    # the workbench signs its audit entries: a key of the benchmark's own, not the user's
    from graphfraud.evidence.signing import init_key

    key = args.work / "signing-key.pem"
    os.environ["GRAPHFRAUD_SIGNING_KEY"] = str(key)
    ws = build(args.work, args.patients, args.months, args.seed, args.fresh)
    if not key.exists():
        init_key(key)
    out = args.work / "pages"
    out.mkdir(parents=True, exist_ok=True)
    static = measure_static(static_pages(ws, out, args.cap))
    bench = measure_workbench(ws)
    explore = static.pop("explore")
    rings_static = list(static.values())
    rings_bench = list(bench.values())
    times = [r["interactive_s"] for r in rings_bench]
    summary = {
        "rings": len(rings_bench),
        "workbench_overlapping_max": max((r["overlapping"] for r in rings_bench), default=0),
        "workbench_overlapping_total": sum(r["overlapping"] for r in rings_bench),
        "static_overlapping_max": max((r["overlapping"] for r in rings_static), default=0),
        "static_overlapping_total": sum(r["overlapping"] for r in rings_static),
        "explore_nodes": explore["nodes"], "explore_overlapping": explore["overlapping"],
        "explore_overlapping_share": round(explore["overlapping"] / max(explore["nodes"], 1), 4),
        "interactive_median_s": round(statistics.median(times), 3) if times else None,
        "interactive_max_s": max(times) if times else None,
        "largest_ring_nodes": max((r["nodes"] for r in rings_bench), default=0),
    }
    print(f"{summary['rings']} rings: overlapping labels at most {summary['workbench_overlapping_max']} in the "
          f"workbench, {summary['static_overlapping_max']} on the static pages; 500-node explore: "
          f"{explore['overlapping']} of {explore['nodes']} nodes ({100 * summary['explore_overlapping_share']:.1f} %); "
          f"case view interactive in {summary['interactive_median_s']} s (median), {summary['interactive_max_s']} s at most")
    chromium_version = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True).stdout.strip()
    payload = {"benchmark": "readability", "date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(),
               "browser": chromium_version, "commit": git_commit(), "args": {k: str(v) for k, v in vars(args).items()},
               "summary": summary, "workbench": bench, "static": static, "explore": explore}
    print(f"results: {save('readability', payload)}")


if __name__ == "__main__":
    main()
