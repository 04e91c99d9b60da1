"""Communities of the projection graph (significant pairs) with Leiden, in igraph."""

from __future__ import annotations

import random
import time

import numpy as np

OBJECTIVES = {"cpm": "CPM", "modularity": "modularity"}


def leiden(a: np.ndarray, b: np.ndarray, weight: np.ndarray, *, objective: str = "CPM", resolution: float = 1.0,
           iterations: int = 3, seed: int = 42, timings: dict[str, float] | None = None
           ) -> tuple[np.ndarray, np.ndarray]:
    """Leiden communities of the weighted graph with edges ``a[i] - b[i]``, with the CPM or
    the modularity quality function.

    Returns ``(nodes, membership)``: the node codes that have an edge and the community
    number of each, numbered by decreasing size then smallest node, so the numbering does
    not depend on igraph's internal order."""
    import igraph as ig

    if len(a) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    t0 = time.perf_counter()
    nodes, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    edges = np.ascontiguousarray(inverse.reshape(2, -1).T)
    # add_edges on an empty graph converts the NumPy edge list about twice as fast as passing
    # it to the constructor (measured on 9M edges: 10 s against 17 s)
    g = ig.Graph(n=len(nodes), directed=False)
    g.add_edges(edges)
    t1 = time.perf_counter()
    ig.set_random_number_generator(random.Random(seed))
    try:
        part = g.community_leiden(objective_function=OBJECTIVES[objective.lower()], weights=weight,
                                  resolution=resolution, n_iterations=iterations)
    finally:
        ig.set_random_number_generator(random)
    member = np.asarray(part.membership, dtype=np.int64)
    if timings is not None:
        timings["graph"] = round(t1 - t0, 3)
        timings["leiden"] = round(time.perf_counter() - t1, 3)
    # renumber: largest community first, ties by smallest node code
    sizes = np.bincount(member)
    first = np.full(len(sizes), len(nodes), dtype=np.int64)
    np.minimum.at(first, member, np.arange(len(nodes)))
    order = np.lexsort((first, -sizes))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return nodes, rank[member]
