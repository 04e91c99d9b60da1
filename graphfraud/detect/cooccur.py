"""The co-occurrence engine: entities seen in the same context within a time window, counted
over distinct days and scored against what chance predicts.

Input is a table of events ``(entity, context, t, claim_id, attr)``: a card (entity) settled
at a pharmacy (context) at second ``t``; a card admitted to a hospital for one diagnosis on
day ``t`` with a length of stay ``attr``. The engine is generic; a detector chooses what
entity, context, clock and window mean.

**Pairs without a quadratic self-join.** Events are cut into buckets one window wide. Two
events within the window lie in the same bucket or in neighbouring ones, so each event is
joined only to its own and the next bucket of the same context. A pharmacy with thousands of
settlements a day costs what its busiest minutes cost, not the square of its volume.

**The null model.** For each pair we count ``k``, the distinct days on which the two met
within the window (and, when ``attr_tolerance`` is set, with similar attributes). Chance
predicts::

    lambda = sum over co-presence units u of  n_a(u) * n_b(u) * q(c, u) * p_attr(c)

- a *co-presence unit* is the span within which both must be present to meet at all: one
  day for settlements (both went to that pharmacy that day), the whole period for
  admissions. Conditioning on co-presence means a member-day crowd, a busy pharmacy or two
  people who both shop there every month are only credited with what their own presence
  makes likely;
- ``q(c, u)`` is the probability that two independent events of context ``c`` in unit ``u``
  fall within the window: ``sum_b f(b)^2 * p_within_bin`` over the time-profile bins ``b``
  (hours of the day; months of the period). The profile ``f`` of one unit is its own
  events shrunk towards its context's profile, which is shrunk towards the profile of all
  contexts (pseudo-counts ``day_shrinkage``, ``context_shrinkage``), so a crowded member day
  predicts many meetings while one small pharmacy's quiet day does not predict few;
- ``p_attr(c)`` is the share of meetings at ``c`` with similar attributes (shrunk towards
  the share over all contexts).

The significance of a pair is ``-log10 P(X >= k)`` for ``X ~ Poisson(lambda)``, computed
with the upper bound ``P(X >= k) <= P(X = k) / (1 - lambda / (k + 1))`` so it never
overstates the evidence. Pairs meeting on at least ``min_days`` days with a significance of
at least ``min_significance`` are the edges of the projection graph.

All names of temporary tables come from code (a prefix chosen by the detector); values come
only from the events table, never from text built into the SQL.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from graphfraud.detect.engine import DuckDBEngine, engine_of, offload_engine, on_engine


@dataclass(frozen=True)
class Cooccurrence:
    #: two events meet when ``|t_a - t_b| <= window``
    window: int
    #: length of a "day" in the units of ``t`` (distinct days are counted in these)
    day: int
    #: length of the co-presence unit in the units of ``t``; ``None``: the whole period
    unit: int | None
    #: width of a time-profile bin in the units of ``t`` (at least ``2 * window``)
    bin: int
    #: probability that two events in the same bin meet (see ``p_within``)
    p_within_bin: float
    min_days: int
    min_significance: float
    attr_tolerance: float | None = None
    day_shrinkage: float = 100.0
    context_shrinkage: float = 100.0
    max_weight: float = 30.0


def p_within(window: float, bin_width: float, *, discrete: bool = False) -> float:
    """P(|t_a - t_b| <= window) for two times uniform in one bin: ``1 - (1 - w/B)^2`` for a
    continuous clock; ``(B + 2 * sum_{d=1..w} (B - d)) / B^2`` for whole days."""
    if discrete:
        b, w = int(bin_width), int(window)
        return min(1.0, (b + 2 * sum(b - d for d in range(1, w + 1))) / (b * b))
    r = min(1.0, window / bin_width)
    return 1.0 - (1.0 - r) ** 2


@dataclass
class PairResult:
    """The engine's output, as temporary tables on the connection:

    - ``{prefix}_ent(e, entity)`` and ``{prefix}_ctx(c, context)``: integer codes;
    - ``{prefix}_sig(a, b, c, k, lam, nlp, co_units, first_day, last_day)``: the significant
      pairs (``a < b``) per context;
    - ``{prefix}_support(a, b, c, d, claim_a, claim_b, t_a, t_b)``: every meeting of a
      significant pair, with the claims behind it.
    """

    prefix: str
    n_events: int
    n_meetings: int  # pairs of events within the window (of entities that could reach min_days)
    n_candidates: int  # pairs meeting on at least min_days days
    n_significant: int
    #: seconds per step, for run.json
    timings: dict[str, float] = field(default_factory=dict)

    def table(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    def edges(self, con, max_weight: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(a, b, weight) of the projection graph: one edge per pair, its weight the
        strongest significance over the contexts where they met, capped."""
        rows = engine_of(con).columns(
            f"SELECT a, b, least(max(nlp), ?) FROM {self.table('sig')} GROUP BY a, b ORDER BY a, b", [max_weight])
        return (np.asarray(rows["a"], dtype=np.int64), np.asarray(rows["b"], dtype=np.int64),
                np.asarray(rows[list(rows)[2]], dtype=np.float64))


