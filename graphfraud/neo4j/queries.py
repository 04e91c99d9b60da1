"""The investigator query library (``cypher/queries/``) run from Python or the CLI."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

from graphfraud.core.errors import GraphfraudError
from graphfraud.neo4j.connect import Graph, Neo4jTarget
from graphfraud.neo4j.cypher import Query, library


def queries() -> dict[str, Query]:
    return library("queries")


def parse_value(text: str):
    """``k=v`` values: integers, decimals, ``true``/``false``, ``null``, else the text as is
    (quote it as JSON, e.g. ``'"0042"'``, to keep digits as text)."""
    low = text.strip().lower()
    if low in ("null", "none"):
        return None
    if low in ("true", "false"):
        return low == "true"
    if re.fullmatch(r"-?\d+", text.strip()):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d*", text.strip()):
        return float(text)
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        return json.loads(text)
    return text


def parameters(q: Query, given: dict[str, object]) -> dict[str, object]:
    """The query's parameters: given values, else the defaults its comment declares; a
    parameter that has neither is an error naming it."""
    unknown = sorted(set(given) - set(q.params))
    if unknown:
        raise GraphfraudError("query_param_unknown", name=q.name, params=", ".join(unknown),
                              expected=", ".join(q.params))
    out: dict[str, object] = {}
    for p in q.params:
        if p in given:
            out[p] = given[p]
        elif p in q.defaults:
            out[p] = parse_value(q.defaults[p])
        else:
            raise GraphfraudError("query_param_missing", name=q.name, param=p)
    return out


def run_query(target: Neo4jTarget, name: str, params: dict[str, object] | None = None,
              graph: Graph | None = None) -> tuple[list[str], list[list]]:
    """Run one named query; returns its columns and rows (plain Python values)."""
    lib = queries()
    if name not in lib:
        raise GraphfraudError("query_unknown", name=name, names=", ".join(sorted(lib)))
    q = lib[name]
    values = parameters(q, params or {})
    own = graph is None
    graph = graph or Graph(target)
    try:
        keys, records = graph.read_records(q.text, values, name=f"queries.{name}")
    finally:
        if own:
            graph.close()
    return keys, [[plain(r[k]) for k in keys] for r in records]


def plain(v):
    """Driver values as plain Python: temporal types to ``datetime``/``date``, lists and maps
    recursively."""
    if hasattr(v, "to_native"):
        return v.to_native()
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    return v


def cell(column: str, v) -> str:
    """A value as table text; ``*_fen`` columns are shown as exact yuan."""
    if v is None:
        return ""
    if column.endswith("_fen") and isinstance(v, int):
        return f"{Decimal(v).scaleb(-2):.2f}"
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v.isoformat()
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False, default=str)
    return str(v)


def query_summaries(lang: str) -> list[tuple[str, str, list[str]]]:
    """(name, what it returns in ``lang``, its parameters) for every query of the library."""
    out = []
    for name, q in sorted(queries().items()):
        summary = next((ln for ln in q.comment.splitlines() if ln and not ln.lower().startswith("params:")
                        and (lang == "zh") == any("\u4e00" <= ch <= "\u9fff" for ch in ln)), "")
        out.append((name, summary, list(q.params)))
    return out


def parse_params(items: list[str] | tuple[str, ...]) -> dict[str, object]:
    """``K=V`` options as query parameters (numbers, booleans and lists typed by ``parse_value``)."""
    given = {}
    for item in items:
        if "=" not in item:
            raise GraphfraudError("bad_option", option="--param", detail=item)
        k, v = item.split("=", 1)
        given[k.strip()] = parse_value(v)
    return given


def query_table(target: Neo4jTarget, name: str, params: dict[str, object]) -> tuple[list[str], list[list[str]]]:
    """The query's rows as text, with amounts in fen shown in yuan (``*_fen`` -> ``*_yuan``)."""
    columns, rows = run_query(target, name, params)
    headers = [c[:-4] + "_yuan" if c.endswith("_fen") else c for c in columns]
    return headers, [[cell(c, v) for c, v in zip(columns, r)] for r in rows]
