"""虚假住院 cohort_admission: a facility admits recruited people who are not really treated.
Signature: people admitted to the same facility within days of each other and with similar
lengths of stay, round after round, far beyond what their own admissions predict; members
often share a recruiter's phone and one attending doctor.

Real schemes do not line up perfectly: a batch is admitted over two or three days, the
diagnoses vary over a small set the facility bills, stays vary, and the recruiter's pool
rotates (not everyone every month). So the context is the facility alone (the diagnosis is a
reason, not a condition), a batch is ``window_days`` wide, and communities whose members were
admitted together on ``merge_min_days`` distinct days (covering ``merge_min_cover`` of the
pairs between them) are one scheme: the facility, its attending doctors, the pool, the months.

Legitimate groups stay out: a one-off mass admission (an accident, an outbreak) happens once,
and maternity admissions once per person, so no pair meets twice; a dialysis or
rehabilitation ward's regulars do meet month after month, but they are the facility's own
patients, seen in its outpatient clinics between stays, which a recruited pool is not.
"""

from __future__ import annotations

import statistics
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
    apply_merge,
    communities,
    enough_people,
    merge_pairs,
    ring_claims_from_meetings,
    ring_facts,
)
from graphfraud.detect.settings import Settings
from graphfraud.store.claims import live_claims

KIND = "cohort_admission"
PREFIX = "ca"
#: the profile of admissions over the period is kept in bins of this many days
PROFILE_DAYS = 30


@dataclass(frozen=True)
class CohortAdmissionSettings:
    """虚假住院: people admitted to one facility within days of each other with similar
    lengths of stay, again and again: a recruiter's pool, admitted in batches month after month.
    The diagnosis may vary (a scheme bills a small set of them), so it is not part of the
    match; the rounds of one scheme are one ring."""

    enabled: bool = True
    #: a batch is admitted over a few days: two admissions at most this many days apart meet
    window_days: int = 2
    los_tolerance_days: int = 3
    #: co-admissions on at least this many distinct dates
    min_days: int = 2
    #: lower than for settlements: a pair of people is admitted a few times a year at most, so
    #: one pair's evidence is thin; a cohort's strength shows in the whole group
    min_significance: float = 1.3
    min_members: int = 3
    elderly_age: int = 60
    #: two communities at one facility are one scheme when their members met (were admitted
    #: together) on at least this many distinct days ...
    merge_min_days: int = 2
    #: ... covering at least this share of the pairs between them (the pool rotates: not
    #: everyone meets everyone)
    merge_min_cover: float = 0.25
    #: members with at least this many outpatient visits at the facility outside the stays
    #: are its regular patients ...
    history_min_visits: int = 2
    #: ... and when they are at least this share of a group, it is a ward's regulars (dialysis,
    #: rehabilitation), not a recruited pool: its score keeps 30 %
    history_share: float = 0.6
    #: a scheme's diagnoses are this many times more concentrated (sum of squared shares) than
    #: as many random stays of the facility would be; a group whose diagnoses are the
    #: facility's usual mix keeps half its score
    min_dx_focus: float = 1.5


#: the reason texts of this kind: code -> (zh, en) template, filled by ``model.reason``
REASONS: dict[str, tuple[str, str]] = {
    "ca_cohort": (
        "{n} 人在 {facility} 于 {rounds} 个不同月份分批集中入院（同批相隔 {window} 天内），诊断主要为 {dx}",
        "{n} people admitted to {facility} in batches (within {window} day(s) of each other) in {rounds} different "
        "months, mostly with diagnoses {dx}",
    ),
    "ca_regulars": (
        "{share} 的成员在住院之外也在该机构门诊就诊（至少 {visits} 次），像是病区的固定病人（透析、康复），评分已下调",
        "{share} of the members also see the facility's outpatient clinics between stays (at least {visits} "
        "visits): likely a ward's regular patients (dialysis, rehabilitation); score lowered",
    ),
    "ca_dx_scattered": (
        "诊断分散：{n} 次住院的诊断与该机构住院病人的一般构成相当（集中度仅为其 {focus} 倍），"
        "不像同一批人按同一套诊断收治，评分已下调",
        "scattered diagnoses: the {n} stays' diagnoses are as mixed as the facility's inpatients in general "
        "(only {focus} times as concentrated), unlike a pool billed one small set; score lowered",
    ),
    "ca_no_history": (
        "{share} 的成员在住院之外从未在该机构就诊",
        "{share} of the members never saw the facility except for these stays",
    ),
    "ca_similar_los": (
        "住院天数相近：中位 {los} 天，四分位差 {iqr} 天",
        "similar lengths of stay: median {los} days, interquartile range {iqr} days",
    ),
    "ca_doctor": (
        "{share} 的住院由同一医师 {doctor} 收治",
        "{share} of the admissions were under one doctor, {doctor}",
    ),
}


