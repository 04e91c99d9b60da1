"""The detection engine on small hand-built workspaces whose answer is known."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import random
import re
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from graphfraud.cli import main
from graphfraud.core.errors import GraphfraudError
from graphfraud.detect.cooccur import p_within, poisson_nlp
from graphfraud.detect.model import REASON_TEXTS, reason
from graphfraud.detect.run import detect
from graphfraud.detect.settings import Settings
from graphfraud.store.workspace import Workspace

START = dt.datetime(2025, 3, 1)


class Region:
    """A workspace filled row by row: pharmacies, people with one card each, settlements."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.claims: list[dict] = []
        self.patients: list[dict] = []
        self.cards: list[dict] = []
        self.facilities: list[dict] = []
        self.items: list[dict] = []
        self._n = 0

    def facility(self, fid: str, ftype: str = "pharmacy", region: str = "110101", lat: float = 39.9,
                 lon: float = 116.4) -> str:
        self.facilities.append({"facility_id": fid, "name": f"nm_{fid}", "facility_type": ftype, "region_code": region,
                                "latitude": lat, "longitude": lon})
        return fid

    def person(self, pid: str, *, age: int = 40, address: str | None = None, phone: str | None = None,
               region: str = "110101") -> str:
        self.patients.append({"patient_id": pid, "sex": "F", "birth_date": dt.date(2025 - age, 1, 1),
                              "address": address or f"ad_{pid}", "phone": phone or f"ph_{pid}",
                              "insured_region": region, "id_number_valid": True})
        card = "C" + pid
        self.cards.append({"card_id": card, "patient_id": pid, "card_type": "ssc"})
        return card

    def settle(self, card: str, fid: str, when: dt.datetime, amount: str = "100.00", *, claim_type: str = "pharmacy",
               terminal: str | None = None, **extra) -> str:
        self._n += 1
        cid = f"S{self._n:07d}"
        self.claims.append({"claim_id": cid, "card_id": card, "patient_id": card[1:], "facility_id": fid,
                            "claim_type": claim_type, "settled_at": when, "total_amount": Decimal(amount),
                            "fund_amount": Decimal(amount) * Decimal("0.7"), "terminal_id": terminal or f"T-{fid}",
                            **extra})
        return cid

    def admit(self, card: str, fid: str, admit: dt.date, los: int, dx: str, amount: str = "5000.00",
              doctor: str = "D1") -> str:
        discharge = admit + dt.timedelta(days=los)
        return self.settle(card, fid, dt.datetime.combine(discharge, dt.time(10)), amount, claim_type="inpatient",
                           admit_date=admit, discharge_date=discharge, diagnosis_code=dx, doctor_id=doctor)

    def random_time(self, day: int, start_hour: int = 8, hours: int = 12) -> dt.datetime:
        return START + dt.timedelta(days=day, seconds=start_hour * 3600 + self.rng.randrange(hours * 3600))

    def save(self, path) -> Workspace:
        ws = Workspace.open(path, create=True)
        con = ws.connect()
        try:
            insert(con, self)
        finally:
            con.close()
        return ws


def insert(con, region: Region) -> None:
    for table, rows in (("facilities", region.facilities), ("patients", region.patients), ("cards", region.cards),
                        ("claims", region.claims), ("items", region.items)):
        if rows:
            columns = sorted({k for row in rows for k in row})  # rows differ: inpatient ones have more
            con.register("_rows", pa.Table.from_pylist([{c: row.get(c) for c in columns} for row in rows]))
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _rows")
            con.unregister("_rows")


def busy_background(region: Region, fid: str, shoppers: int, days: int, visits: int) -> list[str]:
    cards = [region.person(f"B{fid}{i:04d}", age=region.rng.randrange(20, 90)) for i in range(shoppers)]
    for card in cards:
        for _ in range(visits):
            region.settle(card, fid, region.random_time(region.rng.randrange(days)))
    return cards


def collection_ring(region: Region, fid: str, n: int, days: list[int], prefix: str = "R") -> list[str]:
    cards = [region.person(f"{prefix}{i:03d}", age=70, region="110105") for i in range(n)]
    for day in days:
        t = region.random_time(day, 9, 9)
        for card in region.rng.sample(cards, n):
            t += dt.timedelta(seconds=region.rng.randrange(20, 60))
            region.settle(card, fid, t, "480.00", terminal=f"T-{fid}")
    return cards


def rings_of(result, kind: str):
    return [r for r in result.rings if r.kind == kind]


