"""A recording fake of ``graphfraud.neo4j.connect.Graph`` for the unit layer (no server): it
records every query with its parameters and transaction name, answers reads from a table of
canned rows by query name, and returns write counters computed from the rows sent — the way
graphdatascience's unit tests run the client against a collecting query runner. Tests against
the real server stay in test_neo4j*.py; this checks what graphfraud *sends*."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Call:
    kind: str  # read | write | auto
    name: str  # the transaction's name (metadata), or "" inside a write
    text: str
    params: dict


@dataclass
class Counters:
    nodes_created: int = 0
    relationships_created: int = 0
    properties_set: int = 0


class _Summary:
    def __init__(self, counters: Counters) -> None:
        self.counters = counters


class _Result:
    def __init__(self, rows: list[dict], counters: Counters) -> None:
        self._rows, self._counters = rows, counters

    def __iter__(self):
        return iter(self._rows)

    def consume(self) -> _Summary:
        return _Summary(self._counters)


class _Tx:
    def __init__(self, graph: RecordingGraph, name: str) -> None:
        self.graph, self.name = graph, name

    def run(self, text: str, params: dict | None = None):
        params = params or {}
        self.graph.calls.append(Call("write", self.name, text, params))
        n = len(params.get("rows", ()))
        return _Result(self.graph.answer_tx(text, params), Counters(n, n, n))


@dataclass
class RecordingGraph:
    """Stands in for ``Graph(target)``; ``answers`` maps a read query's name to its rows."""

    target: object = None
    answers: dict[str, list[dict]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def __call__(self, target) -> RecordingGraph:  # used as the class: Graph(target)
        self.target = target
        return self

    def __enter__(self) -> RecordingGraph:
        return self

    def __exit__(self, *_) -> None:
        pass

    def close(self) -> None:
        pass

    def read(self, text: str, params: dict | None = None, *, name: str) -> list[dict]:
        self.calls.append(Call("read", name, text, params or {}))
        return [dict(r) for r in self.answers.get(name, [])]

    def read_records(self, text: str, params: dict | None = None, *, name: str):
        rows = self.read(text, params, name=name)
        return (list(rows[0]) if rows else []), [list(r.values()) for r in rows]

    def write(self, fn, *, name: str, **extra):
        return fn(_Tx(self, name))

    def run_auto(self, text: str, params: dict | None = None, *, name: str) -> None:
        self.calls.append(Call("auto", name, text, params or {}))

    def answer_tx(self, text: str, params: dict) -> list[dict]:
        """Rows a query inside a write transaction returns: none (every claim is new)."""
        return []

    def writes(self, name: str) -> list[Call]:
        """The queries run in the write transactions called ``name``."""
        return [c for c in self.calls if c.kind == "write" and c.name == name]
