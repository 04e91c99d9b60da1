"""Where a case's nodes go: one layout for the interactive pages and the evidence package
(its printable page, GEXF and ANX positions). Fruchterman-Reingold in igraph with a fixed
seed, so the same case always looks the same; a circle when igraph is not installed."""

from __future__ import annotations

import math
import random


def unit_layout(graph, *, seed: int = 1) -> dict[str, tuple[float, float]]:
    """Positions in [0, 1]² for every node of ``graph``, the aspect kept (the longer side
    spans 0 to 1)."""
    keys = [n.key for n in graph.nodes]
    if not keys:
        return {}
    index = {k: i for i, k in enumerate(keys)}
    try:
        import igraph as ig  # the graph extra
    except ImportError:
        coords = [[math.cos(2 * math.pi * i / len(keys)), math.sin(2 * math.pi * i / len(keys))]
                  for i in range(len(keys))]
    else:
        g = ig.Graph(n=len(keys), edges=[(index[e.source], index[e.target]) for e in graph.edges
                                         if e.source in index and e.target in index])
        random.seed(seed)
        coords = g.layout_fruchterman_reingold(niter=500, seed=None).coords if len(keys) > 1 else [[0.0, 0.0]]
    xs = [c[0] for c in coords]
    ys = [c[1] for c in coords]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-9)
    return {k: ((coords[i][0] - min(xs)) / span, (coords[i][1] - min(ys)) / span) for k, i in index.items()}
