"""药品倒卖 drug_resale: recruited card holders obtain a drug far beyond any clinical need,
often from the same few doctors, and hand it to a collector who resells it.

1. **Excess supply.** Per card and drug (the key drugs of the settings, or every drug with a
   days-of-supply), the days of supply obtained before the last purchase are set against the
   days elapsed between the first and the last purchase; a card whose supply exceeds the
   elapsed days by ``min_excess_days`` and by ``min_ratio`` times is an excess-supply card.
2. **Ties.** Excess-supply cards are tied to what they share: the prescribing doctor, the
   dispensing pharmacy, the same drug from the same doctor, the holder's phone and address.
   A tie's weight is the card's excess (``log(1 + excess days / 30)``) times the share of its
   excess purchases through that tie, divided by ``log(5 + d)`` where ``d`` is how many cards
   of the whole region share the tie (FRAUDAR's column weighting: a busy pharmacy or a doctor
   with a thousand patients ties people loosely). The co-occurrence engine adds card-card
   ties: two cards that got the same drug from the same doctor within ``window_days`` on more
   distinct days than their own purchases predict.
3. **Dense blocks.** Greedy peeling (the FRAUDAR family), vectorised: each round removes, at
   once, every node whose weighted degree is within ``1 + peel_epsilon`` of the smallest, and
   the densest node set seen (edge weight per node) is the block. Its cards are taken out and
   the next block is peeled from what is left. A block with ``min_cards`` cards and a density
   of ``min_density`` is a ring: its cards, doctors, pharmacies, drugs, phones and addresses.

Reasons name the drug, the excess days, the doctors and the pharmacies. A small family
sharing an address is recognised: the tie does not count against it, the excess does."""

from __future__ import annotations

import math
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa

from graphfraud.detect.claims import drug_buys
from graphfraud.detect.cooccur import Cooccurrence, cooccurrence, p_within, result_tables
from graphfraud.detect.engine import on_engine
from graphfraud.detect.model import (
    DetectorResult,
    Member,
    Ring,
    final_score,
    fmt_num,
    fmt_share,
    looks_like_family,
    money_reasons,
    reason,
    saturate,
)
from graphfraud.detect.registry import Detector
from graphfraud.detect.settings import Settings
from graphfraud.store.claims import live_claims

KIND = "drug_resale"
PREFIX = "dr"
#: the profile of purchases over the period is kept in bins of this many days
PROFILE_DAYS = 30
#: context types of the tie graph: prefix -> member entity type
TIES = {"D": "doctor", "P": "facility", "X": "doctor_drug", "T": "phone", "A": "address"}


@dataclass(frozen=True)
class DrugResaleSettings:
    """药品倒卖: cards obtaining a drug far beyond its days of supply, tied together by the
    doctors who prescribed it, the pharmacies that dispensed it, phones and addresses."""

    enabled: bool = True
    #: NHSA drug-code prefixes of the key drugs watched (重点药品); empty: every drug with a
    #: days-of-supply
    key_drugs: tuple[str, ...] = ()
    #: a card has excess supply of a drug when the days of supply obtained before its last
    #: purchase exceed the days elapsed by at least this many days ...
    min_excess_days: int = 30
    #: ... and are at least this multiple of the days elapsed
    min_ratio: float = 1.5
    #: the co-occurrence engine links two such cards that got the same drug from the same
    #: doctor within this many days of each other on at least ``min_days`` distinct days
    window_days: int = 3
    min_days: int = 3
    min_significance: float = 2.0
    #: a dense block is a ring with at least this many cards ...
    min_cards: int = 3
    #: ... and a density (edge weight per node) of at least this much
    min_density: float = 0.8
    #: each peeling round removes every node whose weighted degree is within this factor of the
    #: block's average (a vectorised greedy peeling; 0 would peel one node at a time)
    peel_epsilon: float = 0.05
    #: a card not kept by the peeling joins the block when at least this share of its tie weight
    #: goes to the block's ties, through two ties or more
    absorb_share: float = 0.5
    #: the number of blocks taken out of one connected part of the graph at most
    max_blocks: int = 50


