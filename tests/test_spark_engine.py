"""The engine seam: the co-occurrence engine's SQL, written once, gives the same pairs on
Apache Spark (local mode, loopback only) as on DuckDB: same entity and context codes, the same
meetings, distinct-day counts and co-presence units, the same expectations and tails to 1e-9,
the same projection-graph edges. Under CI=true a Spark that cannot start fails the test."""

from __future__ import annotations

import csv
import json
import math
import os
import shutil

import pytest

from graphfraud.detect import card_collection, cohort_admission
from graphfraud.detect.cooccur import cooccurrence
from graphfraud.detect.engine import SparkEngine, local_spark
from graphfraud.detect.settings import Settings, SparkSettings
from graphfraud.store.workspace import Workspace

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def spark():
    try:
        session = local_spark(cores=2, app="graphfraud-tests")
        session.sparkContext.setLogLevel("ERROR")
    except Exception as exc:  # noqa: BLE001 - any failure to start (no pyspark, no Java, no loopback)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Spark is required under CI=true: {exc}")
        pytest.skip(f"Spark cannot start here: {exc}")
    yield session
    session.stop()


def _both(con, spark, tmp_path, events_table: str, spec, prefix: str):
    """The engine on DuckDB and on Spark over the same events (written to Parquet, read by Spark)."""
    path = tmp_path / f"{events_table}.parquet"
    con.execute(f"COPY (SELECT * FROM {events_table}) TO '{path}' (FORMAT parquet)")
    duck = cooccurrence(con, events_table, spec, prefix)
    eng = SparkEngine(spark)
    eng.read_parquet(events_table, str(path))
    sparked = cooccurrence(eng, events_table, spec, prefix)
    return duck, sparked, eng


def _compare(con, eng, duck, sparked, prefix: str) -> int:
    assert (duck.n_events, duck.n_meetings, duck.n_candidates, duck.n_significant) == \
           (sparked.n_events, sparked.n_meetings, sparked.n_candidates, sparked.n_significant)
    for table, key in (("ent", "e, entity"), ("ctx", "c, context")):
        assert con.execute(f"SELECT {key} FROM {prefix}_{table} ORDER BY 1").fetchall() == \
               eng.rows(f"SELECT {key} FROM {prefix}_{table} ORDER BY 1")
    cols = "a, b, c, k, co_units, first_day, last_day, lam, nlp"
    d_rows = con.execute(f"SELECT {cols} FROM {prefix}_sig ORDER BY a, b, c").fetchall()
    s_rows = eng.rows(f"SELECT {cols} FROM {prefix}_sig ORDER BY a, b, c")
    assert [r[:7] for r in d_rows] == [tuple(int(x) for x in r[:7]) for r in s_rows]
    for d, s in zip(d_rows, s_rows):
        assert math.isclose(d[7], s[7], rel_tol=1e-9, abs_tol=1e-12) and math.isclose(d[8], s[8], rel_tol=1e-9,
                                                                                        abs_tol=1e-9)
    support = "a, b, c, d, claim_a, claim_b, t_a, t_b"
    assert con.execute(f"SELECT {support} FROM {prefix}_support ORDER BY ALL").fetchall() == \
           [tuple(r) for r in eng.rows(f"SELECT {support} FROM {prefix}_support ORDER BY {support}")]
    da, db, dw = duck.edges(con, 30.0)
    sa, sb, sw = sparked.edges(eng, 30.0)
    assert list(da) == list(sa) and list(db) == list(sb)
    assert all(math.isclose(x, y, rel_tol=1e-9) for x, y in zip(dw, sw))
    return len(d_rows)


def test_card_collection_pairs_are_the_same_on_spark(detected_region, spark, tmp_path):
    _, ws, _, _ = detected_region
    con = Workspace.open(ws).connect(read_only=True)
    try:
        settings = Settings()
        card_collection.events(con, settings)
        duck, sparked, eng = _both(con, spark, tmp_path, "cc_events", card_collection.spec(settings), "sx")
        assert _compare(con, eng, duck, sparked, "sx") > 10
        eng.close()
    finally:
        con.close()


def test_cohort_admission_pairs_with_attributes_are_the_same_on_spark(detected_region, spark, tmp_path):
    """The other clock (days, the whole period as one unit) and the attribute tolerance."""
    _, ws, _, _ = detected_region
    con = Workspace.open(ws).connect(read_only=True)
    try:
        settings = Settings()
        cohort_admission.events(con)
        duck, sparked, eng = _both(con, spark, tmp_path, "ca_events", cohort_admission.spec(settings), "sy")
        assert _compare(con, eng, duck, sparked, "sy") > 3
        eng.close()
    finally:
        con.close()


