"""Leads (线索): one entity's settlements that break a rule on their own, each with the claims
behind it.

* ``after_death``: settled on a day after the holder's death date (a settlement on the day of
  death is legitimate: a last pharmacy visit, a discharge on dying in hospital).
* ``impossible_travel``: two consecutive uses of one card at facilities so far apart, so
  soon after each other, that the trip needs more than ``max_speed_kmh``. Coordinates are
  the facility's own, or the mean of the facilities of its region code when it has none.
* ``used_while_inpatient``: the holder's card used at another facility on a day strictly
  between the admission and discharge days of one of the holder's inpatient stays (not on
  the admission or discharge day; not a prescription of a doctor of the hospital itself).
* ``overlapping_supply``: refills of one drug on one card overlap so that the days of supply
  obtained far exceed the days elapsed.
* ``split_admission``: readmitted to the same facility within ``split_max_gap_days`` of a
  discharge (分解住院).
* ``duplicate_claim``: the same card, facility, day, amount and items settled twice under
  different claim ids, within ``duplicate_window_minutes`` of each other (0: anywhere in the day). A reversed claim cancels its settlement, so a reversed duplicate is
  not a lead.
* ``demographic_mismatch``: diagnoses or items that do not fit the holder's sex or age
  (pregnancy on a man, prostate drugs for a woman, paediatric forms for the elderly).

Reversal rows and the claims they reverse are left out everywhere. Every lead names a card
(``entity_type = 'card'``); its amount is the exact sum of its claims' totals; its id is
stable: the kind's prefix and a digest of the kind, the card and the sorted claim ids.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import time
from collections.abc import Callable
from decimal import Decimal

import pyarrow as pa

from graphfraud.core.money import fmt_money
from graphfraud.detect.claims import drug_buys
from graphfraud.detect.engine import engine_of, on_engine
from graphfraud.detect.lead_score import queue, score_leads
from graphfraud.detect.model import Lead
from graphfraud.detect.settings import Settings
from graphfraud.store.claims import live_claims
from graphfraud.store.results import LEAD_KINDS as KINDS
from graphfraud.store.results import LEAD_PREFIX

#: text code -> (zh, en) template
LEAD_TEXTS: dict[str, tuple[str, str]] = {
    "after_death": (
        "卡 {card} 在持卡人死亡（{death}）后 {days} 天内仍结算 {n} 笔，共 {amount} 元",
        "card {card} settled {n} time(s), {amount} yuan, up to {days} day(s) after the holder's death on {death}",
    ),
    "impossible_travel": (
        "卡 {card} 于 {at} 在 {fa} 结算后 {minutes} 分钟又在相距 {km} 公里的 {fb} 结算，需时速 {speed} 公里"
        "（共 {pairs} 次，{n} 笔，{amount} 元）",
        "card {card} settled at {fa} on {at} and {minutes} minute(s) later at {fb}, {km} km away: {speed} km/h "
        "({pairs} such trip(s), {n} claims, {amount} yuan)",
    ),
    "used_while_inpatient": (
        "持卡人于 {admit} 至 {discharge} 在 {hospital} 住院期间，卡 {card} 在其他机构结算 {n} 笔，共 {out_amount} 元"
        "（连同住院结算共 {amount} 元）",
        "card {card} settled {n} time(s), {out_amount} yuan, at other facilities while the holder was an inpatient "
        "at {hospital} from {admit} to {discharge} ({amount} yuan with the stay)",
    ),
    "overlapping_supply": (
        "卡 {card} 在 {first} 至 {last} 的 {span} 天内 {n} 次购买 {drug}，在下次购买前已取得 {supply} 天用量，"
        "超出 {excess} 天（{amount} 元）",
        "card {card} bought {drug} {n} times in the {span} day(s) from {first} to {last}, obtaining {supply} days of "
        "supply before the last purchase: {excess} days more than elapsed ({amount} yuan)",
    ),
    "split_admission": (
        "持卡人于 {discharge} 从 {facility} 出院后 {gap} 天又在同一机构入院（{admit}），疑似分解住院"
        "（{stays} 次住院，{amount} 元）",
        "the holder was discharged from {facility} on {discharge} and readmitted there {gap} day(s) later on "
        "{admit}: a possible split admission ({stays} stays, {amount} yuan)",
    ),
    "duplicate_claim": (
        "卡 {card} 于 {day} 在 {facility} 以相同金额 {each} 元和相同明细结算 {n} 笔，重复 {extra} 笔（共 {amount} 元）",
        "card {card} settled {n} times at {facility} on {day} with the same amount, {each} yuan, and the same items: "
        "{extra} duplicate(s) ({amount} yuan in all)",
    ),
    "demographic_mismatch": (
        "卡 {card}：{details}（{n} 笔，{amount} 元）",
        "card {card}: {details} ({n} claim(s), {amount} yuan)",
    ),
    # parts of a demographic_mismatch text
    "dm_dx_male": ("男性持卡人的诊断 {code} 只见于女性", "diagnosis {code} for a man is for women only"),
    "dm_dx_female": ("女性持卡人的诊断 {code} 只见于男性", "diagnosis {code} for a woman is for men only"),
    "dm_item_male": ("男性持卡人购买女性专用的 {name}", "a man bought {name}, an item for women only"),
    "dm_item_female": ("女性持卡人购买男性专用的 {name}", "a woman bought {name}, an item for men only"),
    "dm_item_child": ("{age} 岁持卡人购买儿童用药 {name}", "a holder aged {age} bought {name}, a paediatric form"),
}


def text(template: str, **params: object) -> tuple[str, str]:
    zh, en = LEAD_TEXTS[template]
    return zh.format(**params), en.format(**params)


def lead_id(kind: str, entity_id: str, claim_ids: list[str]) -> str:
    key = "\x1f".join([kind, entity_id, *sorted(claim_ids)])
    return f"L-{LEAD_PREFIX[kind]}-{hashlib.sha256(key.encode('utf-8')).hexdigest()[:10].upper()}"


def make_lead(kind: str, card: str, claims: dict[str, Decimal], code: str | None = None, *,
              hits: dict[str, str | None] | None = None, patient: str | None = None,
              facts: dict | None = None, **params: object) -> Lead:
    """A lead on ``card`` from its claims (claim id -> total amount), the claims that are the
    suspicious acts (``hits``: claim id -> the claim it is judged against; all claims when
    not given), the holder, facts for scoring and its text's parameters."""
    ids = sorted(claims)
    amount = sum(claims.values(), Decimal("0.00"))
    zh, en = text(code or kind, card=card, n=len(ids), amount=fmt_money(amount), **params)
    return Lead(lead_id(kind, card, ids), kind, "card", card, ids, amount, zh, en,
                hits=dict(hits) if hits is not None else {c: None for c in ids}, patient_id=patient,
                facts=dict(facts or {}), claim_amounts={c: claims[c] for c in ids})


