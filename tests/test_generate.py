"""The synthetic region generator: format, exactness, determinism, truth file, and a clean
background (no lead signature that the truth file does not list)."""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from graphfraud.ingest.idnumber import is_valid
from graphfraud.ingest.mapping import get_mapping
from graphfraud.store.schema import TABLES
from graphfraud.synth import names as W
from graphfraud.synth.generate import generate_region

SIZE = {"patients": 3000, "months": 4, "seed": 11}
RING_KINDS = {"card_collection", "drug_resale", "cohort_admission", "doctor_pharmacy", "shared_identity",
              "trace_code_reuse"}
LEAD_KINDS = {"after_death", "impossible_travel", "used_while_inpatient", "overlapping_supply", "split_admission",
              "duplicate_claim", "demographic_mismatch"}
MONEY = re.compile(r"-?\d+\.\d{2}")


@pytest.fixture(scope="module")
def en(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("en")
    steps: list[str] = []
    generate_region(out, **SIZE, progress=steps.append)
    assert len(steps) == 8
    return out


@pytest.fixture(scope="module")
def zh(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("zh")
    generate_region(out, **SIZE, zh=True)
    return out


@pytest.fixture(scope="module")
def truth(en) -> dict:
    return json.loads((en / "truth.json").read_text(encoding="utf-8"))


def _rows(path: Path, encoding: str = "utf-8") -> list[list[str]]:
    with open(path, encoding=encoding, newline="") as fh:
        return list(csv.reader(fh))


def _dirty_lines(truth: dict, table: str) -> dict[int, dict]:
    return {d["line"]: d for d in truth["dirty"] if d["table"] == table}


def _clean(en: Path, truth: dict, table: str) -> pd.DataFrame:
    """The table's rows without its dirty lines, as strings ('' for empty)."""
    rows = _rows(en / truth["files"][table])
    dirty = _dirty_lines(truth, table)
    body = [r for line, r in enumerate(rows[1:], start=2) if line not in dirty]
    return pd.DataFrame(body, columns=rows[0])


@pytest.fixture(scope="module")
def tables(en, truth) -> dict[str, pd.DataFrame]:
    return {t: _clean(en, truth, t) for t in TABLES}


# ----------------------------------------------------------------------------- arguments


@pytest.mark.parametrize("kwargs", [
    {"patients": 99, "months": 3}, {"patients": 1000, "months": 0}, {"patients": 1000, "months": 37},
    {"patients": 1000, "months": 3, "start": "2025-13"}, {"patients": 1000, "months": 3, "start": "March"},
])
def test_nonsense_arguments_are_rejected(tmp_path, kwargs):
    with pytest.raises(ValueError):
        generate_region(tmp_path, seed=1, **kwargs)


# ----------------------------------------------------------------------------- files


def test_files_headers_and_encoding(en, zh, truth):
    mapping = get_mapping("nhsa_zh")
    ztruth = json.loads((zh / "truth.json").read_text(encoding="utf-8"))
    for table, spec in TABLES.items():
        assert truth["files"][table] == f"{table}.csv"
        assert ztruth["files"][table] == mapping.file_stems(table)[1] + ".csv"
        raw = (en / truth["files"][table]).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw
        assert raw.decode("utf-8").split("\n", 1)[0] == ",".join(spec.column_names)
        zraw = (zh / ztruth["files"][table]).read_bytes()
        heads = mapping.source_headers(table)
        assert zraw.decode("gb18030").split("\n", 1)[0] == ",".join(heads[c] for c in spec.column_names)
        # same number of lines in both languages (ingest compares line numbers)
        assert raw.count(b"\n") == zraw.count(b"\n") == truth["counts"][table] + 1
    with pytest.raises(UnicodeDecodeError):  # really GB18030, not UTF-8
        (zh / ztruth["files"]["patients"]).read_bytes().decode("utf-8")


def test_same_seed_same_bytes_other_seed_other_data(en, tmp_path):
    again = tmp_path / "again"
    generate_region(again, **SIZE)
    for name in [*json.loads((en / "truth.json").read_text())["files"].values(), "truth.json"]:
        assert (again / name).read_bytes() == (en / name).read_bytes(), name
    other = tmp_path / "other"
    generate_region(other, **{**SIZE, "seed": 12})
    assert (other / "claims.csv").read_bytes() != (en / "claims.csv").read_bytes()


def test_english_and_chinese_hold_the_same_data(en, zh, truth):
    mapping = get_mapping("nhsa_zh")
    ztruth = json.loads((zh / "truth.json").read_text(encoding="utf-8"))
    assert {k: v for k, v in ztruth.items() if k not in ("files", "generator", "dirty")} == \
        {k: v for k, v in truth.items() if k not in ("files", "generator", "dirty")}
    assert [{**d, "file": None} for d in ztruth["dirty"]] == [{**d, "file": None} for d in truth["dirty"]]
    for table, spec in TABLES.items():
        back = {"其他": "other"}
        for col in spec.columns:
            if col.values:
                back.update({k: v for k, v in mapping.value_map(table, col.name).items()})
        e_rows = _rows(en / truth["files"][table])
        z_rows = _rows(zh / ztruth["files"][table], encoding="gb18030")
        assert [mapping.header_map(table)[h] for h in z_rows[0]] == e_rows[0]
        assert len(e_rows) == len(z_rows)
        for e, z in zip(e_rows[1:], z_rows[1:]):
            assert [back.get(v, v) for v in z] == e


# ----------------------------------------------------------------------------- exactness


def test_amount_parts_add_up_and_are_exact(tables):
    c = tables["claims"]
    for col in ("total_amount", "fund_amount", "account_amount", "self_amount"):
        assert c[col].str.fullmatch(MONEY.pattern).all(), col
    parts = c[["fund_amount", "account_amount", "self_amount"]].map(Decimal).sum(axis=1)
    assert (parts == c["total_amount"].map(Decimal)).all()
    assert ((c["total_amount"].map(Decimal) < 0) == (c["reverses_claim_id"] != "")).all()


def test_item_amounts_add_up_to_claim_totals(tables):
    c, it = tables["claims"], tables["items"]
    assert it["amount"].str.fullmatch(MONEY.pattern).all() and it["unit_price"].str.fullmatch(MONEY.pattern).all()
    line = it["quantity"].map(Decimal) * it["unit_price"].map(Decimal)
    assert (line == it["amount"].map(Decimal)).all()
    sums = it.assign(a=it["amount"].map(Decimal)).groupby("claim_id")["a"].sum()
    ordinary = c[c["reverses_claim_id"] == ""].set_index("claim_id")
    assert ordinary.index.is_unique
    assert set(sums.index) == set(ordinary.index)  # every ordinary claim has items, reversals none
    assert (sums.reindex(ordinary.index) == ordinary["total_amount"].map(Decimal)).all()
    # item_no runs 1..n within each claim
    nos = it.groupby("claim_id")["item_no"].apply(lambda s: list(map(int, s)))
    assert all(v == list(range(1, len(v) + 1)) for v in nos)


def test_reversals_cancel_their_original_exactly(tables):
    c = tables["claims"].set_index("claim_id")
    rev = c[c["reverses_claim_id"] != ""]
    assert len(rev) > 0
    for _, r in rev.iterrows():
        o = c.loc[r["reverses_claim_id"]]
        assert (r["card_id"], r["facility_id"]) == (o["card_id"], o["facility_id"])
        assert r["settled_at"] > o["settled_at"]
        for col in ("total_amount", "fund_amount", "account_amount", "self_amount"):
            assert Decimal(r[col]) == -Decimal(o[col])


def test_citizen_ids_are_valid_except_the_flagged(tables, truth):
    p = tables["patients"].drop_duplicates()
    flagged = set(truth["id_number_invalid"])
    assert flagged and len(flagged) < 0.01 * len(p)
    valid = p["id_number"].map(is_valid)
    assert set(p.loc[~valid, "patient_id"]) == flagged
    assert (p["id_number"].str[6:14] == p["birth_date"].str.replace("-", "")).all()
    assert ((p["id_number"].str[16].astype(int) % 2 == 1) == (p["sex"] == "M")).all()
    assert (p["id_number"].str[:6] == p["insured_region"]).all()
    assert p["phone"].str.fullmatch(r"1[3-9]\d{9}").all()


def test_reference_integrity_of_clean_rows(tables):
    names = ("claims", "items", "cards", "facilities", "doctors", "patients")
    c, it, cards, fac, docs, pats = (tables[t] for t in names)
    assert set(c["card_id"]) <= set(cards["card_id"])
    assert set(c["facility_id"]) <= set(fac["facility_id"])
    assert set(c["doctor_id"]) - {""} <= set(docs["doctor_id"])
    assert set(it["claim_id"]) <= set(c["claim_id"])
    assert set(cards["patient_id"]) <= set(pats["patient_id"])
    card_pat = cards.set_index("card_id")["patient_id"]
    assert (c["card_id"].map(card_pat) == c["patient_id"]).all()
    # each claim's terminal belongs to its facility
    assert (c["terminal_id"].str[1:6] == c["facility_id"].str[1:]).all()
    # pharmacies have no walk-in doctor; inpatient claims have dates and settle at discharge
    kinds = c["facility_id"].map(fac.set_index("facility_id")["facility_type"])
    assert ((c["claim_type"] == "pharmacy") == (kinds == "pharmacy")).all()
    inp = c[c["claim_type"] == "inpatient"]
    assert (inp["admit_date"] < inp["discharge_date"]).all()
    assert (inp["settled_at"].str[:10] >= inp["discharge_date"]).all()


# ----------------------------------------------------------------------------- truth file


def test_every_ring_and_lead_kind_is_planted(truth):
    assert {r["kind"] for r in truth["rings"]} == RING_KINDS
    assert {ld["kind"] for ld in truth["leads"]} == LEAD_KINDS
    assert {d["kind"] for d in truth["decoys"]} == {"family", "member_day", "regular", "busy_pharmacy"}
    assert all(d["entity_ids"] for d in truth["decoys"])
    assert {e["kind"] for e in truth["edge_cases"]} == {"claim_on_death_day"}
    for r in truth["rings"]:
        assert r["claim_ids"] and r["size"] >= 4
    assert len({r["ring_id"] for r in truth["rings"]}) == len(truth["rings"])


def test_truth_ids_exist(tables, truth):
    c, it, pats = tables["claims"], tables["items"], tables["patients"]
    ids = {
        "card": set(tables["cards"]["card_id"]), "patient": set(pats["patient_id"]),
        "doctor": set(tables["doctors"]["doctor_id"]), "facility": set(tables["facilities"]["facility_id"]),
        "terminal": set(c["terminal_id"]), "drug": set(it["item_code"]),
        "phone": set(pats["phone"]), "address": set(pats["address"]),
    }
    claim_ids = set(c["claim_id"])
    for entry in truth["rings"] + truth["leads"] + truth["edge_cases"]:
        assert entry["claim_ids"] and set(entry["claim_ids"]) <= claim_ids, entry.get("ring_id", entry.get("lead_id"))
    for r in truth["rings"]:
        for m in r["members"]:
            assert m["entity_id"] in ids[m["entity_type"]], (r["ring_id"], m)
        holders = {m["entity_id"] for m in r["members"] if m["entity_type"] == "patient"}
        for m in r["members"]:
            if m["entity_type"] in ("phone", "address"):  # the patients holding it are listed too
                col = m["entity_type"]
                having = set(pats.loc[pats[col] == m["entity_id"], "patient_id"])
                assert len(having & holders) >= 2
    for ld in truth["leads"]:
        assert ld["entity_id"] in ids["card"]
    for d in truth["decoys"]:
        assert set(d["entity_ids"]) <= ids[d["entity_type"]]


def test_ring_signatures(tables, truth):
    c = tables["claims"].set_index("claim_id")
    it = tables["items"]
    pats = tables["patients"].set_index("patient_id")
    for r in truth["rings"]:
        rc = c.loc[r["claim_ids"]]
        cards = {m["entity_id"] for m in r["members"] if m["entity_type"] == "card"}
        if r["kind"] == "card_collection":
            term = next(m["entity_id"] for m in r["members"] if m["entity_type"] == "terminal")
            assert (rc["terminal_id"] == term).all() and set(rc["card_id"]) == cards
            assert rc["settled_at"].str[:10].nunique() >= 6
            addresses = pats.loc[rc["patient_id"].unique(), "address"]
            assert addresses.is_unique  # holders live apart
        elif r["kind"] == "cohort_admission":
            assert (rc["claim_type"] == "inpatient").all()
            assert rc["admit_date"].str[:7].nunique() >= min(3, SIZE["months"])
            assert rc["diagnosis_code"].nunique() == 1
        elif r["kind"] == "doctor_pharmacy":
            doc = next(m["entity_id"] for m in r["members"] if m["entity_type"] == "doctor")
            ph = next(m["entity_id"] for m in r["members"] if m["entity_type"] == "facility")
            fills = c[(c["doctor_id"] == doc) & (c["claim_type"] == "pharmacy")]
            assert (fills["facility_id"] == ph).mean() > 0.8
        elif r["kind"] == "trace_code_reuse":
            lines = it[it["trace_code"].isin(r["trace_codes"])]
            per_code = lines.merge(c.reset_index()[["claim_id", "card_id"]], on="claim_id").groupby("trace_code")
            assert (per_code["claim_id"].nunique() >= 2).all()
            assert (per_code["card_id"].nunique() == per_code["claim_id"].nunique()).all()
        elif r["kind"] == "drug_resale":
            drug = next(m["entity_id"] for m in r["members"] if m["entity_type"] == "drug")
            assert set(it.loc[it["claim_id"].isin(r["claim_ids"]) & (it["category"] == "drug"), "item_code"]) == {drug}


def _at(df: pd.DataFrame, col: str) -> pd.Series:
    return pd.to_datetime(df[col])


def _lead_claims(truth: dict, kind: str | None = None) -> set[str]:
    return {x for ld in truth["leads"] if kind is None or ld["kind"] == kind for x in ld["claim_ids"]}


def test_background_inpatients_have_no_other_claims_during_their_stay(tables, truth):
    c = tables["claims"]
    stays = c[(c["claim_type"] == "inpatient") & (c["reverses_claim_id"] == "")]
    j = c.merge(stays[["patient_id", "claim_id", "admit_date", "discharge_date"]], on="patient_id", suffixes=("", "_s"))
    day = j["settled_at"].str[:10]
    inside = j[(j["claim_id"] != j["claim_id_s"]) & (day >= j["admit_date_s"]) & (day <= j["discharge_date_s"])]
    inside = inside[inside["reverses_claim_id"] != inside["claim_id_s"]]
    assert set(inside["claim_id"]) <= _lead_claims(truth, "used_while_inpatient")
    assert set(inside["claim_id"]) == {x for x in _lead_claims(truth, "used_while_inpatient")
                                       if c.set_index("claim_id").loc[x, "claim_type"] != "inpatient"}
    # no (background) readmission at one facility within 7 days except the split admissions
    s = stays.sort_values(["patient_id", "admit_date"])
    prev = s.groupby("patient_id")["discharge_date"].shift()
    gap = (pd.to_datetime(s["admit_date"]) - pd.to_datetime(prev)).dt.days
    assert set(s.loc[gap <= 7, "claim_id"]) <= _lead_claims(truth, "split_admission")


def test_no_claims_after_death_but_the_planted(tables, truth):
    c, p = tables["claims"], tables["patients"].drop_duplicates().set_index("patient_id")
    death = c["patient_id"].map(p["death_date"])
    day = c["settled_at"].str[:10]
    after = set(c.loc[(death != "") & (day > death), "claim_id"])
    on = set(c.loc[(death != "") & (day == death), "claim_id"])
    assert after == _lead_claims(truth, "after_death")
    assert on == {x for e in truth["edge_cases"] for x in e["claim_ids"]}
    assert 0.003 < (p["death_date"] != "").mean() < 0.1


def test_no_impossible_travel_duplicates_or_trace_reuse_in_the_background(tables, truth):
    c = tables["claims"].copy()
    fac = tables["facilities"].set_index("facility_id")
    lat = pd.to_numeric(c["facility_id"].map(fac["latitude"]), errors="coerce")
    lon = pd.to_numeric(c["facility_id"].map(fac["longitude"]), errors="coerce")
    c = c.assign(lat=lat, lon=lon, t=_at(c, "settled_at")).sort_values(["card_id", "t"])
    prev = c.groupby("card_id")[["lat", "lon", "t", "claim_id", "facility_id", "total_amount"]].shift()
    rad = np.radians
    a = np.sin(rad(c["lat"] - prev["lat"]) / 2) ** 2 + np.cos(rad(c["lat"])) * np.cos(rad(prev["lat"])) * \
        np.sin(rad(c["lon"] - prev["lon"]) / 2) ** 2
    km = 2 * 6371 * np.arcsin(np.sqrt(a))
    hours = (c["t"] - prev["t"]).dt.total_seconds() / 3600
    fast = (km > 500) & (hours < 2)
    found = set(c.loc[fast, "claim_id"]) | set(prev.loc[fast, "claim_id"])
    assert found == _lead_claims(truth, "impossible_travel")
    dup = (c["facility_id"] == prev["facility_id"]) & (hours * 60 <= 1) & (c["total_amount"] == prev["total_amount"])
    found = set(c.loc[dup, "claim_id"]) | set(prev.loc[dup, "claim_id"])
    assert found == _lead_claims(truth, "duplicate_claim")
    it = tables["items"]
    codes = it[it["trace_code"] != ""]
    multi = codes.groupby("trace_code")["claim_id"].nunique()
    reused = codes[codes["trace_code"].isin(multi[multi > 1].index)]
    ring_claims = {x for r in truth["rings"] if r["kind"] == "trace_code_reuse" for x in r["claim_ids"]}
    assert set(reused["claim_id"]) == ring_claims
    assert codes["trace_code"].str.fullmatch(r"\d{20}").all()
    assert 0.5 < (it.loc[it["category"] == "drug", "trace_code"] != "").mean() < 0.9


def test_no_overlapping_supply_in_the_background(tables, truth):
    c, it = tables["claims"], tables["items"]
    lines = it[it["days_supply"] != ""].merge(c[["claim_id", "card_id", "settled_at"]], on="claim_id")
    lines = lines.assign(day=pd.to_datetime(lines["settled_at"].str[:10]), ds=lines["days_supply"].astype(int))
    lines = lines.sort_values(["card_id", "item_code", "day"])
    prev = lines.groupby(["card_id", "item_code"])[["day", "ds"]].shift()
    early = (lines["day"] - prev["day"]).dt.days < prev["ds"] * 0.8
    cards = set(lines.loc[early, "card_id"])
    lead_cards = {ld["entity_id"] for ld in truth["leads"] if ld["kind"] == "overlapping_supply"}
    assert cards == lead_cards


def test_no_demographic_mismatch_in_the_background(tables, truth):
    c, it = tables["claims"], tables["items"]
    p = tables["patients"].drop_duplicates().set_index("patient_id")
    sex = c["patient_id"].map(p["sex"])
    age = (pd.to_datetime(c["settled_at"]) - pd.to_datetime(c["patient_id"].map(p["birth_date"]))).dt.days / 365.25
    bad = set(c.loc[(sex == "M") & c["diagnosis_code"].str.startswith("O"), "claim_id"])
    groups = {drug[0]: drug[-1] for drug in W.DRUGS}
    grp = it["item_name"].map(groups)
    j = it.assign(grp=grp).merge(c.assign(sex=sex, age=age)[["claim_id", "sex", "age"]], on="claim_id")
    bad |= set(j.loc[(j["grp"] == "male") & (j["sex"] == "F"), "claim_id"])
    bad |= set(j.loc[(j["grp"] == "child") & (j["age"] >= 18), "claim_id"])
    assert bad == _lead_claims(truth, "demographic_mismatch")


# ----------------------------------------------------------------------------- dirty rows


def _is_date(text: str, fmt: str) -> bool:
    try:
        datetime.strptime(text, fmt)
        return True
    except ValueError:
        return False


def test_dirty_lines_are_really_dirty_and_the_rest_clean(en, truth):
    """An independent check of every claims line: the set of lines it finds bad is exactly
    the truth file's dirty list, each with the reason and column listed."""
    cards = {r[0] for r in _rows(en / "cards.csv")[1:]}
    facilities = {r[0] for r in _rows(en / "facilities.csv")[1:]}
    rows = _rows(en / "claims.csv")
    names = rows[0]
    seen: dict[str, list[str]] = {}
    found: dict[int, tuple[str, str | None, str | None]] = {}
    for line, r in enumerate(rows[1:], start=2):
        if len(r) != len(names):
            found[line] = ("rejected", "malformed_row", None)
            continue
        v = dict(zip(names, r))
        problem: tuple[str, str | None, str | None] | None = None
        for col in ("claim_id", "card_id", "facility_id", "claim_type", "settled_at", "total_amount"):
            if v[col] == "":
                problem = ("rejected", "missing_required", col)
                break
        if problem is None:
            if not _is_date(v["settled_at"], "%Y-%m-%d %H:%M:%S"):
                problem = ("rejected", "bad_date", "settled_at")
            elif not MONEY.fullmatch(v["total_amount"]):
                problem = ("rejected", "bad_amount", "total_amount")
            elif v["claim_type"] not in ("outpatient", "inpatient", "pharmacy"):
                problem = ("rejected", "bad_enum", "claim_type")
            elif v["claim_type"] == "inpatient" and v["discharge_date"] < v["admit_date"]:
                problem = ("rejected", "bad_date_order", "discharge_date")
            elif v["claim_id"] in seen:
                problem = ("duplicate", None, None) if seen[v["claim_id"]] == r else \
                    ("rejected", "conflicting_duplicate", "claim_id")
            elif v["card_id"] not in cards:
                problem = ("rejected", "unknown_card", "card_id")
            elif v["facility_id"] not in facilities:
                problem = ("rejected", "unknown_facility", "facility_id")
        if problem:
            found[line] = problem
        else:
            seen[v["claim_id"]] = r
    expected = {line: (d["outcome"], d["reason"], d["column"]) for line, d in _dirty_lines(truth, "claims").items()}
    assert found == expected
    assert {d[1] for d in expected.values()} >= {
        "missing_required", "bad_date", "bad_amount", "bad_enum", "bad_date_order", "conflicting_duplicate",
        None, "unknown_card", "unknown_facility", "malformed_row"}
    assert 0.001 < len(expected) / (len(rows) - 1) < 0.01
    # dirty claims carry no items, and are no part of any ring or lead
    items_claims = {r[0] for r in _rows(en / "items.csv")[1:]}
    fresh = {rows[line - 1][0] for line, d in expected.items()
             if d[1] not in (None, "conflicting_duplicate", "malformed_row")}
    assert not fresh & items_claims
    planted = {x for e in truth["rings"] + truth["leads"] for x in e["claim_ids"]}
    conflicted = {rows[line - 1][0] for line, d in expected.items() if d[1] in (None, "conflicting_duplicate")}
    assert not conflicted & planted


def test_dirty_item_and_patient_lines(en, truth):
    claims = {r[0] for r in _rows(en / "claims.csv")[1:]}
    rows = _rows(en / "items.csv")
    names = rows[0]
    dirty = _dirty_lines(truth, "items")
    assert {d["reason"] for d in dirty.values()} == {"unknown_claim", "bad_amount", "missing_required", "bad_number",
                                                      None}
    keys: dict[tuple[str, str], int] = {}
    for line, r in enumerate(rows[1:], start=2):
        v = dict(zip(names, r))
        d = dirty.get(line)
        if d is None:
            assert v["claim_id"] in claims and v["item_code"] and MONEY.fullmatch(v["amount"])
            assert (v["claim_id"], v["item_no"]) not in keys
            keys[(v["claim_id"], v["item_no"])] = line
        elif d["reason"] is None:
            assert d["outcome"] == "duplicate" and rows[keys[(v["claim_id"], v["item_no"])] - 1] == r
        elif d["reason"] == "unknown_claim":
            assert v["claim_id"] not in claims
        elif d["reason"] == "bad_amount":
            assert not MONEY.fullmatch(v[d["column"]])
        elif d["reason"] == "missing_required":
            assert v[d["column"]] == ""
        elif d["reason"] == "bad_number":
            assert v["quantity"] == "两盒"
    prow = _rows(en / "patients.csv")
    pdirty = _dirty_lines(truth, "patients")
    assert pdirty and all(d["outcome"] == "duplicate" for d in pdirty.values())
    firsts: dict[str, int] = {}
    for line, r in enumerate(prow[1:], start=2):
        if line in pdirty:
            assert prow[firsts[r[0]] - 1] == r
        else:
            assert r[0] not in firsts
            firsts[r[0]] = line


def test_scaled_volume_and_heavy_tail(tables, truth):
    c = tables["claims"]
    per_patient_month = len(c) / (SIZE["patients"] * SIZE["months"])
    assert 0.5 < per_patient_month < 1.3
    counts = c["patient_id"].value_counts()
    assert counts.max() > 8 * counts.median()
    assert set(c["claim_type"]) == {"outpatient", "inpatient", "pharmacy"}
    fac = tables["facilities"]
    assert (fac["facility_type"] == "pharmacy").mean() > 0.5
    assert (fac["latitude"] == "").any()


# ----------------------------------------------------------------------------- the hard region


@pytest.fixture(scope="module")
def hard(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hard")
    generate_region(out, **SIZE, difficulty="hard")
    return out


def test_the_hard_region_lists_its_look_alikes_with_the_kind_each_mimics(hard, en):
    truth = json.loads((hard / "truth.json").read_text(encoding="utf-8"))
    assert truth["generator"]["difficulty"] == "hard"
    claims = pd.read_csv(hard / "claims.csv", dtype=str, keep_default_na=False)
    ids = set(claims["claim_id"])
    mimics: dict[str, set[str]] = {}
    for d in truth["decoys"]:
        if "mimics" in d:
            mimics.setdefault(d["mimics"], set()).add(d["kind"])
            assert set(d.get("claim_ids", [])) <= ids, d["kind"]
            assert d["entity_ids"], d["kind"]
    assert mimics["used_while_inpatient"] >= {"routine_refill_in_stay", "household_collect_in_stay",
                                              "hospital_pharmacy_in_stay", "small_buy_in_stay"}
    assert mimics["impossible_travel"] == {"rail_traveller", "air_traveller"}
    assert mimics["cohort_admission"] == {"mass_admission", "chronic_ward"}
    assert mimics["doctor_pharmacy"] == {"one_pharmacy_town", "hospital_pharmacy"}
    assert {"after_death", "overlapping_supply", "demographic_mismatch", "split_admission", "trace_code_reuse",
            "card_collection"} <= set(mimics)
    # about fifty planted leads of every kind, and every ring kind
    kinds = {}
    for x in truth["leads"]:
        kinds[x["kind"]] = kinds.get(x["kind"], 0) + 1
    assert all(kinds.get(k, 0) >= 30 for k in LEAD_KINDS)
    assert {r["kind"] for r in truth["rings"]} == RING_KINDS
    # a rail traveller's trip is at high-speed-rail speed, between two cities
    fac = pd.read_csv(hard / "facilities.csv", dtype=str, keep_default_na=False).set_index("facility_id")
    checked = 0
    for rail in (d for d in truth["decoys"] if d["kind"] == "rail_traveller"):
        trip = claims[claims["claim_id"].isin(rail["claim_ids"])].sort_values("settled_at").head(2)
        (a, b), (ta, tb) = trip["facility_id"].tolist(), pd.to_datetime(trip["settled_at"]).tolist()
        if "" in (fac.loc[a, "latitude"], fac.loc[b, "latitude"]):
            continue  # a facility without recorded coordinates
        lat = [float(fac.loc[f, "latitude"]) for f in (a, b)]
        lon = [float(fac.loc[f, "longitude"]) for f in (a, b)]
        km = 6371 * 2 * np.arcsin(np.sqrt(np.sin(np.radians(lat[1] - lat[0]) / 2) ** 2 + np.cos(np.radians(lat[0]))
                                          * np.cos(np.radians(lat[1])) * np.sin(np.radians(lon[1] - lon[0]) / 2) ** 2))
        speed = km / ((tb - ta).total_seconds() / 3600)
        assert km >= 100 and 240 <= speed <= 350
        checked += 1
    assert checked >= 5
    # the default region is not touched by the option's code
    assert (hard / "claims.csv").read_bytes() != (en / "claims.csv").read_bytes()


@pytest.mark.parametrize("patients,months", [(300, 1), (2000, 2), (800, 24)])
def test_the_hard_region_generates_at_any_size(tmp_path, patients, months):
    result = generate_region(tmp_path / "r", patients=patients, months=months, seed=5, difficulty="hard")
    assert result.counts["claims"] > 0