def test_collection_ring_at_a_skewed_pharmacy_is_found_exactly(tmp_path):
    region = Region(seed=3)
    big = region.facility("F-BIG")
    region.facility("F-SMALL", lat=40.3, lon=116.9)
    # one pharmacy does most of the region's business: ~100 settlements a day
    busy_background(region, big, shoppers=600, days=60, visits=10)
    busy_background(region, "F-SMALL", shoppers=60, days=60, visits=4)
    ring = collection_ring(region, big, 6, days=[2, 9, 15, 23, 31, 38, 44, 52])
    ws = region.save(tmp_path / "ws")

    result = detect(ws.path, tmp_path / "out")
    found = rings_of(result, "card_collection")
    real = [r for r in found if r.score >= 50]
    assert len(real) == 1
    top = real[0]
    assert top.key == frozenset(ring) and top.rank == 1
    assert {m.entity_id for m in top.members if m.entity_type == "facility"} == {"F-BIG"}
    codes = [x.code for x in top.reasons]
    assert codes[0] == "cc_repeat" and "cooccur_vs_chance" in codes and "elderly_holders" in codes
    assert "6 张卡在药店 F-BIG 的 8 个不同日期里于 10 分钟内相继结算" == top.reasons[0].text_zh
    # every other group is background coincidence and scores far below
    assert all(r.score < 30 for r in found if r is not top)


def test_a_crowd_of_independent_shoppers_with_a_member_day_yields_no_ring(tmp_path):
    region = Region(seed=5)
    fid = region.facility("F-CROWD")
    cards = busy_background(region, fid, shoppers=400, days=90, visits=6)
    # member day (会员日) on the 15th of each month: 150 of the shoppers within two hours
    for day in (14, 45, 73):
        for card in region.rng.sample(cards, 150):
            region.settle(card, fid, region.random_time(day, 9, 2))
    ws = region.save(tmp_path / "ws")
    result = detect(ws.path, tmp_path / "out")
    assert rings_of(result, "card_collection") == []
    assert result.stats["card_collection"]["events"] == 400 * 6 + 450


def test_a_family_shopping_together_scores_low_and_says_why(tmp_path):
    region = Region(seed=7)
    fid = region.facility("F1")
    busy_background(region, fid, shoppers=200, days=60, visits=5)
    family = [region.person(f"FAM{i}", age=a, address="ad_home", phone="ph_home") for i, a in enumerate((40, 38, 12))]
    # the mother also pays with her e-voucher: four cards, three people, still a family
    family.append("EV-FAM0")
    region.cards.append({"card_id": "EV-FAM0", "patient_id": "FAM0", "card_type": "evoucher"})
    for day in (3, 10, 17, 24, 31, 38):
        t = region.random_time(day)
        for card in family:
            t += dt.timedelta(seconds=40)
            region.settle(card, fid, t, "35.50")
            region.claims[-1]["patient_id"] = "FAM0" if card == "EV-FAM0" else card[1:]
    ws = region.save(tmp_path / "ws")
    # by default an explained group is not reported as a ring, only counted
    result = detect(ws.path, tmp_path / "out")
    assert rings_of(result, "card_collection") == []
    manifest = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert manifest["detectors"]["card_collection"]["below_min_score"] == {"family": 1, "weak": 0}
    # asked for every group, it is there with a low score and the reason
    result = detect(ws.path, tmp_path / "all", settings=Settings.from_dict({"min_score": 0}))
    [ring] = rings_of(result, "card_collection")
    assert ring.key == frozenset(family)
    assert ring.score < 30 and ring.reasons[0].code == "family_shared_address"
    assert "可能是家人" in ring.reasons[0].text_zh and "likely a family" in ring.reasons[0].text_en
    assert ring.reasons[0].text_en.startswith("of the 3 card holders 3 share one address")
    assert not ring.over_transfer_threshold