# ------------------------------------------------------------------ the claims considered
def prepare(eng) -> None:
    """``lead_claims``: unreversed settlements (no reversal rows, no reversed claims) with the
    holder (the claim's patient, else the card's) and the day of settlement (``eng``: a DuckDB
    connection or an ``engine.Engine``)."""
    eng = engine_of(eng)
    live_claims(eng)
    eng.run("""
        CREATE OR REPLACE TEMP TABLE lead_claims AS
        SELECT c.claim_id, c.card_id, coalesce(c.patient_id, k.patient_id) AS patient_id, c.facility_id,
               c.doctor_id, c.claim_type, c.settled_at, c.settled_at::DATE AS day, c.admit_date, c.discharge_date,
               c.diagnosis_code, c.total_amount
        FROM live_claims c
        LEFT JOIN cards k USING (card_id)
        WHERE c.card_id IS NOT NULL AND c.settled_at IS NOT NULL""")


def _money(x) -> Decimal:
    return Decimal(x).quantize(Decimal("0.01")) if x is not None else Decimal("0.00")


def _group(rows, key=lambda r: r[0]) -> dict:
    out: dict = {}
    for r in rows:
        out.setdefault(key(r), []).append(r)
    return out


# ------------------------------------------------------------------ the kinds
def after_death(eng, settings: Settings) -> list[Lead]:
    rows = eng.rows("""
        SELECT l.card_id, l.claim_id, l.total_amount, p.death_date, date_diff('day', p.death_date, l.day),
               l.patient_id, l.claim_type, l.admit_date, l.discharge_date
        FROM lead_claims l JOIN patients p USING (patient_id)
        WHERE p.death_date IS NOT NULL AND l.day > p.death_date
        ORDER BY l.card_id, l.claim_id""")
    leads = []
    for card, rs in _group(rows).items():
        death = min(r[3] for r in rs)
        # care that ended by the death date, settled afterwards (a stay closed by the death)
        before = [r[1] for r in rs if r[6] == "inpatient" and r[8] is not None and r[8] <= death]
        leads.append(make_lead("after_death", card, {r[1]: _money(r[2]) for r in rs}, patient=rs[0][5],
                               facts={"death_date": death, "days_after": max(r[4] for r in rs),
                                      "care_before_death": before},
                               death=death.isoformat(), days=max(r[4] for r in rs)))
    return leads


