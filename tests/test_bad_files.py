"""Whole files as real exports break them: quotes, encodings, line ends, truncation, broken
containers. Each case edits one file of a small generated region; ingest must never show a
traceback, must account for every physical line, and must never lose a good line because of
a bad neighbour: every line not edited ends exactly as it did in the clean run."""

from __future__ import annotations

import gzip
import io
import json
import random
import re
import shutil
import zipfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import with_test_key
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphfraud.core.errors import GraphfraudError
from graphfraud.ingest.run import ingest
from graphfraud.store.schema import TABLES
from graphfraud.synth.generate import generate_region


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("base") / "data"
    generate_region(d, patients=300, months=1, seed=4)
    (d / "truth.json").unlink()
    return d


@pytest.fixture(scope="module")
def clean(base, tmp_path_factory) -> dict[str, dict[int, str]]:
    ws = tmp_path_factory.mktemp("clean") / "ws"
    with with_test_key():
        ingest(base, ws, parquet=False)
    return outcomes(ws)


def outcomes(ws: Path) -> dict[str, dict[int, str]]:
    """Per table, the outcome of every input line: ``loaded``, the reject reason, or
    ``merged`` (an exact duplicate, which leaves no row of its own)."""
    con = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
    try:
        out: dict[str, dict[int, str]] = {}
        for name in TABLES:
            lines = {line: "loaded" for (line,) in con.execute(f"SELECT _source_line FROM {name}").fetchall()}
            for line, reason in con.execute("SELECT line, reason FROM rejects WHERE table_name = ?", [name]).fetchall():
                lines[line] = reason
            out[name] = lines
        return out
    finally:
        con.close()


def copy_of(base: Path, tmp: Path) -> Path:
    d = tmp / "data"
    shutil.copytree(base, d)
    return d


def check(data: Path, ws: Path, clean: dict, table: str, edited: set[int], *, cascade_ok: bool = True,
          last_line: int | None = None) -> dict:
    """Ingest ``data`` and check the promises; returns the manifest."""
    result = ingest(data, ws, parquet=False)
    manifest = json.loads(result.manifest_path.read_text(encoding="utf-8"))
    for f in manifest["files"]:
        assert f["lines_balanced"], f
        assert f["input_rows"] == f["loaded"] + f["duplicate"] + f["rejected"], f
    got = outcomes(ws)
    for line, outcome in clean[table].items():
        # a duplicate's outcome depends on its first occurrence, which may be an edited line
        if line in edited or outcome in ("merged", "conflicting_duplicate") or (
                last_line is not None and line > last_line):
            continue
        assert got[table].get(line, "merged") == outcome, (table, line, outcome, got[table].get(line))
    if not cascade_ok:
        assert not manifest["cascades"]
    return manifest


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")


def put(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"\n".join(lines))


# ----------------------------------------------------------------------------- CSV, whole files
def test_an_unterminated_quote_costs_one_record(base, clean, tmp_path):
    d = copy_of(base, tmp_path)
    lines = lines_of(d / "claims.csv")
    lines[200] = lines[200].replace(b",", b',"', 1)  # line 201 opens a quote it never closes
    put(d / "claims.csv", lines)
    m = check(d, tmp_path / "ws", clean, "claims", {201})
    claims = next(f for f in m["files"] if f["table"] == "claims")
    assert claims["rejected_by_reason"]["unclosed_quote"] == 1 and claims["read_path"] == "careful"
    # the items of that claim are rejected in cascade, and the manifest says so
    assert m["cascades"]["items"]["unknown_claim"]["because_of"] == "claims"


def test_a_stray_quote_inside_a_value_costs_its_line_only(base, clean, tmp_path):
    d = copy_of(base, tmp_path)
    lines = lines_of(d / "claims.csv")
    for k in (10, 11, 40):  # two neighbours, each with one stray quote: they must not pair up
        lines[k] = lines[k].replace(b",", b',12" screen', 1)
    put(d / "claims.csv", lines)
    check(d, tmp_path / "ws", clean, "claims", {11, 12, 41})


