"""The case subgraph in the formats investigators' and police analysts' tools read:
CSV tables, GraphML (yEd, Cytoscape, igraph, networkx), GEXF 1.3 with time spells (Gephi's
timeline) and i2 Analyst's Notebook exchange XML (ANX).

Every format is written from the same flat records (``node_records`` / ``edge_records``), so
a number in one file is the number in every other. Amounts are written as exact decimal text.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

from graphfraud.core.safe_text import write_csv as safe_csv
from graphfraud.core.safe_text import xml_text
from graphfraud.views.styles import edge_label, i2_icon, node_colour, node_label, node_types, style_key

#: node columns every format carries, in order
NODE_CORE = ("key", "type", "entity_id", "label", "member", "role", "n_claims", "amount", "first_date", "last_date")
EDGE_COLUMNS = ("source", "target", "type", "n_claims", "amount", "fund_amount", "n_days", "first_date", "last_date",
                "days")
#: restored personal values, present only in a package exported with the key
IDENTITY_FIELDS = ("name", "id_number", "phone", "address")

#: per node type: i2 icon key, Chinese and English type names, colour for Gephi and the page
# ------------------------------------------------------------------ flat records
def value_text(v) -> str | None:
    """One value as text: exact decimals, ISO dates, lists joined by ';'."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")  # as DuckDB writes a TIMESTAMP
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, (list, tuple, set)):
        return ";".join(value_text(x) or "" for x in v)
    if isinstance(v, float):
        raise TypeError("no floats in evidence records")
    return str(v)


def node_records(graph, identities: dict[str, dict] | None = None) -> list[dict]:
    """One dict per node: the core columns, the node's facts (``attrs``) and, for a revealed
    package, the restored name, citizen ID, phone and address."""
    identities = identities or {}
    out = []
    for n in graph.nodes:
        rec = {"key": n.key, "type": n.type, "entity_id": n.entity_id, "label": n.label, "member": n.member,
               "role": n.role, "n_claims": n.n_claims, "amount": n.amount, "first_date": n.first_date,
               "last_date": n.last_date}
        for k, v in sorted(n.attrs.items()):
            if k not in rec and v is not None:
                rec[k] = v
        for k, v in identities.get(n.key, {}).items():
            if v is not None:
                rec[k] = v
        out.append(rec)
    return out


def _key(rec: dict) -> str:
    """A node record's key in the style table (a pharmacy apart from other facilities)."""
    return style_key(rec["type"], rec.get("facility_type"))


def edge_records(graph) -> list[dict]:
    return [{"source": e.source, "target": e.target, "type": e.type, "n_claims": e.n_claims, "amount": e.amount,
             "fund_amount": e.fund_amount, "n_days": e.n_days, "first_date": e.first_date, "last_date": e.last_date,
             "days": tuple(e.days)} for e in graph.edges]


def _columns(records: list[dict], core: tuple[str, ...]) -> list[str]:
    extra = sorted({k for r in records for k in r} - set(core) - set(IDENTITY_FIELDS))
    ident = [k for k in IDENTITY_FIELDS if any(k in r for r in records)]
    return [*core, *extra, *ident]


def _kind(values) -> str:
    """GraphML / GEXF type of one attribute from its values: boolean, long or string."""
    vals = [v for v in values if v is not None]
    if vals and all(isinstance(v, bool) for v in vals):
        return "boolean"
    if vals and all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        return "long"
    return "string"


# ------------------------------------------------------------------ CSV
def write_csv(path: Path, columns: list[str], rows: list[dict] | list[list]) -> None:
    """UTF-8 with BOM (Excel on Chinese Windows), every value as exact text, cells a
    spreadsheet would evaluate neutralised (``graphfraud.core.safe_text``)."""
    safe_csv(path, columns, ([None if v is None else value_text(v) for v in
                              ([r.get(c) for c in columns] if isinstance(r, dict) else r)] for r in rows))


def write_nodes_edges(out: Path, nodes: list[dict], edges: list[dict]) -> list[Path]:
    write_csv(out / "nodes.csv", _columns(nodes, NODE_CORE), nodes)
    write_csv(out / "edges.csv", list(EDGE_COLUMNS), edges)
    return [out / "nodes.csv", out / "edges.csv"]


# ------------------------------------------------------------------ GraphML
GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"


