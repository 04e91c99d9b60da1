"""医药串通 doctor_pharmacy: a doctor's prescriptions are steered to one partner pharmacy.

For every doctor and pharmacy, the prescriptions of that doctor filled there are compared with
what the doctor's peers predict: the share of the pharmacy among the fills of the other
doctors of the same facility, shrunk towards its share among all fills of the region (so a
facility with few other doctors borrows strength from the region). The significance is the
same Poisson tail bound as the co-occurrence engine's, on the number of fills; a legitimately
busy doctor whose patients fill where everyone's patients fill is not unusual however many
prescriptions they write. The ring is the doctor, the pharmacy and the cards that filled the
doctor's prescriptions there most often."""

from __future__ import annotations

import time
from decimal import Decimal

from graphfraud.detect.claims import live_claims
from graphfraud.detect.cooccur import nlp_sql
from graphfraud.detect.model import (DetectorResult, Member, Ring, final_score, fmt_num, fmt_share, money_reasons,
                                     reason, saturate)
from graphfraud.detect.settings import Settings

KIND = "doctor_pharmacy"
#: pseudo-count of fills shrinking the peers' share towards the region's share
PEER_SHRINKAGE = 50.0


def detect(con, settings: Settings) -> DetectorResult:
    s = settings.doctor_pharmacy
    t0 = time.perf_counter()
    live_claims(con)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE dp_fills AS
        SELECT c.claim_id, c.card_id, c.doctor_id, c.facility_id AS pharmacy, c.total_amount, c.fund_amount,
               c.settled_at
        FROM live_claims c
        LEFT JOIN facilities f USING (facility_id)
        WHERE c.doctor_id IS NOT NULL AND c.total_amount > 0
          AND (f.facility_type = 'pharmacy' OR (f.facility_type IS NULL AND c.claim_type = 'pharmacy'))""")
    # a doctor's facility: the doctors table, else where the doctor sees patients most
    rows = con.execute(f"""
        WITH home AS (
            SELECT d.doctor_id, coalesce(any_value(doc.facility_id), mode(c.facility_id)) AS home
            FROM (SELECT DISTINCT doctor_id FROM dp_fills) d
            LEFT JOIN doctors doc USING (doctor_id)
            LEFT JOIN claims c ON c.doctor_id = d.doctor_id AND c.claim_type <> 'pharmacy'
            GROUP BY d.doctor_id),
        f AS (SELECT fl.*, h.home FROM dp_fills fl JOIN home h USING (doctor_id)),
        dp AS (SELECT doctor_id, pharmacy, any_value(home) AS home, count(*) AS n, sum(total_amount) AS amount
               FROM f GROUP BY doctor_id, pharmacy),
        d AS (SELECT doctor_id, count(*) AS n_d FROM f GROUP BY doctor_id),
        hp AS (SELECT home, pharmacy, count(*) AS n FROM f GROUP BY home, pharmacy),
        h AS (SELECT home, count(*) AS n FROM f GROUP BY home),
        g AS (SELECT pharmacy, count(*)::DOUBLE / (SELECT count(*) FROM f) AS share FROM f GROUP BY pharmacy),
        scored AS (
            SELECT dp.doctor_id, dp.pharmacy, dp.home, dp.n, d.n_d, dp.amount,
                   (hp.n - dp.n + {PEER_SHRINKAGE} * g.share) / (h.n - d.n_d + {PEER_SHRINKAGE}) AS peer_share
            FROM dp JOIN d USING (doctor_id) JOIN hp ON hp.home = dp.home AND hp.pharmacy = dp.pharmacy
            JOIN h ON h.home = dp.home JOIN g ON g.pharmacy = dp.pharmacy
            WHERE dp.n >= ?)
        SELECT doctor_id, pharmacy, home, n, n_d, amount, peer_share, n_d * peer_share AS lam,
               {nlp_sql("n", "(n_d * peer_share)", 100.0)} AS nlp
        FROM scored
        WHERE n::DOUBLE / n_d >= ?
        ORDER BY doctor_id, pharmacy""", [s.min_fills, s.min_share]).fetchall()
    rows = [r for r in rows if r[8] >= s.min_significance]
    habits = _habits(con, [(r[0], r[1]) for r in rows])
    rings = []
    explained = 0
    for doctor, pharmacy, home, n, n_d, amount, peer_share, lam, nlp in rows:
        habit = habits.get((doctor, pharmacy), 0.0)
        if habit >= s.max_habit_share:
            explained += 1  # the patients shop there anyway: where they live, not where they are sent
            continue
        rings.append(_ring(con, settings, doctor, pharmacy, home, n, n_d, peer_share, lam, nlp, habit))
    stats = {"timings_s": {"all": round(time.perf_counter() - t0, 3)}, "pairs_tested": len(rows), "rings": len(rings),
             "explained_by_habit": explained}
    return DetectorResult(KIND, rings, stats)


def _habits(con, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], float]:
    """Per (doctor, pharmacy): the share of the doctor's fills there made by patients who use
    that pharmacy for most of their other purchases too (other doctors' prescriptions,
    walk-ins); patients with fewer than two other purchases count as not habitual."""
    if not pairs:
        return {}
    con.execute("CREATE OR REPLACE TEMP TABLE dp_pairs AS SELECT unnest(?::VARCHAR[]) AS doctor_id, "
                "unnest(?::VARCHAR[]) AS pharmacy", [[d for d, _ in pairs], [p for _, p in pairs]])
    rows = con.execute("""
        WITH mine AS (
            SELECT f.doctor_id, f.pharmacy, f.card_id, count(*) AS n
            FROM dp_fills f SEMI JOIN dp_pairs USING (doctor_id, pharmacy) GROUP BY ALL),
        other AS (
            SELECT m.doctor_id, m.pharmacy, m.card_id, count(*) AS n_other,
                   count(*) FILTER (WHERE c.facility_id = m.pharmacy) AS n_here
            FROM mine m JOIN claims c ON c.card_id = m.card_id
            WHERE c.claim_type = 'pharmacy' AND c.doctor_id IS DISTINCT FROM m.doctor_id AND c.total_amount > 0
            GROUP BY ALL)
        SELECT m.doctor_id, m.pharmacy,
               coalesce(sum(m.n) FILTER (WHERE o.n_other >= 2 AND o.n_here >= 0.5 * o.n_other), 0)::DOUBLE
                   / sum(m.n)
        FROM mine m LEFT JOIN other o USING (doctor_id, pharmacy, card_id)
        GROUP BY m.doctor_id, m.pharmacy""").fetchall()
    return {(d, p): float(h) for d, p, h in rows}


def _ring(con, settings: Settings, doctor: str, pharmacy: str, home: str | None, n: int, n_d: int,
          peer_share: float, lam: float, nlp: float, habit: float) -> Ring:
    s = settings.doctor_pharmacy
    cards = con.execute("""
        SELECT card_id, count(*) AS k, sum(total_amount) FROM dp_fills WHERE doctor_id = ? AND pharmacy = ?
        GROUP BY card_id HAVING count(*) >= ? ORDER BY k DESC, card_id LIMIT ?""",
                        [doctor, pharmacy, s.min_card_fills, s.max_cards]).fetchall()
    claim_ids = [r[0] for r in con.execute("""
        SELECT claim_id FROM dp_fills WHERE doctor_id = ? AND pharmacy = ? ORDER BY settled_at, claim_id""",
                                           [doctor, pharmacy]).fetchall()]
    total, fund, first, last = con.execute("""
        SELECT sum(total_amount), sum(coalesce(fund_amount, 0)), min(settled_at)::DATE, max(settled_at)::DATE
        FROM dp_fills WHERE doctor_id = ? AND pharmacy = ?""", [doctor, pharmacy]).fetchall()[0]
    total, fund = Decimal(total), Decimal(fund)
    share = n / n_d
    reasons = [reason("dp_share", round(share, 3), doctor=doctor, share=fmt_share(share), n=n, n_d=n_d,
                      pharmacy=pharmacy, peer=fmt_share(peer_share)),
               reason("dp_vs_peers", round(n / max(lam, 1e-9), 1), observed=fmt_num(n), expected=fmt_num(lam, 1))]
    score = 100.0 * (0.45 * saturate(nlp, 20.0) + 0.30 * saturate(share - peer_share, 0.3)
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
                facts={"share": round(share, 3), "peer_share": round(peer_share, 4), "fills": n, "doctor_fills": n_d, "habit_share": round(habit, 3),
                       "significance": round(nlp, 1), "doctor_facility": home, "people": len(cards),
                       "family": False})