def impossible_travel(eng, settings: Settings) -> list[Lead]:
    """Consecutive uses too far apart for the time between them. A trip high-speed rail could
    make (``max_speed_kmh``) is not a lead; one only a flight could make is kept, with the
    flight as a fact that lowers its score."""
    s = settings.leads
    rows = eng.rows("""
        WITH centroid AS (
            SELECT region_code, avg(latitude) AS lat, avg(longitude) AS lon FROM facilities
            WHERE latitude IS NOT NULL AND longitude IS NOT NULL AND region_code IS NOT NULL GROUP BY region_code),
        place AS (
            SELECT f.facility_id, coalesce(f.latitude, c.lat) AS lat, coalesce(f.longitude, c.lon) AS lon
            FROM facilities f LEFT JOIN centroid c USING (region_code)),
        uses AS (
            SELECT l.card_id, l.claim_id, l.facility_id, l.settled_at, l.total_amount, p.lat, p.lon, l.patient_id,
                   lag(l.claim_id) OVER w AS prev_claim, lag(l.facility_id) OVER w AS prev_facility,
                   lag(l.settled_at) OVER w AS prev_at, lag(l.total_amount) OVER w AS prev_amount,
                   lag(p.lat) OVER w AS prev_lat, lag(p.lon) OVER w AS prev_lon
            FROM lead_claims l JOIN place p USING (facility_id)
            WHERE p.lat IS NOT NULL AND p.lon IS NOT NULL
            WINDOW w AS (PARTITION BY l.card_id ORDER BY l.settled_at, l.claim_id)),
        trips AS (
            SELECT *, 2 * 6371.0 * asin(sqrt(least(1.0,
                       pow(sin(radians(lat - prev_lat) / 2), 2)
                       + cos(radians(prev_lat)) * cos(radians(lat)) * pow(sin(radians(lon - prev_lon) / 2), 2))))
                       AS km,
                   epoch(settled_at) - epoch(prev_at) AS seconds
            FROM uses WHERE prev_claim IS NOT NULL AND facility_id <> prev_facility)
        SELECT card_id, prev_claim, prev_amount, claim_id, total_amount, prev_facility, facility_id, prev_at, km,
               seconds, patient_id
        FROM trips WHERE km >= ? AND km * 3600 > ? * seconds
        ORDER BY card_id, prev_at, claim_id""", [s.min_travel_km, s.max_speed_kmh])
    leads = []
    for card, rs in _group(rows).items():
        claims: dict[str, Decimal] = {}
        hits: dict[str, str | None] = {}
        trips = []
        for r in rs:
            claims[r[1]], claims[r[3]] = _money(r[2]), _money(r[4])
            hits.setdefault(r[1], r[3])  # both ends are hits, each judged against the other
            hits[r[3]] = r[1]
            seconds = max(float(r[9]), 1.0)
            flight = r[8] >= s.flight_min_km and seconds >= 3600 * r[8] / s.flight_kmh + 60 * s.flight_overhead_minutes
            trips.append({"from": r[1], "to": r[3], "km": float(r[8]), "seconds": seconds,
                          "speed": float(r[8]) * 3600 / seconds, "flight": flight, "day": r[7].date()})
        worst = max(rs, key=lambda r: (r[8] / max(r[9], 1.0), r[1]))
        speed = worst[8] * 3600 / max(worst[9], 1.0)
        leads.append(make_lead("impossible_travel", card, claims, hits=hits, patient=rs[0][10], facts={"trips": trips},
                               at=worst[7].strftime("%Y-%m-%d %H:%M"), fa=worst[5], fb=worst[6],
                               minutes=f"{worst[9] / 60:.0f}", km=f"{worst[8]:,.0f}",
                               speed=f"{speed:,.0f}" if math.isfinite(speed) else "∞", pairs=len(rs)))
    return leads


