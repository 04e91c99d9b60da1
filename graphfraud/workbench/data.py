"""What the workbench's pages show, read through a ``store.Source`` connection only: the
queue of a run's rings and leads, a case's graph (grouped and laid out to be readable), the
neighbours of a node, and the shortest paths that explain how two entities are tied."""

from __future__ import annotations

from decimal import Decimal

from graphfraud.core.errors import GraphfraudError
from graphfraud.core.i18n import t
from graphfraud.detect.registry import kind_name
from graphfraud.store.viewsource import need_claims
from graphfraud.views import readable
from graphfraud.views.casegraph import (
    EXPLORE_TYPES,
    CaseGraph,
    check_run,
    lead_graph,
    neighbourhood,
    ring_graph,
)
from graphfraud.views.expand import expand, page_rows
from graphfraud.views.render import case_claims, edge_label, node_key, node_tooltip, type_label
from graphfraud.views.styles import load_styles, node_label
from graphfraud.views.timeline import timeline_svg

ZERO = Decimal("0.00")
#: neighbours a double-click adds at most (the rest are counted as "n more")
EXPAND_CAP = 25
#: the radius of every node in the workbench (its amount is in the tooltip and the tables)
WORKBENCH_SIZE = 11
#: paths returned between two nodes at most
MAX_PATHS = 5


def money(v) -> str:
    return str((v if v is not None else ZERO).quantize(Decimal("0.01")))


def runs(con) -> list[dict]:
    return [{"run_id": r, "finished_at": str(f) if f else None} for r, f in con.execute(
        "SELECT run_id, finished_at FROM detect_runs ORDER BY finished_at DESC NULLS LAST, run_id DESC").fetchall()]


def queue(con, run_id: str | None, cases: dict[str, dict], lang: str, *, threshold: Decimal) -> dict:
    """Every ring and every queued lead of the run, with the numbers of the queue's columns and
    the case each has (status, assignee, deadline) when someone opened it."""
    run_id = check_run(con, run_id)
    ring_rows = con.execute("""
        SELECT ring_id, kind, score, rank, n_members, n_claims, total_amount, fund_amount, first_date, last_date,
               over_transfer_threshold, status
        FROM rings WHERE run_id = ? ORDER BY rank""", [run_id]).fetchall()
    claims_of = {}
    for ring_id, cid in con.execute("SELECT ring_id, claim_id FROM ring_claims WHERE run_id = ?", [run_id]).fetchall():
        claims_of.setdefault(ring_id, []).append(cid)
    lead_rows = con.execute("""
        SELECT lead_id, kind, entity_type, entity_id, claim_ids, amount, score, rank, text_zh, text_en
        FROM leads WHERE run_id = ? AND coalesce(queued, true) ORDER BY rank NULLS LAST, lead_id""",
                            [run_id]).fetchall()
    for lead in lead_rows:
        claims_of[lead[0]] = [c for c in (lead[4] or "").split(";") if c]
    need_claims(con, [c for ids in claims_of.values() for c in ids])
    parts = _amount_parts(con, claims_of)
    places = _places(con, run_id)
    rows = []
    for (ring_id, kind, score, rank, n_members, n_claims, total, fund, first, last, over, run_status) in ring_rows:
        p = parts.get(ring_id, {})
        rows.append(_row(ring_id, "ring", kind, kind_name(kind, lang), score, n_members, n_claims, total, fund,
                         p.get("account", ZERO), p.get("self", ZERO), first, last, bool(over), places.get(ring_id, {}),
                         cases.get(ring_id), run_status=run_status))
    for (lead_id, kind, etype, eid, _ids, amount, score, _rank, zh, en) in lead_rows:
        p = parts.get(lead_id, {})
        rows.append(_row(lead_id, "lead", kind, t("lead." + kind, lang=lang), score, 1, p.get("n", 0),
                         p.get("total", amount), p.get("fund", ZERO), p.get("account", ZERO), p.get("self", ZERO),
                         p.get("first"), p.get("last"), (p.get("total", amount) or ZERO) >= threshold,
                         {"facility": p.get("facility"), "region": p.get("region")}, cases.get(lead_id),
                         entity=f"{etype}:{eid}", text=zh if lang == "zh" else en))
    return {"run_id": run_id, "rows": rows}