def write_graphml(path: Path, graph, nodes: list[dict], edges: list[dict]) -> None:
    """Directed GraphML; amounts and dates as strings (exact), counts as long, member as boolean."""
    ET.register_namespace("", GRAPHML_NS)
    q = lambda tag: f"{{{GRAPHML_NS}}}{tag}"  # noqa: E731
    root = ET.Element(q("graphml"))
    node_cols = [c for c in _columns(nodes, NODE_CORE) if c != "key"]
    edge_cols = [c for c in EDGE_COLUMNS if c not in ("source", "target")]
    graph_data = {"case_id": graph.case_id, "case_type": graph.case_type, "kind": graph.kind,
                  "title_zh": graph.title_zh, "title_en": graph.title_en}
    for name in graph_data:
        ET.SubElement(root, q("key"), {"id": f"g_{name}", "for": "graph", "attr.name": name, "attr.type": "string"})
    for cols, recs, what, prefix in ((node_cols, nodes, "node", "n"), (edge_cols, edges, "edge", "e")):
        for c in cols:
            ET.SubElement(root, q("key"), {"id": f"{prefix}_{c}", "for": what, "attr.name": c,
                                           "attr.type": _kind(r.get(c) for r in recs)})
    g = ET.SubElement(root, q("graph"), {"id": graph.case_id, "edgedefault": "directed"})
    for name, value in graph_data.items():
        ET.SubElement(g, q("data"), {"key": f"g_{name}"}).text = value
    for r in nodes:
        el = ET.SubElement(g, q("node"), {"id": r["key"]})
        for c in node_cols:
            if r.get(c) is not None:
                ET.SubElement(el, q("data"), {"key": f"n_{c}"}).text = value_text(r[c])
    for i, r in enumerate(edges):
        el = ET.SubElement(g, q("edge"), {"id": f"e{i}", "source": r["source"], "target": r["target"]})
        for c in edge_cols:
            if r.get(c) is not None:
                ET.SubElement(el, q("data"), {"key": f"e_{c}"}).text = value_text(r[c])
    _write_xml(path, root)


# ------------------------------------------------------------------ GEXF
GEXF_NS = "http://gexf.net/1.3"
GEXF_VIZ = "http://gexf.net/1.3/viz"
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def day_runs(days) -> list[tuple[dt.date, dt.date]]:
    """Consecutive days folded into (first, last) runs: one GEXF spell each.

    >>> d = dt.date
    >>> day_runs([d(2025, 1, 1), d(2025, 1, 2), d(2025, 1, 5)])
    [(datetime.date(2025, 1, 1), datetime.date(2025, 1, 2)), (datetime.date(2025, 1, 5), datetime.date(2025, 1, 5))]
    """
    runs: list[list[dt.date]] = []
    for day in sorted(set(days)):
        if runs and (day - runs[-1][1]).days == 1:
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(a, b) for a, b in runs]


def write_gexf(path: Path, graph, nodes: list[dict], edges: list[dict], positions: dict[str, tuple[float, float]]
               ) -> None:
    """GEXF 1.3, ``mode="dynamic"`` with ``timeformat="date"``: each edge carries one spell per
    run of consecutive days on which its claims were settled, each node one spell from its
    first to its last day, so Gephi's timeline plays the case day by day."""
    ET.register_namespace("", GEXF_NS)
    ET.register_namespace("viz", GEXF_VIZ)
    ET.register_namespace("xsi", XSI)
    q = lambda tag: f"{{{GEXF_NS}}}{tag}"  # noqa: E731
    root = ET.Element(q("gexf"), {"version": "1.3",
                                  f"{{{XSI}}}schemaLocation": f"{GEXF_NS} {GEXF_NS}/gexf.xsd"})
    meta = ET.SubElement(root, q("meta"))
    ET.SubElement(meta, q("creator")).text = "graphfraud"
    ET.SubElement(meta, q("description")).text = f"{graph.title_zh} / {graph.title_en}"
    g = ET.SubElement(root, q("graph"), {"mode": "dynamic", "defaultedgetype": "directed", "timeformat": "date"})
    node_cols = [c for c in _columns(nodes, NODE_CORE) if c not in ("key", "label")]
    edge_cols = [c for c in EDGE_COLUMNS if c not in ("source", "target", "days")]
    ids: dict[str, dict[str, str]] = {}
    for cols, recs, what in ((node_cols, nodes, "node"), (edge_cols, edges, "edge")):
        block = ET.SubElement(g, q("attributes"), {"class": what, "mode": "static"})
        ids[what] = {}
        for i, c in enumerate(cols):
            ids[what][c] = str(i)
            ET.SubElement(block, q("attribute"), {"id": str(i), "title": c,
                                                  "type": _kind(r.get(c) for r in recs)})
    nodes_el = ET.SubElement(g, q("nodes"))
    for r in nodes:
        el = ET.SubElement(nodes_el, q("node"), {"id": r["key"], "label": value_text(r["label"]) or r["key"]})
        av = ET.SubElement(el, q("attvalues"))
        for c in node_cols:
            if r.get(c) is not None:
                ET.SubElement(av, q("attvalue"), {"for": ids["node"][c], "value": value_text(r[c])})
        if r["first_date"] is not None:
            spells = ET.SubElement(el, q("spells"))
            ET.SubElement(spells, q("spell"), {"start": r["first_date"].isoformat(), "end": r["last_date"].isoformat()})
        colour = node_colour(_key(r))
        ET.SubElement(el, f"{{{GEXF_VIZ}}}color", {"r": str(int(colour[1:3], 16)), "g": str(int(colour[3:5], 16)),
                                                  "b": str(int(colour[5:7], 16))})
        x, y = positions.get(r["key"], (0.5, 0.5))
        ET.SubElement(el, f"{{{GEXF_VIZ}}}position", {"x": f"{(x - 0.5) * 1000:.1f}", "y": f"{(0.5 - y) * 1000:.1f}",
                                                     "z": "0.0"})
        ET.SubElement(el, f"{{{GEXF_VIZ}}}size", {"value": "12.0" if r["member"] else "6.0"})
    edges_el = ET.SubElement(g, q("edges"))
    for i, r in enumerate(edges):
        el = ET.SubElement(edges_el, q("edge"), {"id": f"e{i}", "source": r["source"], "target": r["target"],
                                                "label": r["type"], "weight": str(max(r["n_claims"], 1))})
        av = ET.SubElement(el, q("attvalues"))
        for c in edge_cols:
            if r.get(c) is not None:
                ET.SubElement(av, q("attvalue"), {"for": ids["edge"][c], "value": value_text(r[c])})
        if r["days"]:
            spells = ET.SubElement(el, q("spells"))
            for a, b in day_runs(r["days"]):
                ET.SubElement(spells, q("spell"), {"start": a.isoformat(), "end": b.isoformat()})
    _write_xml(path, root)