def test_cohort_admissions_are_found_and_a_busy_ward_is_not(tmp_path):
    region = Region(seed=11)
    hosp = region.facility("H1", "hospital")
    region.facility("H2", "hospital")
    # a busy ward: 300 people with the same diagnosis admitted at random over a year
    for i in range(300):
        card = region.person(f"W{i:04d}", age=region.rng.randrange(30, 90))
        for _ in range(region.rng.choice((1, 1, 2))):
            region.admit(card, region.rng.choice((hosp, "H2")), dt.date(2025, 1, 1) + dt.timedelta(days=region.rng.randrange(350)),
                         region.rng.randrange(4, 10), "J44.9")
    cohort = [region.person(f"K{i:03d}", age=72, phone="ph_recruiter") for i in range(8)]
    for month in (2, 4, 6, 8, 10):
        base = dt.date(2025, month, 5)
        for card in cohort:
            region.admit(card, hosp, base + dt.timedelta(days=region.rng.choice((-1, 0, 0, 1))),
                         7 + region.rng.choice((-1, 0, 1)), "J44.9", doctor="D-COHORT")
    ws = region.save(tmp_path / "ws")
    result = detect(ws.path, tmp_path / "out")
    cohorts = rings_of(result, "cohort_admission")
    assert [r.key for r in cohorts if r.score >= 50] == [frozenset(cohort)]
    top = next(r for r in cohorts if r.key == frozenset(cohort))
    codes = {x.code for x in top.reasons}
    assert {"ca_cohort", "ca_similar_los", "ca_doctor", "shared_phone", "over_threshold"} <= codes
    assert top.reasons[0].text_en.startswith("8 people admitted to H1 in batches (within 2 day(s) of each other) in "
                                             "5 different months, mostly with diagnoses J44.9")
    assert {m.entity_type for m in top.members} >= {"card", "facility", "doctor", "phone", "patient"}
    assert top.facts["rounds"] == 5


def test_totals_are_exact_and_outputs_follow_the_contract(tmp_path):
    region = Region(seed=13)
    fid = region.facility("F1")
    busy_background(region, fid, shoppers=150, days=40, visits=4)
    ring = collection_ring(region, fid, 5, days=[1, 5, 9, 14, 20, 27])
    # a reversed ring settlement does not count: the fund got the money back
    reversed_id = next(c["claim_id"] for c in region.claims if c["card_id"] == ring[0])
    region.claims.append({"claim_id": "REV1", "card_id": ring[0], "patient_id": ring[0][1:], "facility_id": fid,
                          "claim_type": "pharmacy", "settled_at": START + dt.timedelta(days=50),
                          "total_amount": Decimal("-480.00"), "fund_amount": Decimal("-336.00"),
                          "reverses_claim_id": reversed_id})
    ws = region.save(tmp_path / "ws")
    out = tmp_path / "out"
    result = detect(ws.path, out, settings=Settings.from_dict({"transfer_threshold": "10000"}))
    top = result.rings[0]
    assert top.key == frozenset(ring) and reversed_id not in top.claim_ids
    con = ws.connect(read_only=True)
    total, fund = con.execute("SELECT sum(total_amount), sum(fund_amount) FROM claims WHERE claim_id IN "
                              "(SELECT unnest(?))", [top.claim_ids]).fetchall()[0]
    con.close()
    assert isinstance(top.total_amount, Decimal) and top.total_amount == total and top.fund_amount == fund
    assert top.total_amount == Decimal("480.00") * len(top.claim_ids)
    assert top.over_transfer_threshold == (top.total_amount >= Decimal(10000))

    for name in ("rings", "ring_members", "reasons", "leads"):
        assert (out / f"{name}.csv").read_bytes().startswith(b"\xef\xbb\xbf")
        assert (out / f"{name}.parquet").exists()
    rows = list(csv.DictReader((out / "rings.csv").open(encoding="utf-8-sig")))
    assert list(rows[0])[:13] == ["ring_id", "kind", "score", "rank", "n_members", "n_claims", "total_amount",
                                  "fund_amount", "first_date", "last_date", "over_transfer_threshold", "reasons_zh",
                                  "reasons_en"]
    assert Decimal(rows[0]["total_amount"]) == top.total_amount
    table = pq.read_table(out / "rings.parquet")
    assert table.schema.field("total_amount").type == pa.decimal128(38, 2)
    assert table.column("total_amount")[0].as_py() == top.total_amount
    members = pq.read_table(out / "ring_members.parquet").to_pylist()
    cards = [m for m in members if m["ring_id"] == top.ring_id and m["entity_type"] == "card"]
    assert sum(m["amount"] for m in cards) == top.total_amount
    manifest = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert manifest["parameters"]["transfer_threshold"] == "10000"
    assert manifest["parameters"]["card_collection"]["window_minutes"] == 10
    assert manifest["software"]["name"] == "graphfraud" and manifest["results"]["rings"] == len(result.rings)
    assert set(manifest["outputs"]) == {f"{n}.{e}" for n in ("rings", "ring_members", "reasons", "leads",
                                                             "lead_reasons")
                                        for e in ("csv", "parquet")}
    assert "card_collection" in manifest["timings_s"]