def _row(case_id, case_type, kind, kind_text, score, n_members, n_claims, total, fund, account, own, first, last,
         over, place, case, *, run_status=None, entity=None, text=None) -> dict:
    status = (case or {}).get("status", "new")
    grew = bool(case and status == "dismissed" and case.get("members_at_dismissal") is not None
                and n_members > case["members_at_dismissal"])
    return {"id": case_id, "case_type": case_type, "kind": kind, "kind_name": kind_text,
            "score": round(float(score), 1) if score is not None else None, "members": n_members,
            "claims": n_claims, "total": money(total), "fund": money(fund), "account": money(account),
            "self": money(own), "first_date": first.isoformat() if first else None,
            "last_date": last.isoformat() if last else None, "over_threshold": over,
            "facility": place.get("facility"), "region": place.get("region"), "status": status,
            "opened": case is not None, "assignee": (case or {}).get("assignee"),
            "deadline": (case or {}).get("deadline"), "grew_after_dismissal": grew, "run_status": run_status,
            "entity": entity, "text": text}


def _amount_parts(con, claims_of: dict[str, list[str]]) -> dict[str, dict]:
    if not claims_of:
        return {}
    pairs = [(case, c) for case, ids in claims_of.items() for c in ids]
    con.execute("CREATE OR REPLACE TEMP TABLE wb_case_claims (case_id VARCHAR, claim_id VARCHAR)")
    con.execute("INSERT INTO wb_case_claims SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[])",
                [[p[0] for p in pairs], [p[1] for p in pairs]])
    out = {}
    for case_id, n, total, fund, account, own, first, last, facility, region in con.execute("""
            SELECT w.case_id, count(c.claim_id), sum(c.total_amount), sum(c.fund_amount), sum(c.account_amount),
                   sum(c.self_amount), min(c.settled_at)::DATE, max(c.settled_at)::DATE, mode(c.facility_id),
                   mode(f.region_code)
            FROM wb_case_claims w JOIN claims c USING (claim_id) LEFT JOIN facilities f USING (facility_id)
            GROUP BY w.case_id""").fetchall():
        out[case_id] = {"n": n, "total": total or ZERO, "fund": fund or ZERO, "account": account or ZERO,
                        "self": own or ZERO, "first": first, "last": last, "facility": facility, "region": region}
    return out


def _places(con, run_id: str) -> dict[str, dict]:
    """Each ring's busiest facility among its members, and that facility's region."""
    out = {}
    for ring_id, facility, region in con.execute("""
            SELECT m.ring_id, arg_max(m.entity_id, m.n_claims), arg_max(f.region_code, m.n_claims)
            FROM ring_members m LEFT JOIN facilities f ON f.facility_id = m.entity_id
            WHERE m.run_id = ? AND m.entity_type = 'facility' GROUP BY m.ring_id""", [run_id]).fetchall():
        out[ring_id] = {"facility": facility, "region": region}
    return out


# ------------------------------------------------------------------ graphs
def case_type_of(con, case_id: str, run_id: str) -> str:
    if con.execute("SELECT 1 FROM rings WHERE run_id = ? AND ring_id = ?", [run_id, case_id]).fetchone():
        return "ring"
    if con.execute("SELECT 1 FROM leads WHERE run_id = ? AND lead_id = ?", [run_id, case_id]).fetchone():
        return "lead"
    raise GraphfraudError("case_not_found", case=case_id, run=run_id)


def case_view(con, case_id: str, run_id: str | None, lang: str) -> dict:
    """The case's graph for the workbench (grouped, laid out), its reasons, totals, claims and
    timeline."""
    run_id = check_run(con, run_id)
    case_type = case_type_of(con, case_id, run_id)
    graph = (ring_graph if case_type == "ring" else lead_graph)(con, case_id, run_id=run_id)
    claims = case_claims(con, graph.claim_ids)
    out = graph_json(graph, lang)
    s = graph.summary
    total = sum((c["total_amount"] for c in claims), ZERO)
    out.update({
        "case_id": case_id, "case_type": case_type, "kind": graph.kind, "run_id": run_id,
        "kind_name": kind_name(graph.kind, lang) if case_type == "ring" else t("lead." + graph.kind, lang=lang),
        "title": graph.title_zh if lang == "zh" else graph.title_en,
        "score": s.get("score"), "members": len(graph.members),
        "reasons": [r["text_zh"] if lang == "zh" else r["text_en"] for r in graph.reasons],
        "totals": {"claims": len(claims), "total": money(total),
                   "fund": money(sum((c["fund_amount"] or ZERO for c in claims), ZERO)),
                   "account": money(sum((c["account_amount"] or ZERO for c in claims), ZERO)),
                   "self": money(sum((c["self_amount"] or ZERO for c in claims), ZERO))},
        "claims": [claim_json(c) for c in claims],
        "timeline": timeline_svg(claims, lang),
    })
    return out


