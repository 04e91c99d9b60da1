"""聚敛盗刷 card_collection: a pharmacy or broker holds many people's cards and swipes them
in batches. Signature: cards settled at the same pharmacy (or at a terminal used by several
facilities) within minutes of each other, on many distinct days, far beyond what the cards'
own visits predict; stronger when the holders are elderly, live far away and share no
other tie; a family that shops together is recognised and scored low."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from graphfraud.detect.cooccur import Cooccurrence, p_within
from graphfraud.detect.engine import engine_of
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
from graphfraud.detect.rings import (
    CooccurrencePass,
    RingFacts,
    absorb,
    apply_merge,
    communities,
    enough_people,
    merge_pairs,
    ring_facts,
)
from graphfraud.detect.settings import Settings
from graphfraud.store.claims import live_claims

KIND = "card_collection"
PREFIX = "cc"


@dataclass(frozen=True)
class CardCollectionSettings:
    """聚敛盗刷: cards settled at the same pharmacy (or a terminal shared by several
    facilities) within minutes of each other on many distinct days."""

    enabled: bool = True
    window_minutes: int = 10
    #: a pair must co-occur on at least this many distinct days
    min_days: int = 3
    #: and beat chance by at least this much (-log10 of the Poisson tail probability)
    min_significance: float = 4.0
    #: distinct card holders a ring needs (one person's card and e-voucher count once)
    min_members: int = 3
    #: only settlements at facilities of these types are considered
    facility_types: tuple[str, ...] = ("pharmacy",)
    #: claim types considered when the facility type is unknown
    claim_types: tuple[str, ...] = ("pharmacy",)
    #: holders of this age or more count as elderly in reasons and scores
    elderly_age: int = 60
    #: two communities are one ring when their cards met on at least this many distinct days
    #: covering at least this share of the pairs between them: a broker swipes only part of
    #: the stack each session, so not every pair of cards meets often enough on its own
    merge_min_days: int = 2
    merge_min_cover: float = 0.5
    #: a card meeting a reported ring's cards (any of them) on ``min_days`` distinct days joins
    #: it when that is this far beyond chance (-log10 p, against all the members together)
    absorb_significance: float = 4.0


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


def events(eng, settings: Settings) -> int:
    """``cc_events``: one event per positive, unreversed settlement at a pharmacy, in the
    pharmacy's context and, for terminals seen at two facilities or more, the terminal's
    (``eng``: the engine of the heavy steps)."""
    s = settings.section(KIND)
    eng = engine_of(eng)
    live_claims(eng)
    eng.run("""
        CREATE OR REPLACE TEMP TABLE cc_base AS
        SELECT c.claim_id, c.card_id, c.facility_id, c.terminal_id, epoch(c.settled_at)::BIGINT AS t
        FROM live_claims c
        LEFT JOIN facilities f USING (facility_id)
        WHERE c.total_amount > 0 AND c.card_id IS NOT NULL AND c.settled_at IS NOT NULL
          AND (list_contains(?, f.facility_type) OR (f.facility_type IS NULL AND list_contains(?, c.claim_type)))""",
                [list(s.facility_types), list(s.claim_types)])
    eng.run("""
        CREATE OR REPLACE TEMP TABLE cc_events AS
        SELECT card_id AS entity, 'F:' || facility_id AS context, t, claim_id, NULL::DOUBLE AS attr FROM cc_base
        UNION ALL
        SELECT card_id, 'T:' || terminal_id, t, claim_id, NULL::DOUBLE FROM cc_base
        WHERE terminal_id IN (SELECT terminal_id FROM cc_base WHERE terminal_id IS NOT NULL
                              GROUP BY terminal_id HAVING count(DISTINCT facility_id) >= 2)""")
    return eng.rows("SELECT count(*) FROM cc_events")[0][0]


def spec(settings: Settings) -> Cooccurrence:
    s, e = settings.section(KIND), settings.engine
    window = s.window_minutes * 60
    return Cooccurrence(window=window, day=86400, unit=86400, bin=3600, p_within_bin=p_within(window, 3600),
                        min_days=s.min_days, min_significance=s.min_significance,
                        day_shrinkage=e.day_shrinkage, context_shrinkage=e.context_shrinkage,
                        max_weight=e.max_edge_weight)


def detect(con, settings: Settings) -> DetectorResult:
    s = settings.section(KIND)
    with CooccurrencePass(con, PREFIX, lambda eng: events(eng, settings), spec(settings),
                          reads=("claims", "facilities")) as run:
        pr = run.pr
        n_rings = communities(con, pr, settings.engine, settings.seed, s.min_members)
        run.lap("communities")
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
        merged = 0
        pairs = merge_pairs(con, PREFIX, "comm", s.merge_min_days, s.merge_min_cover, only=suspects())
        if pairs:
            n_rings = communities(con, pr, settings.engine, settings.seed, s.min_members,
                                  merge=lambda con, p: apply_merge(con, p, pairs))
            merged = len({b for _a, b in pairs})
            refresh({r for pair in pairs for r in pair})
        grown = absorb(con, pr, suspects(), s.min_days, s.absorb_significance, settings.engine.max_edge_weight,
                       s.window_minutes * 60)
        if grown:
            refresh(set(grown))
        rings = enough_people([ring for _r, (_f, ring) in sorted(built.items())], s.min_members)
        run.lap("rings")
    return DetectorResult(KIND, rings, {**run.stats(n_rings), "merged_into_schemes": merged,
                                        "absorbed_cards": sum(grown.values()), "too_few_people": len(built) - len(rings)})


def _ring(f: RingFacts, settings: Settings) -> Ring:
    s = settings.section(KIND)
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
                    run=_run, reasons=REASONS, settings=CardCollectionSettings, order=10)