#: the reason texts of this kind: code -> (zh, en) template, filled by ``model.reason``
REASONS: dict[str, tuple[str, str]] = {
    "dr_excess": (
        "{n} 张卡超量购买{drug}：购药前已取得的用量比实际经过的天数共多出 {excess} 天（每张卡中位 {per} 天，"
        "取得用量为经过天数的 {ratio} 倍）",
        "{n} cards obtained {drug_en} far beyond need: {excess} days of supply more than the days elapsed "
        "(median {per} days per card; {ratio} times the days elapsed)",
    ),
    "dr_doctors": (
        "{share} 的超量购药处方出自 {k} 名医师：{doctors}",
        "{share} of the excess purchases were prescribed by {k} doctor(s): {doctors_en}",
    ),
    "dr_pharmacies": (
        "{share} 在 {k} 家药店取药：{pharmacies}",
        "{share} were dispensed by {k} pharmacy(ies): {pharmacies_en}",
    ),
    "dr_shared_address": (
        "{same} 名持卡人登记在同一地址",
        "{same} card holders are registered at one address",
    ),
    "dr_family": (
        "{n} 名持卡人中 {same} 人共用同一地址，可能是一家人：亲属关系不计入评分，但解释不了每人的超量用药",
        "{same} of the {n} holders share one address, likely a family: the tie does not count in the score, but it "
        "does not explain each member's excess supply",
    ),
    "dr_cooccur": (
        "成员两两在 {window} 天内由同一医师开出同一药品共 {observed} 次，按各自购药频率偶然只应有 {expected} 次",
        "member pairs got the same drug from the same doctor within {window} day(s) {observed} times where their "
        "own purchases predict {expected}",
    ),
}


def detect(con, settings: Settings) -> DetectorResult:
    s = settings.section(KIND)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    # excess supply, the ties and the co-occurrence of cards are the heavy steps; what comes
    # back is the excess cards' lines and the engine's pairs (the peeling and rings are small)
    keep = {name: f"SELECT * FROM {name}" for name in ("dr_excess", "dr_lines", "dr_holders")}
    with on_engine(con, reads=("claims", "items", "cards", "patients"),
                   keep={**keep, **result_tables(PREFIX, keep_meetings=False)}) as eng:
        n_excess = _excess(eng, settings)
        timings["excess"] = round(time.perf_counter() - t0, 3)
        if n_excess:
            t1 = time.perf_counter()
            nodes, u, v, w, n_cards = _tie_graph(eng)
            timings["ties"] = round(time.perf_counter() - t1, 3)
            t1 = time.perf_counter()
            pair_stats = _engine_ties(eng, settings)
    stats: dict = {"excess_card_drugs": n_excess}
    if n_excess == 0:
        stats.update({"timings_s": timings, "rings": 0})
        return DetectorResult(KIND, [], stats)
    pairs = con.execute("""
        SELECT ea.entity, eb.entity, least(max(s.nlp), ?) / ?, sum(s.k), sum(s.lam)
        FROM dr_sig s JOIN dr_ent ea ON ea.e = s.a JOIN dr_ent eb ON eb.e = s.b
        GROUP BY ea.entity, eb.entity ORDER BY 1, 2""",
                        [settings.engine.max_edge_weight, settings.engine.max_edge_weight]).fetchall() \
        if pair_stats["significant_pairs"] else []
    index = {name: i for i, name in enumerate(nodes)}
    if pairs:
        u = np.concatenate([u, np.array([index["C:" + a] for a, *_ in pairs], dtype=np.int64)])
        v = np.concatenate([v, np.array([index["C:" + b] for _, b, *_ in pairs], dtype=np.int64)])
        w = np.concatenate([w, np.array([float(x) for _, _, x, *_ in pairs])])
    pair_kl = {(a, b): (int(k), float(lam)) for a, b, _, k, lam in pairs}
    # what organises a resale ring is its doctors, pharmacies and drugs: a phone or an address
    # (a household) shared across two such groups ties them in the reasons but does not merge them
    binding = np.array([not nodes[j].startswith(("T:", "A:")) for j in v], dtype=bool)
    timings["engine"] = round(time.perf_counter() - t1, 3)
    t1 = time.perf_counter()
    blocks = peel_blocks(len(nodes), u, v, w, is_row=np.arange(len(nodes)) < n_cards, min_rows=s.min_cards,
                         min_density=s.min_density, epsilon=s.peel_epsilon, max_blocks=s.max_blocks,
                         absorb_share=s.absorb_share, binding=binding)
    timings["peeling"] = round(time.perf_counter() - t1, 3)
    t1 = time.perf_counter()
    rings = []
    too_few = 0
    for block, density in blocks:
        ring = _ring(con, settings, [nodes[i] for i in block], density, pair_kl)
        if ring.facts["people"] >= s.min_cards:
            rings.append(ring)
        else:
            too_few += 1
    timings["rings"] = round(time.perf_counter() - t1, 3)
    stats.update({"timings_s": timings, "excess_cards": n_cards, "tie_nodes": len(nodes), "ties": int(len(u)),
                  **pair_stats, "blocks": len(blocks), "too_few_people": too_few, "rings": len(rings)})
    return DetectorResult(KIND, rings, stats)