def used_while_inpatient(eng, settings: Settings) -> list[Lead]:
    """The holder's card used elsewhere strictly inside one of the holder's stays; one lead
    per holder with every stay and every such use."""
    rows = eng.rows("""
        WITH stays AS (
            SELECT claim_id, patient_id, facility_id, admit_date, discharge_date, total_amount FROM lead_claims
            WHERE claim_type = 'inpatient' AND patient_id IS NOT NULL AND admit_date IS NOT NULL
              AND discharge_date IS NOT NULL AND discharge_date > admit_date + 1)
        SELECT s.patient_id, o.card_id, s.claim_id, s.total_amount, o.claim_id, o.total_amount, s.facility_id,
               s.admit_date, s.discharge_date
        FROM stays s JOIN lead_claims o
          ON o.patient_id = s.patient_id AND o.day > s.admit_date AND o.day < s.discharge_date
         AND o.facility_id <> s.facility_id AND o.claim_id <> s.claim_id
        LEFT JOIN doctors d ON d.doctor_id = o.doctor_id
        WHERE d.facility_id IS DISTINCT FROM s.facility_id  -- not the hospital's own prescription filled outside
        ORDER BY s.patient_id, s.admit_date, o.claim_id""")
    leads = []
    for patient, rs in _group(rows).items():
        claims: dict[str, Decimal] = {}
        out: dict[str, Decimal] = {}
        hits: dict[str, str | None] = {}
        uses: dict[str, int] = {}
        for r in rs:
            claims[r[2]] = _money(r[3])
            out[r[4]] = _money(r[5])
            hits[r[4]] = r[2]
            uses[r[1]] = uses.get(r[1], 0) + 1
        claims.update(out)
        card = max(sorted(uses), key=lambda c: uses[c])  # the card used most while the holder was away
        first = rs[0]
        params = {"hospital": first[6], "admit": first[7].isoformat(), "discharge": first[8].isoformat(),
                  "out_amount": fmt_money(sum(out.values()))}
        lead = make_lead("used_while_inpatient", card, claims, hits=hits, patient=patient,
                         facts={"stays": sorted({r[2] for r in rs})}, **params)
        # n in the text counts the settlements outside the hospital, not the stays
        lead.text_zh, lead.text_en = text("used_while_inpatient", card=card, n=len(out), amount=fmt_money(lead.amount),
                                          **params)
        leads.append(lead)
    return leads