def test_ring_ids_are_stable_on_the_same_and_on_grown_data(tmp_path):
    region = Region(seed=17)
    fid = region.facility("F1")
    region.facility("F2")
    busy_background(region, fid, shoppers=200, days=60, visits=5)
    ring_a = collection_ring(region, fid, 5, days=[1, 6, 11, 19, 26, 33], prefix="A")
    ring_b = collection_ring(region, "F2", 4, days=[2, 8, 13, 21, 29, 37], prefix="Z")
    ws = region.save(tmp_path / "ws")
    first = detect(ws.path, tmp_path / "r1")
    ids = {r.key: r.ring_id for r in first.rings}
    assert set(ids) >= {frozenset(ring_a), frozenset(ring_b)}
    assert sorted(first.changes["new"]) == sorted(ids.values())

    again = detect(ws.path, tmp_path / "r2")
    assert {r.key: r.ring_id for r in again.rings} == ids
    assert again.changes["same"] == sorted(ids.values()) and not again.changes["new"]

    # next month: ring A recruits one more card; ring B stops; the ids follow the rings
    grown = Region(seed=19)
    newcomer = grown.person("A-NEW", age=75)
    grown.claims = []
    for day in (61, 67, 74, 80):
        t = grown.random_time(day, 9, 9)
        for card in [*ring_a, newcomer]:
            t += dt.timedelta(seconds=45)
            grown._n = len(region.claims) + len(grown.claims) + 10_000
            grown.settle(card, fid, t, "480.00")
    con = ws.connect()
    insert(con, grown)
    con.execute("DELETE FROM claims WHERE card_id IN (SELECT unnest(?))", [ring_b])
    con.close()
    third = detect(ws.path, tmp_path / "r3")
    after = {r.ring_id: r for r in third.rings}
    a_id = ids[frozenset(ring_a)]
    assert a_id in after and after[a_id].key == frozenset([*ring_a, newcomer]) and after[a_id].status == "grown"
    assert a_id in third.changes["grown"] and ids[frozenset(ring_b)] in third.changes["dissolved"]
    manifest = json.loads((tmp_path / "r3" / "run.json").read_text(encoding="utf-8"))
    assert manifest["changes"]["grown"] == [a_id] and manifest["previous_run"] == again.run_id


def test_every_reason_exists_in_both_languages_with_the_same_numbers():
    cjk = re.compile(r"[\u4e00-\u9fff]")
    params = {"n": 8, "facility": "F1", "days": 14, "window": 5, "share": "80%", "terminal": "T1", "observed": "120",
              "expected": "0.4", "age": 60, "km": "35", "regions": 4, "same": 3, "phone": 3, "dx": "J44.9",
              "rounds": 5, "los": "7", "iqr": "1", "doctor": "D1", "claims": 12, "amount": "12,345.60",
              "fund": "8,000.00", "threshold": "6,000.00", "codes": 9, "dispensed": 31, "cards": 11, "uses": 5,
              "pharmacy": "P1", "n_d": 40, "peer": "9%", "people": 12, "buys": 30, "minimum": 100,
              "refunds": 4, "hub": "ph_0123abcd", "drug": "甘精胰岛素（XA10AE）", "drug_en": "XA10AE", "excess": "1,200",
              "per": "400", "ratio": "3.5", "k": 2, "doctors": "D1、D2", "doctors_en": "D1, D2",
              "pharmacies": "P1", "pharmacies_en": "P1", "visits": 2, "focus": "1.2", "used": "3 家药店",
              "used_en": "3 pharmacies", "n_ph": 3, "back": 4, "got": 5}
    for code in REASON_TEXTS:
        r = reason(code, 1, **params)
        assert cjk.search(r.text_zh), code
        assert not cjk.search(r.text_en), code
        numbers = lambda s: sorted(x.rstrip(",.") for x in re.findall(r"\d[\d,.%]*", s))
        assert numbers(r.text_zh) == numbers(r.text_en), code


def test_poisson_bound_never_overstates_the_evidence():
    for k in (1, 2, 3, 5, 10, 40):
        for lam in (0.001, 0.05, 0.5, 2.0, 8.0):
            exact = 1 - sum(math.exp(-lam) * lam ** i / math.factorial(i) for i in range(k))
            bound = poisson_nlp(k, lam)
            if exact > 1e-15:
                assert bound <= -math.log10(exact) + 1e-9
                assert bound >= -math.log10(exact) - 0.35  # and is close
    assert poisson_nlp(3, 5.0) == 0.0
    assert p_within(600, 3600) == pytest.approx(1 - (5 / 6) ** 2)
    assert p_within(1, 30, discrete=True) == pytest.approx((30 + 2 * 29) / 900)


