"""医药串通 doctor_pharmacy: a doctor's prescriptions are steered to one partner pharmacy.

A doctor's share of fills at a pharmacy is judged against where the patients could really
fill them. The best comparison is the same facility's other doctors (same patients' geography,
same pharmacies nearby): their share there, shrunk with ``peer_shrinkage`` pseudo-fills
towards the pharmacies within reach, so that a facility with few other doctors, or none,
is judged by geography instead:

* the pharmacies within ``near_km`` of the doctor's facility (the nearest three when none
  is), by their volume without this doctor's fills;
* the pharmacies of the patient's own district (insured region), by volume;

whichever of the two predicts more. A patient who buys most of everything else at that
pharmacy anyway (``own_min_buys`` purchases or more) is expected to fill there at that share.
The expected fills are the sum over the doctor's fills; the significance is the Poisson tail
bound of the co-occurrence engine. A pair is reported when the doctor sends at least
``min_share`` of the fills there, with ``min_odds_ratio`` times the odds and
``min_excess_share`` more than expected, and the tail is small. A rural doctor whose patients
all fill at the town's only pharmacy, or a facility's only doctor, is judged by the same
alternatives (the one pharmacy within reach predicts every fill), so neither is evidence; the
reason names which alternatives were used, with their numbers. The ring is the doctor, the
pharmacy and the cards that filled the doctor's prescriptions there most often."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa

from graphfraud.detect.cooccur import nlp_sql
from graphfraud.detect.engine import on_engine
from graphfraud.detect.model import (
    DetectorResult,
    Member,
    Ring,
    final_score,
    fmt_num,
    fmt_share,
    money_reasons,
    reason,
    saturate,
)
from graphfraud.detect.registry import Detector
from graphfraud.detect.settings import Settings
from graphfraud.store.claims import live_claims

KIND = "doctor_pharmacy"
#: the other doctors of a facility are an alternative when they had at least this many fills
MIN_PEER_FILLS = 20


@dataclass(frozen=True)
class DoctorPharmacySettings:
    """医药串通: one doctor's prescriptions filled at one pharmacy far more than peers' are."""

    enabled: bool = True
    #: fills of the doctor's prescriptions at the pharmacy
    min_fills: int = 20
    #: share of the doctor's fills that went to the pharmacy
    min_share: float = 0.35
    #: -log10 p of that many fills given what the alternatives predict
    min_significance: float = 6.0
    #: the odds of a fill going there are at least this multiple of what the alternatives
    #: predict (share / (1 - share) against expected / (1 - expected)) ...
    min_odds_ratio: float = 3.0
    #: ... and the share exceeds the expected one by this much (share points)
    min_excess_share: float = 0.2
    #: the pharmacies a patient of the facility could reach: those within this distance (km)
    #: of the facility (the nearest three when none is)
    near_km: float = 5.0
    #: the facility's other doctors' share is shrunk towards the pharmacies within reach with
    #: this many pseudo-fills (a facility with few other doctors says little)
    peer_shrinkage: float = 50.0
    #: a patient with at least this many other purchases, most of them at the pharmacy, would
    #: fill there anyway: their own share is the expectation when it is higher
    own_min_buys: int = 3
    #: a card is listed in the ring with at least this many such fills, at most max_cards cards
    min_card_fills: int = 2
    max_cards: int = 40
    #: not reported when this share of the fills comes from patients who buy most of everything
    #: else at that pharmacy too (they live there; nobody steered them)
    max_habit_share: float = 0.5


#: the reason texts of this kind: code -> (zh, en) template, filled by ``model.reason``
REASONS: dict[str, tuple[str, str]] = {
    "dp_share": (
        "医师 {doctor} 开出的处方有 {share}（{n}/{n_d} 笔）在药店 {pharmacy} 取药，按患者可去的药店预计只有 {expected}",
        "{share} of doctor {doctor}'s prescriptions ({n} of {n_d}) were filled at pharmacy {pharmacy}, where the "
        "pharmacies the patients could use predict {expected}",
    ),
    "dp_vs_peers": (
        "预计约 {expected} 笔，实际 {observed} 笔；比较对象：{used}",
        "about {expected} fills predicted, {observed} observed; compared with: {used_en}",
    ),
}


def detect(con, settings: Settings) -> DetectorResult:
    s = settings.section(KIND)
    t0 = time.perf_counter()
    # the shares and what the alternatives predict are the heavy steps; the fills of the pairs
    # found come back for the rings
    with on_engine(con, reads=("claims", "facilities", "cards", "doctors", "patients"),
                   keep={"dp_fills": "SELECT * FROM dp_fills SEMI JOIN dp_keep USING (doctor_id, pharmacy)"}) as eng:
        n_pairs, rows, habits = _shares(eng, s)
    rings = []
    explained = 0
    for r in rows:
        habit = habits.get((r["doctor"], r["pharmacy"]), 0.0)
        if habit >= s.max_habit_share:
            explained += 1  # the patients shop there anyway: where they live, not where they are sent
            continue
        rings.append(_ring(con, settings, r, habit))
    stats = {"timings_s": {"all": round(time.perf_counter() - t0, 3)}, "pairs_tested": n_pairs,
             "beyond_alternatives": len(rows), "rings": len(rings), "explained_by_habit": explained}
    return DetectorResult(KIND, rings, stats)


def _shares(eng, s) -> tuple[int, list[dict], dict[tuple[str, str], float]]:
    """The pairs tested, those beyond their alternatives, and their habit shares; leaves
    ``dp_keep(doctor_id, pharmacy)`` (those pairs) and ``dp_fills`` on the engine."""
    live_claims(eng)
    # every purchase at a pharmacy (prescribed or not), and the prescribed ones
    eng.run("""
        CREATE OR REPLACE TEMP TABLE dp_buys AS
        SELECT c.claim_id, c.card_id, coalesce(c.patient_id, k.patient_id, 'card:' || c.card_id) AS who,
               c.doctor_id, c.facility_id AS pharmacy, c.total_amount, c.fund_amount, c.settled_at
        FROM live_claims c
        LEFT JOIN facilities f USING (facility_id)
        LEFT JOIN cards k USING (card_id)
        WHERE c.total_amount > 0 AND c.card_id IS NOT NULL
          AND (f.facility_type = 'pharmacy' OR (f.facility_type IS NULL AND c.claim_type = 'pharmacy'))""")
    eng.run("CREATE OR REPLACE TEMP TABLE dp_fills AS SELECT * FROM dp_buys WHERE doctor_id IS NOT NULL")
    # a doctor's facility: the doctors table, else where the doctor sees patients most (ties:
    # the first facility id, so both engines and every run agree)
    eng.run("""
        CREATE OR REPLACE TEMP TABLE dp_home AS
        WITH seen AS (SELECT c.doctor_id, c.facility_id, count(*) AS n FROM claims c
                      SEMI JOIN (SELECT DISTINCT doctor_id FROM dp_fills) d USING (doctor_id)
                      WHERE c.claim_type <> 'pharmacy' AND c.facility_id IS NOT NULL GROUP BY ALL),
             most AS (SELECT doctor_id, facility_id FROM (
                        SELECT doctor_id, facility_id,
                               row_number() OVER (PARTITION BY doctor_id ORDER BY n DESC, facility_id) AS r
                        FROM seen) WHERE r = 1)
        SELECT d.doctor_id, coalesce(any_value(doc.facility_id), any_value(m.facility_id)) AS home
        FROM (SELECT DISTINCT doctor_id FROM dp_fills) d
        LEFT JOIN doctors doc USING (doctor_id)
        LEFT JOIN most m USING (doctor_id)
        GROUP BY d.doctor_id""")
    eng.run("""
        CREATE OR REPLACE TEMP TABLE dp_cand AS
        WITH f AS (SELECT fl.*, h.home FROM dp_fills fl JOIN dp_home h USING (doctor_id)),
             dp AS (SELECT doctor_id, pharmacy, any_value(home) AS home, count(*) AS n FROM f
                    GROUP BY doctor_id, pharmacy),
             d AS (SELECT doctor_id, count(*) AS n_d FROM f GROUP BY doctor_id),
             hp AS (SELECT home, pharmacy, count(*) AS n FROM f GROUP BY home, pharmacy),
             h AS (SELECT home, count(*) AS n, count(DISTINCT doctor_id) AS doctors FROM f GROUP BY home)
        SELECT dp.doctor_id, dp.pharmacy, dp.home, dp.n, d.n_d,
               h.n - d.n_d AS peer_fills, h.doctors - 1 AS peers,
               CASE WHEN h.n - d.n_d >= ? THEN CAST(hp.n - dp.n AS DOUBLE) / (h.n - d.n_d) END AS peer_share,
               hp.n - dp.n AS peer_here
        FROM dp JOIN d USING (doctor_id) JOIN hp ON hp.home = dp.home AND hp.pharmacy = dp.pharmacy
        JOIN h ON h.home = dp.home
        WHERE dp.n >= ? AND CAST(dp.n AS DOUBLE) / d.n_d >= ?""", [MIN_PEER_FILLS, s.min_fills, s.min_share])
    n_pairs = eng.rows("SELECT count(*) FROM dp_cand")[0][0]
    rows = _judged(eng, s) if n_pairs else []
    rows = [r for r in rows if r["nlp"] >= s.min_significance and odds_ratio(r["n"], r["lam"], r["n_d"]) >= s.min_odds_ratio
            and r["n"] / r["n_d"] - r["lam"] / r["n_d"] >= s.min_excess_share]
    eng.put("dp_keep", pa.table({"doctor_id": pa.array([r["doctor"] for r in rows], pa.string()),
                                 "pharmacy": pa.array([r["pharmacy"] for r in rows], pa.string())}))
    return n_pairs, rows, _habits(eng)


def odds_ratio(n: float, lam: float, n_d: float) -> float:
    """The odds of the doctor's fills going there against the odds the alternatives predict."""
    share, expected = n / n_d, min(lam / n_d, 1.0)
    if share >= 1.0:
        share = (n_d - 0.5) / n_d  # a continuity correction: every fill there is not infinitely odd
    if expected <= 0.0:
        return math.inf
    return (share / (1.0 - share)) / (expected / max(1.0 - expected, 1e-9))


