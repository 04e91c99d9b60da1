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
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from graphfraud.ingest.idnumber import CHECK_CHARS, check_chars
from graphfraud.ingest.mapping import Mapping, get_mapping
from graphfraud.store.schema import TABLES
from graphfraud.synth import names as W

GENERATOR_VERSION = 1
MAPPING_ZH = "nhsa_zh"

OUTPATIENT, INPATIENT, PHARMACY = 0, 1, 2
CLAIM_TYPES = ("outpatient", "inpatient", "pharmacy")
HOSPITAL, CLINIC, PHARMACY_F = 0, 1, 2
FACILITY_TYPES = ("hospital", "clinic", "pharmacy")
DRUG, CONSUMABLE, SERVICE = 0, 1, 2
ITEM_CATEGORIES = ("drug", "consumable", "service")
SSC, EVOUCHER = 0, 1
CARD_TYPES = ("ssc", "evoucher")

NO_DAY = 10_000_000  # "never" as a day number (death of the living)
DAY = 86_400
HOUR = 3_600
MINUTE = 60

#: Demographic classes used to keep background items and diagnoses plausible.
CHILD, MALE_YOUNG, MALE_OLD, FEMALE_FERTILE, FEMALE_OTHER = range(5)
N_CLASSES = 5

#: Shares of dirty rows (of data rows) in claims and items.
DIRTY_SHARE = 0.002
CLAIM_DIRTY_KINDS = ("missing_required", "bad_date", "bad_amount", "bad_enum", "bad_date_order",
                     "conflicting_duplicate", "duplicate", "unknown_card", "unknown_facility", "malformed_row")
ITEM_DIRTY_KINDS = ("unknown_claim", "bad_amount", "missing_required", "bad_number", "duplicate")
BAD_ENUM = "\x00bad_enum"  # placeholder written as "other" (en) or "其他" (zh)

WRITE_CHUNK = 1_000_000


@dataclass
class GenerateResult:
    """What ``generate_region`` wrote."""

    out_dir: Path
    truth_path: Path
    counts: dict[str, int]  # data rows written per table, dirty rows included
    seconds: float


# =====================================================================================
# catalogue


class _Catalogue:
    """The item catalogue (drugs, services, consumables) and the pools items are drawn from.

    Fixed data: independent of the seed.
    """

    def __init__(self) -> None:
        crng = np.random.default_rng(20250101)
        codes: list[str] = []
        names: list[str] = []
        cat: list[int] = []
        price: list[int] = []
        pack: list[int] = []
        group: list[str] = []
        kind: list[str] = []
        for di, (name, atc, fen, days, grp) in enumerate(W.DRUGS):
            n_mfr = 1 if grp in ("key", "collect") else int(crng.integers(1, 6))  # same drug, several makers
            for m in range(n_mfr):
                codes.append(f"X{atc}A{di + 1:03d}A{m + 1:03d}010101{(di * 7 + m) % 1000:03d}")
                names.append(name)
                cat.append(DRUG)
                factor = 1.0 if m == 0 else float(crng.uniform(0.75, 1.3))
                price.append(max(10, int(round(fen * factor))))
                pack.append(days)
                group.append(grp)
                kind.append("drug")
        for si, (name, fen, knd) in enumerate(W.SERVICES):
            codes.append(f"{1_102_000_010_000 + si * 10_000_000:015d}")
            names.append(name)
            cat.append(SERVICE)
            price.append(fen)
            pack.append(0)
            group.append("service")
            kind.append(knd)
        for ci, (name, fen, knd) in enumerate(W.CONSUMABLES):
            codes.append(f"C03{ci + 1:02d}0{ci * 17 % 1000:03d}0000000{ci + 1:03d}")
            names.append(name)
            cat.append(CONSUMABLE)
            price.append(fen)
            pack.append(0)
            group.append("consumable")
            kind.append("cons_" + knd)
        self.codes = codes
        self.names = names
        self.category = np.array(cat, dtype=np.int8)
        self.price = np.array(price, dtype=np.int64)
        self.pack_days = np.array(pack, dtype=np.int64)
        self.group = np.array(group)
        self.kind = np.array(kind)
        self.n = len(codes)
        # 7-digit product part of the 20-digit traceability code (药品追溯码), one per code
        self.trace_prefix = [f"8{(i * 7919 + 101) % 1_000_000:06d}" for i in range(self.n)]
        self.by_name: dict[str, list[int]] = {}
        for i, nm in enumerate(names):
            self.by_name.setdefault(nm, []).append(i)
        self._build_pools()

    def idx(self, *, group: str | None = None, kind: str | None = None) -> np.ndarray:
        mask = np.ones(self.n, dtype=bool)
        if group is not None:
            mask &= self.group == group
        if kind is not None:
            mask &= self.kind == kind
        return np.nonzero(mask)[0]

    def chronic(self, dx: str) -> np.ndarray:
        return self.idx(group=f"chronic_{dx}")

    def _build_pools(self) -> None:
        g = self.group
        general = np.nonzero(g == "general")[0]
        chronic = np.nonzero(np.char.startswith(g.astype(str), "chronic_"))[0]
        child = np.nonzero(g == "child")[0]
        male = np.nonzero(g == "male")[0]
        female = np.nonzero(g == "female")[0]
        pregnancy = np.nonzero(g == "pregnancy")[0]
        inject = np.nonzero(g == "inject")[0]
        collect = np.nonzero(g == "collect")[0]
        topical = np.array([i for i in general if self.pack_days[i] == 0], dtype=np.int64)

        def pool(*parts: tuple[np.ndarray, float]) -> tuple[np.ndarray, np.ndarray]:
            idx = np.concatenate([p for p, _ in parts])
            w = np.concatenate([np.full(len(p), wt) for p, wt in parts])
            return idx, w

        adult_walk = [(general, 1.0), (chronic, 0.5), (collect, 0.03)]
        self.pools: list[tuple[np.ndarray, np.ndarray]] = []
        # walk-in pharmacy drugs by demographic class (pool ids 0..4)
        self.pools += [
            pool((child, 1.0), (topical, 0.3)),
            pool(*adult_walk),
            pool(*adult_walk, (male, 0.8)),
            pool(*adult_walk, (female, 0.8), (pregnancy, 0.3)),
            pool(*adult_walk, (female, 0.5)),
        ]
        # hospital outpatient drugs (5..9)
        self.pools += [
            pool((child, 1.0), (topical, 0.2), (inject, 0.1)),
            pool((general, 1.0), (chronic, 0.8), (inject, 0.3)),
            pool((general, 1.0), (chronic, 0.8), (inject, 0.3), (male, 0.8)),
            pool((general, 1.0), (chronic, 0.8), (inject, 0.3), (female, 0.8), (pregnancy, 0.3)),
            pool((general, 1.0), (chronic, 0.8), (inject, 0.3), (female, 0.5)),
        ]
        # inpatient drugs (10..14)
        self.pools += [
            pool((inject, 2.0), (child, 1.0)),
            pool((inject, 3.0), (general, 1.0)),
            pool((inject, 3.0), (general, 1.0), (male, 0.3)),
            pool((inject, 3.0), (general, 1.0), (female, 0.3)),
            pool((inject, 3.0), (general, 1.0), (female, 0.3)),
        ]
        for knd in ("consult", "test", "therapy", "surgery", "cons_small", "cons_high"):  # 15..20
            ix = self.idx(kind=knd)
            w = np.ones(len(ix))
            if knd == "consult":
                w = np.array([6.0, 2.0, 1.0])[: len(ix)]
            self.pools.append((ix, w))
        self.daily = self.idx(kind="daily")
        # one flat weighted chooser over all pools (pool id + cumulative share)
        cum, flat = [], []
        for pid, (ix, w) in enumerate(self.pools):
            c = np.cumsum(w) / w.sum()
            c[-1] = 1.0
            cum.append(pid + c)
            flat.append(ix)
        self._cum = np.concatenate(cum)
        self._flat = np.concatenate(flat)

    P_WALK, P_HOSP, P_INPT = 0, 5, 10
    P_CONSULT, P_TEST, P_THERAPY, P_SURGERY, P_CONS_SMALL, P_CONS_HIGH = 15, 16, 17, 18, 19, 20

    def sample(self, rng: np.random.Generator, pool_ids: np.ndarray) -> np.ndarray:
        """One weighted item per entry of ``pool_ids`` (vectorised)."""
        pos = np.searchsorted(self._cum, pool_ids + rng.random(len(pool_ids)), side="right")
        return self._flat[np.minimum(pos, len(self._flat) - 1)]


# =====================================================================================
# the world: regions, patients, cards, facilities, doctors


@dataclass
class _Regions:
    codes: list[str]
    names: list[str]
    lat: np.ndarray
    lon: np.ndarray
    n_local: int
    far: list[int]  # region indices of the far cities
    outside: list[int]  # region indices of outside insured regions
    weight: np.ndarray  # population share of the local ones

    @classmethod
    def build(cls) -> "_Regions":
        codes, names, lat, lon = [], [], [], []
        for code, name, la, lo, _ in W.LOCAL_REGIONS:
            codes.append(code)
            names.append(name)
            lat.append(la)
            lon.append(lo)
        outside = []
        for code, name in W.OUTSIDE_INSURED:
            outside.append(len(codes))
            codes.append(code)
            names.append(name)
            lat.append(np.nan)
            lon.append(np.nan)
        far = []
        for code, name, la, lo in W.FAR_CITIES:
            if code in codes:
                i = codes.index(code)
                lat[i], lon[i] = la, lo
            else:
                i = len(codes)
                codes.append(code)
                names.append(name)
                lat.append(la)
                lon.append(lo)
            far.append(i)
        w = np.array([r[4] for r in W.LOCAL_REGIONS], dtype=float)
        return cls(codes, names, np.array(lat), np.array(lon), len(W.LOCAL_REGIONS), far, outside, w / w.sum())


@dataclass
class _World:
    """Every entity of the region as numpy arrays (index = row of its table)."""

    rg: _Regions
    start_day: int
    n_days: int
    # patients
    n: int = 0
    sex: np.ndarray = field(default=None)  # type: ignore[assignment]  # 0 M, 1 F
    birth: np.ndarray = field(default=None)  # type: ignore[assignment]
    death: np.ndarray = field(default=None)  # type: ignore[assignment]
    region: np.ndarray = field(default=None)  # type: ignore[assignment]  # insured region index
    home: np.ndarray = field(default=None)  # type: ignore[assignment]  # local region of residence
    hh: np.ndarray = field(default=None)  # type: ignore[assignment]  # household id
    phone: np.ndarray = field(default=None)  # type: ignore[assignment]
    addr: np.ndarray = field(default=None)  # type: ignore[assignment]  # (n, 6) road, no, compound, bldg, unit, room
    name: np.ndarray = field(default=None)  # type: ignore[assignment]  # (n, 3) surname, given1, given2 (-1)
    ins: np.ndarray = field(default=None)  # type: ignore[assignment]  # 0 employee, 1 resident
    id_seq: np.ndarray = field(default=None)  # type: ignore[assignment]
    id_bad: np.ndarray = field(default=None)  # type: ignore[assignment]
    traveller: np.ndarray = field(default=None)  # type: ignore[assignment]
    age: np.ndarray = field(default=None)  # type: ignore[assignment]  # years at the start
    cls: np.ndarray = field(default=None)  # type: ignore[assignment]
    pref: np.ndarray = field(default=None)  # type: ignore[assignment]  # (n, 3) preferred hospital, clinic, pharmacy
    ssc: np.ndarray = field(default=None)  # type: ignore[assignment]
    ev: np.ndarray = field(default=None)  # type: ignore[assignment]
    # cards
    card_pat: np.ndarray = field(default=None)  # type: ignore[assignment]
    card_type: np.ndarray = field(default=None)  # type: ignore[assignment]
    card_issued: np.ndarray = field(default=None)  # type: ignore[assignment]
    card_no: np.ndarray = field(default=None)  # type: ignore[assignment]
    # facilities
    nf: int = 0
    ftype: np.ndarray = field(default=None)  # type: ignore[assignment]
    flevel: list[str] = field(default_factory=list)
    fname: list[str] = field(default_factory=list)
    fregion: np.ndarray = field(default=None)  # type: ignore[assignment]
    flat: np.ndarray = field(default=None)  # type: ignore[assignment]  # nan when not recorded
    flon: np.ndarray = field(default=None)  # type: ignore[assignment]
    eff_lat: np.ndarray = field(default=None)  # type: ignore[assignment]  # recorded or region centroid
    eff_lon: np.ndarray = field(default=None)  # type: ignore[assignment]
    fweight: np.ndarray = field(default=None)  # type: ignore[assignment]
    far: np.ndarray = field(default=None)  # type: ignore[assignment]
    term_start: np.ndarray = field(default=None)  # type: ignore[assignment]
    term_count: np.ndarray = field(default=None)  # type: ignore[assignment]
    term_fac: np.ndarray = field(default=None)  # type: ignore[assignment]
    term_k: np.ndarray = field(default=None)  # type: ignore[assignment]
    doc_start: np.ndarray = field(default=None)  # type: ignore[assignment]
    doc_count: np.ndarray = field(default=None)  # type: ignore[assignment]
    # doctors
    nd: int = 0
    doc_fac: np.ndarray = field(default=None)  # type: ignore[assignment]
    doc_dept: list[str] = field(default_factory=list)
    doc_name: list[str] = field(default_factory=list)

    # ------------------------------------------------------------- id strings
    def pid(self, p: int) -> str:
        return f"P{p + 1:08d}"

    def cid(self, c: int) -> str:
        return f"C{int(self.card_no[c]):010d}"

    def fid(self, f: int) -> str:
        return f"F{f + 1:05d}"

    def did(self, d: int) -> str:
        return f"D{d + 1:06d}"

    def tid(self, t: int) -> str:
        return f"T{int(self.term_fac[t]) + 1:05d}-{int(self.term_k[t]) + 1}"

    def address(self, p: int) -> str:
        """The address string of patient ``p`` (same text as the vectorised writer)."""
        road, no, comp, bldg, unit, room = (int(x) for x in self.addr[p])
        return (f"{W.PROVINCE_CITY}{self.rg.names[int(self.home[p])]}{W.ROADS[road]}{no}号"
                f"{W.COMPOUNDS[comp]}{bldg}栋{unit}单元{room}室")

    def add_card(self, p: int, card_type: int, issued: int, rng: np.random.Generator) -> int:
        """Append a card for patient ``p``; returns its index."""
        while True:
            no = int(rng.integers(1_000_000_000, 9_999_999_999))
            if not np.any(self.card_no == no):
                break
        self.card_pat = np.append(self.card_pat, np.int32(p))
        self.card_type = np.append(self.card_type, np.int8(card_type))
        self.card_issued = np.append(self.card_issued, np.int64(issued))
        self.card_no = np.append(self.card_no, np.int64(no))
        c = len(self.card_no) - 1
        if card_type == EVOUCHER:
            self.ev[p] = c
        return c


