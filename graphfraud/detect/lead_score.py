"""The lead work queue (疑点清单): every lead gets a 0-100 score, its reasons and a rank.

A rule such as "the card was used while the holder was in hospital" is true of thousands of
routine events in real settlement data: a relative collects the monthly refill, the family
shops at its usual pharmacy, the pharmacy next to the hospital sells the inpatient a pad,
people take the train. An investigator can read a few dozen leads a month, so what matters is
the order. Each lead starts from its kind's base score; each fact about it adds or takes
points, and each is a reason with its number, in Chinese and English:

* **lowering** — the purchase is the holder's routine (the same drug at the same pharmacy on the
  holder's own refill cycle before the stay); the pharmacy next to the hospital; a household
  member (same address or phone pseudonym, a group no bigger than a household) shopping there
  the same day or using that pharmacy; the holder's usual facility; a trip a flight explains;
  a stay closed by the death and settled afterwards; a household member taking the same drug,
  or fitting the item (a child for a child's medicine); readmission for another condition; a
  single low-value hit;
* **raising** — high value or key drugs (重点药品); many hits, over several stays or months, at
  several pharmacies or from several doctors; purchases far from home and at places neither
  the holder nor the household uses; speeds far beyond any transport; the same card in other
  leads of the run or in a ring.

Scores are clamped to 0-100. The queue keeps, by score, at most ``queue_per_kind`` leads of
each kind and ``queue_total`` in all, of at least ``queue_min_score``; the rest stay in the
workspace (unranked) and are counted in ``run.json``. Ties are broken by amount, then id, so
identical data give identical ranks.

The facts come from a few queries over the leads' holders only (their other claims, their
households' claims at the same places), so a region of 10M claims costs what its leads cost.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import pyarrow as pa

from graphfraud.core.i18n import t
from graphfraud.core.money import fmt_money
from graphfraud.detect.model import Lead, Reason, fmt_share
from graphfraud.detect.settings import LeadSettings, Settings
from graphfraud.store.results import LEAD_KINDS as KINDS

#: the score a lead of each kind starts from, before its facts
BASE = {"after_death": 70.0, "impossible_travel": 55.0, "used_while_inpatient": 45.0, "overlapping_supply": 45.0,
        "split_admission": 45.0, "duplicate_claim": 50.0, "demographic_mismatch": 50.0}

#: reason code -> (zh, en) template
REASON_TEXTS: dict[str, tuple[str, str]] = {
    # raising, any kind
    "ld_value": ("涉及金额 {amount} 元", "{amount} yuan involved"),
    "ld_key_drug": ("含重点药品或高值药品：{drugs}", "key or high-value drugs: {drugs}"),
    "ld_far": ("{share} 的结算发生在距持卡人常去地点 {km} 公里以外", "{share} of the settlements were {km} km or more "
               "from where the holder usually goes"),
    "ld_new_place": ("{share} 的结算发生在持卡人及家人从未去过的机构", "{share} of the settlements were at facilities "
                     "neither the holder nor the household ever used"),
    "ld_other_leads": ("同一持卡人还有其他线索：{kinds}", "the same holder has other leads: {kinds}"),
    "ld_ring": ("持卡人属于本次检测的团伙 {ring}", "the card belongs to ring {ring} of this run"),
    "ld_many_hits": ("在 {days} 个不同日期共 {n} 笔", "{n} settlements on {days} different days"),
    # lowering, any kind
    "ld_single_small": ("仅一笔小额结算（{amount} 元）", "a single low-value settlement ({amount} yuan)"),
    # used_while_inpatient
    "ui_routine": ("{share} 的命中是持卡人住院前惯常的续药：同一药店、同一药品、符合其购药周期（可能由家属代取）",
                   "{share} of the hits are the holder's routine refill: the same drug at the same pharmacy on the "
                   "holder's own cycle before the stay (likely collected by a relative)"),
    "ui_next_to_hospital": ("{share} 的命中发生在住院医院旁 {km} 公里内的药店", "{share} of the hits were at a pharmacy "
                            "within {km} km of the hospital"),
    "ui_household": ("{share} 的命中发生在家人（同一地址或电话）同日也去或常去的机构", "{share} of the hits were at a "
                     "place a household member (same address or phone) used the same day or uses regularly"),
    "ui_usual": ("{share} 的命中发生在持卡人平时常去的机构", "{share} of the hits were at the holder's usual facilities"),
    "ui_stays": ("在 {stays} 次住院期间都有他处结算", "used elsewhere during {stays} different stays"),
    # impossible_travel
    "it_flight": ("{share} 的行程按航班（含往返机场时间）可以解释", "{share} of the trips a flight (with the time to and "
                  "from the airports) could explain"),
    "it_speed": ("所需速度是最快交通方式的 {ratio} 倍", "the trip needs {ratio} times the fastest means of transport"),
    "it_repeated": ("{days} 个不同日期出现这样的行程", "such trips on {days} different days"),
    # after_death
    "ad_settled_late": ("{share} 的结算是死亡前已结束的住院在死亡后结账", "{share} of the settlements close a stay that "
                        "ended by the death, settled afterwards"),
    "ad_weeks": ("死亡后 {days} 天仍在使用", "still used {days} days after the death"),
    # overlapping_supply
    "os_ratio": ("取得用量是经过天数的 {ratio} 倍，多出 {excess} 天", "{ratio} times the days elapsed, {excess} days of "
                 "supply too many"),
    "os_pharmacies": ("同一药品在 {n} 家机构购买", "the drug was bought at {n} different places"),
    "os_doctors": ("由 {n} 名医师开具", "prescribed by {n} different doctors"),
    "os_drugs": ("{n} 种药品同时超量", "{n} drugs in excess at once"),
    "os_household": ("家人（同一地址或电话）也在用同一药品，可能是一卡为两人购药", "a household member (same address or "
                     "phone) takes the same drug: likely one card buying for two"),
    "os_one_purchase": ("超量主要来自一次大量购药（长处方）", "the excess comes mostly from one large purchase (a long "
                        "prescription)"),
    # split_admission
    "sa_same_dx": ("前后两次住院诊断相同（{dx}）", "the same diagnosis both times ({dx})"),
    "sa_other_condition": ("再次入院的诊断不同（{dx}），可能是另一种疾病", "readmitted with another diagnosis ({dx}): "
                           "likely another condition"),
    "sa_same_doctor": ("同一医师收治", "under the same doctor"),
    "sa_other_doctor": ("由不同医师收治", "under another doctor"),
    "sa_repeated": ("{n} 次出院后短期内再入院", "readmitted shortly after discharge {n} times"),
    # duplicate_claim
    "dc_repeated": ("{days} 个不同日期出现重复结算", "duplicates on {days} different days"),
    # demographic_mismatch
    "dm_diagnosis": ("诊断与持卡人性别不符", "a diagnosis that does not fit the holder's sex"),
    "dm_household_fits": ("同住家人中有适用者（{who}），可能是为家人购买", "someone in the household fits the item "
                          "({who}): likely bought for them"),
}

#: the household member who explains a mismatched item, per mismatch code
FITS = {"dm_item_child": ("儿童", "a child"), "dm_item_male": ("女性", "a woman"), "dm_item_female": ("男性", "a man")}


def reason(code: str, value, points: float, **params: object) -> Reason:
    zh, en = REASON_TEXTS[code]
    return Reason(code, value, zh.format(**params), en.format(**params), round(float(points), 1))


# ------------------------------------------------------------------ the facts
@dataclass
class Line:
    item_code: str
    name: str | None
    amount: Decimal
    days_supply: int | None
    category: str | None = None


@dataclass
class Hit:
    claim_id: str
    ref: str | None
    facility_id: str
    day: dt.date
    amount: Decimal
    claim_type: str | None
    doctor_id: str | None
    lines: list[Line] = field(default_factory=list)


@dataclass
class Context:
    """What is known about one lead's holder and household."""

    hits: list[Hit] = field(default_factory=list)
    #: the holder's claims outside the lead, per facility
    usual: dict[str, int] = field(default_factory=dict)
    #: the holder's earlier purchases: (facility, item) -> [(day, days_supply), ...] in day order
    history: dict[tuple[str, str], list[tuple[dt.date, int | None]]] = field(default_factory=dict)
    #: the holder's other claims at the lead's places: facility -> [(day, amount), ...] in day
    #: order (what routine means when a region has no items table)
    visits: dict[str, list[tuple[dt.date, Decimal]]] = field(default_factory=dict)
    #: household members' claims at the lead's places: facility -> days
    house_days: dict[str, list[dt.date]] = field(default_factory=dict)
    #: items household members bought on their own cards (of the lead's items): (facility, item)
    house_items: set[tuple[str, str]] = field(default_factory=set)
    #: the same, wherever they bought them
    house_drugs: set[str] = field(default_factory=set)
    #: household members: (sex, birth date)
    house_people: list[tuple[str | None, dt.date | None]] = field(default_factory=list)