def events(eng) -> int:
    """``ca_events``: one event per positive, unreversed inpatient settlement with an
    admission date; the context is the facility, the clock is the admission day and
    the attribute is the length of stay."""
    eng = engine_of(eng)
    live_claims(eng)
    eng.run("""
        CREATE OR REPLACE TEMP TABLE ca_events AS
        SELECT c.card_id AS entity, c.facility_id AS context,
               date_diff('day', DATE '1970-01-01', c.admit_date)::BIGINT AS t, c.claim_id,
               date_diff('day', c.admit_date, coalesce(c.discharge_date, c.settled_at::DATE))::DOUBLE AS attr
        FROM live_claims c
        WHERE c.claim_type = 'inpatient' AND c.admit_date IS NOT NULL AND c.total_amount > 0
          AND c.card_id IS NOT NULL""")
    return eng.rows("SELECT count(*) FROM ca_events")[0][0]


def spec(settings: Settings) -> Cooccurrence:
    s, e = settings.section(KIND), settings.engine
    return Cooccurrence(window=s.window_days, day=1, unit=None, bin=PROFILE_DAYS,
                        p_within_bin=p_within(s.window_days, PROFILE_DAYS, discrete=True),
                        min_days=s.min_days, min_significance=s.min_significance,
                        attr_tolerance=float(s.los_tolerance_days),
                        day_shrinkage=e.day_shrinkage, context_shrinkage=e.context_shrinkage,
                        max_weight=e.max_edge_weight)


def detect(con, settings: Settings) -> DetectorResult:
    s = settings.section(KIND)
    merged = [0]

    def merge(con, p: str) -> None:
        pairs = merge_pairs(con, p, "comm0", s.merge_min_days, s.merge_min_cover)
        merged[0] = apply_merge(con, p, same_doctors(con, p, pairs))

    with CooccurrencePass(con, PREFIX, events, spec(settings)) as run:
        n_rings = communities(con, run.pr, settings.engine, settings.seed, s.min_members, merge=merge)
        pruned = prune(con, PREFIX) if n_rings else 0
        run.lap("communities")
        facts = ring_facts(con, run.pr, s.elderly_age, seconds_per_t=86400) if n_rings else {}
        extra = _scheme_facts(con, s.history_min_visits) if n_rings else {}
        rings = enough_people([_ring(f, extra.get(f.r) or {}, settings) for f in facts.values()], s.min_members)
        run.lap("rings")
    return DetectorResult(KIND, rings, {**run.stats(n_rings), "merged_into_schemes": merged[0],
                                        "dropped_not_billed_alike": pruned, "too_few_people": len(facts) - len(rings),
                                        "ward_regulars": sum(1 for r in rings if r.facts.get("regulars"))})


def same_doctors(con, p: str, pairs: list[tuple[int, int]], share: float = 0.2) -> list[tuple[int, int]]:
    """The pairs of communities that share an attending doctor (one of at least ``share`` of
    a community's stays), or of which one has none: two pools of one hospital admitted by
    different doctors are two schemes, even when their batches meet."""
    if not pairs:
        return []
    docs: dict[int, set[str]] = {}
    for r, doctor in con.execute(f"""
            WITH s AS (SELECT cm.r, c.doctor_id FROM {p}_comm0 cm JOIN {p}_ev ev USING (e)
                       JOIN claims c USING (claim_id)),
                 n AS (SELECT r, count(*) AS n FROM s GROUP BY r)
            SELECT s.r, s.doctor_id FROM s JOIN n USING (r) WHERE s.doctor_id IS NOT NULL
            GROUP BY s.r, s.doctor_id, n.n HAVING count(*) >= ? * n.n""", [share]).fetchall():
        docs.setdefault(r, set()).add(doctor)
    return [(a, b) for a, b in pairs if not docs.get(a) or not docs.get(b) or docs[a] & docs[b]]