def test_a_quoted_value_may_span_lines_within_the_bound(base, clean, tmp_path):
    d = copy_of(base, tmp_path)
    lines = lines_of(d / "facilities.csv")
    head = lines[0].split(b",")
    name_at = head.index(b"name")
    cells = lines[3].split(b",")
    cells[name_at] = b'"' + cells[name_at] + b'\n(old name)\n"'
    lines[3] = b",".join(cells)
    put(d / "facilities.csv", lines)
    result = ingest(d, tmp_path / "ws", parquet=False)
    f = next(f for f in result.files if f.table == "facilities")
    assert f.continuation_lines == 2 and f.lines_balanced and f.rejected == clean_rejected(clean, "facilities")
    con = duckdb.connect(str(tmp_path / "ws" / "graphfraud.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM facilities WHERE name LIKE '%(old name)%'").fetchall()[0][0] == 1
    con.close()
    # the record takes 3 physical lines: every later line is 2 further down, with its outcome
    got = outcomes(tmp_path / "ws")["facilities"]
    assert {(line + 2 if line > 4 else line): o for line, o in clean["facilities"].items()} == got


def test_a_record_longer_than_the_bound_is_rejected_at_its_first_line(base, clean, tmp_path):
    d = copy_of(base, tmp_path)
    lines = lines_of(d / "facilities.csv")
    lines[3] = lines[3].replace(b",", b',"' + b"\n" * 25, 1) + b'"'  # 26 lines, more than 20
    put(d / "facilities.csv", lines)
    result = ingest(d, tmp_path / "ws", parquet=False)
    f = next(f for f in result.files if f.table == "facilities")
    assert f.lines_balanced and f.reasons["unclosed_quote"] >= 1
    # every other facility is loaded; the refused record's lines are rejects or blank
    assert f.loaded == sum(1 for v in _clean_facilities(clean) if v != 4)


def _clean_facilities(clean):
    return [line for line, o in clean["facilities"].items() if o == "loaded"]


@pytest.mark.parametrize("case", ["gb18030_line", "undecodable_line", "utf16_bom", "utf16le_no_bom",
                                  "crlf_header_lf_rows", "mixed_line_ends", "all_crlf", "cr_only", "lone_cr",
                                  "nul_byte", "utf8_bom_crlf", "whole_file_gb18030_with_utf8_line"])
def test_encodings_and_line_ends(base, clean, tmp_path, case):
    d = copy_of(base, tmp_path)
    table, name = ("facilities", "facilities.csv") if case in ("gb18030_line", "undecodable_line") else (
        "claims", "claims.csv")
    if case.startswith("utf16") or case == "whole_file_gb18030_with_utf8_line":
        table, name = "doctors", "doctors.csv"
    p = d / name
    lines = lines_of(p)
    edited: set[int] = set()
    if case == "gb18030_line":
        lines[5] = lines[5].decode().encode("gb18030")
    elif case == "undecodable_line":
        lines[5] = lines[5] + b"\xff\xfe"
        edited = {6}
    elif case == "utf16_bom":
        p.write_bytes(p.read_bytes().decode().encode("utf-16"))
    elif case == "utf16le_no_bom":
        p.write_bytes(p.read_bytes().decode().encode("utf-16-le"))
    elif case == "crlf_header_lf_rows":
        lines[0] += b"\r"
    elif case == "mixed_line_ends":
        lines = [line + b"\r" if k % 3 and k < len(lines) - 1 else line for k, line in enumerate(lines)]
    elif case == "all_crlf":
        lines = [line + b"\r" for line in lines[:-1]] + lines[-1:]
    elif case == "cr_only":
        p.write_bytes(p.read_bytes().replace(b"\n", b"\r"))
    elif case == "lone_cr":
        lines[20] = lines[20].replace(b",", b",\r", 1)
    elif case == "nul_byte":
        lines[10] = lines[10][:3] + b"\x00" + lines[10][3:]
        edited = {11}
    elif case == "utf8_bom_crlf":
        lines = [line + b"\r" for line in lines[:-1]] + lines[-1:]
        lines[0] = b"\xef\xbb\xbf" + lines[0]
    elif case == "whole_file_gb18030_with_utf8_line":
        text = [line.decode() for line in lines]
        lines = [t.encode("utf-8") if k == 7 else t.encode("gb18030") for k, t in enumerate(text)]
        edited = {8}  # read as GB18030 when it happens to be valid GB18030 too: allowed either way
    if case not in ("utf16_bom", "utf16le_no_bom", "cr_only"):
        put(p, lines)
    m = check(d, tmp_path / "ws", clean, table, edited, cascade_ok=bool(edited))
    f = next(f for f in m["files"] if f["file"] == name)
    if case == "gb18030_line":
        assert f["decoded_lines"] == {"gb18030": [6]} and f["rejected"] == clean_rejected(clean, table)
    if case == "undecodable_line":
        assert f["rejected_by_reason"]["bad_encoding"] == 1


def clean_rejected(clean, table):
    return sum(1 for o in clean[table].values() if o not in ("loaded", "merged"))


def test_a_truncated_file_keeps_every_whole_line(base, clean, tmp_path):
    d = copy_of(base, tmp_path)
    data = (d / "claims.csv").read_bytes()
    cut = data.rfind(b"\n", 0, len(data) * 2 // 3) + 20  # 20 bytes into a line
    (d / "claims.csv").write_bytes(data[:cut])
    last = data[:cut].count(b"\n") + 1
    check(d, tmp_path / "ws", clean, "claims", {last}, last_line=last - 1)


def test_a_gzipped_file_with_a_bad_line_is_read_like_the_plain_one(base, clean, tmp_path):
    d = copy_of(base, tmp_path)
    lines = lines_of(d / "claims.csv")
    lines[100] = lines[100].replace(b",", b',"', 1)
    (d / "claims.csv.gz").write_bytes(gzip.compress(b"\n".join(lines)))
    (d / "claims.csv").unlink()
    check(d, tmp_path / "ws", clean, "claims", {101})


# ------------------------------------------------------------------- containers that break
def _fails_with_message(d: Path, ws: Path, name: str) -> str:
    with pytest.raises(GraphfraudError) as err:
        ingest(d, ws, parquet=False)
    text = str(err.value)
    assert name in text and "\n" not in text and "Traceback" not in text
    # nothing of the run is kept
    if (ws / "graphfraud.duckdb").exists():
        con = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
        assert con.execute("SELECT count(*) FROM ingest_runs").fetchall()[0][0] == 0
        con.close()
    return text


@pytest.mark.parametrize("case", ["corrupt_gz", "truncated_gz", "random_xlsx", "memberless_xlsx", "truncated_xlsx",
                                  "random_parquet", "truncated_parquet", "empty_gz"])
def test_broken_containers_stop_with_one_line_naming_the_file(base, tmp_path, case):
    d = copy_of(base, tmp_path)
    if case.endswith("gz"):
        raw = gzip.compress((d / "items.csv").read_bytes())
        data = bytearray(raw)
        if case == "corrupt_gz":
            data[len(data) // 2] ^= 0xFF
        elif case == "truncated_gz":
            data = data[: len(data) // 2]
        else:
            data = bytearray(b"")
        (d / "items.csv.gz").write_bytes(bytes(data))
        (d / "items.csv").unlink()
        name = "items.csv.gz"
    elif case.endswith("xlsx"):
        if case == "random_xlsx":
            (d / "doctors.xlsx").write_bytes(random.Random(1).randbytes(5000))
        elif case == "memberless_xlsx":
            with zipfile.ZipFile(d / "doctors.xlsx", "w") as z:
                z.writestr("hello.txt", "x")
        else:
            _to_xlsx(d / "doctors.csv", d / "doctors.xlsx")
            blob = (d / "doctors.xlsx").read_bytes()
            (d / "doctors.xlsx").write_bytes(blob[: len(blob) // 2])
        (d / "doctors.csv").unlink()
        name = "doctors.xlsx"
    else:
        if case == "random_parquet":
            (d / "doctors.parquet").write_bytes(b"PAR1" + random.Random(2).randbytes(3000) + b"PAR1")
        else:
            pq.write_table(_csv_table(d / "doctors.csv"), d / "doctors.parquet", row_group_size=50)
            blob = (d / "doctors.parquet").read_bytes()
            (d / "doctors.parquet").write_bytes(blob[: len(blob) // 2])
        (d / "doctors.csv").unlink()
        name = "doctors.parquet"
    _fails_with_message(d, tmp_path / "ws", name)


def _csv_table(path: Path) -> pa.Table:
    import csv

    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    return pa.table({h: pa.array([r[i] for r in rows[1:]], pa.string()) for i, h in enumerate(rows[0])})


def _to_xlsx(src: Path, out: Path, dimension: str | None = None) -> None:
    import csv

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in csv.reader(io.StringIO(src.read_text(encoding="utf-8"))):
        ws.append(row)
    tmp = out.with_suffix(".tmp.xlsx")
    wb.save(tmp)
    with zipfile.ZipFile(tmp) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if dimension and item.filename.startswith("xl/worksheets/sheet"):
                data = re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="{dimension}"/>'.encode(), data)
            zout.writestr(item, data)
    tmp.unlink()


def test_an_xlsx_whose_dimension_is_wrong_loses_no_row(base, clean, tmp_path):
    d = copy_of(base, tmp_path)
    _to_xlsx(d / "doctors.csv", d / "doctors.xlsx", dimension="A1:B100")  # 271 rows, 4 columns really
    (d / "doctors.csv").unlink()
    m = check(d, tmp_path / "ws", clean, "doctors", set())
    f = next(f for f in m["files"] if f["table"] == "doctors")
    assert f["loaded"] == sum(1 for o in clean["doctors"].values() if o == "loaded") and not m["cascades"]


def test_parquet_nested_and_binary_columns_are_text_and_bad_bytes_cost_one_row(base, clean, tmp_path):
    d = copy_of(base, tmp_path)
    t = _csv_table(d / "doctors.csv")
    names = [s.encode() for s in t.column("name").to_pylist()]
    names[3] = b"\xff\xfe broken"
    t = t.set_column(t.schema.get_field_index("name"), "name", pa.array(names, pa.binary()))
    t = t.append_column("tags", pa.array([["a", "b"]] * t.num_rows))
    t = t.append_column("info", pa.array([{"x": 1}] * t.num_rows))
    t = t.set_column(t.schema.get_field_index("department"), "department",
                     t.column("department").dictionary_encode())
    pq.write_table(t, d / "doctors.parquet")
    (d / "doctors.csv").unlink()
    result = ingest(d, tmp_path / "ws", parquet=False)
    f = next(f for f in result.files if f.table == "doctors")
    assert f.rejected == 1 and f.reasons["bad_encoding"] == 1 and f.lines_balanced
    assert f.loaded == sum(1 for o in clean["doctors"].values() if o == "loaded") - 1


# -------------------------------------------------------------------------- the fuzz suite
EDITS = ("open_quote", "stray_quote", "gb18030", "undecodable", "crlf", "lone_cr", "nul", "spaces", "delimiter",
         "blank_it")


def _edit(line: bytes, edit: str, rnd: random.Random) -> bytes:
    pos = rnd.randrange(len(line) + 1)
    if edit == "open_quote":
        return line[:pos] + b'"' + line[pos:]
    if edit == "stray_quote":
        return line + b'"x'
    if edit == "gb18030":
        return line.decode("utf-8").encode("gb18030")
    if edit == "undecodable":
        return line[:pos] + b"\xff" + line[pos:]
    if edit == "crlf":
        return line + b"\r"
    if edit == "lone_cr":
        return line[:pos] + b"\r" + line[pos:]
    if edit == "nul":
        return line[:pos] + b"\x00" + line[pos:]
    if edit == "spaces":
        return b"  " + line.replace(b",", b" , ") + b"  "
    if edit == "delimiter":
        return line + b","
    return b""


# edits that leave a line valid (its record may still load): the rest must fail only that line
HARMLESS = {"crlf", "gb18030", "spaces", "blank_it"}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.integers(min_value=1, max_value=300), st.sampled_from(EDITS)),
                      min_size=1, max_size=6, unique_by=lambda e: e[0]),
       gz=st.booleans(), truncate=st.booleans(), seed=st.integers(min_value=0, max_value=1 << 16))
@pytest.mark.slow
def test_fuzzed_claims_file_loses_no_good_line(base, clean, tmp_path_factory, edits, gz, truncate, seed):
    tmp = tmp_path_factory.mktemp("fz")
    d = copy_of(base, tmp)
    rnd = random.Random(seed)
    lines = lines_of(d / "claims.csv")
    edited: set[int] = set()
    for k, edit in edits:
        if k >= len(lines) - 1:
            continue
        lines[k] = _edit(lines[k], edit, rnd)
        edited.add(k + 1)
    data = b"\n".join(lines)
    last = None
    if truncate:
        cut = rnd.randrange(len(data) // 2, len(data))
        data = data[:cut]
        last = data.count(b"\n")  # lines before the (partial) last one are whole
        edited.add(last + 1)
    if gz:
        (d / "claims.csv.gz").write_bytes(gzip.compress(data))
        (d / "claims.csv").unlink()
    else:
        (d / "claims.csv").write_bytes(data)
    ws = tmp / "ws"
    try:
        check(d, ws, clean, "claims", edited, last_line=last)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(dimension=st.sampled_from([None, "A1:B10", "A1:Z9999", "A1"]), blank_rows=st.lists(
    st.integers(min_value=2, max_value=200), max_size=3, unique=True))
def test_fuzzed_xlsx_loses_no_row(base, clean, tmp_path_factory, dimension, blank_rows):
    tmp = tmp_path_factory.mktemp("fx")
    d = copy_of(base, tmp)
    import csv

    rows = list(csv.reader(io.StringIO((d / "doctors.csv").read_text(encoding="utf-8"))))
    for r in sorted(blank_rows, reverse=True):
        rows.insert(r, [])
    (d / "doctors.csv").write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    _to_xlsx(d / "doctors.csv", d / "doctors.xlsx", dimension=dimension)
    (d / "doctors.csv").unlink()
    try:
        result = ingest(d, tmp / "ws", parquet=False)
        f = next(f for f in result.files if f.table == "doctors")
        assert f.lines_balanced and f.blank_lines == len(blank_rows)
        assert f.loaded == sum(1 for o in clean["doctors"].values() if o == "loaded")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_the_fast_reader_stopping_rolls_back_and_reads_the_file_again(base, clean, tmp_path, monkeypatch):
    """When DuckDB's reader stops on a file (here: mixed line ends the pre-scan is made to
    miss), the transaction is rolled back and the run reads that file the careful way."""
    from graphfraud.ingest import readers

    real = readers.pre_scan
    monkeypatch.setattr(readers, "pre_scan", lambda path, delimiter=",": readers.PreScan(real(path).padded, False))
    d = copy_of(base, tmp_path)
    lines = lines_of(d / "claims.csv")
    lines[0] += b"\r"
    put(d / "claims.csv", lines)
    notes: list[str] = []
    result = ingest(d, tmp_path / "ws", parquet=False, note=notes.append)
    assert any(n.startswith("claims.csv：快速读取器无法读取") for n in notes), notes
    f = next(f for f in result.files if f.table == "claims")
    assert f.read_path == "careful" and f.lines_balanced
    assert outcomes(tmp_path / "ws")["claims"] == clean["claims"]


# a doctors column written as another Arrow type than text, as other tools export them
_PARQUET_TYPES = ("string", "large_string", "binary", "dictionary", "list", "struct", "null_heavy", "bad_bytes")


def _as_type(values: list[str], kind: str, rnd: random.Random) -> tuple[pa.Array, set[int]]:
    """(the column as ``kind``, rows whose value is unreadable bytes)."""
    bad: set[int] = set()
    if kind == "large_string":
        return pa.array(values, pa.large_string()), bad
    if kind == "binary":
        return pa.array([v.encode() for v in values], pa.binary()), bad
    if kind == "dictionary":
        return pa.array(values).dictionary_encode(), bad
    if kind == "list":
        return pa.array([[v] for v in values]), bad
    if kind == "struct":
        return pa.array([{"v": v} for v in values]), bad
    if kind == "null_heavy":
        return pa.array([v if k % 3 else None for k, v in enumerate(values)], pa.string()), bad
    if kind == "bad_bytes":
        out = []
        for k, v in enumerate(values):
            if rnd.random() < 0.05:
                out.append(b"\xff\xfe" + v.encode())
                bad.add(k)
            else:
                out.append(v.encode())
        return pa.array(out, pa.binary()), bad
    return pa.array(values, pa.string()), bad


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(kinds=st.lists(st.sampled_from(_PARQUET_TYPES), min_size=2, max_size=2), seed=st.integers(0, 1 << 16))
def test_fuzzed_parquet_loses_no_row(base, clean, tmp_path_factory, kinds, seed):
    """The doctors' name and department columns written as random Arrow types: no traceback,
    every row accounted for, only rows with unreadable bytes rejected (nested values arrive as
    JSON text, still a valid name)."""
    tmp = tmp_path_factory.mktemp("fp")
    d = copy_of(base, tmp)
    rnd = random.Random(seed)
    t = _csv_table(d / "doctors.csv")
    bad: set[int] = set()
    for col, kind in zip(("name", "department"), kinds):
        arr, col_bad = _as_type(t.column(col).to_pylist(), kind, rnd)
        t = t.set_column(t.schema.get_field_index(col), col, arr)
        bad |= col_bad
    pq.write_table(t, d / "doctors.parquet", row_group_size=rnd.choice([7, 100, 1000]))
    (d / "doctors.csv").unlink()
    try:
        result = ingest(d, tmp / "ws", parquet=False)
        f = next(f for f in result.files if f.table == "doctors")
        assert f.lines_balanced and f.input_rows == t.num_rows
        assert f.reasons.get("bad_encoding", 0) == len(bad)
        got = outcomes(tmp / "ws")["doctors"]
        for k in range(t.num_rows):
            line = k + 1  # Parquet rows are numbered from 1
            if k not in bad and clean["doctors"].get(k + 2) == "loaded":
                assert got.get(line) == "loaded", (k, kinds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
