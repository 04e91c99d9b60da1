"""Dirty rows: a small share of rows made wrong on purpose, each with its line and the reject
reason ingest must give."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from graphfraud.store.schema import TABLES
from graphfraud.synth.world import BAD_ENUM, CLAIM_TYPES, INPATIENT, ITEM_CATEGORIES, date_str
from graphfraud.synth.writing import (
    DirtyRow,
    FinalTables,
    claim_text_columns,
    item_text_columns,
    money_text,
    patient_text_columns,
)

#: Shares of dirty rows (of data rows) in claims and items.
DIRTY_SHARE = 0.002


CLAIM_DIRTY_KINDS = ("missing_required", "bad_date", "bad_amount", "bad_enum", "bad_date_order",
                     "conflicting_duplicate", "duplicate", "unknown_card", "unknown_facility", "malformed_row")


ITEM_DIRTY_KINDS = ("unknown_claim", "bad_amount", "missing_required", "bad_number", "duplicate")


def _row_values(cols: list[pa.Array]) -> list[list[str]]:
    """Rows of formatted columns as Python lists of strings ('' for null)."""
    py = [c.to_pylist() for c in cols]
    return [["" if v is None else v for v in row] for row in zip(*py)]


def make_dirty(rng: np.random.Generator, f: FinalTables) -> dict[str, list[DirtyRow]]:
    """Dirty rows per table (claims, items, patients). Their templates are ordinary
    background rows: no planted claim is copied, and no dirty claim row has items."""
    c, it, w = f.claims, f.items, f.w
    n, m = len(c["ts"]), len(it.claim)
    out: dict[str, list[DirtyRow]] = {"claims": [], "items": [], "patients": []}
    seq = 0
    plain = np.nonzero((c["tag"] < 0) & ~c["fixed"] & (c["rev_of"] < 0))[0]
    col = {k: i for i, k in enumerate(TABLES["claims"].column_names)}

    # claims
    if n >= 20 and len(plain) >= 20:
        per = max(1, int(round(DIRTY_SHARE * n / len(CLAIM_DIRTY_KINDS))))
        inpatient = plain[c["ctype"][plain] == INPATIENT]
        kinds = [k for k in CLAIM_DIRTY_KINDS if k != "bad_date_order" or len(inpatient)]
        plan = [(kind, j, int(src)) for kind in kinds
                for j, src in enumerate(rng.choice(inpatient if kind == "bad_date_order" else plain, size=per))]
        rows = _row_values(claim_text_columns(f, np.array([p[2] for p in plan], dtype=np.int64), list(CLAIM_TYPES)))
        # fresh claim ids sit just after a clean claim's number (numbers leave gaps of at least 1)
        fresh_q = iter(rng.choice(np.arange(1, n + 1), size=min(n, len(plan)), replace=False).tolist())
        known_cards = set(w.card_no.tolist())
        for (kind, j, src), vals in zip(plan, rows):
            outcome, reason, column = "rejected", kind, None
            if kind in ("duplicate", "conflicting_duplicate"):
                q = int(rng.integers(src + 1, n + 1))  # a later line repeating the clean one
                if kind == "duplicate":
                    outcome, reason = "duplicate", None
                else:
                    column = "claim_id"
                    delta = int(rng.integers(100, 5000))
                    vals[col["total_amount"]] = money_text(int(f.total[src]) + delta)
                    vals[col["self_amount"]] = money_text(int(f.selfpay[src]) + delta)
            else:
                q = next(fresh_q)
                vals[col["claim_id"]] = f"S{int(f.claim_no[q - 1]) + 1}"
                if kind == "missing_required":
                    column = ("card_id", "facility_id", "settled_at", "total_amount")[j % 4]
                    vals[col[column]] = ""
                elif kind == "bad_date":
                    column = "settled_at"
                    year = vals[col[column]][:4]
                    vals[col[column]] = (f"{year}-13-45 10:00:00", "not a date", f"{year}-02-30 08:15:00")[j % 3]
                elif kind == "bad_amount":
                    column = "total_amount"
                    vals[col[column]] = ("12.345", "1,2a")[j % 2]
                elif kind == "bad_enum":
                    column = "claim_type"
                    vals[col[column]] = BAD_ENUM
                elif kind == "bad_date_order":
                    column = "discharge_date"
                    admit = int(np.datetime64(vals[col["admit_date"]], "D").astype(np.int64))
                    vals[col[column]] = date_str(admit - int(rng.integers(1, 6)))
                elif kind == "unknown_card":
                    column = "card_id"
                    no = int(rng.integers(1_000_000_000, 9_999_999_999))
                    while no in known_cards:
                        no = int(rng.integers(1_000_000_000, 9_999_999_999))
                    vals[col[column]] = f"C{no:010d}"
                elif kind == "unknown_facility":
                    column = "facility_id"
                    vals[col[column]] = f"F{w.nf + 1000 + int(rng.integers(0, 80000)):05d}"
                elif kind == "malformed_row":  # a field missing
                    drop = int(rng.integers(1, len(vals)))
                    vals = vals[:drop] + vals[drop + 1:]
            out["claims"].append(DirtyRow(q, vals, outcome, reason, column, seq))
            seq += 1

    # items: extra lines of ordinary claims (numbered after the claim's own), so rejecting
    # them leaves every claim's lines adding up to its total
    is_plain = np.zeros(n, dtype=bool)
    is_plain[plain] = True
    plain_lines = np.nonzero(is_plain[it.claim])[0]
    if m >= 20 and len(plain_lines):
        per = max(1, int(round(DIRTY_SHARE * m / len(ITEM_DIRTY_KINDS))))
        plan = [(kind, j, int(src)) for kind in ITEM_DIRTY_KINDS
                for j, src in enumerate(rng.choice(plain_lines, size=per))]
        rows = _row_values(item_text_columns(f, np.array([p[2] for p in plan], dtype=np.int64), list(ITEM_CATEGORIES)))
        n_lines = np.bincount(it.claim, minlength=n)
        next_no: dict[int, int] = {}
        # an unknown claim id: one more than some claim's number (free, as numbers leave gaps),
        # and not one of the dirty claim rows' ids either
        taken = {d.values[0] for d in out["claims"] if d.values}
        for (kind, j, src), vals in zip(plan, rows):
            outcome, reason, column = "rejected", kind, None
            cl = int(it.claim[src])
            if kind == "duplicate":
                q = int(rng.integers(src + 1, m + 1))
                outcome, reason = "duplicate", None
            else:
                q = int(rng.integers(0, m + 1))
                next_no[cl] = next_no.get(cl, int(n_lines[cl])) + 1
                vals[1] = str(next_no[cl])
                if kind == "unknown_claim":
                    column = "claim_id"
                    unknown = f"S{int(f.claim_no[int(rng.integers(0, n))]) + 1}"
                    while unknown in taken:
                        unknown = f"S{int(f.claim_no[int(rng.integers(0, n))]) + 1}"
                    taken.add(unknown)
                    vals[0], vals[1] = unknown, "1"
                elif kind == "bad_amount":
                    column = "amount"
                    vals[7] = ("12.345", "1,2a")[j % 2]
                elif kind == "missing_required":
                    column = "item_code"
                    vals[2] = ""
                elif kind == "bad_number":
                    column = "quantity"
                    vals[5] = "两盒"
            out["items"].append(DirtyRow(q, vals, outcome, reason, column, seq))
            seq += 1

    # patients: exact duplicate lines
    srcs = rng.choice(w.n, size=max(1, int(round(0.001 * w.n))), replace=False)
    rows = _row_values(patient_text_columns(f, srcs.astype(np.int64), ["M", "F"], ["employee", "resident"]))
    for src, vals in zip(srcs, rows):
        out["patients"].append(DirtyRow(int(rng.integers(int(src) + 1, w.n + 1)), vals, "duplicate", None, None, seq))
        seq += 1
    return out