def overlapping_supply(eng, settings: Settings) -> list[Lead]:
    s = settings.leads
    # purchases of one drug on one card per day, then only the (card, drug) pairs where some
    # purchase comes before the previous one has run out
    drug_buys(eng)
    rows = eng.rows("""
        WITH multi AS (SELECT card_id, item_code FROM drug_buys GROUP BY ALL HAVING count(*) >= 2),
        flagged AS (
            SELECT card_id, item_code FROM (
                SELECT card_id, item_code, day, lag(day) OVER w AS prev_day, lag(days) OVER w AS prev_days
                FROM drug_buys SEMI JOIN multi USING (card_id, item_code)
                WINDOW w AS (PARTITION BY card_id, item_code ORDER BY day))
            WHERE day < prev_day + prev_days::INTEGER
            GROUP BY card_id, item_code),
        lines AS (
            SELECT l.card_id, i.item_code, l.day, i.days_supply, l.claim_id, i.item_name
            FROM lead_claims l JOIN items i USING (claim_id)
            WHERE i.days_supply > 0 AND l.card_id IN (SELECT card_id FROM flagged))
        -- claim ids and names only for the (card, drug) pairs that overlap at all
        SELECT x.card_id, x.item_code, x.day, sum(x.days_supply)::BIGINT, list_sort(list(DISTINCT x.claim_id)),
               any_value(x.item_name)
        FROM lines x SEMI JOIN flagged f USING (card_id, item_code)
        GROUP BY x.card_id, x.item_code, x.day
        ORDER BY x.card_id, x.item_code, x.day""")
    if not rows:
        return []
    claim_ids = sorted({c for r in rows for c in r[4]})
    eng.put("lead_ids", pa.table({"claim_id": pa.array(claim_ids, pa.string())}))
    amounts = {c: (a, p) for c, a, p in eng.rows(
        "SELECT claim_id, total_amount, patient_id FROM lead_claims SEMI JOIN lead_ids USING (claim_id)")}
    eng.run("DROP TABLE lead_ids")
    leads = []
    for (card, code), rs in _group(rows, key=lambda r: (r[0], r[1])).items():
        for ep in _episodes([(r[2], int(r[3]), r[4]) for r in rs]):
            # the supply carries over, so a run can drag on long after the stockpiling: cut it at
            # the purchase where the supply obtained before it most exceeds the days elapsed
            best, acc, best_excess = 1, 0, None
            for j in range(1, len(ep)):
                acc += ep[j - 1][1]
                ex = acc - (ep[j][0] - ep[0][0]).days
                if best_excess is None or ex > best_excess:
                    best, best_excess = j, ex
            ep = ep[:best + 1]
            first, last = ep[0][0], ep[-1][0]
            span = (last - first).days
            supply = sum(d for _day, d, _ids in ep[:-1])
            excess = supply - span
            if excess < s.overlap_min_excess_days or supply < s.overlap_min_ratio * max(span, 1):
                continue
            claims = {c: _money(amounts.get(c, (None, None))[0]) for _day, _d, ids in ep for c in ids}
            patient = next((amounts[c][1] for c in claims if c in amounts and amounts[c][1]), None)
            episode = {"drug": code, "name": rs[0][5], "first": first, "last": last, "span": span, "supply": supply,
                       "excess": excess, "buys": [(day, d) for day, d, _ids in ep]}
            lead = make_lead("overlapping_supply", card, claims, patient=patient, facts={"episodes": [episode]},
                             drug=rs[0][5] or code, first=first.isoformat(), last=last.isoformat(), span=span,
                             supply=supply, excess=excess)
            # one card may overlap on two drugs bought in the same claims: the drug is part of the id
            lead.lead_id = lead_id("overlapping_supply", card, [code, *lead.claim_ids])
            leads.append(lead)
    return leads


def _episodes(buys: list[tuple[dt.date, int, list[str]]]) -> list[list[tuple[dt.date, int, list[str]]]]:
    """Runs of purchases (day order) each bought while the supply obtained before it lasts:
    the supply carries over (``end = max(end, day) + days``)."""
    out: list[list] = []
    cur: list = []
    end: dt.date | None = None
    for b in buys:
        day, days, _ids = b
        if end is not None and day < end:
            cur.append(b)
        else:
            if len(cur) >= 2:
                out.append(cur)
            cur = [b]
        end = max(end, day) if end is not None else day
        end = end + dt.timedelta(days=days)
    if len(cur) >= 2:
        out.append(cur)
    return out


def split_admission(eng, settings: Settings) -> list[Lead]:
    gap = settings.leads.split_max_gap_days
    rows = eng.rows("""
        WITH stays AS (
            SELECT claim_id, card_id, patient_id, facility_id, admit_date, discharge_date, total_amount,
                   diagnosis_code, doctor_id
            FROM lead_claims
            WHERE claim_type = 'inpatient' AND admit_date IS NOT NULL AND discharge_date IS NOT NULL)
        SELECT b.card_id, a.claim_id, a.total_amount, b.claim_id, b.total_amount, a.facility_id, a.discharge_date,
               b.admit_date, date_diff('day', a.discharge_date, b.admit_date), b.patient_id, a.diagnosis_code,
               b.diagnosis_code, a.doctor_id, b.doctor_id
        FROM stays a JOIN stays b
          ON coalesce(a.patient_id, 'card:' || a.card_id) = coalesce(b.patient_id, 'card:' || b.card_id)
         AND a.facility_id = b.facility_id AND a.claim_id <> b.claim_id
         AND b.admit_date >= a.discharge_date AND b.admit_date <= a.discharge_date + CAST(? AS INTEGER)
         AND (b.admit_date, b.claim_id) > (a.admit_date, a.claim_id)
        ORDER BY b.card_id, a.discharge_date, b.claim_id""", [gap])
    leads = []
    for card, rs in _group(rows).items():
        claims: dict[str, Decimal] = {}
        hits: dict[str, str | None] = {}
        for r in rs:
            claims[r[1]], claims[r[3]] = _money(r[2]), _money(r[4])
            hits[r[3]] = r[1]
        first = min(rs, key=lambda r: r[8])
        splits = [{"gap": r[8], "dx": (r[10], r[11]), "doctors": (r[12], r[13])} for r in rs]
        leads.append(make_lead("split_admission", card, claims, hits=hits, patient=rs[0][9], facts={"splits": splits},
                               facility=first[5], discharge=first[6].isoformat(), admit=first[7].isoformat(),
                               gap=first[8], stays=len(claims)))
    return leads


