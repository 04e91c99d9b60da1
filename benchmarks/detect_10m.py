"""Run ``graphfraud detect`` on a ~10M-claim workspace; print time and peak memory.

Targets (issue: detection engine; again with the work queue and the schemes of robust
detection): detect on ~10M claims in under 2 minutes and under 6 GB on a 2-core, 24 GB
machine. ``--difficulty hard`` measures the hard region (the look-alikes of real data, about
fifty times more leads to score) of the same size. The workspace comes from ``ingest_10m.py`` (same ``--work``, seed and
size), or is generated and ingested here when it is missing.

    .venv/bin/python benchmarks/detect_10m.py --patients 1000000 --months 12
    .venv/bin/python benchmarks/detect_10m.py --workspace /path/to/ws    # any ingested workspace
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import graphfraud_cmd, machine, measure, save

ENV = {"GRAPHFRAUD_KEY": "benchmark-key-not-secret-0123456789"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, default=1_000_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--difficulty", default="default", choices=("default", "hard"),
                    help="the generator's difficulty (hard: the look-alikes of real data; more leads to score)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/graphfraud-bench"))
    ap.add_argument("--workspace", type=Path, default=None, help="an existing ingested workspace to use")
    ap.add_argument("--runs", type=int, default=2, help="detect this many times (the second keeps ids)")
    ap.add_argument("--truth", type=Path, default=None,
                    help="the region's truth.json (default: beside the generated data) to check what was found")
    args = ap.parse_args()

    tag = f"{'hard-' if args.difficulty == 'hard' else ''}p{args.patients}-m{args.months}-s{args.seed}"
    ws = args.workspace or args.work / f"ws-{tag}"
    result = {"benchmark": "detect_10m", "date": time.strftime("%Y-%m-%d"), "machine": machine(),
              "args": {k: str(v) for k, v in vars(args).items()}}
    if not (ws / "graphfraud.duckdb").exists():
        data = args.work / f"data-{tag}"
        if not (data / "truth.json").exists():
            shutil.rmtree(data, ignore_errors=True)
            result["generate"] = measure(graphfraud_cmd("generate", str(data), "--patients", str(args.patients),
                                                        "--months", str(args.months), "--seed", str(args.seed),
                                                        "--difficulty", args.difficulty), ENV)
        result["ingest"] = measure(graphfraud_cmd("ingest", str(data), "--workspace", str(ws), "--no-parquet"), ENV)
    import duckdb

    con = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
    result["rows"] = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                      for t in ("claims", "items", "patients", "cards")}
    con.close()
    result["detect"] = []
    for i in range(args.runs):
        out = args.work / f"detect-{tag}-{i}"
        shutil.rmtree(out, ignore_errors=True)
        run = measure(graphfraud_cmd("detect", "--workspace", str(ws), "--out", str(out)), ENV)
        manifest = json.loads((out / "run.json").read_text(encoding="utf-8"))
        run.update(timings_s=manifest["timings_s"], detectors=manifest["detectors"],
                   rings=manifest["results"]["rings_by_kind"],
                   leads={k: manifest["results"][k] for k in ("leads", "leads_found", "leads_not_queued")},
                   changes={k: len(v) for k, v in manifest["changes"].items()})
        result["detect"].append(run)
        print(f"run {i + 1}: {run['seconds']} s, peak {run['peak_rss_gb']} GB, rings {run['rings']}, "
              f"timings {run['timings_s']}", flush=True)
    truth = args.truth or args.work / f"data-{tag}" / "truth.json"
    if truth.exists():
        result["found"] = found(ws, json.loads(truth.read_text(encoding="utf-8")))
        for kind, f in result["found"].items():
            print(f"{kind}: planted {f['planted']}, found {f['found']} (Jaccard >= 0.5), rings returned "
                  f"{f['returned']}, real in top 20 {f['top20_real']}/{f['top20']}")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    best = min(r["seconds"] for r in result["detect"])
    peak = max(r["peak_rss_gb"] for r in result["detect"])
    print(f"\n{result['rows']['claims']:,} claims: detect {best} s (best of {args.runs}), peak {peak} GB "
          f"(targets: < 120 s, < 6 GB)")
    print("saved", save(f"detect_10m-{tag}", result))


def found(ws: Path, truth: dict) -> dict:
    """Planted rings found by the latest run (best same-kind ring with Jaccard >= 0.5 on what
    ``accuracy.match_set`` compares: cards; doctor and pharmacy; people of a hub) and the share
    of its top 20 rings, per kind and overall, that are mostly one planted ring."""
    import duckdb
    from accuracy import match_set

    con = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
    run = con.execute("SELECT run_id FROM detect_runs ORDER BY finished_at DESC LIMIT 1").fetchall()[0][0]
    rows = con.execute("""
        SELECT r.kind, r.rank, r.ring_id, list({'entity_type': m.entity_type, 'entity_id': m.entity_id,
                                                'role': m.role})
        FROM rings r JOIN ring_members m USING (run_id, ring_id)
        WHERE r.run_id = ? GROUP BY r.kind, r.rank, r.ring_id ORDER BY r.rank""", [run]).fetchall()
    con.close()
    rings = [(kind, match_set(kind, members)) for kind, _, _, members in rows]
    planted_all = [(r["kind"], match_set(r["kind"], r["members"])) for r in truth["rings"]]

    def real(c: frozenset) -> bool:
        return any(len(c & p) >= 0.5 * len(c) for _, p in planted_all)

    out = {}
    for kind in sorted({k for k, _ in planted_all} & {k for k, _ in rings}):
        mine = [c for k, c in rings if k == kind]
        planted = [p for k, p in planted_all if k == kind]
        hit = sum(max((len(c & p) / len(c | p) for c in mine), default=0) >= 0.5 for p in planted)
        top = mine[:20]
        out[kind] = {"planted": len(planted), "found": hit, "returned": len(mine), "top20": len(top),
                     "top20_real": sum(real(c) for c in top)}
    top = [c for _, c in rings[:20]]
    out["all"] = {"planted": len(planted_all), "found": sum(v["found"] for v in out.values()),
                  "returned": len(rings), "top20": len(top), "top20_real": sum(real(c) for c in top)}
    return out


if __name__ == "__main__":
    main()