def test_settings_file_is_typed_and_errors_name_the_key(tmp_path):
    good = tmp_path / "s.toml"
    good.write_text('transfer_threshold = "8000.50"\n[card_collection]\nwindow_minutes = 5\n'
                    'facility_types = ["pharmacy", "clinic"]\n', encoding="utf-8")
    s = Settings.load(good)
    assert s.transfer_threshold == Decimal("8000.50") and s.card_collection.window_minutes == 5
    assert s.card_collection.facility_types == ("pharmacy", "clinic") and s.cohort_admission.window_days == 2
    assert Settings.from_dict(s.to_dict()) == s
    for text, key in (("[card_collection]\nwindow_minute = 5\n", "card_collection.window_minute"),
                      ('transfer_threshold = 6000.5\n', "transfer_threshold"),
                      ('[engine]\nleiden_resolution = "high"\n', "engine.leiden_resolution"),
                      ("[nonsense]\nx = 1\n", "nonsense")):
        bad = tmp_path / "bad.toml"
        bad.write_text(text, encoding="utf-8")
        with pytest.raises(GraphfraudError) as exc:
            Settings.load(bad)
        assert key in str(exc.value) and str(bad) in str(exc.value)


def test_detect_cli_in_both_languages(tmp_path):
    region = Region(seed=23)
    fid = region.facility("F1")
    busy_background(region, fid, shoppers=150, days=40, visits=4)
    collection_ring(region, fid, 5, days=[1, 5, 9, 14, 20, 27])
    ws = region.save(tmp_path / "ws")
    runner = CliRunner()
    r = runner.invoke(main, ["detect", "--workspace", str(ws.path), "--out", str(tmp_path / "zh")])
    assert r.exit_code == 0, r.output
    assert "聚敛盗刷" in r.output and "可疑度最高" in r.output and "检测完成" in r.output
    r = runner.invoke(main, ["--lang", "en", "detect", "--workspace", str(ws.path), "--out", str(tmp_path / "en"),
                             "--top", "1"])
    assert r.exit_code == 0, r.output
    assert "card collection" in r.output and "5 cards settled within 10 minutes" in r.output
    assert "1 same" in r.output
    r = runner.invoke(main, ["status", "--workspace", str(ws.path)])
    assert r.exit_code == 0 and "检测运行：2 次" in r.output and str(tmp_path / "en") in r.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[card_collection]\nmin_days = 'x'\n", encoding="utf-8")
    r = runner.invoke(main, ["--lang", "en", "detect", "--workspace", str(ws.path), "--out", str(tmp_path / "x"),
                             "--config", str(bad)])
    assert r.exit_code == 2 and "card_collection.min_days" in r.output


def test_family_rule_explains_small_households_not_recruiters():
    from graphfraud.detect.model import looks_like_family

    assert looks_like_family(3, same_address=3, same_phone=1)
    assert looks_like_family(3, same_address=2, same_phone=2)  # one relative registered elsewhere
    assert looks_like_family(5, same_address=4, same_phone=1)
    assert not looks_like_family(3, same_address=1, same_phone=3)  # a shared phone alone: a recruiter's
    assert not looks_like_family(8, same_address=8, same_phone=8)  # too many for one household
    assert not looks_like_family(6, same_address=3, same_phone=1)  # half unexplained


def test_three_cards_of_two_people_are_not_a_ring(tmp_path):
    region = Region(seed=29)
    fid = region.facility("F1")
    busy_background(region, fid, shoppers=150, days=60, visits=4)
    a, b = region.person("PA", age=36), region.person("PB", age=35)
    region.cards.append({"card_id": "EV-PA", "patient_id": "PA", "card_type": "evoucher"})
    for day in (2, 9, 16, 23, 30, 37, 44):
        t = region.random_time(day)
        for card in (a, "EV-PA", b):
            t += dt.timedelta(seconds=50)
            region.settle(card, fid, t, "60.00")
            region.claims[-1]["patient_id"] = "PA" if card == "EV-PA" else card[1:]
    ws = region.save(tmp_path / "ws")
    result = detect(ws.path, tmp_path / "out", settings=Settings.from_dict({"min_score": 0}))
    assert rings_of(result, "card_collection") == []
    assert result.stats["card_collection"]["too_few_people"] == 1