def prune(con, p: str, doctor_share: float = 0.2, dx_share: float = 0.15) -> int:
    """A scheme's stays are billed by its attending doctors with its small set of diagnoses;
    someone who was merely admitted at the same time, twice (a heavy user of a big hospital),
    came under other doctors with other diagnoses. The ring's doctors are those of at least
    ``doctor_share`` of its stays, its diagnoses the ICD-10 categories (three characters) of at
    least ``dx_share``. Where its doctors hold 70 % of its stays, a member must have half of
    their stays in the ring under them; otherwise under them or with its diagnoses. Others are
    dropped, with their meetings. Returns how many were dropped."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {p}_mstay AS
        SELECT cm.r, cm.e, c.claim_id, c.doctor_id, substr(c.diagnosis_code, 1, 3) AS cat
        FROM {p}_rclaims rc JOIN claims c USING (claim_id) JOIN {p}_ent en ON en.entity = c.card_id
        JOIN {p}_comm cm ON cm.e = en.e AND cm.r = rc.r""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {p}_drop AS
        WITH n AS (SELECT r, count(*) AS n FROM {p}_mstay GROUP BY r),
             doc AS (SELECT m.r, m.doctor_id FROM {p}_mstay m JOIN n USING (r) WHERE m.doctor_id IS NOT NULL
                     GROUP BY m.r, m.doctor_id, n.n HAVING count(*) >= ? * n.n),
             cat AS (SELECT m.r, m.cat FROM {p}_mstay m JOIN n USING (r) WHERE m.cat IS NOT NULL
                     GROUP BY m.r, m.cat, n.n HAVING count(*) >= ? * n.n),
             held AS (SELECT m.r, count(*) FILTER (WHERE d.doctor_id IS NOT NULL)::DOUBLE / any_value(n.n) AS share
                      FROM {p}_mstay m JOIN n USING (r) LEFT JOIN doc d ON d.r = m.r AND d.doctor_id = m.doctor_id
                      GROUP BY m.r),
             fit AS (SELECT m.r, m.e, count(*) AS stays,
                            count(*) FILTER (WHERE d.doctor_id IS NOT NULL) AS by_doctor,
                            count(*) FILTER (WHERE d.doctor_id IS NOT NULL OR k.cat IS NOT NULL) AS fitting
                     FROM {p}_mstay m LEFT JOIN doc d ON d.r = m.r AND d.doctor_id = m.doctor_id
                     LEFT JOIN cat k ON k.r = m.r AND k.cat = m.cat GROUP BY m.r, m.e)
        SELECT fit.r, fit.e FROM fit JOIN held USING (r)
        WHERE CASE WHEN held.share >= 0.7 THEN by_doctor ELSE fitting END < 0.5 * stays""", [doctor_share, dx_share])
    dropped = con.execute(f"SELECT count(*) FROM {p}_drop").fetchall()[0][0]
    if dropped:
        con.execute(f"DELETE FROM {p}_comm WHERE (r, e) IN (SELECT (r, e) FROM {p}_drop)")
        for t in ("redges", "rs"):
            con.execute(f"""DELETE FROM {p}_{t} WHERE (r, a) IN (SELECT (r, e) FROM {p}_drop)
                            OR (r, b) IN (SELECT (r, e) FROM {p}_drop)""")
        ring_claims_from_meetings(con, p)
    con.execute(f"DROP TABLE {p}_mstay")
    con.execute(f"DROP TABLE {p}_drop")
    return int(dropped)