def cooccurrence(con, events: str, spec: Cooccurrence, prefix: str, *, keep_meetings: bool = False) -> PairResult:
    """Run the engine on the events table (or view) named ``events``; see the module doc.
    With ``keep_meetings`` every meeting of two events within the window (significant pair or
    not, among the entities present on ``min_days`` days) stays in ``{prefix}_pe(a, b, c, d,
    ia, ib, ok)``: a detector that groups rings into schemes needs the meetings between them.
    ``con`` is a DuckDB connection or an ``engine.Engine`` (the same SQL on Spark)."""
    eng = engine_of(con)
    off = offload_engine()
    if off is not None and isinstance(eng, DuckDBEngine):
        return _offloaded(con, events, spec, prefix, keep_meetings)
    p = prefix
    win, day = int(spec.window), int(spec.day)
    timings: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(step: str) -> None:
        now = time.perf_counter()
        timings[step] = round(now - clock[0], 3)
        clock[0] = now

    for name in ("ent", "ctx", "ev", "evj", "pe", "cand", "prof", "cprof", "gprof", "q", "pattr", "sig", "support"):
        eng.run(f"DROP TABLE IF EXISTS {p}_{name}")
    eng.run(f"CREATE TEMP TABLE {p}_ent AS SELECT (row_number() OVER (ORDER BY entity) - 1)::INTEGER AS e, entity "
                f"FROM (SELECT DISTINCT entity FROM {events})")
    eng.run(f"CREATE TEMP TABLE {p}_ctx AS SELECT (row_number() OVER (ORDER BY context) - 1)::INTEGER AS c, "
                f"context FROM (SELECT DISTINCT context FROM {events})")
    t0 = eng.rows(f"SELECT coalesce(min(t), 0) FROM {events}")[0][0]
    if spec.unit is None:
        unit_expr, bin_expr = "0", f"((ev.t - {int(t0)}) // {int(spec.bin)})"
    else:
        unit_expr = f"(ev.t // {int(spec.unit)})"
        bin_expr = f"((ev.t % {int(spec.unit)}) // {int(spec.bin)})"
    attr = "ev.attr" if spec.attr_tolerance is not None else "NULL::DOUBLE"
    eng.run(f"""
        CREATE TEMP TABLE {p}_ev AS
        SELECT (row_number() OVER (ORDER BY ev.t, en.e, cx.c, ev.claim_id) - 1)::BIGINT AS i, en.e, cx.c, ev.t::BIGINT AS t,
               (ev.t // {day})::INTEGER AS d, {unit_expr}::INTEGER AS u, {bin_expr}::INTEGER AS bn,
               (ev.t // {win})::BIGINT AS w, {attr} AS attr, ev.claim_id
        FROM {events} ev JOIN {p}_ent en USING (entity) JOIN {p}_ctx cx USING (context)""")
    n_events = eng.rows(f"SELECT count(*) FROM {p}_ev")[0][0]
    lap("events")

    # only an entity present on min_days distinct days at a context can meet anyone there on
    # that many days: the others shape the time profiles but are left out of the join
    eng.run(f"""
        CREATE TEMP TABLE {p}_evj AS
        SELECT ev.i, ev.e, ev.c, ev.t, ev.w, ev.attr FROM {p}_ev ev
        SEMI JOIN (SELECT e, c FROM {p}_ev GROUP BY e, c HAVING count(DISTINCT d) >= {int(spec.min_days)}) keep
            USING (e, c)""")
    # every meeting of two events within the window: own bucket (once per unordered pair)
    # and the next bucket
    attr_ok = "TRUE" if spec.attr_tolerance is None else f"abs(x.attr - y.attr) <= {float(spec.attr_tolerance)}"
    eng.run(f"""
        CREATE TEMP TABLE {p}_pe AS
        WITH y AS (
            SELECT i, e, c, t, attr, w AS jw, TRUE AS same FROM {p}_evj
            UNION ALL
            SELECT i, e, c, t, attr, w - 1 AS jw, FALSE AS same FROM {p}_evj)
        SELECT least(x.e, y.e) AS a, greatest(x.e, y.e) AS b, x.c, (least(x.t, y.t) // {day})::INTEGER AS d,
               CASE WHEN x.e < y.e THEN x.i ELSE y.i END AS ia,
               CASE WHEN x.e < y.e THEN y.i ELSE x.i END AS ib,
               coalesce({attr_ok}, FALSE) AS ok
        FROM {p}_evj x JOIN y ON x.c = y.c AND x.w = y.jw
        WHERE x.e <> y.e AND abs(x.t - y.t) <= {win} AND (NOT y.same OR x.e < y.e)""")
    eng.run(f"DROP TABLE {p}_evj")
    n_meetings = eng.rows(f"SELECT count(*) FROM {p}_pe")[0][0]
    lap("join")

    # share of meetings with similar attributes, per context, shrunk towards the overall share
    if spec.attr_tolerance is None:
        eng.run(f"CREATE TEMP TABLE {p}_pattr AS SELECT c, 1.0::DOUBLE AS p_attr FROM {p}_ctx")
    else:
        eng.run(f"""
            CREATE TEMP TABLE {p}_pattr AS
            WITH per AS (SELECT c, count(*) AS n, count(*) FILTER (WHERE ok) AS n_ok FROM {p}_pe GROUP BY c),
                 tot AS (SELECT sum(n_ok)::DOUBLE / greatest(sum(n), 1) AS share FROM per)
            SELECT c, (n_ok + 20 * tot.share) / (n + 20) AS p_attr FROM per, tot""")

    eng.run(f"""
        CREATE TEMP TABLE {p}_cand AS
        SELECT a, b, c, count(DISTINCT d) AS k, min(d) AS first_day, max(d) AS last_day
        FROM {p}_pe WHERE ok GROUP BY a, b, c HAVING count(DISTINCT d) >= {int(spec.min_days)}""")
    n_candidates = eng.rows(f"SELECT count(*) FROM {p}_cand")[0][0]
    lap("candidates")

    # time profiles: the region's G(bin), each context's g(c, bin) shrunk towards G, and per
    # unit the sums needed for sum_b f(b)^2 with f shrunk towards g (expanded algebraically so
    # empty bins need no rows)
    beta, alpha = float(spec.context_shrinkage), float(spec.day_shrinkage)
    eng.run(f"""
        CREATE TEMP TABLE {p}_gprof AS
        SELECT bn, count(*)::DOUBLE / (SELECT count(*) FROM {p}_ev) AS G FROM {p}_ev GROUP BY bn""")
    eng.run(f"""
        CREATE TEMP TABLE {p}_cprof AS
        WITH n AS (SELECT c, bn, count(*)::DOUBLE AS n FROM {p}_ev GROUP BY c, bn),
             tot AS (SELECT c, sum(n) AS N FROM n GROUP BY c),
             g2 AS (SELECT sum(G * G) AS G2 FROM {p}_gprof)
        SELECT n.c, n.bn, (n.n + {beta} * gp.G) / (tot.N + {beta}) AS g,
               -- sum over all bins of g^2 for the context
               (sum(n.n * n.n) OVER w + 2 * {beta} * sum(n.n * gp.G) OVER w + {beta} * {beta} * g2.G2)
                   / ((tot.N + {beta}) * (tot.N + {beta})) AS sum_g2
        FROM n JOIN tot USING (c) JOIN {p}_gprof gp USING (bn), g2
        WINDOW w AS (PARTITION BY n.c)""")
    eng.run(f"""
        CREATE TEMP TABLE {p}_q AS
        WITH n AS (SELECT c, u, bn, count(*)::DOUBLE AS n FROM {p}_ev GROUP BY c, u, bn)
        SELECT n.c, n.u,
               least(1.0, (sum(n.n * n.n) + 2 * {alpha} * sum(n.n * cp.g) + {alpha} * {alpha} * any_value(cp.sum_g2))
                          / ((sum(n.n) + {alpha}) * (sum(n.n) + {alpha})) * {float(spec.p_within_bin)}) AS q
        FROM n JOIN {p}_cprof cp USING (c, bn) GROUP BY n.c, n.u""")

    lap("profiles")
    # expected meetings of each candidate pair from its own presence, and the significance
    eng.run(f"""
        CREATE TEMP TABLE {p}_sig AS
        WITH eu AS (SELECT e, c, u, count(*) AS n FROM {p}_ev
                    WHERE e IN (SELECT a FROM {p}_cand UNION SELECT b FROM {p}_cand) GROUP BY e, c, u),
             lam AS (
                SELECT cand.a, cand.b, cand.c, sum(ea.n * eb.n * q.q) * any_value(pa.p_attr) AS lam,
                       count(*) AS co_units
                FROM {p}_cand cand
                JOIN eu ea ON ea.e = cand.a AND ea.c = cand.c
                JOIN eu eb ON eb.e = cand.b AND eb.c = cand.c AND eb.u = ea.u
                JOIN {p}_q q ON q.c = cand.c AND q.u = ea.u
                JOIN {p}_pattr pa ON pa.c = cand.c
                GROUP BY cand.a, cand.b, cand.c)
        SELECT cand.a, cand.b, cand.c, cand.k, lam.lam, lam.co_units, cand.first_day, cand.last_day,
               {nlp_sql("cand.k", "lam.lam", spec.max_weight, eng.ln_factorial)} AS nlp
        FROM {p}_cand cand JOIN lam USING (a, b, c)""")
    eng.run(f"DELETE FROM {p}_sig WHERE nlp < {float(spec.min_significance)}")
    n_sig = eng.rows(f"SELECT count(*) FROM {p}_sig")[0][0]
    lap("significance")
    eng.run(f"""
        CREATE TEMP TABLE {p}_support AS
        SELECT pe.a, pe.b, pe.c, pe.d, xa.claim_id AS claim_a, xb.claim_id AS claim_b, xa.t AS t_a, xb.t AS t_b
        FROM {p}_pe pe SEMI JOIN {p}_sig s USING (a, b, c)
        JOIN {p}_ev xa ON xa.i = pe.ia JOIN {p}_ev xb ON xb.i = pe.ib
        WHERE pe.ok""")
    lap("support")
    for name in ("cand", "gprof", "cprof") if keep_meetings else ("pe", "cand", "gprof", "cprof"):
        eng.run(f"DROP TABLE IF EXISTS {p}_{name}")
    return PairResult(p, n_events, n_meetings, n_candidates, n_sig, timings)


