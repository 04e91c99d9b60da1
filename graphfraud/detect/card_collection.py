"""聚敛盗刷 card_collection: a pharmacy or broker holds many people's cards and swipes them
in batches. Signature: cards settled at the same pharmacy (or at a terminal used by several
facilities) within minutes of each other, on many distinct days, far beyond what the cards'
own visits predict; stronger when the holders are elderly, live far away and share no
other tie; a family that shops together is recognised and scored low."""

from __future__ import annotations

import time
from decimal import Decimal

from graphfraud.detect.cooccur import Cooccurrence, cooccurrence, p_within
from graphfraud.detect.model import (
    DetectorResult,
    Member,
    Ring,
    base_score,
    final_score,
    fmt_num,
    fmt_share,
    looks_like_family,
    money_reasons,
    reason,
)
from graphfraud.detect.registry import Detector
from graphfraud.detect.rings import RingFacts, absorb, apply_merge, communities, merge_pairs, ring_facts
from graphfraud.detect.settings import Settings
from graphfraud.store.claims import live_claims

KIND = "card_collection"
PREFIX = "cc"


#: the reason texts of this kind: code -> (zh, en) template, filled by ``model.reason``
REASONS: dict[str, tuple[str, str]] = {
    "cc_repeat": (
        "{n} 张卡在药店 {facility} 的 {days} 个不同日期里于 {window} 分钟内相继结算",
        "{n} cards settled within {window} minutes of each other at pharmacy {facility} on {days} distinct days",
    ),
    "cc_terminal": (
        "{share} 的结算经同一终端 {terminal}",
        "{share} of the settlements went through one terminal, {terminal}",
    ),
}


