"""Detection that holds on data it was not written for, on small hand-built tables: the lead
queue ranks routine behaviour below fraud, a train trip is not a lead, a scheme is one ring
however its rounds rotate, a crowd admitted once is not a cohort, a box's loop through two
pharmacies is one ring, and a town's only doctor and pharmacy are not a steering pair."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from graphfraud.detect.run import detect
from graphfraud.detect.settings import Settings
from tests.test_detect import Region, rings_of
from tests.test_leads import D, at, item, person, save

KUNMING = (25.04, 102.71)


def _lead(result, kind: str, card: str):
    found = [x for x in result.leads if x.kind == kind and x.entity_id == card]
    assert len(found) <= 1
    return found[0] if found else None


def test_a_routine_refill_during_a_stay_scores_below_a_high_value_purchase_far_from_home(tmp_path):
    region = Region(seed=51)
    region.facility("H1", "hospital", lat=KUNMING[0], lon=KUNMING[1])
    region.facility("P-HOME", lat=KUNMING[0] + 0.01, lon=KUNMING[1])
    region.facility("P-FAR", lat=KUNMING[0] + 0.45, lon=KUNMING[1])  # 50 km north
    items = []

    def buy(card, pharmacy, when, code, name, amount, days=None):
        claim = region.settle(card, pharmacy, when, amount)
        items.append(item(claim, code, name, amount, days=days))
        return claim

    # A: a chronic patient refilling amlodipine every 28 days at the usual pharmacy; the refill
    # due during the stay is collected there (by a relative)
    routine = person(region, "A", age=72)
    for day in (0, 28, 56, 84):
        buy(routine, "P-HOME", at(day, 10), "XC08CAA001", "苯磺酸氨氯地平片", "18.50", days=28)
    region.admit(routine, "H1", D + dt.timedelta(days=80), 9, "I63.9")
    # B: the same kind of history, but during the stay the card buys insulin 50 km away, at a
    # pharmacy the holder never used
    far = person(region, "B", age=58)
    for day in (1, 29, 57):
        buy(far, "P-HOME", at(day, 11), "XC08CAA001", "苯磺酸氨氯地平片", "18.50", days=28)
    region.admit(far, "H1", D + dt.timedelta(days=80), 9, "J18.9")
    buy(far, "P-FAR", at(84, 15), "XA10AEA001A001", "甘精胰岛素注射液", "534.00", days=30)
    ws = save(region, tmp_path / "ws", items=items)
    result = detect(ws.path, tmp_path / "out")
    a, b = _lead(result, "used_while_inpatient", routine), _lead(result, "used_while_inpatient", far)
    assert a is not None and b is not None
    assert a.score < b.score
    assert a.reasons[0].code == "ui_routine" and a.reasons[0].points < 0
    assert "惯常的续药" in a.reasons[0].text_zh and "routine refill" in a.reasons[0].text_en
    codes_b = {r.code for r in b.reasons}
    assert {"ld_key_drug", "ld_far", "ld_new_place"} <= codes_b
    assert all(r.points > 0 for r in b.reasons)
    # the routine refill falls below the queue; the other is queued, ranked, with its reasons
    assert not a.queued and b.queued and b.rank == 1
    assert b.reasons_line("en").startswith("key or high-value drugs: 甘精胰岛素注射液 (+15)")


def test_without_an_items_table_the_claims_stand_for_the_refill(tmp_path):
    region = Region(seed=52)
    region.facility("H1", "hospital", lat=KUNMING[0], lon=KUNMING[1])
    region.facility("P-HOME", lat=KUNMING[0] + 0.01, lon=KUNMING[1])
    region.facility("P-OTHER", lat=KUNMING[0] + 0.05, lon=KUNMING[1])
    routine = person(region, "A", age=72)
    for day in (0, 30, 61, 90):  # the same refill, every month, at the usual pharmacy
        region.settle(routine, "P-HOME", at(day, 10), "86.00")
    region.admit(routine, "H1", D + dt.timedelta(days=86), 9, "I63.9")
    odd = person(region, "B", age=72)
    for day in (0, 30, 61):
        region.settle(odd, "P-HOME", at(day, 10), "86.00")
    region.admit(odd, "H1", D + dt.timedelta(days=86), 9, "I63.9")
    region.settle(odd, "P-OTHER", at(90, 10), "860.00")  # ten times the usual, somewhere else
    ws = save(region, tmp_path / "ws")
    result = detect(ws.path, tmp_path / "out")
    a, b = _lead(result, "used_while_inpatient", routine), _lead(result, "used_while_inpatient", odd)
    assert a.reasons[0].code == "ui_routine" and not a.queued
    assert "ui_routine" not in {r.code for r in b.reasons} and b.queued and b.score > a.score


def test_a_train_speed_trip_between_two_cities_is_not_a_lead(tmp_path):
    region = Region(seed=53)
    region.facility("F-KM", region="530102", lat=25.04, lon=102.71)  # Kunming
    region.facility("F-GY", region="520102", lat=26.57, lon=106.71)  # Guiyang, ~430 km
    region.facility("F-BJ", region="110105", lat=39.92, lon=116.44)  # Beijing, ~2,100 km
    train = person(region, "T")
    region.settle(train, "F-KM", at(3, 8))
    region.settle(train, "F-GY", at(3, 9, 40))  # 100 minutes: ~260 km/h, a high-speed train
    clone = person(region, "C")
    c1 = region.settle(clone, "F-KM", at(3, 8))
    c2 = region.settle(clone, "F-GY", at(3, 8, 20))  # 20 minutes: ~1,300 km/h
    flyer = person(region, "F")
    region.settle(flyer, "F-KM", at(5, 7))
    region.settle(flyer, "F-BJ", at(5, 12))  # 5 hours: a flight with the airports at both ends
    ws = save(region, tmp_path / "ws")
    result = detect(ws.path, tmp_path / "out")
    assert _lead(result, "impossible_travel", train) is None
    lead = _lead(result, "impossible_travel", clone)
    assert lead is not None and lead.claim_ids == sorted([c1, c2]) and lead.queued
    assert any(r.code == "it_speed" for r in lead.reasons)
    flight = _lead(result, "impossible_travel", flyer)
    assert flight is not None and flight.reasons[0].code == "it_flight" and not flight.queued
    assert flight.score < lead.score
    # a faster train in the settings makes the clone's trip explainable too (still not by 1,300 km/h)
    fast = Settings.from_dict({"leads": {"max_speed_kmh": 1500.0}})
    result = detect(ws.path, tmp_path / "out2", settings=fast)
    assert _lead(result, "impossible_travel", clone) is None


def _hospital_background(region: Region, fid: str, n: int, prefix: str) -> None:
    """People admitted at random over the year, some twice, with the usual mix of diagnoses."""
    dxs = ("J18.9", "I50.9", "K80.2", "S72.0", "N18.5", "E11.9", "C34.9", "I10")
    for i in range(n):
        card = region.person(f"{prefix}{i:04d}", age=region.rng.randrange(20, 90))
        for _ in range(region.rng.choice((1, 1, 2))):
            day = dt.date(2025, 1, 1) + dt.timedelta(days=region.rng.randrange(330))
            region.admit(card, fid, day, region.rng.randrange(3, 12), region.rng.choice(dxs),
                         doctor=f"D-{fid}-{region.rng.randrange(6)}")


def test_a_rotating_cohort_over_three_months_is_one_ring(tmp_path):
    region = Region(seed=55)
    region.facility("H2", "hospital")
    _hospital_background(region, "H2", 250, "W")
    pool = [region.person(f"K{i:02d}", age=70) for i in range(10)]
    # the recruiter's pool rotates: no round admits everyone, each member comes twice
    rounds = {3: range(0, 7), 4: range(3, 10), 5: [0, 1, 2, 6, 7, 8, 9]}
    for month, who in rounds.items():
        start = dt.date(2025, month, 6)
        for j in who:
            region.admit(pool[j], "H2", start + dt.timedelta(days=region.rng.randrange(3)),
                         6 + region.rng.choice((-2, -1, 0, 1, 2)), region.rng.choice(("M54.5", "M51.2", "M47.8")),
                         doctor="D-CO")
    ws = region.save(tmp_path / "ws")
    result = detect(ws.path, tmp_path / "out")
    cohorts = [r for r in rings_of(result, "cohort_admission") if r.key & set(pool)]
    assert len(cohorts) == 1
    ring = cohorts[0]
    assert ring.key == frozenset(pool)
    assert ("doctor", "D-CO") in {(m.entity_type, m.entity_id) for m in ring.members}
    assert ring.facts["rounds"] == 3 and ring.reasons[0].code == "ca_cohort"
    assert "M54.5" in ring.reasons[0].text_zh or "M51.2" in ring.reasons[0].text_zh


def test_a_one_off_mass_admission_is_not_a_ring_and_a_ward_of_regulars_is_scored_low(tmp_path):
    region = Region(seed=57)
    region.facility("H3", "hospital")
    _hospital_background(region, "H3", 200, "W")
    # food poisoning at a school canteen: 25 people admitted on one or two days, once
    crowd = [region.person(f"M{i:02d}", age=region.rng.randrange(8, 60)) for i in range(25)]
    for card in crowd:
        region.admit(card, "H3", dt.date(2025, 6, 3) + dt.timedelta(days=region.rng.randrange(2)),
                     region.rng.randrange(2, 6), "A05.9", doctor="D-H3-0")
    # a dialysis ward: the same 8 patients admitted every month, seen as outpatients in between
    ward = [region.person(f"R{i:02d}", age=66) for i in range(8)]
    for month in range(2, 12):
        for card in ward:
            region.admit(card, "H3", dt.date(2025, month, 10) + dt.timedelta(days=region.rng.randrange(2)), 4,
                         "Z49.1", doctor="D-WARD")
            region.settle(card, "H3", dt.datetime(2025, month, 24, 9), "300.00", claim_type="outpatient",
                          doctor_id="D-WARD", diagnosis_code="N18.5")
    ws = region.save(tmp_path / "ws")
    result = detect(ws.path, tmp_path / "out", settings=Settings.from_dict({"min_score": 0}))
    cohorts = rings_of(result, "cohort_admission")
    assert not any(r.key & set(crowd) for r in cohorts)
    [regulars] = [r for r in cohorts if r.key & set(ward)]
    assert regulars.key == frozenset(ward) and regulars.facts["regulars"]
    assert regulars.reasons[0].code == "ca_regulars" and regulars.score < Settings().min_score


def test_a_trace_code_loop_through_two_pharmacies_is_one_ring_holding_both(tmp_path):
    region = Region(seed=59)
    region.facility("PA")
    region.facility("PB")

    def sell(card, pharmacy, day, code, minute=0):
        claim = region.settle(card, pharmacy, at(day, 10, minute), "58.00")
        region.items.append({"claim_id": claim, "item_no": 1, "item_code": "XC10AAA001", "item_name": "阿托伐他汀钙片",
                             "category": "drug", "quantity": Decimal("1"), "unit_price": Decimal("58.00"),
                             "amount": Decimal("58.00"), "trace_code": code})

    first = [region.person(f"X{i}") for i in range(4)]
    second = [region.person(f"Y{i}") for i in range(5)]
    for i, card in enumerate(first):  # boxes sold at PA ...
        sell(card, "PA", 2 + i, f"8100000{i}")
    for i, card in enumerate(second[:4]):  # ... come back and are sold again at PB
        sell(card, "PB", 20 + i, f"8100000{i}")
    sell(second[4], "PA", 40, "81000000")  # and one box a third time, at PA again
    # a box scanned twice at the till of a third pharmacy is no loop
    region.facility("PC")
    till = region.person("Z")
    sell(till, "PC", 5, "89999999")
    sell(till, "PC", 5, "89999999", minute=2)
    ws = region.save(tmp_path / "ws")
    result = detect(ws.path, tmp_path / "out", settings=Settings.from_dict({"min_score": 0}))
    [ring] = rings_of(result, "trace_code_reuse")
    assert ring.key == frozenset(first + second)
    pharmacies = {m.entity_id: m.role for m in ring.members if m.entity_type == "facility"}
    assert pharmacies == {"PA": "recycling pharmacy", "PB": "recycling pharmacy"}
    roles = {m.entity_id: m.role for m in ring.members if m.entity_type == "card"}
    assert roles[first[1]] == "card with a returned box" and roles[second[1]] == "card that received a recycled box"
    assert roles[second[0]] == "card with a returned box and a recycled one"
    assert ring.reasons[0].code == "tc_loop" and "PA" in ring.reasons[0].text_en and "PB" in ring.reasons[0].text_en
    assert ring.n_claims == 9 and ring.total_amount == Decimal("522.00")


def test_a_towns_only_doctor_and_pharmacy_are_not_steering_but_a_city_doctor_is(tmp_path):
    region = Region(seed=61)
    region.facility("C-TOWN", "clinic", lat=25.60, lon=103.20)
    region.facility("P-TOWN", lat=25.601, lon=103.201)
    region.facility("H-CITY", "hospital", lat=25.04, lon=102.71)
    city = [region.facility(f"P-C{i}", lat=25.04 + 0.01 * i, lon=102.71) for i in range(5)]
    # the town: every prescription is filled at the one pharmacy (no walk-ins recorded at all)
    town = [region.person(f"T{i:03d}") for i in range(60)]
    for card in town:
        for k in range(4):
            day = region.rng.randrange(170)
            region.settle(card, "C-TOWN", at(day, 9), "15.00", claim_type="outpatient", doctor_id="D-GP")
            region.settle(card, "P-TOWN", at(day, 11), "40.00", doctor_id="D-GP")
    # the city: six doctors whose patients fill near home, and one who sends them to P-C3
    people = [region.person(f"Q{i:03d}") for i in range(200)]
    usual = {card: region.rng.choice(city) for card in people}
    for doctor in ["D-STEER", *(f"D-H{i}" for i in range(6))]:
        for _ in range(120):
            card = region.rng.choice(people)
            day = region.rng.randrange(170)
            region.settle(card, "H-CITY", at(day, 9), "20.00", claim_type="outpatient", doctor_id=doctor)
            where = "P-C3" if doctor == "D-STEER" and region.rng.random() < 0.9 else usual[card]
            region.settle(card, where, at(day, 14), "90.00", doctor_id=doctor)
    ws = region.save(tmp_path / "ws")
    result = detect(ws.path, tmp_path / "out", settings=Settings.from_dict({"min_score": 0}))
    pairs = {(m.entity_id for m in r.members if m.entity_type == "doctor").__next__(): r
             for r in rings_of(result, "doctor_pharmacy")}
    assert set(pairs) == {"D-STEER"}
    why = pairs["D-STEER"].reasons[1]
    assert why.code == "dp_vs_peers" and "other 6 doctors of the facility" in why.text_en
    assert "within 5 km of H-CITY" in why.text_en and "同机构其他 6 名医师" in why.text_zh


def test_identical_data_give_byte_identical_outputs_whatever_the_hash_seed(tmp_path):
    """Two detections of one region in processes with different string hashing (a set's
    order differs) write the same rings, members, reasons and leads, byte for byte."""
    import os
    import shutil
    import subprocess
    import sys

    from graphfraud.ingest.run import ingest
    from graphfraud.synth.generate import generate_region

    generate_region(tmp_path / "data", patients=3000, months=4, seed=21)
    ingest(tmp_path / "data", tmp_path / "ws1")
    shutil.copytree(tmp_path / "ws1", tmp_path / "ws2")
    outs = []
    for i, hash_seed in enumerate(("1", "4242")):
        out = tmp_path / f"out{i}"
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        res = subprocess.run([sys.executable, "-m", "graphfraud", "--quiet", "detect", "--workspace",
                              str(tmp_path / f"ws{i + 1}"), "--out", str(out)], env=env, capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        outs.append(out)
    for name in ("rings.csv", "ring_members.csv", "reasons.csv", "leads.csv", "lead_reasons.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


def test_a_ring_worth_more_than_a_claim_can_hold_is_summed_exactly(tmp_path):
    """A claim's amount fits DECIMAL(18,2), the sum of a ring's need not: three near-maximal
    claims make a ring of 2.7e16 yuan, written and stored exactly."""
    import pyarrow.parquet as pq

    region = Region(seed=63)
    region.facility("PX")
    big = "9000000000000000.00"
    cards = [region.person(f"G{i}") for i in range(3)]
    for i, card in enumerate(cards):
        for k, code in enumerate(("7700001", "7700002")):
            claim = region.settle(card, "PX", at(3 + 10 * k + i, 10), big)
            region.items.append({"claim_id": claim, "item_no": 1, "item_code": "XC10AAA001", "item_name": "nm",
                                 "category": "drug", "quantity": Decimal("1"), "amount": Decimal(big),
                                 "trace_code": code})
    ws = region.save(tmp_path / "ws")
    result = detect(ws.path, tmp_path / "out")
    [ring] = rings_of(result, "trace_code_reuse")
    assert ring.total_amount == Decimal(big) * 6 == Decimal("54000000000000000.00")
    assert pq.read_table(tmp_path / "out" / "rings.parquet").column("total_amount")[0].as_py() == ring.total_amount
    con = ws.connect()
    try:
        assert con.execute("SELECT total_amount FROM rings").fetchall()[0][0] == ring.total_amount
    finally:
        con.close()
    assert not list((tmp_path / "out").glob(".*.tmp"))