# ------------------------------------------------------------------ 1. excess supply
def _excess(eng, settings: Settings) -> int:
    """``dr_excess(card_id, item_code, ...)`` and ``dr_lines``: the excess-supply (card, drug)
    pairs and every purchase of those drugs on those cards (``eng``: the heavy steps' engine)."""
    s = settings.section(KIND)
    live_claims(eng)
    eng.put("dr_keys", pa.table({"prefix": pa.array(list(s.key_drugs), pa.string())}))
    key_filter = ("AND EXISTS (SELECT 1 FROM dr_keys k WHERE starts_with(i.item_code, k.prefix))" if s.key_drugs
                  else "")
    drug_buys(eng)
    eng.run(f"""
        CREATE OR REPLACE TEMP TABLE dr_excess AS
        WITH per AS (
            SELECT card_id, item_code, count(*) AS buys, sum(days) AS supply, arg_max(days, day) AS last_days,
                   min(day) AS first_day, max(day) AS last_day
            FROM drug_buys i WHERE true {key_filter}
            GROUP BY ALL HAVING count(*) >= 3)
        SELECT card_id, item_code, buys, supply - last_days AS supply_before_last, first_day, last_day,
               date_diff('day', first_day, last_day) AS span,
               supply - last_days - date_diff('day', first_day, last_day) AS excess
        FROM per
        WHERE supply - last_days - date_diff('day', first_day, last_day) >= ?
          AND supply - last_days >= ? * greatest(date_diff('day', first_day, last_day), 1)""",
                [s.min_excess_days, s.min_ratio])
    n = eng.rows("SELECT count(*) FROM dr_excess")[0][0]
    eng.run("""
        CREATE OR REPLACE TEMP TABLE dr_lines AS
        SELECT c.claim_id, c.card_id, coalesce(c.patient_id, cd.patient_id) AS patient_id, i.item_code,
               min(i.item_name) AS item_name, c.settled_at, c.doctor_id, c.facility_id,
               any_value(c.total_amount) AS total_amount, any_value(c.fund_amount) AS fund_amount
        FROM live_claims c JOIN items i USING (claim_id)
        JOIN dr_excess e ON e.card_id = c.card_id AND e.item_code = i.item_code
        LEFT JOIN cards cd ON cd.card_id = c.card_id
        WHERE i.days_supply > 0 AND c.total_amount > 0 AND c.card_id IN (SELECT card_id FROM dr_excess)
        GROUP BY c.claim_id, c.card_id, coalesce(c.patient_id, cd.patient_id), i.item_code, c.settled_at,
                 c.doctor_id, c.facility_id""")
    eng.run("""
        CREATE OR REPLACE TEMP TABLE dr_holders AS
        SELECT DISTINCT l.card_id, l.patient_id, p.phone, p.address
        FROM (SELECT DISTINCT card_id, patient_id FROM dr_lines) l LEFT JOIN patients p USING (patient_id)""")
    return n


