"""The settlements the detectors look at: the claims that stand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from dataclasses import dataclass, field
from decimal import Decimal

from graphfraud.detect.engine import engine_of
from graphfraud.store.claims import live_claims


def drug_buys(eng) -> str:
    """Create once per engine (a DuckDB connection or ``engine.Engine``) and return
    ``drug_buys(card_id, item_code, day, days)``: per card, drug and day, the days of supply
    bought, over the lines with a days-of-supply of the claims that stand. The drug-resale
    detector and the overlapping-supply lead both start from it; one pass over the items serves
    both (on DuckDB; Spark drops it with the detector's other views)."""
    eng = engine_of(eng)
    if not eng.exists("drug_buys"):
        live_claims(eng)
        eng.run("""
            CREATE TEMP TABLE drug_buys AS
            SELECT c.card_id, i.item_code, c.settled_at::DATE AS day, sum(i.days_supply)::BIGINT AS days
            FROM live_claims c JOIN items i USING (claim_id)
            WHERE i.days_supply > 0 AND c.card_id IS NOT NULL AND c.settled_at IS NOT NULL
            GROUP BY ALL""")
    return "drug_buys"


@dataclass
class ClaimFacts:
    """Exact totals of one group of claims (a ring's), from the claims table."""

    total: Decimal
    fund: Decimal
    first: dt.date | None
    last: dt.date | None
    #: card -> (claims, amount)
    by_card: dict[str, tuple[int, Decimal]] = field(default_factory=dict)
    #: (facility, claims, amount), most claims first
    by_facility: list[tuple[str, int, Decimal]] = field(default_factory=list)


def claim_facts(con, groups: dict[Hashable, list[str]]) -> dict[Hashable, ClaimFacts]:
    """Totals, date range, and per-card and per-facility counts and amounts of several groups of
    claim ids at once: one pass over the claims table for all the groups, not one per ring."""
    keys = list(groups)
    g = [i for i, k in enumerate(keys) for _ in groups[k]]
    ids = [c for k in keys for c in groups[k]]
    con.execute("CREATE OR REPLACE TEMP TABLE cf_ids AS SELECT unnest(?::INTEGER[]) AS g, unnest(?::VARCHAR[]) AS claim_id",
                [g, ids])
    con.execute("""
        CREATE OR REPLACE TEMP TABLE cf_rows AS
        SELECT DISTINCT k.g, c.claim_id, c.card_id, c.facility_id, c.total_amount,
               coalesce(c.fund_amount, 0) AS fund_amount, c.settled_at
        FROM claims c JOIN cf_ids k USING (claim_id)""")
    out = {k: ClaimFacts(Decimal("0.00"), Decimal("0.00"), None, None) for k in keys}
    for i, total, fund, first, last in con.execute("""
            SELECT g, sum(total_amount), sum(fund_amount), min(settled_at)::DATE, max(settled_at)::DATE
            FROM cf_rows GROUP BY g""").fetchall():
        f = out[keys[i]]
        f.total, f.fund = Decimal(total).quantize(Decimal("0.01")), Decimal(fund).quantize(Decimal("0.01"))
        f.first, f.last = first, last
    for i, card, n, amount in con.execute(
            "SELECT g, card_id, count(*), sum(total_amount) FROM cf_rows GROUP BY g, card_id").fetchall():
        out[keys[i]].by_card[card] = (n, Decimal(amount))
    for i, fac, n, amount in con.execute("""
            SELECT g, facility_id, count(*), sum(total_amount) FROM cf_rows GROUP BY g, facility_id
            ORDER BY g, 3 DESC, 2""").fetchall():
        out[keys[i]].by_facility.append((fac, n, Decimal(amount)))
    con.execute("DROP TABLE cf_ids")
    con.execute("DROP TABLE cf_rows")
    return out
