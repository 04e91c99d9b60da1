"""The one style table, ``viz/styles.toml``: for each node type (a pharmacy apart from other
facilities) its shape, colour, name in Chinese and English and i2 icon; for each tie type its
colour and name. Case pages, the report, the legends, the evidence page and the exports read
node and tie names and colours only from here, so they cannot disagree."""

from __future__ import annotations

import copy
import functools
import tomllib

from graphfraud.core.resources import asset_path


@functools.lru_cache(maxsize=1)
def _table() -> dict:
    with asset_path("viz", "styles.toml").open("rb") as fh:
        return tomllib.load(fh)


def load_styles() -> dict:
    """The whole table (a fresh copy, free to change)."""
    return copy.deepcopy(_table())


def node_types() -> tuple[str, ...]:
    """The style keys of nodes, in the table's order."""
    return tuple(_table()["node"])


def style_key(node_type: str, facility_type: str | None = None) -> str:
    """A node's key in the table: its type, or ``pharmacy`` for a facility that is one."""
    return "pharmacy" if node_type == "facility" and facility_type == "pharmacy" else node_type


def node_label(key: str, lang: str, *, in_sentence: bool = False) -> str:
    """The name of a node type (``Insured person``, ``参保人``); ``in_sentence`` lower-cases
    the English one. A type the table lacks is named by its key."""
    label = _table()["node"].get(key, {}).get(f"label_{lang}", key)
    return label[:1].lower() + label[1:] if in_sentence and lang == "en" else label


def node_colour(key: str) -> str:
    return _table()["node"].get(key, _table()["node"]["card"])["color"]


def i2_icon(key: str) -> str:
    """The i2 Analyst's Notebook icon of a node type (``general`` for a type the table lacks)."""
    return _table()["node"].get(key, {}).get("i2_icon", "general")


def edge_label(edge_type: str, lang: str) -> str:
    return _table()["edge"].get(edge_type, {}).get(f"label_{lang}", edge_type)


def edge_colour(edge_type: str) -> str:
    return _table()["edge"].get(edge_type, {}).get("color", "#999999")