# ------------------------------------------------------------------ 2. the tie graph
def _tie_graph(eng) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, int]:
    """Nodes (cards first, ``C:<card>``; then ties ``<type>:<id>``) and weighted card-tie edges."""
    eng.run("""
        CREATE OR REPLACE TEMP TABLE dr_card AS
        SELECT card_id, sum(excess) AS excess FROM dr_excess GROUP BY card_id""")
    # every tie of every excess card, with the share of the card's excess purchases through it
    eng.run("""
        CREATE OR REPLACE TEMP TABLE dr_tie AS
        WITH n AS (SELECT card_id, count(*) AS n FROM dr_lines GROUP BY card_id),
        t AS (
            SELECT card_id, 'D' AS type, doctor_id AS id, count(*) AS k FROM dr_lines
            WHERE doctor_id IS NOT NULL GROUP BY ALL
            UNION ALL
            SELECT card_id, 'P', facility_id, count(*) FROM dr_lines GROUP BY ALL
            UNION ALL
            SELECT card_id, 'X', doctor_id || '|' || item_code, count(*) FROM dr_lines
            WHERE doctor_id IS NOT NULL GROUP BY ALL),
        holders AS (SELECT DISTINCT card_id, patient_id FROM dr_lines WHERE patient_id IS NOT NULL)
        SELECT t.card_id, t.type, t.id, CAST(t.k AS DOUBLE) / n.n AS share FROM t JOIN n USING (card_id)
        UNION ALL
        SELECT DISTINCT h.card_id, 'T', p.phone, 1.0 FROM holders h JOIN patients p USING (patient_id)
        WHERE p.phone IS NOT NULL
        UNION ALL
        SELECT DISTINCT h.card_id, 'A', p.address, 1.0 FROM holders h JOIN patients p USING (patient_id)
        WHERE p.address IS NOT NULL""")
    # how many cards of the whole region share each tie (only for the ties seen above)
    eng.run("""
        CREATE OR REPLACE TEMP TABLE dr_degree AS
        WITH d AS (SELECT DISTINCT id FROM dr_tie WHERE type = 'D'),
             p AS (SELECT DISTINCT id FROM dr_tie WHERE type = 'P'),
             x AS (SELECT DISTINCT id FROM dr_tie WHERE type = 'X'),
             t AS (SELECT DISTINCT id FROM dr_tie WHERE type = 'T'),
             a AS (SELECT DISTINCT id FROM dr_tie WHERE type = 'A')
        SELECT 'D' AS type, c.doctor_id AS id, count(DISTINCT c.card_id) AS degree
        FROM claims c SEMI JOIN d ON d.id = c.doctor_id GROUP BY ALL
        UNION ALL
        SELECT 'P', c.facility_id, count(DISTINCT c.card_id) FROM claims c SEMI JOIN p ON p.id = c.facility_id
        GROUP BY ALL
        UNION ALL
        SELECT 'X', c.doctor_id || '|' || i.item_code, count(DISTINCT c.card_id)
        FROM claims c JOIN items i USING (claim_id)
        SEMI JOIN x ON x.id = c.doctor_id || '|' || i.item_code
        WHERE c.doctor_id IN (SELECT DISTINCT doctor_id FROM dr_lines) GROUP BY ALL
        UNION ALL
        SELECT 'T', phone, count(*) FROM patients SEMI JOIN t ON t.id = patients.phone GROUP BY ALL
        UNION ALL
        SELECT 'A', address, count(*) FROM patients SEMI JOIN a ON a.id = patients.address GROUP BY ALL""")
    cards = [r[0] for r in eng.rows("SELECT card_id FROM dr_card ORDER BY card_id")]
    rows = eng.rows("""
        SELECT t.card_id, t.type || ':' || t.id,
               ln(1 + CAST(c.excess AS DOUBLE) / 30.0) * t.share / ln(5 + coalesce(g.degree, 1))
        FROM dr_tie t JOIN dr_card c USING (card_id) LEFT JOIN dr_degree g USING (type, id)
        ORDER BY 1, 2""")
    # a tie of one excess card only ties nobody: left out (it would only weigh its card down)
    shared = Counter(tie for _, tie, _ in rows)
    rows = [r for r in rows if shared[r[1]] >= 2]
    nodes = ["C:" + c for c in cards]
    index = {name: i for i, name in enumerate(nodes)}
    for _, tie, _ in rows:
        if tie not in index:
            index[tie] = len(nodes)
            nodes.append(tie)
    u = np.array([index["C:" + c] for c, _, _ in rows], dtype=np.int64)
    v = np.array([index[t] for _, t, _ in rows], dtype=np.int64)
    w = np.array([float(x) for _, _, x in rows], dtype=np.float64)
    return nodes, u, v, w, len(cards)


