"""From communities of the projection graph to rings: the meetings, claims, totals and
holder facts behind each community, computed in DuckDB for all rings at once."""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pyarrow as pa

from graphfraud.detect.communities import leiden
from graphfraud.detect.cooccur import Cooccurrence, PairResult, cooccurrence, nlp_sql, result_tables
from graphfraud.detect.engine import Engine, on_engine
from graphfraud.detect.settings import EngineSettings
from graphfraud.store.claims import live_claims


class CooccurrencePass:
    """The skeleton of a co-occurrence ring detector (card collection, cohort admission):
    its events, then the pairs that meet beyond chance (``pr``, with every meeting kept in
    ``{prefix}_pe`` until the pass ends), then the detector's own steps from communities to
    rings, each timed with ``lap``; ``stats`` gives the counts every such detector reports.

        with CooccurrencePass(con, "cc", lambda eng: events(eng, settings), spec(settings),
                              reads=("claims", "facilities")) as run:
            n = communities(con, run.pr, ...); run.lap("communities")
            ...
            return DetectorResult(KIND, rings, {**run.stats(n), "merged_into_schemes": m})

    The events and the engine are the heavy steps (``engine.on_engine``: they run where the
    canonical tables ``reads`` are); the engine's result tables are on ``con`` afterwards.
    """

    def __init__(self, con, prefix: str, events: Callable[[Engine], int], spec: Cooccurrence,
                 reads: Sequence[str] = ("claims",)) -> None:
        self.con, self.prefix = con, prefix
        t0 = time.perf_counter()
        with on_engine(con, reads=reads, keep=result_tables(prefix, keep_meetings=True)) as eng:
            self.events = events(eng)
            t1 = time.perf_counter()
            self.timings: dict[str, float] = {"select": round(t1 - t0, 3)}
            self.pr = cooccurrence(eng, f"{prefix}_events", spec, prefix, keep_meetings=True)
            t2 = time.perf_counter()
        self.timings.update(self.pr.timings)
        if eng.name != "duckdb":
            self.timings["from_engine"] = round(time.perf_counter() - t2, 3)
            live_claims(con)  # the detector's own steps read it on the connection
        self._lap = time.perf_counter()

    def __enter__(self) -> CooccurrencePass:
        return self

    def __exit__(self, *exc) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {self.prefix}_pe")

    def lap(self, step: str) -> None:
        """The time since the previous lap (or the pairs) is ``step``'s."""
        now = time.perf_counter()
        self.timings[step] = round(now - self._lap, 3)
        self._lap = now

    def stats(self, n_communities: int) -> dict:
        return {"timings_s": self.timings, "events": self.events, "meetings": self.pr.n_meetings,
                "candidate_pairs": self.pr.n_candidates, "significant_pairs": self.pr.n_significant,
                "communities": n_communities}


def enough_people(rings: list, min_members: int) -> list:
    """A ring is people: several cards of one or two holders (a card and an e-voucher) are not."""
    return [ring for ring in rings if ring.facts["people"] >= min_members]


@dataclass
class RingFacts:
    """Everything known about one community before a detector words and scores it."""

    r: int
    cards: list[str]
    claim_ids: list[str] = field(default_factory=list)
    n_claims: int = 0
    total: Decimal = Decimal("0.00")
    fund: Decimal = Decimal("0.00")
    first: dt.date | None = None
    last: dt.date | None = None
    days: int = 0
    months: int = 0
    observed: int = 0  # sum of k over internal edges
    expected: float = 0.0  # sum of lambda over internal edges
    strength: float = 0.0  # median over members of their strongest internal tie (-log10 p)
    card_claims: dict[str, tuple[int, Decimal]] = field(default_factory=dict)
    contexts: list[tuple[str, int, int]] = field(default_factory=list)  # (context, days, claims), busiest first
    median_gap: float = 0.0  # median time between the two events of a meeting, in the clock's units
    holders: dict[str, object] = field(default_factory=dict)
    #: the ring's claims by facility, terminal and doctor: id -> (claims, amount), busiest first
    by_facility: dict[str, tuple[int, Decimal]] = field(default_factory=dict)
    by_terminal: dict[str, tuple[int, Decimal]] = field(default_factory=dict)
    by_doctor: dict[str, tuple[int, Decimal]] = field(default_factory=dict)


