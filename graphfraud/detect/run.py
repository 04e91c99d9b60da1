"""``graphfraud detect``: run the detectors on a workspace, give rings stable ids, write the
outputs of the data contract and store them in the workspace."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from graphfraud import __version__
from graphfraud.core.errors import GraphfraudError
from graphfraud.core.safe_text import write_csv
from graphfraud.detect import registry
from graphfraud.detect.engine import SparkEngine, TableSources, offload_engine, offloading, spark_session
from graphfraud.detect.leads import detect_leads
from graphfraud.detect.model import DetectorResult, Lead, Member, Ring, reason
from graphfraud.detect.settings import Settings
from graphfraud.ingest.readers import file_sha256
from graphfraud.store.results import (
    LEAD_COLUMNS,
    LEAD_REASON_COLUMNS,
    MEMBER_COLUMNS,
    REASON_COLUMNS,
    RING_COLUMNS,
    STORE_DDL,
)
from graphfraud.store.results import LEAD_KINDS as KINDS
from graphfraud.store.workspace import Workspace, new_run_id


@dataclass
class DetectResult:
    run_id: str
    out_dir: Path
    rings: list[Ring]
    leads: list[Lead]
    changes: dict[str, list[str]]
    stats: dict[str, dict[str, int | float]]
    timings: dict[str, float]
    seconds: float
    manifest_path: Path
    files: list[Path] = field(default_factory=list)


ENGINES = ("duckdb", "spark")


def detect(workspace: str | Path, out_dir: str | Path, *, settings: Settings | None = None,
           memory_limit: str | None = None, progress: Callable[[str], None] | None = None,
           source: str | None = None, engine: str = "duckdb", spark_master: str | None = None) -> DetectResult:
    """Run every enabled detector on the workspace's tables and write the run's outputs.

    ``source`` names where the tables came from when the workspace is only a materialised copy
    (``graphfraud detect --neo4j`` extracts the server's tables into a temporary workspace);
    it is recorded in the manifest. ``engine="spark"`` runs the detectors' heavy steps on Spark
    (``spark_master``, default local mode on this machine), reading the canonical tables where
    ``settings.spark`` says (default the workspace's Parquet dataset), and the small steps as
    always; the results are the same (docs/engines.md)."""
    if engine == "duckdb":
        return _detect(workspace, out_dir, settings=settings, memory_limit=memory_limit, progress=progress,
                       source=source, engine_info={"name": "duckdb"})
    if engine != "spark":
        raise GraphfraudError("bad_option", option="--engine", detail=f"{engine} ∉ {', '.join(ENGINES)}")
    try:
        spark, owned = spark_session(spark_master)
    except ImportError:
        raise GraphfraudError("spark_extra_missing") from None
    try:
        spark.sparkContext.setLogLevel("ERROR")
        settings = settings or Settings()
        ws_parquet = Workspace.open(workspace).parquet_dir.resolve()  # absolute: executors run elsewhere
        sources = TableSources(catalog=settings.spark.catalog(), parquet=settings.spark.parquet or str(ws_parquet),
                               check=not settings.spark.parquet)
        with offloading(SparkEngine(spark, sources)):
            return _detect(workspace, out_dir, settings=settings, memory_limit=memory_limit, progress=progress,
                           source=source, engine_info={"name": "spark", "spark": spark.version,
                                                       "master": spark.sparkContext.master})
    finally:
        if owned:
            spark.stop()


def _detect(workspace: str | Path, out_dir: str | Path, *, settings: Settings | None, memory_limit: str | None,
            progress: Callable[[str], None] | None, source: str | None, engine_info: dict) -> DetectResult:
    settings = settings or Settings()
    ws = Workspace.open(workspace)
    out_dir = Path(out_dir)
    run_id = new_run_id("detect")
    started_at = dt.datetime.now()
    started = time.perf_counter()
    timings: dict[str, float] = {}
    stats: dict[str, dict[str, int | float]] = {}
    rings: list[Ring] = []
    lock = ws.lock("detect")
    con = None
    try:
        con = ws.connect(memory_limit=memory_limit)
        if con.execute("SELECT count(*) FROM claims").fetchall()[0][0] == 0:
            raise GraphfraudError("no_claims", workspace=str(ws.path))
        for ddl in STORE_DDL:
            con.execute(ddl)
        for detector in registry.detectors():
            kind = detector.kind
            if detector.settings is not None and not settings.section(kind).enabled:
                continue
            if progress:
                progress(kind)
            t0 = time.perf_counter()
            result: DetectorResult = detector.run(con, settings, list(rings))
            timings[kind] = round(time.perf_counter() - t0, 3)
            stats[kind] = result.stats
            for ring in result.rings:
                if ring.score >= settings.min_score:
                    rings.append(ring)
                else:
                    why = "family" if ring.facts.get("family") else "weak"
                    below = result.stats.setdefault("below_min_score", {"family": 0, "weak": 0})
                    below[why] += 1
        merged = link_steering(rings)
        if merged and "doctor_pharmacy" in stats:
            stats["doctor_pharmacy"]["part_of_drug_resale"] = merged
        link_shared_identity(rings)
        previous_run, previous = _previous_rings(con)
        changes = assign_ids(rings, previous, settings.id_match_jaccard)
        rank(rings)
        leads: list[Lead] = []
        if settings.leads.enabled:
            if progress:
                progress("leads")
            t0 = time.perf_counter()
            lead_timings: dict[str, float] = {}
            leads = detect_leads(con, settings, lead_timings, rings=rings)
            timings["leads"] = round(time.perf_counter() - t0, 3)
            stats["leads"] = {"timings_s": lead_timings, **_leads_by_kind(leads),
                              "queued": _leads_by_kind([x for x in leads if x.queued])}
        finished_at = dt.datetime.now()
        manifest = _manifest(con, run_id, ws, out_dir, settings, rings, leads, changes, stats, timings,
                             previous_run, started_at, finished_at, time.perf_counter() - started)
        if source is not None:
            manifest["source"] = source
        manifest["engine"] = engine_info
        if (off := offload_engine()) is not None:
            # where each canonical table was read (catalog, Parquet dataset, or a copy)
            manifest["engine"] = {**engine_info, "tables": dict(sorted(off.read_from.items()))}
        out_dir.mkdir(parents=True, exist_ok=True)
        manifest_path = out_dir / "run.json"
        # run.json is written last, once the run is kept in the workspace: a folder without
        # one holds a run that did not finish (a previous run's run.json would lie about it)
        manifest_path.unlink(missing_ok=True)
        t0 = time.perf_counter()
        files = write_outputs(out_dir, rings, leads)
        manifest["outputs"] = {p.name: file_sha256(p) for p in files}
        timings["write"] = round(time.perf_counter() - t0, 3)
        manifest["seconds"] = round(time.perf_counter() - started, 3)
        _store(con, run_id, started_at, finished_at, out_dir, settings, manifest, rings, leads)
        tmp = manifest_path.with_name(".run.json.tmp")
        tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        tmp.replace(manifest_path)
    finally:
        if con is not None:
            con.close()
        lock.release()
    return DetectResult(run_id, out_dir, rings, leads, changes, stats, timings, time.perf_counter() - started,
                        manifest_path, [*files, manifest_path])


def link_steering(rings: list[Ring]) -> int:
    """A doctor-pharmacy ring that is the prescribing side of a drug-resale ring (the resale
    ring has its doctor and its pharmacy, and at least half of its cards) is not reported twice:
    its steering becomes a reason of the resale ring. Returns how many were folded in."""
    resale = [r for r in rings if r.kind == "drug_resale"]
    folded = []
    for dp in (r for r in rings if r.kind == "doctor_pharmacy"):
        ties = {(m.entity_type, m.entity_id) for m in dp.members if m.entity_type in ("doctor", "facility")}
        for dr in resale:
            members = {(m.entity_type, m.entity_id) for m in dr.members}
            if ties <= members and len(dp.key & dr.key) >= 0.5 * len(dp.key):
                dr.reasons.insert(1, dp.reasons[0])
                folded.append(dp)
                break
    for dp in folded:
        rings.remove(dp)
    return len(folded)


def link_shared_identity(rings: list[Ring], bonus: float = 5.0) -> None:
    """A ring of another kind whose cards belong to people of a reported phone or address hub
    is tied to it: the tie is named in its reasons and raises its score."""
    hubs: dict[str, tuple[str, str, str]] = {}
    for ring in rings:
        if ring.kind != "shared_identity":
            continue
        tie = next((m for m in ring.members if m.entity_type in ("phone", "address")), None)
        if tie is None:
            continue
        for m in ring.members:
            if m.entity_type == "card":
                hubs[m.entity_id] = (tie.entity_type, tie.entity_id, ring.ring_id or "")
    if not hubs:
        return
    for ring in rings:
        if ring.kind == "shared_identity":
            continue
        tied = [hubs[c] for c in ring.key if c in hubs]
        if not tied:
            continue
        # the hub most of its cards belong to; between equal ones the first by id, so that
        # identical data name the same hub whatever the order of a set
        tie_type, tie_id, _ = max(sorted(set(tied)), key=tied.count)
        n = sum(1 for t in tied if t[1] == tie_id)
        code = "si_tie_phone" if tie_type == "phone" else "si_tie_address"
        ring.reasons.insert(1, reason(code, n, n=n, hub=tie_id))
        ring.score = round(min(100.0, ring.score + bonus), 1)
        if not any(m.entity_type == tie_type and m.entity_id == tie_id for m in ring.members):
            ring.members.append(Member(tie_type, tie_id, f"shared {tie_type} (hub)", n))


# ------------------------------------------------------------------ stable ids
def content_id(kind: str, key: frozenset[str]) -> str:
    """The id a ring gets when it is new: its kind and a digest of its members, so the same
    ring found afresh on the same data gets the same id."""
    digest = hashlib.sha256("\x1f".join(sorted(key)).encode("utf-8")).hexdigest()[:10].upper()
    return f"{registry.prefixes().get(kind, 'RG')}-{digest}"


def assign_ids(rings: list[Ring], previous: dict[str, tuple[str, frozenset[str]]],
               min_jaccard: float) -> dict[str, list[str]]:
    """Give each ring the id of the previous run's ring of the same kind whose members it
    shares most (Jaccard >= ``min_jaccard``; each previous id is used once, best matches
    first), else a content id. Returns the changes against the previous run."""
    by_entity: dict[tuple[str, str], list[str]] = {}
    for pid, (kind, key) in previous.items():
        for e in key:
            by_entity.setdefault((kind, e), []).append(pid)
    candidates = []
    for i, ring in enumerate(rings):
        seen: set[str] = set()
        for e in ring.key:
            for pid in by_entity.get((ring.kind, e), ()):
                if pid in seen:
                    continue
                seen.add(pid)
                old = previous[pid][1]
                jac = len(ring.key & old) / len(ring.key | old)
                if jac >= min_jaccard:
                    candidates.append((-jac, pid, i))
    candidates.sort()
    taken_prev: set[str] = set()
    matched: dict[int, str] = {}
    for _neg, pid, i in candidates:
        if pid in taken_prev or i in matched:
            continue
        taken_prev.add(pid)
        matched[i] = pid
    changes: dict[str, list[str]] = {"new": [], "same": [], "grown": [], "shrunk": [], "changed": [],
                                     "dissolved": []}
    used: set[str] = set(matched.values())
    for i, ring in enumerate(rings):
        if i in matched:
            pid = matched[i]
            old = previous[pid][1]
            ring.ring_id, ring.previous_id = pid, pid
            ring.status = ("same" if ring.key == old else "grown" if len(ring.key) > len(old)
                           else "shrunk" if len(ring.key) < len(old) else "changed")
        else:
            rid = content_id(ring.kind, ring.key)
            while rid in used:  # an unrelated previous ring already holds this digest
                rid = content_id(ring.kind, ring.key | {rid})
            ring.ring_id, ring.status = rid, "new"
        used.add(ring.ring_id)
        changes[ring.status].append(ring.ring_id)
    changes["dissolved"] = sorted(pid for pid in previous if pid not in taken_prev)
    for v in changes.values():
        v.sort()
    return changes


def rank(rings: list[Ring]) -> None:
    """Rank 1 is the most suspicious: score, then amount, then id."""
    rings.sort(key=lambda r: (-r.score, -r.total_amount, r.ring_id))
    for i, ring in enumerate(rings, 1):
        ring.rank = i


def _previous_rings(con) -> tuple[str | None, dict[str, tuple[str, frozenset[str]]]]:
    rows = con.execute("SELECT run_id FROM detect_runs ORDER BY finished_at DESC, run_id DESC LIMIT 1").fetchall()
    if not rows:
        return None, {}
    run_id = rows[0][0]
    previous: dict[str, tuple[str, frozenset[str]]] = {}
    for ring_id, kind, key in con.execute("""
            SELECT ring_id, any_value(kind), list(entity) FROM ring_keys WHERE run_id = ? GROUP BY ring_id""",
                                          [run_id]).fetchall():
        previous[ring_id] = (kind, frozenset(key))
    # runs stored before ring_keys existed: the ring's cards
    for ring_id, kind, cards in con.execute("""
            SELECT r.ring_id, any_value(r.kind), list(m.entity_id)
            FROM rings r JOIN ring_members m ON m.run_id = r.run_id AND m.ring_id = r.ring_id AND m.entity_type = 'card'
            WHERE r.run_id = ? GROUP BY r.ring_id""", [run_id]).fetchall():
        previous.setdefault(ring_id, (kind, frozenset(cards)))
    return run_id, previous


# ------------------------------------------------------------------ outputs
def ring_rows(rings: list[Ring]) -> list[dict]:
    return [{"ring_id": r.ring_id, "kind": r.kind, "score": r.score, "rank": r.rank, "n_members": r.n_members,
             "n_claims": r.n_claims, "total_amount": r.total_amount, "fund_amount": r.fund_amount,
             "first_date": r.first_date, "last_date": r.last_date,
             "over_transfer_threshold": r.over_transfer_threshold, "reasons_zh": r.reasons_line("zh"),
             "reasons_en": r.reasons_line("en"), "status": r.status, "previous_id": r.previous_id} for r in rings]


def member_rows(rings: list[Ring]) -> list[dict]:
    return [{"ring_id": r.ring_id, "entity_type": m.entity_type, "entity_id": m.entity_id, "role": m.role,
             "n_claims": m.n_claims, "amount": m.amount} for r in rings for m in r.members]


def reason_rows(rings: list[Ring]) -> list[dict]:
    return [{"ring_id": r.ring_id, "code": x.code, "value": str(x.value), "text_zh": x.text_zh, "text_en": x.text_en}
            for r in rings for x in r.reasons]


def lead_rows(leads: list[Lead]) -> list[dict]:
    return [{"lead_id": x.lead_id, "kind": x.kind, "entity_type": x.entity_type, "entity_id": x.entity_id,
             "claim_ids": ";".join(x.claim_ids), "amount": x.amount, "text_zh": x.text_zh, "text_en": x.text_en,
             "score": x.score, "rank": x.rank, "kind_rank": x.kind_rank, "reasons_zh": x.reasons_line("zh"),
             "reasons_en": x.reasons_line("en")} for x in leads]


def lead_reason_rows(leads: list[Lead]) -> list[dict]:
    return [{"lead_id": x.lead_id, "code": r.code, "value": str(r.value), "points": r.points, "text_zh": r.text_zh,
             "text_en": r.text_en} for x in leads for r in x.reasons]


#: sums of claim amounts (a claim's fits DECIMAL(18,2), a ring's may not)
_MONEY = pa.decimal128(38, 2)
SCHEMAS = {
    "rings": pa.schema([("ring_id", pa.string()), ("kind", pa.string()), ("score", pa.float64()),
                        ("rank", pa.int32()), ("n_members", pa.int32()), ("n_claims", pa.int32()),
                        ("total_amount", _MONEY), ("fund_amount", _MONEY), ("first_date", pa.date32()),
                        ("last_date", pa.date32()), ("over_transfer_threshold", pa.bool_()),
                        ("reasons_zh", pa.string()), ("reasons_en", pa.string()), ("status", pa.string()),
                        ("previous_id", pa.string())]),
    "ring_members": pa.schema([("ring_id", pa.string()), ("entity_type", pa.string()), ("entity_id", pa.string()),
                               ("role", pa.string()), ("n_claims", pa.int32()), ("amount", _MONEY)]),
    "reasons": pa.schema([(c, pa.string()) for c in REASON_COLUMNS]),
    "leads": pa.schema([("lead_id", pa.string()), ("kind", pa.string()), ("entity_type", pa.string()),
                        ("entity_id", pa.string()), ("claim_ids", pa.string()), ("amount", _MONEY),
                        ("text_zh", pa.string()), ("text_en", pa.string()), ("score", pa.float64()),
                        ("rank", pa.int32()), ("kind_rank", pa.int32()), ("reasons_zh", pa.string()),
                        ("reasons_en", pa.string())]),
    "lead_reasons": pa.schema([("lead_id", pa.string()), ("code", pa.string()), ("value", pa.string()),
                               ("points", pa.float64()), ("text_zh", pa.string()), ("text_en", pa.string())]),
}


def write_outputs(out_dir: Path, rings: list[Ring], leads: list[Lead]) -> list[Path]:
    """Each table as ``NAME.csv`` (UTF-8 with BOM, for Excel on Chinese Windows) and
    ``NAME.parquet`` (amounts as decimal128(38, 2)). ``leads`` and ``lead_reasons`` hold the
    work queue (the queued leads, by rank); the workspace keeps the others too. Every file is
    written under a temporary name first and all are renamed at the end, so a run that fails
    leaves the previous outputs, never half of new ones."""
    staged: list[tuple[Path, Path]] = []
    queued = [x for x in leads if x.queued]
    for stale in out_dir.glob(".*.tmp"):  # what a killed run left
        stale.unlink(missing_ok=True)
    try:
        for name, rows in (("rings", ring_rows(rings)), ("ring_members", member_rows(rings)),
                           ("reasons", reason_rows(rings)), ("leads", lead_rows(queued)),
                           ("lead_reasons", lead_reason_rows(queued))):
            schema = SCHEMAS[name]
            csv_path = out_dir / f"{name}.csv"
            tmp = csv_path.with_name(f".{csv_path.name}.tmp")
            staged.append((tmp, csv_path))
            write_csv(tmp, schema.names, ([_csv_value(row[c]) for c in schema.names] for row in rows))
            parquet_path = out_dir / f"{name}.parquet"
            tmp = parquet_path.with_name(f".{parquet_path.name}.tmp")
            staged.append((tmp, parquet_path))
            table = pa.Table.from_pylist(rows, schema=schema) if rows else schema.empty_table()
            pq.write_table(table, tmp, compression="zstd")
    except BaseException:
        for tmp, _final in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, final in staged:
        os.replace(tmp, final)
    return [final for _tmp, final in staged]


def _csv_value(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return f"{v:.2f}"
    return str(v)


def _manifest(con, run_id, ws, out_dir, settings, rings, leads, changes, stats, timings, previous_run,
              started_at, finished_at, seconds) -> dict:
    inputs = [{"table": t, "file": f, "sha256": s, "ingest_run": r, "input_rows": n, "loaded": lo,
               "duplicate": du, "rejected": re}
              for t, f, s, r, n, lo, du, re in con.execute("""
                  SELECT table_name, source_file, sha256, run_id, input_rows, loaded, duplicate, rejected
                  FROM ingest_files ORDER BY run_id, table_name, source_file""").fetchall()]
    counts = {t: {"input": int(n), "loaded": int(lo), "duplicate": int(du), "rejected": int(re)}
              for t, n, lo, du, re in con.execute("""
                  SELECT table_name, sum(input_rows), sum(loaded), sum(duplicate), sum(rejected)
                  FROM ingest_files GROUP BY table_name ORDER BY table_name""").fetchall()}
    rejected = {}
    for t, why, n in con.execute("""SELECT table_name, reason, count(*) FROM rejects GROUP BY ALL
                                       ORDER BY table_name, reason""").fetchall():
        rejected.setdefault(t, {})[why] = n
    by_kind: dict[str, int] = {}
    for r in rings:
        by_kind[r.kind] = by_kind.get(r.kind, 0) + 1
    lead_amounts: dict[str, Decimal] = {}
    for x in leads:
        lead_amounts[x.kind] = lead_amounts.get(x.kind, Decimal("0.00")) + x.amount
    return {
        "run_id": run_id, "software": {"name": "graphfraud", "version": __version__},
        "started_at": started_at.isoformat(timespec="seconds"), "finished_at": finished_at.isoformat(timespec="seconds"),
        "workspace": str(ws.path.resolve()), "out_dir": str(out_dir.resolve()),
        "inputs": inputs, "row_counts": counts, "rejected_by_reason": rejected,
        "parameters": settings.to_dict(),
        "results": {"rings": len(rings), "rings_by_kind": by_kind, "leads": sum(x.queued for x in leads),
                    "leads_by_kind": _leads_by_kind([x for x in leads if x.queued]),
                    # every lead found; those the queue did not keep stay in the workspace
                    "leads_found": len(leads), "leads_found_by_kind": _leads_by_kind(leads),
                    "leads_not_queued": sum(not x.queued for x in leads),
                    "lead_amount_by_kind": {k: str(v) for k, v in sorted(lead_amounts.items())},
                    "over_transfer_threshold": sum(r.over_transfer_threshold for r in rings)},
        "previous_run": previous_run, "changes": changes,
        "detectors": stats, "timings_s": timings, "seconds": round(seconds, 3),
    }


def _leads_by_kind(leads: list[Lead]) -> dict[str, int]:
    """Leads per kind, every kind listed (0 when none)."""

    out = {k: 0 for k in KINDS}
    for x in leads:
        out[x.kind] = out.get(x.kind, 0) + 1
    return out


def _store(con, run_id, started_at, finished_at, out_dir, settings, manifest, rings, leads) -> None:
    """Keep the run in the workspace: it is the previous run the next one keeps ids against."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("INSERT INTO detect_runs VALUES (?, ?, ?, ?, ?, ?)",
                    [run_id, started_at, finished_at, str(out_dir.resolve()),
                     json.dumps(settings.to_dict(), ensure_ascii=False),
                     json.dumps(manifest, ensure_ascii=False, default=str)])
        lrows = lead_rows(leads)
        for row, x in zip(lrows, leads):
            row["queued"] = x.queued
        for name, rows, cols in (("rings", ring_rows(rings), RING_COLUMNS),
                                 ("ring_members", member_rows(rings), MEMBER_COLUMNS),
                                 ("reasons", reason_rows(rings), REASON_COLUMNS),
                                 ("leads", lrows, (*LEAD_COLUMNS, "queued")),
                                 ("lead_reasons", lead_reason_rows(leads), LEAD_REASON_COLUMNS)):
            if rows:
                table = pa.Table.from_pylist([{"run_id": run_id, **{c: row[c] for c in cols}} for row in rows])
                con.register("_detect_rows", table)
                con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM _detect_rows")
                con.unregister("_detect_rows")
        claims = pa.table({"run_id": pa.array([run_id] * sum(r.n_claims for r in rings), pa.string()),
                           "ring_id": pa.array([r.ring_id for r in rings for _ in r.claim_ids], pa.string()),
                           "claim_id": pa.array([c for r in rings for c in r.claim_ids], pa.string())})
        con.register("_detect_claims", claims)
        con.execute("INSERT INTO ring_claims SELECT * FROM _detect_claims")
        con.unregister("_detect_claims")
        keys = [(r.ring_id, r.kind, e) for r in rings for e in sorted(r.key)]
        con.register("_detect_keys", pa.table({"run_id": pa.array([run_id] * len(keys), pa.string()),
                                               "ring_id": pa.array([k[0] for k in keys], pa.string()),
                                               "kind": pa.array([k[1] for k in keys], pa.string()),
                                               "entity": pa.array([k[2] for k in keys], pa.string())}))
        con.execute("INSERT INTO ring_keys SELECT * FROM _detect_keys")
        con.unregister("_detect_keys")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