def test_trace_codes_dispensed_again_make_a_ring_but_a_refund_or_a_double_scan_does_not(tmp_path):
    region = Region(seed=31)
    fid = region.facility("F-RECYCLE")
    region.facility("F-OTHER")

    def sell(card, pharmacy, day, code, amount="88.00", **extra):
        claim = region.settle(card, pharmacy, region.random_time(day), amount, **extra)
        region.items.append({"claim_id": claim, "item_no": 1, "item_code": "XC01AA", "item_name": "nm",
                             "category": "drug", "quantity": Decimal("1"), "unit_price": Decimal(amount),
                             "amount": Decimal(amount), "trace_code": code})
        return claim

    cards = [region.person(f"T{i}") for i in range(5)]
    # three boxes, each sold again and again to different cards
    for j, code in enumerate(("8600001", "8600002", "8600003")):
        for k in range(3):
            sell(cards[(j + k) % 5], fid, 5 + 10 * j + k, code)
    # a refund, then the same box sold to someone else: legitimate
    refunded = sell(region.person("U1"), "F-OTHER", 3, "8600009")
    region.settle("CU1", "F-OTHER", region.random_time(4), "-88.00", reverses_claim_id=refunded)
    sell(region.person("U2"), "F-OTHER", 6, "8600009")
    # one double scan at the till: one code on two sales
    sell(region.person("V1"), "F-OTHER", 8, "8600010")
    sell(region.person("V2"), "F-OTHER", 8, "8600010")
    ws = region.save(tmp_path / "ws")
    result = detect(ws.path, tmp_path / "out")
    [ring] = rings_of(result, "trace_code_reuse")
    assert ring.key == frozenset(cards)
    assert {m.entity_id for m in ring.members if m.entity_type == "facility"} == {"F-RECYCLE"}
    assert ring.n_claims == 9 and ring.total_amount == Decimal("792.00")
    assert ring.reasons[0].text_zh == "药店 F-RECYCLE 有 3 个药品追溯码被重复结算（共 9 次），涉及 5 张卡"
    assert ring.reasons[0].text_en.startswith("pharmacy F-RECYCLE dispensed 3 drug traceability codes more than once")
    manifest = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert manifest["detectors"]["trace_code_reuse"]["below_min_score"] == {"family": 0, "weak": 1}


def test_a_steering_doctor_is_found_and_a_busy_doctor_is_not(tmp_path):
    region = Region(seed=37)
    region.facility("H1", "hospital")
    pharmacies = [region.facility(f"P{i}") for i in range(5)]
    patients = [region.person(f"Q{i:04d}") for i in range(400)]
    # each patient has a pharmacy they usually use; most doctors' patients fill there
    usual = {card: region.rng.choice(pharmacies) for card in patients}
    doctors = {"D-BUSY": 600, "D-STEER": 150, **{f"D{i}": 120 for i in range(5)}}
    for doctor, n in doctors.items():
        for _ in range(n):
            card = region.rng.choice(patients)
            day = region.rng.randrange(180)
            region.settle(card, "H1", region.random_time(day), "20.00", claim_type="outpatient", doctor_id=doctor)
            where = "P3" if doctor == "D-STEER" and region.rng.random() < 0.95 else usual[card]
            region.settle(card, where, region.random_time(day), "150.00", doctor_id=doctor)
    ws = region.save(tmp_path / "ws")
    result = detect(ws.path, tmp_path / "out")
    [ring] = rings_of(result, "doctor_pharmacy")
    assert {(m.entity_type, m.entity_id) for m in ring.members if m.entity_type != "card"} == {
        ("doctor", "D-STEER"), ("facility", "P3")}
    assert ring.reasons[0].code == "dp_share" and "D-STEER" in ring.reasons[0].text_zh
    assert ring.n_claims == ring.facts["fills"] and ring.score > 60


def test_a_phone_hub_cashing_out_is_a_ring_but_a_family_or_a_quiet_care_home_is_not(tmp_path):
    region = Region(seed=41)
    fid = region.facility("F1")
    busy_background(region, fid, shoppers=100, days=60, visits=3)
    hub = [region.person(f"H{i}", phone="ph_broker", address=f"ad_h{i}") for i in range(8)]
    for i, card in enumerate(hub):
        for day in range(2, 60, 9):
            claim = region.settle(card, fid, region.random_time(day), "500.00")
            if (day + i) % 4 == 0:
                region.settle(card, fid, region.random_time(day + 2), "-500.00", reverses_claim_id=claim)
    family = [region.person(f"FA{i}", phone="ph_family", address="ad_family") for i in range(3)]
    home = [region.person(f"CH{i:02d}", age=85, phone=f"ph_ch{i}", address="ad_carehome") for i in range(10)]
    for card in family + home:
        for day in (5, 20, 40):
            region.settle(card, fid, region.random_time(day), "36.80")
    ws = region.save(tmp_path / "ws")
    result = detect(ws.path, tmp_path / "out")
    [ring] = rings_of(result, "shared_identity")
    assert ring.key == frozenset(hub)
    assert ("phone", "ph_broker") in {(m.entity_type, m.entity_id) for m in ring.members}
    codes = [x.code for x in ring.reasons]
    assert codes[:3] == ["si_hub_phone", "si_round", "si_refunds"]
    assert ring.reasons[0].text_zh == "8 名参保人登记了同一个电话号码，远超一户人家"