#: the engine's tables the detectors read afterwards (``pe`` only with ``keep_meetings``)
RESULT_TABLES = ("ent", "ctx", "ev", "pattr", "q", "sig", "support")


def result_tables(prefix: str, keep_meetings: bool) -> dict[str, str]:
    """What of the engine's tables a detector's small steps need back from another engine
    (``engine.on_engine``'s ``keep``): all of the small ones, and of the events only those of
    the entities in a significant pair or a kept meeting (the communities' facts and the
    absorption of rotating members read no others)."""
    p = prefix
    out = {f"{p}_{name}": f"SELECT * FROM {p}_{name}" for name in RESULT_TABLES}
    who = f"SELECT a FROM {p}_sig UNION SELECT b FROM {p}_sig"
    if keep_meetings:
        who += f" UNION SELECT a FROM {p}_pe UNION SELECT b FROM {p}_pe"
        out[f"{p}_pe"] = f"SELECT * FROM {p}_pe"
    out[f"{p}_ev"] = f"SELECT * FROM {p}_ev WHERE e IN ({who})"
    return out


def _offloaded(con, events: str, spec: Cooccurrence, prefix: str, keep_meetings: bool) -> PairResult:
    """The engine on the offload engine (Spark) for events made on DuckDB: they go as
    Parquet through the engine's staging folder, the result tables come back."""
    t0 = time.perf_counter()
    with on_engine(con, keep=result_tables(prefix, keep_meetings)) as eng:
        path = eng.staging() / f"{events}-{prefix}.parquet"
        con.execute(f"COPY (SELECT * FROM {events}) TO '{str(path).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)")
        eng.read_parquet(events, str(path))
        t1 = time.perf_counter()
        pr = cooccurrence(eng, events, spec, prefix, keep_meetings=keep_meetings)
        t2 = time.perf_counter()
    pr.timings.update({"to_engine": round(t1 - t0, 3), "from_engine": round(time.perf_counter() - t2, 3)})
    return pr


def nlp_sql(k: str, lam: str, no_chance: float, ln_factorial=lambda x: f"lgamma({x} + 1)") -> str:
    """``poisson_nlp`` as a SQL expression over two column expressions (written by code, never
    from data); ``no_chance`` is the value when chance predicts nothing (lam <= 0);
    ``ln_factorial`` spells ln(k!) in the engine's SQL."""
    return (f"CASE WHEN {lam} <= 0 THEN {float(no_chance)} WHEN {lam} >= {k} THEN 0.0 "
            f"ELSE greatest(0.0, ({lam} - {k} * ln({lam}) + {ln_factorial(k)}) / ln(10) "
            f"+ log10(1 - {lam} / ({k} + 1))) END")


def poisson_nlp(k: float, lam: float) -> float:
    """-log10 of the engine's upper bound on P(X >= k), X ~ Poisson(lam) (for tests and docs)."""
    if lam <= 0:
        return math.inf
    if lam >= k:
        return 0.0
    return max(0.0, (lam - k * math.log(lam) + math.lgamma(k + 1)) / math.log(10) + math.log10(1 - lam / (k + 1)))