def communities(con, pr: PairResult, engine: EngineSettings, seed: int, min_members: int,
                main_share: float = 0.4, merge=None) -> int:
    # (the igraph and Leiden seconds go into the engine's timings)
    """Leiden on the significant pairs, then each community is cut to its own contexts: the
    contexts holding at least ``main_share`` of its meeting days (or the busiest one). A
    member who is tied to the group only elsewhere (a ring member's family at their home
    pharmacy) is not part of the ring. Communities of at least ``min_members`` are kept in
    ``{prefix}_comm(e, r)``, their meetings in ``{prefix}_rs``, their edges in
    ``{prefix}_redges`` and their claims in ``{prefix}_rclaims``. ``merge(con, prefix)``, when
    given, may renumber ``{prefix}_comm0(e, r)`` first (a detector joining the communities of
    one scheme). Returns their number."""
    p = pr.prefix
    a, b, w = pr.edges(con, engine.max_edge_weight)
    nodes, member = leiden(a, b, w, objective=engine.leiden_objective, resolution=engine.leiden_resolution,
                           iterations=engine.leiden_iterations, seed=seed, timings=pr.timings)
    comm = pa.table({"e": pa.array(nodes.astype(np.int32)), "r": pa.array(member.astype(np.int32))})
    con.register(f"{p}_comm_arrow", comm)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {p}_comm0 AS SELECT * FROM {p}_comm_arrow")
    con.unregister(f"{p}_comm_arrow")
    if merge is not None:
        merge(con, p)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {p}_e0 AS
        SELECT ca.r, s.* FROM {p}_sig s
        JOIN {p}_comm0 ca ON ca.e = s.a JOIN {p}_comm0 cb ON cb.e = s.b AND cb.r = ca.r""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {p}_main AS
        WITH days AS (SELECT ca.r, s.c, count(DISTINCT s.d) AS n FROM {p}_support s
                      JOIN {p}_comm0 ca ON ca.e = s.a JOIN {p}_comm0 cb ON cb.e = s.b AND cb.r = ca.r
                      GROUP BY ca.r, s.c),
             ranked AS (SELECT r, c, n, n::DOUBLE / sum(n) OVER (PARTITION BY r) AS share,
                               row_number() OVER (PARTITION BY r ORDER BY n DESC, c) AS rk FROM days)
        SELECT r, c FROM ranked WHERE share >= ? OR rk = 1""", [main_share])
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {p}_comm AS
        WITH kept AS (SELECT DISTINCT e0.r, x.e FROM {p}_e0 e0 SEMI JOIN {p}_main m USING (r, c),
                      LATERAL (SELECT unnest([e0.a, e0.b]) AS e) x)
        SELECT e, r FROM kept WHERE r IN (SELECT r FROM kept GROUP BY r HAVING count(*) >= ?)""", [min_members])
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {p}_redges AS
        SELECT e0.* FROM {p}_e0 e0 SEMI JOIN {p}_main m USING (r, c)
        WHERE e0.r IN (SELECT r FROM {p}_comm)""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {p}_rs AS
        SELECT re.r, s.* FROM {p}_support s JOIN {p}_redges re USING (a, b, c)""")
    ring_claims_from_meetings(con, p)
    for name in ("comm0", "e0", "main"):
        con.execute(f"DROP TABLE IF EXISTS {p}_{name}")
    return con.execute(f"SELECT count(DISTINCT r) FROM {p}_comm").fetchall()[0][0]


def ring_claims_from_meetings(con, p: str) -> None:
    """``{p}_rclaims(r, claim_id)``: the claims of every meeting a ring holds (``{p}_rs``)."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {p}_rclaims AS
        SELECT DISTINCT r, claim_id FROM (SELECT r, claim_a AS claim_id FROM {p}_rs
                                          UNION ALL SELECT r, claim_b FROM {p}_rs)""")


def merge_pairs(con, p: str, table: str, min_days: int, min_cover: float,
                only: set[int] | None = None) -> list[tuple[int, int]]:
    """Pairs of communities (of ``{p}_{table}(e, r)``) whose members met each other on at
    least ``min_days`` distinct days, covering at least ``min_cover`` of the pairs between
    them: the parts of one scheme that Leiden split because not everyone meets everyone (a
    pool that rotates, cards present on some sessions only). ``{p}_pe`` must hold every
    meeting (``cooccurrence(..., keep_meetings=True)``); ``only`` restricts to some
    communities."""
    rows = con.execute(f"""
        WITH sizes AS (SELECT r, count(*) AS n FROM {p}_{table} GROUP BY r),
             cross_ AS (
                SELECT least(ca.r, cb.r) AS r1, greatest(ca.r, cb.r) AS r2, pe.c,
                       count(DISTINCT pe.d) AS days, count(DISTINCT (pe.a, pe.b)) AS pairs
                FROM {p}_pe pe JOIN {p}_{table} ca ON ca.e = pe.a JOIN {p}_{table} cb ON cb.e = pe.b
                WHERE ca.r <> cb.r AND pe.ok GROUP BY ALL)
        SELECT x.r1, x.r2 FROM cross_ x JOIN sizes s1 ON s1.r = x.r1 JOIN sizes s2 ON s2.r = x.r2
        WHERE x.days >= ? AND x.pairs >= ? * s1.n * s2.n
        ORDER BY x.r1, x.r2""", [min_days, min_cover]).fetchall()
    return [(a, b) for a, b in rows if only is None or (a in only and b in only)]


def apply_merge(con, p: str, pairs: list[tuple[int, int]]) -> int:
    """Renumber ``{p}_comm0`` so that each pair's communities (and whatever they join through
    other pairs) are one; returns how many communities were joined into another."""
    if not pairs:
        return 0
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    mapping = {r: find(r) for r in list(parent)}
    con.execute(f"CREATE OR REPLACE TEMP TABLE {p}_remap AS SELECT unnest(?::INTEGER[]) AS r, "
                f"unnest(?::INTEGER[]) AS r_new", [list(mapping), list(mapping.values())])
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {p}_comm0 AS
        SELECT c.e, coalesce(m.r_new, c.r) AS r FROM {p}_comm0 c LEFT JOIN {p}_remap m USING (r)""")
    con.execute(f"DROP TABLE {p}_remap")
    return sum(1 for r, root in mapping.items() if r != root)