def _engine_ties(eng, settings: Settings) -> dict[str, int]:
    """Card-card ties from the co-occurrence engine: the same drug from the same doctor within
    ``window_days``, on more distinct days than the two cards' own purchases predict."""
    s, e = settings.section(KIND), settings.engine
    eng.run("""
        CREATE OR REPLACE TEMP TABLE dr_events AS
        SELECT card_id AS entity, doctor_id || '|' || item_code AS context,
               date_diff('day', DATE '1970-01-01', settled_at::DATE)::BIGINT AS t, claim_id, NULL::DOUBLE AS attr
        FROM dr_lines WHERE doctor_id IS NOT NULL""")
    spec = Cooccurrence(window=s.window_days, day=1, unit=None, bin=PROFILE_DAYS,
                        p_within_bin=p_within(s.window_days, PROFILE_DAYS, discrete=True), min_days=s.min_days,
                        min_significance=s.min_significance, day_shrinkage=e.day_shrinkage,
                        context_shrinkage=e.context_shrinkage, max_weight=e.max_edge_weight)
    pr = cooccurrence(eng, "dr_events", spec, PREFIX)
    return {"meetings": pr.n_meetings, "candidate_pairs": pr.n_candidates, "significant_pairs": pr.n_significant}


# ------------------------------------------------------------------ 3. dense blocks
def densest_block(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, alive: np.ndarray, *,
                  epsilon: float = 0.05) -> tuple[np.ndarray, float]:
    """The densest node set (edge weight per node) met while peeling the graph restricted to
    ``alive``: each round removes every node whose weighted degree is at most ``1 + epsilon``
    times the smallest. Returns (mask of the block, its density).

    >>> u, v, w = np.array([0, 0, 1, 3]), np.array([1, 2, 2, 4]), np.ones(4)
    >>> mask, rho = densest_block(5, u, v, w, np.ones(5, dtype=bool))
    >>> np.flatnonzero(mask).tolist(), rho
    ([0, 1, 2], 1.0)
    """
    alive = alive.copy()
    best, best_rho = alive.copy(), -1.0
    while alive.any():
        live = alive[u] & alive[v]
        size = int(alive.sum())
        rho = float(w[live].sum()) / size
        if rho > best_rho:
            best, best_rho = alive.copy(), rho
        deg = np.bincount(u[live], w[live], minlength=n) + np.bincount(v[live], w[live], minlength=n)
        lowest = deg[alive].min()
        alive &= ~(deg <= lowest * (1.0 + epsilon) + 1e-12)
    return best, best_rho


