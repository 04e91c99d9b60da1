"""truth.json: what was planted, the decoys, the edge cases and the dirty rows."""

from __future__ import annotations

import numpy as np

from graphfraud.synth.planting import Planter
from graphfraud.synth.world import NO_DAY, PHARMACY, PHARMACY_F
from graphfraud.synth.writing import DirtyRow, FinalTables, trace_strings


def truth_document(f: FinalTables, planter: Planter, facts: dict, dirty: dict[str, list[DirtyRow]], files: dict[str, str],
           counts: dict[str, int], generator: dict) -> dict:
    c, w = f.claims, f.w
    tags = c["tag"]
    order = np.argsort(tags, kind="stable")
    st = tags[order]
    lo = np.searchsorted(st, np.arange(planter.next_tag), side="left")
    hi = np.searchsorted(st, np.arange(planter.next_tag), side="right")

    def ids_of(tag: int, card: int | None = None) -> list[str]:
        idx = np.sort(order[lo[tag]:hi[tag]])
        if card is not None:
            idx = idx[c["card"][idx] == card]
        return [f.claim_id(int(i)) for i in idx]

    rings = []
    for r in planter.rings:
        r = dict(r)
        tag = r.pop("_tag")
        groups = r.pop("_trace_groups", None)
        r["claim_ids"] = ids_of(tag)
        used = {w.cid(int(x)) for x in np.unique(c["card"][order[lo[tag]:hi[tag]]])}
        r["members"] = [m for m in r["members"] if m["entity_type"] != "card" or m["entity_id"] in used]
        if r["kind"] != "shared_identity":
            r["size"] = sum(m["entity_type"] == "card" for m in r["members"])
        if groups is not None:
            sel = np.isin(f.items.trace, groups)
            r["trace_codes"] = sorted(set(trace_strings(f.cat, f.items.item[sel], f.items.trace[sel]).to_pylist()))
        rings.append(r)
    leads = []
    for ld in planter.leads:
        ld = dict(ld)
        tag = ld.pop("_tag")
        if "implied_by" in ld:  # the member's dispensing claims inside its ring
            idx = np.sort(order[lo[tag]:hi[tag]])
            idx = idx[(c["card"][idx] == ld.pop("_card")) & (c["ctype"][idx] == PHARMACY)]
            ld["claim_ids"] = [f.claim_id(int(i)) for i in idx]
        else:
            ld.pop("_card")
            ld["claim_ids"] = ids_of(tag)
        leads.append(ld)
    edges = []
    for e in planter.edge_cases:
        e = dict(e)
        e["claim_ids"] = ids_of(e.pop("_tag"))
        edges.append(e)

    decoys: list[dict] = []
    # the busiest pharmacies by realised volume
    volume = np.bincount(c["fac"][c["ctype"] == PHARMACY], minlength=w.nf)
    volume[w.far] = 0
    n_busy = max(2, int((w.ftype == PHARMACY_F).sum()) // 100 + 2)
    busy = [w.fid(int(i)) for i in np.argsort(-volume, kind="stable")[:n_busy] if volume[i] > 0]
    decoys.append({"kind": "busy_pharmacy", "entity_type": "facility", "entity_ids": busy})
    for fac, dom in facts["member_day"]:
        decoys.append({"kind": "member_day", "entity_type": "facility", "entity_ids": [w.fid(int(fac))],
                       "day_of_month": int(dom)})
    hh_u, trips = facts["family_trips"]
    top = hh_u[np.argsort(-trips, kind="stable")][: 200]
    hh_order = np.argsort(w.hh, kind="stable")
    hh_sorted = w.hh[hh_order]
    for h in top:
        if trips[np.searchsorted(hh_u, h)] < 2:
            break
        a, b = np.searchsorted(hh_sorted, [h, h + 1])
        decoys.append({"kind": "family", "entity_type": "patient",
                       "entity_ids": [w.pid(int(p)) for p in np.sort(hh_order[a:b])]})
    regs = facts["regulars"]
    regs = regs[~planter.used[regs] & (w.death[regs] == NO_DAY)][:200]
    if len(regs):
        decoys.append({"kind": "regular", "entity_type": "card", "entity_ids": [w.cid(int(w.ssc[p])) for p in regs]})
    # the hard region's look-alikes, with the kind of ring or lead each mimics
    decoys += facts.get("hard_decoys", [])
    for d in getattr(planter, "decoys", ()):
        d = dict(d)
        d["claim_ids"] = ids_of(d.pop("_tag"))
        decoys.append(d)

    dirty_out = []
    for table in ("patients", "claims", "items"):
        for d in sorted(dirty.get(table, []), key=lambda x: x.line):
            dirty_out.append({"table": table, "file": files[table], "line": d.line, "outcome": d.outcome,
                              "reason": d.reason, "column": d.column})
    return {
        "generator": generator,
        "files": files,
        "counts": counts,
        "rings": rings,
        "leads": leads,
        "decoys": decoys,
        "edge_cases": edges,
        "dirty": dirty_out,
        "id_number_invalid": [w.pid(int(p)) for p in np.nonzero(w.id_bad)[0]],
    }
