"""追溯码重复 trace_code_reuse: one physical box of a drug carries one traceability code
(药品追溯码) and is scanned once when dispensed. A code on two settlements means the box came
back and was sold again (resale of drugs obtained on other people's cards, or a substituted
box).

The ring is the loop the boxes travel: a box sold on card X at pharmacy A comes back (X, or
whoever collected X's drugs, sells it on) and is settled again at pharmacy B on card Y. Each
dispensing joins its card and its pharmacy; each return joins the card the box left with the
pharmacy that sold it again. The connected parts of those ties are the loops: the pharmacies
that settled codes again, the cards whose boxes came back and the cards that received them,
however many pharmacies the boxes went through.

Not a loop: reversed settlements (a refund, then a sale); two scans of one code at one
pharmacy within ``rescan_minutes`` (the box scanned twice at the till); a code settled more
than ``max_uses`` times (not one box: a placeholder or a product code scanned for every box,
counted in ``run.json`` as a data-quality finding)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

from graphfraud.detect.claims import ClaimFacts, claim_facts
from graphfraud.detect.engine import on_engine
from graphfraud.detect.model import DetectorResult, Member, Ring, final_score, money_reasons, reason, saturate
from graphfraud.detect.registry import Detector
from graphfraud.detect.settings import Settings
from graphfraud.store.claims import live_claims

KIND = "trace_code_reuse"


@dataclass(frozen=True)
class TraceCodeReuseSettings:
    """追溯码重复: drug traceability codes dispensed on more than one settlement."""

    enabled: bool = True
    #: a loop is reported with at least this many codes dispensed again ...
    min_codes: int = 1
    #: ... on at least this many cards (a double scan at the till is one code, one or two cards,
    #: and scores below min_score)
    min_cards: int = 2
    #: two dispensings of one code at one pharmacy this close (minutes) are one box scanned
    #: twice at the till, not a box that came back
    rescan_minutes: int = 30
    #: a code dispensed more often than this is not one box (a placeholder or a product code
    #: scanned for every box): counted in run.json as a data-quality finding, not a loop
    max_uses: int = 12


#: the reason texts of this kind: code -> (zh, en) template, filled by ``model.reason``
REASONS: dict[str, tuple[str, str]] = {
    "tc_reused": (
        "药店 {facility} 有 {codes} 个药品追溯码被重复结算（共 {dispensed} 次），涉及 {cards} 张卡",
        "pharmacy {facility} dispensed {codes} drug traceability codes more than once ({dispensed} dispensings), "
        "on {cards} cards",
    ),
    "tc_loop": (
        "{codes} 个药品追溯码（即 {codes} 盒药）在 {n_ph} 家药店（{pharmacies}）之间回流、被重复结算共 {dispensed} 次："
        "{back} 张卡买走的药盒又被再次售出，{got} 张卡收到回流的药盒",
        "{codes} drug traceability codes ({codes} boxes) came back and were settled again among {n_ph} "
        "pharmacies ({pharmacies}), {dispensed} dispensings in all: the boxes of {back} cards were sold again, "
        "{got} cards received a returned box",
    ),
    "tc_max_uses": (
        "同一盒药的追溯码最多被结算 {uses} 次",
        "one box's traceability code was settled up to {uses} times",
    ),
}


def detect(con, settings: Settings) -> DetectorResult:
    s = settings.section(KIND)
    t0 = time.perf_counter()
    # the repeats are the heavy steps (every item line); the loops and rings are small
    with on_engine(con, reads=("claims", "items")) as eng:
        live_claims(eng)
        # every dispensing of a code that was dispensed on another settlement too
        eng.run("""
            CREATE OR REPLACE TEMP TABLE tc_uses AS
            -- codes on two claims or more (reversed ones included here, excluded below): a small set,
            -- so the join with the claims and the window only see them. Grouped by hash first (a
            -- number groups much faster than a 20-character text), then exactly on what passed.
            WITH by_hash AS (
                SELECT hash(trace_code) AS h FROM items WHERE trace_code IS NOT NULL AND trace_code <> ''
                GROUP BY 1 HAVING min(hash(claim_id)) <> max(hash(claim_id))),
            twice AS (
                SELECT i.trace_code FROM items i SEMI JOIN by_hash b ON b.h = hash(i.trace_code)
                WHERE i.trace_code IS NOT NULL AND i.trace_code <> ''
                GROUP BY i.trace_code HAVING min(i.claim_id) <> max(i.claim_id)),
            lines AS (SELECT DISTINCT i.trace_code, i.item_code, i.claim_id FROM items i SEMI JOIN twice USING (trace_code)),
            live AS (
                SELECT c.claim_id, c.card_id, c.facility_id, c.settled_at FROM live_claims c
                SEMI JOIN lines USING (claim_id) WHERE c.total_amount > 0),
            uses AS (
                SELECT DISTINCT x.trace_code, x.item_code, l.claim_id, l.card_id, l.facility_id, l.settled_at
                FROM lines x JOIN live l USING (claim_id))
            SELECT u.*, lag(u.facility_id) OVER w AS prev_facility, lag(u.settled_at) OVER w AS prev_at
            FROM uses u WINDOW w AS (PARTITION BY u.trace_code ORDER BY u.settled_at, u.claim_id)""")
        # a second scan at the same pharmacy within minutes is the till, not a returned box
        eng.run("""
            DELETE FROM tc_uses WHERE prev_facility = facility_id
              AND epoch(settled_at) - epoch(prev_at) <= ? * 60""", [s.rescan_minutes])
        placeholders = eng.rows("""
            SELECT count(*), coalesce(sum(n), 0) FROM (SELECT trace_code, count(*) AS n FROM tc_uses GROUP BY trace_code
                                                       HAVING count(*) > ?)""", [s.max_uses])[0]
        rows = eng.rows("""
            WITH codes AS (SELECT trace_code FROM tc_uses GROUP BY trace_code HAVING count(*) BETWEEN 2 AND ?)
            SELECT u.trace_code, u.item_code, u.claim_id, u.card_id, u.facility_id
            FROM tc_uses u SEMI JOIN codes USING (trace_code)
            ORDER BY u.trace_code, u.settled_at, u.claim_id""", [s.max_uses])
    n_uses = len(rows)
    loops = _loops(rows)
    loops = [lp for lp in loops if len(lp["cards"]) >= s.min_cards and len(lp["codes"]) >= s.min_codes]
    facts = claim_facts(con, {i: lp["claims"] for i, lp in enumerate(loops)})
    rings = [_ring(settings, lp, facts[i]) for i, lp in enumerate(loops)]
    stats = {"timings_s": {"all": round(time.perf_counter() - t0, 3)}, "reused_dispensings": n_uses,
             "loops": len(loops), "rings": len(rings), "placeholder_codes": int(placeholders[0]),
             "placeholder_dispensings": int(placeholders[1])}
    return DetectorResult(KIND, rings, stats)


def _loops(rows) -> list[dict]:
    """Connected parts of the ties between cards and pharmacies that reused codes make. Rows:
    (code, item, claim, card, pharmacy), each code's dispensings in time order."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    by_code: dict[str, list] = {}
    for r in rows:
        by_code.setdefault(r[0], []).append(r)
    for uses in by_code.values():
        for i, (_code, _item, _claim, card, ph) in enumerate(uses):
            join("card:" + card, "ph:" + ph)  # sold
            if i:
                join("card:" + uses[i - 1][3], "ph:" + ph)  # the previous holder's box came back here
    loops: dict[str, dict] = {}
    for code, uses in sorted(by_code.items()):
        root = find("ph:" + uses[0][4])
        lp = loops.setdefault(root, {"codes": set(), "cards": set(), "back": set(), "got": set(), "again": {},
                                     "first": set(), "claims": set(), "drugs": set(), "dispensed": 0, "max_uses": 0})
        lp["codes"].add(code)
        lp["dispensed"] += len(uses)
        lp["max_uses"] = max(lp["max_uses"], len(uses))
        for i, (_code, item, claim, card, ph) in enumerate(uses):
            lp["cards"].add(card)
            lp["claims"].add(claim)
            lp["drugs"].add(item)
            if i < len(uses) - 1:
                lp["back"].add(card)
            if i:
                lp["got"].add(card)
                lp["again"][ph] = lp["again"].get(ph, 0) + 1
            else:
                lp["first"].add(ph)
    out = []
    for lp in loops.values():
        lp["claims"] = sorted(lp["claims"])
        out.append(lp)
    out.sort(key=lambda lp: (-len(lp["codes"]), lp["claims"][0]))
    return out


