"""The readable layout (``views.readable``): no two nodes' boxes (shape and label) overlap on
any ring of a detected region nor on a 500-node exploration, members sit around the ties
that join them, many drugs become one group, and the layout is the same every time. The drawn
result in Chromium is measured by ``benchmarks/readability.py``."""

from __future__ import annotations

import math

import numpy as np
import pytest

from graphfraud.store.workspace import Workspace
from graphfraud.views import readable
from graphfraud.views.casegraph import neighbourhood, ring_graph
from graphfraud.views.layout import layout_input, pixel_layout, unit_layout


@pytest.fixture(scope="module")
def con(detected_region):
    _, ws, _, _ = detected_region
    c = Workspace.open(ws).connect(read_only=True)
    yield c
    c.close()


def _overlaps(graph) -> tuple[int, int]:
    nodes, _ = layout_input(graph)
    pos = pixel_layout(graph)
    xy = np.array([pos[n["id"]] for n in nodes])
    boxes = [readable.box(n["label"], n["font"], size=n["size"], shape=n["shape"]) for n in nodes]
    return readable.overlaps(xy, boxes), len(nodes)


def test_no_ring_has_overlapping_labels(con, detected_region):
    _, _, _, result = detected_region
    assert result.rings
    for ring in result.rings:
        hit, n = _overlaps(ring_graph(con, ring.ring_id))
        assert hit == 0, (ring.ring_id, hit, n)


def test_a_500_node_exploration_has_almost_no_overlapping_labels(con):
    busiest = con.execute("""SELECT facility_id FROM claims JOIN facilities USING (facility_id)
                             WHERE facility_type = 'pharmacy' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1""").fetchall()[0][0]
    graph = neighbourhood(con, "facility", busiest, hops=2, cap=500)
    hit, n = _overlaps(graph)
    assert n >= 300 and hit / n < 0.02, (hit, n)


def test_members_sit_around_the_ties_that_join_them(con, detected_region):
    """On every ring with ties (facilities, terminals, doctors, phones, addresses), its cards
    are placed around them: each card farther from the ties' centre than any tie."""
    _, _, _, result = detected_region
    checked = 0
    for ring in result.rings:
        graph = ring_graph(con, ring.ring_id)
        pos = pixel_layout(graph)
        ties = [n.key for n in graph.nodes if n.type in ("facility", "terminal", "doctor", "phone", "address")]
        cards = [n.key for n in graph.nodes if n.type == "card"]
        if not ties or len(cards) < 2 or len(ties) > 40:
            continue
        cx = sum(pos[t][0] for t in ties) / len(ties)
        cy = sum(pos[t][1] for t in ties) / len(ties)
        inner = max(math.dist(pos[t], (cx, cy)) for t in ties)
        assert all(math.dist(pos[c], (cx, cy)) > inner for c in cards), ring.ring_id
        checked += 1
    assert checked >= 3


def test_the_layout_is_deterministic_and_unit_positions_span_the_square(con, detected_region):
    _, _, _, result = detected_region
    graph = ring_graph(con, result.rings[0].ring_id)
    assert pixel_layout(graph) == pixel_layout(graph)
    unit = unit_layout(graph)
    xs, ys = [p[0] for p in unit.values()], [p[1] for p in unit.values()]
    assert min(xs) == 0 and min(ys) == 0 and math.isclose(max(max(xs), max(ys)), 1.0)


def test_many_drugs_become_one_group_that_keeps_its_ties():
    nodes = [{"id": "card:A", "type": "card", "label": "A"}, {"id": "facility:F", "type": "facility", "label": "F"}]
    nodes += [{"id": f"drug:D{i}", "type": "drug", "label": f"药品{i}"} for i in range(9)]
    edges = [{"id": "e0", "from": "card:A", "to": "facility:F", "n_claims": 3, "days": ["2025-01-01"]}]
    edges += [{"id": f"d{i}", "from": "card:A", "to": f"drug:D{i}", "n_claims": 1, "days": [f"2025-01-0{i % 9 + 1}"]}
              for i in range(9)]
    shown, shown_edges, groups = readable.group_many(nodes, edges, names={"drug": ("药品", "drugs")})
    assert groups == {"group:drug": [f"drug:D{i}" for i in range(9)]}
    group = next(n for n in shown if n["id"] == "group:drug")
    assert group["label"] == "9 种药品" and group["label_en"] == "9 drugs" and group["n"] == 9
    tie = next(e for e in shown_edges if e["to"] == "group:drug")
    assert tie["from"] == "card:A" and tie["grouped"] == 9 and tie["n_claims"] == 9 and len(tie["days"]) == 9
    assert len(shown) == 3 and any(e["id"] == "e0" for e in shown_edges)
    few = nodes[:2 + readable.GROUP_ABOVE]
    assert readable.group_many(few, edges)[2] == {}


def test_separate_pulls_apart_boxes_on_one_spot():
    boxes = [readable.box("参保人甲"), readable.box("参保人乙"), readable.box("card C123")]
    xy = readable.separate(np.zeros((3, 2)), boxes)
    assert readable.overlaps(xy, boxes) == 0
