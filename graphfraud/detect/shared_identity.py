"""共用身份 shared_identity: people tied by one phone or one address far beyond a household,
whose cards also do something suspicious: round-amount purchases (cashing out through the
e-voucher), purchases refunded a few days later, membership in another ring (the claims behind
a hub are those odd purchases and refunds, and its members' claims in the other rings). A family of
three sharing a phone is not a hub; a care home sharing an address but buying nothing odd is
not reported. Phones and addresses are pseudonyms: the ring names the pseudonym, never the
number or the address."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

import pyarrow as pa

from graphfraud.detect.claims import ClaimFacts, claim_facts
from graphfraud.detect.engine import on_engine
from graphfraud.detect.model import (
    DetectorResult,
    Member,
    Ring,
    final_score,
    fmt_share,
    money_reasons,
    reason,
    saturate,
)
from graphfraud.detect.registry import Detector
from graphfraud.detect.settings import Settings
from graphfraud.store.claims import live_claims

KIND = "shared_identity"


@dataclass(frozen=True)
class SharedIdentitySettings:
    """共用身份: a phone or address shared far beyond a household, by people whose cards do
    something suspicious."""

    enabled: bool = True
    #: people registered with one phone or address to make it a hub (a household is smaller)
    min_people: int = 6
    #: hub members with suspicious activity needed to report the hub
    min_suspicious_people: int = 3
    #: a purchase of a whole number of hundreds of yuan, at least this much, is "round"
    round_amount_min: int = 100
    #: round purchases that make a card's activity suspicious (any refund or other ring does)
    min_round_buys: int = 3


#: the reason texts of this kind: code -> (zh, en) template, filled by ``model.reason``
REASONS: dict[str, tuple[str, str]] = {
    "si_hub_phone": (
        "{people} 名参保人登记了同一个电话号码，远超一户人家",
        "{people} insured people registered the same phone number, far more than one household",
    ),
    "si_hub_address": (
        "{people} 名参保人登记在同一个地址，远超一户人家",
        "{people} insured people are registered at the same address, far more than one household",
    ),
    "si_round": (
        "整百元（至少 {minimum} 元）的购药 {buys} 笔",
        "{buys} purchases of whole hundreds of yuan (at least {minimum} yuan)",
    ),
    "si_refunds": (
        "{refunds} 笔购药事后被冲销退款",
        "{refunds} purchases were refunded (reversed) afterwards",
    ),
    "si_in_rings": (
        "其中 {n} 张卡也出现在本次检测的其他团伙中",
        "{n} of their cards also belong to other rings of this run",
    ),
    "si_share": (
        "这些人中 {share} 有上述可疑行为",
        "{share} of these people show such activity",
    ),
    "si_tie_phone": (
        "{n} 名成员的持卡人与共用电话 {hub} 的人群相关联",
        "{n} members' holders belong to the group sharing phone {hub}",
    ),
    "si_tie_address": (
        "{n} 名成员的持卡人与共用地址 {hub} 的人群相关联",
        "{n} members' holders belong to the group sharing address {hub}",
    ),
}


def detect(con, settings: Settings, other_rings: list[Ring] | None = None) -> DetectorResult:
    s = settings.section(KIND)
    t0 = time.perf_counter()
    in_rings = sorted({m.entity_id for r in other_rings or [] for m in r.members if m.entity_type == "card"})
    # the hubs and what their members' cards did are the heavy steps (every person, every
    # claim of a hub's members); the members' cards come back for the rings
    with on_engine(con, reads=("patients", "claims"), keep=("si_card",)) as eng:
        hubs = _hubs(eng, settings, in_rings, sorted({c for r in other_rings or [] for c in r.claim_ids}))
    rings = []
    chosen = []
    for tie, hub, people, odd_people, round_buys, refunded, in_ring in hubs:
        if odd_people < s.min_suspicious_people:
            continue
        chosen.append((tie, hub, people, odd_people, int(round_buys), int(refunded), in_ring))
    cards = {}
    for tie, hub, *_ in chosen:
        cards[(tie, hub)] = con.execute("""
            SELECT card_id, patient_id, round_buys, refunded, in_ring, odd_claims FROM si_card
            WHERE tie = ? AND hub = ? ORDER BY card_id""", [tie, hub]).fetchall()
    facts = claim_facts(con, {k: sorted({cid for *_, odd in rows for cid in (odd or [])}) for k, rows in cards.items()})
    for tie, hub, *rest in chosen:
        rings.append(_ring(settings, tie, hub, *rest, cards=cards[(tie, hub)], facts=facts[(tie, hub)]))
    stats = {"timings_s": {"all": round(time.perf_counter() - t0, 3)}, "hubs": len(hubs), "rings": len(rings)}
    return DetectorResult(KIND, rings, stats)


def _hubs(eng, settings: Settings, in_rings: list[str], ring_claims: list[str]) -> list[tuple]:
    """``si_card``: per hub (a phone or an address shared by ``min_people``) and member card,
    its round-amount buys, refunds, odd claims and whether it is in another ring; returns the
    hubs with their counts."""
    s = settings.section(KIND)
    eng.run("""
        CREATE OR REPLACE TEMP TABLE si_hub AS
        SELECT 'phone' AS tie, phone AS hub, patient_id FROM patients WHERE phone IS NOT NULL
          AND phone IN (SELECT phone FROM patients WHERE phone IS NOT NULL GROUP BY phone HAVING count(*) >= ?)
        UNION ALL
        SELECT 'address', address, patient_id FROM patients WHERE address IS NOT NULL
          AND address IN (SELECT address FROM patients WHERE address IS NOT NULL GROUP BY address
                          HAVING count(*) >= ?)""", [s.min_people, s.min_people])
    live_claims(eng)  # for reversed_claims
    eng.put("si_ring_cards", pa.table({"card_id": pa.array(sorted(set(in_rings)), pa.string())}))
    # the claims behind the other rings: a hub member's part in them is part of the hub's case
    eng.put("si_ring_claims", pa.table({"claim_id": pa.array(ring_claims, pa.string())}))
    # what each hub member's cards did: round amounts, refunds, other rings
    eng.run("""
        CREATE OR REPLACE TEMP TABLE si_card AS
        WITH cards_of AS (
            SELECT DISTINCT h.tie, h.hub, h.patient_id, c.card_id FROM si_hub h JOIN claims c USING (patient_id)),
        lines AS (
            SELECT co.tie, co.hub, co.patient_id, co.card_id, c.claim_id, c.total_amount, c.reverses_claim_id,
                   rv.claim_id IS NOT NULL AS refunded, rcl.claim_id IS NOT NULL AS in_other,
                   c.total_amount >= ? AND c.total_amount % 100 = 0 AS round_amount
            FROM cards_of co JOIN claims c USING (card_id)
            LEFT JOIN reversed_claims rv ON rv.claim_id = c.claim_id
            LEFT JOIN si_ring_claims rcl ON rcl.claim_id = c.claim_id)
        SELECT l.tie, l.hub, l.patient_id, l.card_id,
               count(*) FILTER (WHERE l.round_amount AND l.reverses_claim_id IS NULL) AS round_buys,
               count(*) FILTER (WHERE l.refunded) AS refunded,
               list(l.claim_id) FILTER (WHERE l.round_amount OR l.refunded OR l.reverses_claim_id IS NOT NULL
                                        OR l.in_other) AS odd_claims,
               bool_or(rc.card_id IS NOT NULL) AS in_ring
        FROM lines l LEFT JOIN si_ring_cards rc ON rc.card_id = l.card_id
        GROUP BY l.tie, l.hub, l.patient_id, l.card_id""", [Decimal(s.round_amount_min)])
    return eng.rows("""
        SELECT tie, hub, count(DISTINCT patient_id) AS people,
               count(DISTINCT patient_id) FILTER (WHERE round_buys >= ? OR refunded > 0 OR in_ring) AS odd_people,
               sum(round_buys), sum(refunded), count(DISTINCT patient_id) FILTER (WHERE in_ring)
        FROM si_card GROUP BY tie, hub ORDER BY tie, hub""", [s.min_round_buys])


def _ring(settings: Settings, tie: str, hub: str, people: int, odd_people: int, round_buys: int,
          refunded: int, in_ring: int, *, cards: list[tuple], facts: ClaimFacts) -> Ring:
    s = settings.section(KIND)
    patients = sorted({pid for _, pid, _, _, _, _ in cards})
    odd_cards = [c for c, _, rb, rf, ir, _ in cards if rb >= s.min_round_buys or rf > 0 or ir]
    claim_ids = sorted({cid for *_, odd in cards for cid in (odd or [])})
    total, fund, first, last = facts.total, facts.fund, facts.first, facts.last
    per_card, pharmacies = facts.by_card, facts.by_facility
    share = odd_people / people
    reasons = [reason("si_hub_phone" if tie == "phone" else "si_hub_address", people, people=people)]
    if round_buys:
        reasons.append(reason("si_round", round_buys, buys=round_buys, minimum=s.round_amount_min))
    if refunded:
        reasons.append(reason("si_refunds", refunded, refunds=refunded))
    if in_ring:
        reasons.append(reason("si_in_rings", in_ring, n=in_ring))
    reasons.append(reason("si_share", round(share, 3), share=fmt_share(share)))
    score = 100.0 * (0.35 * saturate(people - s.min_people + 1, 6.0) + 0.35 * share
                     + 0.30 * saturate(round_buys + 3 * refunded + 10 * in_ring, 40.0))
    score = final_score(score, 0.0, False)
    over, money = money_reasons(total, fund, len(claim_ids), settings.transfer_threshold)
    reasons += money
    members = [Member(tie, hub, f"shared {tie}", people)]
    members += [Member("patient", pid, f"{tie} holder") for pid in patients]
    members += [Member("card", c, "card", *per_card.get(c, (0, Decimal("0.00")))) for c in odd_cards]
    members += [Member("facility", f, "pharmacy", n, Decimal(a)) for f, n, a in pharmacies[:5]]
    return Ring(kind=KIND, key=frozenset(odd_cards) or frozenset({f"{tie}:{hub}"}), score=round(score, 1),
                members=members, reasons=reasons, claim_ids=claim_ids, total_amount=total, fund_amount=fund,
                first_date=first, last_date=last, over_transfer_threshold=over,
                facts={"tie": tie, "people": people, "suspicious_people": odd_people, "round_buys": round_buys,
                       "refunded": refunded, "in_other_rings": in_ring, "family": False})

# last: members of the other rings are suspicious activity
DETECTOR = Detector(kind=KIND, prefix="SI", name={"zh": "共用身份", "en": "shared identity"},
                    run=detect, reasons=REASONS, settings=SharedIdentitySettings, order=90)
