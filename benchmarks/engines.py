"""The two engines side by side: ``graphfraud detect`` with the heavy steps on DuckDB (default)
and on Spark local[2] (reading the workspace's canonical Parquet dataset, which ingest
writes), and the naive self-join the engine's bucketing avoids, on generated regions of about
1M, 3M and 10M claims, in one run.

For each region: wall time and peak memory (the whole process tree, the JVM included) of each
engine's whole detection, the ratio of each to DuckDB, every detector's step times and where
Spark read each table (from run.json), and the naive DuckDB baseline: card collection's pairs by a range join on
the context and the time (``|t_a - t_b| <= window``, no buckets), timed against the engine's
bucketed join on the same events (stopped after ``--naive-timeout`` seconds). Then how time
grows with claims (the exponent of a least-squares fit of log time on log claims), and what a
cluster would need for 300M and 3B claims, extrapolated linearly from the measured Spark
per-event costs and row counts (stated as an estimate, not a measurement).

    .venv/bin/python benchmarks/engines.py                       # 1M, 3M, 10M claims
    .venv/bin/python benchmarks/engines.py --people 107000 320000
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import graphfraud_cmd, machine, measure, save  # noqa: E402

ENV = {"GRAPHFRAUD_KEY": "benchmark-key-not-secret-0123456789", "SPARK_LOCAL_IP": "127.0.0.1"}
#: bytes a shuffled row of the engine's tables takes, about (ints, a long, a double)
ROW_BYTES = 48
PARTITION_BYTES = 128 * 2**20


def exponent(points: list[tuple[float, float]]) -> float | None:
    """Slope of log(seconds) on log(claims), least squares."""
    if len(points) < 2:
        return None
    xs = [math.log(c) for c, _ in points]
    ys = [math.log(s) for _, s in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return round(sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs), 3)


def naive_join(ws: Path, timeout: float) -> dict:
    """Card collection's meetings by a plain range join (no buckets), on the same events."""
    import duckdb

    from graphfraud.detect import card_collection
    from graphfraud.detect.settings import Settings

    con = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
    try:
        s = Settings()
        n_events = card_collection.events(con, s)
        window = s.card_collection.window_minutes * 60
        timer = threading.Timer(timeout, con.interrupt)
        timer.start()
        t0 = time.perf_counter()
        try:
            meetings = con.execute(f"""
                SELECT count(*) FROM cc_events x JOIN cc_events y
                  ON x.context = y.context AND y.t BETWEEN x.t - {window} AND x.t + {window}
                WHERE x.entity < y.entity""").fetchall()[0][0]
            done = True
        except duckdb.InterruptException:
            meetings, done = None, False
        finally:
            timer.cancel()
        return {"events": n_events, "meetings": meetings, "seconds": round(time.perf_counter() - t0, 1),
                "finished": done}
    finally:
        con.close()


