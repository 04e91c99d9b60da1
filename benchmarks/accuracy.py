"""Accuracy of the ring detectors against the generator's truth file, next to two baselines.

For every (size, seed) a region is generated (12 months by default), ingested into a fresh
workspace, and searched three ways on the same workspace tables:

* ``graphfraud``: ``graphfraud.detect.run.detect`` with the default ``Settings``;
* ``cooccur_cc``: raw co-occurrence counts + connected components (``baselines.py``);
* ``fraudar``: plain FRAUDAR, greedy densest-block peeling on the card x pharmacy graph
  (card x (facility, diagnosis, admission month) for cohorts; ``baselines.py``).

Ring kinds scored: every kind of the contract (``card_collection``, ``cohort_admission``,
``drug_resale``, ``trace_code_reuse``, ``doctor_pharmacy``, ``shared_identity``); the
baselines run for the first three (the others are rules whose definition is the detector).
Rings are compared on their card sets (truth members with ``entity_type == 'card'``; detected
rings' cards), except doctor_pharmacy rings, compared on their doctor and partner pharmacy,
and shared_identity rings, compared on the people holding the phone or address (``match_set``).

* **found**: a planted ring is found when the best-matching detected ring *of the same kind*
  has a card-set Jaccard >= 0.5 with it.
* **member precision / recall** (micro-averaged over planted rings): for each planted ring P
  and its best-matching ring B of the same kind, TP += |P & B|; precision = TP / sum |B|,
  recall = TP / sum |P| (a planted ring with no overlapping ring adds |P| to recall's
  denominator only).
* **real in top 20**: among the 20 highest-ranked rings of the kind (fewer if fewer were
  returned), the share that are *real*: at least half of the ring's cards belong to one
  planted ring (of any kind). For graphfraud also over the top 20 of all kinds together.
* **decoys in top 20**: rings in that top 20 that are not real and are legitimate
  look-alikes from the truth file's ``decoys``, checked in this order: *family* (at least
  half of the distinct card holders are one listed family, or share one address in the
  workspace's patients table: the list samples at most 200 families); *member_day* (the ring's
  facilities include a member-day pharmacy); *regular* (at least half of the cards are listed
  regulars; the list samples at most 200); *busy_pharmacy* (a listed busiest pharmacy). Other
  rings that are neither real nor decoys are counted as *other*.
* **decoys above a found ring**: decoys ranked above the lowest-ranked best match of a found
  planted ring (0 means every found ring outranks every decoy).

Leads (single-entity findings, issue 4) are scored per kind against the truth file's
``leads`` (every lead names a card):

* **lead recall**: a truth lead is *found* when a detected lead of the same kind names the
  same card (claim ids are reported but not required to match: the detector may cut or
  extend the run of claims).
* **lead precision**: a detected lead is *correct* when a truth lead of the same kind names
  its card. Detected leads that are not listed but whose claims all belong to one planted
  ring are counted apart as *in a ring* (the generator plants ring behaviour that is also a
  lead without listing it, e.g. a drug-resale member's doctor visit and pharmacy fill in
  districts too far apart for the minutes between them); ``precision_ring_ok`` counts them
  as correct, ``precision`` does not.
* **claim overlap**: for found leads, the share of the truth lead's claim ids the detected
  lead lists.
* **edge cases**: a truth ``edge_cases`` entry (claim_on_death_day) flagged as a lead of any
  kind is counted (0 wanted).

Targets (issue 3): every planted card_collection and cohort_admission ring found in >= 95 %
of cases; families, member-day crowds and regulars absent from the top 20. Issue 4: every
planted ring kind found in >= 95 % of cases, >= 90 % of the top 20 rings real, each lead kind
recall >= 98 % with precision >= 95 %.

    .venv/bin/python benchmarks/accuracy.py                     # 20k and 100k people, seeds 1-3
    .venv/bin/python benchmarks/accuracy.py --quick             # one small region, under a minute
    .venv/bin/python benchmarks/accuracy.py --sizes 20000 --seeds 1 --work /tmp/acc

Generated data and workspaces are kept under ``--work`` and reused when present (``--fresh``
regenerates). Results are printed, with a markdown table for the README, and written as JSON
to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baselines import card_collection_baselines, cohort_baselines, drug_resale_baselines
from common import git_commit, machine, save

KINDS = ("card_collection", "cohort_admission", "drug_resale", "trace_code_reuse", "doctor_pharmacy",
         "shared_identity")
#: ring kinds with baselines (the others are rules whose definition is the detector)
BASELINE_KINDS = ("card_collection", "cohort_admission", "drug_resale")
METHODS = ("graphfraud", "cooccur_cc", "fraudar")
METHOD_LABEL = {"graphfraud": "graphfraud", "cooccur_cc": "raw co-occurrence + components",
                "fraudar": "plain FRAUDAR"}
DECOY_KINDS = ("family", "member_day", "regular", "busy_pharmacy", "mass_admission", "chronic_ward",
               "one_pharmacy_town", "hospital_pharmacy", "till_rescan", "placeholder_code")
DECOY_ABBR = {"family": "fam", "member_day": "md", "regular": "reg", "busy_pharmacy": "busy",
              "mass_admission": "mass", "chronic_ward": "ward", "one_pharmacy_town": "town",
              "hospital_pharmacy": "hosp-ph", "till_rescan": "rescan", "placeholder_code": "placeholder"}
FOUND_JACCARD = 0.5
TOP = 20
BENCH_KEY = "benchmark-key-not-secret-0123456789"


@dataclass
class Found:
    """A detected ring as the benchmark sees it."""

    kind: str
    cards: frozenset[str]
    score: float
    rank: int  # 1 = most suspicious, within the list it was ranked in
    facilities: frozenset[str] = frozenset()
    info: dict = field(default_factory=dict)


# ------------------------------------------------------------------ the region
def prepare(work: Path, patients: int, months: int, seed: int, fresh: bool,
            difficulty: str = "default") -> tuple[Path, Path, dict]:
    """Generate and ingest a region unless a matching one is already under ``work``."""
    from graphfraud.ingest.run import ingest
    from graphfraud.synth.generate import generate_region

    tag = region_tag(difficulty, patients, months, seed)
    data, ws = work / f"data-{tag}", work / f"ws-{tag}"
    timings: dict[str, float | None] = {"generate_s": None, "ingest_s": None}
    want = {"patients": patients, "months": months, "seed": seed, "difficulty": difficulty}
    truth_path = data / "truth.json"
    reuse = not fresh and truth_path.exists() and all(
        json.loads(truth_path.read_text(encoding="utf-8"))["generator"].get(k, "default") == v
        for k, v in want.items())
    if not reuse:
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(ws, ignore_errors=True)
        t0 = time.perf_counter()
        generate_region(data, patients=patients, months=months, seed=seed, difficulty=difficulty)
        timings["generate_s"] = round(time.perf_counter() - t0, 1)
    marker = ws / ".accuracy-ingested"
    if not (reuse and marker.exists()):
        shutil.rmtree(ws, ignore_errors=True)
        t0 = time.perf_counter()
        ingest(data, ws)
        timings["ingest_s"] = round(time.perf_counter() - t0, 1)
        marker.write_text(json.dumps(want), encoding="utf-8")
    return data, ws, timings


def region_tag(difficulty: str, patients: int, months: int, seed: int) -> str:
    return f"{'hard-' if difficulty == 'hard' else ''}p{patients}-m{months}-s{seed}"


# ------------------------------------------------------------------ the truth
class Truth:
    """Planted rings and decoys from ``truth.json``, with the workspace facts needed to
    recognise a family (card -> holder -> address)."""

    def __init__(self, truth: dict, con) -> None:
        self.planted: dict[str, list[dict]] = {k: [] for k in KINDS}
        self.card_rings: dict[str, set[str]] = {}
        self.rings = {r["ring_id"]: r for r in truth["rings"]}
        for r in truth["rings"]:
            cards = match_set(r["kind"], r["members"])
            # a ring is real when most of what it is compared on belongs to one planted ring of
            # any kind: cards, doctor and pharmacy, or the people of a hub (a recruiter's phone
            # shared by a resale ring's holders is that ring's)
            people = match_set("shared_identity", r["members"])
            for c in cards | people:
                self.card_rings.setdefault(c, set()).add(r["ring_id"])
            if r["kind"] in self.planted:
                self.planted[r["kind"]].append({
                    "ring_id": r["ring_id"], "cards": cards, "size": r["size"],
                    "facilities": sorted(m["entity_id"] for m in r["members"] if m["entity_type"] == "facility"),
                    "n_claims": len(r.get("claim_ids") or []), "diagnosis_code": r.get("diagnosis_code")})
        self.patient_family: dict[str, int] = {}
        self.member_day: set[str] = set()
        self.busy: set[str] = set()
        self.regular: set[str] = set()
        # the hard region's look-alikes of rings: groups of cards (mass admissions, chronic wards),
        # and doctors or pharmacies a doctor_pharmacy ring would name
        self.group_of: dict[str, tuple[str, int]] = {}
        self.decoy_marks: dict[str, str] = {}
        for i, d in enumerate(truth["decoys"]):
            if d["kind"] == "family":
                for p in d["entity_ids"]:
                    self.patient_family[p] = i
            elif d["kind"] == "member_day":
                self.member_day.update(d["entity_ids"])
            elif d["kind"] == "busy_pharmacy":
                self.busy.update(d["entity_ids"])
            elif d["kind"] == "regular":
                self.regular.update(d["entity_ids"])
            elif d["kind"] in ("mass_admission", "chronic_ward"):
                for c in d["entity_ids"]:
                    self.group_of.setdefault(c, (d["kind"], i))
            elif d["kind"] == "one_pharmacy_town":
                self.decoy_marks.update({f"doctor:{x}": d["kind"] for x in d["entity_ids"]})
            elif d["kind"] == "hospital_pharmacy":
                self.decoy_marks.update({f"facility:{x}": d["kind"] for x in d["entity_ids"]})
            elif d["kind"] in ("till_rescan", "placeholder_code"):
                for c in d.get("cards", []):
                    self.group_of.setdefault(c, (d["kind"], i))
        self.card_patient = dict(con.execute(
            "SELECT card_id, patient_id FROM cards WHERE patient_id IS NOT NULL").fetchall())
        for card, pat in con.execute("""SELECT card_id, any_value(patient_id) FROM claims
                                        WHERE patient_id IS NOT NULL GROUP BY card_id""").fetchall():
            self.card_patient.setdefault(card, pat)
        self.patient_address = dict(con.execute(
            "SELECT patient_id, address FROM patients WHERE address IS NOT NULL").fetchall())

    def label(self, cards: frozenset[str], facilities: frozenset[str]) -> tuple[str, str | None]:
        """(label, planted ring id): real | family | member_day | regular | busy_pharmacy | other."""
        n = len(cards)
        rings = Counter(r for c in cards for r in self.card_rings.get(c, ()))
        if rings:
            rid, k = rings.most_common(1)[0]
            if k >= 0.5 * n:
                return "real", rid
        holders = {self.card_patient[c] for c in cards if c in self.card_patient}
        if holders:
            fam = Counter(self.patient_family[p] for p in holders if p in self.patient_family)
            if fam and fam.most_common(1)[0][1] >= 0.5 * len(holders):
                return "family", None
            addr = Counter(self.patient_address[p] for p in holders if p in self.patient_address)
            if addr:
                top = addr.most_common(1)[0][1]
                if top >= 2 and top >= 0.5 * len(holders):
                    return "family", None
        marks = [self.decoy_marks[c] for c in cards if c in self.decoy_marks]
        if marks:
            return marks[0], None
        groups = Counter(self.group_of[c] for c in cards if c in self.group_of)
        if groups and groups.most_common(1)[0][1] >= 0.5 * n:
            return groups.most_common(1)[0][0][0], None
        if facilities & self.member_day:
            return "member_day", None
        if sum(c in self.regular for c in cards) >= 0.5 * n:
            return "regular", None
        if facilities & self.busy:
            return "busy_pharmacy", None
        return "other", None


def match_set(kind: str, members) -> frozenset[str]:
    """What a ring is compared on: its cards; for doctor_pharmacy its doctor and partner
    pharmacy (the generator reroutes the doctor's other patients to the pharmacy too, so the
    cards behind a steering ring are more than the planted ones, and all of them are steered);
    for shared_identity the people holding the phone or address (a hub ties people; the truth
    file lists the cards of the people planted afresh, not of those reused from other rings)."""
    def get(m, key):
        return m[key] if isinstance(m, dict) else getattr(m, key)
    if kind == "doctor_pharmacy":
        return frozenset(f"{get(m, 'entity_type')}:{get(m, 'entity_id')}" for m in members
                         if get(m, "entity_type") == "doctor"
                         or (get(m, "entity_type") == "facility" and "pharmacy" in get(m, "role")))
    if kind == "shared_identity":
        return frozenset(f"patient:{get(m, 'entity_id')}" for m in members if get(m, "entity_type") == "patient")
    return frozenset(get(m, "entity_id") for m in members if get(m, "entity_type") == "card")


def jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


# ------------------------------------------------------------------ scoring
def score(truth: Truth, kind: str, rings: list[Found], planted: list[dict]) -> dict:
    """Metrics of one method on one kind in one region (see the module doc)."""
    by_card: dict[str, list[int]] = {}
    for i, r in enumerate(rings):
        for c in r.cards:
            by_card.setdefault(c, []).append(i)
    tp = pred = true = found = 0
    per_ring = []
    matched_ranks = []
    for p in planted:
        cand = {i for c in p["cards"] for i in by_card.get(c, ())}
        best, best_j = None, 0.0
        for i in sorted(cand):
            j = jaccard(p["cards"], rings[i].cards)
            if j > best_j:
                best, best_j = i, j
        true += len(p["cards"])
        entry = {"ring_id": p["ring_id"], "size": len(p["cards"]), "best_jaccard": round(best_j, 3)}
        if best is not None:
            b = rings[best]
            inter = len(p["cards"] & b.cards)
            tp += inter
            pred += len(b.cards)
            entry.update({"best_rank": b.rank, "best_size": len(b.cards), "overlap": inter,
                          "best_score": round(b.score, 2)})
        if best_j >= FOUND_JACCARD:
            found += 1
            matched_ranks.append(rings[best].rank)
        entry["found"] = best_j >= FOUND_JACCARD
        per_ring.append(entry)
    top = top_labels(truth, rings)
    last_found = max(matched_ranks) if matched_ranks else 0
    decoys_above = sum(1 for r in rings[:last_found]
                       if r.rank < last_found and truth.label(r.cards, r.facilities)[0] in DECOY_KINDS)
    return {"planted": len(planted), "found": found, "tp": tp, "pred_members": pred, "true_members": true,
            "rings": len(rings), **top, "decoys_above_found": decoys_above, "per_ring": per_ring}


def top_labels(truth: Truth, rings: list[Found]) -> dict:
    """Labels of the top ``TOP`` rings (``rings`` ranked best first)."""
    labels = [truth.label(r.cards, r.facilities) for r in rings[:TOP]]
    counts = Counter(lab for lab, _ in labels)
    return {"top_listed": len(labels), "top_real": counts["real"],
            "top_decoys": {k: counts[k] for k in DECOY_KINDS if counts[k]}, "top_other": counts["other"],
            "top": [{"rank": r.rank, "size": len(r.cards), "score": round(r.score, 2), "label": lab,
                     "planted": rid, **r.info} for r, (lab, rid) in zip(rings[:TOP], labels)]}


# ------------------------------------------------------------------ methods
def run_graphfraud(ws: Path, out: Path) -> tuple[dict[str, list[Found]], list[Found], dict]:
    from graphfraud.detect.run import detect
    from graphfraud.detect.settings import Settings

    shutil.rmtree(out, ignore_errors=True)
    res = detect(ws, out, settings=Settings())
    overall = []
    for r in res.rings:  # already ranked: rank 1 first
        overall.append(Found(r.kind, match_set(r.kind, r.members), r.score, r.rank,
                             frozenset(m.entity_id for m in r.members if m.entity_type == "facility"),
                             {"ring_id": r.ring_id, "kind": r.kind, "reasons_en": r.reasons_line("en", top=3),
                              "facts": {k: v for k, v in r.facts.items() if k != "holders"}}))
    per_kind: dict[str, list[Found]] = {k: [] for k in KINDS}
    for f in overall:
        if f.kind in per_kind:
            per_kind[f.kind].append(Found(f.kind, f.cards, f.score, len(per_kind[f.kind]) + 1, f.facilities,
                                          {**f.info, "overall_rank": f.rank}))
    return per_kind, overall, {"seconds": round(res.seconds, 2), "timings_s": res.timings, "stats": res.stats,
                               "leads": [{"lead_id": x.lead_id, "kind": x.kind, "entity_id": x.entity_id,
                                          "patient_id": x.patient_id, "claim_ids": x.claim_ids, "hits": list(x.hits),
                                          "score": x.score, "rank": x.rank, "text_en": x.text_en,
                                          "reasons_en": x.reasons_line("en", top=6)} for x in res.leads]}


LEAD_TOP = 50
QUEUE_TOP = 100


def lead_labels(truth_json: dict, leads: list[dict]) -> list[str]:
    """What each detected lead is: ``planted`` (a truth lead of its kind names its card or its
    holder), ``ring`` (at least half of its hits are claims of one planted ring: fraud the
    truth file lists as a ring, not as a lead), ``decoy:<kind>`` (a legitimate look-alike the
    truth file lists as mimicking this lead kind, or any look-alike's card), or ``other``."""
    planted = {(x["kind"], x["entity_id"]) for x in truth_json["leads"]}
    planted |= {(x["kind"], "patient:" + x["patient_id"]) for x in truth_json["leads"] if x.get("patient_id")}
    ring_of_claim = {c: r["ring_id"] for r in truth_json["rings"] for c in r.get("claim_ids") or []}
    decoy_of: dict[tuple[str, str], str] = {}
    for d in truth_json.get("decoys", []):
        if d.get("mimics") and d.get("entity_type") == "card":
            for c in d["entity_ids"]:
                decoy_of.setdefault((d["mimics"], c), d["kind"])
    out = []
    for x in leads:
        if (x["kind"], x["entity_id"]) in planted or (x["kind"], "patient:" + str(x.get("patient_id"))) in planted:
            out.append("planted")
            continue
        hits = x.get("hits") or x["claim_ids"]
        rings = Counter(ring_of_claim.get(c) for c in hits)
        top, n = rings.most_common(1)[0] if rings else (None, 0)
        if top is not None and n >= 0.5 * len(hits):
            out.append("ring")
        elif (x["kind"], x["entity_id"]) in decoy_of:
            out.append("decoy:" + decoy_of[(x["kind"], x["entity_id"])])
        else:
            out.append("other")
    return out


def score_leads(truth_json: dict, leads: list[dict]) -> dict[str, dict]:
    """The work queue as an investigator meets it, per lead kind and for the whole queue
    (``leads`` in queue order, every lead found, queued or not):

    * ``planted`` truth leads, ``in_queue`` of them queued (their card or holder has a queued
      lead of the kind), ``found`` of them found at all;
    * ``top``: the first ``LEAD_TOP`` queued leads of the kind, ``top_real`` of them planted or
      in a planted ring, ``top_decoys`` by look-alike kind;
    * for the whole queue (kind ``all``): the first ``QUEUE_TOP``."""
    from graphfraud.store.results import LEAD_KINDS

    labels = lead_labels(truth_json, leads)
    edge_cards = {e["entity_id"] for e in truth_json.get("edge_cases", [])}
    out: dict[str, dict] = {}
    queued = [(x, lab) for x, lab in zip(leads, labels) if x.get("rank") is not None]
    for kind in [*LEAD_KINDS, "all"]:
        truth = [x for x in truth_json["leads"] if kind in ("all", x["kind"])]
        mine = [(x, lab) for x, lab in zip(leads, labels) if kind in ("all", x["kind"])]
        q = [(x, lab) for x, lab in queued if kind in ("all", x["kind"])]
        keys_q = {(x["kind"], x["entity_id"]) for x, _ in q} | {(x["kind"], "patient:" + str(x.get("patient_id")))
                                                                 for x, _ in q}
        keys_all = {(x["kind"], x["entity_id"]) for x, _ in mine} | {(x["kind"], "patient:" + str(x.get("patient_id")))
                                                                      for x, _ in mine}

        def has(keys, t):
            return (t["kind"], t["entity_id"]) in keys or (t["kind"], "patient:" + str(t.get("patient_id"))) in keys

        top_n = QUEUE_TOP if kind == "all" else LEAD_TOP
        top = q[:top_n]
        top_labels = Counter(lab for _, lab in top)
        missed = [{"lead_id": t["lead_id"], "card": t["entity_id"], "found": has(keys_all, t)}
                  for t in truth if not has(keys_q, t)]
        wrong = [{"lead_id": x["lead_id"], "kind": x["kind"], "rank": x.get("rank"), "score": x.get("score"),
                  "label": lab, "reasons_en": (x.get("reasons_en") or "")[:240], "text_en": x["text_en"][:160]}
                 for x, lab in top if lab not in ("planted", "ring")]
        out[kind] = {"planted": len(truth), "found": sum(has(keys_all, t) for t in truth),
                     "in_queue": sum(has(keys_q, t) for t in truth), "detected": len(mine), "queued": len(q),
                     "top_n": top_n, "top_listed": len(top), "top_real": top_labels["planted"] + top_labels["ring"],
                     "top_decoys": {k[6:]: v for k, v in top_labels.items() if k.startswith("decoy:")},
                     "top_other": top_labels["other"],
                     "decoys_detected": sum(lab.startswith("decoy:") for _, lab in mine),
                     "edge_cases_flagged": sum(x["entity_id"] in edge_cards for x, _ in mine),
                     "missed": missed[:20], "false_in_top": wrong[:20]}
    return out


def lead_rows(regions: list[dict]) -> list[dict]:
    """Lead metrics summed by (difficulty, size, kind)."""
    rows: dict[tuple, dict] = {}
    keys = ("planted", "found", "in_queue", "detected", "queued", "top_listed", "top_real", "top_other",
            "decoys_detected", "edge_cases_flagged")
    for reg in regions:
        for kind, m in reg.get("leads", {}).items():
            r = rows.setdefault((reg["difficulty"], reg["patients"], kind), {
                "difficulty": reg["difficulty"], "patients": reg["patients"], "kind": kind, "regions": 0,
                "top_n": m["top_n"], "top_decoys": Counter(), "worst_top_precision": None,
                **{k: 0 for k in keys}})
            r["regions"] += 1
            for k in keys:
                r[k] += m[k]
            r["top_decoys"].update(m["top_decoys"])
            p = m["top_real"] / m["top_listed"] if m["top_listed"] else None
            if p is not None and (r["worst_top_precision"] is None or p < r["worst_top_precision"]):
                r["worst_top_precision"] = p
    for r in rows.values():
        r["in_queue_share"] = r["in_queue"] / r["planted"] if r["planted"] else None
        r["top_precision"] = r["top_real"] / r["top_listed"] if r["top_listed"] else None
        r["top_decoys"] = dict(r["top_decoys"])
    return list(rows.values())


def lead_markdown(rows: list[dict]) -> str:
    lines = ["| region | people | lead kind | planted (all regions) | found | queued | planted in the queue | "
             "precision of the top 50 (top 100 for the whole queue) | worst region | look-alikes in that top |",
             "|" + "---|" * 10]
    for r in rows:
        kind = "whole queue" if r["kind"] == "all" else f"`{r['kind']}`"
        decoys = sum(r["top_decoys"].values())
        lines.append(f"| {r['difficulty']} | {r['patients']:,} | {kind} | {r['planted']} | {r['found']} | "
                     f"{r['queued']} | {r['in_queue']} ({_pct1(r['in_queue_share'])}) | {_pct1(r['top_precision'])} | "
                     f"{_pct1(r['worst_top_precision'])} | {decoys} |")
    return "\n".join(lines)


def run_baselines(con) -> tuple[dict[str, dict[str, list[Found]]], dict[str, float]]:
    rings: dict[str, dict[str, list[Found]]] = {m: {} for m in METHODS[1:]}
    seconds: dict[str, float] = {m: 0.0 for m in METHODS[1:]}
    for kind, fn in (("card_collection", card_collection_baselines), ("cohort_admission", cohort_baselines),
                     ("drug_resale", drug_resale_baselines)):
        for method, (found, sec) in fn(con).items():
            rings[method][kind] = [Found(kind, r.cards, r.score, i, r.facilities) for i, r in enumerate(found, 1)]
            seconds[method] += sec
    return rings, {m: round(s, 2) for m, s in seconds.items()}


def failure_details(truth: Truth, con, kind: str, metrics: dict, rings: list[Found]) -> list[dict]:
    """Planted rings graphfraud did not find, with what the workspace holds of them."""
    out = []
    for entry in metrics["per_ring"]:
        if entry["found"]:
            continue
        r = truth.rings[entry["ring_id"]]
        ids = r.get("claim_ids") or []
        days, n_claims, n_cards = con.execute("""
            SELECT count(DISTINCT settled_at::DATE), count(*), count(DISTINCT card_id) FROM claims
            WHERE claim_id IN (SELECT unnest(?))""", [ids]).fetchall()[0]
        detail = {**entry, "kind": kind, "truth_claims": len(ids), "claims_in_workspace": n_claims,
                  "distinct_days": days, "cards_with_claims": n_cards,
                  "facilities": [m["entity_id"] for m in r["members"] if m["entity_type"] == "facility"]}
        if "best_rank" in entry:
            best = next(f for f in rings if f.rank == entry["best_rank"])
            detail["best_ring"] = best.info
        out.append(detail)
    return out


# ------------------------------------------------------------------ reporting
def aggregate(regions: list[dict]) -> list[dict]:
    """Sum the per-region metrics by (size, kind, method); graphfraud also gets kind 'all'."""
    rows: dict[tuple, dict] = {}
    for reg in regions:
        for method in METHODS:
            kinds = [*KINDS, "all"] if method == "graphfraud" else list(BASELINE_KINDS)
            for kind in kinds:
                m = reg["metrics"][method][kind]
                row = rows.setdefault((reg["difficulty"], reg["patients"], kind, method), {
                    "difficulty": reg["difficulty"], "patients": reg["patients"], "kind": kind, "method": method,
                    "regions": 0, "planted": 0,
                    "found": 0, "tp": 0, "pred_members": 0, "true_members": 0, "top_listed": 0, "top_real": 0,
                    "top_decoys": Counter(), "top_other": 0, "decoys_above_found": 0, "rings": 0,
                    "seconds": 0.0})
                row["regions"] += 1
                for k in ("planted", "found", "tp", "pred_members", "true_members", "top_listed", "top_real",
                          "top_other", "decoys_above_found", "rings"):
                    row[k] += m[k]
                row["top_decoys"].update(m["top_decoys"])
                row["seconds"] += reg["seconds"][method] if kind != "all" else 0.0
    out = []
    for row in rows.values():
        row["found_share"] = row["found"] / row["planted"] if row["planted"] else None
        row["precision"] = row["tp"] / row["pred_members"] if row["pred_members"] else None
        row["recall"] = row["tp"] / row["true_members"] if row["true_members"] else None
        row["top_real_share"] = row["top_real"] / row["top_listed"] if row["top_listed"] else None
        row["top_decoys"] = dict(row["top_decoys"])
        row["rings_per_region"] = round(row["rings"] / row["regions"])
        row["top_decoys_total"] = sum(row["top_decoys"].values())
        row["seconds_per_region"] = round(row.pop("seconds") / row["regions"], 2) if row["kind"] != "all" else None
        out.append(row)
    order = {k: i for i, k in enumerate([*KINDS, "all"])}
    out.sort(key=lambda r: (r["difficulty"], r["patients"], order[r["kind"]], METHODS.index(r["method"])))
    return out


def _pct1(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def _decoys(row: dict) -> str:
    if not row["top_decoys_total"]:
        return "0"
    parts = ", ".join(f"{DECOY_ABBR[k]} {v}" for k, v in row["top_decoys"].items())
    return f"{row['top_decoys_total']} ({parts})"


def markdown(rows: list[dict], seeds: list[int], months: int) -> str:
    head = ("| region | people | ring kind | method | rings returned per region | planted | found (J ≥ 0.5) | "
            "member precision | member recall | real in top 20 | decoys in top 20 | decoys above a found ring |")
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        kind = "all kinds, one ranking" if r["kind"] == "all" else f"`{r['kind']}`"
        lines.append(
            f"| {r['difficulty']} | {r['patients']:,} | {kind} | {METHOD_LABEL[r['method']]} | "
            f"{r['rings_per_region']:,} | "
            f"{r['planted']} | {r['found']} ({_pct(r['found_share'])}) | {_num(r['precision'])} | "
            f"{_num(r['recall'])} | "
            f"{r['top_real']}/{r['top_listed']} ({_pct(r['top_real_share'])}) | {_decoys(r)} | "
            f"{r['decoys_above_found']} |")
    lines.append("")
    regions = f"{len(seeds)} region{'s' if len(seeds) > 1 else ''}"
    lines.append(f"Totals over seeds {', '.join(map(str, seeds))} ({regions} per size, {months} months each). "
                 "Decoys: fam = family, md = member-day crowd, reg = regular, busy = busy pharmacy, mass = one-off "
                 "mass admission, ward = dialysis or rehabilitation ward, town = the one doctor and pharmacy of a "
                 "rural town, hosp-ph = a pharmacy next to a hospital, rescan = a box scanned twice at the till, "
                 "placeholder = one code scanned for every box.")
    return "\n".join(lines)


def timing_markdown(regions: list[dict]) -> str:
    by_size: dict[tuple[str, int], list[dict]] = {}
    for reg in regions:
        by_size.setdefault((reg["difficulty"], reg["patients"]), []).append(reg)
    head = ("| region | people | claims | graphfraud detect | of which card_collection / cohort_admission | "
            "raw co-occurrence + components | plain FRAUDAR |")
    lines = [head, "|" + "---|" * 7]
    for (difficulty, size), regs in sorted(by_size.items()):
        n = len(regs)
        claims = sum(r["claims"] for r in regs) / n
        t = {m: sum(r["seconds"][m] for r in regs) / n for m in METHODS}
        cc = sum(r["detect"]["timings_s"].get("card_collection", 0) for r in regs) / n
        ca = sum(r["detect"]["timings_s"].get("cohort_admission", 0) for r in regs) / n
        lines.append(f"| {difficulty} | {size:,} | {claims:,.0f} | {t['graphfraud']:.1f} s | {cc:.1f} s / {ca:.1f} s | "
                     f"{t['cooccur_cc']:.1f} s | {t['fraudar']:.1f} s |")
    lines.append("")
    lines.append("Mean wall time per region: graphfraud runs every ring kind and every lead; the baselines cover the three kinds they have.")
    return "\n".join(lines)




def print_failures(failures: list[dict]) -> None:
    """Every planted ring not found, one line each; decoys in a top 20 summarised per region
    and list, with the ones graphfraud did not itself flag as a likely family listed."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for f in failures:
        if f["type"] == "planted ring not found":
            best = f.get("best_ring") or {}
            print(f"  {f['region']} {f['ring_id']} ({f['kind']}, {f['size']} cards, at {','.join(f['facilities'])}): "
                  f"{f['claims_in_workspace']} claims on {f['distinct_days']} days; best Jaccard "
                  f"{f['best_jaccard']} (rank {f.get('best_rank')}, {f.get('best_size')} cards, overlap "
                  f"{f.get('overlap')}): {best.get('reasons_en', '')[:200]}")
        else:
            groups.setdefault((f["region"], f["type"]), []).append(f)
    for (region, kind), items in groups.items():
        labels = Counter(t["label"] for t in items)
        flagged = sum(1 for t in items if t["flagged_family"])
        print(f"  {region} {kind}: {len(items)} decoys ({', '.join(f'{k} {v}' for k, v in labels.items())}), "
              f"ranks {min(t['rank'] for t in items)}-{max(t['rank'] for t in items)}, scores "
              f"{min(t['score'] for t in items)}-{max(t['score'] for t in items)}; {flagged} flagged by graphfraud "
              f"as a likely family (score x 0.3)")
        for t in items:
            if not t["flagged_family"]:
                reasons = f": {t['reasons_en'][:160]}" if t.get("reasons_en") else ""
                print(f"      rank {t['rank']} {t.get('ring_id')} {t['label']}, {t['size']} cards, score {t['score']}"
                      f"{reasons}")


# ------------------------------------------------------------------ main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="20000,100000", help="patients per region, comma-separated")
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--seeds", default="1,2,3", help="generator seeds, comma-separated")
    ap.add_argument("--difficulty", default="default,hard",
                    help="generator difficulties, comma-separated (graphfraud generate --difficulty)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/graphfraud-accuracy"),
                    help="scratch folder for generated data, workspaces and detector outputs")
    ap.add_argument("--fresh", action="store_true", help="regenerate and re-ingest even if present")
    ap.add_argument("--quick", action="store_true", help="one 5,000-person, 6-month region (seed 1)")
    args = ap.parse_args()
    if args.quick:
        args.sizes, args.months, args.seeds = "5000", 6, "1"
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    difficulties = [d.strip() for d in args.difficulty.split(",") if d.strip()]
    os.environ.setdefault("GRAPHFRAUD_KEY", BENCH_KEY)

    import duckdb

    import graphfraud

    args.work.mkdir(parents=True, exist_ok=True)
    result = {"benchmark": "accuracy", "date": time.strftime("%Y-%m-%d"),
              "machine": {**machine(), "duckdb": duckdb.__version__}, "graphfraud": graphfraud.__version__,
              "commit": git_commit(), "args": {k: str(v) for k, v in vars(args).items()},
              "definitions": {"found": f"best-matching ring of the same kind has card Jaccard >= {FOUND_JACCARD}",
                              "real": "at least half of the ring's cards belong to one planted ring (any kind)",
                              "top": TOP}}
    regions: list[dict] = []
    failures: list[dict] = []
    for difficulty, size, seed in ((d, z, e) for d in difficulties for z in sizes for e in seeds):
        if True:
            tag = region_tag(difficulty, size, args.months, seed)
            print(f"== region {tag}", flush=True)
            data, ws, prep = prepare(args.work, size, args.months, seed, args.fresh, difficulty)
            if prep["generate_s"] is not None or prep["ingest_s"] is not None:
                print(f"   generate {prep['generate_s']} s, ingest {prep['ingest_s']} s", flush=True)
            truth_json = json.loads((data / "truth.json").read_text(encoding="utf-8"))
            per_kind, overall, det = run_graphfraud(ws, args.work / f"out-{tag}")
            print(f"   graphfraud detect {det['seconds']} s {det['timings_s']}", flush=True)
            lead_metrics = score_leads(truth_json, det.pop("leads"))
            print("   leads " + "  ".join(f"{k}: {m['in_queue']}/{m['planted']} queued, top {m['top_n']} "
                                         f"{m['top_real']}/{m['top_listed']} real"
                                         for k, m in lead_metrics.items()), flush=True)
            con = duckdb.connect(str(ws / "graphfraud.duckdb"), read_only=True)
            try:
                truth = Truth(truth_json, con)
                base, base_s = run_baselines(con)
                print(f"   baselines {base_s}", flush=True)
                reg = {"difficulty": difficulty, "patients": size, "months": args.months, "seed": seed, **prep,
                       "claims": truth_json["counts"]["claims"], "detect": det,
                       "seconds": {"graphfraud": det["seconds"], **base_s}, "metrics": {},
                       "leads": lead_metrics}
                methods = {"graphfraud": per_kind, **base}
                for method, by_kind in methods.items():
                    reg["metrics"][method] = {k: score(truth, k, by_kind[k], truth.planted[k]) for k in KINDS
                                              if k in by_kind}
                # graphfraud's single ranking over both kinds
                allm = {"planted": 0, "found": 0, "tp": 0, "pred_members": 0, "true_members": 0,
                        "decoys_above_found": 0, "rings": 0}
                for k in KINDS:
                    for key in allm:
                        allm[key] += reg["metrics"]["graphfraud"][k][key]
                top_all = top_labels(truth, overall)
                allm.update(top_all)
                # decoys above the lowest-ranked found ring, in the single ranking
                last = max((per_kind[k][e["best_rank"] - 1].info["overall_rank"] for k in KINDS
                            for e in reg["metrics"]["graphfraud"][k]["per_ring"] if e["found"]), default=0)
                allm["decoys_above_found"] = sum(1 for f in overall[: max(last - 1, 0)]
                                                 if truth.label(f.cards, f.facilities)[0] in DECOY_KINDS)
                reg["metrics"]["graphfraud"]["all"] = allm
                for k in KINDS:
                    m = reg["metrics"]["graphfraud"][k]
                    for d in failure_details(truth, con, k, m, per_kind[k]):
                        failures.append({"region": tag, "type": "planted ring not found", **d})
                for where, top in [("all kinds", top_all["top"])] + [
                        (k, reg["metrics"]["graphfraud"][k]["top"]) for k in KINDS]:
                    for t in top:
                        if t["label"] in DECOY_KINDS:
                            brief = {k: t.get(k) for k in ("rank", "ring_id", "label", "size", "score")}
                            brief["flagged_family"] = bool((t.get("facts") or {}).get("family"))
                            if where == "all kinds":
                                brief["reasons_en"] = t.get("reasons_en")
                            failures.append({"region": tag, "type": f"decoy in top {TOP} ({where})", **brief})
            finally:
                con.close()
            for method in METHODS:
                ms = reg["metrics"][method]
                print("   " + f"{method:<11}" + "  ".join(
                    f"{k}: found {ms[k]['found']}/{ms[k]['planted']}, real in top {TOP} "
                    f"{ms[k]['top_real']}/{ms[k]['top_listed']}, decoys {sum(ms[k]['top_decoys'].values())}"
                    for k in KINDS if k in ms), flush=True)
            regions.append(reg)

    rows = aggregate(regions)
    table = markdown(rows, seeds, args.months)
    checks = targets(regions)
    timing = timing_markdown(regions)
    lrows = lead_rows(regions)
    ltable = lead_markdown(lrows)
    result.update({"rows": rows, "regions": regions, "graphfraud_failures": failures, "targets": checks,
                   "markdown": table, "markdown_timing": timing, "lead_rows": lrows, "markdown_leads": ltable})
    print()
    print(table)
    print()
    print(timing)
    print()
    print(ltable)
    print()
    for line in checks:
        print(line)
    if failures:
        print(f"\ngraphfraud misses ({len(failures)}; details in the JSON):")
        print_failures(failures)
    tag = (f"{'+'.join(difficulties)}-p{'+'.join(map(str, sizes))}-m{args.months}-s{'+'.join(map(str, seeds))}")
    print("saved", save(f"accuracy-{tag}", result))


def targets(regions: list[dict]) -> list[str]:
    """The issue's targets, checked on every region (the worst region decides):

    * hard regions: each ring kind's planted rings found (best Jaccard >= 0.5) >= 95 %, real in
      the top 20 of the single ranking >= 95 %, no look-alike in it; each lead kind's top 50
      >= 95 % real and >= 95 % of its planted leads in the queue, no look-alike in that top 50;
    * default regions: every ring kind found >= 95 %, >= 90 % real in the top 20, each lead
      kind's planted leads >= 98 % in the queue, its top 50 >= 95 % real."""
    out = []
    for reg in regions:
        hard = reg["difficulty"] == "hard"
        where = region_tag(reg["difficulty"], reg["patients"], reg["months"], reg["seed"])
        g = reg["metrics"]["graphfraud"]
        for kind in KINDS:
            m = g[kind]
            share = m["found"] / m["planted"] if m["planted"] else None
            ok = share is None or share >= 0.95
            out.append(f"{'met' if ok else 'NOT met'}: {where} {kind} found {m['found']}/{m['planted']}")
        top = g["all"]
        share = top["top_real"] / top["top_listed"] if top["top_listed"] else None
        need = 0.95 if hard else 0.9
        decoys = sum(top["top_decoys"].values())
        ok = (share is None or share >= need) and (not hard or not decoys)
        out.append(f"{'met' if ok else 'NOT met'}: {where} top {TOP} rings {top['top_real']}/{top['top_listed']} real"
                   f" (>= {need:.0%}), look-alikes {decoys}")
        for kind, m in reg["leads"].items():
            inq = m["in_queue"] / m["planted"] if m["planted"] else None
            prec = m["top_real"] / m["top_listed"] if m["top_listed"] else None
            need_q = 0.95 if hard else 0.98
            decoys = sum(m["top_decoys"].values())
            ok = ((inq is None or inq >= need_q) and (prec is None or prec >= 0.95) and (not hard or not decoys))
            out.append(f"{'met' if ok else 'NOT met'}: {where} leads {kind}: planted in the queue "
                       f"{m['in_queue']}/{m['planted']} (>= {need_q:.0%}), top {m['top_n']} real "
                       f"{m['top_real']}/{m['top_listed']} (>= 95%), look-alikes {decoys}")
    return out


if __name__ == "__main__":
    main()