def _judged(eng, s) -> list[dict]:
    """The candidate pairs with what the alternatives predict (see the module doc)."""
    eng.run("""
        CREATE OR REPLACE TEMP TABLE dp_geo AS
        WITH centroid AS (SELECT region_code, avg(latitude) AS lat, avg(longitude) AS lon FROM facilities
                          WHERE latitude IS NOT NULL AND longitude IS NOT NULL GROUP BY region_code)
        SELECT f.facility_id, f.region_code, coalesce(f.latitude, c.lat) AS lat, coalesce(f.longitude, c.lon) AS lon
        FROM facilities f LEFT JOIN centroid c USING (region_code)""")
    # each pharmacy's volume, without the candidate doctor's own fills
    eng.run("""
        CREATE OR REPLACE TEMP TABLE dp_vol AS
        SELECT pharmacy, count(*) AS n FROM dp_buys GROUP BY pharmacy""")
    eng.run("""
        CREATE OR REPLACE TEMP TABLE dp_near AS
        WITH dist AS (
            SELECT c.doctor_id, c.pharmacy AS cand, v.pharmacy, v.n - coalesce(mine.n, 0) AS vol,
                   2 * 6371 * asin(sqrt(least(1.0, pow(sin(radians(gp.lat - gf.lat) / 2), 2)
                       + cos(radians(gf.lat)) * cos(radians(gp.lat)) * pow(sin(radians(gp.lon - gf.lon) / 2), 2))))
                       AS km
            FROM dp_cand c JOIN dp_geo gf ON gf.facility_id = c.home
            CROSS JOIN dp_vol v JOIN dp_geo gp ON gp.facility_id = v.pharmacy
            LEFT JOIN (SELECT doctor_id, pharmacy, count(*) AS n FROM dp_fills GROUP BY ALL) mine
                   ON mine.doctor_id = c.doctor_id AND mine.pharmacy = v.pharmacy
            WHERE gf.lat IS NOT NULL AND gp.lat IS NOT NULL),
        ranked AS (SELECT *, row_number() OVER (PARTITION BY doctor_id, cand ORDER BY km, pharmacy) AS k,
                          min(km) OVER (PARTITION BY doctor_id, cand) AS nearest FROM dist),
        reach AS (SELECT * FROM ranked WHERE km <= $km OR (nearest > $km AND k <= 3))
        -- by volume, plus one: a pharmacy within reach can fill a prescription even when nobody
        -- but this doctor's patients used it (a town's only pharmacy)
        SELECT doctor_id, cand AS pharmacy, count(*) AS n_near,
               coalesce(sum(vol + 1) FILTER (WHERE pharmacy = cand), 0)::DOUBLE / sum(vol + 1) AS near_share
        FROM reach GROUP BY doctor_id, cand""", {"km": s.near_km})
    return [dict(zip(("doctor", "pharmacy", "home", "n", "n_d", "peers", "peer_fills", "peer_share", "n_near",
                      "near_share", "patients", "own_buys", "home_pharmacies", "lam", "nlp"), r))
            for r in eng.rows(f"""
        WITH mine AS (SELECT f.doctor_id, f.who, count(*) AS k FROM dp_fills f SEMI JOIN dp_cand c USING (doctor_id)
                      GROUP BY ALL),
             own AS (SELECT m.doctor_id, c.pharmacy AS cand, m.who, count(b.claim_id) AS total,
                            count(b.claim_id) FILTER (WHERE b.pharmacy = c.pharmacy) AS here
                     FROM mine m JOIN dp_cand c USING (doctor_id)
                     LEFT JOIN dp_buys b ON b.who = m.who AND b.doctor_id IS DISTINCT FROM m.doctor_id
                     GROUP BY ALL),
             region AS (SELECT DISTINCT m.who, p.insured_region FROM mine m
                        JOIN patients p ON p.patient_id = m.who),
             rvol AS (SELECT g.region_code, count(DISTINCT v.pharmacy) AS n_ph, sum(v.n) AS n FROM dp_vol v
                      JOIN dp_geo g ON g.facility_id = v.pharmacy GROUP BY g.region_code),
             home AS (SELECT c.doctor_id, c.pharmacy AS cand, r.who, rv.n_ph,
                             CASE WHEN rv.n > 0 THEN (CASE WHEN g.region_code = r.insured_region
                                  THEN v.n ELSE 0 END) / CAST(rv.n AS DOUBLE) END AS home_share
                      FROM dp_cand c JOIN mine m USING (doctor_id) JOIN region r ON r.who = m.who
                      JOIN dp_vol v ON v.pharmacy = c.pharmacy JOIN dp_geo g ON g.facility_id = c.pharmacy
                      LEFT JOIN rvol rv ON rv.region_code = r.insured_region),
             per AS (
                SELECT c.doctor_id, c.pharmacy, m.who, m.k, o.here, o.total, h.n_ph,
                       -- the peers, shrunk towards the better of the two geographic alternatives
                       ((coalesce(c.peer_share, 0) * c.peer_fills
                         + ? * greatest(coalesce(nr.near_share, 0), coalesce(h.home_share, 0)))
                        / (c.peer_fills + ?)) AS alt
                FROM dp_cand c JOIN mine m USING (doctor_id)
                LEFT JOIN own o ON o.doctor_id = c.doctor_id AND o.cand = c.pharmacy AND o.who = m.who
                LEFT JOIN dp_near nr ON nr.doctor_id = c.doctor_id AND nr.pharmacy = c.pharmacy
                LEFT JOIN home h ON h.doctor_id = c.doctor_id AND h.cand = c.pharmacy AND h.who = m.who),
             lam AS (
                SELECT doctor_id, pharmacy, count(*) AS patients, sum(coalesce(total, 0)) AS own_buys,
                       max(n_ph) AS home_pharmacies,
                       sum(k * greatest(alt, CASE WHEN total >= ? THEN CAST(here AS DOUBLE) / total ELSE 0 END)) AS lam
                FROM per GROUP BY doctor_id, pharmacy)
        SELECT c.doctor_id, c.pharmacy, c.home, c.n, c.n_d, c.peers, c.peer_fills, c.peer_share, nr.n_near,
               nr.near_share, l.patients, l.own_buys, l.home_pharmacies, l.lam,
               {nlp_sql("c.n", "l.lam", 100.0, eng.ln_factorial)} AS nlp
        FROM dp_cand c JOIN lam l USING (doctor_id, pharmacy)
        LEFT JOIN dp_near nr ON nr.doctor_id = c.doctor_id AND nr.pharmacy = c.pharmacy
        ORDER BY c.doctor_id, c.pharmacy""", [s.peer_shrinkage, s.peer_shrinkage, s.own_min_buys])]