def test_a_hub_tie_raises_another_ring_and_is_named_in_its_reasons():
    from graphfraud.detect.model import Member, Ring
    from graphfraud.detect.run import link_shared_identity

    def ring(kind, cards, extra=()):
        return Ring(kind=kind, key=frozenset(cards), score=50.0,
                    members=[Member("card", c, "card") for c in cards] + list(extra),
                    reasons=[reason("amount", "1.00", claims=1, amount="1.00", fund="0.00")], claim_ids=[],
                    total_amount=Decimal("1.00"), fund_amount=Decimal("0.00"), first_date=None, last_date=None,
                    over_transfer_threshold=False)

    hub = ring("shared_identity", ["C1", "C2", "C3"], [Member("phone", "ph_hub", "shared phone")])
    cohort = ring("cohort_admission", ["C2", "C3", "C9"])
    other = ring("card_collection", ["C7", "C8", "C9"])
    link_shared_identity([hub, cohort, other])
    assert cohort.score == 55.0 and other.score == 50.0 and hub.score == 50.0
    assert cohort.reasons[1].code == "si_tie_phone" and "ph_hub" in cohort.reasons[1].text_zh
    assert ("phone", "ph_hub") in {(m.entity_type, m.entity_id) for m in cohort.members}


def test_steering_behind_a_resale_ring_is_one_ring_with_both_reasons():
    from graphfraud.detect.model import Member, Ring
    from graphfraud.detect.run import link_steering

    def ring(kind, cards, extra, code):
        return Ring(kind=kind, key=frozenset(cards), score=80.0,
                    members=[Member("card", c, "card") for c in cards] + list(extra),
                    reasons=[reason(code, 1, doctor="D1", share="90%", n=9, n_d=10, pharmacy="P1", expected="5%",
                                   same=3)],
                    claim_ids=[], total_amount=Decimal("1.00"), fund_amount=Decimal("0.00"), first_date=None,
                    last_date=None, over_transfer_threshold=False)

    resale = ring("drug_resale", ["C1", "C2", "C3", "C4"],
                  [Member("doctor", "D1", "prescribing doctor"), Member("facility", "P1", "dispensing pharmacy")],
                  "dr_shared_address")
    steering = ring("doctor_pharmacy", ["C1", "C2", "C3"],
                    [Member("doctor", "D1", "prescribing doctor"), Member("facility", "P1", "partner pharmacy")],
                    "dp_share")
    elsewhere = ring("doctor_pharmacy", ["C1", "C2", "C3"],
                     [Member("doctor", "D2", "prescribing doctor"), Member("facility", "P1", "partner pharmacy")],
                     "dp_share")
    rings = [resale, steering, elsewhere]
    assert link_steering(rings) == 1
    assert rings == [resale, elsewhere]
    assert [r.code for r in resale.reasons] == ["dr_shared_address", "dp_share"]

def test_a_ring_without_cards_keeps_its_id_and_status(tmp_path):
    from graphfraud.detect.model import Member, Ring
    from graphfraud.detect.run import assign_ids

    def doctor_ring():
        return Ring(kind="doctor_pharmacy", key=frozenset({"doctor:D9"}), score=70.0,
                    members=[Member("doctor", "D9", "prescribing doctor")], reasons=[], claim_ids=[],
                    total_amount=Decimal("0.00"), fund_amount=Decimal("0.00"), first_date=None, last_date=None,
                    over_transfer_threshold=False)

    first = doctor_ring()
    assign_ids([first], {}, 0.5)
    again = doctor_ring()
    changes = assign_ids([again], {first.ring_id: ("doctor_pharmacy", first.key)}, 0.5)
    assert again.ring_id == first.ring_id and again.status == "same" and changes["same"] == [first.ring_id]