# ------------------------------------------------------------------ i2 ANX
def _anx_time(d: dt.date) -> str:
    return f"{d.isoformat()}T00:00:00.000"


def write_anx(path: Path, graph, nodes: list[dict], edges: list[dict], positions: dict[str, tuple[float, float]]
              ) -> None:
    """i2 Analyst's Notebook exchange XML: a ``Chart`` with its strength, attribute class,
    entity type and link type collections, then one ``ChartItem`` per entity (``End`` >
    ``Entity`` > ``Icon`` > ``IconStyle`` of the node type's entity type, placed at the case
    layout) and per tie (``Link`` from ``End1Id`` to ``End2Id`` with a ``LinkStyle`` of the
    tie's link type, dated at its first day), each with its numbers as attributes."""
    root = ET.Element("Chart", {"Rigorous": "true"})
    ET.SubElement(ET.SubElement(root, "StrengthCollection"), "Strength",
                  {"Id": "S1", "Name": "Default", "DotStyle": "DotStyleSolid"})
    # attribute classes: (key in the record, name shown in i2, i2 type)
    node_attrs = [("entity_id", "编号 ID", "AttText"), ("type", "类型 Type", "AttText"),
                  ("role", "角色 Role", "AttText"), ("member", "团伙成员 Member", "AttFlag"),
                  ("n_claims", "结算笔数 Claims", "AttNumber"), ("amount", "金额 Amount (CNY)", "AttNumber"),
                  ("first_date", "首次 First date", "AttTime"), ("last_date", "末次 Last date", "AttTime"),
                  ("name", "姓名/名称 Name", "AttText"), ("id_number", "身份证号 Citizen ID", "AttText"),
                  ("phone", "电话 Phone", "AttText"), ("address", "住址 Address", "AttText")]
    edge_attrs = [("n_claims", "结算笔数 Claims", "AttNumber"), ("amount", "金额 Amount (CNY)", "AttNumber"),
                  ("fund_amount", "统筹支付 Fund paid (CNY)", "AttNumber"), ("n_days", "天数 Days", "AttNumber"),
                  ("first_date", "首次 First date", "AttTime"), ("last_date", "末次 Last date", "AttTime"),
                  ("days", "日期 Dates", "AttText")]
    classes: dict[str, str] = {}
    acc = ET.SubElement(root, "AttributeClassCollection")
    for _, name, kind in [*node_attrs, *edge_attrs]:
        if name in classes:
            continue
        classes[name] = f"AC{len(classes) + 1}"
        ET.SubElement(acc, "AttributeClass", {"Id": classes[name], "Name": name, "Type": kind, "IsUser": "true",
                                              "UserCanAdd": "true", "UserCanRemove": "true", "ShowValue": "true"})
    present = {_key(r) for r in nodes}
    types_used = [t for t in node_types() if t in present] + sorted(present - set(node_types()))
    etc = ET.SubElement(root, "EntityTypeCollection")
    entity_types: dict[str, tuple[str, str]] = {}
    for i, t in enumerate(types_used, 1):
        icon = i2_icon(t)  # a type the style table lacks: i2's generic icon
        name = f"{node_label(t, 'zh')} {node_label(t, 'en')}"
        entity_types[t] = (f"ET{i}", name)
        ET.SubElement(etc, "EntityType", {"Id": f"ET{i}", "Name": name, "IconFile": icon,
                                          "PreferredRepresentation": "RepresentAsIcon"})
    ltc = ET.SubElement(root, "LinkTypeCollection")
    link_types: dict[str, tuple[str, str]] = {}
    for i, t in enumerate(sorted({r["type"] for r in edges}), 1):
        name = f"{edge_label(t, 'zh')} {edge_label(t, 'en')}"
        link_types[t] = (f"LT{i}", name)
        ET.SubElement(ltc, "LinkType", {"Id": f"LT{i}", "Name": name, "Colour": "0"})
    items = ET.SubElement(root, "ChartItemCollection")
    entity_id: dict[str, int] = {}

    def attributes(parent: ET.Element, rec: dict, spec) -> None:
        coll = None
        for key, name, kind in spec:
            v = rec.get(key)
            if v is None or v == () or (key == "role" and not v):
                continue
            if kind == "AttTime":
                value = f"{v.isoformat()}T00:00:00"
            elif kind == "AttFlag":
                value = "true" if v else "false"
            else:
                value = value_text(v)
            if coll is None:
                coll = ET.SubElement(parent, "AttributeCollection")
            ET.SubElement(coll, "Attribute", {"AttributeClass": name, "AttributeClassReference": classes[name],
                                              "Value": value})

    n_item = 0
    for i, r in enumerate(nodes, 1):
        entity_id[r["key"]] = i
        n_item += 1
        label = r.get("name") if r["type"] in ("patient", "doctor") and r.get("name") else r["label"]
        ci = {"Id": f"CI{n_item}", "Label": value_text(label) or r["key"]}
        desc = " ".join(x for x in (node_label(_key(r), "zh"), r.get("role") or "") if x)
        if desc:
            ci["Description"] = desc
        if r["first_date"] is not None:
            ci.update({"DateSet": "true", "DateTime": _anx_time(r["first_date"])})
        item = ET.SubElement(items, "ChartItem", ci)
        x, y = positions.get(r["key"], (0.5, 0.5))
        end = ET.SubElement(item, "End", {"X": str(int(x * 2000)), "Y": str(int(y * 1400)), "Z": "0"})
        ent = ET.SubElement(end, "Entity", {"EntityId": str(i), "Identity": r["key"],
                                            "LabelIsIdentity": "false"})
        et_id, et_name = entity_types[_key(r)]
        ET.SubElement(ET.SubElement(ent, "Icon"), "IconStyle", {"Type": et_name, "EntityTypeReference": et_id})
        attributes(item, r, node_attrs)
    for r in edges:
        n_item += 1
        lt_id, lt_name = link_types[r["type"]]
        ci = {"Id": f"CI{n_item}", "Label": f"{r['n_claims']} / {value_text(r['amount'])}"}
        if r["first_date"] is not None:
            ci.update({"DateSet": "true", "DateTime": _anx_time(r["first_date"])})
        item = ET.SubElement(items, "ChartItem", ci)
        link = ET.SubElement(item, "Link", {"End1Id": str(entity_id[r["source"]]),
                                            "End2Id": str(entity_id[r["target"]])})
        width = 1 + min(4, int(math.log2(max(r["n_claims"], 1))))  # thicker for more claims
        ET.SubElement(link, "LinkStyle", {"Strength": "Default", "Type": lt_name, "LinkTypeReference": lt_id,
                                          "ArrowStyle": "ArrowOnHead", "LineWidth": str(width)})
        attributes(item, r, edge_attrs)
    _write_xml(path, root)


def _write_xml(path: Path, root: ET.Element) -> None:
    """The tree as UTF-8 XML, every text and attribute without the characters XML forbids
    (an id with a NUL or a control character would make the file unreadable)."""
    for el in root.iter():
        if el.text:
            el.text = xml_text(el.text)
        if el.tail:
            el.tail = xml_text(el.tail)
        for k, v in el.attrib.items():
            el.attrib[k] = xml_text(v)
    ET.indent(root, space=" ")
    tree = ET.ElementTree(root)
    with path.open("wb") as fh:
        tree.write(fh, encoding="utf-8", xml_declaration=True)


def to_json(value) -> str:
    """JSON with exact decimals and ISO dates (``ensure_ascii=False``: Chinese stays readable)."""
    return json.dumps(value, ensure_ascii=False, indent=2, default=value_text)