def _habits(eng) -> dict[tuple[str, str], float]:
    """Per (doctor, pharmacy) of ``dp_keep``: the share of the doctor's fills there made by
    patients who use that pharmacy for most of their other purchases too (other doctors'
    prescriptions, walk-ins); patients with fewer than two other purchases count as not
    habitual."""
    rows = eng.rows("""
        WITH mine AS (
            SELECT f.doctor_id, f.pharmacy, f.card_id, count(*) AS n
            FROM dp_fills f SEMI JOIN dp_keep USING (doctor_id, pharmacy) GROUP BY ALL),
        other AS (
            SELECT m.doctor_id, m.pharmacy, m.card_id, count(*) AS n_other,
                   count(*) FILTER (WHERE c.facility_id = m.pharmacy) AS n_here
            FROM mine m JOIN claims c ON c.card_id = m.card_id
            WHERE c.claim_type = 'pharmacy' AND c.doctor_id IS DISTINCT FROM m.doctor_id AND c.total_amount > 0
            GROUP BY ALL)
        SELECT m.doctor_id, m.pharmacy,
               CAST(coalesce(sum(m.n) FILTER (WHERE o.n_other >= 2 AND o.n_here >= 0.5 * o.n_other), 0) AS DOUBLE)
                   / sum(m.n)
        FROM mine m LEFT JOIN other o USING (doctor_id, pharmacy, card_id)
        GROUP BY m.doctor_id, m.pharmacy""")
    return {(d, p): float(h) for d, p, h in rows}


