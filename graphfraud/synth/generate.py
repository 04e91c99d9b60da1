"""A synthetic region of medical-insurance data with planted fraud, for tests and benchmarks.

``generate_region`` writes the six tables of the data contract (patients, cards, facilities,
doctors, claims, items) as CSV, plus ``truth.json`` describing what was planted:

* a realistic, heavy-tailed background (families who shop together, chronic "regulars",
  busy pharmacies and member days, cross-region care, reversals) that is kept free of the
  lead signatures, so that every lead in the data is one the truth file lists;
* rings of every kind of the contract (card collection, drug resale, cohort admissions,
  doctor-pharmacy steering, shared identities, trace-code reuse), camouflaged by the
  members' ordinary claims;
* leads of every kind (use after death, impossible travel, use while inpatient,
  overlapping supply, split admissions, duplicate claims, demographic mismatches);
* a small share of dirty rows, each with its exact line number and expected reject reason.

The same seed and sizes give the same data in English (UTF-8, canonical headers) and in
Chinese (GB18030, the ``nhsa_zh`` mapping's headers and values), line for line.

Everything over the background population is vectorised with numpy and pyarrow; Python
loops run only over planted cases (hundreds) and small tables (facilities, doctors).
Money is integer fen throughout and is written as exact two-decimal strings.

``truth.json`` (UTF-8):

* ``generator`` {version, seed, patients, months, start, zh}; ``files`` table -> file name;
  ``counts`` table -> data rows written (dirty rows included, header excluded).
* ``rings``: ring_id (``T-<kind>-NNN``), kind, size (cards taking part; people for
  shared_identity), members [{entity_type, entity_id, role}], claim_ids; plus per kind:
  cohort_admission ``diagnosis_code``, doctor_pharmacy ``doctor_facility_id``,
  shared_identity ``tie`` (phone/address), trace_code_reuse ``trace_codes``. Phone and
  address members carry the raw value, and the patients holding it are listed as members.
* ``leads``: lead_id, kind, entity_type (``card``), entity_id, patient_id, claim_ids; extra
  after_death ``death_date``, overlapping_supply ``drug``, demographic_mismatch ``detail``.
  Leads with ``implied_by`` (a ring_id) are not planted on their own: every drug_resale
  member's refills overlap, so each member card is also an overlapping_supply lead.
* ``decoys``: legitimate look-alikes {kind: family | member_day | regular | busy_pharmacy,
  entity_type, entity_ids} (member_day adds ``day_of_month``; families and regulars are
  samples of at most 200).
* ``edge_cases``: negative examples, {kind: claim_on_death_day, entity_type, entity_id,
  patient_id, death_date, claim_ids}.
* ``dirty``: {table, file, line (header = 1), outcome (rejected | duplicate), reason (a
  reject code, null for duplicates), column (canonical column at fault, null for
  malformed rows and duplicates; ``claim_id`` for a conflicting duplicate)}.
* ``id_number_invalid``: patient ids whose citizen id has a wrong check character.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa

from graphfraud.ingest.mapping import get_mapping
from graphfraud.store.schema import TABLES
from graphfraud.synth.background import (
    Diagnoses,
    ItemRows,
    assign_cards_terminals,
    background_claims,
    background_items,
    concat_claims,
    take_rows,
)
from graphfraud.synth.consistency import (
    clean_claims,
    clean_supply,
    reroute_prescriptions,
    reversal_claims,
    split_amounts,
)
from graphfraud.synth.dirt import make_dirty
from graphfraud.synth.hard import HardPlanter, HardWorld
from graphfraud.synth.planting import Planter, planted_items
from graphfraud.synth.truth import truth_document
from graphfraud.synth.world import (
    GENERATOR_VERSION,
    MAPPING_ZH,
    Catalogue,
    Regions,
    World,
    assign_preferences,
    build_cards,
    build_doctors,
    build_facilities,
    build_patients,
    lex_order,
    make_choosers,
)
from graphfraud.synth.writing import FinalTables, check_word_lists, text_columns, write_table_file


@dataclass
class GenerateResult:
    """What ``generate_region`` wrote."""

    out_dir: Path
    truth_path: Path
    counts: dict[str, int]  # data rows written per table, dirty rows included
    seconds: float


def _parse_start(start: str) -> int:
    try:
        m = np.datetime64(start, "M")
    except ValueError:
        raise ValueError(f"start must be a month like 2025-01, not {start!r}") from None
    if len(start) != 7:
        raise ValueError(f"start must be a month like 2025-01, not {start!r}")
    return int(m.astype("datetime64[D]").astype(np.int64))


DIFFICULTIES = ("default", "hard")


def generate_region(out_dir: str | Path, *, patients: int, months: int, seed: int, zh: bool = False,
                    start: str = "2025-01", difficulty: str = "default",
                    progress: Callable[[str], None] | None = None) -> GenerateResult:
    """Write a synthetic region (six tables + ``truth.json``) to ``out_dir``.

    ``patients`` >= 100, 1 <= ``months`` <= 36, ``start`` the first month (``YYYY-MM``).
    With ``zh`` the tables use the ``nhsa_zh`` mapping's file names, headers and enum values
    and are encoded in GB18030; the data are the same as without it, line for line.
    ``difficulty="hard"`` adds the legitimate look-alikes real data has and camouflages the
    planted fraud (``graphfraud.synth.hard``); the default region does not change with it.
    ``progress`` is called with a short step name eight times.
    """
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {', '.join(DIFFICULTIES)}, not {difficulty!r}")
    t_start = time.perf_counter()
    if not isinstance(patients, (int, np.integer)) or patients < 100:
        raise ValueError("patients must be an integer of at least 100")
    if not isinstance(months, (int, np.integer)) or not 1 <= months <= 36:
        raise ValueError("months must be between 1 and 36")
    start_day = _parse_start(start)
    end_day = int((np.datetime64(start, "M") + int(months)).astype("datetime64[D]").astype(np.int64))
    step = progress or (lambda str_array: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cat, dxs = Catalogue(), Diagnoses()
    check_word_lists(cat)

    w = World(rg=Regions.build(), start_day=start_day, n_days=end_day - start_day)
    step("patients")
    build_patients(rng, w, int(patients))
    build_cards(rng, w)
    step("facilities")
    build_facilities(rng, w, int(patients))
    build_doctors(rng, w)
    ch = make_choosers(w)
    assign_preferences(rng, w, ch)
    hard = None
    if difficulty == "hard":
        hard = HardWorld(rng, w)
        hard.build()

    step("claims")
    bg, facts = background_claims(rng, w, cat, dxs, ch)
    if hard is not None:
        bg = hard.reshape(rng, bg)
        facts["hard_decoys"] = hard.decoys()
    assign_cards_terminals(rng, w, bg)

    step("planting")
    n_bg = len(bg["pat"])
    if hard is not None:
        planter = HardPlanter(rng, w, cat, dxs, n_bg, hard, bg, facts["regulars"])
    else:
        planter = Planter(rng, w, cat, dxs, n_base=n_bg)
    planter.plant_all(int(patients))
    claims = concat_claims([bg, planter.claims()])
    del bg
    # background claims a look-alike is built on are kept whatever cleaning says
    for idx, tag in getattr(planter, "promote", ()):
        claims["fixed"][idx], claims["tag"][idx] = True, tag
    reroute_prescriptions(rng, claims, w, planter.reroute, getattr(planter, "reroute_share", None))
    claims = concat_claims([claims, reversal_claims(rng, w, claims)])

    step("cleaning")
    keep = clean_claims(claims, w)

    step("items")
    # background claims (kept ones included) get background lines; planted claims have their own
    background = np.arange(len(keep)) < n_bg
    base_idx = np.nonzero(keep & (~claims["fixed"] | background) & (claims["rev_of"] < 0))[0]
    del background
    items = ItemRows.cat([planted_items(planter),
                        background_items(rng, cat, claims, w, base_idx, trace_start=planter.next_trace)])
    clean_supply(claims, keep, items, planter.overlap_ok)
    # keep what cleaning kept, in the final order: claims by settlement time (ties at random),
    # items by claim then line
    kept = np.nonzero(keep)[0]
    final = kept[lex_order(claims["ts"][kept] - int(claims["ts"].min()), rng.permutation(len(kept)))]
    pos = np.full(len(keep), -1, dtype=np.int64)
    pos[final] = np.arange(len(final))
    del keep, kept
    claims = take_rows(claims, final)
    claims["rev_of"] = np.where(claims["rev_of"] >= 0, pos[np.maximum(claims["rev_of"], 0)], -1)
    n_claims = len(final)
    del final
    items.claim = pos[items.claim].astype(np.int32)
    del pos
    lines = np.nonzero(items.claim >= 0)[0]
    items = items.take(lines[lex_order(items.claim[lines], items.seq[lines])])
    del lines
    n_items_per = np.bincount(items.claim, minlength=n_claims)
    items.seq = np.arange(len(items.claim)) - np.repeat(np.cumsum(n_items_per) - n_items_per, n_items_per)

    # money
    amount = items.qty.astype(np.int64) * items.price
    total = np.zeros(n_claims, dtype=np.int64)
    starts = np.cumsum(n_items_per) - n_items_per
    has = n_items_per > 0
    if len(amount):
        total[has] = np.add.reduceat(amount, starts[has])
    rev = claims["rev_of"] >= 0
    total[rev] = -total[claims["rev_of"][rev]]
    fund, account, selfpay = split_amounts(rng, claims, w, total)
    fund[rev], account[rev], selfpay[rev] = (-x[claims["rev_of"][rev]] for x in (fund, account, selfpay))
    claim_no = 10_000_000_000 + np.cumsum(rng.integers(2, 10, n_claims))

    data = FinalTables(w=w, cat=cat, dx=dxs, claims=claims, items=items, total=total, fund=fund, account=account,
                  selfpay=selfpay, claim_no=claim_no, amount=amount,
                  s_codes=pa.array(cat.codes), s_names=pa.array(cat.names))
    text_columns(data)
    dirty = make_dirty(rng, data)

    mapping = get_mapping(MAPPING_ZH)
    files = {t: (mapping.file_stems(t)[1] if zh else t) + ".csv" for t in TABLES}
    counts: dict[str, int] = {}
    step("writing claims")
    for table in ("patients", "cards", "facilities", "doctors", "claims"):
        counts[table] = write_table_file(out / files[table], table, data, dirty.get(table, []), zh, mapping)
    step("writing items")
    counts["items"] = write_table_file(out / files["items"], "items", data, dirty.get("items", []), zh, mapping)

    truth = truth_document(data, planter, facts, dirty, files, counts,
                   {"version": GENERATOR_VERSION, "seed": int(seed), "patients": int(patients), "months": int(months),
                    "start": start, "zh": bool(zh), "difficulty": difficulty})
    truth_path = out / "truth.json"
    truth_path.write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    return GenerateResult(out, truth_path, counts, time.perf_counter() - t_start)