def events(con, settings: Settings) -> int:
    """``cc_events``: one event per positive, unreversed settlement at a pharmacy, in the
    pharmacy's context and, for terminals seen at two facilities or more, the terminal's."""
    s = settings.card_collection
    live_claims(con)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE cc_base AS
        SELECT c.claim_id, c.card_id, c.facility_id, c.terminal_id, epoch(c.settled_at)::BIGINT AS t
        FROM live_claims c
        LEFT JOIN facilities f USING (facility_id)
        WHERE c.total_amount > 0 AND c.card_id IS NOT NULL AND c.settled_at IS NOT NULL
          AND (list_contains(?, f.facility_type) OR (f.facility_type IS NULL AND list_contains(?, c.claim_type)))""",
                [list(s.facility_types), list(s.claim_types)])
    con.execute("""
        CREATE OR REPLACE TEMP TABLE cc_events AS
        SELECT card_id AS entity, 'F:' || facility_id AS context, t, claim_id, NULL::DOUBLE AS attr FROM cc_base
        UNION ALL
        SELECT card_id, 'T:' || terminal_id, t, claim_id, NULL::DOUBLE FROM cc_base
        WHERE terminal_id IN (SELECT terminal_id FROM cc_base WHERE terminal_id IS NOT NULL
                              GROUP BY terminal_id HAVING count(DISTINCT facility_id) >= 2)""")
    return con.execute("SELECT count(*) FROM cc_events").fetchall()[0][0]


def spec(settings: Settings) -> Cooccurrence:
    s, e = settings.card_collection, settings.engine
    window = s.window_minutes * 60
    return Cooccurrence(window=window, day=86400, unit=86400, bin=3600, p_within_bin=p_within(window, 3600),
                        min_days=s.min_days, min_significance=s.min_significance,
                        day_shrinkage=e.day_shrinkage, context_shrinkage=e.context_shrinkage,
                        max_weight=e.max_edge_weight)


def detect(con, settings: Settings) -> DetectorResult:
    s = settings.card_collection
    t_select = time.perf_counter()
    n_events = events(con, settings)
    t_select = time.perf_counter() - t_select
    pr = cooccurrence(con, "cc_events", spec(settings), PREFIX, keep_meetings=True)
    t0 = time.perf_counter()
    merged = absorbed = 0
    try:
        n_rings = communities(con, pr, settings.engine, settings.seed, s.min_members)
        t1 = time.perf_counter()
        built = {f.r: (f, _ring(f, settings)) for f in (ring_facts(con, pr, s.elderly_age) if n_rings else {}).values()}

        def suspects() -> set[int]:
            return {r for r, (_f, ring) in built.items() if ring.score >= settings.min_score
                    and not ring.facts.get("family")}

        def refresh(changed: set[int]) -> None:
            """The facts of the rings that changed (the others are as they were)."""
            gone = [r for r in changed if r in built]
            for r in gone:
                del built[r]
            live = {r for (r,) in con.execute(f"SELECT DISTINCT r FROM {PREFIX}_comm").fetchall()}
            for r in [r for r in built if r not in live]:
                del built[r]
            for f in ring_facts(con, pr, s.elderly_age, only=changed & live).values():
                built[f.r] = (f, _ring(f, settings))

        # the parts of one stack the broker swipes a share of each session: rings that would be
        # reported (not families), whose cards met each other on several days, are one ring
        pairs = merge_pairs(con, PREFIX, "comm", s.merge_min_days, s.merge_min_cover, only=suspects())
        if pairs:
            n_rings = communities(con, pr, settings.engine, settings.seed, s.min_members,
                                  merge=lambda con, p: apply_merge(con, p, pairs))
            merged = len({b for _a, b in pairs})
            refresh({r for pair in pairs for r in pair})
        grown = absorb(con, pr, suspects(), s.min_days, s.absorb_significance, settings.engine.max_edge_weight,
                       s.window_minutes * 60)
        absorbed = sum(grown.values())
        if grown:
            refresh(set(grown))
        # a ring is people: several cards of one or two holders (a card and an e-voucher) are not
        rings = [ring for _r, (_f, ring) in sorted(built.items()) if ring.facts["people"] >= s.min_members]
    finally:
        con.execute(f"DROP TABLE IF EXISTS {PREFIX}_pe")
    timings = {"select": round(t_select, 3), **pr.timings, "communities": round(t1 - t0, 3), "rings": round(time.perf_counter() - t1, 3)}
    stats = {"timings_s": timings, "events": n_events, "meetings": pr.n_meetings, "candidate_pairs": pr.n_candidates,
             "significant_pairs": pr.n_significant, "communities": n_rings, "merged_into_schemes": merged, "absorbed_cards": absorbed,
             "too_few_people": len(built) - len(rings)}
    return DetectorResult(KIND, rings, stats)


def _ring(f: RingFacts, settings: Settings) -> Ring:
    s = settings.card_collection
    terminal = None
    if f.by_terminal:
        term, (n_term, _amount) = next(iter(f.by_terminal.items()))
        terminal = (term, n_term / max(f.n_claims, 1))
    h = f.holders
    n = len(f.cards)
    context = f.contexts[0][0] if f.contexts else "F:?"
    facility = context[2:] if context.startswith("F:") else None
    reasons = [reason("cc_repeat", f.days, n=n, facility=facility or context[2:], days=f.days,
                      window=s.window_minutes)]
    reasons.append(reason("cooccur_vs_chance", round(f.observed / max(f.expected, 1e-9), 1),
                          observed=fmt_num(f.observed), expected=fmt_num(f.expected, 2)))
    score = base_score(f.strength, f.observed, f.expected, f.days, n)
    bonus = 0.0
    if terminal and terminal[1] >= 0.8:
        reasons.append(reason("cc_terminal", round(terminal[1], 3), share=fmt_share(terminal[1]), terminal=terminal[0]))
    with_age = int(h.get("with_age") or 0)
    if with_age:
        share = int(h["elderly"]) / with_age
        if share >= 0.5:
            bonus += 5.0 * share
            reasons.append(reason("elderly_holders", round(share, 3), share=fmt_share(share), age=s.elderly_age))
    same_addr, same_phone = int(h.get("same_address") or 0), int(h.get("same_phone") or 0)
    people = int(h.get("people") or n)
    family = looks_like_family(people, same_addr, same_phone)
    if family:
        reasons.insert(0, reason("family_shared_address", same_addr, n=people, same=same_addr, phone=same_phone))
    else:
        km = h.get("km")
        if km is not None and (float(km) >= 10 or int(h.get("regions") or 0) >= 2):
            bonus += 5.0 * min(1.0, float(km) / 30)
            reasons.append(reason("holders_far", round(float(km), 1), km=fmt_num(float(km), 0),
                                  regions=int(h.get("regions") or 0)))
        if same_addr < 2 and same_phone < 2:
            bonus += 3.0
            reasons.append(reason("no_other_tie", 0))
        elif same_phone >= 2:
            reasons.append(reason("shared_phone", same_phone, same=same_phone))
    score = final_score(score, bonus, family)
    over, money = money_reasons(f.total, f.fund, f.n_claims, settings.transfer_threshold)
    reasons += money

    members = [Member("card", c, "collected card", *f.card_claims.get(c, (0, Decimal("0.00")))) for c in f.cards]
    # the pharmacies and terminals where the members met, with the ring's claims there
    met = {ctx[2:] for ctx, _days, _n in f.contexts}
    members += [Member("facility", fid, "collector pharmacy", n_fac, amount)
                for fid, (n_fac, amount) in f.by_facility.items() if fid in met]
    members += [Member("terminal", tid, "terminal", n_term, amount)
                for tid, (n_term, amount) in f.by_terminal.items() if tid in met or n_term >= 0.5 * f.n_claims]
    return Ring(kind=KIND, key=frozenset(f.cards), score=round(score, 1), members=members, reasons=reasons,
                claim_ids=f.claim_ids, total_amount=f.total, fund_amount=f.fund, first_date=f.first,
                last_date=f.last, over_transfer_threshold=over,
                facts={"people": people, "days": f.days, "strength": round(f.strength, 2), "observed": f.observed,
                       "expected": round(f.expected, 3), "family": family, "holders": {
                           k: v for k, v in h.items() if k not in ("top_address", "top_phone", "phone_holders")}})

def _run(con, settings: Settings, rings: list[Ring]) -> DetectorResult:
    return detect(con, settings)


DETECTOR = Detector(kind=KIND, prefix="CC", name={"zh": "聚敛盗刷", "en": "card collection"},
                    run=_run, reasons=REASONS, order=10)