def _ring(settings: Settings, lp: dict, facts: ClaimFacts) -> Ring:
    total, fund, first, last = facts.total, facts.fund, facts.first, facts.last
    per_card = facts.by_card
    again = sorted(lp["again"], key=lambda ph: (-lp["again"][ph], ph))
    n_codes, n_cards, dispensed = len(lp["codes"]), len(lp["cards"]), lp["dispensed"]
    if len(again) == 1:
        head = reason("tc_reused", n_codes, facility=again[0], codes=n_codes, dispensed=dispensed, cards=n_cards)
    else:
        head = reason("tc_loop", n_codes, codes=n_codes, n_ph=len(again), pharmacies="、".join(again[:4]),
                      dispensed=dispensed, back=len(lp["back"]), got=len(lp["got"]))
    reasons = [head, reason("tc_max_uses", lp["max_uses"], uses=lp["max_uses"])]
    # a double scan at the till explains one code on two sales; many codes coming back do not
    score = 100.0 * (0.5 * saturate(n_codes - 1, 3.0) + 0.3 * saturate(n_cards - 1, 4.0)
                     + 0.2 * saturate(dispensed - n_codes - 1, 4.0))
    score = final_score(score, 0.0, False)
    over, money = money_reasons(total, fund, len(lp["claims"]), settings.transfer_threshold)
    reasons += money
    n_claims = {ph: n for ph, n, _a in facts.by_facility}
    amounts = {ph: a for ph, _n, a in facts.by_facility}
    members = [Member("facility", ph, "recycling pharmacy", n_claims.get(ph, 0), amounts.get(ph, Decimal("0.00")))
               for ph in again]
    members += [Member("facility", ph, "first-sale pharmacy", n_claims.get(ph, 0), amounts.get(ph, Decimal("0.00")))
                for ph in sorted(lp["first"] - set(again))]
    for c in sorted(lp["cards"]):
        role = ("card with a returned box and a recycled one" if c in lp["back"] and c in lp["got"]
                else "card with a returned box" if c in lp["back"] else "card that received a recycled box")
        members.append(Member("card", c, role, *per_card.get(c, (0, Decimal("0.00")))))
    members += [Member("drug", d, "reused drug") for d in sorted(lp["drugs"])]
    return Ring(kind=KIND, key=frozenset(lp["cards"]), score=round(score, 1), members=members, reasons=reasons,
                claim_ids=lp["claims"], total_amount=total, fund_amount=fund, first_date=first, last_date=last,
                over_transfer_threshold=over,
                facts={"codes": n_codes, "dispensed": dispensed, "max_uses": lp["max_uses"], "people": n_cards,
                       "pharmacies": again, "family": False})

def _run(con, settings: Settings, rings: list[Ring]) -> DetectorResult:
    return detect(con, settings)


DETECTOR = Detector(kind=KIND, prefix="TC", name={"zh": "追溯码重复", "en": "trace-code reuse"},
                    run=_run, reasons=REASONS, settings=TraceCodeReuseSettings, order=40)