def _alternatives(r: dict, s) -> tuple[str, str]:
    """Which alternatives the expectation used, with their numbers, in zh and en."""
    zh, en = [], []
    if r["own_buys"]:
        zh.append(f"{r['patients']} 名患者自己的其他 {fmt_num(r['own_buys'])} 笔购药")
        en.append(f"the {r['patients']} patients' own {fmt_num(r['own_buys'])} other purchases")
    if r["n_near"]:
        share = fmt_share(r["near_share"] or 0.0)
        zh.append(f"机构 {r['home']} 周边 {s.near_km:g} 公里内（或最近）的 {r['n_near']} 家药店（该店占 {share}）")
        en.append(f"the {r['n_near']} pharmacies within {s.near_km:g} km of {r['home']} (or nearest; this one "
                  f"{share})")
    if r["home_pharmacies"]:
        zh.append(f"患者所在区县的 {r['home_pharmacies']} 家药店")
        en.append(f"the {r['home_pharmacies']} pharmacies of the patients' districts")
    if r["peer_share"] is not None:
        share = fmt_share(r["peer_share"])
        zh.append(f"同机构其他 {r['peers']} 名医师的 {fmt_num(r['peer_fills'])} 笔处方（该店占 {share}）")
        en.append(f"the other {r['peers']} doctors of the facility ({fmt_num(r['peer_fills'])} fills; this one {share})")
    else:
        zh.append("同机构没有足够的其他医师可比")
        en.append("too few other doctors at the facility to compare")
    return "；".join(zh), "; ".join(en)


