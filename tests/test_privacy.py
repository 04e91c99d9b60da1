"""Personal data in columns the mapping does not know never reaches the workspace, the
outputs, the pages or a package that does not reveal identities: the values are searched for
in every text column of every table (DuckDB compresses strings, so its file is not grepped),
in every Parquet file, and in the bytes of every other file written."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import duckdb
import pytest
from conftest import with_test_key

from graphfraud.detect.run import detect
from graphfraud.evidence.package import export_case
from graphfraud.ingest.run import ingest
from graphfraud.synth.generate import generate_region
from graphfraud.views.report import report


def _add_columns(path: Path, columns: dict[str, callable], broken_line: int | None = None) -> list[str]:
    """Append personal columns to a CSV (values from ``columns``: row number -> text); with
    ``broken_line``, leave a quote open on that line (an unreadable line holding them). Returns
    every value written."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    rows[0] += list(columns)
    values = []
    for k, row in enumerate(rows[1:], start=1):
        extra = [make(k) for make in columns.values()]
        values += extra
        row += extra
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    lines = buf.getvalue().split("\n")
    if broken_line is not None:
        lines[broken_line - 1] = lines[broken_line - 1].replace(",", ',"', 1)
    path.write_text("\n".join(lines), encoding="utf-8")
    return values


@pytest.fixture(scope="module")
def leaked(tmp_path_factory):
    base = tmp_path_factory.mktemp("privacy")
    data = base / "data"
    generate_region(data, patients=2000, months=2, seed=11)
    secrets = _add_columns(data / "patients.csv", {
        "mobile": lambda k: f"1990{k:07d}",
        "联系人姓名": lambda k: f"密联{k:05d}",
        "身份证号码": lambda k: f"990101{k:08d}X",
    })
    secrets += _add_columns(data / "claims.csv", {"patient_phone": lambda k: f"1880{k:07d}"}, broken_line=40)
    ws, results, site, pkg = base / "ws", base / "results", base / "site", base / "pkg"
    with with_test_key():
        return secrets, _run_all(data, ws, results, site, pkg)


def _run_all(data, ws, results, site, pkg):
    result = ingest(data, ws)
    assert {"mobile", "联系人姓名", "身份证号码"} <= {c for f in result.files for c in f.dropped_columns}
    run = detect(ws, results)
    report(ws, site)
    ring = max(run.rings, key=lambda r: len(r.members))
    lead = run.leads[0]
    export_case(ws, ring.ring_id, pkg / "ring", make_zip=True, operator="test")
    export_case(ws, lead.lead_id, pkg / "lead", operator="test")
    return [ws, results, site, pkg]


def _hits_in_tables(db: Path, secrets: list[str]) -> list[str]:
    import pyarrow as pa

    con = duckdb.connect(str(db), read_only=True)
    try:
        cols = con.execute("SELECT table_name, column_name FROM information_schema.columns "
                           "WHERE data_type = 'VARCHAR'").fetchall()
        con.register("_secrets", pa.table({"s": secrets}))
        hits = []
        for table, col in cols:
            q = (f'SELECT count(*) FROM "{table}" t JOIN _secrets s ON contains(t."{col}", s.s)')
            if con.execute(q).fetchall()[0][0]:
                hits.append(f"{db.name}:{table}.{col}")
        return hits
    finally:
        con.close()


def _hits_in_parquet(path: Path, secrets: list[str]) -> list[str]:
    import pyarrow as pa

    con = duckdb.connect()
    con.register("_secrets", pa.table({"s": secrets}))
    cols = con.execute("SELECT name, type FROM parquet_schema(?)", [str(path)]).fetchall()
    hits = []
    for name, typ in cols:
        if typ == "BYTE_ARRAY":
            q = 'SELECT count(*) FROM read_parquet(?) t JOIN _secrets s ON contains(CAST(t."' + name.replace(
                '"', '""') + '" AS VARCHAR), s.s)'
            if con.execute(q, [str(path)]).fetchall()[0][0]:
                hits.append(f"{path}:{name}")
    return hits


def _hits_in_bytes(name: str, data: bytes, needles: list[bytes]) -> list[str]:
    return [f"{name}" for n in needles if n in data][:1]


@pytest.mark.slow
def test_unmapped_personal_columns_leave_no_trace(leaked):
    secrets, roots = leaked
    needles = [s.encode("utf-8") for s in secrets]
    hits: list[str] = []
    seen = 0
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            seen += 1
            if path.suffix == ".duckdb":
                hits += _hits_in_tables(path, secrets)
            elif path.suffix == ".parquet":
                hits += _hits_in_parquet(path, secrets)
            elif path.suffix == ".zip":
                with zipfile.ZipFile(path) as z:
                    for member in z.namelist():
                        hits += _hits_in_bytes(f"{path}!{member}", z.read(member), needles)
            elif path.suffix not in (".wal",):
                hits += _hits_in_bytes(str(path), path.read_bytes(), needles)
    assert seen > 30  # the workspace, the results, the site and both packages were searched
    assert hits == []


def test_the_search_would_find_a_leak(leaked, tmp_path):
    """The search above is not blind: a workspace that kept one of the values is caught."""
    secrets, roots = leaked
    db = tmp_path / "leak.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t (a VARCHAR)")
    con.execute("INSERT INTO t SELECT 'x' || ? || 'y' FROM range(1000)", [secrets[5]])
    con.close()
    assert _hits_in_tables(db, secrets) == ["leak.duckdb:t.a"]
