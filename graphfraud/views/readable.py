"""A readable drawing of a case: many nodes of one kind grouped into one, the ring's members
around the places and people that tie them, and no two labels on top of each other.

Used by the workbench's case view and by the static pages (``case``, ``report``, the evidence
package's positions), so an investigator sees the same picture everywhere.

1. **Groups.** When a case has more than ``GROUP_ABOVE`` drugs (or trace codes), they become
   one node per kind ("67 种药品"), tied to whatever they were tied to; the workbench opens a
   group on click.
2. **Places.** The ties (facilities, pharmacies, terminals, doctors, phones, addresses and
   groups) are laid out among themselves (Fruchterman-Reingold in igraph with a fixed seed);
   the people and cards go on a ring around them, each at the angle of the ties it uses, so a
   member sits on the side of its pharmacy. A graph with no such structure (an exploration)
   is laid out as a whole.
3. **Labels.** Every node is given a box: its shape and its label beneath (text width from
   the characters: CJK ones a full em, others about half). Overlapping boxes are pushed apart
   along the axis where they overlap least, until none overlaps; when some still do after the
   rounds (a dense exploration), every node goes to the free cell of a grid nearest to where
   it was, which leaves none overlapping.

Coordinates are in vis-network's pixels at zoom 1 for a 14 px label font.
"""

from __future__ import annotations

import math
import random
import unicodedata
from dataclasses import dataclass

import numpy as np

FONT = 14.0
NODE = 22.0
GROUP_ABOVE = 6
GROUPABLE = ("drug", "trace_code")
#: node types that tie people together, placed in the middle
TIES = ("facility", "pharmacy", "terminal", "doctor", "phone", "address", "group")
PEOPLE = ("card", "patient")


@dataclass(frozen=True)
class Box:
    w: float
    h: float
    #: the box's centre lies this far below the node's position (a label drawn beneath it)
    dy: float = 0.0


#: shapes that draw their label inside themselves (vis-network); the others draw it beneath
INSIDE = ("box", "ellipse", "database", "circle", "text")


def text_width(text: str, font: float = FONT) -> float:
    # wide and ambiguous characters (CJK, and "…" in a CJK font) take a full em
    return sum(font if unicodedata.east_asian_width(ch) in ("W", "F", "A") else 0.5625 * font for ch in text)


def box(label: str, font: float = FONT, *, size: float = NODE / 2, shape: str = "dot") -> Box:
    """The space vis-network gives a node, as its ``getBoundingBox`` reports it (measured in
    Chromium for each shape), with a few pixels of margin: a shape of radius ``size`` with
    its label of ``font`` px beneath it, or, for ``INSIDE`` shapes, the label with the shape
    around it."""
    tw = text_width(label, font)
    pad = 6.0
    if shape == "database":
        side = max(tw + 7.0, 2 * size)
        return Box(side + pad, side + pad)
    if shape == "ellipse":
        return Box(tw * 1.2 + pad, 2 * font + pad)
    if shape in INSIDE:
        return Box(tw + 20.0 + pad, font + 22.0 + pad)
    return Box(max(2 * size, tw) + pad, 2 * size + font + pad, font / 2)


def group_many(nodes: list[dict], edges: list[dict], *, above: int = GROUP_ABOVE,
               names: dict[str, tuple[str, str]] | None = None) -> tuple[list[dict], list[dict], dict[str, list[str]]]:
    """Replace the nodes of a ``GROUPABLE`` type by one group node when there are more than
    ``above`` of them. ``nodes`` are dicts with ``id``, ``type``, ``label``; ``edges`` with
    ``from``, ``to``. Returns the nodes and edges to draw and, per group id, its members' ids
    (the members and their edges are not dropped by the caller: the page opens a group)."""
    names = names or {}
    by_type: dict[str, list[str]] = {}
    for n in nodes:
        if n["type"] in GROUPABLE:
            by_type.setdefault(n["type"], []).append(n["id"])
    groups = {f"group:{t}": ids for t, ids in by_type.items() if len(ids) > above}
    if not groups:
        return nodes, edges, {}
    member_of = {m: g for g, ids in groups.items() for m in ids}
    out_nodes = [n for n in nodes if n["id"] not in member_of]
    for g, ids in groups.items():
        kind = g.split(":", 1)[1]
        zh, en = names.get(kind, (kind, kind))
        out_nodes.append({"id": g, "type": "group", "group_of": kind, "n": len(ids),
                          "label": f"{len(ids)} 种{zh}", "label_en": f"{len(ids)} {en}"})
    seen: dict[tuple[str, str], dict] = {}
    for e in edges:
        a, b = member_of.get(e["from"], e["from"]), member_of.get(e["to"], e["to"])
        if a == b:
            continue
        if a == e["from"] and b == e["to"]:
            seen[(e["id"], "")] = e
            continue
        key = (a, b)
        agg = seen.get(key)
        if agg is None:
            seen[key] = {**e, "id": f"g:{a}>{b}", "from": a, "to": b, "grouped": 1}
        else:
            agg["grouped"] += 1
            agg["n_claims"] = agg.get("n_claims", 0) + e.get("n_claims", 0)
            agg["days"] = sorted(set(agg.get("days", [])) | set(e.get("days", [])))
    return out_nodes, list(seen.values()), groups