def _ring(con, settings: Settings, r: dict, habit: float) -> Ring:
    s = settings.section(KIND)
    doctor, pharmacy, n, n_d, lam, nlp = r["doctor"], r["pharmacy"], r["n"], r["n_d"], r["lam"], r["nlp"]
    cards = con.execute("""
        SELECT card_id, count(*) AS k, sum(total_amount) FROM dp_fills WHERE doctor_id = ? AND pharmacy = ?
        GROUP BY card_id HAVING count(*) >= ? ORDER BY k DESC, card_id LIMIT ?""",
                        [doctor, pharmacy, s.min_card_fills, s.max_cards]).fetchall()
    claim_ids = [row[0] for row in con.execute("""
        SELECT claim_id FROM dp_fills WHERE doctor_id = ? AND pharmacy = ? ORDER BY settled_at, claim_id""",
                                           [doctor, pharmacy]).fetchall()]
    total, fund, first, last = con.execute("""
        SELECT sum(total_amount), sum(coalesce(fund_amount, 0)), min(settled_at)::DATE, max(settled_at)::DATE
        FROM dp_fills WHERE doctor_id = ? AND pharmacy = ?""", [doctor, pharmacy]).fetchall()[0]
    total, fund = Decimal(total), Decimal(fund)
    share = n / n_d
    expected = lam / n_d
    used_zh, used_en = _alternatives(r, s)
    reasons = [reason("dp_share", round(share, 3), doctor=doctor, share=fmt_share(share), n=n, n_d=n_d,
                      pharmacy=pharmacy, expected=fmt_share(expected)),
               reason("dp_vs_peers", round(n / max(lam, 1e-9), 1), observed=fmt_num(n), expected=fmt_num(lam, 1),
                      used=used_zh, used_en=used_en)]
    score = 100.0 * (0.45 * saturate(nlp, 20.0) + 0.30 * saturate(share - expected, 0.3)
                     + 0.25 * saturate(n - lam, 60.0))
    score = final_score(score, 0.0, False)
    over, money = money_reasons(total, fund, len(claim_ids), settings.transfer_threshold)
    reasons += money
    members = [Member("doctor", doctor, "prescribing doctor", n, total),
               Member("facility", pharmacy, "partner pharmacy", n, total)]
    members += [Member("card", card, "top card", k, Decimal(amount)) for card, k, amount in cards]
    return Ring(kind=KIND, key=frozenset(c for c, _, _ in cards) or frozenset({f"doctor:{doctor}"}),
                score=round(score, 1), members=members, reasons=reasons, claim_ids=claim_ids, total_amount=total,
                fund_amount=fund, first_date=first, last_date=last, over_transfer_threshold=over,
                facts={"share": round(share, 3), "expected_share": round(expected, 4),
                       "peer_share": None if r["peer_share"] is None else round(r["peer_share"], 4),
                       "near_share": None if r["near_share"] is None else round(r["near_share"], 4),
                       "fills": n, "doctor_fills": n_d, "habit_share": round(habit, 3), "significance": round(nlp, 1),
                       "doctor_facility": r["home"], "people": len(cards), "family": False})

def _run(con, settings: Settings, rings: list[Ring]) -> DetectorResult:
    return detect(con, settings)


DETECTOR = Detector(kind=KIND, prefix="DP", name={"zh": "医药串通", "en": "doctor-pharmacy"},
                    run=_run, reasons=REASONS, settings=DoctorPharmacySettings, order=50)
