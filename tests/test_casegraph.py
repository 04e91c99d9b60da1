"""The graph behind a case: exactly the ring's members, totals equal to the sum of its
claims, ties that add up, folding beyond the cap, neighbourhoods within the cap."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import duckdb
import pytest

from graphfraud.core.errors import GraphfraudError
from graphfraud.views.casegraph import EDGE_TYPES, NODE_TYPES, lead_graph, neighbourhood, ring_graph


@pytest.fixture(scope="module")
def con(detected_region):
    _, ws, _, _ = detected_region
    c = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
    yield c
    c.close()


def _claim_sum(con, ids):
    rows = con.execute("SELECT total_amount, fund_amount FROM claims WHERE claim_id IN (SELECT unnest(?))",
                       [ids]).fetchall()
    return (sum((r[0] for r in rows), Decimal("0.00")), sum((r[1] or Decimal("0.00") for r in rows), Decimal("0.00")),
            len(rows))


def test_every_ring_graph_shows_exactly_its_members_and_its_claims_add_up(con, detected_region):
    result = detected_region[3]
    assert {r.kind for r in result.rings} >= {"card_collection", "cohort_admission", "trace_code_reuse",
                                              "doctor_pharmacy", "shared_identity"}
    for ring in result.rings:
        g = ring_graph(con, ring.ring_id)
        assert g.case_type == "ring" and g.kind == ring.kind and g.hidden_nodes == 0
        assert {(n.type, n.entity_id) for n in g.members} == {(m.entity_type, m.entity_id) for m in ring.members}
        assert {n.role for n in g.members} == {m.role for m in ring.members}
        assert sorted(g.claim_ids) == sorted(ring.claim_ids)
        total, fund, n = _claim_sum(con, g.claim_ids)
        assert n == len(ring.claim_ids)
        assert g.summary["total_amount"] == total == ring.total_amount
        assert g.summary["fund_amount"] == fund == ring.fund_amount
        assert isinstance(g.summary["total_amount"], Decimal)
        keys = {n.key for n in g.nodes}
        assert len(keys) == len(g.nodes)
        assert all(n.type in NODE_TYPES and n.key == f"{n.type}:{n.entity_id}" for n in g.nodes)
        assert all(e.type in EDGE_TYPES and e.source in keys and e.target in keys for e in g.edges)
        # every claim has one card and one facility: USED_AT edges partition the claims
        used = [e for e in g.edges if e.type == "USED_AT"]
        assert sum(e.n_claims for e in used) == len(g.claim_ids)
        assert sum((e.amount for e in used), Decimal("0.00")) == total
        per_card = defaultdict(lambda: Decimal("0.00"))
        for e in used:
            per_card[e.source] += e.amount
        for node in g.nodes:
            if node.type == "card":
                assert node.amount == per_card[node.key]
        for e in g.edges:
            assert e.n_days == len(e.days) and (not e.days or (e.first_date, e.last_date) == (e.days[0], e.days[-1]))
        if ring.kind == "card_collection":
            own = {m.entity_id: (m.n_claims, m.amount) for m in ring.members if m.entity_type == "card"}
            for node in g.members:
                if node.type == "card":
                    assert (node.n_claims, node.amount) == own[node.entity_id]


def test_no_personal_data_beyond_pseudonyms(con, detected_region):
    for ring in detected_region[3].rings:
        g = ring_graph(con, ring.ring_id)
        for n in g.nodes:
            if n.type in ("patient", "card", "doctor"):  # people: no name, citizen ID, phone or address
                assert not {"name", "id_number", "phone", "address"} & set(n.attrs)
            if n.type == "phone":
                assert n.entity_id.startswith("ph_")
            if n.type == "address":
                assert n.entity_id.startswith("ad_")


def test_lead_graph_totals_are_the_leads_amount(con, detected_region):
    leads = detected_region[3].leads
    assert leads
    for lead in leads[:25]:
        g = lead_graph(con, lead.lead_id)
        assert g.case_type == "lead" and [(n.type, n.entity_id) for n in g.members] == [("card", lead.entity_id)]
        assert g.summary["total_amount"] == g.summary["amount"] == lead.amount == _claim_sum(con, lead.claim_ids)[0]
        assert g.reasons[0]["text_zh"] == lead.text_zh


def test_folding_keeps_members_and_says_how_many_were_hidden(con, detected_region):
    ring = max(detected_region[3].rings, key=lambda r: len(ring_graph(con, r.ring_id).nodes))
    full = ring_graph(con, ring.ring_id)
    n_members = len(full.members)
    cap = n_members + 3
    assert len(full.nodes) > cap
    g = ring_graph(con, ring.ring_id, cap=cap)
    assert len(g.nodes) == cap and g.hidden_nodes == len(full.nodes) - cap
    assert {n.key for n in g.members} == {n.key for n in full.members}
    keys = {n.key for n in g.nodes}
    assert all(e.source in keys and e.target in keys for e in g.edges)
    # the kept non-members are the ones with the most money
    dropped = [n for n in full.nodes if n.key not in keys]
    kept = [n for n in g.nodes if not n.member]
    assert min(n.amount for n in kept) >= max(n.amount for n in dropped)
    assert g.summary["total_amount"] == full.summary["total_amount"]  # totals never fold


def test_neighbourhood_is_capped_and_centred_on_the_entity(con, detected_region):
    ring = next(r for r in detected_region[3].rings if r.kind == "card_collection")
    pharmacy = next(m.entity_id for m in ring.members if m.entity_type == "facility")
    card = next(m.entity_id for m in ring.members if m.entity_type == "card")
    g = neighbourhood(con, "facility", pharmacy, hops=2, cap=60)
    assert len(g.nodes) <= 60 and g.hidden_nodes > 0
    assert [n.key for n in g.members] == [f"facility:{pharmacy}"]
    assert g.summary["total_amount"] == _claim_sum(con, g.claim_ids)[0]
    g1 = neighbourhood(con, "card", card, hops=1)
    assert f"facility:{pharmacy}" in {n.key for n in g1.nodes}
    types = {n.type for n in g1.nodes}
    assert "card" in types and "facility" in types
    with pytest.raises(GraphfraudError):
        neighbourhood(con, "card", "NO-SUCH-CARD")
    with pytest.raises(GraphfraudError):
        ring_graph(con, "CC-NOPE")
