"""Single-entity leads on small hand-built workspaces whose answer is known, edge cases included."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pyarrow as pa
import pytest
from click.testing import CliRunner

from graphfraud.cli import main
from graphfraud.core.errors import GraphfraudError
from graphfraud.detect.leads import LEAD_TEXTS, detect_leads, lead_id
from graphfraud.detect.run import detect
from graphfraud.detect.settings import Settings
from graphfraud.store.results import LEAD_KINDS as KINDS
from graphfraud.store.results import LEAD_PREFIX
from tests.test_detect import Region

D = dt.date(2025, 3, 1)


def at(day: int, hour: int = 10, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime.combine(D + dt.timedelta(days=day), dt.time(hour, minute, second))


def person(region: Region, pid: str, *, sex: str = "F", age: int = 40, death: dt.date | None = None,
           phone: str | None = None, address: str | None = None) -> str:
    card = region.person(pid, age=age, phone=phone, address=address)
    region.patients[-1].update({"sex": sex, "death_date": death})
    return card


def save(region: Region, path, items: list[dict] = (), doctors: list[dict] = ()):
    ws = region.save(path)
    con = ws.connect()
    try:
        for table, rows in (("items", items), ("doctors", doctors)):
            if rows:
                columns = sorted({k for row in rows for k in row})
                con.register("_rows", pa.Table.from_pylist([{c: row.get(c) for c in columns} for row in rows]))
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _rows")
                con.unregister("_rows")
    finally:
        con.close()
    return ws


def item(claim_id: str, code: str, name: str, amount: str = "30.00", *, no: int = 1, qty: str = "1",
         days: int | None = None) -> dict:
    return {"claim_id": claim_id, "item_no": no, "item_code": code, "item_name": name, "category": "drug",
            "quantity": Decimal(qty), "amount": Decimal(amount), "days_supply": days}


def leads_of(ws, settings: Settings | None = None, kind: str | None = None):
    con = ws.connect()
    try:
        leads = detect_leads(con, settings or Settings())
    finally:
        con.close()
    return [x for x in leads if kind is None or x.kind == kind]


def test_after_death_counts_the_day_after_not_the_day_of_death(tmp_path):
    region = Region()
    region.facility("P1")
    region.facility("H1", "hospital")
    death = D + dt.timedelta(days=9)
    on_day = person(region, "A", age=80, death=death)
    region.settle(on_day, "P1", at(9, 8))  # a last pharmacy visit on the morning of the day of death
    region.admit(on_day, "H1", D + dt.timedelta(days=3), 6, "I63.9")  # died in hospital: discharged that day
    after = person(region, "B", age=80, death=death)
    region.settle(after, "P1", at(8))  # before: fine
    late1 = region.settle(after, "P1", at(10), "12.50")  # the day after
    late2 = region.settle(after, "P1", at(14), "7.25")
    gone = region.settle(after, "P1", at(12), "99.00")  # reversed: cancelled, not counted
    region.settle(after, "P1", at(12, 11), "-99.00", reverses_claim_id=gone)
    ws = save(region, tmp_path / "ws")
    leads = leads_of(ws)
    assert [(x.kind, x.entity_id, x.claim_ids) for x in leads] == [("after_death", after, sorted([late1, late2]))]
    lead = leads[0]
    assert lead.entity_type == "card" and lead.amount == Decimal("19.75")
    assert "2025-03-10" in lead.text_zh and "5 天" in lead.text_zh and "19.75" in lead.text_zh
    assert "up to 5 day(s) after the holder's death on 2025-03-10" in lead.text_en
    assert lead.lead_id == lead_id("after_death", after, [late2, late1]) and lead.lead_id.startswith("L-AD-")


def test_impossible_travel_needs_distance_and_speed_and_uses_region_centroids(tmp_path):
    region = Region()
    region.facility("F-HOME", lat=39.90, lon=116.40)
    region.facility("F-NEAR", lat=39.95, lon=116.45)  # 7 km away
    region.facility("F-FAR", region="310101", lat=31.23, lon=121.47)  # about 1,070 km away
    region.facility("F-FAR2", region="310101", lat=31.25, lon=121.49)
    region.facility("F-NOCOORD", region="310101", lat=None, lon=None)  # placed at its region's centroid
    fast = person(region, "A")
    a1 = region.settle(fast, "F-HOME", at(1, 10))
    a2 = region.settle(fast, "F-FAR", at(1, 11, 30))
    slow = person(region, "B")  # the same trip by train, next day: fine
    region.settle(slow, "F-HOME", at(1, 10))
    region.settle(slow, "F-FAR", at(2, 9))
    near = person(region, "C")  # two nearby facilities two minutes apart: clocks differ, not a lead
    region.settle(near, "F-HOME", at(1, 10))
    region.settle(near, "F-NEAR", at(1, 10, 2))
    centroid = person(region, "E")
    c1 = region.settle(centroid, "F-NOCOORD", at(3, 9))
    c2 = region.settle(centroid, "F-HOME", at(3, 10))
    ws = save(region, tmp_path / "ws")
    leads = leads_of(ws, kind="impossible_travel")
    assert {x.entity_id: x.claim_ids for x in leads} == {fast: sorted([a1, a2]), centroid: sorted([c1, c2])}
    lead = next(x for x in leads if x.entity_id == fast)
    assert "F-HOME" in lead.text_en and "F-FAR" in lead.text_en and "90 minute(s)" in lead.text_en
    assert "km/h" in lead.text_en and "公里" in lead.text_zh
    # a threshold in settings: at 1,000 km/h the 90-minute trip (about 715 km/h) is possible
    strict = Settings.from_dict({"leads": {"max_speed_kmh": 1000.0}})
    assert {x.entity_id for x in leads_of(ws, strict, "impossible_travel")} == {centroid}


def test_used_while_inpatient_is_strictly_between_admission_and_discharge(tmp_path):
    region = Region()
    region.facility("H1", "hospital")
    region.facility("P1")
    region.facility("P2")
    patient = person(region, "A")
    stay = region.admit(patient, "H1", D, 9, "J18.9")  # 2025-03-01 .. 2025-03-10
    inside = region.settle(patient, "P1", at(4), "45.00")
    region.settle(patient, "P1", at(0, 18))  # admission day: came in from the pharmacy
    region.settle(patient, "P1", at(9, 15))  # discharge day: the discharge prescription filled
    region.settle(patient, "H1", at(5), claim_type="outpatient")  # the hospital itself
    region.settle(patient, "P2", at(6), doctor_id="D-H1")  # the hospital's prescription filled outside
    clean = person(region, "B")
    region.admit(clean, "H1", D, 5, "J18.9")
    region.settle(clean, "P1", at(5, 16))  # discharge day
    region.settle(clean, "P1", at(0, 9))  # admission day
    ws = save(region, tmp_path / "ws", doctors=[{"doctor_id": "D-H1", "facility_id": "H1"}])
    leads = leads_of(ws)
    assert [(x.kind, x.entity_id, x.claim_ids) for x in leads] == [
        ("used_while_inpatient", patient, sorted([stay, inside]))]
    assert leads[0].amount == Decimal("5045.00")
    assert "2025-03-01" in leads[0].text_en and "2025-03-10" in leads[0].text_en and "45.00" in leads[0].text_en


def test_overlapping_supply_flags_stockpiling_not_early_refills(tmp_path):
    region = Region()
    region.facility("P1")
    hoard = person(region, "A", age=70)
    ontime = person(region, "B", age=70)
    early = person(region, "C", age=70)
    items, hoarded = [], []
    for k in range(8):  # a 30-day box every 7 days
        c = region.settle(hoard, "P1", at(7 * k), "40.00")
        hoarded.append(c)
        items.append(item(c, "XA10BBA008", "格列美脲片", "40.00", days=30))
    region.settle(hoard, "P1", at(200), "40.00")  # much later: a new, normal purchase
    items.append(item(region.claims[-1]["claim_id"], "XA10BBA008", "格列美脲片", "40.00", days=30))
    for k in range(8):  # every 30 days: no overlap
        c = region.settle(ontime, "P1", at(30 * k))
        items.append(item(c, "XC08CA001", "苯磺酸氨氯地平片", days=30))
    for k in range(8):  # a few days early each time: small overlaps that do not add up to a month
        c = region.settle(early, "P1", at(27 * k))
        items.append(item(c, "XC08CA001", "苯磺酸氨氯地平片", days=30))
    ws = save(region, tmp_path / "ws", items)
    leads = leads_of(ws)
    assert [(x.kind, x.entity_id, x.claim_ids) for x in leads] == [("overlapping_supply", hoard, sorted(hoarded))]
    lead = leads[0]
    assert lead.amount == Decimal("320.00")
    # 7 boxes of 30 days before the last purchase, 49 days apart: 161 days more than elapsed
    assert "210" in lead.text_en and "161" in lead.text_en and "格列美脲片" in lead.text_zh


def test_split_admission_within_a_few_days_at_the_same_facility(tmp_path):
    region = Region()
    region.facility("H1", "hospital")
    region.facility("H2", "hospital")
    split = person(region, "A")
    s1 = region.admit(split, "H1", D, 9, "I63.9", "3000.00")  # discharged 03-10
    s2 = region.admit(split, "H1", D + dt.timedelta(days=11), 5, "I63.9", "2000.00")  # back on 03-12
    later = person(region, "B")
    region.admit(later, "H1", D, 9, "I63.9")
    region.admit(later, "H1", D + dt.timedelta(days=19), 5, "I63.9")  # 10 days after discharge
    moved = person(region, "C")
    region.admit(moved, "H1", D, 9, "I63.9")
    region.admit(moved, "H2", D + dt.timedelta(days=10), 5, "I63.9")  # transferred to another hospital
    ws = save(region, tmp_path / "ws")
    leads = leads_of(ws)
    assert [(x.kind, x.entity_id, x.claim_ids) for x in leads] == [("split_admission", split, sorted([s1, s2]))]
    assert leads[0].amount == Decimal("5000.00")
    assert "2 day(s) later" in leads[0].text_en and "2025-03-10" in leads[0].text_zh
    wide = Settings.from_dict({"leads": {"split_max_gap_days": 10}})
    assert {x.entity_id for x in leads_of(ws, wide)} == {split, later}


def test_duplicate_claim_and_a_reversed_duplicate(tmp_path):
    region = Region()
    region.facility("P1")
    region.facility("H1", "hospital")
    dup = person(region, "A")
    d1 = region.settle(dup, "P1", at(3, 10, 0, 5), "58.40")
    d2 = region.settle(dup, "P1", at(3, 10, 0, 41), "58.40")
    undone = person(region, "B")
    region.settle(undone, "P1", at(4, 10, 0, 5), "58.40")
    u2 = region.settle(undone, "P1", at(4, 10, 0, 30), "58.40")
    region.settle(undone, "P1", at(4, 16), "-58.40", reverses_claim_id=u2)  # the duplicate reversed
    other = person(region, "C")  # same minute, same amount, different items: two purchases
    o1 = region.settle(other, "P1", at(5, 10, 0, 5), "58.40")
    o2 = region.settle(other, "P1", at(5, 10, 1, 5), "58.40")
    twice = person(region, "E")  # two consultations on one day, hours apart
    t1 = region.settle(twice, "H1", at(6, 9), "10.00", claim_type="outpatient")
    t2 = region.settle(twice, "H1", at(6, 15), "10.00", claim_type="outpatient")
    items = []
    for c in (d1, d2, *[x["claim_id"] for x in region.claims if x["card_id"] == undone and x["total_amount"] > 0]):
        items += [item(c, "XJ01CA001", "阿莫西林胶囊", "28.40"), item(c, "XM01AE001", "布洛芬缓释胶囊", "30.00", no=2)]
    items += [item(o1, "XJ01CA001", "阿莫西林胶囊", "58.40"), item(o2, "XR06AX001", "氯雷他定片", "58.40")]
    items += [item(t1, "110200001", "普通门诊诊查费", "10.00"), item(t2, "110200001", "普通门诊诊查费", "10.00")]
    ws = save(region, tmp_path / "ws", items)
    leads = leads_of(ws)
    assert [(x.kind, x.entity_id, x.claim_ids) for x in leads] == [("duplicate_claim", dup, sorted([d1, d2]))]
    assert leads[0].amount == Decimal("116.80")
    assert "58.40" in leads[0].text_en and "1 duplicate(s)" in leads[0].text_en and "重复 1 笔" in leads[0].text_zh
    whole_day = Settings.from_dict({"leads": {"duplicate_window_minutes": 0}})
    assert {x.entity_id for x in leads_of(ws, whole_day)} == {dup, twice}


def test_demographic_mismatch_by_sex_and_age(tmp_path):
    region = Region()
    region.facility("P1")
    region.facility("H1", "hospital")
    man = person(region, "A", sex="M", age=40)
    m1 = region.settle(man, "H1", at(1), "80.00", claim_type="outpatient", diagnosis_code="O26.9")
    region.settle(man, "H1", at(2), claim_type="outpatient", diagnosis_code="N40")  # fine for a man
    woman = person(region, "B", sex="F", age=50)
    w1 = region.settle(woman, "P1", at(1), "67.46")
    region.settle(woman, "H1", at(3), claim_type="outpatient", diagnosis_code="O80")  # fine for a woman
    old = person(region, "C", sex="F", age=82)
    o1 = region.settle(old, "P1", at(1), "22.80")
    child = person(region, "E", sex="M", age=5)
    k1 = region.settle(child, "P1", at(1), "22.80")
    ws = save(region, tmp_path / "ws", [item(w1, "XG04CBA002", "非那雄胺片", "67.46"),
                                        item(o1, "XN02BEA001", "小儿氨酚黄那敏颗粒", "22.80"),
                                        item(k1, "XN02BEA001", "小儿氨酚黄那敏颗粒", "22.80")])
    leads = leads_of(ws)
    assert {x.entity_id: (x.kind, x.claim_ids) for x in leads} == {
        man: ("demographic_mismatch", [m1]), woman: ("demographic_mismatch", [w1]),
        old: ("demographic_mismatch", [o1])}
    by = {x.entity_id: x for x in leads}
    assert "O26.9" in by[man].text_en and "for women only" in by[man].text_en
    assert "非那雄胺片" in by[woman].text_zh and "a woman bought" in by[woman].text_en
    assert "82" in by[old].text_zh and "paediatric" in by[old].text_en


def test_legitimate_look_alikes_make_no_lead(tmp_path):
    """A busy doctor admitting many patients, a family sharing a phone and an address who
    shop together, regulars refilling on time, reversals: nothing here is a lead."""
    region = Region(seed=7)
    region.facility("P1")
    region.facility("H1", "hospital")
    region.facility("H2", "hospital", lat=39.95, lon=116.5)
    family = [person(region, f"FAM{i}", phone="ph_family", address="ad_family", age=30 + 10 * i) for i in range(4)]
    items = []
    for day in range(0, 60, 3):
        t = at(day, 10)
        for i, card in enumerate(family):  # the whole family at the counter within a minute
            c = region.settle(card, "P1", t + dt.timedelta(seconds=15 * i), "35.00")
            items.append(item(c, f"XR05CB00{i}", "复方甘草片", "35.00", days=3))
    for i in range(30):  # one doctor admits thirty patients, some twice but weeks apart
        card = person(region, f"BUSY{i:02d}", age=60 + i % 30)
        admit = D + dt.timedelta(days=i)
        region.admit(card, "H1", admit, 5, "J18.9", doctor="D-BUSY")
        if i % 3 == 0:
            region.admit(card, "H1", admit + dt.timedelta(days=20), 4, "J18.9", doctor="D-BUSY")
        if i % 5 == 0:  # a visit to another hospital on the discharge day
            region.settle(card, "H2", at(i + 5, 15), claim_type="outpatient")
        g = region.settle(card, "P1", at(i + 30), "12.00")
        region.settle(card, "P1", at(i + 30, 12), "-12.00", reverses_claim_id=g)
        region.settle(card, "P1", at(i + 30, 12, 30), "12.00")  # bought again after the reversal
    ws = save(region, tmp_path / "ws", items)
    assert leads_of(ws) == []


def test_detect_writes_stores_and_summarises_leads(tmp_path):
    region = Region()
    region.facility("P1")
    death = D + dt.timedelta(days=9)
    card = person(region, "A", age=80, death=death)
    claim = region.settle(card, "P1", at(12), "33.00")
    ws = save(region, tmp_path / "ws")
    first = detect(ws.path, tmp_path / "out1")
    second = detect(ws.path, tmp_path / "out2")
    assert [x.lead_id for x in first.leads] == [x.lead_id for x in second.leads]
    assert [(x.kind, x.claim_ids) for x in first.leads] == [("after_death", [claim])]
    manifest = json.loads((tmp_path / "out1" / "run.json").read_text(encoding="utf-8"))
    assert manifest["results"]["leads"] == 1
    assert manifest["results"]["leads_by_kind"] == {k: int(k == "after_death") for k in KINDS}
    assert "leads" in manifest["timings_s"] and "after_death" in manifest["detectors"]["leads"]["timings_s"]
    rows = (tmp_path / "out1" / "leads.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rows[0] == ("lead_id,kind,entity_type,entity_id,claim_ids,amount,text_zh,text_en,score,rank,kind_rank,"
                       "reasons_zh,reasons_en")
    assert rows[1].startswith(f"{first.leads[0].lead_id},after_death,card,{card},{claim},33.00,")
    lead = first.leads[0]
    assert lead.rank == lead.kind_rank == 1 and lead.score == 70.0 and rows[1].endswith(",70.0,1,1,,")
    con = ws.connect()
    try:
        stored = con.execute("SELECT run_id, lead_id, amount FROM leads ORDER BY run_id").fetchall()
    finally:
        con.close()
    assert [(r[1], r[2]) for r in stored] == [(first.leads[0].lead_id, Decimal("33.00"))] * 2
    off = detect(ws.path, tmp_path / "out3", settings=Settings.from_dict({"leads": {"enabled": False}}))
    assert off.leads == []

    runner = CliRunner()
    res = runner.invoke(main, ["--lang", "en", "detect", "--workspace", str(ws.path), "--out",
                               str(tmp_path / "out4")])
    assert res.exit_code == 0, res.output
    assert "1 leads" in res.output and "settled after death" in res.output and "33.00 yuan" in res.output
    assert "1 in the work queue" in res.output and "the first 1 leads of the work queue" in res.output
    assert first.leads[0].lead_id in res.output
    res = runner.invoke(main, ["detect", "--workspace", str(ws.path), "--out", str(tmp_path / "out5")])
    assert res.exit_code == 0, res.output
    assert "线索 1 条" in res.output and "死亡后结算" in res.output


def test_lead_texts_and_settings():
    assert set(LEAD_PREFIX) == set(KINDS) and len(set(LEAD_PREFIX.values())) == len(KINDS)
    for kind in KINDS:
        assert kind in LEAD_TEXTS
    for zh, en in LEAD_TEXTS.values():
        assert zh and en and zh != en
    with pytest.raises(GraphfraudError) as err:
        Settings.from_dict({"leads": {"max_speed": 100}})
    assert "leads.max_speed" in str(err.value.params)
    s = Settings.from_dict({"leads": {"paediatric_item_names": ["小儿"], "overlap_min_excess_days": 10}})
    assert s.leads.paediatric_item_names == ("小儿",) and s.to_dict()["leads"]["overlap_min_excess_days"] == 10