def peel_blocks(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, *, is_row: np.ndarray, min_rows: int,
                min_density: float, epsilon: float = 0.05, max_blocks: int = 50, absorb_share: float = 0.5,
                binding: np.ndarray | None = None) -> list[tuple[list[int], float]]:
    """Dense blocks one after another: peel the densest block, take its rows (cards) out of the
    graph, and go on while a block has ``min_rows`` rows and ``min_density``. Each connected part
    of the graph is peeled on its own. Rows tied mostly to a block's ties join it (peeling alone
    keeps only the heaviest rows of a block). Two groups that peel together split into the
    connected parts of the block over the ``binding`` edges (default: all). Nodes of a block are returned without the ties that no
    second row of the block shares."""
    import igraph as ig

    g = ig.Graph(n=n)
    g.add_edges(np.ascontiguousarray(np.stack([u, v], axis=1)))
    binding = np.ones(len(u), dtype=bool) if binding is None else binding
    split = ig.Graph(n=n)
    split.add_edges(np.ascontiguousarray(np.stack([u[binding], v[binding]], axis=1)))
    out: list[tuple[list[int], float]] = []
    for part in g.connected_components():
        if sum(1 for i in part if is_row[i]) < min_rows:
            continue
        alive = np.zeros(n, dtype=bool)
        alive[part] = True
        for _ in range(max_blocks):
            mask, rho = densest_block(n, u, v, w, alive, epsilon=epsilon)
            rows = np.flatnonzero(mask & is_row)
            if len(rows) < min_rows or rho < min_density:
                break
            # peeling keeps the heaviest rows of a block; rows tied mostly to the block's ties (at
            # least ``absorb_share`` of their weight, through two ties or more) belong to it too
            ties = mask & ~is_row
            live = alive[u] & alive[v]
            into = live & ties[v] & ~mask[u]
            w_in = np.bincount(u[into], w[into], minlength=n)
            k_in = np.bincount(u[into], minlength=n)
            w_all = np.bincount(u[live], w[live], minlength=n)
            extra = alive & is_row & ~mask & (k_in >= 2) & (w_in >= absorb_share * np.maximum(w_all, 1e-12))
            mask = mask | extra
            alive[np.flatnonzero(mask & is_row)] = False
            # two groups of the same density can be peeled together: each connected part of the
            # block is a block of its own
            members = np.flatnonzero(mask)
            sub = split.induced_subgraph(members.tolist())
            inside = mask[u] & mask[v]
            groups = []
            for comp in sub.connected_components():
                rows = members[comp][is_row[members[comp]]]
                if len(rows) >= min_rows:
                    groups += split_groups(n, u, v, w, binding & inside, rows, min_rows)
            for rows in groups:
                in_comp = np.zeros(n, dtype=bool)
                in_comp[rows] = True
                e = inside & in_comp[u]
                in_comp[v[e]] = True
                nodes = np.flatnonzero(in_comp)
                # a tie belongs to the block when two of its rows share it
                shared = np.bincount(v[e & ~is_row[v]], minlength=n) >= 2
                ties = nodes[~is_row[nodes] & shared[nodes]]
                out.append((sorted([*rows.tolist(), *ties.tolist()]), float(w[e].sum()) / len(nodes)))
    return out


def split_groups(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray, edges: np.ndarray, rows: np.ndarray,
                 min_rows: int) -> list[np.ndarray]:
    """The rows of one block as the groups they form among themselves: rows are tied when
    they share a tie (weight: the product of their two weights to it, over ``edges``), and
    Leiden (modularity) on those ties separates two rings joined only through a few rows that
    use both (someone who buys at a pharmacy of each). A group of fewer than ``min_rows``
    rows joins the group it is most tied to; one group is the block unchanged."""
    import igraph as ig

    if len(rows) < 2 * min_rows:
        return [rows]
    pos = {int(r): i for i, r in enumerate(rows)}
    e = np.flatnonzero(edges & np.isin(u, rows))
    by_tie: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for k in e:
        by_tie[int(v[k])].append((pos[int(u[k])], float(w[k])))
    weight: dict[tuple[int, int], float] = defaultdict(float)
    for members in by_tie.values():
        for i, (a, wa) in enumerate(members):
            for b, wb in members[i + 1:]:
                if a != b:
                    weight[(min(a, b), max(a, b))] += wa * wb
    if not weight:
        return [rows]
    g = ig.Graph(n=len(rows), edges=list(weight))
    g.es["weight"] = list(weight.values())
    import random as _random

    ig.set_random_number_generator(_random.Random(7))
    try:
        part = g.community_leiden(objective_function="modularity", weights="weight", n_iterations=-1)
    finally:
        ig.set_random_number_generator(_random)
    member = np.asarray(part.membership)
    big = [c for c in range(member.max() + 1) if (member == c).sum() >= min_rows]
    if len(big) < 2:
        return [rows]
    # the small groups' rows join the big group they are most tied to
    for i in np.flatnonzero(~np.isin(member, big)):
        best, best_w = big[0], -1.0
        for c in big:
            tie = sum(weight.get((min(i, j), max(i, j)), 0.0) for j in np.flatnonzero(member == c))
            if tie > best_w:
                best, best_w = c, tie
        member[i] = best
    return [rows[member == c] for c in big]