def _coords(con) -> dict[str, tuple[float, float]]:
    return {f: (lat, lon) for f, lat, lon in con.execute("""
        WITH centroid AS (SELECT region_code, avg(latitude) AS lat, avg(longitude) AS lon FROM facilities
                          WHERE latitude IS NOT NULL AND longitude IS NOT NULL GROUP BY region_code)
        SELECT f.facility_id, coalesce(f.latitude, c.lat), coalesce(f.longitude, c.lon)
        FROM facilities f LEFT JOIN centroid c USING (region_code)""").fetchall() if lat is not None}


def km_between(a: tuple[float, float] | None, b: tuple[float, float] | None) -> float | None:
    if a is None or b is None:
        return None
    la1, lo1, la2, lo2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def gather(con, leads: list[Lead], household_max: int) -> tuple[list[Context], dict[str, tuple[float, float]]]:
    """The facts of every lead, from a few queries over the leads' holders (``lead_claims``
    must exist)."""
    ctx = [Context() for _ in leads]
    con.register("_ls_lead", pa.table({
        "lead_no": pa.array(range(len(leads)), pa.int32()),
        "card_id": pa.array([x.entity_id for x in leads], pa.string()),
        "patient_id": pa.array([x.patient_id for x in leads], pa.string())}))
    con.execute("CREATE OR REPLACE TEMP TABLE ls_lead AS SELECT * FROM _ls_lead")
    con.unregister("_ls_lead")
    nos = [i for i, x in enumerate(leads) for _ in x.claim_ids]
    con.register("_ls_claim", pa.table({
        "lead_no": pa.array(nos, pa.int32()),
        "claim_id": pa.array([c for x in leads for c in x.claim_ids], pa.string()),
        "hit": pa.array([c in x.hits for x in leads for c in x.claim_ids], pa.bool_()),
        "ref": pa.array([x.hits.get(c) for x in leads for c in x.claim_ids], pa.string())}))
    con.execute("CREATE OR REPLACE TEMP TABLE ls_claim AS SELECT * FROM _ls_claim")
    con.unregister("_ls_claim")
    try:
        # the hits, with their lines
        hits: dict[tuple[int, str], Hit] = {}
        for no, cid, ref, fac, day, amount, ctype, doc in con.execute("""
                SELECT h.lead_no, h.claim_id, h.ref, c.facility_id, c.day, c.total_amount, c.claim_type, c.doctor_id
                FROM ls_claim h JOIN lead_claims c USING (claim_id) WHERE h.hit
                ORDER BY h.lead_no, c.settled_at, h.claim_id""").fetchall():
            hit = Hit(cid, ref, fac, day, Decimal(amount), ctype, doc)
            hits[(no, cid)] = hit
            ctx[no].hits.append(hit)
        for no, cid, code, name, amount, days, category in con.execute("""
                SELECT h.lead_no, h.claim_id, i.item_code, i.item_name, i.amount, i.days_supply, i.category
                FROM ls_claim h JOIN items i USING (claim_id) WHERE h.hit AND i.item_code IS NOT NULL
                ORDER BY h.lead_no, h.claim_id, i.item_no""").fetchall():
            hits[(no, cid)].lines.append(Line(code, name, Decimal(amount if amount is not None else 0),
                                              None if days is None else int(days), category))
        # the holder's other claims (by person; by card when the holder is unknown)
        con.execute("""
            CREATE OR REPLACE TEMP TABLE ls_hist AS
            SELECT l.lead_no, c.claim_id, c.facility_id, c.day, c.total_amount FROM ls_lead l
            JOIN lead_claims c USING (patient_id) WHERE l.patient_id IS NOT NULL
            UNION ALL
            SELECT l.lead_no, c.claim_id, c.facility_id, c.day, c.total_amount FROM ls_lead l
            JOIN lead_claims c USING (card_id) WHERE l.patient_id IS NULL""")
        con.execute("DELETE FROM ls_hist WHERE (lead_no, claim_id) IN (SELECT (lead_no, claim_id) FROM ls_claim)")
        for no, fac, n in con.execute("SELECT lead_no, facility_id, count(*) FROM ls_hist GROUP BY ALL").fetchall():
            ctx[no].usual[fac] = int(n)
        for no, fac, day, amount in con.execute("""
                WITH places AS (SELECT DISTINCT h.lead_no, c.facility_id FROM ls_claim h JOIN lead_claims c USING (claim_id)
                                WHERE h.hit)
                SELECT s.lead_no, s.facility_id, s.day, s.total_amount FROM ls_hist s
                SEMI JOIN places p ON p.lead_no = s.lead_no AND p.facility_id = s.facility_id
                ORDER BY 1, 2, 3""").fetchall():
            ctx[no].visits.setdefault(fac, []).append((day, Decimal(amount)))
        for no, code, fac, day, days in con.execute("""
                WITH want AS (SELECT DISTINCT h.lead_no, i.item_code FROM ls_claim h JOIN items i USING (claim_id)
                              WHERE h.hit AND i.item_code IS NOT NULL)
                SELECT s.lead_no, i.item_code, s.facility_id, s.day, max(i.days_supply)
                FROM ls_hist s JOIN items i USING (claim_id) SEMI JOIN want w ON w.lead_no = s.lead_no
                     AND w.item_code = i.item_code
                GROUP BY ALL ORDER BY 1, 2, 3, 4""").fetchall():
            ctx[no].history.setdefault((fac, code), []).append((day, None if days is None else int(days)))
        # households: people sharing the holder's address or phone, in a group of household size
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE ls_house AS
            WITH addr AS (SELECT address FROM patients WHERE address IS NOT NULL GROUP BY address
                          HAVING count(*) <= {int(household_max)}),
                 ph AS (SELECT phone FROM patients WHERE phone IS NOT NULL GROUP BY phone
                        HAVING count(*) <= {int(household_max)}),
                 me AS (SELECT l.lead_no, p.patient_id, p.address, p.phone FROM ls_lead l JOIN patients p USING (patient_id))
            SELECT DISTINCT lead_no, member, sex, birth_date FROM (
                SELECT me.lead_no, o.patient_id AS member, o.sex, o.birth_date
                FROM me SEMI JOIN addr USING (address) JOIN patients o USING (address)
                WHERE o.patient_id <> me.patient_id
                UNION ALL
                SELECT me.lead_no, o.patient_id, o.sex, o.birth_date
                FROM me SEMI JOIN ph USING (phone) JOIN patients o USING (phone)
                WHERE o.patient_id <> me.patient_id)""")
        for no, _member, sex, birth in con.execute("SELECT * FROM ls_house ORDER BY 1, 2").fetchall():
            ctx[no].house_people.append((sex, birth))
        for no, fac, day in con.execute("""
                WITH places AS (SELECT DISTINCT h.lead_no, c.facility_id FROM ls_claim h JOIN lead_claims c USING (claim_id)
                                WHERE h.hit)
                SELECT m.lead_no, c.facility_id, c.day FROM ls_house m JOIN lead_claims c ON c.patient_id = m.member
                SEMI JOIN places p ON p.lead_no = m.lead_no AND p.facility_id = c.facility_id
                ORDER BY 1, 2, 3""").fetchall():
            ctx[no].house_days.setdefault(fac, []).append(day)
        for no, fac, code in con.execute("""
                WITH want AS (SELECT DISTINCT h.lead_no, i.item_code FROM ls_claim h JOIN items i USING (claim_id)
                              WHERE h.hit AND i.item_code IS NOT NULL)
                SELECT DISTINCT m.lead_no, c.facility_id, i.item_code FROM ls_house m
                JOIN lead_claims c ON c.patient_id = m.member
                JOIN items i USING (claim_id) SEMI JOIN want w ON w.lead_no = m.lead_no AND w.item_code = i.item_code
                """).fetchall():
            ctx[no].house_items.add((fac, code))
            ctx[no].house_drugs.add(code)
        coords = _coords(con)
    finally:
        for name in ("ls_lead", "ls_claim", "ls_hist", "ls_house"):
            con.execute(f"DROP TABLE IF EXISTS {name}")
    return ctx, coords


# ------------------------------------------------------------------ scoring
@dataclass
class Scorer:
    """Reasons for one lead; ``add`` keeps the ones that carry points."""

    s: LeadSettings
    coords: dict[str, tuple[float, float]]
    reasons: list[Reason] = field(default_factory=list)

    def add(self, code: str, value, points: float, **params: object) -> None:
        if points:
            self.reasons.append(reason(code, value, points, **params))

    def key_lines(self, hits: list[Hit]) -> list[Line]:
        """Drug lines of a key drug (by code) or of a high value (by amount)."""
        return [ln for h in hits for ln in h.lines if ln.category in (None, "drug") and (
                any(ln.item_code.startswith(p) for p in self.s.key_drug_prefixes)
                or ln.amount >= Decimal(str(self.s.high_value_line_yuan)))]

    def value(self, hits: list[Hit], extra_key: list[Hit] = ()) -> Decimal:
        amount = sum((h.amount for h in hits), Decimal("0.00"))
        hv = Decimal(str(self.s.high_value_yuan))
        points = 12.0 if amount >= hv else 6.0 if amount >= hv * Decimal("0.3") else 0.0
        self.add("ld_value", str(amount), points, amount=fmt_money(amount))
        key = self.key_lines([*hits, *extra_key])
        if key:
            names = list(dict.fromkeys(ln.name or ln.item_code for ln in key))
            self.add("ld_key_drug", len(key), 15.0, drugs="、".join(names[:3]))
        return amount

    def single_small(self, hits: list[Hit], amount: Decimal, points: float = -20.0) -> None:
        days = {h.day for h in hits}
        if len(days) == 1 and amount < Decimal(str(self.s.low_value_yuan)) and not self.key_lines(hits):
            self.add("ld_single_small", str(amount), points, amount=fmt_money(amount))

    def away(self, c: Context, hit: Hit) -> float | None:
        """How far the hit's facility is from the nearest place the holder goes (km); 0 where
        the household goes; None when nothing is known."""
        if hit.facility_id in c.house_days or hit.facility_id in c.usual:
            return 0.0
        here = self.coords.get(hit.facility_id)
        dists = [km_between(here, self.coords.get(f)) for f in c.usual]
        dists = [d for d in dists if d is not None]
        return min(dists) if dists else None

    def places(self, c: Context, hits: list[Hit], far_km: float = 30.0) -> None:
        """Far from home (from every place the holder goes), and places neither the holder nor
        the household used."""
        if not hits:
            return
        far = [h for h in hits if (self.away(c, h) or 0.0) >= far_km]
        if far:
            share = len(far) / len(hits)
            self.add("ld_far", round(share, 3), 12.0 * share, share=fmt_share(share), km=f"{far_km:,.0f}")
        new = [h for h in hits if not c.usual.get(h.facility_id) and not c.house_days.get(h.facility_id)]
        if new:
            share = len(new) / len(hits)
            self.add("ld_new_place", round(share, 3), 10.0 * share, share=fmt_share(share))


def _on_cycle(day: dt.date, past: list[dt.date], supply: int | None = None) -> bool:
    """``day`` is when the next of ``past`` (at least two, the 200 days before) falls due:
    0.5-1.7 times their usual gap after the last (the last one's days of supply when they fell
    on one day)."""
    past = [d for d in past if 0 < (day - d).days <= 200]
    if len(past) < 2:
        return False
    gaps = [(b - a).days for a, b in zip(past, past[1:]) if (b - a).days > 0]
    cycle = statistics.median(gaps) if gaps else (supply or 30)
    return 0.5 * cycle <= (day - past[-1]).days <= 1.7 * cycle + 3


def _routine(c: Context, hit: Hit) -> bool:
    """The hit is the holder's refill: lines making at least 60 % of its amount are drugs the
    holder bought at this facility at least twice in the 200 days before, each due on the
    holder's own cycle. Whoever collects the refill may buy something else besides. Without
    lines (a region with no items table), the claims stand for the drugs: at least two earlier
    claims at the facility within a quarter of the hit's amount, the hit due on their cycle."""
    if not hit.lines:
        low, high = hit.amount * Decimal("0.75"), hit.amount * Decimal("1.25")
        return _on_cycle(hit.day, [d for d, a in c.visits.get(hit.facility_id, []) if low <= a <= high])
    total = sum((ln.amount for ln in hit.lines), Decimal("0.00"))
    routine = Decimal("0.00")
    for ln in hit.lines:
        past = [(d, s) for d, s in c.history.get((hit.facility_id, ln.item_code), []) if d < hit.day]
        if _on_cycle(hit.day, [d for d, _s in past], past[-1][1] if past else None):
            routine += ln.amount
    return total > 0 and routine >= Decimal("0.6") * total


