"""A 500-node case page in the browser investigators use: how long until it is drawn and
still (interactive), in Debian's headless Chromium.

Target (issue #6, investigator views): a 500-node case page becomes interactive within a
few seconds. The case is the 2-hop neighbourhood of the busiest pharmacy of a generated
region, capped at 500 nodes (``graphfraud explore F… --type facility --cap 500``), written
as one self-contained page; the largest ring's page of the same run is measured too. Each
page is opened ``--runs`` times in a fresh headless Chromium with the network refused;
"ready" is the time from navigation start until the page's script reports the graph drawn
with physics off (``document.body.dataset.graphReady``, ``window.graphfraudReady``); "load"
until the whole page, with its claims table, is loaded (``loadEventEnd``); "wall" is seen
from the test driver (navigation and waiting included).

    .venv/bin/python benchmarks/case_page.py            # or: make bench-case-page
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
from common import git_commit, machine, save  # noqa: E402


def build(work: Path, patients: int, months: int, seed: int, fresh: bool) -> Path:
    from graphfraud.detect.run import detect
    from graphfraud.ingest.run import ingest
    from graphfraud.synth.generate import generate_region

    os.environ.setdefault("GRAPHFRAUD_KEY", "graphfraud-benchmark-key-0123456789")
    ws = work / "ws"
    if fresh or not (ws / "graphfraud.duckdb").exists():
        import shutil

        shutil.rmtree(work, ignore_errors=True)
        generate_region(work / "data", patients=patients, months=months, seed=seed)
        ingest(work / "data", ws)
        detect(ws, work / "results")
    return ws


def pages(ws: Path, out: Path, cap: int) -> dict[str, dict]:
    from graphfraud.store.workspace import Workspace
    from graphfraud.views.casegraph import neighbourhood, ring_graph
    from graphfraud.views.render import write_case_page

    con = Workspace.open(ws).connect(read_only=True)
    try:
        busiest = con.execute("""
            SELECT c.facility_id FROM claims c JOIN facilities f USING (facility_id)
            WHERE f.facility_type = 'pharmacy' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""").fetchall()[0][0]
        t0 = time.perf_counter()
        big = neighbourhood(con, "facility", busiest, hops=2, cap=cap)
        t1 = time.perf_counter()
        big_page = write_case_page(con, big, out / "neighbourhood.html", cap=cap)
        t2 = time.perf_counter()
        ring_id = con.execute("""SELECT ring_id FROM rings WHERE run_id = (SELECT max(run_id) FROM detect_runs)
                                 ORDER BY n_claims DESC LIMIT 1""").fetchall()[0][0]
        ring = ring_graph(con, ring_id)
        ring_page = write_case_page(con, ring, out / "ring.html")
    finally:
        con.close()
    return {
        "neighbourhood": {"path": big_page, "entity": busiest, "nodes": len(big.nodes), "edges": len(big.edges),
                          "hidden": big.hidden_nodes, "claims": len(big.claim_ids),
                          "graph_seconds": round(t1 - t0, 2), "render_seconds": round(t2 - t1, 2),
                          "bytes": big_page.stat().st_size},
        "ring": {"path": ring_page, "ring_id": ring_id, "nodes": len(ring.nodes), "edges": len(ring.edges),
                 "claims": len(ring.claim_ids), "bytes": ring_page.stat().st_size},
    }


def measure(page: Path, runs: int) -> dict:
    from browser import chromium

    ready, load, wall = [], [], []
    for _ in range(runs):
        with chromium() as browser:
            t0 = time.perf_counter()
            tab = browser.open(page)
            tab.wait_for_function("document.body.dataset.graphReady === '1'", timeout=120000)
            wall.append(time.perf_counter() - t0)
            tab.wait_for_load_state("load")
            times = tab.evaluate("""() => ({ready: window.graphfraudReady,
                                             load: performance.getEntriesByType('navigation')[0].loadEventEnd})""")
            ready.append(times["ready"] / 1000.0)
            load.append(times["load"] / 1000.0)
            assert not browser.errors and not browser.external, (browser.errors, browser.external)
    return {"ready_s": [round(x, 3) for x in ready], "ready_median_s": round(statistics.median(ready), 3),
            "load_s": [round(x, 3) for x in load], "load_median_s": round(statistics.median(load), 3),
            "wall_s": [round(x, 3) for x in wall], "wall_median_s": round(statistics.median(wall), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, default=20000)
    ap.add_argument("--months", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cap", type=int, default=500)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "graphfraud-case-page")
    ap.add_argument("--fresh", action="store_true")
    args = ap.parse_args()
    ws = build(args.work, args.patients, args.months, args.seed, args.fresh)
    out = args.work / "pages"
    out.mkdir(parents=True, exist_ok=True)
    made = pages(ws, out, args.cap)
    chromium_version = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True).stdout.strip()
    results = {}
    for name, info in made.items():
        results[name] = {**{k: (str(v) if isinstance(v, Path) else v) for k, v in info.items()},
                         **measure(info["path"], args.runs)}
        print(f"{name}: {info['nodes']} nodes, {info['edges']} edges: ready in "
              f"{results[name]['ready_median_s']} s, whole page loaded in {results[name]['load_median_s']} s "
              f"(medians of {args.runs}; {info['claims']} claims in its table)")
    payload = {"benchmark": "case_page", "date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(),
               "browser": chromium_version, "commit": git_commit(),
               "note": "machine shared with other engineers' work while measured",
               "args": {k: str(v) for k, v in vars(args).items()}, "results": results}
    path = save(f"case_page-n{made['neighbourhood']['nodes']}", payload)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