def _scheme_facts(con, min_visits: int) -> dict[int, dict]:
    """Per ring: the diagnoses of its stays (most frequent first), the lengths of stay, and
    how many members see the facility outside these stays (its regular patients)."""
    out: dict[int, dict] = {}
    # how concentrated the diagnoses of all the facility's stays are (sum of squared shares)
    base = dict(con.execute("""
        WITH n AS (SELECT facility_id, diagnosis_code, count(*) AS n FROM live_claims
                   WHERE claim_type = 'inpatient' AND diagnosis_code IS NOT NULL GROUP BY ALL)
        SELECT facility_id, sum(n * n)::DOUBLE / (sum(n) * sum(n)) FROM n GROUP BY facility_id""").fetchall())
    for r, fac, dxs, los in con.execute(f"""
            SELECT rc.r, mode(c.facility_id), list(c.diagnosis_code) FILTER (WHERE c.diagnosis_code IS NOT NULL),
                   list(date_diff('day', c.admit_date, coalesce(c.discharge_date, c.settled_at::DATE)))
            FROM {PREFIX}_rclaims rc JOIN claims c USING (claim_id) GROUP BY rc.r""").fetchall():
        counts: dict[str, int] = {}
        for d in dxs or []:
            counts[d] = counts.get(d, 0) + 1
        ranked = sorted(counts, key=lambda d: (-counts[d], d))
        m = len(dxs or [])
        # the ring's concentration against what as many random stays of the facility would show
        mine = sum(v * v for v in counts.values()) / (m * m) if m else 1.0
        focus = mine / (base.get(fac, 0.0) + 1.0 / m) if m else 10.0
        out[r] = {"dx": ranked, "dx_focus": focus, "dx_mine": mine, "los": [int(x) for x in los or []]}
    for r, members, regulars in con.execute(f"""
            WITH fac AS (SELECT rc.r, mode(c.facility_id) AS facility_id FROM {PREFIX}_rclaims rc
                         JOIN claims c USING (claim_id) GROUP BY rc.r),
                 m AS (SELECT cm.r, en.entity AS card_id FROM {PREFIX}_comm cm JOIN {PREFIX}_ent en USING (e)),
                 visits AS (
                    SELECT m.r, m.card_id, count(c.claim_id) AS n
                    FROM m JOIN fac USING (r)
                    LEFT JOIN live_claims c ON c.card_id = m.card_id AND c.facility_id = fac.facility_id
                         AND c.claim_type = 'outpatient'
                    GROUP BY m.r, m.card_id)
            SELECT r, count(*), count(*) FILTER (WHERE n >= ?) FROM visits GROUP BY r""", [min_visits]).fetchall():
        out.setdefault(r, {}).update({"members": members, "regulars": regulars})
    return out


def _ring(f: RingFacts, extra: dict, settings: Settings) -> Ring:
    s = settings.section(KIND)
    h = f.holders
    n = len(f.cards)
    facility = f.contexts[0][0] if f.contexts else "?"
    dxs = extra.get("dx") or []
    dx = "、".join(dxs[:3]) or "?"
    stays = extra.get("los") or []
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
    seen, regular = int(extra.get("members") or 0), int(extra.get("regulars") or 0)
    ward = bool(seen) and regular >= s.history_share * seen
    if ward:
        share = regular / seen
        reasons.insert(0, reason("ca_regulars", round(share, 3), share=fmt_share(share), visits=s.history_min_visits))
    elif seen and regular == 0:
        bonus += 3.0
        reasons.append(reason("ca_no_history", 1.0, share=fmt_share(1.0)))
    # a recruited pool is billed one small set of diagnoses; people who only happen to be
    # admitted together (heavy users of a big hospital) have the facility's usual mix
    focus = float(extra.get("dx_focus", 10.0))
    # (where one diagnosis dominates, the group is as concentrated as can be: nothing to judge)
    scattered = focus < s.min_dx_focus and float(extra.get("dx_mine", 1.0)) < 0.5
    if scattered:
        reasons.insert(0, reason("ca_dx_scattered", round(focus, 2), n=len(dxs), focus=f"{focus:.1f}"))
    score = final_score(score, bonus, family or ward)
    if scattered and not (family or ward):
        score *= 0.5
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
                facts={"people": people, "days": f.days, "rounds": rounds, "diagnosis_code": dxs[0] if dxs else None,
                       "diagnosis_codes": dxs[:5], "strength": round(f.strength, 2), "observed": f.observed,
                       "expected": round(f.expected, 3), "family": family, "regulars": ward,
                       "dx_focus": round(focus, 2)})

def _run(con, settings: Settings, rings: list[Ring]) -> DetectorResult:
    return detect(con, settings)


DETECTOR = Detector(kind=KIND, prefix="CA", name={"zh": "虚假住院", "en": "cohort admission"},
                    run=_run, reasons=REASONS, settings=CohortAdmissionSettings, order=20)