def region(work: Path, people: int, months: int, seed: int) -> tuple[Path, dict]:
    import duckdb

    tag = f"p{people}-m{months}-s{seed}"
    data, ws = work / f"data-{tag}", work / f"ws-{tag}"
    made = {}
    # with the canonical Parquet dataset (ingest's default), where the Spark engine reads
    if not (ws / "graphfraud.duckdb").exists() or not any((ws / "parquet" / "claims").glob("*.parquet")):
        shutil.rmtree(ws, ignore_errors=True)
        if not (data / "truth.json").exists():
            shutil.rmtree(data, ignore_errors=True)
            made["generate"] = measure(graphfraud_cmd("generate", str(data), "--patients", str(people), "--months",
                                                      str(months), "--seed", str(seed)), ENV)
        made["ingest"] = measure(graphfraud_cmd("ingest", str(data), "--workspace", str(ws)), ENV)
    con = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
    made["claims"] = con.execute("SELECT count(*) FROM claims").fetchall()[0][0]
    con.close()
    return ws, made


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--people", type=int, nargs="+", default=[107_000, 320_000, 1_000_000])
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--naive-timeout", type=float, default=600.0)
    ap.add_argument("--work", type=Path, default=Path("/tmp/graphfraud-engines"))
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for people in args.people:
        ws, made = region(args.work, people, args.months, args.seed)
        row = {"people": people, "claims": made["claims"], "prepare": made}
        for engine in ("duckdb", "spark"):
            out = args.work / f"out-{people}-{engine}"
            shutil.rmtree(out, ignore_errors=True)
            # each engine on its own copy of the ingested workspace: both runs are a first run
            copy = args.work / f"ws-{people}-{engine}"
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(ws, copy)
            m = measure(graphfraud_cmd("detect", "--workspace", str(copy), "--out", str(out), "--engine", engine), ENV)
            shutil.rmtree(copy, ignore_errors=True)
            run = json.loads((out / "run.json").read_text(encoding="utf-8"))
            stats = run.get("detectors") or run.get("stats") or {}
            row[engine] = {**m, "engine": run.get("engine"), "rings": run["results"]["rings"],
                           "cooccurrence_timings_s": {k: v.get("timings_s") for k, v in stats.items()
                                                      if isinstance(v, dict) and "significant_pairs" in v},
                           "detector_seconds": run.get("timings_s"),
                           "counts": {k: {c: v.get(c) for c in ("events", "meetings", "candidate_pairs",
                                                                  "significant_pairs")}
                                      for k, v in stats.items() if isinstance(v, dict) and "meetings" in v}}
            print(f"{made['claims']:,} claims, {engine}: {m['seconds']} s, {m['peak_rss_gb']} GB", flush=True)
        row["spark_over_duckdb"] = round(row["spark"]["seconds"] / row["duckdb"]["seconds"], 2)
        same = all((args.work / f"out-{people}-duckdb" / f).read_bytes() == (args.work / f"out-{people}-spark" / f).read_bytes()
                   for f in ("rings.csv", "ring_members.csv", "reasons.csv", "leads.csv"))
        row["same_outputs"] = same
        row["naive"] = naive_join(ws, args.naive_timeout)
        cc = row["duckdb"]["cooccurrence_timings_s"].get("card_collection") or {}
        row["naive"]["bucketed_join_s"] = cc.get("join")
        print(f"  naive range join: {row['naive']['seconds']} s ({'done' if row['naive']['finished'] else 'stopped'}),"
              f" bucketed: {cc.get('join')} s; outputs the same: {same}", flush=True)
        rows.append(row)
    growth = {e: exponent([(r["claims"], r[e]["seconds"]) for r in rows]) for e in ("duckdb", "spark")}
    # a cluster, extrapolated from the largest region's Spark run (linear in events, as measured)
    big = rows[-1]
    counts = big["spark"]["counts"].get("card_collection") or {}
    per_claim_events = (counts.get("events") or 0) / big["claims"]
    per_claim_meetings = (counts.get("meetings") or 0) / big["claims"]
    spark_cc = sum((big["spark"]["cooccurrence_timings_s"].get("card_collection") or {}).values())
    core_seconds_per_claim = spark_cc * 2 / big["claims"]  # local[2]: two cores busy
    # every heavy step is on Spark now: the whole detection's time is the other bound
    whole_core_seconds_per_claim = big["spark"]["seconds"] * 2 / big["claims"]
    cluster = {}
    for claims in (300_000_000, 3_000_000_000):
        shuffle = (2 * per_claim_events + per_claim_meetings) * claims * ROW_BYTES
        core_s = core_seconds_per_claim * claims
        cluster[str(claims)] = {"events": round(per_claim_events * claims), "meetings": round(per_claim_meetings * claims),
                                "shuffle_gb": round(shuffle / 2**30, 1), "partitions": math.ceil(shuffle / PARTITION_BYTES),
                                "core_hours": round(core_s / 3600, 2),
                                "whole_detection_core_hours": round(whole_core_seconds_per_claim * claims / 3600, 1),
                                "executors_4_cores_for_30_min": max(1, math.ceil(core_s / (4 * 1800)))}
    payload = {"benchmark": "engines", "date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(),
               "args": {k: str(v) for k, v in vars(args).items()}, "regions": rows, "growth_exponent": growth,
               "cluster_estimate": cluster,
               "note": "cluster figures extrapolate the largest region's card-collection engine run (core_hours) "
                       "and its whole detection on local[2] (whole_detection_core_hours, an upper bound: it "
                       "includes the JVM start and the driver's small steps) linearly; they are estimates, not "
                       "measurements"}
    print(f"growth exponents: {growth}")
    print(f"results: {save('engines', payload)}")


if __name__ == "__main__":
    main()