def claim_json(c: dict) -> dict:
    return {"claim_id": c["claim_id"], "settled_at": c["settled_at"].isoformat(sep=" ") if c["settled_at"] else None,
            "day": c["settled_at"].date().isoformat() if c["settled_at"] else None, "card_id": c["card_id"],
            "facility_id": c["facility_id"], "doctor_id": c["doctor_id"], "terminal_id": c["terminal_id"],
            "claim_type": c["claim_type"], "total": money(c["total_amount"]), "fund": money(c["fund_amount"]),
            "account": money(c["account_amount"]), "self": money(c["self_amount"])}


def graph_json(graph: CaseGraph, lang: str, *, layout: bool = True) -> dict:
    """Nodes and edges as the page draws them, the many-of-a-kind ones grouped, and positions."""
    styles = load_styles()
    nodes = [node_json(n, lang, styles) for n in graph.nodes]
    edges = [edge_json(e, lang, styles) for e in graph.edges]
    names = {k: (node_label(k, "zh"), node_label(k, "en", in_sentence=True)) for k in readable.GROUPABLE}
    shown, shown_edges, groups = readable.group_many(nodes, edges, names=names)
    for n in shown:
        if n["type"] == "group":
            n.update(_group_style(n, lang, styles))
    positions = readable.layout(shown, shown_edges) if layout else {}
    for n in shown:
        if n["id"] in positions:
            n["x"], n["y"] = positions[n["id"]]
    grouped_ids = {m for ids in groups.values() for m in ids}
    return {"nodes": shown, "edges": shown_edges, "groups": {
        g: {"nodes": [n for n in nodes if n["id"] in set(ids)],
            "edges": [e for e in edges if e["from"] in set(ids) or e["to"] in set(ids)]}
        for g, ids in groups.items()}, "hidden": graph.hidden_nodes, "grouped": len(grouped_ids)}


def _group_style(n: dict, lang: str, styles: dict) -> dict:
    st = styles["node"].get(n["group_of"], styles["node"]["card"])
    label = n["label"] if lang == "zh" else n["label_en"]
    return {"label": label, "shape": "box", "size": WORKBENCH_SIZE, "font": readable.FONT, "color": st["color"],
            "title": t("workbench.group_hint", lang=lang),
            "style_type": n["group_of"]}


def node_json(n, lang: str, styles: dict) -> dict:
    key = node_key(n)
    st = styles["node"].get(key, styles["node"]["card"])
    return {"id": n.key, "type": n.type, "style_type": key, "entity_id": n.entity_id, "label": n.label,
            "member": n.member, "role": n.role, "n_claims": n.n_claims, "amount": money(n.amount),
            "first_date": n.first_date.isoformat() if n.first_date else None,
            "last_date": n.last_date.isoformat() if n.last_date else None,
            "shape": st["shape"], "size": WORKBENCH_SIZE, "font": readable.FONT, "color": st["color"],
            "type_name": type_label(key, lang, styles),
            "title": node_tooltip(n, lang, styles), "expandable": n.type in EXPLORE_TYPES}


def edge_json(e, lang: str, styles: dict) -> dict:
    return {"id": f"{e.source}>{e.target}>{e.type}", "from": e.source, "to": e.target, "type": e.type,
            "type_name": edge_label(e.type, lang, styles), "n_claims": e.n_claims, "amount": money(e.amount),
            "days": [d.isoformat() for d in e.days],
            "first_date": e.first_date.isoformat() if e.first_date else None,
            "last_date": e.last_date.isoformat() if e.last_date else None,
            "color": styles["edge"].get(e.type, {}).get("color", "#999999")}


def split_node(node_id: str) -> tuple[str, str]:
    etype, _, eid = node_id.partition(":")
    if etype not in EXPLORE_TYPES or not eid:
        raise GraphfraudError("workbench.not_expandable", node=node_id)
    return etype, eid