def absorb(con, pr: PairResult, only: set[int], min_days: int, min_significance: float, no_chance: float,
           window: int, rounds: int = 3) -> int:
    """Cards outside every community that met the members of one of the ``only`` communities,
    at its main context, on at least ``min_days`` distinct days, far beyond what chance
    predicts (``-log10 p >= min_significance``), join it with those meetings: a card the broker
    swipes on a few sessions only meets each other card too seldom to be tied to it, but
    meets the stack again and again. Chance: on each day the card was there, each of its
    events falls within the window of one of the ring's bursts (its events on that day, one
    per ``window``-wide bucket) with the engine's probability ``q`` for the day. Repeated
    ``rounds`` times, as the rings grow. Needs ``{p}_pe``. Returns ring -> how many joined it."""
    p = pr.prefix
    if not only:
        return {}
    con.execute(f"CREATE OR REPLACE TEMP TABLE {p}_only AS SELECT unnest(?::INTEGER[]) AS r", [sorted(only)])
    grown: dict[int, int] = {}
    for _ in range(rounds):
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {p}_abs AS
            WITH ctx AS (SELECT r, c FROM (SELECT r, c, row_number() OVER (PARTITION BY r
                                                  ORDER BY count(DISTINCT d) DESC, c) AS k
                                           FROM {p}_rs GROUP BY r, c) WHERE k = 1),
                 mem AS (SELECT cm.e, cm.r, ctx.c FROM {p}_comm cm SEMI JOIN {p}_only USING (r) JOIN ctx USING (r)),
                 hit AS (SELECT m.r, m.c, CASE WHEN pe.a = m.e THEN pe.b ELSE pe.a END AS x, pe.d, pe.ia, pe.ib,
                                pe.a, pe.b
                         FROM {p}_pe pe JOIN mem m ON m.c = pe.c AND (pe.a = m.e OR pe.b = m.e) WHERE pe.ok),
                 outside AS (SELECT * FROM hit ANTI JOIN {p}_comm cm ON cm.e = hit.x),
                 days AS (SELECT r, c, x, count(DISTINCT d) AS k FROM outside GROUP BY ALL
                          HAVING count(DISTINCT d) >= ?),
                 bursts AS (SELECT m.r, m.c, ev.u, count(DISTINCT ev.t // ?) AS b
                            FROM {p}_ev ev JOIN mem m ON m.e = ev.e AND m.c = ev.c GROUP BY ALL),
                 mine AS (SELECT ev.e AS x, ev.c, ev.u, count(*) AS n FROM {p}_ev ev
                          SEMI JOIN days d ON d.x = ev.e AND d.c = ev.c GROUP BY ALL),
                 lam AS (SELECT d.r, d.c, d.x, sum(mi.n * q.q * b.b) * any_value(pa.p_attr) AS lam
                         FROM days d JOIN mine mi ON mi.x = d.x AND mi.c = d.c
                         JOIN bursts b ON b.r = d.r AND b.c = d.c AND b.u = mi.u
                         JOIN {p}_q q ON q.c = d.c AND q.u = mi.u JOIN {p}_pattr pa ON pa.c = d.c
                         GROUP BY d.r, d.c, d.x),
                 scored AS (SELECT d.r, d.x, {nlp_sql("d.k", "l.lam", no_chance)} AS nlp
                            FROM days d JOIN lam l USING (r, c, x)),
                 -- a card close to two rings joins the one it fits best
                 best AS (SELECT r, x FROM (SELECT *, row_number() OVER (PARTITION BY x ORDER BY nlp DESC, r) AS k
                                            FROM scored WHERE nlp >= ?) WHERE k = 1)
            SELECT o.* FROM outside o SEMI JOIN best b ON b.r = o.r AND b.x = o.x""",
                    [min_days, int(window), min_significance])
        added = con.execute(f"SELECT r, count(DISTINCT x) FROM {p}_abs GROUP BY r").fetchall()
        if not added:
            break
        for r, n in added:
            grown[r] = grown.get(r, 0) + n
        con.execute(f"INSERT INTO {p}_comm SELECT DISTINCT x AS e, r FROM {p}_abs")
        con.execute(f"""
            INSERT INTO {p}_rs SELECT ab.r, ab.a, ab.b, ab.c, ab.d, xa.claim_id, xb.claim_id, xa.t, xb.t
            FROM {p}_abs ab JOIN {p}_ev xa ON xa.i = ab.ia JOIN {p}_ev xb ON xb.i = ab.ib""")
    if grown:
        ring_claims_from_meetings(con, p)
    con.execute(f"DROP TABLE IF EXISTS {p}_abs")
    con.execute(f"DROP TABLE {p}_only")
    return grown


def ring_facts(con, pr: PairResult, elderly_age: int, seconds_per_t: int = 1,
               only: set[int] | None = None) -> dict[int, RingFacts]:
    """Totals, days, tie strength, members' own claims and holder facts per ring.
    ``seconds_per_t``: 1 when the events' clock is in seconds, 86400 when in days. ``only``:
    the facts of these rings alone (the others are left as they were), read from copies of the
    ring tables cut to them."""
    if only is not None:
        q = pr.prefix + "x"
        ids = sorted(only)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {q}_only AS SELECT unnest(?::INTEGER[]) AS r", [ids])
        for name in ("comm", "rclaims", "rs", "redges"):
            con.execute(f"CREATE OR REPLACE TEMP TABLE {q}_{name} AS SELECT * FROM {pr.prefix}_{name} "
                        f"SEMI JOIN {q}_only USING (r)")
        for name in ("ent", "ctx"):
            con.execute(f"CREATE OR REPLACE TEMP VIEW {q}_{name} AS SELECT * FROM {pr.prefix}_{name}")
        try:
            return ring_facts(con, dataclasses.replace(pr, prefix=q), elderly_age, seconds_per_t)
        finally:
            for name in ("only", "comm", "rclaims", "rs", "redges", "holder", "centroid"):
                con.execute(f"DROP TABLE IF EXISTS {q}_{name}")
            for name in ("ent", "ctx"):
                con.execute(f"DROP VIEW IF EXISTS {q}_{name}")
    p = pr.prefix
    facts: dict[int, RingFacts] = {}
    for r, cards in con.execute(f"""
            SELECT cm.r, list(en.entity ORDER BY en.entity) FROM {p}_comm cm JOIN {p}_ent en USING (e)
            GROUP BY cm.r""").fetchall():
        facts[r] = RingFacts(r, cards)

    # exact totals of the claims behind each ring (DECIMAL sums, no float on the way)
    for r, ids, n, total, fund, first, last in con.execute(f"""
            SELECT rc.r, list(rc.claim_id ORDER BY c.settled_at, rc.claim_id), count(*),
                   sum(c.total_amount), sum(coalesce(c.fund_amount, 0)),
                   min(c.settled_at)::DATE, max(c.settled_at)::DATE
            FROM {p}_rclaims rc JOIN claims c USING (claim_id) GROUP BY rc.r""").fetchall():
        f = facts[r]
        f.claim_ids, f.n_claims, f.total, f.fund, f.first, f.last = ids, n, Decimal(total), Decimal(fund), first, last

    for r, days, months, gap in con.execute(f"""
            SELECT r, count(DISTINCT d),
                   count(DISTINCT strftime(to_timestamp(least(t_a, t_b) * {int(seconds_per_t)})::DATE, '%Y-%m')),
                   median(abs(t_a - t_b))
            FROM {p}_rs GROUP BY r""").fetchall():
        facts[r].days, facts[r].months, facts[r].median_gap = days, months, float(gap or 0)

    tie: dict[int, dict[int, float]] = defaultdict(dict)
    for r, a, b, k, lam, nlp in con.execute(f"SELECT r, a, b, k, lam, nlp FROM {p}_redges").fetchall():
        f = facts[r]
        f.observed += k
        f.expected += lam
        for e in (a, b):
            tie[r][e] = max(tie[r].get(e, 0.0), nlp)
    for r, per in tie.items():
        facts[r].strength = statistics.median(per.values())

    for r, card, n, amount in con.execute(f"""
            SELECT rc.r, c.card_id, count(*), sum(c.total_amount)
            FROM {p}_rclaims rc JOIN claims c USING (claim_id) GROUP BY rc.r, c.card_id""").fetchall():
        facts[r].card_claims[card] = (n, Decimal(amount))

    for r, ctx, days, n in con.execute(f"""
            SELECT rs.r, cx.context, count(DISTINCT rs.d), count(DISTINCT rs.claim_a) + count(DISTINCT rs.claim_b)
            FROM {p}_rs rs JOIN {p}_ctx cx USING (c) GROUP BY rs.r, cx.context
            ORDER BY rs.r, 3 DESC, 4 DESC, 2""").fetchall():
        facts[r].contexts.append((ctx, days, n))

    for column, attr in (("facility_id", "by_facility"), ("terminal_id", "by_terminal"), ("doctor_id", "by_doctor")):
        for r, key, n, amount in con.execute(f"""
                SELECT rc.r, c.{column}, count(*), sum(c.total_amount)
                FROM {p}_rclaims rc JOIN claims c USING (claim_id) WHERE c.{column} IS NOT NULL
                GROUP BY rc.r, c.{column} ORDER BY rc.r, 3 DESC, 4 DESC, 2""").fetchall():
            getattr(facts[r], attr)[key] = (n, Decimal(amount))

    _holder_facts(con, p, facts, elderly_age)
    return facts


def _holder_facts(con, p: str, facts: dict[int, RingFacts], elderly_age: int) -> None:
    """Who holds the ring's cards: ages, shared addresses and phones, districts, distance
    from home district to the ring's facilities."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {p}_holder AS
        WITH rc AS (SELECT cm.r, en.entity AS card_id FROM {p}_comm cm JOIN {p}_ent en USING (e)),
             by_claims AS (SELECT card_id, mode(patient_id) AS patient_id FROM claims
                           WHERE card_id IN (SELECT card_id FROM rc) GROUP BY card_id)
        SELECT rc.r, rc.card_id, coalesce(k.patient_id, bc.patient_id) AS patient_id
        FROM rc LEFT JOIN cards k USING (card_id) LEFT JOIN by_claims bc USING (card_id)""")
    # district centroids from the facilities' coordinates, for "how far from home"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {p}_centroid AS
        SELECT region_code, avg(latitude) AS lat, avg(longitude) AS lon FROM facilities
        WHERE latitude IS NOT NULL AND longitude IS NOT NULL GROUP BY region_code""")
    rows = con.execute(f"""
        WITH ring_fac AS (
            SELECT rc.r, mode(c.facility_id) AS facility_id, max(c.settled_at)::DATE AS last_day
            FROM {p}_rclaims rc JOIN claims c USING (claim_id) GROUP BY rc.r),
        h AS (
            SELECT h.r, h.card_id, pt.patient_id, pt.address, pt.phone, pt.insured_region,
                   date_diff('year', pt.birth_date, rf.last_day)
                     - CASE WHEN strftime(pt.birth_date, '%m%d') > strftime(rf.last_day, '%m%d') THEN 1 ELSE 0 END
                     AS age,
                   CASE WHEN hc.lat IS NOT NULL AND f.latitude IS NOT NULL THEN
                     6371 * 2 * asin(sqrt(pow(sin(radians(f.latitude - hc.lat) / 2), 2)
                       + cos(radians(hc.lat)) * cos(radians(f.latitude)) * pow(sin(radians(f.longitude - hc.lon) / 2), 2)))
                   END AS km,
                   f.region_code AS facility_region
            FROM {p}_holder h JOIN ring_fac rf USING (r)
            LEFT JOIN patients pt ON pt.patient_id = h.patient_id
            LEFT JOIN facilities f ON f.facility_id = rf.facility_id
            LEFT JOIN {p}_centroid hc ON hc.region_code = pt.insured_region),
        -- one row per person: someone holding a card and an e-voucher counts once
        hp AS (SELECT DISTINCT ON (r, coalesce(patient_id, 'card:' || card_id)) * FROM h)
        SELECT r, count(*) AS n, count(age) AS n_age, count(*) FILTER (WHERE age >= ?) AS elderly,
               count(DISTINCT insured_region) AS regions, median(km) AS km,
               count(*) FILTER (WHERE insured_region IS NOT NULL AND insured_region <> facility_region) AS outside,
               list(address) FILTER (WHERE address IS NOT NULL) AS addresses,
               list(phone) FILTER (WHERE phone IS NOT NULL) AS phones,
               list(patient_id) FILTER (WHERE patient_id IS NOT NULL) AS patients,
               list(DISTINCT patient_id) FILTER (WHERE patient_id IS NOT NULL) AS distinct_patients
        FROM hp GROUP BY r""", [elderly_age]).fetchall()
    holder_phone = dict(con.execute(f"""
        SELECT h.patient_id, pt.phone FROM {p}_holder h JOIN patients pt USING (patient_id)
        WHERE pt.phone IS NOT NULL""").fetchall())
    for r, n, n_age, elderly, regions, km, outside, addresses, phones, patients, distinct in rows:
        top_addr, same_addr = _most_common(addresses)
        top_phone, same_phone = _most_common(phones)
        facts[r].holders = {
            "n": n, "with_age": n_age, "elderly": elderly, "regions": regions, "km": km, "outside": outside,
            "top_address": top_addr, "same_address": same_addr, "top_phone": top_phone, "same_phone": same_phone,
            "phone_holders": sorted({pid for pid in distinct or [] if holder_phone.get(pid) == top_phone})
            if same_phone >= 2 else [],
            "patients": len(distinct or []), "people": n,
        }


def _most_common(values: list[str] | None) -> tuple[str | None, int]:
    if not values:
        return None, 0
    counts: dict[str, int] = defaultdict(int)
    for v in values:
        counts[v] += 1
    top = max(sorted(counts), key=lambda v: counts[v])
    return top, counts[top]