def _unique_ints(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    """``n`` distinct random integers in [low, high)."""
    out = rng.integers(low, high, size=n, dtype=np.int64)
    for _ in range(100):
        _, first = np.unique(out, return_index=True)
        dup = np.ones(n, dtype=bool)
        dup[first] = False
        if not dup.any():
            return out
        out[dup] = rng.integers(low, high, size=int(dup.sum()), dtype=np.int64)
    raise RuntimeError("could not draw distinct integers")


def _random_phones(rng: np.random.Generator, n: int) -> np.ndarray:
    prefixes = np.array(W.PHONE_PREFIXES, dtype=np.int64)
    num = _unique_ints(rng, n, 0, len(prefixes) * 100_000_000)
    return prefixes[num // 100_000_000] * 100_000_000 + num % 100_000_000


def _build_patients(rng: np.random.Generator, w: _World, n: int) -> None:
    rg = w.rg
    # households: sizes 1-5, members grouped, then the whole population is shuffled
    sizes = rng.choice(np.arange(1, 6), size=n, p=[0.5, 0.2, 0.15, 0.1, 0.05])
    csum = np.cumsum(sizes)
    n_hh = int(np.searchsorted(csum, n)) + 1
    sizes = sizes[:n_hh]
    sizes[-1] -= int(csum[n_hh - 1]) - n
    hh = np.repeat(np.arange(n_hh, dtype=np.int32), sizes)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pos = np.arange(n) - first[hh]  # position within the household
    hsize = sizes[hh]

    # ages: heads / singles from an adult mixture, spouses near the head, then children or parents
    def adult_ages(m: int, singles: bool) -> np.ndarray:
        if singles:
            bands = np.array([[18, 30], [30, 45], [45, 60], [60, 75], [75, 96]])
            p = [0.14, 0.2, 0.22, 0.26, 0.18]
        else:
            bands = np.array([[24, 45], [45, 60], [60, 75], [75, 90]])
            p = [0.38, 0.32, 0.22, 0.08]
        b = rng.choice(len(bands), size=m, p=p)
        return rng.uniform(bands[b, 0], bands[b, 1])

    head_age = np.where(sizes == 1, adult_ages(n_hh, True), adult_ages(n_hh, False))
    ha = head_age[hh]
    age = ha.copy()
    spouse = pos == 1
    age[spouse] = np.clip(ha[spouse] + rng.normal(0, 4, spouse.sum()), 18, 98)
    other = pos >= 2
    parent = other & (rng.random(n) < 0.15) & (ha < 62)
    child = other & ~parent
    age[child] = np.clip(ha[child] - rng.uniform(22, 38, child.sum()), 0.1, None)
    age[parent] = np.clip(ha[parent] + rng.uniform(22, 32, parent.sum()), None, 99)
    head_sex = rng.integers(0, 2, n_hh)
    sex = rng.integers(0, 2, n).astype(np.int8)
    sex[pos == 0] = head_sex[hh[pos == 0]]
    sex[spouse] = 1 - head_sex[hh[spouse]]

    home_hh = rng.choice(rg.n_local, size=n_hh, p=rg.weight).astype(np.int16)
    home = home_hh[hh]
    outsider_hh = rng.random(n_hh) < 0.03
    region_hh = np.where(outsider_hh, rng.choice(rg.outside, size=n_hh), home_hh)
    region = region_hh[hh].astype(np.int16)

    phones = _random_phones(rng, n)
    share = (rng.random(n_hh) < 0.6)[hh] | (age < 14)
    head_idx = first[hh]
    phones = np.where(share & (hsize > 1), phones[head_idx], phones)

    addr_hh = np.stack([
        rng.integers(0, len(W.ROADS), n_hh), rng.integers(1, 400, n_hh),
        rng.integers(0, len(W.COMPOUNDS), n_hh), rng.integers(1, 31, n_hh),
        rng.integers(1, 7, n_hh), rng.integers(1, 29, n_hh) * 100 + rng.integers(1, 5, n_hh),
    ], axis=1).astype(np.int32)
    addr = addr_hh[hh]

    sur = rng.choice(len(W.SURNAMES), size=n, p=_zipf(len(W.SURNAMES), 0.9))
    sur[child] = sur[head_idx[child]]
    n_given = np.where(sex == 0, len(W.GIVEN_MALE), len(W.GIVEN_FEMALE))
    g1 = (rng.random(n) * n_given).astype(np.int16)
    g2 = np.where(rng.random(n) < 0.7, (rng.random(n) * n_given).astype(np.int16), -1)
    names = np.stack([sur, g1, g2], axis=1).astype(np.int16)

    birth = (w.start_day - np.round(age * 365.25)).astype(np.int64)
    # deaths over the period: an age-dependent annual hazard
    q = np.clip(0.0008 * np.exp(0.085 * (age - 30)), 0, 0.35)
    p_die = 1 - (1 - q) ** (w.n_days / 365.25)
    dies = rng.random(n) < p_die
    death = np.full(n, NO_DAY, dtype=np.int64)
    death[dies] = w.start_day + (rng.random(dies.sum()) * (w.n_days - 1)).astype(np.int64) + 1

    working = (age >= 18) & (age < 60)
    ins = np.where(working & (rng.random(n) < 0.55), 0, 1)
    ins = np.where((age >= 60) & (rng.random(n) < 0.4), 0, ins).astype(np.int8)
    # 3-digit sequence of the citizen id; its last digit is odd for men, even for women
    id_seq = (rng.integers(0, 100, n) * 10 + rng.integers(0, 5, n) * 2 + (1 - sex)).astype(np.int16)

    # shuffle so that household members do not get neighbouring ids
    perm = rng.permutation(n)
    inv = np.empty(n, dtype=np.int64)
    inv[perm] = np.arange(n)
    w.n = n
    w.sex = sex[perm]
    w.birth = birth[perm]
    w.death = death[perm]
    w.region = region[perm]
    w.home = home[perm]
    w.hh = hh[perm]
    w.phone = phones[perm]
    w.addr = addr[perm]
    w.name = names[perm]
    w.ins = ins[perm]
    w.id_seq = id_seq[perm]
    w.age = age[perm]
    w.id_bad = np.zeros(n, dtype=bool)
    bad = rng.random(n) < 0.003
    bad[int(rng.integers(0, n))] = True  # at least one
    w.id_bad = bad
    w.traveller = (rng.random(n) < 0.006) & (w.age >= 20) & (w.age < 75)
    a, s = w.age, w.sex
    w.cls = np.select(
        [a < 14, (s == 0) & (a < 45), s == 0, (a >= 18) & (a < 46)],
        [CHILD, MALE_YOUNG, MALE_OLD, FEMALE_FERTILE], FEMALE_OTHER).astype(np.int8)


def _zipf(n: int, s: float) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1) ** s
    return p / p.sum()


def _build_cards(rng: np.random.Generator, w: _World) -> None:
    n = w.n
    has_ev = (w.age >= 16) & (w.age < 78) & (rng.random(n) < 0.35)
    n_ev = int(has_ev.sum())
    pats = np.concatenate([np.arange(n), np.nonzero(has_ev)[0]]).astype(np.int32)
    types = np.concatenate([np.zeros(n, np.int8), np.ones(n_ev, np.int8)])
    lo = np.datetime64("2008-01-01").astype(np.int64)
    ssc_from = np.maximum(w.birth, lo)
    issued_ssc = ssc_from + (rng.random(n) * np.maximum(w.start_day - 30 - ssc_from, 1)).astype(np.int64)
    ev_from = np.datetime64("2020-06-01").astype(np.int64)
    issued_ev = ev_from + (rng.random(n_ev) * max(w.start_day - 1 - ev_from, 1)).astype(np.int64)
    order = rng.permutation(len(pats))  # card rows in random order
    w.card_pat = pats[order]
    w.card_type = types[order]
    w.card_issued = np.concatenate([issued_ssc, issued_ev])[order]
    w.card_no = _unique_ints(rng, len(pats), 1_000_000_000, 9_999_999_999)
    w.ssc = np.full(n, -1, dtype=np.int32)
    w.ev = np.full(n, -1, dtype=np.int32)
    idx = np.arange(len(pats), dtype=np.int32)
    s = w.card_type == SSC
    w.ssc[w.card_pat[s]] = idx[s]
    w.ev[w.card_pat[~s]] = idx[~s]


def _build_facilities(rng: np.random.Generator, w: _World, n_patients: int) -> None:
    rg = w.rg
    n_local = max(24, n_patients // 700)
    n_far = max(3, n_local // 60)
    n_hosp = max(5, int(round(n_local * 0.15)))
    n_clin = max(4, int(round(n_local * 0.25)))
    n_pharm = n_local - n_hosp - n_clin
    ftype = np.concatenate([np.full(n_hosp, HOSPITAL), np.full(n_clin, CLINIC), np.full(n_pharm, PHARMACY_F)])
    # regions: every region gets at least one pharmacy when possible, then by population
    region = rng.choice(rg.n_local, size=n_local, p=rg.weight)
    ph = np.nonzero(ftype == PHARMACY_F)[0]
    k = min(rg.n_local, len(ph))
    region[ph[:k]] = np.arange(k)
    levels: list[str] = []
    weight = np.ones(n_local)
    lvl_names = [x[0] for x in W.HOSPITAL_LEVELS]
    lvl_p = np.array([x[1] for x in W.HOSPITAL_LEVELS])
    lvl_w = [x[2] for x in W.HOSPITAL_LEVELS]
    central = [rg.codes.index(c) for c in W.CENTRAL_REGIONS]
    hl = rng.choice(len(lvl_names), size=n_hosp, p=lvl_p / lvl_p.sum())
    hl[:2] = [0, 2]  # at least one tertiary and one secondary hospital
    for i in range(n_local):
        if ftype[i] == HOSPITAL:
            lv = int(hl[i])
            levels.append(lvl_names[lv])
            weight[i] = lvl_w[lv] * rng.lognormal(0, 0.4)
            if lv <= 1:
                region[i] = central[int(rng.integers(0, len(central)))]
        elif ftype[i] == CLINIC:
            levels.append(W.CLINIC_LEVELS[int(rng.integers(0, 2))])
            weight[i] = rng.lognormal(0, 0.6)
        else:
            levels.append("")
            weight[i] = rng.lognormal(0, 1.0)
    # a few very busy pharmacies
    busy = ph[np.argsort(-weight[ph])[: max(1, len(ph) // 100 + 2)]]
    weight[busy] *= 6.0
    lat = rg.lat[region] + rng.normal(0, 0.03, n_local)
    lon = rg.lon[region] + rng.normal(0, 0.03, n_local)
    no_coord = rng.random(n_local) < 0.03
    no_coord[int(rng.choice(np.nonzero(ftype == CLINIC)[0]))] = True  # at least one without coordinates
    # far facilities (other provinces): half hospitals, half pharmacies
    far_type = np.where(np.arange(n_far) % 2 == 0, HOSPITAL, PHARMACY_F)
    far_region = np.array([rg.far[i % len(rg.far)] for i in range(n_far)])
    far_lat = rg.lat[far_region] + rng.normal(0, 0.03, n_far)
    far_lon = rg.lon[far_region] + rng.normal(0, 0.03, n_far)
    w.nf = n_local + n_far
    w.ftype = np.concatenate([ftype, far_type]).astype(np.int8)
    w.fregion = np.concatenate([region, far_region]).astype(np.int16)
    w.flevel = levels + ["三级甲等" if t == HOSPITAL else "" for t in far_type]
    w.fweight = np.concatenate([weight, np.ones(n_far)])
    w.far = np.concatenate([np.zeros(n_local, bool), np.ones(n_far, bool)])
    w.eff_lat = np.concatenate([lat, far_lat])
    w.eff_lon = np.concatenate([lon, far_lon])
    w.flat = w.eff_lat.copy()
    w.flon = w.eff_lon.copy()
    nc = np.concatenate([no_coord, np.zeros(n_far, bool)])
    w.flat[nc] = np.nan
    w.flon[nc] = np.nan
    w.eff_lat[nc] = rg.lat[w.fregion[nc]]
    w.eff_lon[nc] = rg.lon[w.fregion[nc]]
    # names
    names: list[str] = []
    seen: dict[str, int] = {}
    for i in range(w.nf):
        rname = rg.names[int(w.fregion[i])]
        t = int(w.ftype[i])
        if w.far[i]:
            base = f"{rname}{'第一人民医院' if t == HOSPITAL else '国大药房'}"
        elif t == HOSPITAL:
            base = (f"{W.PROVINCE_CITY[3:]}{W.HOSPITAL_KINDS[int(rng.integers(0, 3))]}" if w.flevel[i].startswith("三级")
                    else f"{rname}{W.HOSPITAL_KINDS[int(rng.integers(0, len(W.HOSPITAL_KINDS)))]}")
        elif t == CLINIC:
            kind = W.CLINIC_KINDS[int(rng.integers(0, len(W.CLINIC_KINDS)))]
            if kind == "诊所":
                base = f"{rname}{W.SURNAMES[int(rng.integers(0, 40))]}氏诊所"
            else:
                base = f"{rname}{W.STREETS[int(rng.integers(0, len(W.STREETS)))]}{kind}"
        else:
            base = (f"{W.PHARMACY_BRANDS[int(rng.integers(0, len(W.PHARMACY_BRANDS)))]}"
                    f"{rname}{W.ROADS[int(rng.integers(0, len(W.ROADS)))]}店")
        seen[base] = seen.get(base, 0) + 1
        names.append(base if seen[base] == 1 else f"{base}({seen[base]}部)" if t != PHARMACY_F
                     else base.replace("店", f"{seen[base]}号店"))
    w.fname = names
    # terminals
    tc = np.ones(w.nf, dtype=np.int64)
    is_ph = w.ftype == PHARMACY_F
    tc[is_ph] = rng.choice([1, 2, 3], size=int(is_ph.sum()), p=[0.5, 0.35, 0.15])
    for i in np.nonzero(w.ftype == HOSPITAL)[0]:
        lv = w.flevel[i]
        tc[i] = (int(rng.integers(6, 11)) if lv.startswith("三级")
                 else int(rng.integers(3, 6)) if lv.startswith("二级") else 2)
    w.term_count = tc
    w.term_start = np.concatenate([[0], np.cumsum(tc)[:-1]])
    w.term_fac = np.repeat(np.arange(w.nf), tc).astype(np.int32)
    w.term_k = (np.arange(int(tc.sum())) - w.term_start[w.term_fac]).astype(np.int32)


def _build_doctors(rng: np.random.Generator, w: _World) -> None:
    counts = np.zeros(w.nf, dtype=np.int64)
    for i in range(w.nf):
        t, lv = int(w.ftype[i]), w.flevel[i]
        if t == HOSPITAL:
            counts[i] = (int(rng.integers(35, 80)) if lv.startswith("三级") else int(rng.integers(12, 30))
                         if lv.startswith("二级") else int(rng.integers(4, 10)))
        elif t == CLINIC:
            counts[i] = int(rng.integers(1, 5))
    w.doc_count = counts
    w.doc_start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    w.nd = int(counts.sum())
    w.doc_fac = np.repeat(np.arange(w.nf), counts).astype(np.int32)
    depts: list[str] = []
    for i in range(w.nf):
        pool = W.CLINIC_DEPARTMENTS if w.ftype[i] == CLINIC else W.DEPARTMENTS
        depts += [pool[int(j)] for j in rng.integers(0, len(pool), int(counts[i]))]
    w.doc_dept = depts
    sur = rng.choice(len(W.SURNAMES), size=w.nd, p=_zipf(len(W.SURNAMES), 0.9))
    sex = rng.integers(0, 2, w.nd)
    w.doc_name = [
        W.SURNAMES[int(s)] + "".join(
            (W.GIVEN_MALE if x == 0 else W.GIVEN_FEMALE)[int(j)] for j in rng.integers(0, 40, int(rng.integers(1, 3))))
        for s, x in zip(sur, sex)
    ]


class _Chooser:
    """Weighted choice of a facility of one type within a group (region), vectorised."""

    def __init__(self, groups: list[np.ndarray], weights: np.ndarray) -> None:
        cum, flat = [], []
        for g, idx in enumerate(groups):
            c = np.cumsum(weights[idx])
            c = c / c[-1]
            c[-1] = 1.0
            cum.append(g + c)
            flat.append(idx)
        self.cum = np.concatenate(cum)
        self.flat = np.concatenate(flat)

    def sample(self, rng: np.random.Generator, group: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self.cum, group + rng.random(len(group)), side="right")
        return self.flat[np.minimum(pos, len(self.flat) - 1)]


def _choosers(w: _World) -> dict[int, _Chooser]:
    """Per facility type: groups 0..n_local-1 are the regions, group n_local the prefecture."""
    out = {}
    local = ~w.far
    for t in (HOSPITAL, CLINIC, PHARMACY_F):
        all_t = np.nonzero(local & (w.ftype == t))[0]
        groups = []
        for r in range(w.rg.n_local):
            g = np.nonzero(local & (w.ftype == t) & (w.fregion == r))[0]
            groups.append(g if len(g) else all_t)
        groups.append(all_t)
        out[t] = _Chooser(groups, w.fweight)
    return out


def _assign_preferences(rng: np.random.Generator, w: _World, ch: dict[int, _Chooser]) -> None:
    # household members share the head's preferences (they live together)
    n = w.n
    _, head = np.unique(w.hh, return_index=True)
    head_of = np.empty(n, dtype=np.int64)
    hh_sorted = np.unique(w.hh)
    head_of[:] = head[np.searchsorted(hh_sorted, w.hh)]
    home = w.home.astype(np.int64)
    nl = w.rg.n_local
    hosp_group = np.where(rng.random(n) < 0.55, home, nl)
    pref = np.stack([
        ch[HOSPITAL].sample(rng, hosp_group),
        ch[CLINIC].sample(rng, home),
        ch[PHARMACY_F].sample(rng, home),
    ], axis=1)
    w.pref = pref[head_of].astype(np.int32)


# =====================================================================================
# claims as columns


_CLAIM_FIELDS: dict[str, type] = {
    "pat": np.int32, "card": np.int32, "fac": np.int32, "doc": np.int32, "ctype": np.int8,
    "ts": np.int64, "admit": np.int64, "disch": np.int64, "dx": np.int16, "term": np.int32,
    "first_item": np.int32, "fixed": np.bool_, "tag": np.int32, "rev_of": np.int64,
}
_CLAIM_DEFAULTS = {"doc": -1, "admit": -1, "disch": -1, "dx": -1, "term": -1, "first_item": -1,
                   "fixed": False, "tag": -1, "rev_of": -1, "card": -1}

Claims = dict[str, np.ndarray]


def claim_columns(n: int, **cols: np.ndarray | int) -> Claims:
    out: Claims = {}
    for k, dt in _CLAIM_FIELDS.items():
        v = cols.get(k, _CLAIM_DEFAULTS.get(k))
        if v is None:
            raise KeyError(k)
        out[k] = np.asarray(np.broadcast_to(v, (n,)), dtype=dt).copy()
    return out


def concat_claims(parts: Iterable[Claims]) -> Claims:
    parts = list(parts)
    return {k: np.concatenate([p[k] for p in parts]) for k in _CLAIM_FIELDS}


def _take(c: Claims, idx: np.ndarray) -> Claims:
    return {k: v[idx] for k, v in c.items()}


class _Dx:
    """Diagnosis codes as small integers."""

    def __init__(self) -> None:
        lists = (W.DX_ADULT_OUT, W.DX_CHILD_OUT, W.DX_FEMALE_OUT, W.DX_PREGNANCY_OUT, W.DX_MALE_OUT,
                 W.DX_ADULT_IN, W.DX_CHILD_IN, W.DX_FEMALE_IN, W.DX_PREGNANCY_IN, W.DX_MALE_IN, W.DX_COHORT,
                 tuple(c for c, _ in W.CHRONIC), ("I48.9", "C34.9", "I50.9", "O80", "O26.9"), W.DX_HARD)
        self.codes = sorted({c for lst in lists for c in lst})
        self.index = {c: i for i, c in enumerate(self.codes)}

    def ids(self, codes: Iterable[str]) -> np.ndarray:
        return np.array([self.index[c] for c in codes], dtype=np.int16)

    def sample(self, rng: np.random.Generator, cls: np.ndarray, inpatient: bool, age: np.ndarray) -> np.ndarray:
        """A plausible diagnosis per entry of ``cls`` (demographic class)."""
        if inpatient:
            base, child, fem, preg, male = W.DX_ADULT_IN, W.DX_CHILD_IN, W.DX_FEMALE_IN, W.DX_PREGNANCY_IN, W.DX_MALE_IN
        else:
            base, child, fem, preg, male = (W.DX_ADULT_OUT, W.DX_CHILD_OUT, W.DX_FEMALE_OUT, W.DX_PREGNANCY_OUT,
                                            W.DX_MALE_OUT)
        m = len(cls)
        out = self.ids(base)[rng.integers(0, len(base), m)]
        c = cls == CHILD
        out[c] = self.ids(child)[rng.integers(0, len(child), int(c.sum()))]
        special = rng.random(m)
        f = ((cls == FEMALE_FERTILE) | (cls == FEMALE_OTHER)) & (special < 0.08)
        out[f] = self.ids(fem)[rng.integers(0, len(fem), int(f.sum()))]
        p = (cls == FEMALE_FERTILE) & (special >= 0.08) & (special < 0.14) & (age >= 20) & (age < 42)
        out[p] = self.ids(preg)[rng.integers(0, len(preg), int(p.sum()))]
        mo = (cls == MALE_OLD) & (special < 0.1) & (age >= 50)
        out[mo] = self.ids(male)[rng.integers(0, len(male), int(mo.sum()))]
        return out


# =====================================================================================
# background


def _times(rng: np.random.Generator, day: np.ndarray, kind: str) -> np.ndarray:
    """Seconds since the epoch for events on ``day`` at hours typical of ``kind``."""
    m = len(day)
    if kind == "pharmacy":
        hours = np.arange(8, 22)
        p = np.array([4, 8, 9, 8, 6, 5, 6, 7, 8, 9, 9, 7, 5, 3], dtype=float)
    elif kind == "outpatient":
        hours = np.array([8, 9, 10, 11, 14, 15, 16, 17])
        p = np.array([9, 10, 9, 6, 7, 7, 5, 2], dtype=float)
    else:  # settlement at discharge
        hours = np.arange(9, 18)
        p = np.array([6, 9, 10, 8, 5, 6, 7, 6, 3], dtype=float)
    h = rng.choice(hours, size=m, p=p / p.sum())
    return day * DAY + h * HOUR + rng.integers(0, HOUR, m)


def _background(rng: np.random.Generator, w: _World, cat: _Catalogue, dx: _Dx,
                ch: dict[int, _Chooser]) -> tuple[Claims, dict[str, object]]:
    """The ordinary claims of the whole population, plus facts for the decoy list."""
    n, S, D = w.n, w.start_day, w.n_days
    alive = np.clip(w.death - S, 0, D)  # days alive within the period
    age = w.age
    factor = np.select([age < 14, age < 45, age < 60, age < 75], [0.8, 0.55, 0.9, 1.4], 1.8)
    sigma = 1.0
    lam = rng.lognormal(np.log(0.50) - sigma ** 2 / 2, sigma, n) * factor
    lam = np.minimum(lam, 25.0) * alive / 30.4
    n_ev = rng.poisson(lam)
    pat = np.repeat(np.arange(n, dtype=np.int64), n_ev)
    m = len(pat)
    a = age[pat]
    u = rng.random(m)
    p_in = np.select([a < 14, a < 60, a < 75], [0.012, 0.016, 0.035], 0.05)
    p_out = np.where(a < 14, 0.55, 0.40)
    ctype = np.where(u < p_in, INPATIENT, np.where(u < p_in + p_out, OUTPATIENT, PHARMACY))
    parts: list[Claims] = []
    nl = w.rg.n_local
    home = w.home.astype(np.int64)

    # outpatient visits
    op = pat[ctype == OUTPATIENT]
    day = S + (rng.random(len(op)) * alive[op]).astype(np.int64)
    to_hosp = rng.random(len(op)) < np.where(age[op] < 14, 0.6, 0.45)
    use_pref = rng.random(len(op)) < 0.6
    fac = np.where(to_hosp,
                   np.where(use_pref, w.pref[op, 0],
                            ch[HOSPITAL].sample(rng, np.where(rng.random(len(op)) < .7, home[op], nl))),
                   np.where(use_pref, w.pref[op, 1], ch[CLINIC].sample(rng, home[op])))
    doc = w.doc_start[fac] + (rng.random(len(op)) * w.doc_count[fac]).astype(np.int64)
    ts = _times(rng, day, "outpatient")
    odx = dx.sample(rng, w.cls[op], False, age[op])
    parts.append(claim_columns(len(op), pat=op, fac=fac, doc=doc, ctype=OUTPATIENT, ts=ts, dx=odx))

    # prescriptions filled at a pharmacy 0-3 days later (外配处方)
    fill = rng.random(len(op)) < 0.35
    fp = op[fill]
    off = rng.choice([0, 0, 1, 1, 2, 3], size=len(fp))
    fday = day[fill] + off
    ok = fday < S + alive[fp]
    fp, fday, off = fp[ok], fday[ok], off[ok]
    fts = np.where(off == 0, ts[fill][ok] + rng.integers(15 * MINUTE, 4 * HOUR, len(fp)), _times(rng, fday, "pharmacy"))
    ffac = np.where(rng.random(len(fp)) < 0.7, w.pref[fp, 2], ch[PHARMACY_F].sample(rng, home[fp]))
    parts.append(claim_columns(len(fp), pat=fp, fac=ffac, doc=doc[fill][ok], ctype=PHARMACY, ts=fts, dx=odx[fill][ok]))

    # walk-in pharmacy purchases
    wp = pat[ctype == PHARMACY]
    day = S + (rng.random(len(wp)) * alive[wp]).astype(np.int64)
    r = rng.random(len(wp))
    fac = np.where(r < 0.65, w.pref[wp, 2], ch[PHARMACY_F].sample(rng, np.where(r < 0.95, home[wp], nl)))
    parts.append(claim_columns(len(wp), pat=wp, fac=fac, ctype=PHARMACY, ts=_times(rng, day, "pharmacy")))

    # inpatient stays
    ip = pat[ctype == INPATIENT]
    los = np.clip(np.round(rng.lognormal(np.log(7), 0.5, len(ip))), 2, 20).astype(np.int64)
    room = alive[ip] - los - 1
    ok = room > 0
    ip, los, room = ip[ok], los[ok], room[ok]
    admit = S + (rng.random(len(ip)) * room).astype(np.int64)
    fac = np.where(rng.random(len(ip)) < 0.7, w.pref[ip, 0], ch[HOSPITAL].sample(rng, np.full(len(ip), nl)))
    doc = w.doc_start[fac] + (rng.random(len(ip)) * w.doc_count[fac]).astype(np.int64)
    parts.append(claim_columns(len(ip), pat=ip, fac=fac, doc=doc, ctype=INPATIENT, ts=_times(rng, admit + los, "inpatient"),
                         admit=admit, disch=admit + los, dx=dx.sample(rng, w.cls[ip], True, age[ip])))

    # chronic regulars: a monthly refill of one drug at their regular pharmacy
    p_reg = np.select([age < 40, age < 60], [0.01, 0.12], 0.30)
    reg = np.nonzero((rng.random(n) < p_reg) & (alive > 0))[0]
    conds = [c for c, _ in W.CHRONIC]
    cond = rng.choice(len(conds), size=len(reg), p=np.array([s for _, s in W.CHRONIC]))
    drug = np.empty(len(reg), dtype=np.int64)
    key_insulin = cat.by_name[W.REGULAR_KEY_DRUG][0]
    for ci, code in enumerate(conds):
        sel = cond == ci
        pool = cat.chronic(code)
        drug[sel] = pool[rng.integers(0, len(pool), int(sel.sum()))]
        if code == "E11.9":
            ins_sel = sel & (rng.random(len(reg)) < 0.2)
            drug[ins_sel] = key_insulin
    pack = cat.pack_days[drug]
    k_max = D // 28 + 2
    steps = pack[:, None] + rng.integers(0, 5, (len(reg), k_max))
    steps[:, 0] = rng.integers(0, 28, len(reg))
    rday = S + np.cumsum(steps, axis=1)
    valid = rday < (S + alive[reg])[:, None]
    rp = np.repeat(reg, valid.sum(axis=1))
    rd = rday[valid]
    parts.append(claim_columns(len(rp), pat=rp, fac=w.pref[rp, 2], ctype=PHARMACY, ts=_times(rng, rd, "pharmacy"),
                         dx=dx.ids(conds)[np.repeat(cond, valid.sum(axis=1))],
                         first_item=np.repeat(drug, valid.sum(axis=1))))

    # families shopping together: same pharmacy, same day, within minutes
    hh_u, hh_size = np.unique(w.hh, return_counts=True)
    multi = np.nonzero(hh_size >= 2)[0]
    trips = rng.poisson(0.15 * D / 30.4, len(multi))
    t_hh = np.repeat(multi, trips)
    order = np.argsort(w.hh, kind="stable")
    starts = np.searchsorted(w.hh[order], hh_u)
    t_day = S + (rng.random(len(t_hh)) * D).astype(np.int64)
    t0 = _times(rng, t_day, "pharmacy")
    t_fac = w.pref[order[starts[t_hh]], 2]
    n_mem = hh_size[t_hh]
    tm = np.repeat(np.arange(len(t_hh)), n_mem)
    k = np.arange(len(tm)) - np.repeat(np.cumsum(n_mem) - n_mem, n_mem)
    mem = order[starts[t_hh][tm] + k]
    fam = claim_columns(len(mem), pat=mem, fac=t_fac[tm], ctype=PHARMACY, ts=t0[tm] + rng.integers(0, 8 * MINUTE, len(mem)))
    parts.append(fam)
    fam_trips = np.bincount(t_hh, minlength=len(hh_u)) if len(t_hh) else np.zeros(len(hh_u), int)

    # member days (会员日): a crowd of unrelated cards at one pharmacy on one day a month
    local_ph = np.nonzero((w.ftype == PHARMACY_F) & ~w.far)[0]
    n_md = max(1, len(local_ph) // 12)
    md_ph = rng.choice(local_ph, size=n_md, replace=False)
    md_dom = rng.choice([8, 15, 18, 28], size=n_md)
    pref_order = np.argsort(w.pref[:, 2], kind="stable")
    pref_sorted = w.pref[pref_order, 2]
    month_starts = _month_starts(S, D)
    md_parts = []
    for f, dom in zip(md_ph, md_dom):
        lo, hi = np.searchsorted(pref_sorted, [f, f + 1])
        loyal = pref_order[lo:hi]
        if len(loyal) > 300:
            loyal = rng.choice(loyal, 300, replace=False)
        region_pats = None
        for ms in month_starts:
            d = ms + dom - 1
            if d >= S + D:
                continue
            came = loyal[rng.random(len(loyal)) < 0.45]
            extra = int(rng.integers(10, 40))
            if region_pats is None:
                region_pats = np.nonzero(w.home == w.fregion[f])[0]
            if len(region_pats):
                came = np.unique(np.concatenate([came, rng.choice(region_pats, size=extra)]))
            tt = d * DAY + 9 * HOUR + rng.integers(0, 3 * HOUR, len(came))
            md_parts.append(claim_columns(len(came), pat=came, fac=f, ctype=PHARMACY, ts=tt))
    parts += md_parts

    # cross-region care: travellers with trips to a far city
    tr = np.nonzero(w.traveller & (alive > 20))[0]
    far_fac = np.nonzero(w.far)[0]
    far_city = w.fregion[far_fac]
    tv_parts = []
    for ci in np.unique(far_city):
        members = tr[rng.integers(0, len(np.unique(far_city)), len(tr)) == np.searchsorted(np.unique(far_city), ci)]
        if not len(members):
            continue
        f_city = far_fac[far_city == ci]
        n_cl = rng.integers(1, 4, len(members))
        tp = np.repeat(members, n_cl)
        trip0 = S + (rng.random(len(members)) * (alive[members] - 16)).astype(np.int64)
        tday = np.repeat(trip0, n_cl) + rng.integers(0, 10, len(tp))
        tf = f_city[rng.integers(0, len(f_city), len(tp))]
        is_h = w.ftype[tf] == HOSPITAL
        tdoc = np.where(is_h, w.doc_start[tf] + (rng.random(len(tp)) * np.maximum(w.doc_count[tf], 1)).astype(np.int64),
                        -1)
        tv_parts.append(claim_columns(len(tp), pat=tp, fac=tf, doc=tdoc, ctype=np.where(is_h, OUTPATIENT, PHARMACY),
                                ts=_times(rng, tday, "outpatient"),
                                dx=np.where(is_h, dx.sample(rng, w.cls[tp], False, age[tp]), -1)))
    parts += tv_parts

    bg = concat_claims(parts)
    facts = {"regulars": reg, "member_day": list(zip(md_ph.tolist(), md_dom.tolist())),
             "family_trips": (hh_u, fam_trips)}
    return bg, facts


def _month_starts(start_day: int, n_days: int) -> list[int]:
    out = []
    m = np.datetime64(int(start_day), "D").astype("datetime64[M]")
    while True:
        d = int(m.astype("datetime64[D]").astype(np.int64))
        if d >= start_day + n_days:
            return out
        out.append(d)
        m = m + 1


def _assign_cards_terminals(rng: np.random.Generator, w: _World, c: Claims) -> None:
    """Card (ssc, or the e-voucher for some outpatient/pharmacy claims) and terminal."""
    p = c["pat"]
    ev = w.ev[p]
    use_ev = (ev >= 0) & (c["ctype"] != INPATIENT) & (rng.random(len(p)) < 0.4)
    c["card"] = np.where(use_ev, ev, w.ssc[p]).astype(np.int32)
    f = c["fac"]
    c["term"] = (w.term_start[f] + (rng.random(len(p)) * w.term_count[f]).astype(np.int64)).astype(np.int32)


# =====================================================================================
# planted rings and leads


@dataclass
class _PlantedItem:
    item: int
    qty: int
    price: int  # fen
    days: int  # -1 when not recorded
    trace: int  # trace group (same group = same code), -1 none


class _Planter:
    """Adds the planted claims (fixed: never dropped by cleaning) and their truth records."""

    def __init__(self, rng: np.random.Generator, w: _World, cat: _Catalogue, dx: _Dx, n_base: int) -> None:
        self.rng, self.w, self.cat, self.dx = rng, w, cat, dx
        self.n_base = n_base  # planted claims are appended after the background
        self.cols: dict[str, list] = {k: [] for k in _CLAIM_FIELDS}
        self.items: list[tuple[int, _PlantedItem]] = []  # (planted claim no, item)
        self.used = np.zeros(w.n, dtype=bool)
        self.phone_changed = np.zeros(w.n, dtype=bool)
        self.rings: list[dict] = []
        self.leads: list[dict] = []
        self.edge_cases: list[dict] = []
        self.reroute: list[tuple[int, int, int]] = []  # (doctor, pharmacy, tag)
        self.next_tag = 0
        self.next_trace = 0
        self.S, self.D = w.start_day, w.n_days
        self.sorted_phones = np.sort(w.phone)
        # members of other rings that a shared identity may tie together (not collected
        # cards: their holders have no tie by design)
        self.ring_patients: list[int] = []
        self.counters: dict[str, int] = {}
        self.taken_facilities: set[int] = set()  # one ring per pharmacy / hospital where possible
        self.taken_doctors: set[int] = set()
        self.overlap_ok = np.zeros(w.n, dtype=bool)  # people whose planted refills overlap on purpose

    # ------------------------------------------------------------------ helpers
    def tag(self) -> int:
        self.next_tag += 1
        return self.next_tag - 1

    def new_trace(self) -> int:
        self.next_trace += 1
        return self.next_trace - 1

    def next_id(self, kind: str) -> str:
        self.counters[kind] = self.counters.get(kind, 0) + 1
        return f"T-{kind}-{self.counters[kind]:03d}"

    def fresh_phone(self) -> int:
        while True:
            ph = int(_random_phones(self.rng, 1)[0])
            i = np.searchsorted(self.sorted_phones, ph)
            if i >= len(self.sorted_phones) or self.sorted_phones[i] != ph:
                self.sorted_phones = np.insert(self.sorted_phones, i, ph)
                return ph

    def pick(self, k: int, *, ages: Iterable[tuple[float, float]] | None = None, min_age: float = 20,
             max_age: float = 85, sex: int | None = None, allow_used: bool = False) -> list[int]:
        """``k`` alive, local, unrelated (distinct households) patients not used by other plants."""
        w, rng = self.w, self.rng
        ranges = list(ages) if ages is not None else [(min_age, max_age)] * k
        out: list[int] = []
        households: set[int] = set()
        for lo, hi in ranges:
            for attempt in range(4000):
                p = int(rng.integers(0, w.n))
                relax = attempt > 3000 or allow_used
                if (w.death[p] != NO_DAY or w.traveller[p] or (self.used[p] and not relax)
                        or int(w.hh[p]) in households or p in out
                        or not (lo <= w.age[p] < hi) or (sex is not None and w.sex[p] != sex)
                        or (w.region[p] >= w.rg.n_local and attempt < 2000)):
                    continue
                break
            else:
                raise ValueError("population too small for the planted cases; use more patients")
            out.append(p)
            households.add(int(w.hh[p]))
            self.used[p] = True
        return out

    def card(self, p: int, prefer_ev: bool = False) -> int:
        w = self.w
        if prefer_ev:
            if w.ev[p] < 0:
                w.add_card(p, EVOUCHER, self.S - int(self.rng.integers(30, 900)), self.rng)
            return int(w.ev[p])
        return int(w.ssc[p])

    def term(self, f: int) -> int:
        return int(self.w.term_start[f] + self.rng.integers(0, self.w.term_count[f]))

    def local(self, ftype: int, *, exclude: Iterable[int] = (), region: int | None = None,
              min_docs: int = 0) -> int:
        w = self.w
        mask = (w.ftype == ftype) & ~w.far & (w.doc_count >= min_docs)
        if region is not None and np.any(mask & (w.fregion == region)):
            mask &= w.fregion == region
        cand = np.setdiff1d(np.nonzero(mask)[0], np.fromiter(exclude, dtype=np.int64))
        if not len(cand):
            cand = np.nonzero((w.ftype == ftype) & ~w.far)[0]
        return int(self.rng.choice(cand))

    def doctor_at(self, f: int) -> int:
        return int(self.w.doc_start[f] + self.rng.integers(0, max(1, self.w.doc_count[f])))

    def ring_doctor(self, f: int) -> int:
        """A doctor of ``f`` in no other ring, when there is one."""
        w = self.w
        free = [d for d in range(int(w.doc_start[f]), int(w.doc_start[f] + w.doc_count[f]))
                if d not in self.taken_doctors]
        doc = int(self.rng.choice(free)) if free else self.doctor_at(f)
        self.taken_doctors.add(doc)
        return doc

    def after_travel(self, t: int, fa: int, fb: int, lo: int, hi: int) -> int:
        """A time ``lo``..``hi`` seconds after ``t`` at facility ``fa``, plus the time to travel
        to ``fb`` at 40 km/h, so a planted visit and fill are never an impossible trip."""
        w = self.w
        km = float(_haversine_km(w.eff_lat[fa], w.eff_lon[fa], w.eff_lat[fb], w.eff_lon[fb])) if fa != fb else 0.0
        return t + int(self.rng.integers(lo, hi)) + int(km / 40.0 * HOUR)

    def ts(self, day: int, hour: tuple[int, int] = (8, 20)) -> int:
        return int(day) * DAY + int(self.rng.integers(hour[0] * HOUR, hour[1] * HOUR))

    def line(self, item: int, qty: int = 1, *, days: bool = True, trace: float = 0.7,
             price: int | None = None) -> _PlantedItem:
        cat = self.cat
        d = int(cat.pack_days[item]) * qty if days and cat.category[item] == DRUG and cat.pack_days[item] > 0 else -1
        tr = self.new_trace() if cat.category[item] == DRUG and self.rng.random() < trace else -1
        return _PlantedItem(int(item), int(qty), int(cat.price[item] if price is None else price), d, tr)

    def random_lines(self, ctype: int, cls: int, los: int = 0) -> list[_PlantedItem]:
        """Ordinary-looking lines for a planted claim (same pools as the background)."""
        cat, rng = self.cat, self.rng
        out: list[_PlantedItem] = []
        chosen: set[int] = set()

        def add(pool: int, qty: int, days: bool = True) -> None:
            for _ in range(5):
                it = int(cat.sample(rng, np.array([pool]))[0])
                if it not in chosen:
                    chosen.add(it)
                    out.append(self.line(it, qty, days=days))
                    return

        if ctype == PHARMACY:
            for _ in range(int(rng.integers(1, 3))):
                add(cat.P_WALK + cls, 1)
        elif ctype == OUTPATIENT:
            add(cat.P_CONSULT, 1)
            if rng.random() < 0.5:
                add(cat.P_TEST, 1)
            for _ in range(int(rng.integers(0, 3))):
                add(cat.P_HOSP + cls, 1)
        else:
            for it in cat.daily:
                chosen.add(int(it))
                out.append(self.line(int(it), los))
            for _ in range(int(rng.integers(3, 7))):
                add(cat.P_TEST, 1)
            for _ in range(int(rng.integers(4, 10))):
                add(cat.P_INPT + cls, int(rng.integers(1, 2 * los + 1)), days=False)
            for _ in range(int(rng.integers(2, 5))):
                add(cat.P_CONS_SMALL, int(rng.integers(1, 11)))
        return out

    def claim(self, *, pat: int, card: int, fac: int, ctype: int, ts: int, tag: int, doc: int = -1,
              admit: int = -1, disch: int = -1, dx: str | None = None, term: int | None = None,
              items: list[_PlantedItem] | None = None, rev_of: int = -1) -> int:
        """Append one planted claim; returns its index in the combined claims array."""
        no = len(self.cols["pat"])
        vals = {"pat": pat, "card": card, "fac": fac, "doc": doc, "ctype": ctype, "ts": ts, "admit": admit,
                "disch": disch, "dx": -1 if dx is None else self.dx.index[dx],
                "term": self.term(fac) if term is None else term, "first_item": -1, "fixed": True, "tag": tag,
                "rev_of": rev_of}
        for k, v in vals.items():
            self.cols[k].append(v)
        for it in items or []:
            self.items.append((no, it))
        return self.n_base + no

    def stay(self, *, pat: int, card: int, fac: int, admit: int, los: int, dx: str, tag: int,
             doc: int | None = None) -> int:
        cls = int(self.w.cls[pat])
        return self.claim(pat=pat, card=card, fac=fac, ctype=INPATIENT, ts=self.ts(admit + los, (9, 17)), tag=tag,
                          doc=self.doctor_at(fac) if doc is None else doc, admit=admit, disch=admit + los, dx=dx,
                          items=self.random_lines(INPATIENT, cls, los))

    def set_phone(self, p: int, phone: int) -> None:
        self.w.phone[p] = phone
        self.phone_changed[p] = True

    def add_ring(self, kind: str, tag: int, size: int, members: list[dict], **extra: object) -> dict:
        ring = {"ring_id": self.next_id(kind), "kind": kind, "size": size, "members": members,
                "_tag": tag, **extra}
        self.rings.append(ring)
        return ring

    def add_lead(self, kind: str, tag: int, card: int, **extra: object) -> None:
        w = self.w
        self.leads.append({"lead_id": self.next_id(kind), "kind": kind, "entity_type": "card",
                           "entity_id": w.cid(card), "patient_id": w.pid(int(w.card_pat[card])), "_tag": tag,
                           "_card": card, **extra})

    def member(self, etype: str, eid: str, role: str) -> dict:
        return {"entity_type": etype, "entity_id": eid, "role": role}

    def size(self, lo: int, hi: int) -> int:
        """A ring size between lo and hi, log-uniform (small rings are commoner)."""
        hi = max(lo, hi)
        return int(round(np.exp(self.rng.uniform(np.log(lo), np.log(hi + 0.49)))))

    def spread_days(self, k: int, lo: int = 0, hi: int | None = None) -> list[int]:
        hi = self.D if hi is None else hi
        k = min(k, hi - lo)
        return sorted(int(self.S + d) for d in self.rng.choice(np.arange(lo, hi), size=k, replace=False))

    # ------------------------------------------------------------------ ring kinds
    def card_collection(self, k: int) -> None:
        rng, w, cat = self.rng, self.w, self.cat
        tag = self.tag()
        f = self.local(PHARMACY_F, exclude=self.taken_facilities)
        self.taken_facilities.add(f)
        term = self.term(f)
        ages = [(60, 88) if rng.random() < 0.75 else (30, 60) for _ in range(k)]
        pats = self.pick(k, ages=ages)
        cards = [self.card(p) for p in pats]
        collect = cat.idx(group="collect")
        drugs = rng.choice(collect, size=min(3, len(collect)), replace=False)
        for day in self.spread_days(int(rng.integers(6, 21))):
            t = self.ts(day, (9, 19))
            for j in rng.permutation(k):
                if rng.random() > 0.85:
                    continue
                t += int(rng.integers(15, 50))
                lines = [self.line(int(drugs[int(rng.integers(0, len(drugs)))]), int(rng.integers(1, 4)))]
                self.claim(pat=pats[j], card=cards[j], fac=f, ctype=PHARMACY, ts=t, tag=tag, term=term, items=lines)
        members = [self.member("card", w.cid(c), "collected card") for c in cards]
        members += [self.member("facility", w.fid(f), "collector pharmacy"),
                    self.member("terminal", w.tid(term), "terminal")]
        self.add_ring("card_collection", tag, k, members)

    def drug_resale(self, m: int) -> None:
        rng, w, cat = self.rng, self.w, self.cat
        tag = self.tag()
        key = int(rng.choice(cat.idx(group="key")))
        dx = {"A10": "E11.9", "B01": "I48.9", "C09": "I50.9", "L01": "C34.9"}.get(cat.codes[key][1:4], "E11.9")
        n_ph = int(rng.integers(1, 3))
        pharmacies = list(dict.fromkeys(self.local(PHARMACY_F, exclude=self.taken_facilities) for _ in range(n_ph)))
        self.taken_facilities.update(pharmacies)
        region = int(w.fregion[pharmacies[0]])
        docs = []
        for _ in range(int(rng.integers(1, 4))):
            f = self.local(HOSPITAL if rng.random() < 0.6 else CLINIC, region=region, min_docs=1)
            docs.append(self.ring_doctor(f))
        pats = self.pick(m, min_age=25, max_age=75)
        cards = [self.card(p) for p in pats]
        recruiter = pats[0]
        shared_phone = [p for p in pats[1:] if rng.random() < 0.5]
        shared_addr = [p for p in pats[1:] if p not in shared_phone and rng.random() < 0.3]
        if len(shared_phone) < 2 and len(pats) > 2:
            shared_phone = pats[1:3]
            shared_addr = [p for p in shared_addr if p not in shared_phone]
        for p in shared_phone:
            self.set_phone(p, int(w.phone[recruiter]))
        self.phone_changed[recruiter] = True
        for p in shared_addr:
            w.addr[p] = w.addr[recruiter]
            w.home[p] = w.home[recruiter]
        for p, c in zip(pats, cards):
            day = self.S + int(rng.integers(0, 10))
            while day < self.S + self.D - 1:
                d = docs[int(rng.integers(0, len(docs)))]
                fdoc = int(w.doc_fac[d])
                t = self.ts(day, (8, 16))
                if rng.random() < 0.7:
                    self.claim(pat=p, card=c, fac=fdoc, ctype=OUTPATIENT, ts=t, tag=tag, doc=d, dx=dx,
                               items=[self.line(int(cat.idx(kind="consult")[0]), 1)])
                ph = pharmacies[int(rng.integers(0, len(pharmacies)))]
                ft = self.after_travel(t, fdoc, ph, 20 * MINUTE, 3 * HOUR)
                self.claim(pat=p, card=c, fac=ph, ctype=PHARMACY, ts=ft,
                           tag=tag, doc=d, dx=dx, items=[self.line(key, int(rng.integers(1, 4)))])
                day += int(rng.integers(6, 13))
        members = [self.member("card", w.cid(c), "recruited card") for c in cards]
        members += [self.member("doctor", w.did(d), "prescribing doctor") for d in dict.fromkeys(docs)]
        members += [self.member("facility", w.fid(f), "dispensing pharmacy") for f in pharmacies]
        members.append(self.member("drug", cat.codes[key], "key drug"))
        members.append(self.member("phone", str(int(w.phone[recruiter])), "recruiter phone"))
        members += [self.member("patient", w.pid(p), "phone holder") for p in [recruiter, *shared_phone]]
        if shared_addr:
            members.append(self.member("address", w.address(recruiter), "recruiter address"))
            members += [self.member("patient", w.pid(p), "address holder") for p in [recruiter, *shared_addr]]
        ring = self.add_ring("drug_resale", tag, m, members)
        # every member's refills overlap: an overlapping_supply lead implied by the ring
        for c in cards:
            self.add_lead("overlapping_supply", tag, c, implied_by=ring["ring_id"])
        self.overlap_ok[pats] = True
        self.ring_patients += pats

    def cohort_admission(self, k: int) -> None:
        rng, w = self.rng, self.w
        tag = self.tag()
        levels = np.array([lv.startswith(("一级", "二级")) for lv in w.flevel])
        cand = np.nonzero((w.ftype == HOSPITAL) & ~w.far & levels)[0]
        cand = np.setdiff1d(cand, np.fromiter(self.taken_facilities, dtype=np.int64)) if len(cand) > 1 else cand
        f = int(rng.choice(cand)) if len(cand) else self.local(HOSPITAL)
        self.taken_facilities.add(f)
        doc = self.ring_doctor(f)
        dx = str(rng.choice(W.DX_COHORT))
        pats = self.pick(k, ages=[(50, 88) if rng.random() < 0.8 else (30, 50) for _ in range(k)])
        cards = [self.card(p) for p in pats]
        recruit = self.fresh_phone()
        with_phone = [p for p in pats if rng.random() < 0.45]
        if len(with_phone) < 2:
            with_phone = pats[:2]
        for p in with_phone:
            self.set_phone(p, recruit)
        months = _month_starts(self.S, self.D)
        n_rounds = min(len(months), int(rng.integers(3, 7)))
        rounds = sorted(rng.choice(len(months), size=n_rounds, replace=False))
        base_los = int(rng.integers(5, 9))
        forced = rng.integers(0, n_rounds, k)  # every member is admitted at least once
        for ri, r in enumerate(rounds):
            d0 = months[int(r)] + int(rng.integers(3, 10))
            for j, (p, c) in enumerate(zip(pats, cards)):
                if rng.random() > 0.85 and forced[j] != ri:
                    continue
                admit = d0 + int(rng.integers(-1, 2))
                los = base_los + int(rng.integers(-1, 2))
                if admit < self.S or admit + los >= self.S + self.D:
                    continue
                self.stay(pat=p, card=c, fac=f, admit=admit, los=los, dx=dx, tag=tag, doc=doc)
        members = [self.member("card", w.cid(c), "admitted card") for c in cards]
        members += [self.member("facility", w.fid(f), "admitting hospital"),
                    self.member("doctor", w.did(doc), "attending doctor"),
                    self.member("phone", str(recruit), "recruiter phone")]
        members += [self.member("patient", w.pid(p), "phone holder") for p in with_phone]
        self.add_ring("cohort_admission", tag, k, members, diagnosis_code=dx)
        self.ring_patients += pats

    def doctor_pharmacy(self, k: int) -> None:
        rng, w, cat = self.rng, self.w, self.cat
        tag = self.tag()
        f = self.local(HOSPITAL if rng.random() < 0.7 else CLINIC, min_docs=3)
        doc = self.ring_doctor(f)
        ph = self.local(PHARMACY_F, exclude=self.taken_facilities, region=int(w.fregion[f]))
        self.taken_facilities.add(ph)
        pats = self.pick(k, min_age=25, max_age=85)
        cards = [self.card(p) for p in pats]
        short = np.array([i for i in cat.idx(group="general") if 0 < cat.pack_days[i] <= 7])
        for p, c in zip(pats, cards):
            day = self.S + int(rng.integers(0, 20))
            dxc = str(rng.choice(W.DX_ADULT_OUT[:12]))
            while day < self.S + self.D - 3:
                t = self.ts(day, (8, 16))
                self.claim(pat=p, card=c, fac=f, ctype=OUTPATIENT, ts=t, tag=tag, doc=doc, dx=dxc,
                           items=[self.line(int(cat.idx(kind="consult")[0]), 1)])
                lines = [self.line(int(it), int(rng.integers(1, 3)))
                         for it in rng.choice(short, size=int(rng.integers(1, 3)), replace=False)]
                fday = day + int(rng.choice([0, 0, 1, 2]))
                ft = self.after_travel(t, f, ph, 20 * MINUTE, 2 * HOUR) if fday == day else self.ts(fday, (9, 20))
                self.claim(pat=p, card=c, fac=ph, ctype=PHARMACY, ts=ft, tag=tag, doc=doc, dx=dxc, items=lines)
                day += int(rng.integers(15, 40))
        self.reroute.append((doc, ph, tag))
        members = [self.member("doctor", w.did(doc), "prescribing doctor"),
                   self.member("facility", w.fid(ph), "partner pharmacy")]
        members += [self.member("card", w.cid(c), "top card") for c in cards]
        self.add_ring("doctor_pharmacy", tag, k, members, doctor_facility_id=w.fid(f))
        self.ring_patients += pats

    def shared_identity(self, k: int) -> None:
        rng, w, cat = self.rng, self.w, self.cat
        tag = self.tag()
        by_phone = rng.random() < 0.67
        reuse_pool = [p for p in self.ring_patients if not self.phone_changed[p]]
        n_reuse = min(len(reuse_pool), int(round(k * rng.uniform(0.1, 0.4))))
        reused = [int(p) for p in rng.choice(reuse_pool, size=n_reuse, replace=False)] if n_reuse else []
        households = {int(w.hh[p]) for p in reused}
        fresh = [p for p in self.pick(k - n_reuse + 2, min_age=20, max_age=70) if int(w.hh[p]) not in households]
        fresh = fresh[: k - n_reuse]
        pats = reused + fresh
        pharmacies = list(dict.fromkeys(self.local(PHARMACY_F, exclude=self.taken_facilities)
                                        for _ in range(int(rng.integers(1, 4)))))
        self.taken_facilities.update(pharmacies)
        anchor = pats[0]
        if by_phone:
            phone = self.fresh_phone()
            for p in pats:
                self.set_phone(p, phone)
            tie = self.member("phone", str(phone), "shared phone")
            role = "phone holder"
        else:
            for p in pats[1:]:
                w.addr[p] = w.addr[anchor]
                w.home[p] = w.home[anchor]
                self.phone_changed[p] = True
            self.phone_changed[anchor] = True
            tie = self.member("address", w.address(anchor), "shared address")
            role = "address holder"
        no_days = np.array([i for i in cat.idx(group="general") if cat.pack_days[i] == 0]
                           + list(cat.idx(group="collect")))
        cards = []
        for p in fresh:
            c = self.card(p, prefer_ev=True)
            cards.append(c)
            n_buy = max(3, int(self.D / 30.4 * rng.uniform(3, 8)))
            for day in self.spread_days(n_buy):
                target = int(rng.choice([100, 200, 300, 500, 800, 1000])) * 100
                q = int(rng.choice([1, 2, 4, 5]))
                it = int(rng.choice(no_days))
                f = pharmacies[int(rng.integers(0, len(pharmacies)))]
                t = self.ts(day, (9, 21))
                orig = self.claim(pat=p, card=c, fac=f, ctype=PHARMACY, ts=t, tag=tag,
                                  items=[self.line(it, q, price=target // q, trace=0.0)])
                if rng.random() < 0.2 and day + 3 < self.S + self.D:
                    self.claim(pat=p, card=c, fac=f, ctype=PHARMACY, ts=t + int(rng.integers(1, 3)) * DAY, tag=tag,
                               rev_of=orig)
        members = [tie] + [self.member("patient", w.pid(p), role) for p in pats]
        members += [self.member("card", w.cid(c), "card") for c in cards]
        members += [self.member("facility", w.fid(f), "pharmacy") for f in pharmacies]
        self.add_ring("shared_identity", tag, len(pats), members, tie=tie["entity_type"])

    def trace_code_reuse(self, k: int) -> None:
        rng, w, cat = self.rng, self.w, self.cat
        tag = self.tag()
        ph = self.local(PHARMACY_F, exclude=self.taken_facilities)
        self.taken_facilities.add(ph)
        pats = self.pick(k, min_age=20, max_age=85)
        cards = [self.card(p) for p in pats]
        drugs = rng.permutation(np.concatenate([cat.idx(group="general"), cat.chronic("I10"), cat.chronic("E78.5")]))
        drugs = [int(d) for d in drugs if cat.pack_days[d] <= 14]
        n_codes = max(2, min(len(drugs), int(k * rng.uniform(0.5, 1.2))))
        if n_codes * 5 < k:
            n_codes = min(len(drugs), -(-k // 2))
        codes = []
        unused = [int(x) for x in rng.permutation(k)]  # every card receives a reused box
        for j in range(n_codes):
            item = drugs[j % len(drugs)]
            grp = self.new_trace()
            n_uses = min(k, int(rng.integers(2, 6)))
            first = unused[:n_uses]
            unused = unused[n_uses:]
            rest = [int(x) for x in rng.permutation(k) if x not in first][: n_uses - len(first)]
            uses = first + rest
            for day, ci in zip(self.spread_days(len(uses)), uses):
                line = self.line(item, 1)
                line.trace = grp
                self.claim(pat=pats[ci], card=cards[ci], fac=ph, ctype=PHARMACY, ts=self.ts(day, (9, 21)), tag=tag,
                           items=[line])
            codes.append(grp)
        members = [self.member("facility", w.fid(ph), "dispensing pharmacy")]
        members += [self.member("card", w.cid(c), "card") for c in cards]
        self.add_ring("trace_code_reuse", tag, k, members, _trace_groups=codes)
        self.ring_patients += pats

    # ------------------------------------------------------------------ lead kinds
    def after_death(self) -> None:
        rng, w = self.rng, self.w
        p = self.pick(1, min_age=60, max_age=95)[0]
        death = self.S + int(rng.integers(max(1, self.D // 5), max(2, self.D - 8)))
        w.death[p] = death
        c = self.card(p, prefer_ev=rng.random() < 0.3)
        tag = self.tag()
        for day in sorted({death + int(x) for x in rng.integers(1, 8, int(rng.integers(1, 4)))}):
            if day >= self.S + self.D:
                continue
            f = int(w.pref[p, 2])
            self.claim(pat=p, card=c, fac=f, ctype=PHARMACY, ts=self.ts(day, (9, 20)), tag=tag,
                       items=self.random_lines(PHARMACY, int(w.cls[p])))
        self.add_lead("after_death", tag, c, death_date=_date_str(death))
        # a legitimate claim on the day of death (negative example)
        q = self.pick(1, min_age=65, max_age=95)[0]
        qd = self.S + int(rng.integers(max(1, self.D // 5), max(2, self.D - 2)))
        w.death[q] = qd
        etag = self.tag()
        los = int(rng.integers(2, 9))
        if rng.random() < 0.5 and qd - los >= self.S:  # died in hospital: discharged that day
            self.stay(pat=q, card=self.card(q), fac=int(w.pref[q, 0]), admit=qd - los, los=los, dx="I63.9", tag=etag)
        else:  # a pharmacy visit on the morning of the day of death
            self.claim(pat=q, card=self.card(q), fac=int(w.pref[q, 2]), ctype=PHARMACY, ts=self.ts(qd, (8, 11)),
                       tag=etag, items=self.random_lines(PHARMACY, int(w.cls[q])))
        self.edge_cases.append({"kind": "claim_on_death_day", "entity_type": "card", "entity_id": w.cid(self.card(q)),
                                "patient_id": w.pid(q), "death_date": _date_str(qd), "_tag": etag})

    def impossible_travel(self) -> None:
        rng, w = self.rng, self.w
        p = self.pick(1, min_age=20, max_age=80)[0]
        c = self.card(p, prefer_ev=rng.random() < 0.5)
        tag = self.tag()
        far_f = int(rng.choice(np.nonzero(w.far)[0]))
        loc_f = int(w.pref[p, 2])
        if np.isnan(w.flat[loc_f]):  # the distance must be visible from recorded coordinates
            loc_f = int(rng.choice(np.nonzero((w.ftype == PHARMACY_F) & ~w.far & ~np.isnan(w.flat))[0]))
        day = self.S + int(rng.integers(0, self.D))
        t1 = self.ts(day, (9, 18))
        t2 = t1 + int(rng.integers(20, 111)) * MINUTE
        first, second = (loc_f, far_f) if rng.random() < 0.5 else (far_f, loc_f)
        for f, t in ((first, t1), (second, t2)):
            is_h = w.ftype[f] == HOSPITAL
            ctype = OUTPATIENT if is_h else PHARMACY
            self.claim(pat=p, card=c, fac=f, ctype=ctype, ts=t, tag=tag, doc=self.doctor_at(f) if is_h else -1,
                       dx="J06.9" if is_h else None, items=self.random_lines(ctype, int(w.cls[p])))
        self.add_lead("impossible_travel", tag, c)

    def used_while_inpatient(self) -> None:
        rng, w = self.rng, self.w
        p = self.pick(1, min_age=25, max_age=85)[0]
        tag = self.tag()
        los = int(rng.integers(5, 13))
        admit = self.S + int(rng.integers(0, max(1, self.D - los - 1)))
        h = self.local(HOSPITAL)
        self.stay(pat=p, card=self.card(p), fac=h, admit=admit, los=los, dx="J18.9", tag=tag)
        c = self.card(p, prefer_ev=rng.random() < 0.4)
        for day in sorted({admit + int(x) for x in rng.integers(1, los, int(rng.integers(1, 3)))}):
            f = self.local(PHARMACY_F, exclude=[h])
            self.claim(pat=p, card=c, fac=f, ctype=PHARMACY, ts=self.ts(day, (9, 20)), tag=tag,
                       items=self.random_lines(PHARMACY, int(w.cls[p])))
        self.add_lead("used_while_inpatient", tag, c)

    def overlapping_supply(self) -> None:
        rng, w, cat = self.rng, self.w, self.cat
        p = self.pick(1, min_age=40, max_age=85)[0]
        c = self.card(p)
        tag = self.tag()
        dxc = str(rng.choice([x for x, _ in W.CHRONIC]))
        drug = int(rng.choice(cat.chronic(dxc)))
        f = int(w.pref[p, 2])
        day = self.S + int(rng.integers(0, 10))
        n = 0
        while day < self.S + self.D and n < 12:
            self.claim(pat=p, card=c, fac=f, ctype=PHARMACY, ts=self.ts(day, (9, 20)), tag=tag, dx=dxc,
                       items=[self.line(drug, 1)])
            day += int(rng.integers(5, 12))
            n += 1
        self.add_lead("overlapping_supply", tag, c, drug=cat.codes[drug])
        self.overlap_ok[p] = True

    def split_admission(self) -> None:
        rng = self.rng
        p = self.pick(1, min_age=40, max_age=90)[0]
        c = self.card(p)
        tag = self.tag()
        h = self.local(HOSPITAL)
        dxc = str(rng.choice(W.DX_ADULT_IN[:8]))
        los1, gap, los2 = int(rng.integers(4, 10)), int(rng.integers(1, 4)), int(rng.integers(3, 8))
        admit = self.S + int(rng.integers(0, max(1, self.D - los1 - gap - los2 - 1)))
        doc = self.doctor_at(h)
        self.stay(pat=p, card=c, fac=h, admit=admit, los=los1, dx=dxc, tag=tag, doc=doc)
        self.stay(pat=p, card=c, fac=h, admit=admit + los1 + gap, los=los2, dx=dxc, tag=tag, doc=doc)
        self.add_lead("split_admission", tag, c)

    def duplicate_claim(self) -> None:
        rng, w = self.rng, self.w
        p = self.pick(1, min_age=20, max_age=85)[0]
        c = self.card(p, prefer_ev=rng.random() < 0.3)
        tag = self.tag()
        out = rng.random() < 0.5
        f = int(w.pref[p, 0] if out else w.pref[p, 2])
        ctype = OUTPATIENT if out else PHARMACY
        doc = self.doctor_at(f) if out else -1
        lines = self.random_lines(ctype, int(w.cls[p]))
        for ln in lines:  # no trace codes or days of supply: the pair is no other kind of lead
            ln.trace = -1
            ln.days = -1
        t = self.ts(self.S + int(rng.integers(0, self.D)), (9, 17))
        term = self.term(f)
        dxc = "J06.9" if out else None
        self.claim(pat=p, card=c, fac=f, ctype=ctype, ts=t, tag=tag, doc=doc, dx=dxc, term=term, items=lines)
        dup = [_PlantedItem(x.item, x.qty, x.price, x.days, -1) for x in lines]
        self.claim(pat=p, card=c, fac=f, ctype=ctype, ts=t + int(rng.integers(0, 50)), tag=tag, doc=doc, dx=dxc,
                   term=term, items=dup)
        self.add_lead("duplicate_claim", tag, c)

    def demographic_mismatch(self, variant: int) -> None:
        rng, w, cat = self.rng, self.w, self.cat
        tag = self.tag()
        if variant == 0:  # pregnancy diagnosis on a man
            p = self.pick(1, min_age=25, max_age=70, sex=0)[0]
            f = int(w.pref[p, 0])
            c = self.card(p)
            day = self.S + int(rng.integers(0, self.D))
            self.claim(pat=p, card=c, fac=f, ctype=OUTPATIENT, ts=self.ts(day, (8, 17)),
                       tag=tag, doc=self.doctor_at(f), dx=str(rng.choice(["O26.9", "O21.0"])),
                       items=self.random_lines(OUTPATIENT, MALE_YOUNG))
            reason = "pregnancy diagnosis for a man"
        elif variant == 1:  # prostate drug for a woman
            p = self.pick(1, min_age=30, max_age=80, sex=1)[0]
            c = self.card(p)
            it = int(rng.choice(cat.idx(group="male")))
            self.claim(pat=p, card=c, fac=int(w.pref[p, 2]), ctype=PHARMACY,
                       ts=self.ts(self.S + int(rng.integers(0, self.D))), tag=tag, items=[self.line(it, 1, days=False)])
            reason = "prostate drug for a woman"
        else:  # paediatric drug for an old person
            p = self.pick(1, min_age=78, max_age=96)[0]
            c = self.card(p)
            it = int(rng.choice(cat.idx(group="child")))
            self.claim(pat=p, card=c, fac=int(w.pref[p, 2]), ctype=PHARMACY,
                       ts=self.ts(self.S + int(rng.integers(0, self.D))), tag=tag, items=[self.line(it, 1, days=False)])
            reason = "paediatric drug for an old person"
        self.add_lead("demographic_mismatch", tag, c, detail=reason)

    # ------------------------------------------------------------------ all of it
    def plant_all(self, n_patients: int) -> None:
        """Every ring kind and lead kind, their numbers and sizes scaled with the population."""
        if n_patients >= 5000:
            n_rings = 3 + n_patients // 40000
        else:
            n_rings = max(1, min(3, n_patients // 1500))
        n_leads = max(2, 4 + n_patients // 25000) if n_patients >= 2000 else 2
        max_size = int(np.clip(n_patients // 500, 4, 40))
        for _ in range(n_rings):
            self.card_collection(self.size(4, max_size))
            self.drug_resale(self.size(4, max_size))
            self.cohort_admission(self.size(4, max_size))
            self.doctor_pharmacy(self.size(4, max_size))
            self.trace_code_reuse(self.size(4, max_size))
        for _ in range(n_rings):
            self.shared_identity(self.size(8, max(8, min(25, n_patients // 200))))
        for i in range(n_leads):
            self.after_death()
            self.impossible_travel()
            self.used_while_inpatient()
            self.overlapping_supply()
            self.split_admission()
            self.duplicate_claim()
            self.demographic_mismatch(i % 3)

    def claims(self) -> Claims:
        n = len(self.cols["pat"])
        return claim_columns(n, **{k: np.array(v) for k, v in self.cols.items()}) if n else claim_columns(0)


def _date_str(day: int) -> str:
    return str(np.datetime64(int(day), "D"))


# =====================================================================================
# cleaning: keep the background free of lead signatures


def _order(*keys: np.ndarray) -> np.ndarray:
    """Indices sorting by ``keys`` (most significant first; non-negative integers). Packs the
    keys into one int64 when they fit, which is much faster than ``np.lexsort``."""
    if not len(keys[0]):
        return np.zeros(0, dtype=np.int64)
    bits = [max(1, int(k.max()).bit_length()) for k in keys]
    if sum(bits) > 63:
        return np.lexsort(keys[::-1])
    packed = np.zeros(len(keys[0]), dtype=np.int64)
    for k, b in zip(keys, bits):
        packed = (packed << b) | k.astype(np.int64)
    return np.argsort(packed)


def _haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def _pairs_drop(first: np.ndarray, second: np.ndarray, viol: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """For violating pairs, the claim to drop: the later one when it is background, else the
    earlier one when it is background; pairs of planted claims are left alone."""
    a, b = first[viol], second[viol]
    drop_b = ~fixed[b]
    drop_a = ~drop_b & ~fixed[a]
    return np.concatenate([b[drop_b], a[drop_a]])


def _clean(c: Claims, w: _World) -> np.ndarray:
    """Mask of claims to keep so that the background makes no lead of its own."""
    n = len(c["pat"])
    keep = np.ones(n, dtype=bool)
    fixed = c["fixed"]
    pat = c["pat"].astype(np.int64)
    day = c["ts"] // DAY
    # A. nothing on or after the day of death (planted edge cases are fixed)
    keep &= ~(~fixed & (day >= w.death[pat]))
    is_stay = (c["ctype"] == INPATIENT) & (c["rev_of"] < 0)
    key_mul = 1 << 24

    # B1. stays of one person at least 8 days apart (no overlap, no split admissions)
    for _ in range(50):
        s = np.nonzero(keep & is_stay)[0]
        s = s[_order(pat[s], c["admit"][s] - w.start_day + 64)]
        same = pat[s[1:]] == pat[s[:-1]]
        viol = same & (c["admit"][s[1:]] <= c["disch"][s[:-1]] + 7)
        drop = _pairs_drop(s[:-1], s[1:], viol, fixed)
        if not len(drop):
            break
        keep[drop] = False

    def containing_stay(idx: np.ndarray) -> np.ndarray:
        """For claims ``idx``, the kept stay of the same person whose [admit, discharge] holds
        the claim's day, or -1."""
        s = np.nonzero(keep & is_stay)[0]
        s = s[_order(pat[s], c["admit"][s] - w.start_day + 64)]
        skey = pat[s] * key_mul + (c["admit"][s] - w.start_day + 64)
        qkey = pat[idx] * key_mul + (day[idx] - w.start_day + 64)
        pos = np.searchsorted(skey, qkey, side="right") - 1
        ok = pos >= 0
        cand = np.where(ok, s[np.maximum(pos, 0)], -1)
        inside = ok & (pat[np.maximum(cand, 0)] == pat[idx]) & (day[idx] <= c["disch"][np.maximum(cand, 0)])
        return np.where(inside, cand, -1)

    # B2. a background stay holding a planted claim of the same person goes
    fx = np.nonzero(keep & fixed & ~is_stay)[0]
    if len(fx):
        st = containing_stay(fx)
        st = st[st >= 0]
        keep[st[~fixed[st]]] = False
    # B3. background claims during any kept stay go
    bg = np.nonzero(keep & ~fixed & ~is_stay)[0]
    st = containing_stay(bg)
    keep[bg[st >= 0]] = False

    # C. travel: consecutive claims of a person must be physically possible with a margin
    lat, lon = w.eff_lat, w.eff_lon
    t0 = int(c["ts"].min()) if n else 0
    subset = np.nonzero(keep)[0]
    for _ in range(50):
        s = subset[keep[subset]]
        s = s[_order(pat[s], c["ts"][s] - t0)]
        a, b = s[:-1], s[1:]
        same = pat[a] == pat[b]
        fa, fb = c["fac"][a], c["fac"][b]
        diff = same & (fa != fb)
        dist = np.zeros(len(a))
        dist[diff] = _haversine_km(lat[fa[diff]], lon[fa[diff]], lat[fb[diff]], lon[fb[diff]])
        hours = (c["ts"][b] - c["ts"][a]) / HOUR
        viol = diff & (((dist > 30) & (dist > 60 * hours)) | ((dist > 300) & (hours < 30)))
        drop = _pairs_drop(a, b, viol, fixed)
        if not len(drop):
            break
        keep[drop] = False
        subset = np.nonzero(np.isin(pat, np.unique(pat[drop])))[0]

    # D. no two claims of one card at one facility within three minutes
    card = c["card"].astype(np.int64)
    subset = np.nonzero(keep)[0]
    for _ in range(20):
        s = subset[keep[subset]]
        s = s[_order(card[s], c["fac"][s], c["ts"][s] - t0)]
        a, b = s[:-1], s[1:]
        viol = (card[a] == card[b]) & (c["fac"][a] == c["fac"][b]) & (c["ts"][b] - c["ts"][a] < 180)
        drop = _pairs_drop(a, b, viol, fixed)
        if not len(drop):
            break
        keep[drop] = False
        subset = np.nonzero(np.isin(card, np.unique(card[drop])))[0]
    return _cascade_reversals(c, keep)


def _cascade_reversals(c: Claims, keep: np.ndarray) -> np.ndarray:
    rev = np.nonzero(c["rev_of"] >= 0)[0]
    keep[rev[~keep[c["rev_of"][rev]]]] = False
    return keep


def _reversals(rng: np.random.Generator, w: _World, c: Claims) -> Claims:
    """Reversal rows (冲销) for ~0.5 % of background claims: minutes to days later."""
    cand = np.nonzero(~c["fixed"] & (c["tag"] < 0) & ~w.far[c["fac"]])[0]
    pick = cand[rng.random(len(cand)) < 0.005]
    soon = rng.random(len(pick)) < 0.6
    delay = np.where(soon, rng.integers(5 * MINUTE, 2 * HOUR, len(pick)), rng.integers(1, 8, len(pick)) * DAY
                     + rng.integers(-2 * HOUR, 2 * HOUR, len(pick)))
    ts = c["ts"][pick] + delay
    ok = ts // DAY < w.start_day + w.n_days
    pick, ts = pick[ok], ts[ok]
    r = _take(c, pick)
    r["ts"] = ts
    r["rev_of"] = pick.astype(np.int64)
    r["first_item"][:] = -1
    return r


def _reroute_prescriptions(rng: np.random.Generator, c: Claims, w: _World, reroute: list[tuple[int, int, int]],
                           shares: dict[int, float] | None = None) -> None:
    """Steer the background prescriptions of doctor-pharmacy ring doctors to their partner
    (92 % of them, or the doctor's share in ``shares``)."""
    for doc, ph, tag in reroute:
        sel = np.nonzero((c["doc"] == doc) & (c["ctype"] == PHARMACY) & ~c["fixed"])[0]
        sel = sel[rng.random(len(sel)) < (shares or {}).get(doc, 0.92)]
        c["fac"][sel] = ph
        c["term"][sel] = w.term_start[ph] + (rng.random(len(sel)) * w.term_count[ph]).astype(np.int64)
        c["tag"][sel] = tag


# =====================================================================================
# items


@dataclass
class _Items:
    """Item lines as int32 columns (tens of millions of rows at full scale)."""

    claim: np.ndarray  # index into claims
    seq: np.ndarray  # order of the line within its claim
    item: np.ndarray  # catalogue index
    qty: np.ndarray
    price: np.ndarray  # unit price in fen
    days: np.ndarray  # days of supply, -1 none
    trace: np.ndarray  # trace group (one physical box), -1 none

    def __post_init__(self) -> None:
        for name in ("claim", "seq", "item", "qty", "price", "days", "trace"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=np.int32))

    def take(self, idx: np.ndarray) -> "_Items":
        return _Items(*(getattr(self, f)[idx] for f in ("claim", "seq", "item", "qty", "price", "days", "trace")))

    @staticmethod
    def cat(parts: list["_Items"]) -> "_Items":
        return _Items(*(np.concatenate([getattr(p, f) for p in parts])
                        for f in ("claim", "seq", "item", "qty", "price", "days", "trace")))


def _background_items(rng: np.random.Generator, cat: _Catalogue, c: Claims, w: _World, idx: np.ndarray,
                      trace_start: int) -> _Items:
    """Item lines for the background claims ``idx`` (vectorised, claim-major order)."""
    ct = c["ctype"][idx]
    cls = w.cls[c["pat"][idx]].astype(np.int32)
    los = np.maximum(c["disch"][idx] - c["admit"][idx], 1).astype(np.int32)
    first_item = c["first_item"][idx]
    m = len(idx)
    ph, op, ip = ct == PHARMACY, ct == OUTPATIENT, ct == INPATIENT

    # line kinds in the order they appear within a claim: (pool, pool depends on class)
    kinds = [(-2, False),  # the regular's refill drug (fixed)
             (cat.P_WALK, True), (cat.P_CONSULT, False), (cat.P_TEST, False), (cat.P_THERAPY, False),
             (cat.P_HOSP, True), (cat.P_INPT, True), (cat.P_CONS_SMALL, False), (cat.P_SURGERY, False),
             (cat.P_CONS_HIGH, False)] + [(-3 - int(d), False) for d in cat.daily]  # daily fees (fixed)
    k = np.zeros((m, len(kinds)), dtype=np.int8)

    def draw(col: int, choices: list[int], p: list[float], mask: np.ndarray) -> None:
        k[mask, col] += rng.choice(np.array(choices, dtype=np.int8), size=int(mask.sum()), p=p)

    has_first = first_item >= 0
    k[:, 0] = has_first
    draw(1, [1, 2, 3, 4], [0.45, 0.3, 0.17, 0.08], ph & ~has_first)
    draw(1, [0, 1], [0.67, 0.33], has_first)
    k[:, 2] = op
    draw(3, [0, 1, 2], [0.55, 0.3, 0.15], op)
    draw(3, [3, 4, 5, 6], [0.3, 0.3, 0.25, 0.15], ip)
    draw(4, [0, 1], [0.85, 0.15], op)
    draw(5, [0, 1, 2, 3], [0.3, 0.35, 0.25, 0.1], op)
    draw(6, [4, 5, 6, 7, 8, 9], [0.15, 0.2, 0.2, 0.2, 0.15, 0.1], ip)
    draw(7, [0, 1], [0.88, 0.12], op)
    draw(7, [2, 3, 4], [0.4, 0.35, 0.25], ip)
    surg = ip & (rng.random(m) < 0.2)
    k[:, 8] = surg
    k[:, 9] = surg & (rng.random(m) < 0.5)
    k[:, 10:] = ip[:, None]
    per_claim = k.sum(axis=1, dtype=np.int64)
    kind = np.repeat(np.tile(np.arange(len(kinds), dtype=np.int8), m), k.ravel())
    del k
    lc = np.repeat(np.arange(m, dtype=np.int32), per_claim)
    base = np.array([kd[0] for kd in kinds], dtype=np.int32)
    by_class = np.array([kd[1] for kd in kinds], dtype=bool)
    lp = base[kind] + np.where(by_class[kind], cls[lc], 0)
    del kind
    rnd = lp >= 0
    item = np.empty(len(lc), dtype=np.int32)
    item[rnd] = cat.sample(rng, lp[rnd])
    fixed_first = lp == -2
    item[fixed_first] = first_item[lc[fixed_first]]
    daily = lp <= -3
    item[daily] = -3 - lp[daily]
    # distinct items within a claim: redraw repeats a few times, then drop them
    alive = np.ones(len(lc), dtype=bool)
    look = np.arange(len(lc))
    for attempt in range(6):
        o = look[_order(lc[look], item[look], rnd[look])]  # a fixed line sorts first
        same = (lc[o[1:]] == lc[o[:-1]]) & (item[o[1:]] == item[o[:-1]])
        dup = o[1:][same]
        dup = dup[rnd[dup]]
        del o, same
        if not len(dup):
            break
        if attempt == 5:
            alive[dup] = False
            break
        item[dup] = cat.sample(rng, lp[dup])
        look = np.nonzero(np.isin(lc, np.unique(lc[dup])))[0]
    del look
    if not alive.all():
        lc, lp, item, daily = lc[alive], lp[alive], item[alive], daily[alive]
    del alive, rnd, fixed_first
    n_lines = len(lc)
    cl_type = ct[lc]
    is_drug = cat.category[item] == DRUG
    qty = np.ones(n_lines, dtype=np.int32)
    out_drug = is_drug & (cl_type != INPATIENT) & (lp != -2)
    qty[out_drug] = rng.choice(np.array([1, 2, 3], dtype=np.int32), size=int(out_drug.sum()), p=[0.6, 0.3, 0.1])
    del out_drug
    in_drug = is_drug & (cl_type == INPATIENT)
    qty[in_drug] = 1 + (rng.random(int(in_drug.sum())) * 2 * los[lc[in_drug]]).astype(np.int32)
    del in_drug
    qty[daily] = los[lc[daily]]
    small = lp == cat.P_CONS_SMALL
    qty[small] = np.where(cl_type[small] == INPATIENT, rng.integers(1, 11, int(small.sum())), 1)
    ther = lp == cat.P_THERAPY
    qty[ther] = rng.integers(1, 6, int(ther.sum()))
    del small, ther, daily, lp
    pack = cat.pack_days[item]
    days = np.where(is_drug & (cl_type != INPATIENT) & (pack > 0), pack * qty, -1).astype(np.int32)
    del pack, cl_type
    has_trace = is_drug & (rng.random(n_lines) < 0.7)
    trace = np.full(n_lines, -1, dtype=np.int32)
    trace[has_trace] = trace_start + np.arange(int(has_trace.sum()), dtype=np.int32)
    del has_trace, is_drug
    count = np.bincount(lc, minlength=m)
    seq = np.arange(n_lines, dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    return _Items(idx[lc], seq, item, qty, cat.price[item], days, trace)


def _planted_items(planter: _Planter) -> _Items:
    rows = planter.items
    if not rows:
        e = np.zeros(0, dtype=np.int64)
        return _Items(e, e, e, e, e, e, e)
    claim = np.array([planter.n_base + no for no, _ in rows], dtype=np.int64)
    seq = np.zeros(len(rows), dtype=np.int64)
    last, k = -1, 0
    for i, (no, _) in enumerate(rows):
        k = k + 1 if no == last else 0
        last = no
        seq[i] = k
    return _Items(claim, seq, np.array([r.item for _, r in rows], dtype=np.int64),
                  np.array([r.qty for _, r in rows]), np.array([r.price for _, r in rows]),
                  np.array([r.days for _, r in rows]), np.array([r.trace for _, r in rows]))


def _clean_supply(c: Claims, keep: np.ndarray, it: _Items, intended: np.ndarray) -> None:
    """No overlapping supply but the intended: cap a line's days at the gap to the same
    person's next purchase of that item (background lines, and planted lines of people not
    meant to overlap, i.e. not in ``intended``), or drop a background claim that refills an
    item during a planted supply. Updates ``keep`` and ``it.days`` in place."""
    fixed = c["fixed"]
    t0 = int(c["ts"].min()) if len(c["ts"]) else 0
    pat_of_line = c["pat"][it.claim].astype(np.int64)
    look = np.nonzero(it.days > 0)[0]
    for _ in range(30):
        sel = look[(it.days[look] > 0) & keep[it.claim[look]]]
        cl = it.claim[sel]
        p = pat_of_line[sel]
        o = _order(p, it.item[sel], c["ts"][cl] - t0)
        sel, cl, p = sel[o], cl[o], p[o]
        d = c["ts"][cl] // DAY
        same = (p[1:] == p[:-1]) & (it.item[sel[1:]] == it.item[sel[:-1]])
        gap = d[1:] - d[:-1]
        viol = same & (gap < it.days[sel[:-1]])
        a_bg = ~fixed[cl[:-1]]
        cap = viol & (a_bg | ~intended[p[:-1]])
        it.days[sel[:-1][cap]] = np.where(gap[cap] > 0, gap[cap], -1)
        drop = viol & ~cap & ~fixed[cl[1:]]
        if not drop.any():
            break
        keep[cl[1:][drop]] = False
        look = sel[np.isin(p, np.unique(p[1:][drop]))]
    _cascade_reversals(c, keep)


# =====================================================================================
# money


def _split_amounts(rng: np.random.Generator, c: Claims, w: _World, total: np.ndarray) -> tuple[np.ndarray, ...]:
    """fund + account + self == total, exactly, in fen (integer basis points)."""
    n = len(total)
    employee = w.ins[c["pat"]] == 0
    ct = c["ctype"]
    rx = (ct == PHARMACY) & (c["doc"] >= 0)
    fund_bp = np.select(
        [ct == INPATIENT, ct == OUTPATIENT, rx],
        [np.where(employee, 8500, 6500), np.full(n, 5000), np.full(n, 5000)], 0)
    fund_bp = np.where(fund_bp > 0, fund_bp + rng.integers(-500, 501, n), 0)
    acct_bp = np.where(employee, np.where(ct == INPATIENT, 0, 7000), 0)
    fund = total * fund_bp // 10000
    account = (total - fund) * acct_bp // 10000
    return fund, account, total - fund - account


# =====================================================================================
# text formatting (vectorised through pyarrow)


def _s(values: np.ndarray | list, mask: np.ndarray | None = None) -> pa.Array:
    """A string array from numbers or strings, null where ``mask`` is true."""
    arr = pa.array(values, mask=mask) if mask is not None else pa.array(values)
    return arr if pa.types.is_string(arr.type) else pc.cast(arr, pa.string())


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded ``numbers``, e.g. ``P00000042``."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def _money(fen: np.ndarray) -> pa.Array:
    """Exact two-decimal strings of integer fen ("123.40", "-0.50"): the fen become the
    unscaled values of a decimal128(18, 2) array, which Arrow prints without rounding."""
    fen = np.asarray(fen, dtype=np.int64)
    words = np.empty((len(fen), 2), dtype=np.int64)  # little-endian 128-bit two's complement
    words[:, 0] = fen
    words[:, 1] = fen >> 63
    dec = pa.Array.from_buffers(pa.decimal128(18, 2), len(fen), [None, pa.py_buffer(words)])
    return pc.cast(dec, pa.string())


def _money_py(fen: int) -> str:
    """``_money`` for one value."""
    return f"{'-' if fen < 0 else ''}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _dates(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    d = np.asarray(days, dtype=np.int64)
    if mask is not None:
        d = np.where(mask, 0, d)
    return pc.cast(pa.array(d.astype("datetime64[D]"), mask=mask), pa.string())


def _datetimes(ts: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(ts, dtype=np.int64).astype("datetime64[s]")), pa.string())


def _pick(strings: pa.Array, idx: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """``strings[idx]`` (null where ``mask``)."""
    idx = np.asarray(idx, dtype=np.int64)
    if mask is not None:
        return strings.take(pa.array(np.where(mask, 0, idx), mask=mask))
    return strings.take(pa.array(idx))


def _check_word_lists(cat: _Catalogue) -> None:
    """Generated values are written unquoted, so no word may hold a comma, quote or line break."""
    bad = re.compile(r'[,"\r\n]')
    words = [*cat.names, *cat.codes, *W.ROADS, *W.COMPOUNDS, *W.STREETS, *W.SURNAMES, *W.GIVEN_MALE,
             *W.GIVEN_FEMALE, *W.PHARMACY_BRANDS, *W.HOSPITAL_KINDS, *W.CLINIC_KINDS, *W.DEPARTMENTS,
             *W.CLINIC_DEPARTMENTS, *(r[1] for r in W.LOCAL_REGIONS), *(r[1] for r in W.OUTSIDE_INSURED),
             *(r[1] for r in W.FAR_CITIES), W.PROVINCE_CITY]
    if any(bad.search(x) for x in words):
        raise AssertionError("word lists must not need CSV quoting")


def _quote_py(v: str) -> str:
    return '"' + v.replace('"', '""') + '"' if any(ch in v for ch in ',"\r\n') else v


def _line_py(values: list[str]) -> str:
    """One CSV line with minimal quoting (dirty rows, headers, small tables)."""
    return ",".join(_quote_py(v) for v in values) + "\n"


_CSV = pa_csv.WriteOptions(include_header=False, quoting_style="none", batch_size=65536)


class _Out:
    """A CSV file written in UTF-8 or, for zh, transcoded chunk by chunk to GB18030."""

    def __init__(self, path: Path, zh: bool) -> None:
        self.fh = open(path, "wb")
        self.zh = zh

    def write(self, data: bytes | memoryview | pa.Buffer) -> None:
        if self.zh:
            self.fh.write(str(memoryview(data), "utf-8").encode("gb18030"))
        else:
            self.fh.write(data)

    def close(self) -> None:
        self.fh.close()


@dataclass
class _Dirty:
    """One dirty row to interleave: inserted before clean row ``before``."""

    before: int
    values: list[str]  # canonical column order; for malformed rows, the fields actually written
    outcome: str
    reason: str | None
    column: str | None
    seq: int = 0
    line: int = 0


def _write_table(out: _Out, header: list[str], n: int, chunk: Callable[[np.ndarray], list[pa.Array]],
                 dirty: list[_Dirty], render: Callable[[list[str]], list[str]]) -> int:
    """Write the header, ``n`` clean rows (``chunk(rows)`` formats rows as string columns) and
    the dirty rows at their positions; sets each dirty row's line number (header = 1).
    Returns the number of data rows written."""
    out.write(_line_py(header).encode("utf-8"))
    dirty.sort(key=lambda d: (d.before, d.seq))
    for rank, d in enumerate(dirty):
        d.line = d.before + rank + 2
    before = np.array([d.before for d in dirty], dtype=np.int64)
    names = [str(i) for i in range(len(header))]
    for a in range(0, max(n, 1), WRITE_CHUNK):
        b = min(n, a + WRITE_CHUNK)
        table = pa.Table.from_arrays(chunk(np.arange(a, b)), names=names) if b > a else None
        lo = int(np.searchsorted(before, a, side="left"))
        hi = len(dirty) if b >= n else int(np.searchsorted(before, b, side="left"))
        sink = pa.BufferOutputStream()
        done = a
        for d in dirty[lo:hi]:
            if d.before > done and table is not None:
                pa_csv.write_csv(table.slice(done - a, d.before - done), sink, _CSV)
                done = d.before
            sink.write(_line_py(render(d.values)).encode("utf-8"))
        if table is not None and b > done:
            pa_csv.write_csv(table.slice(done - a, b - done), sink, _CSV)
        out.write(sink.getvalue())
    return n + len(dirty)


# =====================================================================================
# the whole run


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
    step = progress or (lambda _s: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    cat, dxs = _Catalogue(), _Dx()
    _check_word_lists(cat)

    w = _World(rg=_Regions.build(), start_day=start_day, n_days=end_day - start_day)
    step("patients")
    _build_patients(rng, w, int(patients))
    _build_cards(rng, w)
    step("facilities")
    _build_facilities(rng, w, int(patients))
    _build_doctors(rng, w)
    ch = _choosers(w)
    _assign_preferences(rng, w, ch)
    hard = None
    if difficulty == "hard":
        from graphfraud.synth.hard import HardPlanter, HardWorld

        hard = HardWorld(rng, w)
        hard.build()

    step("claims")
    bg, facts = _background(rng, w, cat, dxs, ch)
    if hard is not None:
        bg = hard.reshape(rng, bg)
        facts["hard_decoys"] = hard.decoys()
    _assign_cards_terminals(rng, w, bg)

    step("planting")
    n_bg = len(bg["pat"])
    if hard is not None:
        planter = HardPlanter(rng, w, cat, dxs, n_bg, hard, bg, facts["regulars"])
    else:
        planter = _Planter(rng, w, cat, dxs, n_base=n_bg)
    planter.plant_all(int(patients))
    claims = concat_claims([bg, planter.claims()])
    del bg
    # background claims a look-alike is built on are kept whatever cleaning says
    for idx, tag in getattr(planter, "promote", ()):
        claims["fixed"][idx], claims["tag"][idx] = True, tag
    _reroute_prescriptions(rng, claims, w, planter.reroute, getattr(planter, "reroute_share", None))
    claims = concat_claims([claims, _reversals(rng, w, claims)])

    step("cleaning")
    keep = _clean(claims, w)

    step("items")
    # background claims (kept ones included) get background lines; planted claims have their own
    background = np.arange(len(keep)) < n_bg
    base_idx = np.nonzero(keep & (~claims["fixed"] | background) & (claims["rev_of"] < 0))[0]
    del background
    items = _Items.cat([_planted_items(planter),
                        _background_items(rng, cat, claims, w, base_idx, trace_start=planter.next_trace)])
    _clean_supply(claims, keep, items, planter.overlap_ok)
    # keep what cleaning kept, in the final order: claims by settlement time (ties at random),
    # items by claim then line
    kept = np.nonzero(keep)[0]
    final = kept[_order(claims["ts"][kept] - int(claims["ts"].min()), rng.permutation(len(kept)))]
    pos = np.full(len(keep), -1, dtype=np.int64)
    pos[final] = np.arange(len(final))
    del keep, kept
    claims = _take(claims, final)
    claims["rev_of"] = np.where(claims["rev_of"] >= 0, pos[np.maximum(claims["rev_of"], 0)], -1)
    n_claims = len(final)
    del final
    items.claim = pos[items.claim].astype(np.int32)
    del pos
    lines = np.nonzero(items.claim >= 0)[0]
    items = items.take(lines[_order(items.claim[lines], items.seq[lines])])
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
    fund, account, selfpay = _split_amounts(rng, claims, w, total)
    fund[rev], account[rev], selfpay[rev] = (-x[claims["rev_of"][rev]] for x in (fund, account, selfpay))
    claim_no = 10_000_000_000 + np.cumsum(rng.integers(2, 10, n_claims))

    data = _Final(w=w, cat=cat, dx=dxs, claims=claims, items=items, total=total, fund=fund, account=account,
                  selfpay=selfpay, claim_no=claim_no, amount=amount,
                  s_codes=pa.array(cat.codes), s_names=pa.array(cat.names))
    _strings(data)
    dirty = _make_dirty(rng, data)

    mapping = get_mapping(MAPPING_ZH)
    files = {t: (mapping.file_stems(t)[1] if zh else t) + ".csv" for t in TABLES}
    counts: dict[str, int] = {}
    step("writing claims")
    for table in ("patients", "cards", "facilities", "doctors", "claims"):
        counts[table] = _write(out / files[table], table, data, dirty.get(table, []), zh, mapping)
    step("writing items")
    counts["items"] = _write(out / files["items"], "items", data, dirty.get("items", []), zh, mapping)

    truth = _truth(data, planter, facts, dirty, files, counts,
                   {"version": GENERATOR_VERSION, "seed": int(seed), "patients": int(patients), "months": int(months),
                    "start": start, "zh": bool(zh), "difficulty": difficulty})
    truth_path = out / "truth.json"
    truth_path.write_text(json.dumps(truth, ensure_ascii=False, indent=1), encoding="utf-8")
    return GenerateResult(out, truth_path, counts, time.perf_counter() - t_start)


@dataclass
class _Final:
    w: _World
    cat: _Catalogue
    dx: _Dx
    claims: Claims
    items: _Items
    total: np.ndarray
    fund: np.ndarray
    account: np.ndarray
    selfpay: np.ndarray
    claim_no: np.ndarray
    amount: np.ndarray
    # formatted strings (see ``_strings``)
    id_numbers: pa.Array = None  # type: ignore[assignment]
    s_card: pa.Array = None  # type: ignore[assignment]
    s_pat: pa.Array = None  # type: ignore[assignment]
    s_fac: pa.Array = None  # type: ignore[assignment]
    s_doc: pa.Array = None  # type: ignore[assignment]
    s_term: pa.Array = None  # type: ignore[assignment]
    s_fac_region: pa.Array = None  # type: ignore[assignment]
    s_claim: pa.Array = None  # type: ignore[assignment]
    s_dx: pa.Array = None  # type: ignore[assignment]
    s_codes: pa.Array = None  # type: ignore[assignment]
    s_names: pa.Array = None  # type: ignore[assignment]

    def claim_id(self, i: int) -> str:
        return f"S{int(self.claim_no[i])}"


# ----------------------------------------------------------------------------- rows as text


def _strings(f: _Final) -> None:
    """Id strings of every entity, made once and picked by index when rows are formatted."""
    w = f.w
    f.s_card = pc.binary_join_element_wise(pa.scalar("C"), pc.utf8_lpad(_s(w.card_no), width=10, padding="0"), "")
    f.s_pat = _ids("P", np.arange(w.n) + 1, 8)
    f.s_fac = _ids("F", np.arange(w.nf) + 1, 5)
    f.s_doc = _ids("D", np.arange(w.nd) + 1, 6)
    f.s_term = pc.binary_join_element_wise(_ids("T", w.term_fac.astype(np.int64) + 1, 5), pa.scalar("-"),
                                           _s(w.term_k.astype(np.int64) + 1), "")
    f.s_fac_region = pa.array([w.rg.codes[int(r)] for r in w.fregion])
    f.s_claim = pc.binary_join_element_wise(pa.scalar("S"), _s(f.claim_no), "")
    f.s_dx = pa.array(f.dx.codes)
    f.id_numbers = _id_numbers(w)


def _claim_columns(f: _Final, rows: np.ndarray, labels: list[str]) -> list[pa.Array]:
    """The claims ``rows`` as string columns in canonical order; ``labels`` spell claim types."""
    c = f.claims
    doc, term, dxi, rev = c["doc"][rows], c["term"][rows], c["dx"][rows], c["rev_of"][rows]
    admit, disch = c["admit"][rows], c["disch"][rows]
    fac = c["fac"][rows]
    return [
        _pick(f.s_claim, rows),
        _pick(f.s_card, c["card"][rows]),
        _pick(f.s_pat, c["pat"][rows]),
        _pick(f.s_fac, fac),
        _pick(f.s_doc, doc, doc < 0),
        _pick(pa.array(labels), c["ctype"][rows]),
        _datetimes(c["ts"][rows]),
        _dates(admit, admit < 0),
        _dates(disch, disch < 0),
        _pick(f.s_dx, dxi, dxi < 0),
        _money(f.total[rows]),
        _money(f.fund[rows]),
        _money(f.account[rows]),
        _money(f.selfpay[rows]),
        _pick(f.s_term, term, term < 0),
        _pick(f.s_fac_region, fac),
        _pick(f.s_claim, rev, rev < 0),
    ]


def _trace_strings(cat: _Catalogue, item: np.ndarray, trace: np.ndarray) -> pa.Array:
    """20-digit traceability codes: the drug's 7-digit part and a 13-digit serial that is a
    bijection of the trace group (so one group = one physical box = one code)."""
    serial = (np.maximum(trace, 0).astype(np.int64) * 7_919_113 + 1_234_567) % 10**13
    prefix = pa.array(cat.trace_prefix).take(pa.array(np.asarray(item, dtype=np.int64)))
    out = pc.binary_join_element_wise(prefix, pc.utf8_lpad(_s(serial), width=13, padding="0"), "")
    return pc.if_else(pa.array(trace < 0), pa.scalar(None, pa.string()), out)


def _item_columns(f: _Final, rows: np.ndarray, labels: list[str]) -> list[pa.Array]:
    """The items ``rows`` as string columns in canonical order; ``labels`` spell categories."""
    it, cat = f.items, f.cat
    item = it.item[rows]
    days = it.days[rows]
    return [
        _pick(f.s_claim, it.claim[rows]),
        _s(it.seq[rows] + 1),
        _pick(f.s_codes, item),
        _pick(f.s_names, item),
        _pick(pa.array(labels), cat.category[item]),
        _s(it.qty[rows]),
        _money(it.price[rows]),
        _money(f.amount[rows]),
        _s(days, mask=days < 0),
        _trace_strings(cat, item, it.trace[rows]),
    ]


def _id_numbers(w: _World) -> pa.Array:
    """18-character citizen ids: region prefix, birth date, sequence (odd = male), check."""
    region = np.array([int(c) for c in w.rg.codes], dtype=np.int64)[w.region]
    birth = np.asarray(w.birth).astype("datetime64[D]")
    y = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    mth = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (birth - birth.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    head = region * 10**11 + y * 10**7 + mth * 10**5 + d * 10**3 + w.id_seq.astype(np.int64)
    first17 = head[:, None] // 10 ** np.arange(16, -1, -1, dtype=np.int64) % 10
    check = check_chars(first17)
    if w.id_bad.any():  # a wrong check character for the flagged few
        idx = np.array([CHECK_CHARS.index(ch) for ch in check[w.id_bad]])
        shift = 1 + np.arange(int(w.id_bad.sum())) % 10
        check[w.id_bad] = np.array(list(CHECK_CHARS))[(idx + shift) % 11]
    return pc.binary_join_element_wise(pc.utf8_lpad(_s(head), width=17, padding="0"), pa.array(check), "")


def _patient_columns(f: _Final, rows: np.ndarray, sexes: list[str], insurance: list[str]) -> list[pa.Array]:
    """The patients ``rows`` as string columns in canonical order."""
    w = f.w
    nm = w.name[rows].astype(np.int64)
    male = w.sex[rows] == 0
    g_m, g_f = pa.array(W.GIVEN_MALE), pa.array(W.GIVEN_FEMALE)

    def given(col: np.ndarray) -> pa.Array:
        ok = col >= 0
        gm = g_m.take(pa.array(np.where(male & ok, col, 0)))
        gf = g_f.take(pa.array(np.where(~male & ok, col, 0)))
        return pc.if_else(pa.array(ok), pc.if_else(pa.array(male), gm, gf), pa.scalar(""))

    name = pc.binary_join_element_wise(_pick(pa.array(W.SURNAMES), nm[:, 0]), given(nm[:, 1]), given(nm[:, 2]), "")
    ad = w.addr[rows].astype(np.int64)
    address = pc.binary_join_element_wise(
        pa.scalar(W.PROVINCE_CITY), _pick(pa.array(w.rg.names), w.home[rows]),
        _pick(pa.array(W.ROADS), ad[:, 0]), _s(ad[:, 1]), pa.scalar("号"),
        _pick(pa.array(W.COMPOUNDS), ad[:, 2]), _s(ad[:, 3]), pa.scalar("栋"), _s(ad[:, 4]), pa.scalar("单元"),
        _s(ad[:, 5]), pa.scalar("室"), "")
    death = w.death[rows]
    return [
        _pick(f.s_pat, rows),
        _pick(f.id_numbers, rows),
        name,
        _pick(pa.array(sexes), w.sex[rows]),
        _dates(w.birth[rows]),
        _dates(death, death == NO_DAY),
        _s(w.phone[rows]),
        address,
        _pick(pa.array(w.rg.codes), w.region[rows]),
        _pick(pa.array(insurance), w.ins[rows]),
    ]


def _write(path: Path, table: str, f: _Final, dirty: list[_Dirty], zh: bool, mapping: Mapping) -> int:
    """Write one table (canonical or ``nhsa_zh`` spelling) with its dirty rows interleaved."""
    w = f.w
    names = TABLES[table].column_names
    heads = mapping.source_headers(table) if zh else {col: col for col in names}
    spell: dict[str, dict[str, str]] = {}  # enum column -> canonical value -> written value
    for col in TABLES[table].columns:
        if col.values:
            spell[col.name] = mapping.source_values(table, col.name) if zh else {v: v for v in col.values}

    def labels(column: str, values: tuple[str, ...]) -> list[str]:
        return [spell[column][v] for v in values]

    def render(values: list[str]) -> list[str]:
        """A dirty row's canonical values in this file's spelling."""
        if len(values) != len(names):  # malformed: fields as they are
            return values
        return [("其他" if zh else "other") if v == BAD_ENUM else spell[col].get(v, v) if col in spell else v
                for col, v in zip(names, values)]

    chunks: dict[str, tuple[int, Callable[[np.ndarray], list[pa.Array]]]] = {
        "claims": (len(f.claims["ts"]), lambda r: _claim_columns(f, r, labels("claim_type", CLAIM_TYPES))),
        "items": (len(f.items.claim), lambda r: _item_columns(f, r, labels("category", ITEM_CATEGORIES))),
        "patients": (w.n, lambda r: _patient_columns(f, r, labels("sex", ("M", "F")),
                                                     labels("insurance_type", ("employee", "resident")))),
        "cards": (len(w.card_no), lambda r: [_pick(f.s_card, r), _pick(f.s_pat, w.card_pat[r]),
                                              _pick(pa.array(labels("card_type", CARD_TYPES)), w.card_type[r]),
                                              _dates(w.card_issued[r])]),
        "facilities": (w.nf, lambda r: [
            _pick(f.s_fac, r), _pick(pa.array(w.fname), r),
            _pick(pa.array(labels("facility_type", FACILITY_TYPES)), w.ftype[r]),
            _pick(pa.array(w.flevel), r, np.array([w.flevel[i] == "" for i in r], dtype=bool)),
            _pick(f.s_fac_region, r),
            pa.array([f"{w.flat[i]:.6f}" for i in r], mask=np.isnan(w.flat[r])),
            pa.array([f"{w.flon[i]:.6f}" for i in r], mask=np.isnan(w.flon[r]))]),
        "doctors": (w.nd, lambda r: [_pick(f.s_doc, r), _pick(pa.array(w.doc_name), r),
                                      _pick(f.s_fac, w.doc_fac[r]), _pick(pa.array(w.doc_dept), r)]),
    }
    n, chunk = chunks[table]
    out = _Out(path, zh)
    try:
        return _write_table(out, [heads[col] for col in names], n, chunk, dirty, render)
    finally:
        out.close()


# ----------------------------------------------------------------------------- dirty rows


def _row_values(cols: list[pa.Array]) -> list[list[str]]:
    """Rows of formatted columns as Python lists of strings ('' for null)."""
    py = [c.to_pylist() for c in cols]
    return [["" if v is None else v for v in row] for row in zip(*py)]


def _make_dirty(rng: np.random.Generator, f: _Final) -> dict[str, list[_Dirty]]:
    """Dirty rows per table (claims, items, patients). Their templates are ordinary
    background rows: no planted claim is copied, and no dirty claim row has items."""
    c, it, w = f.claims, f.items, f.w
    n, m = len(c["ts"]), len(it.claim)
    out: dict[str, list[_Dirty]] = {"claims": [], "items": [], "patients": []}
    seq = 0
    plain = np.nonzero((c["tag"] < 0) & ~c["fixed"] & (c["rev_of"] < 0))[0]
    col = {k: i for i, k in enumerate(TABLES["claims"].column_names)}

    # claims
    if n >= 20 and len(plain) >= 20:
        per = max(1, int(round(DIRTY_SHARE * n / len(CLAIM_DIRTY_KINDS))))
        inpatient = plain[c["ctype"][plain] == INPATIENT]
        kinds = [k for k in CLAIM_DIRTY_KINDS if k != "bad_date_order" or len(inpatient)]
        plan = [(kind, j, int(src)) for kind in kinds
                for j, src in enumerate(rng.choice(inpatient if kind == "bad_date_order" else plain, size=per))]
        rows = _row_values(_claim_columns(f, np.array([p[2] for p in plan], dtype=np.int64), list(CLAIM_TYPES)))
        # fresh claim ids sit just after a clean claim's number (numbers leave gaps of at least 1)
        fresh_q = iter(rng.choice(np.arange(1, n + 1), size=min(n, len(plan)), replace=False).tolist())
        known_cards = set(w.card_no.tolist())
        for (kind, j, src), vals in zip(plan, rows):
            outcome, reason, column = "rejected", kind, None
            if kind in ("duplicate", "conflicting_duplicate"):
                q = int(rng.integers(src + 1, n + 1))  # a later line repeating the clean one
                if kind == "duplicate":
                    outcome, reason = "duplicate", None
                else:
                    column = "claim_id"
                    delta = int(rng.integers(100, 5000))
                    vals[col["total_amount"]] = _money_py(int(f.total[src]) + delta)
                    vals[col["self_amount"]] = _money_py(int(f.selfpay[src]) + delta)
            else:
                q = next(fresh_q)
                vals[col["claim_id"]] = f"S{int(f.claim_no[q - 1]) + 1}"
                if kind == "missing_required":
                    column = ("card_id", "facility_id", "settled_at", "total_amount")[j % 4]
                    vals[col[column]] = ""
                elif kind == "bad_date":
                    column = "settled_at"
                    year = vals[col[column]][:4]
                    vals[col[column]] = (f"{year}-13-45 10:00:00", "not a date", f"{year}-02-30 08:15:00")[j % 3]
                elif kind == "bad_amount":
                    column = "total_amount"
                    vals[col[column]] = ("12.345", "1,2a")[j % 2]
                elif kind == "bad_enum":
                    column = "claim_type"
                    vals[col[column]] = BAD_ENUM
                elif kind == "bad_date_order":
                    column = "discharge_date"
                    admit = int(np.datetime64(vals[col["admit_date"]], "D").astype(np.int64))
                    vals[col[column]] = _date_str(admit - int(rng.integers(1, 6)))
                elif kind == "unknown_card":
                    column = "card_id"
                    no = int(rng.integers(1_000_000_000, 9_999_999_999))
                    while no in known_cards:
                        no = int(rng.integers(1_000_000_000, 9_999_999_999))
                    vals[col[column]] = f"C{no:010d}"
                elif kind == "unknown_facility":
                    column = "facility_id"
                    vals[col[column]] = f"F{w.nf + 1000 + int(rng.integers(0, 80000)):05d}"
                elif kind == "malformed_row":  # a field missing
                    drop = int(rng.integers(1, len(vals)))
                    vals = vals[:drop] + vals[drop + 1:]
            out["claims"].append(_Dirty(q, vals, outcome, reason, column, seq))
            seq += 1

    # items: extra lines of ordinary claims (numbered after the claim's own), so rejecting
    # them leaves every claim's lines adding up to its total
    is_plain = np.zeros(n, dtype=bool)
    is_plain[plain] = True
    plain_lines = np.nonzero(is_plain[it.claim])[0]
    if m >= 20 and len(plain_lines):
        per = max(1, int(round(DIRTY_SHARE * m / len(ITEM_DIRTY_KINDS))))
        plan = [(kind, j, int(src)) for kind in ITEM_DIRTY_KINDS
                for j, src in enumerate(rng.choice(plain_lines, size=per))]
        rows = _row_values(_item_columns(f, np.array([p[2] for p in plan], dtype=np.int64), list(ITEM_CATEGORIES)))
        n_lines = np.bincount(it.claim, minlength=n)
        next_no: dict[int, int] = {}
        # an unknown claim id: one more than some claim's number (free, as numbers leave gaps),
        # and not one of the dirty claim rows' ids either
        taken = {d.values[0] for d in out["claims"] if d.values}
        for (kind, j, src), vals in zip(plan, rows):
            outcome, reason, column = "rejected", kind, None
            cl = int(it.claim[src])
            if kind == "duplicate":
                q = int(rng.integers(src + 1, m + 1))
                outcome, reason = "duplicate", None
            else:
                q = int(rng.integers(0, m + 1))
                next_no[cl] = next_no.get(cl, int(n_lines[cl])) + 1
                vals[1] = str(next_no[cl])
                if kind == "unknown_claim":
                    column = "claim_id"
                    unknown = f"S{int(f.claim_no[int(rng.integers(0, n))]) + 1}"
                    while unknown in taken:
                        unknown = f"S{int(f.claim_no[int(rng.integers(0, n))]) + 1}"
                    taken.add(unknown)
                    vals[0], vals[1] = unknown, "1"
                elif kind == "bad_amount":
                    column = "amount"
                    vals[7] = ("12.345", "1,2a")[j % 2]
                elif kind == "missing_required":
                    column = "item_code"
                    vals[2] = ""
                elif kind == "bad_number":
                    column = "quantity"
                    vals[5] = "两盒"
            out["items"].append(_Dirty(q, vals, outcome, reason, column, seq))
            seq += 1

    # patients: exact duplicate lines
    srcs = rng.choice(w.n, size=max(1, int(round(0.001 * w.n))), replace=False)
    rows = _row_values(_patient_columns(f, srcs.astype(np.int64), ["M", "F"], ["employee", "resident"]))
    for src, vals in zip(srcs, rows):
        out["patients"].append(_Dirty(int(rng.integers(int(src) + 1, w.n + 1)), vals, "duplicate", None, None, seq))
        seq += 1
    return out


# ----------------------------------------------------------------------------- truth


def _truth(f: _Final, planter: _Planter, facts: dict, dirty: dict[str, list[_Dirty]], files: dict[str, str],
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
            r["trace_codes"] = sorted(set(_trace_strings(f.cat, f.items.item[sel], f.items.trace[sel]).to_pylist()))
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
