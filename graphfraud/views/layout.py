"""Where a case's nodes go: one layout for the interactive pages, the workbench and the
evidence package (its printable page, GEXF and ANX positions): ``views.readable`` on the
case's nodes as the pages draw them (shape, size and label font from the style table), so the
same case always looks the same and no two labels are drawn on top of each other."""

from __future__ import annotations

import math
from decimal import Decimal

from graphfraud.views import readable
from graphfraud.views.styles import load_styles, style_key


def node_look(graph, styles: dict | None = None) -> dict[str, dict]:
    """Per node key: its vis-network ``shape``, ``size`` (the amount sets it, square root) and
    label ``font`` (for shapes that carry their label inside, the amount sets that instead)."""
    styles = styles or load_styles()
    size = styles["size"]
    max_amount = max((abs(n.amount) for n in graph.nodes), default=Decimal(0)) or Decimal(1)
    out = {}
    for n in graph.nodes:
        st = styles["node"].get(style_key(n.type, n.attrs.get("facility_type")), styles["node"]["card"])
        share = math.sqrt(float(abs(n.amount) / max_amount)) if max_amount else 0.0
        inside = st["shape"] in ("box", "ellipse", "database")
        out[n.key] = {"shape": st["shape"], "size": round(size["min"] + (size["max"] - size["min"]) * share, 1),
                      "font": round(size["font_min"] + (size["font_max"] - size["font_min"]) * share, 1)
                      if inside else 14}
    return out


def layout_input(graph, styles: dict | None = None) -> tuple[list[dict], list[dict]]:
    """The case's nodes and ties as ``readable.layout`` takes them."""
    look = node_look(graph, styles)
    nodes = [{"id": n.key, "type": style_key(n.type, n.attrs.get("facility_type")), "label": n.label, **look[n.key]}
             for n in graph.nodes]
    edges = [{"from": e.source, "to": e.target} for e in graph.edges]
    return nodes, edges


def pixel_layout(graph, *, seed: int = 1, styles: dict | None = None) -> dict[str, tuple[float, float]]:
    """Positions in vis-network's pixels (zoom 1)."""
    nodes, edges = layout_input(graph, styles)
    return readable.layout(nodes, edges, seed=seed)


def unit_layout(graph, *, seed: int = 1) -> dict[str, tuple[float, float]]:
    """The same positions in [0, 1]², the aspect kept (the longer side spans 0 to 1)."""
    pos = pixel_layout(graph, seed=seed)
    if not pos:
        return {}
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-9)
    return {k: ((x - min(xs)) / span, (y - min(ys)) / span) for k, (x, y) in pos.items()}