def duplicate_claim(eng, settings: Settings) -> list[Lead]:
    window = settings.leads.duplicate_window_minutes * 60
    rows = eng.rows("""
        WITH same_day AS (
            -- copies share card, facility, day and amount: only those claims need their items compared
            SELECT l.* FROM lead_claims l
            SEMI JOIN (SELECT card_id, facility_id, day, total_amount FROM lead_claims
                       GROUP BY ALL HAVING count(*) >= 2) c USING (card_id, facility_id, day, total_amount)),
        sig AS (
            SELECT claim_id, string_agg(item_code || '|' || coalesce(quantity::VARCHAR, '') || '|' || amount::VARCHAR,
                                        ';' ORDER BY item_code, quantity, amount) AS lines
            FROM items SEMI JOIN same_day USING (claim_id) GROUP BY claim_id),
        keyed AS (
            SELECT l.card_id, l.facility_id, l.day, l.settled_at, l.total_amount, coalesce(s.lines, '') AS lines,
                   l.claim_id, l.patient_id
            FROM same_day l LEFT JOIN sig s USING (claim_id)),
        dup AS (
            SELECT card_id, facility_id, day, total_amount, lines FROM keyed
            GROUP BY ALL HAVING count(*) >= 2),
        timed AS (
            SELECT k.*, epoch(k.settled_at) - lag(epoch(k.settled_at)) OVER w AS after_prev,
                   lead(epoch(k.settled_at)) OVER w - epoch(k.settled_at) AS before_next
            FROM keyed k SEMI JOIN dup USING (card_id, facility_id, day, total_amount, lines)
            WINDOW w AS (PARTITION BY card_id, facility_id, day, total_amount, lines ORDER BY settled_at, claim_id))
        SELECT card_id, claim_id, total_amount, facility_id, day, patient_id
        FROM timed
        WHERE CAST(? AS BIGINT) = 0 OR after_prev <= CAST(? AS BIGINT) OR before_next <= CAST(? AS BIGINT)
        ORDER BY card_id, day, facility_id, claim_id""", [window, window, window])
    leads = []
    for card, rs in _group(rows).items():
        claims = {r[1]: _money(r[2]) for r in rs}
        groups = _group(rs, key=lambda r: (r[4], r[3], r[2]))
        day, fac, each = next(iter(groups))
        leads.append(make_lead("duplicate_claim", card, claims, patient=rs[0][5],
                               facts={"days": len({r[4] for r in rs}), "copies": len(rs) - len(groups)},
                               day=day.isoformat(), facility=fac, each=fmt_money(_money(each)),
                               extra=len(rs) - len(groups)))
    return leads