# ------------------------------------------------------------------ the ring
def _ring(con, settings: Settings, block: list[str], density: float,
          pair_kl: dict[tuple[str, str], tuple[int, float]]) -> Ring:
    s = settings.section(KIND)
    cards = sorted(name[2:] for name in block if name.startswith("C:"))
    ties: dict[str, list[str]] = defaultdict(list)
    for name in block:
        t, _, ident = name.partition(":")
        if t != "C":
            ties[t].append(ident)
    excess = con.execute("""
        SELECT e.card_id, e.item_code, e.excess, e.supply_before_last, e.span, e.first_day, e.last_day
        FROM dr_excess e WHERE e.card_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY 1, 2""", [cards]).fetchall()
    lines = con.execute("""
        SELECT claim_id, card_id, patient_id, item_code, item_name, settled_at, doctor_id, facility_id,
               total_amount, fund_amount
        FROM dr_lines WHERE card_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY settled_at, claim_id""",
                        [cards]).fetchall()
    claims = {}
    for cid, card, _pat, _code, _name, _at, doctor, pharmacy, total, fund in lines:
        claims[cid] = (card, doctor, pharmacy, Decimal(total), Decimal(fund or 0))
    claim_ids = sorted(claims)
    total = sum((c[3] for c in claims.values()), Decimal("0.00"))
    fund = sum((c[4] for c in claims.values()), Decimal("0.00"))
    first = min(r[5] for r in lines).date()
    last = max(r[5] for r in lines).date()
    names = {code: name or code for _, _, _, code, name, *_ in lines}
    # the drugs: by excess days over the ring's cards
    drug_excess = Counter()
    for _card, code, ex, *_ in excess:
        drug_excess[code] += int(ex)
    drugs = [code for code, _ in drug_excess.most_common()]
    per_card_excess = Counter()
    for card, _code, ex, *_ in excess:
        per_card_excess[card] += int(ex)
    # doctors and pharmacies: those the block shares, by purchases through them
    by_doctor = Counter(c[1] for c in claims.values() if c[1])
    by_pharmacy = Counter(c[2] for c in claims.values())
    block_doctors = {d for d in ties.get("D", [])} | {x.split("|", 1)[0] for x in ties.get("X", [])}
    doctors = [d for d, _ in by_doctor.most_common() if d in block_doctors] or [by_doctor.most_common(1)[0][0]] \
        if by_doctor else []
    block_pharmacies = set(ties.get("P", []))
    pharmacies = [p for p, _ in by_pharmacy.most_common() if p in block_pharmacies] or \
        [by_pharmacy.most_common(1)[0][0]]
    n_lines = len(claims)
    doctor_share = sum(by_doctor[d] for d in doctors) / n_lines if n_lines else 0.0
    pharmacy_share = sum(by_pharmacy[p] for p in pharmacies) / n_lines if n_lines else 0.0
    # holders and what ties them
    holders = con.execute("SELECT card_id, patient_id, phone, address FROM dr_holders "
                          "WHERE card_id IN (SELECT unnest(?::VARCHAR[]))", [cards]).fetchall()
    people = len({h[1] or h[0] for h in holders})
    phones = Counter(phone for _, phone in {(h[1], h[2]) for h in holders if h[2]})
    addresses = Counter(address for _, address in {(h[1], h[3]) for h in holders if h[3]})
    same_phone = max(phones.values(), default=0)
    same_address = max(addresses.values(), default=0)
    family = looks_like_family(people, same_address, same_phone)
    observed = expected = 0.0
    for i, a in enumerate(cards):
        for b in cards[i + 1:]:
            k, lam = pair_kl.get((a, b), (0, 0.0))
            observed += k
            expected += lam
    total_excess = sum(per_card_excess.values())
    median_excess = statistics.median(per_card_excess[c] for c in cards) if cards else 0
    drug_label = "、".join(f"{names[d]}（{d}）" for d in drugs[:2])
    drug_label_en = ", ".join(f"{d} ({names[d]})" if names[d] != d else d for d in drugs[:2])
    supply = sum(int(r[3]) for r in excess)
    span = sum(int(r[4]) for r in excess)
    reasons = [reason("dr_excess", total_excess, n=len(cards), drug=drug_label, drug_en=drug_label_en,
                      excess=fmt_num(total_excess), per=fmt_num(median_excess),
                      ratio=fmt_num(supply / max(span, 1), 1))]
    if doctors:
        reasons.append(reason("dr_doctors", round(doctor_share, 3), share=fmt_share(doctor_share), k=len(doctors),
                              doctors="、".join(doctors[:3]), doctors_en=", ".join(doctors[:3])))
    reasons.append(reason("dr_pharmacies", round(pharmacy_share, 3), share=fmt_share(pharmacy_share),
                          k=len(pharmacies), pharmacies="、".join(pharmacies[:3]),
                          pharmacies_en=", ".join(pharmacies[:3])))
    if family:
        # a household explains shopping together, not each member obtaining years of a drug:
        # the tie is not held against them, and the excess still is
        reasons.append(reason("dr_family", same_address, n=people, same=same_address))
    else:
        if same_phone >= 2:
            reasons.append(reason("shared_phone", same_phone, same=same_phone))
        if same_address >= 2:
            reasons.append(reason("dr_shared_address", same_address, same=same_address))
    if observed:
        reasons.append(reason("dr_cooccur", int(observed), observed=fmt_num(int(observed)),
                              expected=fmt_num(expected, 1), window=s.window_days))
    tied = (min(1.0, max(same_phone, same_address) / max(people, 1) * 2)
            if max(same_phone, same_address) >= 2 and not family else 0.0)
    score = 100.0 * (0.35 * saturate(median_excess / 30.0, 2.0) + 0.25 * saturate(len(cards) - 2, 5.0)
                     + 0.25 * doctor_share + 0.15 * tied)
    score = final_score(score, 0.0, False)
    over, money = money_reasons(total, fund, len(claim_ids), settings.transfer_threshold)
    reasons += money
    per_card: dict[str, list] = {c: [0, Decimal("0.00")] for c in cards}
    per_doctor: dict[str, list] = defaultdict(lambda: [0, Decimal("0.00")])
    per_pharmacy: dict[str, list] = defaultdict(lambda: [0, Decimal("0.00")])
    for card, doctor, pharmacy, amount, _fund in claims.values():
        per_card[card][0] += 1
        per_card[card][1] += amount
        if doctor:
            per_doctor[doctor][0] += 1
            per_doctor[doctor][1] += amount
        per_pharmacy[pharmacy][0] += 1
        per_pharmacy[pharmacy][1] += amount
    members = [Member("card", c, "excess-supply card", *per_card[c]) for c in cards]
    members += [Member("doctor", d, "prescribing doctor", *per_doctor[d]) for d in doctors]
    members += [Member("facility", p, "dispensing pharmacy", *per_pharmacy[p]) for p in pharmacies]
    members += [Member("drug", d, "key drug") for d in drugs]
    members += [Member("phone", p, "shared phone", n) for p, n in phones.items() if n >= 2]
    members += [Member("address", a, "shared address", n) for a, n in addresses.items() if n >= 2]
    return Ring(kind=KIND, key=frozenset(cards), score=round(score, 1), members=members, reasons=reasons,
                claim_ids=claim_ids, total_amount=total, fund_amount=fund, first_date=first, last_date=last,
                over_transfer_threshold=over,
                facts={"people": people, "density": round(density, 3), "excess_days": total_excess,
                       "median_excess_days": median_excess, "drugs": drugs, "doctor_share": round(doctor_share, 3),
                       "pharmacy_share": round(pharmacy_share, 3), "same_phone": same_phone,
                       "same_address": same_address, "family": family,
                       "log_excess": round(math.log1p(total_excess / 30.0), 3)})

def _run(con, settings: Settings, rings: list[Ring]) -> DetectorResult:
    return detect(con, settings)


DETECTOR = Detector(kind=KIND, prefix="DR", name={"zh": "药品倒卖", "en": "drug resale"},
                    run=_run, reasons=REASONS, settings=DrugResaleSettings, order=30)
