"""虚假住院 cohort_admission: a facility admits recruited people who are not really treated.
Signature: people admitted to the same facility with the same diagnosis within a day of each
other and with a similar length of stay, month after month, far beyond what their own
admissions predict; members often share a recruiter's phone."""

from __future__ import annotations

import statistics
import time
from decimal import Decimal

from graphfraud.detect.claims import live_claims
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
from graphfraud.detect.rings import RingFacts, communities, ring_facts
from graphfraud.detect.settings import Settings

KIND = "cohort_admission"
PREFIX = "ca"
#: the profile of admissions over the period is kept in bins of this many days
PROFILE_DAYS = 30


def events(con) -> int:
    """``ca_events``: one event per positive, unreversed inpatient settlement with an
    admission date; the context is (facility, diagnosis), the clock is the admission day and
    the attribute is the length of stay."""
    live_claims(con)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE ca_events AS
        SELECT c.card_id AS entity, c.facility_id || '|' || c.diagnosis_code AS context,
               date_diff('day', DATE '1970-01-01', c.admit_date)::BIGINT AS t, c.claim_id,
               date_diff('day', c.admit_date, coalesce(c.discharge_date, c.settled_at::DATE))::DOUBLE AS attr
        FROM live_claims c
        WHERE c.claim_type = 'inpatient' AND c.admit_date IS NOT NULL AND c.total_amount > 0
          AND c.card_id IS NOT NULL AND c.diagnosis_code IS NOT NULL""")
    return con.execute("SELECT count(*) FROM ca_events").fetchall()[0][0]


def spec(settings: Settings) -> Cooccurrence:
    s, e = settings.cohort_admission, settings.engine
    return Cooccurrence(window=s.window_days, day=1, unit=None, bin=PROFILE_DAYS,
                        p_within_bin=p_within(s.window_days, PROFILE_DAYS, discrete=True),
                        min_days=s.min_days, min_significance=s.min_significance,
                        attr_tolerance=float(s.los_tolerance_days),
                        day_shrinkage=e.day_shrinkage, context_shrinkage=e.context_shrinkage,
                        max_weight=e.max_edge_weight)


def detect(con, settings: Settings) -> DetectorResult:
    s = settings.cohort_admission
    t_select = time.perf_counter()
    n_events = events(con)
    t_select = time.perf_counter() - t_select
    pr = cooccurrence(con, "ca_events", spec(settings), PREFIX)
    t0 = time.perf_counter()
    n_rings = communities(con, pr, settings.engine, settings.seed, s.min_members)
    t1 = time.perf_counter()
    facts = ring_facts(con, pr, s.elderly_age, seconds_per_t=86400) if n_rings else {}
    los = dict(con.execute("""
        SELECT rc.r, list(date_diff('day', c.admit_date, coalesce(c.discharge_date, c.settled_at::DATE)))
        FROM ca_rclaims rc JOIN claims c USING (claim_id) GROUP BY rc.r""").fetchall()) if n_rings else {}
    # a ring is people: several cards of one or two holders are not
    rings = [r for r in (_ring(f, los.get(f.r) or [], settings) for f in facts.values())
             if r.facts["people"] >= s.min_members]
    timings = {"select": round(t_select, 3), **pr.timings, "communities": round(t1 - t0, 3), "rings": round(time.perf_counter() - t1, 3)}
    stats = {"timings_s": timings, "events": n_events, "meetings": pr.n_meetings, "candidate_pairs": pr.n_candidates,
             "significant_pairs": pr.n_significant, "communities": n_rings,
             "too_few_people": len(facts) - len(rings)}
    return DetectorResult(KIND, rings, stats)


def _ring(f: RingFacts, stays: list[int], settings: Settings) -> Ring:
    s = settings.cohort_admission
    h = f.holders
    n = len(f.cards)
    context = f.contexts[0][0] if f.contexts else "?|?"
    facility, _, dx = context.partition("|")
    rounds = f.months or f.days
    reasons = [reason("ca_cohort", rounds, n=n, facility=facility, dx=dx, rounds=rounds, window=s.window_days),
               reason("cooccur_vs_chance", round(f.observed / max(f.expected, 1e-9), 1),
                      observed=fmt_num(f.observed), expected=fmt_num(f.expected, 2))]
    score = base_score(f.strength, f.observed, f.expected, rounds, n)
    bonus = 0.0
    if stays:
        q = statistics.quantiles(stays, n=4) if len(stays) >= 2 else [stays[0]] * 3
        iqr = q[2] - q[0]
        reasons.append(reason("ca_similar_los", statistics.median(stays), los=fmt_num(float(statistics.median(stays))),
                              iqr=fmt_num(float(iqr))))
    if f.by_doctor:
        doctor, (n_doc, _amount) = next(iter(f.by_doctor.items()))
        share = n_doc / max(f.n_claims, 1)
        if share >= 0.6:
            bonus += 3.0
            reasons.append(reason("ca_doctor", round(share, 3), share=fmt_share(share), doctor=doctor))
    same_addr, same_phone = int(h.get("same_address") or 0), int(h.get("same_phone") or 0)
    people = int(h.get("people") or n)
    family = looks_like_family(people, same_addr, same_phone)
    if same_phone >= 2 and not family:
        bonus += min(8.0, 2.0 * same_phone)
        reasons.append(reason("shared_phone", same_phone, same=same_phone))
    with_age = int(h.get("with_age") or 0)
    if with_age:
        share = int(h["elderly"]) / with_age
        if share >= 0.5:
            bonus += 4.0 * share
            reasons.append(reason("elderly_holders", round(share, 3), share=fmt_share(share), age=s.elderly_age))
    if family:
        reasons.insert(0, reason("family_shared_address", same_addr, n=people, same=same_addr, phone=same_phone))
    score = final_score(score, bonus, family)
    over, money = money_reasons(f.total, f.fund, f.n_claims, settings.transfer_threshold)
    reasons += money

    members = [Member("card", c, "admitted card", *f.card_claims.get(c, (0, Decimal("0.00")))) for c in f.cards]
    members += [Member("facility", fid, "admitting facility", n_fac, amount)
                for fid, (n_fac, amount) in f.by_facility.items() if fid == facility]
    members += [Member("doctor", did, "attending doctor", n_doc, amount)
                for did, (n_doc, amount) in f.by_doctor.items() if n_doc >= 0.3 * f.n_claims]
    if same_phone >= 2 and h.get("top_phone"):
        members.append(Member("phone", str(h["top_phone"]), "shared phone", same_phone))
        members += [Member("patient", pid, "phone holder") for pid in h.get("phone_holders") or []]
    return Ring(kind=KIND, key=frozenset(f.cards), score=round(score, 1), members=members, reasons=reasons,
                claim_ids=f.claim_ids, total_amount=f.total, fund_amount=f.fund, first_date=f.first,
                last_date=f.last, over_transfer_threshold=over,
                facts={"people": people, "days": f.days, "rounds": rounds, "diagnosis_code": dx, "strength": round(f.strength, 2),
                       "observed": f.observed, "expected": round(f.expected, 3), "family": family})