def demographic_mismatch(eng, settings: Settings) -> list[Lead]:
    s = settings.leads
    params = {"male_dx": list(s.male_diagnosis_prefixes), "female_dx": list(s.female_diagnosis_prefixes),
              "male_items": list(s.male_item_prefixes), "female_items": list(s.female_item_prefixes),
              "female_names": list(s.female_item_names), "child_names": list(s.paediatric_item_names),
              "child_age": s.paediatric_min_age}
    # which diagnoses and items are for women, men or children only: judged once per code (and
    # name) of the region, into tables, so that the checks are not pushed down onto every line
    eng.run("""
        CREATE OR REPLACE TEMP TABLE dm_dx AS
        SELECT diagnosis_code, array_length(list_filter($female_dx, lambda x: starts_with(upper(diagnosis_code), x))) > 0
                   AS for_women,
               array_length(list_filter($male_dx, lambda x: starts_with(upper(diagnosis_code), x))) > 0 AS for_men
        FROM (SELECT DISTINCT diagnosis_code FROM lead_claims WHERE diagnosis_code IS NOT NULL)""",
                {k: params[k] for k in ("female_dx", "male_dx")})
    eng.run("""
        CREATE OR REPLACE TEMP TABLE dm_items AS
        SELECT item_code, item_name,
               array_length(list_filter($female_items, lambda x: starts_with(item_code, x))) > 0
                   OR array_length(list_filter($female_names, lambda x: contains(item_name, x))) > 0 AS for_women,
               array_length(list_filter($male_items, lambda x: starts_with(item_code, x))) > 0 AS for_men,
               array_length(list_filter($child_names, lambda x: contains(item_name, x))) > 0 AS for_children
        FROM (SELECT DISTINCT item_code, coalesce(item_name, '') AS item_name FROM items
              WHERE item_code IS NOT NULL)""",
                {k: params[k] for k in ("female_items", "female_names", "male_items", "child_names")})
    eng.run("DELETE FROM dm_dx WHERE NOT (for_women OR for_men)")
    eng.run("DELETE FROM dm_items WHERE NOT (for_women OR for_men OR for_children)")
    rows = eng.rows("""
        WITH
        dx_claims AS (
            SELECT l.claim_id, k.for_women, k.for_men FROM lead_claims l JOIN dm_dx k USING (diagnosis_code)),
        item_lines AS (
            SELECT i.claim_id, i.item_code, coalesce(i.item_name, i.item_code) AS name, k.for_women, k.for_men,
                   k.for_children
            FROM items i JOIN dm_items k ON k.item_code = i.item_code AND k.item_name = coalesce(i.item_name, '')),
        -- the holders of those claims only, with their age on the day
        holders AS (
            SELECT l.claim_id, l.card_id, l.total_amount, l.diagnosis_code, l.day, p.sex, l.patient_id,
                   CASE WHEN p.birth_date IS NULL THEN NULL
                        ELSE year(l.day) - year(p.birth_date)
                             - CASE WHEN strftime(l.day, '%m%d') < strftime(p.birth_date, '%m%d') THEN 1 ELSE 0 END
                   END AS age
            FROM lead_claims l JOIN patients p USING (patient_id)
            WHERE l.claim_id IN (SELECT claim_id FROM dx_claims UNION SELECT claim_id FROM item_lines)),
        dx AS (
            SELECT h.card_id, h.claim_id, h.total_amount,
                   CASE WHEN h.sex = 'M' THEN 'dm_dx_male' ELSE 'dm_dx_female' END AS code,
                   h.diagnosis_code AS what, h.age, h.patient_id
            FROM holders h JOIN dx_claims d USING (claim_id)
            WHERE (h.sex = 'M' AND d.for_women) OR (h.sex = 'F' AND d.for_men)),
        it AS (
            SELECT h.card_id, h.claim_id, h.total_amount,
                   CASE WHEN h.sex = 'M' AND x.for_women THEN 'dm_item_male'
                        WHEN h.sex = 'F' AND x.for_men THEN 'dm_item_female'
                        WHEN h.age >= $child_age AND x.for_children THEN 'dm_item_child'
                   END AS code, x.name AS what, h.age, h.patient_id
            FROM holders h JOIN item_lines x USING (claim_id))
        SELECT * FROM dx
        UNION ALL
        SELECT * FROM it WHERE code IS NOT NULL
        ORDER BY card_id, claim_id, code, what""", {"child_age": params["child_age"]})
    eng.run("DROP TABLE dm_dx")
    eng.run("DROP TABLE dm_items")
    leads = []
    for card, rs in _group(rows).items():
        claims = {r[1]: _money(r[2]) for r in rs}
        parts_zh, parts_en = [], []
        for code, what, age in dict.fromkeys((r[3], r[4], r[5] if r[3] == "dm_item_child" else None) for r in rs):
            zh, en = text(code, code=what, name=what, age=age)
            if zh not in parts_zh:
                parts_zh.append(zh)
                parts_en.append(en)
        lead = make_lead("demographic_mismatch", card, claims, patient=rs[0][6],
                         facts={"mismatches": sorted({r[3] for r in rs})}, details="")
        amount = fmt_money(lead.amount)
        lead.text_zh = text("demographic_mismatch", card=card, n=len(claims), amount=amount,
                            details="；".join(parts_zh[:3]))[0]
        lead.text_en = text("demographic_mismatch", card=card, n=len(claims), amount=amount,
                            details="; ".join(parts_en[:3]))[1]
        leads.append(lead)
    return leads


