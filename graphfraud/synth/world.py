"""The world a synthetic region happens in: constants, the catalogue of drugs and diagnoses,
districts, people, cards, facilities, doctors and where each person goes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

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


BAD_ENUM = "\x00bad_enum"  # placeholder written as "other" (en) or "其他" (zh)


class Catalogue:
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


@dataclass
class Regions:
    codes: list[str]
    names: list[str]
    lat: np.ndarray
    lon: np.ndarray
    n_local: int
    far: list[int]  # region indices of the far cities
    outside: list[int]  # region indices of outside insured regions
    weight: np.ndarray  # population share of the local ones

    @classmethod
    def build(cls) -> "Regions":
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
class World:
    """Every entity of the region as numpy arrays (index = row of its table)."""

    rg: Regions
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


def random_phones(rng: np.random.Generator, n: int) -> np.ndarray:
    prefixes = np.array(W.PHONE_PREFIXES, dtype=np.int64)
    num = _unique_ints(rng, n, 0, len(prefixes) * 100_000_000)
    return prefixes[num // 100_000_000] * 100_000_000 + num % 100_000_000


def build_patients(rng: np.random.Generator, w: World, n: int) -> None:
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

    phones = random_phones(rng, n)
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


def build_cards(rng: np.random.Generator, w: World) -> None:
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


def build_facilities(rng: np.random.Generator, w: World, n_patients: int) -> None:
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


def build_doctors(rng: np.random.Generator, w: World) -> None:
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


class Chooser:
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


def make_choosers(w: World) -> dict[int, Chooser]:
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
        out[t] = Chooser(groups, w.fweight)
    return out


def assign_preferences(rng: np.random.Generator, w: World, ch: dict[int, Chooser]) -> None:
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


def month_start_days(start_day: int, n_days: int) -> list[int]:
    out = []
    m = np.datetime64(int(start_day), "D").astype("datetime64[M]")
    while True:
        d = int(m.astype("datetime64[D]").astype(np.int64))
        if d >= start_day + n_days:
            return out
        out.append(d)
        m = m + 1


def date_str(day: int) -> str:
    return str(np.datetime64(int(day), "D"))


def lex_order(*keys: np.ndarray) -> np.ndarray:
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


def haversine_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