def expand_node(con, node_id: str, lang: str, *, cap: int = EXPAND_CAP) -> dict:
    """The neighbours of one node from the store, ranked by claims and capped: the page adds
    them beside the node, with ``more`` counting those left out."""
    etype, eid = split_node(node_id)
    graph = neighbourhood(con, etype, eid, hops=1, cap=cap + 1)
    out = graph_json(graph, lang, layout=False)
    out["more"] = graph.hidden_nodes
    out["node"] = node_id
    return out


def paths(con, nodes: list[str], edges: list[tuple[str, str]], a: str, b: str, lang: str) -> dict:
    """The shortest paths between ``a`` and ``b`` through the drawn graph (``nodes``,
    ``edges``), else through it and the two ends' neighbours in the store; each path with the
    ties that make it."""
    found = _shortest(nodes, edges, a, b)
    added: dict = {"nodes": [], "edges": []}
    if not found:
        for end in (a, b):
            try:
                more = expand_node(con, end, lang, cap=60)
            except GraphfraudError:
                continue
            added["nodes"] += more["nodes"] + [n for g in more["groups"].values() for n in g["nodes"]]
            added["edges"] += more["edges"] + [e for g in more["groups"].values() for e in g["edges"]]
        all_nodes = set(nodes) | {n["id"] for n in added["nodes"]}
        all_edges = list(edges) + [(e["from"], e["to"]) for e in added["edges"]]
        found = _shortest(sorted(all_nodes), all_edges, a, b)
        used = {n for p in found for n in p}
        added["nodes"] = list({n["id"]: n for n in added["nodes"] if n["id"] in used and n["id"] not in nodes}.values())
        steps = {(p[i], p[i + 1]) for p in found for i in range(len(p) - 1)}
        added["edges"] = [e for e in added["edges"] if (e["from"], e["to"]) in steps or (e["to"], e["from"]) in steps]
    return {"from": a, "to": b, "paths": found, "added": added}


def _shortest(nodes: list[str], edges: list[tuple[str, str]], a: str, b: str) -> list[list[str]]:
    if a not in nodes or b not in nodes or a == b:
        return []
    neigh: dict[str, set[str]] = {n: set() for n in nodes}
    for x, y in edges:
        if x in neigh and y in neigh:
            neigh[x].add(y)
            neigh[y].add(x)
    # breadth first from a, keeping every parent on a shortest path
    depth = {a: 0}
    parents: dict[str, list[str]] = {a: []}
    frontier = [a]
    while frontier and b not in depth:
        nxt = []
        for x in frontier:
            for y in sorted(neigh[x]):
                if y not in depth:
                    depth[y] = depth[x] + 1
                    parents[y] = [x]
                    nxt.append(y)
                elif depth[y] == depth[x] + 1:
                    parents[y].append(x)
        frontier = nxt
    if b not in depth:
        return []
    out: list[list[str]] = []

    def walk(node: str, tail: list[str]) -> None:
        if len(out) >= MAX_PATHS:
            return
        if node == a:
            out.append([a, *tail])
            return
        for p in parents[node]:
            walk(p, [node, *tail])

    walk(b, [])
    return out


def confirmed_seeds(con, run_id: str | None, case_ids: list[str]) -> list[str]:
    """The cards of the confirmed cases: the member cards of rings, the card of card leads."""
    if not case_ids:
        return []
    run_id = check_run(con, run_id)
    rows = con.execute("""
        SELECT entity_id FROM ring_members WHERE run_id = ? AND entity_type = 'card'
          AND ring_id IN (SELECT unnest(?::VARCHAR[]))
        UNION
        SELECT entity_id FROM leads WHERE run_id = ? AND entity_type = 'card' AND lead_id IN (SELECT unnest(?::VARCHAR[]))
        ORDER BY 1""", [run_id, case_ids, run_id, case_ids]).fetchall()
    return [r[0] for r in rows]


def expand_confirmed(con, run_id: str | None, case_ids: list[str], lang: str, *, settings) -> dict:
    """Seed-and-expand from the confirmed cases' cards: the other cards met at their pharmacies
    and terminals, ranked (``views.expand``)."""
    seeds = confirmed_seeds(con, run_id, case_ids)
    if not seeds:
        return {"seeds": [], "candidates": []}
    result = expand(con, seeds, settings=settings, graph=False)
    return {"seeds": result.seeds, "missing": result.missing, "places": result.places,
            "candidates": [{**row, "significance": round(row["significance"], 2), "expected": round(row["expected"], 3)}
                           for row in page_rows(result, lang)]}