def layout(nodes: list[dict], edges: list[dict], *, seed: int = 1, rounds: int | None = None) -> dict[str, tuple[float, float]]:
    """Positions for ``nodes`` (dicts with ``id``, ``type``, ``label``) and ``edges``
    (``from``, ``to``): see the module doc. ``rounds`` of pushing apart (default: 300 on a
    case of up to 150 nodes, 60 beyond, where the grid finishes the work faster)."""
    if rounds is None:
        rounds = 300 if len(nodes) <= 150 else 60
    if not nodes:
        return {}
    ids = [n["id"] for n in nodes]
    index = {k: i for i, k in enumerate(ids)}
    links = [(index[e["from"]], index[e["to"]]) for e in edges if e["from"] in index and e["to"] in index]
    boxes = [box(n.get("label") or n["id"], n.get("font", FONT), size=n.get("size", NODE / 2),
                 shape=n.get("shape", "dot")) for n in nodes]
    ties = [i for i, n in enumerate(nodes) if n["type"] in TIES]
    people = [i for i, n in enumerate(nodes) if n["type"] in PEOPLE]
    if ties and people and len(ties) <= 40 and len(people) >= 2:
        xy = _radial(nodes, links, ties, people, boxes, seed)
    else:
        xy = _force(len(nodes), links, boxes, seed)
    xy = separate(xy, boxes, rounds=rounds)
    if overlaps(xy, boxes):
        # a dense graph the pushing could not clear in time: every node to the free cell of a
        # grid nearest to where it was, so none overlaps and neighbours stay near
        xy = snap(xy, boxes)
    return {k: (round(float(xy[i, 0]), 1), round(float(xy[i, 1]), 1)) for k, i in index.items()}


def overlaps(xy: np.ndarray, boxes: list[Box]) -> int:
    """How many nodes' boxes overlap another's."""
    if len(boxes) < 2:
        return 0
    w = np.array([b.w for b in boxes])
    h = np.array([b.h for b in boxes])
    cy = xy[:, 1] + np.array([b.dy for b in boxes])
    ox = (w[:, None] + w[None, :]) / 2 - np.abs(xy[:, None, 0] - xy[None, :, 0])
    oy = (h[:, None] + h[None, :]) / 2 - np.abs(cy[:, None] - cy[None, :])
    hit = (ox > 0.5) & (oy > 0.5)
    np.fill_diagonal(hit, False)
    return int(hit.any(axis=1).sum())


def separate(xy: np.ndarray, boxes: list[Box], *, rounds: int = 300) -> np.ndarray:
    """Push overlapping boxes apart (each pair half way each, along the axis of least overlap)."""
    xy = np.array(xy, dtype=float)
    n = len(boxes)
    if n < 2:
        return xy
    w = np.array([b.w for b in boxes])
    h = np.array([b.h for b in boxes])
    ww = (w[:, None] + w[None, :]) / 2 + 2.0
    hh = (h[:, None] + h[None, :]) / 2 + 2.0
    rng = np.random.default_rng(7)
    offset = np.array([b.dy for b in boxes])
    for _ in range(rounds):
        dx = xy[:, None, 0] - xy[None, :, 0]
        dy = (xy[:, 1] + offset)[:, None] - (xy[:, 1] + offset)[None, :]
        ox = ww - np.abs(dx)
        oy = hh - np.abs(dy)
        hit = (ox > 0) & (oy > 0)
        np.fill_diagonal(hit, False)
        if not hit.any():
            break
        # two nodes at the same place: a tiny deterministic nudge gives them a direction
        same = hit & (np.abs(dx) < 1e-6) & (np.abs(dy) < 1e-6)
        if same.any():
            xy[same.any(axis=1)] += rng.normal(0, 1.0, (int(same.any(axis=1).sum()), 2))
            continue
        along_x = hit & (ox <= oy)
        along_y = hit & (ox > oy)
        push_x = np.where(along_x, np.sign(dx) * ox * 0.5, 0.0).sum(axis=1)
        push_y = np.where(along_y, np.sign(dy) * oy * 0.5, 0.0).sum(axis=1)
        xy[:, 0] += push_x
        xy[:, 1] += push_y
    return xy


