"""Property-based tests: whatever rows, encodings and headers the reader is given, it never
crashes and never loses a row."""

from __future__ import annotations

import csv
import io
import itertools

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphfraud.core.errors import GraphfraudError
from graphfraud.ingest.mapping import get_mapping
from graphfraud.ingest.run import ingest
from graphfraud.store.schema import TABLES

CLAIM_COLS = TABLES["claims"].column_names
ZH = get_mapping("nhsa_zh").source_headers("claims")
_counter = itertools.count()

cell = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12),
    st.sampled_from(["", " ", '"', '""', "a,b", "x\ny", "1.5", "-3.00", "2025-01-02 10:00", "门诊", "inpatient",
                     "pharmacy", "药店购药", "😀", "12.345", "NaN", "530102", "\r", "\\"]),
)
valid_row = st.fixed_dictionaries({
    "claim_type": st.sampled_from(["outpatient", "住院", "药店购药", "bogus"]),
    "settled_at": st.sampled_from(["2025-01-02 10:00:00", "2025/01/02 10:00", "20250102100000", "2025-02-30 10:00", ""]),
    "total_amount": st.sampled_from(["1.00", "-2.5", "3", "1e3", "", "0.001", "１２"]),
    "noise": st.lists(cell, min_size=len(CLAIM_COLS), max_size=len(CLAIM_COLS)),
})


