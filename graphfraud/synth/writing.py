"""Writing the tables: ids, exact money and dates as text, CSV in English (UTF-8) or Chinese
(GB18030)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from graphfraud.ingest.idnumber import CHECK_CHARS, check_chars
from graphfraud.ingest.mapping import Mapping
from graphfraud.store.schema import TABLES
from graphfraud.synth import names as W
from graphfraud.synth.background import Claims, Diagnoses, ItemRows
from graphfraud.synth.world import (
    BAD_ENUM,
    CARD_TYPES,
    CLAIM_TYPES,
    FACILITY_TYPES,
    ITEM_CATEGORIES,
    NO_DAY,
    Catalogue,
    World,
)

WRITE_CHUNK = 1_000_000


def str_array(values: np.ndarray | list, mask: np.ndarray | None = None) -> pa.Array:
    """A string array from numbers or strings, null where ``mask`` is true."""
    arr = pa.array(values, mask=mask) if mask is not None else pa.array(values)
    return arr if pa.types.is_string(arr.type) else pc.cast(arr, pa.string())


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded ``numbers``, e.g. ``P00000042``."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def _money(fen: np.ndarray) -> pa.Array:
    """Exact two-decimal strings of integer fen ("123.40", "-0.50"): the fen become the
    unscaled values of a decimal128(18, 2) array, which Arrow prints without rounding."""
    fen = np.asarray(fen, dtype=np.int64)
    words = np.empty((len(fen), 2), dtype=np.int64)  # little-endian 128-bit two's complement
    words[:, 0] = fen
    words[:, 1] = fen >> 63
    dec = pa.Array.from_buffers(pa.decimal128(18, 2), len(fen), [None, pa.py_buffer(words)])
    return pc.cast(dec, pa.string())


def money_text(fen: int) -> str:
    """``_money`` for one value."""
    return f"{'-' if fen < 0 else ''}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _dates(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    d = np.asarray(days, dtype=np.int64)
    if mask is not None:
        d = np.where(mask, 0, d)
    return pc.cast(pa.array(d.astype("datetime64[D]"), mask=mask), pa.string())


def _datetimes(ts: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(ts, dtype=np.int64).astype("datetime64[s]")), pa.string())


def _pick(strings: pa.Array, idx: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """``strings[idx]`` (null where ``mask``)."""
    idx = np.asarray(idx, dtype=np.int64)
    if mask is not None:
        return strings.take(pa.array(np.where(mask, 0, idx), mask=mask))
    return strings.take(pa.array(idx))


def check_word_lists(cat: Catalogue) -> None:
    """Generated values are written unquoted, so no word may hold a comma, quote or line break."""
    bad = re.compile(r'[,"\r\n]')
    words = [*cat.names, *cat.codes, *W.ROADS, *W.COMPOUNDS, *W.STREETS, *W.SURNAMES, *W.GIVEN_MALE,
             *W.GIVEN_FEMALE, *W.PHARMACY_BRANDS, *W.HOSPITAL_KINDS, *W.CLINIC_KINDS, *W.DEPARTMENTS,
             *W.CLINIC_DEPARTMENTS, *(r[1] for r in W.LOCAL_REGIONS), *(r[1] for r in W.OUTSIDE_INSURED),
             *(r[1] for r in W.FAR_CITIES), W.PROVINCE_CITY]
    if any(bad.search(x) for x in words):
        raise AssertionError("word lists must not need CSV quoting")


def _quote_py(v: str) -> str:
    return '"' + v.replace('"', '""') + '"' if any(ch in v for ch in ',"\r\n') else v


def _line_py(values: list[str]) -> str:
    """One CSV line with minimal quoting (dirty rows, headers, small tables)."""
    return ",".join(_quote_py(v) for v in values) + "\n"


_CSV = pa_csv.WriteOptions(include_header=False, quoting_style="none", batch_size=65536)


class _Out:
    """A CSV file written in UTF-8 or, for zh, transcoded chunk by chunk to GB18030."""

    def __init__(self, path: Path, zh: bool) -> None:
        self.fh = open(path, "wb")
        self.zh = zh

    def write(self, data: bytes | memoryview | pa.Buffer) -> None:
        if self.zh:
            self.fh.write(str(memoryview(data), "utf-8").encode("gb18030"))
        else:
            self.fh.write(data)

    def close(self) -> None:
        self.fh.close()


@dataclass
class DirtyRow:
    """One dirty row to interleave: inserted before clean row ``before``."""

    before: int
    values: list[str]  # canonical column order; for malformed rows, the fields actually written
    outcome: str
    reason: str | None
    column: str | None
    seq: int = 0
    line: int = 0


def _write_table(out: _Out, header: list[str], n: int, chunk: Callable[[np.ndarray], list[pa.Array]],
                 dirty: list[DirtyRow], render: Callable[[list[str]], list[str]]) -> int:
    """Write the header, ``n`` clean rows (``chunk(rows)`` formats rows as string columns) and
    the dirty rows at their positions; sets each dirty row's line number (header = 1).
    Returns the number of data rows written."""
    out.write(_line_py(header).encode("utf-8"))
    dirty.sort(key=lambda d: (d.before, d.seq))
    for rank, d in enumerate(dirty):
        d.line = d.before + rank + 2
    before = np.array([d.before for d in dirty], dtype=np.int64)
    names = [str(i) for i in range(len(header))]
    for a in range(0, max(n, 1), WRITE_CHUNK):
        b = min(n, a + WRITE_CHUNK)
        table = pa.Table.from_arrays(chunk(np.arange(a, b)), names=names) if b > a else None
        lo = int(np.searchsorted(before, a, side="left"))
        hi = len(dirty) if b >= n else int(np.searchsorted(before, b, side="left"))
        sink = pa.BufferOutputStream()
        done = a
        for d in dirty[lo:hi]:
            if d.before > done and table is not None:
                pa_csv.write_csv(table.slice(done - a, d.before - done), sink, _CSV)
                done = d.before
            sink.write(_line_py(render(d.values)).encode("utf-8"))
        if table is not None and b > done:
            pa_csv.write_csv(table.slice(done - a, b - done), sink, _CSV)
        out.write(sink.getvalue())
    return n + len(dirty)


@dataclass
class FinalTables:
    w: World
    cat: Catalogue
    dx: Diagnoses
    claims: Claims
    items: ItemRows
    total: np.ndarray
    fund: np.ndarray
    account: np.ndarray
    selfpay: np.ndarray
    claim_no: np.ndarray
    amount: np.ndarray
    # formatted strings (see ``text_columns``)
    id_numbers: pa.Array = None  # type: ignore[assignment]
    s_card: pa.Array = None  # type: ignore[assignment]
    s_pat: pa.Array = None  # type: ignore[assignment]
    s_fac: pa.Array = None  # type: ignore[assignment]
    s_doc: pa.Array = None  # type: ignore[assignment]
    s_term: pa.Array = None  # type: ignore[assignment]
    s_fac_region: pa.Array = None  # type: ignore[assignment]
    s_claim: pa.Array = None  # type: ignore[assignment]
    s_dx: pa.Array = None  # type: ignore[assignment]
    s_codes: pa.Array = None  # type: ignore[assignment]
    s_names: pa.Array = None  # type: ignore[assignment]

    def claim_id(self, i: int) -> str:
        return f"S{int(self.claim_no[i])}"


def text_columns(f: FinalTables) -> None:
    """Id strings of every entity, made once and picked by index when rows are formatted."""
    w = f.w
    f.s_card = pc.binary_join_element_wise(pa.scalar("C"), pc.utf8_lpad(str_array(w.card_no), width=10, padding="0"), "")
    f.s_pat = _ids("P", np.arange(w.n) + 1, 8)
    f.s_fac = _ids("F", np.arange(w.nf) + 1, 5)
    f.s_doc = _ids("D", np.arange(w.nd) + 1, 6)
    f.s_term = pc.binary_join_element_wise(_ids("T", w.term_fac.astype(np.int64) + 1, 5), pa.scalar("-"),
                                           str_array(w.term_k.astype(np.int64) + 1), "")
    f.s_fac_region = pa.array([w.rg.codes[int(r)] for r in w.fregion])
    f.s_claim = pc.binary_join_element_wise(pa.scalar("S"), str_array(f.claim_no), "")
    f.s_dx = pa.array(f.dx.codes)
    f.id_numbers = _id_numbers(w)


def claim_text_columns(f: FinalTables, rows: np.ndarray, labels: list[str]) -> list[pa.Array]:
    """The claims ``rows`` as string columns in canonical order; ``labels`` spell claim types."""
    c = f.claims
    doc, term, dxi, rev = c["doc"][rows], c["term"][rows], c["dx"][rows], c["rev_of"][rows]
    admit, disch = c["admit"][rows], c["disch"][rows]
    fac = c["fac"][rows]
    return [
        _pick(f.s_claim, rows),
        _pick(f.s_card, c["card"][rows]),
        _pick(f.s_pat, c["pat"][rows]),
        _pick(f.s_fac, fac),
        _pick(f.s_doc, doc, doc < 0),
        _pick(pa.array(labels), c["ctype"][rows]),
        _datetimes(c["ts"][rows]),
        _dates(admit, admit < 0),
        _dates(disch, disch < 0),
        _pick(f.s_dx, dxi, dxi < 0),
        _money(f.total[rows]),
        _money(f.fund[rows]),
        _money(f.account[rows]),
        _money(f.selfpay[rows]),
        _pick(f.s_term, term, term < 0),
        _pick(f.s_fac_region, fac),
        _pick(f.s_claim, rev, rev < 0),
    ]


def trace_strings(cat: Catalogue, item: np.ndarray, trace: np.ndarray) -> pa.Array:
    """20-digit traceability codes: the drug's 7-digit part and a 13-digit serial that is a
    bijection of the trace group (so one group = one physical box = one code)."""
    serial = (np.maximum(trace, 0).astype(np.int64) * 7_919_113 + 1_234_567) % 10**13
    prefix = pa.array(cat.trace_prefix).take(pa.array(np.asarray(item, dtype=np.int64)))
    out = pc.binary_join_element_wise(prefix, pc.utf8_lpad(str_array(serial), width=13, padding="0"), "")
    return pc.if_else(pa.array(trace < 0), pa.scalar(None, pa.string()), out)


def item_text_columns(f: FinalTables, rows: np.ndarray, labels: list[str]) -> list[pa.Array]:
    """The items ``rows`` as string columns in canonical order; ``labels`` spell categories."""
    it, cat = f.items, f.cat
    item = it.item[rows]
    days = it.days[rows]
    return [
        _pick(f.s_claim, it.claim[rows]),
        str_array(it.seq[rows] + 1),
        _pick(f.s_codes, item),
        _pick(f.s_names, item),
        _pick(pa.array(labels), cat.category[item]),
        str_array(it.qty[rows]),
        _money(it.price[rows]),
        _money(f.amount[rows]),
        str_array(days, mask=days < 0),
        trace_strings(cat, item, it.trace[rows]),
    ]


def _id_numbers(w: World) -> pa.Array:
    """18-character citizen ids: region prefix, birth date, sequence (odd = male), check."""
    region = np.array([int(c) for c in w.rg.codes], dtype=np.int64)[w.region]
    birth = np.asarray(w.birth).astype("datetime64[D]")
    y = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    mth = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (birth - birth.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    head = region * 10**11 + y * 10**7 + mth * 10**5 + d * 10**3 + w.id_seq.astype(np.int64)
    first17 = head[:, None] // 10 ** np.arange(16, -1, -1, dtype=np.int64) % 10
    check = check_chars(first17)
    if w.id_bad.any():  # a wrong check character for the flagged few
        idx = np.array([CHECK_CHARS.index(ch) for ch in check[w.id_bad]])
        shift = 1 + np.arange(int(w.id_bad.sum())) % 10
        check[w.id_bad] = np.array(list(CHECK_CHARS))[(idx + shift) % 11]
    return pc.binary_join_element_wise(pc.utf8_lpad(str_array(head), width=17, padding="0"), pa.array(check), "")


def patient_text_columns(f: FinalTables, rows: np.ndarray, sexes: list[str], insurance: list[str]) -> list[pa.Array]:
    """The patients ``rows`` as string columns in canonical order."""
    w = f.w
    nm = w.name[rows].astype(np.int64)
    male = w.sex[rows] == 0
    g_m, g_f = pa.array(W.GIVEN_MALE), pa.array(W.GIVEN_FEMALE)

    def given(col: np.ndarray) -> pa.Array:
        ok = col >= 0
        gm = g_m.take(pa.array(np.where(male & ok, col, 0)))
        gf = g_f.take(pa.array(np.where(~male & ok, col, 0)))
        return pc.if_else(pa.array(ok), pc.if_else(pa.array(male), gm, gf), pa.scalar(""))

    name = pc.binary_join_element_wise(_pick(pa.array(W.SURNAMES), nm[:, 0]), given(nm[:, 1]), given(nm[:, 2]), "")
    ad = w.addr[rows].astype(np.int64)
    address = pc.binary_join_element_wise(
        pa.scalar(W.PROVINCE_CITY), _pick(pa.array(w.rg.names), w.home[rows]),
        _pick(pa.array(W.ROADS), ad[:, 0]), str_array(ad[:, 1]), pa.scalar("号"),
        _pick(pa.array(W.COMPOUNDS), ad[:, 2]), str_array(ad[:, 3]), pa.scalar("栋"), str_array(ad[:, 4]), pa.scalar("单元"),
        str_array(ad[:, 5]), pa.scalar("室"), "")
    death = w.death[rows]
    return [
        _pick(f.s_pat, rows),
        _pick(f.id_numbers, rows),
        name,
        _pick(pa.array(sexes), w.sex[rows]),
        _dates(w.birth[rows]),
        _dates(death, death == NO_DAY),
        str_array(w.phone[rows]),
        address,
        _pick(pa.array(w.rg.codes), w.region[rows]),
        _pick(pa.array(insurance), w.ins[rows]),
    ]


def write_table_file(path: Path, table: str, f: FinalTables, dirty: list[DirtyRow], zh: bool, mapping: Mapping) -> int:
    """Write one table (canonical or ``nhsa_zh`` spelling) with its dirty rows interleaved."""
    w = f.w
    names = TABLES[table].column_names
    heads = mapping.source_headers(table) if zh else {col: col for col in names}
    spell: dict[str, dict[str, str]] = {}  # enum column -> canonical value -> written value
    for col in TABLES[table].columns:
        if col.values:
            spell[col.name] = mapping.source_values(table, col.name) if zh else {v: v for v in col.values}

    def labels(column: str, values: tuple[str, ...]) -> list[str]:
        return [spell[column][v] for v in values]

    def render(values: list[str]) -> list[str]:
        """A dirty row's canonical values in this file's spelling."""
        if len(values) != len(names):  # malformed: fields as they are
            return values
        return [("其他" if zh else "other") if v == BAD_ENUM else spell[col].get(v, v) if col in spell else v
                for col, v in zip(names, values)]

    chunks: dict[str, tuple[int, Callable[[np.ndarray], list[pa.Array]]]] = {
        "claims": (len(f.claims["ts"]), lambda r: claim_text_columns(f, r, labels("claim_type", CLAIM_TYPES))),
        "items": (len(f.items.claim), lambda r: item_text_columns(f, r, labels("category", ITEM_CATEGORIES))),
        "patients": (w.n, lambda r: patient_text_columns(f, r, labels("sex", ("M", "F")),
                                                     labels("insurance_type", ("employee", "resident")))),
        "cards": (len(w.card_no), lambda r: [_pick(f.s_card, r), _pick(f.s_pat, w.card_pat[r]),
                                              _pick(pa.array(labels("card_type", CARD_TYPES)), w.card_type[r]),
                                              _dates(w.card_issued[r])]),
        "facilities": (w.nf, lambda r: [
            _pick(f.s_fac, r), _pick(pa.array(w.fname), r),
            _pick(pa.array(labels("facility_type", FACILITY_TYPES)), w.ftype[r]),
            _pick(pa.array(w.flevel), r, np.array([w.flevel[i] == "" for i in r], dtype=bool)),
            _pick(f.s_fac_region, r),
            pa.array([f"{w.flat[i]:.6f}" for i in r], mask=np.isnan(w.flat[r])),
            pa.array([f"{w.flon[i]:.6f}" for i in r], mask=np.isnan(w.flon[r]))]),
        "doctors": (w.nd, lambda r: [_pick(f.s_doc, r), _pick(pa.array(w.doc_name), r),
                                      _pick(f.s_fac, w.doc_fac[r]), _pick(pa.array(w.doc_dept), r)]),
    }
    n, chunk = chunks[table]
    out = _Out(path, zh)
    try:
        return _write_table(out, [heads[col] for col in names], n, chunk, dirty, render)
    finally:
        out.close()