#: each kind's rule, on the engine of the heavy steps (``engine.on_engine``)
DETECTORS: dict[str, Callable[[object, Settings], list[Lead]]] = {
    "after_death": after_death,
    "impossible_travel": impossible_travel,
    "used_while_inpatient": used_while_inpatient,
    "overlapping_supply": overlapping_supply,
    "split_admission": split_admission,
    "duplicate_claim": duplicate_claim,
    "demographic_mismatch": demographic_mismatch,
}


def merge(leads: list[Lead]) -> list[Lead]:
    """One lead per kind and holder (the card's, when the holder is unknown): a person's stays,
    trips or drugs on two cards, or two episodes of one drug, are one finding with all its
    hits, claims and total. The merged lead names the card with the most hits; its text is the
    first lead's, with how many more there are."""
    groups: dict[tuple[str, str], list[Lead]] = {}
    for x in leads:
        groups.setdefault((x.kind, x.patient_id or f"card:{x.entity_id}"), []).append(x)
    out = []
    for (kind, _who), xs in groups.items():
        if len(xs) == 1:
            out.append(xs[0])
            continue
        xs.sort(key=lambda x: (-len(x.hits), -x.amount, x.lead_id))
        main = xs[0]
        hits: dict[str, str | None] = {}
        facts: dict[str, object] = {}
        claims: dict[str, Decimal] = {}
        per_card: dict[str, int] = {}
        for x in xs:
            hits.update(x.hits)
            claims.update(x.claim_amounts)  # a claim two leads list (two drugs in one claim) counts once
            per_card[x.entity_id] = per_card.get(x.entity_id, 0) + len(x.hits)
            for k, v in x.facts.items():
                if isinstance(v, list):
                    facts[k] = [*facts.get(k, []), *(e for e in v if e not in facts.get(k, []))]
                else:
                    facts.setdefault(k, v)
        card = max(sorted(per_card), key=lambda c: per_card[c])
        ids = sorted(claims)
        more = len(xs) - 1
        merged = Lead(lead_id(kind, card, sorted(x.lead_id for x in xs) if kind == "overlapping_supply" else ids),
                      kind, "card", card, ids, sum(claims.values(), Decimal("0.00")),
                      f"{main.text_zh}（另有 {more} 项同类线索并入）", f"{main.text_en} (and {more} more merged in)",
                      hits=hits, patient_id=main.patient_id, facts=facts, claim_amounts=claims)
        out.append(merged)
    out.sort(key=lambda x: (KINDS.index(x.kind), x.entity_id, x.lead_id))
    return out


def detect_leads(con, settings: Settings, timings: dict[str, float] | None = None, rings=()) -> list[Lead]:
    """Every lead kind, merged per holder, scored and queued (``graphfraud.detect.lead_score``),
    in queue order (the queued ones by rank, then the rest by kind, score and id). ``rings``
    are the run's rings (membership raises a lead's score); ``timings`` (when given) receives
    the seconds per kind."""

    if not settings.leads.enabled:
        return []
    leads: list[Lead] = []
    try:
        # the rules are the heavy steps (every claim); the scoring reads only the leads' holders
        with on_engine(con, reads=("claims", "cards", "patients", "facilities", "doctors", "items")) as eng:
            t0 = time.perf_counter()
            prepare(eng)
            if timings is not None:
                timings["prepare"] = round(time.perf_counter() - t0, 3)
            for kind in KINDS:
                t0 = time.perf_counter()
                found = DETECTORS[kind](eng, settings)
                found.sort(key=lambda x: (x.entity_id, x.lead_id))
                leads += found
                if timings is not None:
                    timings[kind] = round(time.perf_counter() - t0, 3)
        t0 = time.perf_counter()
        if eng.name != "duckdb":
            prepare(con)
        leads = merge(leads)
        score_leads(con, leads, settings, rings)
        queue(leads, settings.leads)
        if timings is not None:
            timings["score"] = round(time.perf_counter() - t0, 3)
    finally:
        con.execute("DROP TABLE IF EXISTS lead_claims")
    return leads