def _render(rows, header, terminator, quoting):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=terminator, quoting=quoting)
    if header is not None:
        w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _physical_lines(text_rows, header, terminator, quoting):
    """Line each record starts on, computed independently by rendering row by row."""
    line = _render([], header, terminator, quoting).count("\n")  # the header ends on this line
    starts = []
    for r in text_rows:
        starts.append(line + 1)
        line += _render([r], None, terminator, quoting).count("\n")
    return starts


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(
    rows=st.lists(valid_row, min_size=1, max_size=12),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
    terminator=st.sampled_from(["\n", "\r\n"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    chinese=st.booleans(),
    order=st.randoms(use_true_random=False),
    extra=st.lists(st.sampled_from(["备注", "note", "x"]), max_size=2, unique=True),
)
def test_well_formed_rows_are_each_accounted_for_at_their_line(tmp_path_factory, rows, encoding, terminator,
                                                               quoting, chinese, order, extra):
    cols = CLAIM_COLS[:]
    order.shuffle(cols)
    header = [ZH[c] if chinese else c for c in cols] + extra
    text_rows = []
    for i, r in enumerate(rows):
        values = dict(zip(CLAIM_COLS, r["noise"]))
        values.update(claim_id=f"K{i}", card_id="C1", facility_id="F1", claim_type=r["claim_type"],
                      settled_at=r["settled_at"], total_amount=r["total_amount"])
        if quoting == csv.QUOTE_MINIMAL:
            # csv.writer leaves a bare CR unquoted when the terminator is LF, which makes it a
            # real line break; that is malformed input, covered by the garbage test below
            values = {k: v.replace("\r", "") for k, v in values.items()}
        text_rows.append([values[c] for c in cols] + ["e"] * len(extra))
    d = tmp_path_factory.mktemp("d")
    (d / "claims.csv").write_bytes(_render(text_rows, header, terminator, quoting).encode(encoding))
    ws = d / f"ws{next(_counter)}"
    result = ingest(d, ws, parquet=False)
    starts = _physical_lines(text_rows, header, terminator, quoting)
    con = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
    loaded = dict(con.execute("SELECT claim_id, _source_line FROM claims").fetchall())
    rejected = dict(con.execute("SELECT line, reason FROM rejects").fetchall())
    con.close()
    t = result.totals()["claims"]
    assert t["input"] == len(rows) == t["loaded"] + t["duplicate"] + t["rejected"]
    for i, line in enumerate(starts):
        where = (f"K{i}" in loaded) + (line in rejected)
        assert where == 1, (i, line, loaded, rejected, (d / "claims.csv").read_bytes())
        if f"K{i}" in loaded:
            assert loaded[f"K{i}"] == line, (d / "claims.csv").read_bytes()


garbage_line = st.one_of(
    st.binary(max_size=40).filter(lambda b: b"\n" not in b and b"\r" not in b),
    st.sampled_from([b'"', b'a,"b', b",,,,", b"\xff\xfe\xfd", b"\xe4\xb8", b'"unterminated,', b"only,three,fields",
                     b"\x00\x00", ",".join(["x"] * 40).encode()]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(
    good=st.integers(min_value=0, max_value=6),
    garbage=st.lists(st.tuples(st.integers(min_value=0, max_value=6), garbage_line), min_size=1, max_size=5),
    encoding=st.sampled_from(["utf-8", "gb18030"]),
    header_garbage=st.booleans(),
)
def test_garbage_never_crashes_and_every_record_is_counted(tmp_path_factory, good, garbage, encoding, header_garbage):
    lines = [",".join(CLAIM_COLS).encode()]
    if header_garbage:
        lines[0] += b"\xff\xfe"  # undecodable bytes inside the last header name
    good_lines = []
    for i in range(good):
        values = dict.fromkeys(CLAIM_COLS, "")
        values.update(claim_id=f"K{i}", card_id="C1", facility_id="F1", claim_type="outpatient",
                      settled_at="2025-01-02 10:00:00", total_amount="1.00")
        good_lines.append(",".join(values[c] for c in CLAIM_COLS).encode(encoding))
    body = good_lines[:]
    for pos, g in sorted(garbage, key=lambda x: x[0], reverse=True):
        body.insert(min(pos, len(body)), g)
    d = tmp_path_factory.mktemp("g")
    (d / "claims.csv").write_bytes(b"\n".join(lines + body) + b"\n")
    try:
        result = ingest(d, d / f"ws{next(_counter)}", parquet=False)
    except GraphfraudError:
        return  # a header the reader cannot use stops the run with a message: allowed
    t = result.totals()["claims"]
    assert t["input"] == t["loaded"] + t["duplicate"] + t["rejected"]
    # every record the file holds is counted once: non-blank records by an exact csv parse
    text = b"\n".join(body).decode("utf-8" if encoding == "utf-8" else "gb18030", errors="replace")
    if '"' not in text:
        non_blank = sum(1 for line in text.split("\n") if line.strip("\r") != "")
        assert t["input"] == non_blank
    # rows before the first garbage line all load
    first_bad = min(pos for pos, _ in garbage)
    assert t["loaded"] >= min(first_bad, good) - sum(1 for p, _ in garbage if p < first_bad)


def _reference_records(data: bytes):
    """Record starts and start lines of a CSV body, byte by byte: newlines outside double
    quotes end records, empty records (or a lone CR) are blank lines."""
    records, start, line, start_line, inside = [], 0, 1, 1, False
    for i, b in enumerate(data + b"\n"):
        if b == 34:
            inside = not inside
        elif b == 10:
            if not inside or i == len(data):
                records.append((start, start_line, data[start:i]))
                start, start_line = i + 1, line + 1
            line += 1
    if data.endswith(b"\n") and records and records[-1][0] == len(data):
        records.pop()  # the final newline ends the last record, it does not open one
    body = records[1:]  # after the header
    kept = [(s, ln) for s, ln, text in body if text not in (b"", b"\r")]
    return kept, len(body) - len(kept)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.lists(st.sampled_from(["a", "b", ",", '"', '""', "\n", "\r\n", " ", "门", "\n\n"]), max_size=40),
    chunk=st.integers(min_value=1, max_value=9),
)
def test_byte_scan_matches_a_byte_by_byte_reading(tmp_path_factory, body, chunk):
    """The vectorised scan (record offsets, lines as a few steps, blank lines) agrees with a
    plain reading of the bytes, also when quoted spans and records cross its chunks."""
    import numpy as np

    from graphfraud.ingest import readers

    data = ("h1,h2\n" + "".join(body)).encode()
    path = tmp_path_factory.mktemp("scan") / "t.csv"
    path.write_bytes(data)
    old = readers.SCAN_CHUNK
    readers.SCAN_CHUNK = chunk
    try:
        rec = readers.scan_records(path)
    finally:
        readers.SCAN_CHUNK = old
    kept, blank = _reference_records(data)
    assert rec.starts.tolist() == [s for s, _ in kept]
    assert rec.line(np.arange(rec.starts.size)).tolist() == [ln for _, ln in kept]
    assert rec.blank_lines == blank
    assert rec.physical_lines == data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
