"""What views and exports read from: a ``Source``.

A source hands out, for one detection run, a DuckDB connection that holds the canonical
tables (claims, items, cards, patients, facilities, doctors) and the results tables
(``store.results``) and answers the views' SQL. A workspace is one whole
(``WorkspaceSource``); a Neo4j graph is another (``graphfraud.neo4j.views.Neo4jSource``), which
starts from the run's rings and leads and copies claims, cards and people out of the graph as a
view declares it needs them (``store.viewsource``). A new view or export is written once,
against a source:

    with source.connect(run_id) as con:
        graph = ring_graph(con, ring_id, run_id=run_id)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from graphfraud.store.workspace import Workspace


@runtime_checkable
class Source(Protocol):
    #: what the source is, for messages and manifests (a folder, a bolt URI)
    @property
    def name(self) -> str: ...

    def connect(self, run_id: str | None = None) -> AbstractContextManager[Any]:
        """A read-only connection for the views of ``run_id`` (default: the latest run)."""
        ...


@dataclass(frozen=True)
class WorkspaceSource:
    path: Path

    @property
    def name(self) -> str:
        return str(self.path)

    @contextmanager
    def connect(self, run_id: str | None = None) -> Iterator[Any]:
        con = Workspace.open(self.path).connect(read_only=True)
        try:
            yield con
        finally:
            con.close()