def test_claims_alone_are_enough(tmp_path):
    """Only the claims table is required by the contract: no patients, cards or facilities."""
    region = Region(seed=43)
    busy_background(region, "F1", shoppers=100, days=30, visits=3)
    ring = collection_ring(region, "F1", 5, days=[1, 4, 8, 12, 20, 26])
    region.patients, region.cards, region.facilities = [], [], []
    for claim in region.claims:
        claim.pop("patient_id", None)
    ws = region.save(tmp_path / "ws")
    result = detect(ws.path, tmp_path / "out")
    [found] = rings_of(result, "card_collection")
    assert found.key == frozenset(ring) and found.reasons[0].code == "cc_repeat"


def test_drug_resale_finds_the_stockpiling_group_not_regulars_or_lone_stockpilers(tmp_path):
    region = Region(seed=41)
    region.facility("H1", "hospital")
    busy, quiet = region.facility("P-BUSY"), region.facility("P-RING")

    def buy(card, pharmacy, day, doctor, days_supply=30, code="XA10AEA001", amount="178.00"):
        claim = region.settle(card, pharmacy, region.random_time(day), amount, doctor_id=doctor)
        region.items.append({"claim_id": claim, "item_no": 1, "item_code": code, "item_name": "甘精胰岛素注射液",
                             "category": "drug", "quantity": Decimal("1"), "unit_price": Decimal(amount),
                             "amount": Decimal(amount), "days_supply": days_supply})
        return claim

    # regulars: a month of supply every month from one busy doctor
    for i in range(60):
        card = region.person(f"G{i:03d}")
        start = region.rng.randrange(10)
        for day in range(start, 150, 30):
            buy(card, busy, day, "D-BUSY")
    # the ring: five recruited cards, a month of supply every week, two doctors, one pharmacy,
    # a recruiter's phone on three of them
    ring = [region.person(f"R{i}", phone="ph_recruiter" if i < 3 else None) for i in range(5)]
    ring_claims = []
    for card in ring:
        for day in range(region.rng.randrange(5), 150, 7):
            ring_claims.append(buy(card, quiet, day, region.rng.choice(["D-R1", "D-R2"])))
    # three lone stockpilers who share nothing but the busy pharmacy
    for i in range(3):
        card = region.person(f"L{i}")
        for day in range(0, 150, 7):
            buy(card, busy, day, f"D-L{i}")
    ws = region.save(tmp_path / "ws")
    result = detect(ws.path, tmp_path / "out")
    [found] = rings_of(result, "drug_resale")
    assert found.key == frozenset(ring)
    others = {(m.entity_type, m.entity_id) for m in found.members if m.entity_type != "card"}
    assert {("doctor", "D-R1"), ("doctor", "D-R2"), ("facility", "P-RING"), ("drug", "XA10AEA001"),
            ("phone", "ph_recruiter")} == others
    assert sorted(found.claim_ids) == sorted(ring_claims)
    assert found.total_amount == Decimal("178.00") * len(ring_claims)
    assert found.reasons[0].code == "dr_excess" and "甘精胰岛素注射液" in found.reasons[0].text_zh
    assert found.reasons[1].code == "dr_doctors" and "D-R1" in found.reasons[1].text_en
    assert any(r.code == "shared_phone" and r.value == 3 for r in found.reasons)
    # every card of the ring, and each lone stockpiler, is an overlapping-supply lead of its own
    stockpilers = {lead.entity_id for lead in result.leads if lead.kind == "overlapping_supply"}
    assert stockpilers == set(ring) | {f"CL{i}" for i in range(3)}
    # watching other key drugs only (anticoagulants), the insulin stockpiling is not a ring
    other = Settings.from_dict({"drug_resale": {"key_drugs": ["XB01"]}})
    assert not rings_of(detect(ws.path, tmp_path / "out-b01", settings=other), "drug_resale")


def test_densest_block_peels_to_the_dense_core():
    import numpy as np

    from graphfraud.detect.drug_resale import densest_block, peel_blocks

    # a 4-clique (0-3) with a pendant path 3-4-5, and a separate triangle (6-8) of lighter edges
    edges = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3), (3, 4), (4, 5), (6, 7), (7, 8), (6, 8)]
    u = np.array([a for a, _ in edges])
    v = np.array([b for _, b in edges])
    w = np.array([1.0] * 8 + [0.5] * 3)
    mask, rho = densest_block(9, u, v, w, np.ones(9, dtype=bool), epsilon=0.0)
    assert np.flatnonzero(mask).tolist() == [0, 1, 2, 3] and rho == 1.5
    blocks = peel_blocks(9, u, v, w, is_row=np.ones(9, dtype=bool), min_rows=3, min_density=0.4, epsilon=0.0)
    assert [b for b, _ in blocks] == [[0, 1, 2, 3], [6, 7, 8]]
