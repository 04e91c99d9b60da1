"""Two simple baselines the accuracy benchmark runs next to graphfraud's detectors, on the same
workspace tables (read through DuckDB):

* **raw co-occurrence + connected components** (``cooccur_components``): pairs of cards that
  met in the same context within the window, counted over distinct days; pairs meeting on at
  least ``min_days`` days are edges; every connected component of at least ``min_members``
  cards is a ring, ranked by the sum of its edges' counts. No null model, no community step.
* **plain FRAUDAR** (``fraudar_rings``): greedy peeling of the densest block of a bipartite
  card x column graph (Hooi et al., KDD 2016) with FRAUDAR's column weighting
  ``1 / log(degree + 5)``; after each block its edges are removed and the peeling is run
  again; each block's cards are a ring, ranked in the order found.

Both use the detectors' event filters (positive, unreversed settlements; pharmacies for
card collection, inpatient stays with an admission date and a diagnosis for cohorts), so
differences come from the method, not the input.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field

import numpy as np

#: positive, unreversed settlements with a card
_CLEAN = """
    c.total_amount > 0 AND c.card_id IS NOT NULL AND c.reverses_claim_id IS NULL
    AND c.claim_id NOT IN (SELECT reverses_claim_id FROM claims WHERE reverses_claim_id IS NOT NULL)"""


@dataclass
class BaselineRing:
    kind: str
    cards: frozenset[str]
    score: float
    #: facilities the ring's evidence comes from (for telling decoys apart)
    facilities: frozenset[str] = field(default_factory=frozenset)


# ------------------------------------------------------------------ events
def card_collection_events(con) -> int:
    """``bl_cc_ev(e, c, t)``: card, pharmacy, epoch seconds of each pharmacy settlement."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE bl_cc_ev AS
        SELECT c.card_id AS e, c.facility_id AS c, epoch(c.settled_at)::BIGINT AS t
        FROM claims c JOIN facilities f USING (facility_id)
        WHERE f.facility_type = 'pharmacy' AND c.settled_at IS NOT NULL AND {_CLEAN}""")
    return con.execute("SELECT count(*) FROM bl_cc_ev").fetchall()[0][0]


def cohort_events(con) -> int:
    """``bl_ca_ev(e, c, t, fac, dx, month)``: card, facility|diagnosis, admission day number
    of each inpatient stay."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE bl_ca_ev AS
        SELECT c.card_id AS e, c.facility_id || '|' || c.diagnosis_code AS c,
               date_diff('day', DATE '1970-01-01', c.admit_date)::BIGINT AS t,
               c.facility_id AS fac, strftime(c.admit_date, '%Y-%m') AS month
        FROM claims c
        WHERE c.claim_type = 'inpatient' AND c.admit_date IS NOT NULL AND c.diagnosis_code IS NOT NULL
          AND {_CLEAN}""")
    return con.execute("SELECT count(*) FROM bl_ca_ev").fetchall()[0][0]


# ------------------------------------------------------------------ baseline 1
def cooccur_components(con, kind: str, events: str, *, window: int, day: int, min_days: int,
                       min_members: int) -> list[BaselineRing]:
    """Raw pair counts + connected components on the events table ``events(e, c, t)``.

    Events are cut into buckets one window wide, so each event is joined only to its own and
    the neighbouring buckets of the same context (no quadratic self-join). A pair's count is
    the number of distinct days (``day`` units of ``t``) on which the two met within
    ``window`` in one context; a pair qualifying in several contexts adds each count to its
    ring's score."""
    import igraph as ig

    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE bl_pairs AS
        WITH x AS (SELECT e, c, t, t // {int(window)} AS w FROM {events}),
             y AS (SELECT e, c, t, w + s AS jw FROM x, (SELECT unnest([-1, 0, 1]) AS s))
        SELECT x.e AS a, y.e AS b, x.c, count(DISTINCT least(x.t, y.t) // {int(day)}) AS k
        FROM x JOIN y ON x.c = y.c AND x.w = y.jw
        WHERE x.e < y.e AND abs(x.t - y.t) <= {int(window)}
        GROUP BY ALL HAVING count(DISTINCT least(x.t, y.t) // {int(day)}) >= {int(min_days)}""")
    rows = con.execute("SELECT a, b, c, k FROM bl_pairs ORDER BY a, b, c").fetchnumpy()
    con.execute("DROP TABLE IF EXISTS bl_pairs")
    a, b = rows["a"], rows["b"]
    if not len(a):
        return []
    names, inv = np.unique(np.concatenate([a, b]), return_inverse=True)
    ia, ib = inv[: len(a)], inv[len(a):]
    g = ig.Graph(n=len(names), edges=np.column_stack([ia, ib]).tolist())
    memb = np.asarray(g.connected_components().membership)
    k = np.asarray(rows["k"], dtype=np.float64)
    ctx = np.asarray(rows["c"], dtype=object)
    comp_edges = memb[ia]
    sizes = np.bincount(memb)
    weight = np.bincount(comp_edges, weights=k, minlength=len(sizes))
    rings = []
    order = np.argsort(memb, kind="stable")
    starts = np.searchsorted(memb[order], np.arange(len(sizes) + 1))
    e_order = np.argsort(comp_edges, kind="stable")
    e_starts = np.searchsorted(comp_edges[e_order], np.arange(len(sizes) + 1))
    for r in np.nonzero(sizes >= min_members)[0]:
        cards = frozenset(names[order[starts[r]:starts[r + 1]]].tolist())
        contexts = {str(c).split("|")[0] for c in ctx[e_order[e_starts[r]:e_starts[r + 1]]]}
        rings.append(BaselineRing(kind, cards, float(weight[r]), frozenset(contexts)))
    rings.sort(key=lambda r: (-r.score, -len(r.cards), min(r.cards)))
    return rings


# ------------------------------------------------------------------ baseline 2
def fraudar_rings(con, kind: str, edges_sql: str, *, max_blocks: int = 20, min_members: int = 3,
                  weighted: bool = True) -> list[BaselineRing]:
    """Plain FRAUDAR on the bipartite graph given by ``edges_sql`` -> (card, col, fac, n):
    column weight ``1 / log(d_col + 5)`` with ``d_col`` the column's number of cards; an
    edge weighs ``n`` (its number of settlements; 1 when ``weighted`` is false) times its
    column's weight. Blocks are peeled greedily, their edges removed, up to ``max_blocks``
    blocks with at least ``min_members`` cards."""
    rows = con.execute(edges_sql).fetchnumpy()
    cards, ci = np.unique(rows["card"], return_inverse=True)
    cols, ji = np.unique(rows["col"], return_inverse=True)
    col_fac = {}
    for j, f in zip(ji.tolist(), rows["fac"].tolist()):
        col_fac[j] = f
    n = np.asarray(rows["n"], dtype=np.float64) if weighted else np.ones(len(ci))
    deg = np.bincount(ji, minlength=len(cols))
    w = n / np.log(deg[ji] + 5.0)
    active = np.ones(len(ci), dtype=bool)
    nc = len(cards)
    rings: list[BaselineRing] = []
    for _ in range(max_blocks * 3):
        if len(rings) >= max_blocks or not active.any():
            break
        idx = np.nonzero(active)[0]
        if len(cols) <= 200:  # few columns (pharmacies): the vectorised peel is faster
            block_cards, block_cols = _peel_batched(ci[idx], ji[idx], w[idx], nc, len(cols))
        else:
            block_cards, block_cols = _peel(ci[idx], ji[idx] + nc, w[idx], nc, nc + len(cols))
            block_cols = block_cols - nc
        inside = active & in_block(ci, ji, block_cards, block_cols, nc, len(cols))
        if not inside.any():
            break
        density = w[inside].sum() / (len(block_cards) + len(block_cols))
        active &= ~inside
        if len(block_cards) >= min_members:
            rings.append(BaselineRing(kind, frozenset(cards[block_cards].tolist()), float(density),
                                      frozenset(col_fac[int(j)] for j in block_cols)))
    return rings


def in_block(ci, ji, block_cards, block_cols, nc, ncol) -> np.ndarray:
    mc = np.zeros(nc, dtype=bool)
    mc[block_cards] = True
    mj = np.zeros(ncol, dtype=bool)
    mj[block_cols] = True
    return mc[ci] & mj[ji]


def _peel(u: np.ndarray, v: np.ndarray, w: np.ndarray, n_left: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Greedy peeling (Charikar; FRAUDAR with no node prior): remove the node of least
    weighted degree until nothing is left and return the nodes of the densest intermediate
    subgraph, density = total edge weight / number of nodes. ``u`` are left (card) nodes
    (``0..n_left``), ``v`` right (column) nodes (``n_left..n``). A heap with lazy deletion;
    ties go to the lower index."""
    ends = np.concatenate([u, v])
    other = np.concatenate([v, u])
    ww = np.concatenate([w, w])
    order = np.argsort(ends, kind="stable")
    ptr = np.searchsorted(ends[order], np.arange(n + 1)).tolist()
    nbr = other[order].tolist()
    nw = ww[order].tolist()
    present = np.bincount(ends, minlength=n) > 0
    cur = np.bincount(ends, weights=ww, minlength=n).tolist()
    heap = [(cur[i], i) for i in np.nonzero(present)[0].tolist()]
    heapq.heapify(heap)
    total = float(w.sum())
    size = len(heap)
    best, best_step = total / size, 0
    removed = bytearray(n)
    peeled: list[int] = []
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        d, x = pop(heap)
        if removed[x] or d != cur[x]:
            continue
        removed[x] = 1
        peeled.append(x)
        total -= d
        size -= 1
        for k in range(ptr[x], ptr[x + 1]):
            y = nbr[k]
            if not removed[y]:
                cur[y] -= nw[k]
                push(heap, (cur[y], y))
        if size and total / size > best:
            best, best_step = total / size, len(peeled)
    keep = present.copy()
    keep[np.asarray(peeled[:best_step], dtype=np.int64)] = False
    nodes = np.nonzero(keep)[0]
    return nodes[nodes < n_left], nodes[nodes >= n_left]


def _peel_batched(ci: np.ndarray, ji: np.ndarray, w: np.ndarray, nc: int, ncol: int) -> tuple[np.ndarray, np.ndarray]:
    """The same greedy peeling as ``_peel`` (same result), vectorised for graphs with few columns.

    Between two column removals card degrees do not change, so cards leave in order of
    degree (ties: lower index first, as in the heap) for as long as the next card's degree is
    at most the least column degree, which falls as cards leave. The first card breaking that
    rule is found for all columns at once: each column's degree is a step function of how
    many cards have left, so for every step the first card of higher degree is a
    ``searchsorted``. Those cards leave together, then the least column, and again. Rounds:
    at most one per column; returns the cards and columns of the densest subgraph seen."""
    dc = np.bincount(ci, weights=w, minlength=nc)
    dj = np.bincount(ji, weights=w, minlength=ncol)
    card_alive = np.bincount(ci, minlength=nc) > 0
    col_alive = np.bincount(ji, minlength=ncol) > 0
    eu, ev, ew = ci, ji, w
    total = float(w.sum())
    size = int(card_alive.sum() + col_alive.sum())
    best, best_step, step = total / size, 0, 0
    log: list[np.ndarray] = []
    while size > 0:
        cards = np.nonzero(card_alive)[0]
        if len(cards):
            rc = cards[np.lexsort((cards, dc[cards]))]
            d_sorted = dc[rc]
            n_r = len(rc)
            rank = np.empty(nc, dtype=np.int64)
            rank[rc] = np.arange(n_r)
            m = card_alive[eu] & col_alive[ev]
            eu, ev, ew = eu[m], ev[m], ew[m]
            er = rank[eu]
            so = np.lexsort((er, ev))
            sv, sr, sw = ev[so], er[so], ew[so]
            stop = n_r
            if len(sv):
                first = np.r_[True, sv[1:] != sv[:-1]]
                last = np.r_[sv[1:] != sv[:-1], True]
                cum = np.cumsum(sw)
                g0 = np.maximum.accumulate(np.where(first, np.arange(len(sv)), 0))
                removed_w = cum - (cum[g0] - sw[g0])  # column weight gone once this edge's card left
                seg_end = np.where(last, n_r - 1, np.r_[sr[1:], 0])
                cand = np.maximum(np.searchsorted(d_sorted, dj[sv] - removed_w, side="right"), sr + 1)
                ok = cand <= seg_end
                if ok.any():
                    stop = min(stop, int(cand[ok].min()))
            cols = np.nonzero(col_alive)[0]
            if len(cols):
                first_rank = np.full(ncol, n_r - 1, dtype=np.int64)
                if len(sv):
                    first_rank[sv[first]] = sr[first]
                c0 = np.searchsorted(d_sorted, dj[cols], side="right")
                ok0 = c0 <= first_rank[cols]
                if ok0.any():
                    stop = min(stop, int(c0[ok0].min()))
            if stop > 0:
                left = total - np.cumsum(d_sorted[:stop])
                sz = size - np.arange(1, stop + 1)
                dens = np.where(sz > 0, left / np.maximum(sz, 1), -np.inf)
                k = int(np.argmax(dens))
                if dens[k] > best:
                    best, best_step = float(dens[k]), step + k + 1
                total, size, step = float(left[-1]), int(sz[-1]), step + stop
                log.append(rc[:stop])
                card_alive[rc[:stop]] = False
                if len(sv):
                    gone = sr < stop
                    dj -= np.bincount(sv[gone], weights=sw[gone], minlength=ncol)
        cols = np.nonzero(col_alive)[0]
        if not len(cols):
            continue
        j = int(cols[np.argmin(dj[cols])])
        total -= float(dj[j])
        size -= 1
        step += 1
        log.append(np.array([nc + j]))
        if size and total / size > best:
            best, best_step = total / size, step
        col_alive[j] = False
        m = (ev == j) & card_alive[eu]
        np.subtract.at(dc, eu[m], ew[m])
    order = np.concatenate(log) if log else np.zeros(0, dtype=np.int64)
    keep = np.zeros(nc + ncol, dtype=bool)
    keep[np.unique(ci)] = True
    keep[nc + np.unique(ji)] = True
    keep[order[:best_step]] = False
    nodes = np.nonzero(keep)[0]
    return nodes[nodes < nc], nodes[nodes >= nc] - nc


# ------------------------------------------------------------------ per ring kind
def card_collection_baselines(con, *, window_minutes: int = 10, min_days: int = 3, min_members: int = 3,
                              max_blocks: int = 20) -> dict[str, tuple[list[BaselineRing], float]]:
    """Both baselines for card collection: method -> (rings, seconds)."""
    t0 = time.perf_counter()
    card_collection_events(con)
    t_ev = time.perf_counter() - t0
    t0 = time.perf_counter()
    cc = cooccur_components(con, "card_collection", "bl_cc_ev", window=window_minutes * 60, day=86400,
                            min_days=min_days, min_members=min_members)
    t_cc = time.perf_counter() - t0
    t0 = time.perf_counter()
    fr = fraudar_rings(con, "card_collection", """
        SELECT e AS card, c AS col, c AS fac, count(*)::DOUBLE AS n FROM bl_cc_ev GROUP BY e, c ORDER BY e, c""",
                       max_blocks=max_blocks, min_members=min_members)
    t_fr = time.perf_counter() - t0
    return {"cooccur_cc": (cc, t_ev + t_cc), "fraudar": (fr, t_ev + t_fr)}


def cohort_baselines(con, *, window_days: int = 1, min_days: int = 2, min_members: int = 3,
                     max_blocks: int = 20) -> dict[str, tuple[list[BaselineRing], float]]:
    """Both baselines for cohort admissions: method -> (rings, seconds). FRAUDAR's columns
    are (facility, diagnosis, admission month)."""
    t0 = time.perf_counter()
    cohort_events(con)
    t_ev = time.perf_counter() - t0
    t0 = time.perf_counter()
    cc = cooccur_components(con, "cohort_admission", "bl_ca_ev", window=window_days, day=1, min_days=min_days,
                            min_members=min_members)
    t_cc = time.perf_counter() - t0
    t0 = time.perf_counter()
    fr = fraudar_rings(con, "cohort_admission", """
        SELECT e AS card, c || '|' || month AS col, any_value(fac) AS fac, count(*)::DOUBLE AS n
        FROM bl_ca_ev GROUP BY e, c, month ORDER BY e, c, month""", max_blocks=max_blocks, min_members=min_members)
    t_fr = time.perf_counter() - t0
    return {"cooccur_cc": (cc, t_ev + t_cc), "fraudar": (fr, t_ev + t_fr)}


def drug_resale_baselines(con, *, window_days: int = 3, min_days: int = 3, min_members: int = 3,
                          max_blocks: int = 20) -> dict[str, tuple[list[BaselineRing], float]]:
    """Both baselines for drug resale: method -> (rings, seconds). The raw co-occurrence pairs
    cards that got the same drug from the same doctor within ``window_days``; plain FRAUDAR
    peels the card x (doctor, pharmacy, drug) graph of every purchase of a drug with a
    days-of-supply, with no excess-supply step."""
    t0 = time.perf_counter()
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE bl_dr_ev AS
        SELECT DISTINCT c.card_id AS e, c.doctor_id || '|' || i.item_code AS c,
               date_diff('day', DATE '1970-01-01', c.settled_at::DATE)::BIGINT AS t, c.facility_id AS fac
        FROM claims c JOIN items i USING (claim_id)
        WHERE i.days_supply > 0 AND c.doctor_id IS NOT NULL AND {_CLEAN}""")
    t_ev = time.perf_counter() - t0
    t0 = time.perf_counter()
    cc = cooccur_components(con, "drug_resale", "bl_dr_ev", window=window_days, day=1, min_days=min_days,
                            min_members=min_members)
    t_cc = time.perf_counter() - t0
    t0 = time.perf_counter()
    fr = fraudar_rings(con, "drug_resale", """
        SELECT e AS card, c || '|' || fac AS col, fac, count(*)::DOUBLE AS n
        FROM bl_dr_ev GROUP BY e, c, fac ORDER BY e, c, fac""", max_blocks=max_blocks, min_members=min_members)
    t_fr = time.perf_counter() - t0
    return {"cooccur_cc": (cc, t_ev + t_cc), "fraudar": (fr, t_ev + t_fr)}