def snap(xy: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """Each node to the nearest free cell of a grid (a wide label takes several cells side by
    side), nodes nearest the centre first: no two boxes overlap."""
    n = len(boxes)
    widths = np.array([b.w for b in boxes])
    cell_w = float(np.percentile(widths, 75)) + 4.0
    cell_h = max(b.h for b in boxes) + 4.0 + max(b.dy for b in boxes)
    span = [int(math.ceil((b.w + 4.0) / cell_w)) for b in boxes]
    centre = xy.mean(axis=0)
    rel = xy - centre
    # as many cells as twice the cells the nodes need, in the drawing's aspect
    need = sum(span) * 2.0
    ext = np.abs(rel).max(axis=0) + 1e-9
    aspect = float(ext[0] / ext[1]) if ext[1] > 0 else 1.0
    cols = max(int(math.sqrt(need * aspect)), 1)
    rows = max(int(math.ceil(need / cols)), 1)
    gx = rel[:, 0] / ext[0] * (cols / 2)
    gy = rel[:, 1] / ext[1] * (rows / 2)
    taken: set[tuple[int, int]] = set()
    out = np.zeros_like(xy, dtype=float)
    for i in sorted(range(n), key=lambda k: (gx[k] ** 2 + gy[k] ** 2, k)):
        cx, cy = int(round(gx[i])), int(round(gy[i]))
        placed = False
        radius = 0
        while not placed:
            ring = [(cx + dx, cy + dy) for dx in range(-radius, radius + 1) for dy in range(-radius, radius + 1)
                    if max(abs(dx), abs(dy)) == radius]
            ring.sort(key=lambda c: ((c[0] - gx[i]) ** 2 + (c[1] - gy[i]) ** 2, c))
            for c in ring:
                cells = [(c[0] + k, c[1]) for k in range(span[i])]
                if not any(x in taken for x in cells):
                    taken.update(cells)
                    out[i] = ((c[0] + (span[i] - 1) / 2) * cell_w, c[1] * cell_h)
                    placed = True
                    break
            radius += 1
    return out


def _force(n: int, links: list[tuple[int, int]], boxes: list[Box], seed: int) -> np.ndarray:
    if n == 1:
        return np.zeros((1, 2))
    try:
        import igraph as ig  # the graph extra
    except ImportError:
        coords = np.array([[math.cos(2 * math.pi * i / n), math.sin(2 * math.pi * i / n)] for i in range(n)])
    else:
        g = ig.Graph(n=n, edges=links)
        start = np.random.default_rng(seed).uniform(-1, 1, (n, 2)).tolist()
        # igraph draws its random numbers from Python's: a generator of its own, seeded, so the
        # same case is laid out the same every time (and nobody else's random state moves)
        ig.set_random_number_generator(random.Random(seed))
        try:
            coords = np.array(g.layout_fruchterman_reingold(niter=500, seed=start).coords)
        finally:
            ig.set_random_number_generator(random)
    coords -= coords.mean(axis=0)
    # spread so that the average node has room for its box
    area = sum(b.w * b.h for b in boxes) * 2.2
    span = float(np.abs(coords).max()) or 1.0
    return coords / span * math.sqrt(area) / 2


def _radial(nodes, links, ties, people, boxes, seed) -> np.ndarray:
    n = len(nodes)
    xy = np.zeros((n, 2))
    tie_set = set(ties)
    # the ties among themselves, by the people they share
    sub = {v: k for k, v in enumerate(ties)}
    neigh: dict[int, set[int]] = {i: set() for i in range(n)}
    for a, b in links:
        neigh[a].add(b)
        neigh[b].add(a)
    tie_links = set()
    for p in people:
        around = sorted(t for t in _ties_of(p, neigh, tie_set))
        for i, a in enumerate(around):
            for b in around[i + 1:]:
                tie_links.add((sub[a], sub[b]))
    for a, b in links:
        if a in sub and b in sub:
            tie_links.add((sub[a], sub[b]))
    # the ties first, apart from each other, so the people's ring goes around all of them
    tie_boxes = [boxes[i] for i in ties]
    centre = separate(_force(len(ties), sorted(tie_links), tie_boxes, seed), tie_boxes)
    centre -= centre.mean(axis=0)
    for k, i in enumerate(ties):
        xy[i] = centre[k]
    inner = (float(max(np.hypot(centre[k, 0], centre[k, 1]) + max(tie_boxes[k].w, tie_boxes[k].h) / 2
                       for k in range(len(ties)))) + 40.0)
    # cards first (patients sit just outside their card), around the circle by their ties' angle
    cards = [p for p in people if nodes[p]["type"] == "card"] or people
    holders = {p: [q for q in neigh[p] if q in people and q not in cards] for p in cards}
    placed_holders = {q for qs in holders.values() for q in qs}

    def angle(p: int) -> float:
        ts = _ties_of(p, neigh, tie_set)
        if not ts:
            return math.pi
        vx = sum(xy[t, 0] for t in ts) / len(ts)
        vy = sum(xy[t, 1] for t in ts) / len(ts)
        return math.atan2(vy, vx) if abs(vx) + abs(vy) > 1e-9 else 0.0

    order = sorted(cards, key=lambda p: (round(angle(p), 3), nodes[p]["id"]))
    widths = [max(boxes[p].w, boxes[p].h) + 6 for p in order]
    radius = max(inner, sum(widths) / (2 * math.pi))
    a = 0.0
    total = sum(widths)
    start = angle(order[0]) if order else 0.0
    for p, wdt in zip(order, widths):
        theta = start + 2 * math.pi * (a + wdt / 2) / total
        a += wdt
        xy[p] = (radius * math.cos(theta), radius * math.sin(theta))
        for j, q in enumerate(holders[p]):
            # beyond its card in every direction (the boxes are wider than tall)
            r2 = radius + max(boxes[p].w, boxes[p].h) / 2 + max(boxes[q].w, boxes[q].h) * (j + 0.5) + 4
            xy[q] = (r2 * math.cos(theta), r2 * math.sin(theta))
    rest = [p for p in people if p not in cards and p not in placed_holders]
    others = [i for i in range(n) if i not in tie_set and i not in set(people)] + rest
    # what is left (drugs, trace codes, lone people) on an outer ring, each at the angle of
    # what it is tied to, the ring wide enough for their boxes side by side
    placed = set(tie_set) | set(cards) | placed_holders

    def outer_angle(i: int) -> float:
        near = [q for q in neigh[i] if q in placed]
        if not near:
            return math.pi
        vx = sum(xy[q, 0] for q in near) / len(near)
        vy = sum(xy[q, 1] for q in near) / len(near)
        return math.atan2(vy, vx) if abs(vx) + abs(vy) > 1e-9 else 0.0

    reach = max((float(np.hypot(xy[i, 0], xy[i, 1])) + boxes[i].h for i in placed), default=radius)
    order = sorted(others, key=lambda i: (round(outer_angle(i), 3), nodes[i]["id"]))
    widths = [boxes[i].w + 6 for i in order]
    total = sum(widths) or 1.0
    outer = max(reach + 2 * max((boxes[i].h for i in others), default=40.0), total / (2 * math.pi))
    start = outer_angle(order[0]) if order else 0.0
    a = 0.0
    for i, wdt in zip(order, widths):
        theta = start + 2 * math.pi * (a + wdt / 2) / total
        a += wdt
        xy[i] = (outer * math.cos(theta), outer * math.sin(theta))
    return xy


def _ties_of(p: int, neigh: dict[int, set[int]], tie_set: set[int]) -> list[int]:
    """The ties a person or card uses, directly or through its card or holder."""
    direct = [t for t in neigh[p] if t in tie_set]
    if direct:
        return direct
    return [t for q in neigh[p] for t in neigh[q] if t in tie_set]
