"""The graph behind one case: the entities and ties of a ring, a lead or an entity's
neighbourhood, with the numbers behind every tie, built from the case's claims.

One function per kind of case; every renderer (case pages, the report site, evidence
exports) takes the ``CaseGraph`` they return, so the numbers on a page, in a GraphML file and
in a table are the same numbers.

- **Nodes** are ``"<type>:<entity_id>"``: patients, cards, doctors, facilities (pharmacies
  are facilities with ``attrs["facility_type"] == "pharmacy"``), terminals, drugs, phones and
  addresses (pseudonyms only) and drug traceability codes.
- **Edges** aggregate the case's claims: ``HOLDS`` patient→card, ``USED_AT`` card→facility,
  ``VIA`` card→terminal, ``PRESCRIBED_BY`` card→doctor, ``WORKS_AT`` doctor→facility,
  ``BOUGHT`` card→drug, ``SCANNED`` card→trace code, ``HAS_PHONE`` and ``LIVES_AT``
  patient→phone/address. Each carries the number of claims, their exact total and fund
  amounts, the distinct days and the first and last date.
- **Totals** are exact ``Decimal`` sums of ``claims.total_amount`` over the case's claims,
  exactly as ``graphfraud detect`` computed the ring's or lead's amount (a ring's claims are
  already the claims that stand, see ``graphfraud.detect.claims.live_claims``; a refund the
  ring is about is part of it and nets out).
- A phone or address appears when a member, or when two or more of the case's people share
  it; a traceability code when it was settled on two or more claims anywhere. Personal data
  is shown only as the workspace's pseudonyms: never names or citizen ID numbers.

Example::

    >>> con = Workspace.open("ws").connect(read_only=True)          # doctest: +SKIP
    >>> g = ring_graph(con, "CC-1A2B3C4D5E")                         # doctest: +SKIP
    >>> sum(n.member for n in g.nodes), g.summary["total_amount"]     # doctest: +SKIP
    (12, Decimal('48210.50'))
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from graphfraud.core.errors import GraphfraudError
from graphfraud.core.i18n import t
from graphfraud.detect.registry import kind_name
from graphfraud.store.claims import live_claims
from graphfraud.store.viewsource import need_claims, need_people, need_touching
from graphfraud.views.styles import node_label

NODE_TYPES = ("patient", "card", "doctor", "facility", "terminal", "drug", "phone", "address", "trace_code")
EDGE_TYPES = ("HOLDS", "USED_AT", "VIA", "PRESCRIBED_BY", "WORKS_AT", "BOUGHT", "SCANNED", "HAS_PHONE", "LIVES_AT")
#: entity types ``neighbourhood`` starts from
EXPLORE_TYPES = ("card", "patient", "doctor", "facility", "terminal", "phone", "address")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class CaseNode:
    key: str  # unique within the graph, "<type>:<entity_id>", e.g. "card:C000123"
    type: str  # one of NODE_TYPES
    entity_id: str  # source-system id (pseudonym for phone/address)
    label: str  # short display label
    member: bool  # a member of the ring (ring_members) / the lead's entity / the explored entity
    role: str | None  # ring_members.role when member
    n_claims: int
    amount: Decimal  # exact, sum of the case's claims touching the node
    first_date: dt.date | None
    last_date: dt.date | None
    attrs: dict = field(default_factory=dict, hash=False, compare=False)  # facts for tooltips


@dataclass(frozen=True)
class CaseEdge:
    source: str  # CaseNode.key
    target: str
    type: str  # one of EDGE_TYPES
    n_claims: int
    amount: Decimal
    fund_amount: Decimal
    n_days: int  # distinct days
    first_date: dt.date | None
    last_date: dt.date | None
    days: tuple[dt.date, ...]  # the distinct days (for GEXF time spells)


@dataclass
class CaseGraph:
    case_id: str
    kind: str  # ring kind or lead kind ("neighbourhood" for an exploration)
    case_type: str  # "ring" | "lead" | "neighbourhood"
    title_zh: str
    title_en: str
    summary: dict  # the rings / leads row (totals as Decimal), or the neighbourhood's totals
    reasons: list[dict]  # code, value, text_zh, text_en
    nodes: list[CaseNode]
    edges: list[CaseEdge]
    claim_ids: list[str]  # every claim behind the case
    hidden_nodes: int  # folded beyond the cap

    def node(self, key: str) -> CaseNode:
        for n in self.nodes:
            if n.key == key:
                return n
        raise KeyError(key)

    @property
    def members(self) -> list[CaseNode]:
        return [n for n in self.nodes if n.member]


# ------------------------------------------------------------------ public functions
def latest_run(con) -> str:
    """The id of the latest detection run in the workspace."""
    if not _has_table(con, "detect_runs"):
        raise GraphfraudError("no_detect_run")
    rows = con.execute("SELECT run_id FROM detect_runs ORDER BY finished_at DESC, run_id DESC LIMIT 1").fetchall()
    if not rows:
        raise GraphfraudError("no_detect_run")
    return rows[0][0]


def check_run(con, run_id: str | None) -> str:
    """``run_id`` when the workspace holds that run, the latest run when None."""
    if run_id is None:
        return latest_run(con)
    if not _has_table(con, "detect_runs") or not con.execute(
            "SELECT count(*) FROM detect_runs WHERE run_id = ?", [run_id]).fetchall()[0][0]:
        raise GraphfraudError("run_not_found", run=run_id)
    return run_id


def ring_graph(con, ring_id: str, *, run_id: str | None = None, cap: int = 500) -> CaseGraph:
    """The subgraph behind ring ``ring_id`` of run ``run_id`` (default: the latest run):
    its members, the facilities, doctors, terminals, drugs, phones and addresses that tie
    them, and every claim behind it. Beyond ``cap`` nodes the non-members with the least
    amount are folded (``hidden_nodes`` says how many); members are always shown."""

    run_id = check_run(con, run_id)
    summary = _case_row(con, "rings", "ring_id", ring_id, run_id)
    summary["total_amount"] = _money(summary["total_amount"])
    summary["fund_amount"] = _money(summary["fund_amount"])
    reasons = [{"code": c, "value": v, "text_zh": zh, "text_en": en} for c, v, zh, en in con.execute(
        "SELECT code, value, text_zh, text_en FROM reasons WHERE run_id = ? AND ring_id = ? ORDER BY rowid",
        [run_id, ring_id]).fetchall()]
    members = {(et, eid): role for et, eid, role in con.execute(
        "SELECT entity_type, entity_id, role FROM ring_members WHERE run_id = ? AND ring_id = ? ORDER BY rowid",
        [run_id, ring_id]).fetchall()}
    claim_ids = [c for (c,) in con.execute(
        "SELECT claim_id FROM ring_claims WHERE run_id = ? AND ring_id = ? ORDER BY rowid",
        [run_id, ring_id]).fetchall()]
    kind = summary["kind"]
    title_zh = t("case_title_ring", lang="zh", case=ring_id, kind=kind_name(kind, "zh"))
    title_en = t("case_title_ring", lang="en", case=ring_id, kind=kind_name(kind, "en"))
    nodes, edges, hidden = build_graph(con, claim_ids, members, cap=cap)
    return CaseGraph(ring_id, kind, "ring", title_zh, title_en, summary, reasons, nodes, edges, claim_ids, hidden)


def lead_graph(con, lead_id: str, *, run_id: str | None = None, cap: int = 500) -> CaseGraph:
    """The subgraph behind lead ``lead_id``: its card (the member) and every claim the lead
    names, with the places, doctors and terminals of those claims."""

    run_id = check_run(con, run_id)
    summary = _case_row(con, "leads", "lead_id", lead_id, run_id)
    summary["amount"] = _money(summary["amount"])
    claim_ids = [c for c in (summary.get("claim_ids") or "").split(";") if c]
    kind = summary["kind"]
    need_claims(con, claim_ids, [(summary["entity_type"], summary["entity_id"])])
    totals = _totals(con, claim_ids)
    summary.update({"n_claims": len(claim_ids), "total_amount": totals[0], "fund_amount": totals[1],
                    "first_date": totals[2], "last_date": totals[3]})
    reasons = [{"code": kind, "value": str(summary["amount"]), "text_zh": summary["text_zh"],
                "text_en": summary["text_en"]}]
    # the work queue's reasons: what raised and what lowered the lead's score, with the points
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'lead_reasons'").fetchall()[0][0]:
        for code, value, points, zh, en in con.execute("""
                SELECT code, value, points, text_zh, text_en FROM lead_reasons WHERE run_id = ? AND lead_id = ?
                ORDER BY rowid""", [run_id, lead_id]).fetchall():
            reasons.append({"code": code, "value": value, "points": points,
                            "text_zh": f"{zh}（{points:+.0f}）" if points else zh,
                            "text_en": f"{en} ({points:+.0f})" if points else en})
    members = {(summary["entity_type"], summary["entity_id"]): kind}
    title_zh = t("case_title_lead", lang="zh", case=lead_id, kind=t("lead." + kind, lang="zh"))
    title_en = t("case_title_lead", lang="en", case=lead_id, kind=t("lead." + kind, lang="en"))
    nodes, edges, hidden = build_graph(con, claim_ids, members, cap=cap, drugs="all")
    return CaseGraph(lead_id, kind, "lead", title_zh, title_en, summary, reasons, nodes, edges, claim_ids, hidden)


def neighbourhood(con, entity_type: str, entity_id: str, *, hops: int = 2, cap: int = 200) -> CaseGraph:
    """The entities within ``hops`` ties of one entity, through the claims that stand: a card
    leads to its holder and the facilities, doctors and terminals it was used at, those lead
    to the other cards seen there, and so on. At each hop only the neighbours with the most
    claims (then amount) are kept, so the graph holds at most ``cap`` nodes besides phones,
    addresses, drugs and trace codes, which are not expanded; ``hidden_nodes`` counts the
    neighbours left out. A phone or address starts from the people registered with it."""

    if entity_type not in EXPLORE_TYPES:
        raise GraphfraudError("bad_option", option="--type", detail=f"{entity_type} ∉ {', '.join(EXPLORE_TYPES)}")
    if hops < 1:
        raise GraphfraudError("bad_option", option="--hops", detail=str(hops))
    live_claims(con)
    seed = (entity_type, entity_id)
    if entity_type in ("phone", "address"):
        need_people(con, entity_type, entity_id)
    else:
        need_touching(con, [seed])
    if not _entity_exists(con, entity_type, entity_id):
        raise GraphfraudError("entity_not_found", type=entity_type, entity=entity_id)
    kept: set[tuple[str, str]] = {seed}
    hidden = 0
    frontier = [seed]
    hop = 0
    if entity_type in ("phone", "address"):
        people = con.execute(f"""
            SELECT p.patient_id, count(c.claim_id) AS n FROM patients p LEFT JOIN live_claims c USING (patient_id)
            WHERE p.{entity_type} = ? GROUP BY p.patient_id ORDER BY n DESC, p.patient_id""",
                             [entity_id]).fetchall()
        room = max(2 * cap - len(kept), 0)
        frontier = [("patient", p) for p, _ in people[:room]]
        hidden += max(len(people) - room, 0)
        kept.update(frontier)
        hop = 1
    # entities are chosen up to twice the cap: some have no claim drawn between kept ones
    # (a doctor seen only with cards left out), and the graph is folded to the cap at the end
    budget = 2 * cap
    while hop < hops and frontier:
        room = budget - len(kept)
        need_touching(con, frontier)
        ranked = _neighbours(con, frontier)
        new = [e for e in ranked if e not in kept]
        chosen = new[:max(room, 0)]
        hidden += len(new) - len(chosen)
        kept.update(chosen)
        frontier = chosen
        hop += 1
    # the claims between kept entities: each claim touches at least one kept claim entity
    # and is drawn only through kept ones
    need_touching(con, [e for e in kept if e[0] == "card"])
    ids = _claims_among(con, kept)
    members = {seed: "explored"}
    nodes, edges, folded = build_graph(con, ids, members, cap=cap, keep=kept, drugs="none")
    hidden += folded
    total, fund, first, last = _totals(con, ids)
    summary = {"entity_type": entity_type, "entity_id": entity_id, "hops": hops, "n_claims": len(ids),
               "total_amount": total, "fund_amount": fund, "first_date": first, "last_date": last,
               "n_nodes": len(nodes), "hidden_nodes": hidden}
    case_id = f"{entity_type}:{entity_id}"
    title_zh = t("case_title_explore", lang="zh", type=node_label(entity_type, "zh", in_sentence=True), entity=entity_id, hops=hops)
    title_en = t("case_title_explore", lang="en", type=node_label(entity_type, "en", in_sentence=True), entity=entity_id, hops=hops)
    return CaseGraph(case_id, "neighbourhood", "neighbourhood", title_zh, title_en, summary, [], nodes, edges, ids,
                     hidden)


# ------------------------------------------------------------------ the builder
#: claim columns that name an entity, as node types
_CLAIM_ENTITIES = (("card", "card_id"), ("patient", "patient_id"), ("facility", "facility_id"),
                   ("doctor", "doctor_id"), ("terminal", "terminal_id"))


class _Acc:
    """Claims, exact amounts and days touching one node or edge."""

    __slots__ = ("claims", "amount", "fund", "days")

    def __init__(self) -> None:
        self.claims: set[str] = set()
        self.amount = ZERO
        self.fund = ZERO
        self.days: set[dt.date] = set()

    def add(self, claim: dict) -> None:
        if claim["claim_id"] in self.claims:
            return
        self.claims.add(claim["claim_id"])
        self.amount += claim["total_amount"]
        self.fund += claim["fund_amount"]
        self.days.add(claim["day"])


def build_graph(con, claim_ids: list[str], members: dict[tuple[str, str], str | None], *,
                cap: int | None = 500, keep: set[tuple[str, str]] | None = None, drugs: str = "shared"
                ) -> tuple[list[CaseNode], list[CaseEdge], int]:
    """Nodes and edges from ``claim_ids`` plus the ``members`` ((type, id) -> role). When
    ``keep`` is given only those claim entities (and the phones, addresses, drugs and trace
    codes of kept people and cards) become nodes. ``drugs``: ``"all"`` drugs of the claims,
    ``"shared"`` only those bought on two or more of the case's cards (a drug one card bought
    ties nobody) or members, ``"none"``. Beyond ``cap`` nodes, the non-members with the
    least amount are folded; returns the number folded."""
    need_claims(con, claim_ids, list(members))
    claims = _claim_rows(con, claim_ids)
    node_acc: dict[tuple[str, str], _Acc] = defaultdict(_Acc)
    edge_acc: dict[tuple[str, str, str], _Acc] = defaultdict(_Acc)

    def ok(e: tuple[str, str]) -> bool:
        return keep is None or e in keep or e in members

    # patients of the case's cards (cards table first, then the claims' own patient id)
    cards = sorted({c["card_id"] for c in claims} | {eid for (et, eid) in members if et == "card"})
    holder = dict(con.execute("SELECT card_id, patient_id FROM cards WHERE card_id IN (SELECT unnest(?::VARCHAR[])) "
                              "AND patient_id IS NOT NULL", [cards]).fetchall()) if cards else {}
    for c in claims:
        if c["patient_id"] is None:
            c["patient_id"] = holder.get(c["card_id"])
        card = ("card", c["card_id"])
        ents = {et: c[col] for et, col in _CLAIM_ENTITIES if c[col] is not None}
        for et, eid in ents.items():
            if ok((et, eid)):
                node_acc[(et, eid)].add(c)
        if not ok(card):
            continue
        for et, etype in (("patient", "HOLDS"), ("facility", "USED_AT"), ("terminal", "VIA"),
                          ("doctor", "PRESCRIBED_BY")):
            eid = ents.get(et)
            if eid is None or not ok((et, eid)):
                continue
            key = (f"patient:{eid}", f"card:{c['card_id']}", etype) if et == "patient" else \
                (f"card:{c['card_id']}", f"{et}:{eid}", etype)
            edge_acc[key].add(c)
    by_id = {c["claim_id"]: c for c in claims}
    # a member card's holder holds it even when the case has no claim of that card
    for card in cards:
        pid = holder.get(card)
        if pid and (("card", card) in node_acc or ("card", card) in members) and ok(("patient", pid)) \
                and (("patient", pid) in node_acc or ("patient", pid) in members):
            edge_acc.setdefault((f"patient:{pid}", f"card:{card}", "HOLDS"), _Acc())

    # drugs and traceability codes
    if claims:
        items = con.execute("""
            SELECT i.claim_id, i.item_code, any_value(i.item_name), list(DISTINCT i.trace_code)
                   FILTER (WHERE i.trace_code IS NOT NULL)
            FROM items i WHERE i.claim_id IN (SELECT unnest(?::VARCHAR[])) AND i.category = 'drug'
            GROUP BY i.claim_id, i.item_code""", [list(by_id)]).fetchall()
        codes = sorted({tc for *_, tcs in items for tc in (tcs or [])})
        reused = {tc for tc, n in con.execute("""
            SELECT trace_code, count(DISTINCT claim_id) FROM items
            WHERE trace_code IN (SELECT unnest(?::VARCHAR[])) GROUP BY trace_code""", [codes]).fetchall()
                  if n >= 2} if codes else set()
        drug_names: dict[str, str] = {}
        for claim_id, code, name, tcs in items:
            c = by_id[claim_id]
            if not ok(("card", c["card_id"])):
                continue
            drug_names.setdefault(code, name or code)
            node_acc[("drug", code)].add(c)
            edge_acc[(f"card:{c['card_id']}", f"drug:{code}", "BOUGHT")].add(c)
            for tc in tcs or ():
                if tc in reused or ("trace_code", tc) in members:
                    node_acc[("trace_code", tc)].add(c)
                    edge_acc[(f"card:{c['card_id']}", f"trace_code:{tc}", "SCANNED")].add(c)
    else:
        drug_names = {}
    if drugs != "all":
        buyers: dict[str, int] = defaultdict(int)
        for (src, tgt, etype) in edge_acc:
            if etype == "BOUGHT":
                buyers[tgt] += 1
        for key in [k for k in edge_acc if k[2] == "BOUGHT"]:
            code = key[1].split(":", 1)[1]
            if ("drug", code) not in members and (drugs == "none" or buyers[key[1]] < 2):
                del edge_acc[key]
                node_acc.pop(("drug", code), None)

    # members without claims of their own still appear
    for m in members:
        if m[0] in NODE_TYPES:
            node_acc.setdefault(m, _Acc())

    # people: facts, and the phones and addresses two of them share (or a member)
    people = sorted(eid for (et, eid) in node_acc if et == "patient")
    person: dict[str, dict] = {}
    if people:
        cur = con.execute("""
            SELECT patient_id, sex, birth_date, death_date, phone, address, insured_region, insurance_type
            FROM patients WHERE patient_id IN (SELECT unnest(?::VARCHAR[]))""", [people])
        cols = [d[0] for d in cur.description]
        person = {r[0]: dict(zip(cols, r)) for r in cur.fetchall()}
    claims_of_person: dict[str, list[dict]] = defaultdict(list)
    for c in claims:
        if c["patient_id"]:
            claims_of_person[c["patient_id"]].append(c)
    for kind, etype in (("phone", "HAS_PHONE"), ("address", "LIVES_AT")):
        sharing: dict[str, list[str]] = defaultdict(list)
        for pid, facts in person.items():
            if facts.get(kind):
                sharing[facts[kind]].append(pid)
        for value, pids in sharing.items():
            if len(pids) < 2 and (kind, value) not in members:
                continue
            for pid in pids:
                acc = edge_acc.setdefault((f"patient:{pid}", f"{kind}:{value}", etype), _Acc())
                nacc = node_acc.setdefault((kind, value), _Acc())
                for c in claims_of_person.get(pid, ()):
                    acc.add(c)
                    nacc.add(c)

    # doctors work at their facility
    doctors = sorted(eid for (et, eid) in node_acc if et == "doctor")
    doctor_facts: dict[str, dict] = {}
    if doctors:
        for did, fid, dept in con.execute("""
                SELECT doctor_id, facility_id, department FROM doctors
                WHERE doctor_id IN (SELECT unnest(?::VARCHAR[]))""", [doctors]).fetchall():
            doctor_facts[did] = {"facility_id": fid, "department": dept}
            if fid and ok(("facility", fid)):
                acc = edge_acc.setdefault((f"doctor:{did}", f"facility:{fid}", "WORKS_AT"), _Acc())
                node_acc.setdefault(("facility", fid), _Acc())
                for cid in node_acc[("doctor", did)].claims:
                    acc.add(by_id[cid])

    facilities = sorted(eid for (et, eid) in node_acc if et == "facility")
    fac_facts: dict[str, dict] = {}
    if facilities:
        cur = con.execute("""
            SELECT facility_id, name, facility_type, level, region_code FROM facilities
            WHERE facility_id IN (SELECT unnest(?::VARCHAR[]))""", [facilities])
        fac_facts = {r[0]: {"name": r[1], "facility_type": r[2], "level": r[3], "region_code": r[4]}
                     for r in cur.fetchall()}
    card_facts: dict[str, dict] = {}
    card_ids = sorted(eid for (et, eid) in node_acc if et == "card")
    if card_ids:
        for cid, ctype, issued in con.execute("""
                SELECT card_id, card_type, issued_at FROM cards WHERE card_id IN (SELECT unnest(?::VARCHAR[]))""",
                                              [card_ids]).fetchall():
            card_facts[cid] = {"card_type": ctype, "issued_at": issued}
    terminal_places: dict[str, set[str]] = defaultdict(set)
    for c in claims:
        if c["terminal_id"]:
            terminal_places[c["terminal_id"]].add(c["facility_id"])

    def attrs_of(et: str, eid: str) -> dict:
        if et == "patient":
            f = person.get(eid, {})
            out = {k: f.get(k) for k in ("sex", "birth_date", "death_date", "insured_region", "insurance_type")}
            out["age"] = _age(f.get("birth_date"), f.get("death_date"))
            return out
        if et == "card":
            out = dict(card_facts.get(eid, {}))
            out["patient_id"] = holder.get(eid)
            return out
        if et == "facility":
            return dict(fac_facts.get(eid, {}))
        if et == "doctor":
            return dict(doctor_facts.get(eid, {}))
        if et == "terminal":
            return {"facilities": sorted(terminal_places.get(eid, ()))}
        if et == "drug":
            return {"name": drug_names.get(eid)}
        return {}

    nodes = []
    for (et, eid), acc in node_acc.items():
        if et not in NODE_TYPES:
            continue
        attrs = {k: v for k, v in attrs_of(et, eid).items() if v not in (None, "", [])}
        days = sorted(acc.days)
        nodes.append(CaseNode(f"{et}:{eid}", et, eid, _label(et, eid, attrs), (et, eid) in members,
                              members.get((et, eid)), len(acc.claims), acc.amount,
                              days[0] if days else None, days[-1] if days else None, attrs))
    keys = {n.key for n in nodes}
    edges = []
    for (s, tgt, etype), acc in edge_acc.items():
        if s not in keys or tgt not in keys:
            continue
        days = sorted(acc.days)
        edges.append(CaseEdge(s, tgt, etype, len(acc.claims), acc.amount, acc.fund, len(days),
                              days[0] if days else None, days[-1] if days else None, tuple(days)))
    nodes.sort(key=lambda n: (not n.member, NODE_TYPES.index(n.type), -n.amount, n.key))
    edges.sort(key=lambda e: (EDGE_TYPES.index(e.type), e.source, e.target))
    hidden = 0
    if cap is not None and len(nodes) > cap:
        nodes, edges, hidden = fold(nodes, edges, cap)
    return nodes, edges, hidden


def fold(nodes: list[CaseNode], edges: list[CaseEdge], cap: int) -> tuple[list[CaseNode], list[CaseEdge], int]:
    """Keep every member and the ``cap`` minus members most important other nodes (amount,
    then claims, then ties to members); drop the rest and their edges. Returns the kept
    nodes and edges and how many nodes were hidden."""
    member_keys = {n.key for n in nodes if n.member}
    ties: dict[str, int] = defaultdict(int)
    for e in edges:
        if e.source in member_keys:
            ties[e.target] += 1
        if e.target in member_keys:
            ties[e.source] += 1
    others = sorted((n for n in nodes if not n.member),
                    key=lambda n: (-n.amount, -n.n_claims, -ties[n.key], n.key))
    room = max(cap - len(member_keys), 0)
    kept = member_keys | {n.key for n in others[:room]}
    out_nodes = [n for n in nodes if n.key in kept]
    out_edges = [e for e in edges if e.source in kept and e.target in kept]
    return out_nodes, out_edges, len(nodes) - len(out_nodes)


# ------------------------------------------------------------------ helpers
def _case_row(con, table: str, key: str, case_id: str, run_id: str) -> dict:
    """The row of ring or lead ``case_id`` of run ``run_id`` (``table``/``key`` are fixed
    names from the callers, never data)."""
    cur = con.execute(f"SELECT * FROM {table} WHERE run_id = ? AND {key} = ?", [run_id, case_id])
    rows = cur.fetchall()
    if not rows:
        raise GraphfraudError("case_not_found", case=case_id, run=run_id)
    return dict(zip([d[0] for d in cur.description], rows[0]))


def _has_table(con, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                            [name]).fetchall()[0][0])


def _money(v) -> Decimal:
    return ZERO if v is None else Decimal(v).quantize(Decimal("0.01"))


def _claim_rows(con, claim_ids: list[str]) -> list[dict]:
    if not claim_ids:
        return []
    cur = con.execute("""
        SELECT claim_id, card_id, patient_id, facility_id, doctor_id, terminal_id, claim_type, settled_at,
               settled_at::DATE AS day, total_amount, coalesce(fund_amount, 0) AS fund_amount
        FROM claims WHERE claim_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY settled_at, claim_id""", [claim_ids])
    cols = [d[0] for d in cur.description]
    rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    for r in rows:
        r["total_amount"] = _money(r["total_amount"])
        r["fund_amount"] = _money(r["fund_amount"])
    return rows


def _totals(con, claim_ids: list[str]) -> tuple[Decimal, Decimal, dt.date | None, dt.date | None]:
    """Exact total and fund amounts and the date range of some claims."""
    if not claim_ids:
        return ZERO, ZERO, None, None
    total, fund, first, last = con.execute("""
        SELECT sum(total_amount), sum(coalesce(fund_amount, 0)), min(settled_at)::DATE, max(settled_at)::DATE
        FROM claims WHERE claim_id IN (SELECT unnest(?::VARCHAR[]))""", [claim_ids]).fetchall()[0]
    return _money(total), _money(fund), first, last


def _age(birth: dt.date | None, until: dt.date | None) -> int | None:
    if birth is None:
        return None
    end = until or dt.date.today()
    return end.year - birth.year - ((end.month, end.day) < (birth.month, birth.day))


def _label(et: str, eid: str, attrs: dict) -> str:
    if et == "facility" and attrs.get("name"):
        name = str(attrs["name"])
        return name if len(name) <= 12 else name[:11] + "…"
    if et == "drug" and attrs.get("name"):
        name = str(attrs["name"])
        return name if len(name) <= 10 else name[:9] + "…"
    if et in ("phone", "address", "trace_code") and len(eid) > 12:
        return eid[:11] + "…"
    return eid


def _entity_exists(con, et: str, eid: str) -> bool:
    if et in ("phone", "address"):
        sql = f"SELECT EXISTS (SELECT 1 FROM patients WHERE {et} = ?)"
    else:
        col = dict(_CLAIM_ENTITIES)[et]
        sql = f"SELECT EXISTS (SELECT 1 FROM claims WHERE {col} = ?)"
    return bool(con.execute(sql, [eid]).fetchall()[0][0])


def _neighbours(con, frontier: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Entities sharing claims that stand with any of ``frontier``, most claims first (then
    amount, then id)."""
    by_type: dict[str, list[str]] = defaultdict(list)
    for et, eid in frontier:
        by_type[et].append(eid)
    cond = " OR ".join(f"{col} IN (SELECT unnest(?::VARCHAR[]))" for et, col in _CLAIM_ENTITIES if et in by_type)
    params = [by_type[et] for et, _ in _CLAIM_ENTITIES if et in by_type]
    if not cond:
        return []
    union = " UNION ALL ".join(
        f"SELECT '{et}' AS et, {col} AS eid, claim_id, total_amount FROM near WHERE {col} IS NOT NULL"
        for et, col in _CLAIM_ENTITIES)
    rows = con.execute(f"""
        WITH near AS (SELECT * FROM live_claims WHERE {cond})
        SELECT et, eid, count(DISTINCT claim_id) AS n, sum(total_amount) AS amount FROM ({union})
        GROUP BY et, eid ORDER BY n DESC, amount DESC, et, eid""", params).fetchall()
    return [(et, eid) for et, eid, _, _ in rows]


def _claims_among(con, kept: set[tuple[str, str]]) -> list[str]:
    """The claims that stand drawn between kept entities: the claim's card is kept and so is
    at least one other of its entities (or the claim's card is the only kept one of a kept
    person)."""
    by_type: dict[str, list[str]] = defaultdict(list)
    for et, eid in kept:
        by_type[et].append(eid)
    in_sql = {et: f"{col} IN (SELECT unnest(?::VARCHAR[]))" for et, col in _CLAIM_ENTITIES}
    params: list = []
    others = []
    for et, col in _CLAIM_ENTITIES:
        if et == "card":
            continue
        others.append(in_sql[et])
        params.append(by_type.get(et, []))
    rows = con.execute(f"""
        SELECT claim_id FROM live_claims WHERE {in_sql['card']} AND ({' OR '.join(others)})
        ORDER BY settled_at, claim_id""", [by_type.get("card", []), *params]).fetchall()
    return [r[0] for r in rows]
