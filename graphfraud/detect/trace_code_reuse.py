"""追溯码重复 trace_code_reuse: one physical box of a drug carries one traceability code
(药品追溯码) and is scanned once when dispensed. A code on two settlements means the box came
back and was sold again (resale of drugs obtained on other people's cards, or a substituted
box). The ring is the pharmacy that dispensed codes again, with the cards whose boxes came
back; reversed settlements (a refund, then a sale) do not count."""

from __future__ import annotations

import time
from decimal import Decimal

from graphfraud.detect.claims import ClaimFacts, claim_facts, live_claims
from graphfraud.detect.model import DetectorResult, Member, Ring, final_score, money_reasons, reason, saturate
from graphfraud.detect.settings import Settings

KIND = "trace_code_reuse"


def detect(con, settings: Settings) -> DetectorResult:
    s = settings.trace_code_reuse
    t0 = time.perf_counter()
    live_claims(con)
    # every dispensing of a code that was dispensed on another settlement too
    con.execute("""
        CREATE OR REPLACE TEMP TABLE tc_uses AS
        WITH live AS (
            SELECT c.claim_id, c.card_id, c.facility_id, c.settled_at, c.total_amount, c.fund_amount
            FROM live_claims c
            WHERE c.total_amount > 0),
        -- codes on two claims or more (reversed ones included here, excluded below): a small set,
        -- so the join with the claims and the window only see them
        twice AS (
            SELECT trace_code FROM items WHERE trace_code IS NOT NULL AND trace_code <> ''
            GROUP BY trace_code HAVING min(claim_id) <> max(claim_id)),
        uses AS (
            SELECT DISTINCT i.trace_code, i.item_code, l.claim_id, l.card_id, l.facility_id, l.settled_at
            FROM items i SEMI JOIN twice USING (trace_code) JOIN live l USING (claim_id))
        SELECT u.*, count(*) OVER (PARTITION BY u.trace_code) AS n_uses,
               row_number() OVER (PARTITION BY u.trace_code ORDER BY u.settled_at, u.claim_id) AS use_no
        FROM uses u QUALIFY count(*) OVER (PARTITION BY u.trace_code) >= 2""")
    n_uses = con.execute("SELECT count(*) FROM tc_uses").fetchall()[0][0]
    # a pharmacy recycles when it dispenses a code that had been dispensed before
    groups = con.execute("""
        WITH again AS (SELECT DISTINCT facility_id, trace_code FROM tc_uses WHERE use_no >= 2),
             involved AS (SELECT u.* FROM tc_uses u JOIN again a USING (facility_id, trace_code))
        SELECT facility_id, count(DISTINCT trace_code), count(*), max(n_uses), list(DISTINCT card_id ORDER BY card_id),
               list(DISTINCT claim_id ORDER BY claim_id), list(DISTINCT item_code ORDER BY item_code)
        FROM involved GROUP BY facility_id ORDER BY facility_id""").fetchall()
    groups = [g for g in groups if len(g[4]) >= s.min_cards and g[1] >= s.min_codes]
    facts = claim_facts(con, {g[0]: g[5] for g in groups})
    rings = [_ring(settings, *g, facts=facts[g[0]]) for g in groups]
    stats = {"timings_s": {"all": round(time.perf_counter() - t0, 3)}, "reused_dispensings": n_uses,
             "pharmacies": len(groups), "rings": len(rings)}
    return DetectorResult(KIND, rings, stats)


def _ring(settings: Settings, facility: str, n_codes: int, n_dispensed: int, max_uses: int, cards: list[str],
          claim_ids: list[str], drugs: list[str], *, facts: ClaimFacts) -> Ring:
    total, fund, first, last = facts.total, facts.fund, facts.first, facts.last
    per_card = facts.by_card
    reasons = [reason("tc_reused", n_codes, facility=facility, codes=n_codes, dispensed=n_dispensed, cards=len(cards)),
               reason("tc_max_uses", max_uses, uses=max_uses)]
    # a double scan at the till explains one code on two sales; many codes coming back do not
    score = 100.0 * (0.5 * saturate(n_codes - 1, 3.0) + 0.3 * saturate(len(cards) - 1, 4.0)
                     + 0.2 * saturate(n_dispensed - n_codes - 1, 4.0))
    score = final_score(score, 0.0, False)
    over, money = money_reasons(total, fund, len(claim_ids), settings.transfer_threshold)
    reasons += money
    members = [Member("facility", facility, "recycling pharmacy", len(claim_ids), total)]
    members += [Member("card", c, "card with a returned box", *per_card.get(c, (0, Decimal("0.00")))) for c in cards]
    members += [Member("drug", d, "reused drug") for d in drugs]
    ring = Ring(kind=KIND, key=frozenset(cards), score=round(score, 1), members=members, reasons=reasons,
                claim_ids=claim_ids, total_amount=total, fund_amount=fund, first_date=first, last_date=last,
                over_transfer_threshold=over,
                facts={"codes": n_codes, "dispensed": n_dispensed, "max_uses": max_uses, "people": len(cards),
                       "family": False})
    return ring
