"""One writer at a time, and a run killed at any point leaves a workspace whose tables and
Parquet dataset agree once the next run has started. The kills are real: a child process dies
with ``os._exit`` at a chosen step, as it would under ``kill -9``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from conftest import TEST_KEY, with_test_key

from graphfraud.ingest.run import ingest
from graphfraud.store.schema import TABLES
from graphfraud.store.workspace import Workspace
from graphfraud.synth.generate import generate_region

ROOT = Path(__file__).resolve().parents[1]


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "GRAPHFRAUD_KEY": TEST_KEY, "PYTHONPATH": str(ROOT), **extra}
    return env


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "graphfraud", *args], capture_output=True, text=True,
                          env=_env(**env), timeout=600)


def _dataset_parquet_agree(ws: Path) -> None:
    """Every canonical table's rows are in its Parquet dataset exactly once, and nothing staged
    or half-written is left."""
    leftovers = [p.name for p in (ws / "parquet").rglob("*") if p.is_file() and not p.name.endswith(".parquet")]
    assert leftovers == []
    db = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
    files = duckdb.connect()
    for name in [*TABLES, "rejects"]:
        folder = ws / "parquet" / name
        in_db = db.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
        in_files = (files.execute("SELECT count(*) FROM read_parquet(?)", [str(folder / "*.parquet")]).fetchall()[0][0]
                    if any(folder.glob("*.parquet")) else 0)
        assert in_files == in_db, name
    ids = db.execute("SELECT count(*), count(DISTINCT claim_id) FROM claims").fetchall()[0]
    assert ids[0] == ids[1]
    db.close()


@pytest.fixture(scope="module")
def region(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("safety")
    generate_region(base / "data", patients=600, months=2, seed=5)
    return base / "data"


def test_a_second_writer_is_told_who_holds_the_workspace_and_exits_75(region, tmp_path):
    ws = tmp_path / "ws"
    ingest(region, ws)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from graphfraud.store.workspace import Workspace
        with Workspace.open({str(ws)!r}).lock("ingest"):
            print("held", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True, env=_env())
    try:
        assert holder.stdout.readline().strip() == "held"
        out = _cli("detect", "--workspace", str(ws), "--out", str(tmp_path / "results"), GRAPHFRAUD_LANG="en")
        assert out.returncode == 75, out.stderr
        assert "in use by another command (ingest" in out.stderr and str(holder.pid) in out.stderr
        assert "Traceback" not in out.stderr
        zh = _cli("ingest", str(region), "--workspace", str(ws))
        assert zh.returncode == 75 and "正被另一个命令使用" in zh.stderr
        assert not (tmp_path / "results").exists()
    finally:
        holder.kill()
        holder.wait()
    # the kernel dropped the lock with the process: the workspace is free again
    assert _cli("detect", "--workspace", str(ws), "--out", str(tmp_path / "results")).returncode == 0


def test_a_reader_holding_the_database_gets_a_message_not_a_traceback(region, tmp_path):
    ws = tmp_path / "ws"
    ingest(region, ws)
    reader = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, time
        con = duckdb.connect({str(ws / "graphfraud.duckdb")!r}, read_only=True)
        print("open", flush=True)
        time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True, env=_env())
    try:
        assert reader.stdout.readline().strip() == "open"
        out = _cli("ingest", str(region), "--workspace", str(ws), GRAPHFRAUD_LANG="en")
        assert out.returncode == 75, out.stderr
        assert "is open in another process" in out.stderr and "Traceback" not in out.stderr
    finally:
        reader.kill()
        reader.wait()


# where the child dies: after staging its first Parquet file, while reading the last table
# (several tables staged), after COMMIT before the staged files were published, after they
# were published but before the run's manifest file was written
KILL_POINTS = {
    "first_staged": """
        orig = Workspace.write_parquet
        def write_parquet(self, *a, **k):
            out = orig(self, *a, **k)
            if out is not None:
                os._exit(137)
            return out
        Workspace.write_parquet = write_parquet
    """,
    "reading_items": """
        import graphfraud.ingest.run as gi
        orig = gi.read_source
        def read_source(con, source, *a, **k):
            if source.table == "items":
                os._exit(137)
            return orig(con, source, *a, **k)
        gi.read_source = read_source
    """,
    "after_commit": """
        def publish_parquet(self, run_id):
            os._exit(137)
        Workspace.publish_parquet = publish_parquet
    """,
    "after_publish": """
        orig = Workspace.publish_parquet
        def publish_parquet(self, run_id):
            orig(self, run_id)
            os._exit(137)
        Workspace.publish_parquet = publish_parquet
    """,
}
COMMITTED = {"after_commit", "after_publish"}


@pytest.mark.parametrize("point", sorted(KILL_POINTS))
def test_a_killed_ingest_is_tidied_by_the_next_one_and_loses_nothing(region, tmp_path, point):
    ws = tmp_path / "ws"
    clean = tmp_path / "clean"
    ingest(region, clean)
    child = subprocess.run([sys.executable, "-c", "import os\nfrom graphfraud.store.workspace import Workspace\n"
                            + textwrap.dedent(KILL_POINTS[point])
                            + f"from graphfraud.ingest.run import ingest\ningest({str(region)!r}, {str(ws)!r})\n"],
                           capture_output=True, text=True, env=_env(), timeout=600)
    assert child.returncode == 137, child.stderr
    left = list((ws / "parquet").rglob("*.parquet*"))
    assert left, "the child died before writing anything: the test proves nothing"
    # the next run (here an ingest of the same files, as a scheduler's retry would) tidies first
    again = ingest(region, ws)
    _dataset_parquet_agree(ws)
    clean_db = duckdb.connect(str(clean / "graphfraud.duckdb"), read_only=True)
    db = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
    for name in TABLES:
        assert (db.execute(f"SELECT count(*) FROM {name}").fetchall()
                == clean_db.execute(f"SELECT count(*) FROM {name}").fetchall()), name
    if point in COMMITTED:  # the retry found everything already there
        assert sum(c.loaded for c in again.files) == 0
    else:
        assert sum(c.loaded for c in again.files) > 0


def test_stray_files_of_a_run_that_never_committed_are_removed(region, tmp_path):
    ws_path = tmp_path / "ws"
    first = ingest(region, ws_path)
    claims = ws_path / "parquet" / "claims"
    # what a crashed writer of an older version, or a half-copied backup, might leave
    (claims / "ingest-ghost.parquet").write_bytes((claims / f"{first.run_id}.parquet").read_bytes())
    (claims / ".ingest-ghost.parquet.tmp").write_bytes(b"PAR1")
    (claims / "notes.txt").write_text("kept: not ours")
    ws = Workspace.open(ws_path)
    con = ws.connect()
    try:
        assert ws.recover(con) == {"published": 0, "removed": 2}
    finally:
        con.close()
    assert (claims / "notes.txt").exists()
    (claims / "notes.txt").unlink()
    _dataset_parquet_agree(ws_path)


def test_the_lock_is_free_after_a_failed_run(tmp_path):
    from graphfraud.core.errors import GraphfraudError

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "claims.csv").write_text("claim_id,card_id\nK1,C1\n", encoding="utf-8")
    ws = tmp_path / "ws"
    with pytest.raises(GraphfraudError) as err:
        ingest(bad, ws)  # refused after the workspace was taken: required columns missing
    assert err.value.key != "workspace_busy"
    with Workspace.open(ws).lock("test") as held:
        assert (ws / ".lock").read_text(encoding="utf-8").startswith('{"command": "test"')
    assert held._fd is None and (ws / ".lock").read_text(encoding="utf-8") == ""


# where a detection dies: after the detectors (before the leads), after writing its outputs
# but before keeping the run in the workspace, inside that transaction
DETECT_KILLS = {
    "after_detectors": """
        import graphfraud.detect.run as dr
        dr.link_steering = lambda rings: os._exit(137)
    """,
    "before_store": """
        import graphfraud.detect.run as dr
        dr._store = lambda *a, **k: os._exit(137)
    """,
    "inside_store": """
        import graphfraud.detect.run as dr
        orig, calls = dr.lead_reason_rows, []
        def lead_reason_rows(leads):
            calls.append(1)
            if len(calls) == 2:  # the first call writes the outputs, the second stores them
                os._exit(137)
            return orig(leads)
        dr.lead_reason_rows = lead_reason_rows
    """,
}


@pytest.fixture(scope="module")
def detected_clean(region, tmp_path_factory):
    from graphfraud.detect.run import detect

    base = tmp_path_factory.mktemp("clean-detect")
    with with_test_key():
        ingest(region, base / "ws")
        detect(base / "ws", base / "out")
    return base


@pytest.mark.parametrize("point", sorted(DETECT_KILLS))
def test_a_killed_detection_leaves_nothing_the_next_one_trips_on(region, detected_clean, tmp_path, point):
    from graphfraud.detect.run import detect

    ws, out = tmp_path / "ws", tmp_path / "out"
    ingest(region, ws)
    child = subprocess.run([sys.executable, "-c", "import os\n" + textwrap.dedent(DETECT_KILLS[point])
                            + f"from graphfraud.detect.run import detect\ndetect({str(ws)!r}, {str(out)!r})\n"],
                           capture_output=True, text=True, env=_env(), timeout=600)
    assert child.returncode == 137, child.stderr
    # the killed run is not kept, and its folder says it did not finish
    db = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
    assert db.execute("SELECT count(*) FROM detect_runs").fetchall()[0][0] == 0
    db.close()
    assert not (out / "run.json").exists()
    again = detect(ws, out)
    assert not list(out.glob(".*"))  # nothing staged is left
    clean_out = detected_clean / "out"
    for name in ("rings.csv", "ring_members.csv", "reasons.csv", "leads.csv", "lead_reasons.csv"):
        assert (out / name).read_bytes() == (clean_out / name).read_bytes(), name
    db = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
    clean_db = duckdb.connect(str(detected_clean / "ws" / "graphfraud.duckdb"), read_only=True)
    for table in ("detect_runs", "rings", "ring_members", "leads", "ring_claims"):
        assert (db.execute(f"SELECT count(*) FROM {table}").fetchall()
                == clean_db.execute(f"SELECT count(*) FROM {table}").fetchall()), table
    assert json.loads((out / "run.json").read_text(encoding="utf-8"))["run_id"] == again.run_id