def _household_here(c: Context, hit: Hit) -> bool:
    """A household member was at the same place within a day, or buys the same things there."""
    days = c.house_days.get(hit.facility_id, [])
    return (any(abs((d - hit.day).days) <= 1 for d in days)
            or (bool(hit.lines) and all((hit.facility_id, ln.item_code) in c.house_items for ln in hit.lines)))


def _age(birth: dt.date | None, on: dt.date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def score_used_while_inpatient(sc: Scorer, x: Lead, c: Context, stays: dict[str, str]) -> None:
    hits = c.hits
    n = max(len(hits), 1)
    kinds = []
    for h in hits:
        hospital = stays.get(h.ref or "")
        near = km_between(sc.coords.get(h.facility_id), sc.coords.get(hospital)) if hospital else None
        if _routine(c, h):
            kinds.append("routine")
        elif near is not None and near <= sc.s.next_to_hospital_km:
            kinds.append("hospital")
        elif _household_here(c, h):
            kinds.append("household")
        elif c.usual.get(h.facility_id, 0) >= 2:
            kinds.append("usual")
        else:
            kinds.append("other")
    for k, code, points, extra in (("routine", "ui_routine", -45.0, {}),
                                   ("hospital", "ui_next_to_hospital", -30.0, {"km": f"{sc.s.next_to_hospital_km:g}"}),
                                   ("household", "ui_household", -25.0, {}), ("usual", "ui_usual", -12.0, {})):
        share = kinds.count(k) / n
        sc.add(code, round(share, 3), points * share, share=fmt_share(share), **extra)
    # what the explanations leave: the hits at the holder's usual places and elsewhere, and the
    # key drugs of any hit but a routine refill (nearness or a relative do not explain those)
    odd = [h for h, k in zip(hits, kinds) if k in ("usual", "other")]
    amount = sc.value(odd, extra_key=[h for h, k in zip(hits, kinds) if k in ("hospital", "household")])
    sc.places(c, [h for h, k in zip(hits, kinds) if k == "other"])
    days = {h.day for h in odd}
    if len(days) >= 3:
        sc.add("ld_many_hits", len(odd), 8.0, n=len(odd), days=len(days))
    n_stays = len({h.ref for h in odd})
    if n_stays >= 2:
        sc.add("ui_stays", n_stays, 15.0, stays=n_stays)
    sc.single_small(hits, sum((h.amount for h in hits), Decimal("0.00")))


def score_impossible_travel(sc: Scorer, x: Lead, c: Context) -> None:
    s = sc.s
    trips = x.facts.get("trips") or []
    flights = [t for t in trips if t["flight"]]
    if flights:
        share = len(flights) / len(trips)
        sc.add("it_flight", round(share, 3), -45.0 * share, share=fmt_share(share))
    hard = [t for t in trips if not t["flight"]]
    if hard:
        def fastest(km: float) -> float:
            if km >= s.flight_min_km:
                return max(s.max_speed_kmh, km / (km / s.flight_kmh + s.flight_overhead_minutes / 60))
            return s.max_speed_kmh
        ratio = max(t["speed"] / fastest(t["km"]) for t in hard)
        sc.add("it_speed", round(ratio, 1), 12.0 if ratio >= 3 else 6.0 if ratio >= 1.5 else 0.0, ratio=f"{ratio:.1f}")
    if not hard:
        return  # a flight explains every trip: nothing else counts
    days = {t["day"] for t in hard}
    if len(days) >= 2:
        sc.add("it_repeated", len(days), 15.0, days=len(days))
    ends = {t["from"] for t in hard} | {t["to"] for t in hard}
    hits = [h for h in c.hits if h.claim_id in ends]
    amount = sc.value(hits)
    # the far end of each trip (the end away from home): a place the holder never went?
    sc.places(c, [h for h in hits if (sc.away(c, h) or 0.0) >= s.min_travel_km])
    sc.single_small(hits, amount, -10.0)


def score_after_death(sc: Scorer, x: Lead, c: Context) -> None:
    before = set(x.facts.get("care_before_death") or [])
    hits = c.hits
    if before:
        share = sum(h.claim_id in before for h in hits) / max(len(hits), 1)
        sc.add("ad_settled_late", round(share, 3), -50.0 * share, share=fmt_share(share))
    hits = [h for h in hits if h.claim_id not in before]
    if not hits:
        return
    death = x.facts.get("death_date")
    days = max((h.day - death).days for h in hits) if isinstance(death, dt.date) else int(x.facts.get("days_after") or 0)
    if days >= 7:
        sc.add("ad_weeks", days, 10.0, days=days)
    d = {h.day for h in hits}
    if len(hits) >= 3:
        sc.add("ld_many_hits", len(hits), 8.0, n=len(hits), days=len(d))
    sc.value(hits)


def score_overlapping_supply(sc: Scorer, x: Lead, c: Context) -> None:
    eps = x.facts.get("episodes") or []
    if eps:
        top = max(eps, key=lambda e: (e["excess"], e["drug"]))
        ratio = top["supply"] / max(top["span"], 1)
        excess = sum(e["excess"] for e in eps)
        points = (10.0 if ratio >= 3 else 0.0) + (8.0 if excess >= 90 else 0.0)
        sc.add("os_ratio", round(ratio, 1), points, ratio=f"{ratio:.1f}", excess=f"{excess:,}")
        biggest = max(d for e in eps for _day, d in e["buys"])
        if biggest >= 0.6 * sum(d for e in eps for _day, d in e["buys"][:-1]) and len(eps) == 1:
            sc.add("os_one_purchase", biggest, -20.0)
        drugs = {e["drug"] for e in eps}
        if len(drugs) >= 2:
            sc.add("os_drugs", len(drugs), 8.0, n=len(drugs))
        if drugs & c.house_drugs:
            sc.add("os_household", len(drugs & c.house_drugs), -35.0)
    places = {h.facility_id for h in c.hits}
    if len(places) >= 2:
        sc.add("os_pharmacies", len(places), 10.0, n=len(places))
    doctors = {h.doctor_id for h in c.hits if h.doctor_id}
    if len(doctors) >= 2:
        sc.add("os_doctors", len(doctors), 8.0, n=len(doctors))
    sc.value(c.hits)


def score_split_admission(sc: Scorer, x: Lead, c: Context) -> None:
    splits = x.facts.get("splits") or []
    if not splits:
        return
    same = [sp for sp in splits if sp["dx"][0] and sp["dx"][1] and sp["dx"][0][:3] == sp["dx"][1][:3]]
    other = [sp for sp in splits if sp["dx"][0] and sp["dx"][1] and sp["dx"][0][:3] != sp["dx"][1][:3]]
    if same and not other:
        sc.add("sa_same_dx", same[0]["dx"][1], 12.0, dx=same[0]["dx"][1])
    elif other and not same:
        sc.add("sa_other_condition", other[0]["dx"][1], -25.0, dx=f"{other[0]['dx'][0]} → {other[0]['dx'][1]}")
    docs = [sp["doctors"] for sp in splits if sp["doctors"][0] and sp["doctors"][1]]
    if docs:
        if all(a == b for a, b in docs):
            sc.add("sa_same_doctor", 1, 5.0)
        elif all(a != b for a, b in docs):
            sc.add("sa_other_doctor", 0, -8.0)
    if len(splits) >= 2:
        sc.add("sa_repeated", len(splits), 12.0, n=len(splits))
    # (a stay costs thousands whatever it is: the amount says nothing here)


def score_duplicate_claim(sc: Scorer, x: Lead, c: Context) -> None:
    days = int(x.facts.get("days") or 1)
    if days >= 2:
        sc.add("dc_repeated", days, 15.0, days=days)
    amount = sc.value(c.hits)
    sc.single_small(c.hits, amount, -10.0)


def score_demographic_mismatch(sc: Scorer, x: Lead, c: Context) -> None:
    codes = set(x.facts.get("mismatches") or [])
    if codes & {"dm_dx_male", "dm_dx_female"}:
        sc.add("dm_diagnosis", 1, 10.0)
    items = codes - {"dm_dx_male", "dm_dx_female"}
    if items and not (codes - items):
        on = min((h.day for h in c.hits), default=dt.date.today())
        people = [(sex, _age(birth, on)) for sex, birth in c.house_people]
        fit = {"dm_item_child": lambda sex, age: age is not None and age < 16,
               "dm_item_male": lambda sex, age: sex == "F", "dm_item_female": lambda sex, age: sex == "M"}
        if all(any(fit[k](sex, age) for sex, age in people) for k in items):
            who = "、".join(FITS[k][0] for k in sorted(items)), ", ".join(FITS[k][1] for k in sorted(items))
            sc.reasons.append(Reason("dm_household_fits", len(items),
                                     REASON_TEXTS["dm_household_fits"][0].format(who=who[0]),
                                     REASON_TEXTS["dm_household_fits"][1].format(who=who[1]), -20.0))
    if len(c.hits) >= 2:
        sc.add("ld_many_hits", len(c.hits), 8.0, n=len(c.hits), days=len({h.day for h in c.hits}))
    sc.value(c.hits)


def score_leads(con, leads: list[Lead], settings: Settings, rings=()) -> None:
    """Score every lead in place: ``score`` and ``reasons`` (strongest first)."""
    if not leads:
        return
    s = settings.leads
    ctx, coords = gather(con, leads, s.household_max)
    stays = dict(con.execute("""
        SELECT claim_id, facility_id FROM lead_claims WHERE claim_type = 'inpatient'
        AND claim_id IN (SELECT unnest(?::VARCHAR[]))""", [sorted({r for x in leads for r in x.hits.values() if r})
                                                            if any(x.kind == "used_while_inpatient" for x in leads)
                                                            else []]).fetchall())
    # the card and the holder in rings; the holder's other lead kinds
    in_ring: dict[str, str] = {}
    for ring in sorted(rings, key=lambda r: (r.rank or 0, r.ring_id)):
        for m in ring.members:
            if m.entity_type in ("card", "patient"):
                in_ring.setdefault(m.entity_id, ring.ring_id)
    kinds_of: dict[str, set[str]] = defaultdict(set)
    for x in leads:
        kinds_of[x.patient_id or x.entity_id].add(x.kind)

    for x, c in zip(leads, ctx):
        sc = Scorer(s, coords)
        if x.kind == "used_while_inpatient":
            score_used_while_inpatient(sc, x, c, stays)
        elif x.kind == "impossible_travel":
            score_impossible_travel(sc, x, c)
        elif x.kind == "after_death":
            score_after_death(sc, x, c)
        elif x.kind == "overlapping_supply":
            score_overlapping_supply(sc, x, c)
        elif x.kind == "split_admission":
            score_split_admission(sc, x, c)
        elif x.kind == "duplicate_claim":
            score_duplicate_claim(sc, x, c)
        elif x.kind == "demographic_mismatch":
            score_demographic_mismatch(sc, x, c)
        others = sorted(kinds_of[x.patient_id or x.entity_id] - {x.kind})
        if others:
            sc.reasons.append(Reason("ld_other_leads", len(others), REASON_TEXTS["ld_other_leads"][0].format(
                kinds="、".join(t("lead." + k, "zh") for k in others)), REASON_TEXTS["ld_other_leads"][1].format(
                kinds=", ".join(t("lead." + k, "en") for k in others)), min(16.0, 8.0 * len(others))))
        ring = in_ring.get(x.entity_id) or (in_ring.get(x.patient_id) if x.patient_id else None)
        if ring:
            sc.add("ld_ring", ring, 12.0, ring=ring)
        total = BASE[x.kind] + sum(r.points or 0.0 for r in sc.reasons)
        x.score = round(max(0.0, min(100.0, total)), 1)
        x.reasons = sorted(sc.reasons, key=lambda r: (-abs(r.points or 0.0), r.code))


def queue(leads: list[Lead], s: LeadSettings) -> None:
    """Rank the leads into the work queue, in place, and order the list: queued leads by rank,
    then the others by kind, score and id. Ranks are by score, then amount, then id."""
    order = sorted(leads, key=lambda x: (-x.score, -x.amount, x.lead_id))
    per_kind: dict[str, int] = defaultdict(int)
    rank = 0
    for x in order:
        x.rank = x.kind_rank = None
        if x.score < s.queue_min_score or per_kind[x.kind] >= s.queue_per_kind or rank >= s.queue_total:
            continue
        per_kind[x.kind] += 1
        rank += 1
        x.rank, x.kind_rank = rank, per_kind[x.kind]

    leads.sort(key=lambda x: (x.rank is None, x.rank or 0, KINDS.index(x.kind), -x.score, x.lead_id))