OUTPUTS = ("rings.csv", "ring_members.csv", "reasons.csv", "leads.csv", "lead_reasons.csv")


#: what each detector counts on its way (run.json ``detectors``): the same on both engines
def _counts(manifest: dict) -> dict:
    return {kind: {k: v for k, v in stats.items() if k != "timings_s"} for kind, stats in manifest["detectors"].items()}


def _same_run(ws, tmp_path, name: str, settings: Settings | None = None) -> tuple[dict, dict]:
    """``detect --engine spark`` against the default engine on copies of one workspace: the
    same rings (ids, members, scores), reasons and leads, byte for byte, and the same counts
    of every detector's heavy steps (excess supply, trace-code repeats, doctor-pharmacy pairs,
    the leads of each kind). Returns both runs' manifests."""
    from graphfraud.detect.run import detect

    runs = {}
    for engine in ("duckdb", "spark"):
        copy = tmp_path / f"{name}-{engine}"
        shutil.copytree(ws, copy)
        runs[engine] = detect(copy, tmp_path / f"{name}-{engine}-out", engine=engine, settings=settings)
    duck, sparked = runs["duckdb"], runs["spark"]
    assert duck.rings and [r.ring_id for r in duck.rings] == [r.ring_id for r in sparked.rings]
    for a, b in zip(duck.rings, sparked.rings):
        assert a.members == b.members and math.isclose(a.score, b.score, rel_tol=0, abs_tol=1e-9)
    for out in OUTPUTS:
        path = tmp_path / f"{name}-duckdb-out" / out
        if path.exists():
            assert path.read_bytes() == (tmp_path / f"{name}-spark-out" / out).read_bytes(), out
    manifests = [json.loads((tmp_path / f"{name}-{e}-out" / "run.json").read_text(encoding="utf-8"))
                 for e in ("duckdb", "spark")]
    assert _counts(manifests[0]) == _counts(manifests[1])
    engine = manifests[1]["engine"]
    assert engine["name"] == "spark" and engine["master"].startswith("local")
    return manifests[0], manifests[1]


def test_detect_on_spark_gives_the_same_run_on_a_default_region(detected_region, spark, tmp_path):
    _, ws, _, _ = detected_region
    duck, sparked = _same_run(ws, tmp_path, "default")
    # every ring kind and most lead kinds are there to compare
    kinds = {r["kind"] for r in csv.DictReader((tmp_path / "default-spark-out" / "rings.csv").open(encoding="utf-8"))}
    assert {"card_collection", "cohort_admission", "drug_resale", "trace_code_reuse", "doctor_pharmacy"} <= kinds
    assert sum(1 for n in duck["detectors"]["leads"]["queued"].values() if n) >= 4
    # the canonical tables were read from the workspace's Parquet dataset (ingest wrote it)
    tables = sparked["engine"]["tables"]
    assert set(tables) == {"patients", "facilities", "doctors", "cards", "claims", "items"}
    assert all(v.startswith("parquet:") and v.endswith(f"/parquet/{k}") for k, v in tables.items())


def test_detect_on_spark_gives_the_same_run_on_a_hard_region(spark, tmp_path, monkeypatch):
    """A hard region ingested without the Parquet dataset (``--no-parquet``), its claims and
    items in the catalog as a data zone keeps them (external Parquet tables): Spark reads the
    catalog tables and a copy of the others."""
    from graphfraud.ingest.run import ingest
    from graphfraud.synth.generate import generate_region

    monkeypatch.chdir(tmp_path)  # Spark's catalog may make its warehouse folder here
    generate_region(tmp_path / "hard", patients=2000, months=2, seed=11, difficulty="hard")
    ingest(tmp_path / "hard", tmp_path / "hard-ws", parquet=False)
    con = Workspace.open(tmp_path / "hard-ws").connect(read_only=True)
    try:
        for table in ("claims", "items"):
            (tmp_path / "zone" / table).mkdir(parents=True)
            con.execute(f"COPY {table} TO '{tmp_path / 'zone' / table / 'part-0.parquet'}' (FORMAT parquet)")
            spark.catalog.createTable(f"zone_{table}", path=str(tmp_path / "zone" / table), source="parquet")
    finally:
        con.close()
    try:
        settings = Settings(spark=SparkSettings(claims="zone_claims", items="zone_items"))
        _, sparked = _same_run(tmp_path / "hard-ws", tmp_path, "hard", settings)
    finally:
        for table in ("claims", "items"):
            spark.sql(f"DROP TABLE IF EXISTS zone_{table}")
    tables = sparked["engine"]["tables"]
    assert tables["claims"] == "catalog:zone_claims" and tables["items"] == "catalog:zone_items"
    assert tables["patients"].startswith("copy (") and "0 of" in tables["patients"]
