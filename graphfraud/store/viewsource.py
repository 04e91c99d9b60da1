"""Where the investigator views read their tables from.

On a workspace every table is whole, and the functions here do nothing. With ``--neo4j`` the
views run unchanged on a temporary workspace that holds only what they have asked for so far
(``graphfraud.neo4j.views``): before a view reads claims, the claims touching some entities or
the people behind a phone, it says so here, and the source copies what is missing out of the
graph first. A view therefore never reads the whole graph to draw one case.

The calls a view makes:

- ``need_claims(con, ids, entities)``: these claims with everything drawn from them (their
  items, the other lines that scanned the same traceability codes, their cards and people,
  and the reversals that cancel them), and the rows of the cards and people in ``entities``;
- ``need_touching(con, entities)``: every claim (and reversal) made by, at, by or via these
  ``(type, id)`` entities; only the claim rows;
- ``need_people(con, kind, value)``: the people registered with a phone or an address.

A source is set for a block of code with ``using(source)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol


class PartialSource(Protocol):
    def need_claims(self, con, claim_ids: Iterable[str], entities: Iterable[tuple[str, str]] = ()) -> None: ...

    def need_touching(self, con, entities: Iterable[tuple[str, str]]) -> None: ...

    def need_people(self, con, kind: str, value: str) -> None: ...


_SOURCE: ContextVar[PartialSource | None] = ContextVar("graphfraud_view_source", default=None)


@contextmanager
def using(source: PartialSource) -> Iterator[PartialSource]:
    token = _SOURCE.set(source)
    try:
        yield source
    finally:
        _SOURCE.reset(token)


def need_claims(con, claim_ids: Iterable[str], entities: Iterable[tuple[str, str]] = ()) -> None:
    source = _SOURCE.get()
    if source is not None:
        source.need_claims(con, claim_ids, entities)


def need_touching(con, entities: Iterable[tuple[str, str]]) -> None:
    source = _SOURCE.get()
    if source is not None:
        source.need_touching(con, entities)


def need_people(con, kind: str, value: str) -> None:
    source = _SOURCE.get()
    if source is not None:
        source.need_people(con, kind, value)
