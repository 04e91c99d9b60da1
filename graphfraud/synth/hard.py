"""The hard region: ``graphfraud generate --difficulty hard``.

The default region keeps its background free of every lead signature, so a detector tuned on it
never meets what real settlement data is full of. The hard region adds the legitimate
behaviour that looks like fraud, and plants fraud that hides better:

**Look-alikes** (legitimate; each listed in ``truth.json`` under ``decoys`` with the ring or
lead kind it ``mimics``, so the accuracy benchmark counts it as a false positive):

* ``routine_refill_in_stay``: a chronic patient's monthly refill at the usual pharmacy, on the
  usual cycle, collected by a relative while the patient is in hospital;
* ``household_collect_in_stay``: a household member shops at the family's pharmacy during the
  stay, on the inpatient's card and their own;
* ``hospital_pharmacy_in_stay``: a purchase at the pharmacy next to the hospital during the stay;
* ``small_buy_in_stay``: one small purchase at the family's pharmacy during the stay;
* ``rail_traveller`` / ``air_traveller``: trips by high-speed rail (250-345 km/h) and by air
  (cruise 650-850 km/h plus 100-240 minutes at both ends) between Kunming and other cities;
* ``late_settlement_after_death``: a stay that ended with the patient's death, settled days later;
* ``household_shared_supply``: one card buys a chronic drug for two people of one household;
* ``grandchild_medicine`` / ``partner_item``: a grandparent buys a child's medicine, a man buys
  his wife's item, for someone of the same household;
* ``other_condition_readmission``: readmitted within days for a different condition;
* ``mass_admission``: an accident or outbreak admits a crowd to one hospital on one or two days;
* ``chronic_ward``: a dialysis or rehabilitation ward's regulars, admitted every month on their
  own schedule, with the outpatient history of their condition;
* ``one_pharmacy_town``: rural towns with one clinic, one doctor and one pharmacy;
* ``hospital_pharmacy``: pharmacies next to hospitals, where many of the hospital's
  prescriptions are filled;
* ``member_day`` in a chain: several pharmacies of one chain hold their member day on the same date;
* ``till_rescan``: a box scanned twice at the till, minutes apart; ``placeholder_code``: one code
  scanned for every box of a product for weeks.

**Camouflaged fraud**: collected cards present on only some of the sessions, minutes apart
rather than seconds, with members joining and leaving; cohort schemes whose pool rotates month
to month, admitted over two or three days with diagnoses that vary over a small set and lengths
of stay that vary; trace-code loops through several pharmacies; steering doctors who send only
part of their prescriptions; and about fifty leads of every kind, each with its own mix of
signals (some at the holder's usual pharmacy, some a single purchase).

Everything here runs only with ``difficulty="hard"``; the default region is unchanged, byte for
byte.
"""

from __future__ import annotations

import numpy as np

from graphfraud.synth import names as W
from graphfraud.synth.background import Claims, claim_columns, concat_claims
from graphfraud.synth.planting import PlantedItem, Planter
from graphfraud.synth.world import (
    CLINIC,
    DAY,
    HOSPITAL,
    HOUR,
    INPATIENT,
    MINUTE,
    NO_DAY,
    OUTPATIENT,
    PHARMACY,
    PHARMACY_F,
    World,
    date_str,
    haversine_km,
    month_start_days,
)

#: cities a high-speed train reaches from Kunming: code, name, latitude, longitude
RAIL_CITIES = (("530302", "曲靖市麒麟区", 25.490, 103.796), ("532301", "楚雄市", 25.033, 101.546),
               ("532901", "大理市", 25.607, 100.268), ("520102", "贵阳市南明区", 26.568, 106.714))
#: cities people fly to from Kunming (the far cities of the default region, and Chengdu)
AIR_CITIES = (("510107", "成都市武侯区", 30.642, 104.043),)
#: counties whose remote towns have one clinic and one pharmacy
RURAL_COUNTIES = ("530113", "530128", "530129", "530124", "530126", "530127")
#: the small sets of diagnoses a cohort scheme bills
COHORT_DX_SETS = (("I63.9", "I63.5", "I67.8", "I69.3"), ("M54.5", "M54.4", "M51.2", "M47.8"),
                  ("I25.1", "I20.9"), ("J44.9", "J44.1"))
MASS_DX = (("A05.9", "T62.9"), ("S06.0", "S82.2", "S22.3"))
WARD_DX = (("N18.5", "Z49.1"), ("I69.3", "Z50.1"))


# =====================================================================================
# the world: facilities the default region lacks


def _append_facilities(rng: np.random.Generator, w: World, rows: list[dict]) -> list[int]:
    """Append facilities (with their doctors and terminals) to the world; returns their indices.
    Each row: ftype, region, lat, lon, name, level, far, doctors, dept, terminals."""
    first = w.nf
    n = len(rows)
    w.ftype = np.concatenate([w.ftype, np.array([r["ftype"] for r in rows], dtype=np.int8)])
    w.fregion = np.concatenate([w.fregion, np.array([r["region"] for r in rows], dtype=np.int16)])
    w.flevel = w.flevel + [r.get("level", "") for r in rows]
    w.fweight = np.concatenate([w.fweight, np.zeros(n)])  # never chosen by the background's choosers
    w.far = np.concatenate([w.far, np.array([r.get("far", False) for r in rows], dtype=bool)])
    lat = np.array([r["lat"] for r in rows], dtype=float)
    lon = np.array([r["lon"] for r in rows], dtype=float)
    w.eff_lat, w.eff_lon = np.concatenate([w.eff_lat, lat]), np.concatenate([w.eff_lon, lon])
    w.flat, w.flon = np.concatenate([w.flat, lat]), np.concatenate([w.flon, lon])
    w.fname = w.fname + [r["name"] for r in rows]
    w.nf += n
    # doctors
    docs = np.array([r.get("doctors", 0) for r in rows], dtype=np.int64)
    w.doc_start = np.concatenate([w.doc_start, w.nd + np.concatenate([[0], np.cumsum(docs)[:-1]])])
    w.doc_count = np.concatenate([w.doc_count, docs])
    w.doc_fac = np.concatenate([w.doc_fac, np.repeat(np.arange(first, first + n), docs).astype(np.int32)])
    for r, k in zip(rows, docs):
        for _ in range(int(k)):
            w.doc_dept.append(r.get("dept", "全科"))
            w.doc_name.append(W.SURNAMES[int(rng.integers(0, 60))] + W.GIVEN_MALE[int(rng.integers(0, 40))])
    w.nd += int(docs.sum())
    # terminals
    terms = np.array([r.get("terminals", 1) for r in rows], dtype=np.int64)
    total = int(w.term_count.sum())
    w.term_start = np.concatenate([w.term_start, total + np.concatenate([[0], np.cumsum(terms)[:-1]])])
    w.term_count = np.concatenate([w.term_count, terms])
    w.term_fac = np.concatenate([w.term_fac, np.repeat(np.arange(first, first + n), terms).astype(np.int32)])
    w.term_k = np.concatenate([w.term_k, np.concatenate([np.arange(int(t)) for t in terms]).astype(np.int32)])
    return list(range(first, first + n))


def _region(w: World, code: str, name: str, lat: float, lon: float) -> int:
    """The index of region ``code``, added (with coordinates) when the world lacks it."""
    rg = w.rg
    if code in rg.codes:
        i = rg.codes.index(code)
        if np.isnan(rg.lat[i]):
            rg.lat[i], rg.lon[i] = lat, lon
        return i
    rg.codes.append(code)
    rg.names.append(name)
    rg.lat = np.append(rg.lat, lat)
    rg.lon = np.append(rg.lon, lon)
    return len(rg.codes) - 1


class HardWorld:
    """What the hard region adds to the world before the background is drawn."""

    def __init__(self, rng: np.random.Generator, w: World) -> None:
        self.rng, self.w = rng, w
        self.towns: list[dict] = []  # {clinic, doctor, pharmacy, county, residents}
        self.adjacent: dict[int, int] = {}  # hospital -> the pharmacy next to it
        self.rail: list[int] = []  # facilities in cities a train reaches
        self.air: list[int] = []  # facilities in cities people fly to
        self.chain: list[int] = []  # pharmacies of one chain with a common member day
        self.chain_dom = 0
        self.new: set[int] = set()  # facilities added here (rings are not planted there)

    def build(self) -> None:
        rng, w = self.rng, self.w
        n = w.n
        # cities reached by train or plane: a hospital and a pharmacy in each
        rows, kinds = [], []
        for code, name, lat, lon in RAIL_CITIES + AIR_CITIES:
            r = _region(w, code, name, lat, lon)
            for t, suffix in ((HOSPITAL, "第一人民医院"), (PHARMACY_F, "一心堂药店")):
                rows.append({"ftype": t, "region": r, "lat": lat + rng.normal(0, 0.02), "lon": lon + rng.normal(0, 0.02),
                             "name": f"{name}{suffix}", "level": "三级甲等" if t == HOSPITAL else "", "far": True,
                             "doctors": 6 if t == HOSPITAL else 0, "dept": "内科",
                             "terminals": 3 if t == HOSPITAL else 1})
                kinds.append("rail" if (code, name, lat, lon) in RAIL_CITIES else "air")
        for f, k in zip(_append_facilities(rng, w, rows), kinds):
            (self.rail if k == "rail" else self.air).append(f)
        self.air += [int(f) for f in np.nonzero(w.far & (w.fweight > 0))[0]]  # Beijing, Shanghai, Guangzhou
        # pharmacies next to about a third of the local hospitals (100-400 m away)
        hospitals = np.nonzero((w.ftype == HOSPITAL) & ~w.far)[0]
        chosen = rng.choice(hospitals, size=max(2, len(hospitals) // 3), replace=False)
        rows = []
        for h in chosen:
            bearing = rng.uniform(0, 2 * np.pi)
            km = rng.uniform(0.1, 0.4)
            rows.append({"ftype": PHARMACY_F, "region": int(w.fregion[h]),
                         "lat": w.eff_lat[h] + km / 111.0 * np.cos(bearing),
                         "lon": w.eff_lon[h] + km / 111.0 * np.sin(bearing) / np.cos(np.radians(w.eff_lat[h])),
                         "name": f"{w.fname[h]}旁{W.PHARMACY_BRANDS[int(rng.integers(0, len(W.PHARMACY_BRANDS)))]}",
                         "terminals": 2})
        for h, f in zip(chosen, _append_facilities(rng, w, rows)):
            self.adjacent[int(h)] = f
            self.new.add(f)
        # rural towns: one clinic (one doctor) and one pharmacy, 15-35 km from the county seat
        n_towns = 3 + n // 40000
        counties = [w.rg.codes.index(c) for c in RURAL_COUNTIES][: max(1, n_towns)]
        rows, seats = [], []
        for t in range(n_towns):
            r = counties[t % len(counties)]
            bearing = rng.uniform(0, 2 * np.pi)
            km = rng.uniform(15, 35)
            lat = w.rg.lat[r] + km / 111.0 * np.cos(bearing)
            lon = w.rg.lon[r] + km / 111.0 * np.sin(bearing) / np.cos(np.radians(w.rg.lat[r]))
            town = W.STREETS[int(rng.integers(0, len(W.STREETS)))].replace("街道", "镇")
            rows.append({"ftype": CLINIC, "region": r, "lat": lat, "lon": lon, "level": "一级",
                         "name": f"{w.rg.names[r]}{town}卫生院", "doctors": 1, "dept": "全科"})
            rows.append({"ftype": PHARMACY_F, "region": r, "lat": lat + 0.002, "lon": lon + 0.002,
                         "name": f"{w.rg.names[r]}{town}便民药店"})
            seats.append(r)
        fac = _append_facilities(rng, w, rows)
        # residents: whole households of the county, about 0.4 % of the region per town
        order = np.argsort(w.hh, kind="stable")
        taken = np.zeros(n, dtype=bool)
        for t, r in enumerate(seats):
            clinic, pharmacy = fac[2 * t], fac[2 * t + 1]
            self.new.update((clinic, pharmacy))
            want = max(40, n // 250)
            cand_hh = np.unique(w.hh[(w.home == r) & ~taken & (w.region < w.rg.n_local)])
            rng.shuffle(cand_hh)
            members: list[int] = []
            for h in cand_hh:
                a, b = np.searchsorted(w.hh[order], [h, h + 1])
                members += [int(p) for p in order[a:b]]
                if len(members) >= want:
                    break
            members_a = np.array(members, dtype=np.int64)
            taken[members_a] = True
            w.pref[members_a, 1] = clinic
            w.pref[members_a, 2] = pharmacy
            self.towns.append({"clinic": clinic, "doctor": int(w.doc_start[clinic]), "pharmacy": pharmacy,
                               "county": r, "residents": members_a})
        self.town_of = np.full(n, -1, dtype=np.int64)
        for t, town in enumerate(self.towns):
            self.town_of[town["residents"]] = t
        # a chain of four pharmacies in different districts holding one member day
        local_ph = [int(f) for f in np.nonzero((w.ftype == PHARMACY_F) & ~w.far & (w.fweight > 0))[0]]
        by_region: dict[int, int] = {}
        for f in rng.permutation(local_ph):
            by_region.setdefault(int(w.fregion[f]), int(f))
        self.chain = list(by_region.values())[:4]
        self.chain_dom = int(rng.choice([6, 16, 26]))

    # ------------------------------------------------------------------ the background
    def reshape(self, rng: np.random.Generator, bg: Claims) -> Claims:
        """Route the background through the new facilities: town residents see their town's
        doctor and fill and shop at its pharmacy; prescriptions of hospitals with a pharmacy
        next door are often filled there. Adds the chain's member-day crowds."""
        w = self.w
        pat = bg["pat"]
        town = self.town_of[pat]
        in_town = town >= 0
        t_clinic = np.array([x["clinic"] for x in self.towns], dtype=np.int64)
        t_doc = np.array([x["doctor"] for x in self.towns], dtype=np.int64)
        t_ph = np.array([x["pharmacy"] for x in self.towns], dtype=np.int64)
        ti = np.maximum(town, 0)
        at_clinic = in_town & (bg["ctype"] == OUTPATIENT) & (w.ftype[bg["fac"]] == CLINIC)
        bg["fac"][at_clinic] = t_clinic[ti[at_clinic]]
        bg["doc"][at_clinic] = t_doc[ti[at_clinic]]
        doc_fac = np.where(bg["doc"] >= 0, w.doc_fac[np.maximum(bg["doc"], 0)], -1)
        fill = in_town & (bg["ctype"] == PHARMACY) & (bg["doc"] >= 0)
        clinic_fill = fill & (doc_fac >= 0) & (w.ftype[np.maximum(doc_fac, 0)] == CLINIC)
        bg["doc"][clinic_fill] = t_doc[ti[clinic_fill]]
        shop = in_town & (bg["ctype"] == PHARMACY) & ~w.far[bg["fac"]]
        move = shop & (rng.random(len(pat)) < np.where(fill, 0.95, 0.9))
        bg["fac"][move] = t_ph[ti[move]]
        # the pharmacy next to the hospital fills about half of its prescriptions
        adj = np.full(w.nf, -1, dtype=np.int64)
        for h, f in self.adjacent.items():
            adj[h] = f
        doc_fac = np.where(bg["doc"] >= 0, w.doc_fac[np.maximum(bg["doc"], 0)], -1)
        near = (bg["ctype"] == PHARMACY) & (doc_fac >= 0) & (adj[np.maximum(doc_fac, 0)] >= 0) & ~in_town
        near &= rng.random(len(pat)) < 0.5
        bg["fac"][near] = adj[doc_fac[near]]
        # the chain's member day: each store's loyal customers and passers-by, every month

        parts = [bg]
        S, D = w.start_day, w.n_days
        for f in self.chain:
            loyal = np.nonzero(w.pref[:, 2] == f)[0]
            local = np.nonzero((w.home == w.fregion[f]) & (w.death == NO_DAY))[0]
            for ms in month_start_days(S, D):
                d = ms + self.chain_dom - 1
                if d >= S + D:
                    continue
                came = loyal[rng.random(len(loyal)) < 0.5]
                if len(local):
                    came = np.unique(np.concatenate([came, rng.choice(local, size=int(rng.integers(20, 60)))]))
                came = came[w.death[came] > d]
                tt = d * DAY + 9 * HOUR + rng.integers(0, 4 * HOUR, len(came))
                parts.append(claim_columns(len(came), pat=came, fac=f, ctype=PHARMACY, ts=tt))
        return concat_claims(parts)

    def decoys(self) -> list[dict]:
        w = self.w
        out = [{"kind": "one_pharmacy_town", "mimics": "doctor_pharmacy", "entity_type": "doctor",
                "entity_ids": [w.did(t["doctor"])], "facility_ids": [w.fid(t["clinic"]), w.fid(t["pharmacy"])],
                "people": len(t["residents"])} for t in self.towns]
        out += [{"kind": "hospital_pharmacy", "mimics": "doctor_pharmacy", "entity_type": "facility",
                 "entity_ids": [w.fid(f)], "facility_ids": [w.fid(h), w.fid(f)]} for h, f in self.adjacent.items()]
        out.append({"kind": "member_day", "mimics": "card_collection", "entity_type": "facility",
                    "entity_ids": [w.fid(f) for f in self.chain], "day_of_month": self.chain_dom, "chain": True})
        return out


# =====================================================================================
# planted fraud that hides better, and the look-alikes, as fixed claims


class HardPlanter(Planter):
    """The default planter's cases, camouflaged, plus the legitimate look-alikes (``decoys``)."""

    def __init__(self, rng: np.random.Generator, w: World, cat, dx, n_base: int, hw: HardWorld, bg: Claims,
                 regulars: np.ndarray) -> None:
        super().__init__(rng, w, cat, dx, n_base)
        self.hw = hw
        self.decoys: list[dict] = []
        #: background claims kept whatever cleaning says (a look-alike is built on them): (index, tag)
        self.promote: list[tuple[int, int]] = []
        self.taken_facilities |= hw.new
        # the regulars' background refills, per patient, in time order
        refill = np.nonzero((bg["first_item"] >= 0) & (bg["ctype"] == PHARMACY))[0]
        refill = refill[np.lexsort((bg["ts"][refill], bg["pat"][refill]))]
        self.bg = bg
        self.refills: dict[int, np.ndarray] = {}
        pats = bg["pat"][refill]
        cut = np.nonzero(np.diff(pats))[0] + 1
        for chunk in np.split(refill, cut):
            if len(chunk) >= 4:
                self.refills[int(bg["pat"][chunk[0]])] = chunk
        self.regulars = np.array(sorted(self.refills), dtype=np.int64)
        order = np.argsort(w.hh, kind="stable")
        self._hh_order, self._hh_sorted = order, w.hh[order]
        self.key_drugs = [int(i) for i in cat.idx(group="key")]

    # ------------------------------------------------------------------ helpers
    def household(self, p: int) -> list[int]:
        a, b = np.searchsorted(self._hh_sorted, [self.w.hh[p], self.w.hh[p] + 1])
        return [int(x) for x in self._hh_order[a:b]]

    def free(self, p: int) -> bool:
        w = self.w
        return (not self.used[p] and w.death[p] == NO_DAY and not w.traveller[p] and w.region[p] < w.rg.n_local
                and self.hw.town_of[p] < 0)

    def pick_household(self, test) -> list[int] | None:
        """A household whose members are all free and for which ``test(members)`` holds."""
        for _ in range(3000):
            p = int(self.rng.integers(0, self.w.n))
            members = self.household(p)
            if len(members) >= 2 and all(self.free(q) for q in members) and test(members):
                self.used[members] = True
                return members
        return None

    def decoy(self, kind: str, mimics: str, tag: int, cards: list[int], **extra: object) -> None:
        self.decoys.append({"kind": kind, "mimics": mimics, "entity_type": "card",
                            "entity_ids": sorted({self.w.cid(c) for c in cards}), "_tag": tag, **extra})

    def inside(self, lo: int, hi: int) -> int:
        """A day strictly between ``lo`` and ``hi``."""
        return int(self.rng.integers(lo + 1, hi))

    def _avoid(self, p: int, ph: np.ndarray, near: int | None) -> np.ndarray:
        """Pharmacies of ``ph`` that ``p``'s household does not use and that are not next to
        facility ``near`` (a planted purchase is neither the family's nor the hospital's)."""
        w = self.w
        ph = ph[~np.isin(ph, w.pref[self.household(p), 2])]
        if near is not None:
            ph = ph[haversine_km(w.eff_lat[near], w.eff_lon[near], w.eff_lat[ph], w.eff_lon[ph]) > 2.0]
        return ph

    def far_pharmacy(self, p: int, min_km: float = 30.0, near: int | None = None) -> int:
        """A local pharmacy at least ``min_km`` from the district ``p`` lives in."""
        w = self.w
        home = int(w.home[p])
        ph = self._avoid(p, np.nonzero((w.ftype == PHARMACY_F) & ~w.far & (w.fweight > 0))[0], near)
        km = haversine_km(w.rg.lat[home], w.rg.lon[home], w.eff_lat[ph], w.eff_lon[ph])
        cand = ph[km >= min_km]
        return int(self.rng.choice(cand if len(cand) else ph))

    def other_pharmacy(self, p: int, near: int | None = None) -> int:
        """A local pharmacy of the same district that ``p``'s household does not use."""
        w = self.w
        ph = self._avoid(p, np.nonzero((w.ftype == PHARMACY_F) & ~w.far & (w.fweight > 0) & (w.fregion == w.home[p]))[0],
                         near)
        return int(self.rng.choice(ph)) if len(ph) else self.far_pharmacy(p, 10.0, near)

    def cheap_lines(self, cls: int, k: int = 1) -> list[PlantedItem]:
        cat = self.cat
        pool = [i for i in cat.idx(group="general") if cat.price[i] <= 2500]
        return [self.line(int(i), 1) for i in self.rng.choice(pool, size=k, replace=False)]

    def key_line(self, qty: int | None = None) -> PlantedItem:
        return self.line(int(self.rng.choice(self.key_drugs)), qty or int(self.rng.integers(1, 4)))

    def room(self, los: int, margin: int = 2) -> int:
        """An admission day leaving room for a stay of ``los`` days inside the period."""
        return self.S + int(self.rng.integers(margin, max(margin + 1, self.D - los - margin)))

    def admit_for_a_while(self, p: int, tag: int, hospital: int | None = None) -> tuple[int, int]:
        """An ordinary stay of 5-13 days for ``p`` (at their usual hospital by default):
        (admission day, discharge day)."""
        rng, w = self.rng, self.w
        los = int(rng.integers(5, 14))
        admit = self.room(los)
        self.stay(pat=p, card=self.card(p), fac=int(w.pref[p, 0]) if hospital is None else hospital, admit=admit,
                  los=los, dx=str(rng.choice(W.DX_ADULT_IN[:8])), tag=tag)
        return admit, admit + los

    def trip_time(self, km: float, mode: str) -> int:
        rng = self.rng
        if mode == "rail":
            return int(km / rng.uniform(250, 345) * HOUR)
        return int(km / rng.uniform(650, 850) * HOUR + rng.uniform(100, 240) * MINUTE)

    def km(self, fa: int, fb: int) -> float:
        w = self.w
        return float(haversine_km(w.eff_lat[fa], w.eff_lon[fa], w.eff_lat[fb], w.eff_lon[fb]))

    # ------------------------------------------------------------------ camouflaged rings
    def card_collection(self, k: int) -> None:
        """Collected cards swiped minutes apart, only some of them each session, members joining
        and leaving over the months; their holders keep shopping where they always do."""
        rng, w, cat = self.rng, self.w, self.cat
        tag = self.tag()
        f = self.local(PHARMACY_F, exclude=self.taken_facilities)
        self.taken_facilities.add(f)
        term = self.term(f)
        pats = self.pick(k, ages=[(60, 88) if rng.random() < 0.75 else (30, 60) for _ in range(k)])
        cards = [self.card(p) for p in pats]
        # a card takes part from its first to its last month (most the whole time)
        months = max(1, self.D // 30)
        start = np.where(rng.random(k) < 0.7, 0, rng.integers(0, max(1, months // 2), k))
        stop = np.where(rng.random(k) < 0.7, months, rng.integers(max(1, months // 2), months + 1, k))
        collect = cat.idx(group="collect")
        drugs = rng.choice(collect, size=min(3, len(collect)), replace=False)
        presence = rng.uniform(0.45, 0.8)
        used_cards = set()
        for day in self.spread_days(int(rng.integers(8, 25))):
            m = (day - self.S) // 30
            active = [j for j in range(k) if start[j] <= m < max(stop[j], start[j] + 1) and rng.random() < presence]
            t = self.ts(day, (9, 18))
            for j in rng.permutation(active):
                t += int(rng.integers(20, 180))
                lines = [self.line(int(drugs[int(rng.integers(0, len(drugs)))]), int(rng.integers(1, 4)))]
                self.claim(pat=pats[j], card=cards[j], fac=f, ctype=PHARMACY, ts=t, tag=tag, term=term, items=lines)
                used_cards.add(cards[j])
        members = [self.member("card", w.cid(c), "collected card") for c in cards if c in used_cards]
        members += [self.member("facility", w.fid(f), "collector pharmacy"),
                    self.member("terminal", w.tid(term), "terminal")]
        self.add_ring("card_collection", tag, len(members) - 2, members)

    def cohort_admission(self, k: int) -> None:
        """A recruiter's pool rotating through monthly rounds: each round admits part of the pool
        over two or three days, billing diagnoses from a small set, stays of varying length."""
        rng, w = self.rng, self.w
        tag = self.tag()
        levels = np.array([lv.startswith(("一级", "二级")) for lv in w.flevel])
        cand = np.nonzero((w.ftype == HOSPITAL) & ~w.far & levels & (w.doc_count >= 2))[0]
        cand = np.setdiff1d(cand, np.fromiter(self.taken_facilities, dtype=np.int64))
        f = int(rng.choice(cand)) if len(cand) else self.local(HOSPITAL)
        self.taken_facilities.add(f)
        docs = [self.ring_doctor(f) for _ in range(int(rng.integers(1, 3)))]
        dx_set = COHORT_DX_SETS[int(rng.integers(0, len(COHORT_DX_SETS)))]
        pats = self.pick(k, ages=[(50, 88) if rng.random() < 0.8 else (30, 50) for _ in range(k)])
        cards = [self.card(p) for p in pats]
        recruit = self.fresh_phone()
        with_phone = [p for p in pats if rng.random() < 0.35] or pats[:2]
        for p in with_phone:
            self.set_phone(p, recruit)
        months = month_start_days(self.S, self.D)
        n_rounds = min(len(months), int(rng.integers(4, 9)))
        rounds = sorted(int(r) for r in rng.choice(len(months), size=n_rounds, replace=False))
        share = rng.uniform(0.45, 0.75)
        base_los = int(rng.integers(5, 10))
        # every member takes part in at least two rounds
        forced = [set(int(x) for x in rng.choice(n_rounds, size=min(2, n_rounds), replace=False)) for _ in range(k)]
        admitted = set()
        for ri, r in enumerate(rounds):
            d0 = months[r] + int(rng.integers(2, 12))
            for j, (p, c) in enumerate(zip(pats, cards)):
                if ri not in forced[j] and rng.random() > share:
                    continue
                admit = d0 + int(rng.integers(0, 3))
                los = max(2, base_los + int(rng.integers(-2, 3)))
                if admit < self.S or admit + los >= self.S + self.D:
                    continue
                self.stay(pat=p, card=c, fac=f, admit=admit, los=los, dx=str(rng.choice(dx_set)), tag=tag,
                          doc=docs[int(rng.integers(0, len(docs)))])
                admitted.add(c)
        members = [self.member("card", w.cid(c), "admitted card") for c in cards if c in admitted]
        members += [self.member("facility", w.fid(f), "admitting hospital")]
        members += [self.member("doctor", w.did(d), "attending doctor") for d in dict.fromkeys(docs)]
        members += [self.member("phone", str(recruit), "recruiter phone")]
        members += [self.member("patient", w.pid(p), "phone holder") for p in with_phone]
        self.add_ring("cohort_admission", tag, len(admitted), members, diagnosis_code=dx_set[0],
                      diagnosis_codes=list(dx_set))
        self.ring_patients += pats

    def trace_code_reuse(self, k: int) -> None:
        """A loop of boxes through two to four pharmacies: a box sold on one card comes back
        and is sold again, elsewhere, on another card, sometimes twice."""
        rng, w, cat = self.rng, self.w, self.cat
        tag = self.tag()
        n_ph = int(rng.integers(2, 5))
        pharmacies = []
        for _ in range(n_ph):
            ph = self.local(PHARMACY_F, exclude=self.taken_facilities | set(pharmacies))
            pharmacies.append(ph)
        self.taken_facilities.update(pharmacies)
        pats = self.pick(k, min_age=20, max_age=85)
        cards = [self.card(p) for p in pats]
        drugs = [int(d) for d in rng.permutation(np.concatenate([cat.idx(group="general"), cat.chronic("I10"),
                                                                 cat.chronic("E78.5")])) if cat.pack_days[d] <= 28]
        n_codes = max(3, int(k * rng.uniform(0.6, 1.2)))
        unused = [int(x) for x in rng.permutation(k)]
        codes = []
        for j in range(n_codes):
            item = drugs[j % len(drugs)]
            grp = self.new_trace()
            n_uses = int(rng.integers(2, 5))
            first = unused[:n_uses]
            unused = unused[n_uses:]
            uses = first + [int(x) for x in rng.permutation(k) if x not in first][: n_uses - len(first)]
            days = self.spread_days(len(uses))
            for u, (day, ci) in enumerate(zip(days, uses)):
                line = self.line(item, 1)
                line.trace = grp
                # the first sale anywhere in the loop; each resale at another of its pharmacies
                ph = pharmacies[int(rng.integers(0, n_ph))] if u == 0 else pharmacies[(j + u) % n_ph]
                self.claim(pat=pats[ci], card=cards[ci], fac=ph, ctype=PHARMACY, ts=self.ts(day, (9, 21)), tag=tag,
                           items=[line])
            codes.append(grp)
        members = [self.member("facility", w.fid(ph), "recycling pharmacy") for ph in pharmacies]
        members += [self.member("card", w.cid(c), "card") for c in cards]
        self.add_ring("trace_code_reuse", tag, k, members, _trace_groups=codes)
        self.ring_patients += pats

    # ------------------------------------------------------------------ leads, several ways each
    def after_death(self, v: int = 0) -> None:
        rng, w = self.rng, self.w
        p = self.pick(1, min_age=60, max_age=95)[0]
        lo = max(1, self.D // 5)
        death = self.S + int(rng.integers(lo, max(lo + 1, self.D - 40)))
        w.death[p] = death
        c = self.card(p, prefer_ev=rng.random() < 0.3)
        tag = self.tag()
        if v % 3 == 0:  # a few pharmacy purchases in the days after
            days = sorted({death + int(x) for x in rng.integers(1, 8, int(rng.integers(1, 4)))})
        elif v % 3 == 1:  # the card goes on being used for weeks
            days = sorted({death + int(x) for x in rng.integers(3, 40, int(rng.integers(3, 7)))})
        else:  # one purchase, weeks later
            days = [death + int(rng.integers(10, 40))]
        for day in days:
            if day >= self.S + self.D:
                continue
            f = int(w.pref[p, 2]) if rng.random() < 0.6 else self.other_pharmacy(p)
            lines = self.random_lines(PHARMACY, int(w.cls[p])) if rng.random() < 0.7 else [self.key_line()]
            self.claim(pat=p, card=c, fac=f, ctype=PHARMACY, ts=self.ts(day, (9, 20)), tag=tag, items=lines)
        self.add_lead("after_death", tag, c, death_date=date_str(death))

    def impossible_travel(self, v: int = 0) -> None:
        rng, w = self.rng, self.w
        p = self.pick(1, min_age=20, max_age=80)[0]
        c = self.card(p, prefer_ev=rng.random() < 0.5)
        tag = self.tag()
        loc = int(w.pref[p, 2])
        if np.isnan(w.flat[loc]):
            loc = int(rng.choice(np.nonzero((w.ftype == PHARMACY_F) & ~w.far & ~np.isnan(w.flat) & (w.fweight > 0))[0]))
        near_rail = [f for f in self.hw.rail if 120 <= self.km(loc, f) < 300]
        if v % 3 == 0 or not near_rail:  # a far city within the hour or two
            far_f = int(rng.choice([f for f in self.hw.air if self.km(loc, f) > 1500] or self.hw.air))
            gap = int(rng.integers(20, 111)) * MINUTE
        elif v % 3 == 1:  # a city a train takes half an hour to, minutes later
            far_f = int(rng.choice(near_rail))
            gap = int(rng.integers(4, 13)) * MINUTE
        else:  # a city two hours away by train, a quarter of an hour later
            far_f = int(rng.choice([f for f in self.hw.rail + self.hw.air if 300 < self.km(loc, f) < 800]
                                   or self.hw.air))
            gap = int(rng.integers(10, 26)) * MINUTE
        trips = 1 if rng.random() < 0.7 else int(rng.integers(2, 4))
        for day in self.spread_days(trips):
            t1 = self.ts(day, (9, 17))
            first, second = (loc, far_f) if rng.random() < 0.5 else (far_f, loc)
            for f, t in ((first, t1), (second, t1 + gap)):
                is_h = w.ftype[f] == HOSPITAL
                ctype = OUTPATIENT if is_h else PHARMACY
                lines = (self.random_lines(ctype, int(w.cls[p])) if is_h or f == loc or rng.random() < 0.5
                         else [self.key_line()])
                self.claim(pat=p, card=c, fac=f, ctype=ctype, ts=t, tag=tag, doc=self.doctor_at(f) if is_h else -1,
                           dx="J06.9" if is_h else None, items=lines)
        self.add_lead("impossible_travel", tag, c)

    def used_while_inpatient(self, v: int = 0) -> None:
        rng, w = self.rng, self.w
        p = self.pick(1, min_age=25, max_age=85)[0]
        tag = self.tag()
        c = self.card(p, prefer_ev=rng.random() < 0.4)
        stays = 1 if v % 5 != 2 else int(rng.integers(2, 4))
        months = month_start_days(self.S, self.D)
        for s in range(stays):
            los = int(rng.integers(6, 15))
            if stays == 1:
                admit = self.room(los)
            else:
                m = months[min(len(months) - 1, s * max(1, len(months) // stays))]
                admit = min(m + int(rng.integers(0, 10)), self.S + self.D - los - 2)
            h = int(w.pref[p, 0]) if rng.random() < 0.6 else self.local(HOSPITAL)
            self.stay(pat=p, card=self.card(p), fac=h, admit=admit, los=los, dx=str(rng.choice(W.DX_ADULT_IN[:8])),
                      tag=tag)
            if v % 5 == 0:  # a key drug far from home
                hits = [(self.far_pharmacy(p, near=h), [self.key_line()])]
            elif v % 5 == 1:  # several purchases over the stay at pharmacies the holder never uses
                hits = [(self.other_pharmacy(p, h), self.random_lines(PHARMACY, int(w.cls[p])) + [self.key_line(1)]
                         if rng.random() < 0.3 else self.random_lines(PHARMACY, int(w.cls[p])))
                        for _ in range(int(rng.integers(3, 6)))]
            elif v % 5 == 2:  # at every stay, the card is used elsewhere
                hits = [(self.other_pharmacy(p, h), self.random_lines(PHARMACY, int(w.cls[p])) + [self.key_line(1)])]
            elif v % 5 == 3:  # at the usual pharmacy, but a high-value drug the holder never bought
                hits = [(int(w.pref[p, 2]), [self.key_line(int(rng.integers(2, 4)))])]
            else:  # an outpatient visit in another district, and its prescription filled
                f = self.local(CLINIC if rng.random() < 0.5 else HOSPITAL, exclude=[h, int(w.pref[p, 0]), int(w.pref[p, 1])])
                hits = [(f, self.random_lines(OUTPATIENT, int(w.cls[p]))), (self.far_pharmacy(p, near=h), [self.key_line()])]
            days = sorted(self.inside(admit, admit + los) for _ in hits)
            for day, (f, lines) in zip(days, hits):
                is_care = w.ftype[f] != PHARMACY_F
                self.claim(pat=p, card=c, fac=f, ctype=OUTPATIENT if is_care else PHARMACY, ts=self.ts(day, (9, 20)),
                           tag=tag, doc=self.doctor_at(f) if is_care else -1, dx="M54.5" if is_care else None,
                           items=lines)
        self.add_lead("used_while_inpatient", tag, c)

    def overlapping_supply(self, v: int = 0) -> None:
        rng, w, cat = self.rng, self.w, self.cat
        p = self.pick(1, min_age=40, max_age=85)[0]
        c = self.card(p)
        tag = self.tag()
        if v % 3 == 2:
            drug = int(rng.choice([i for i in self.key_drugs if cat.pack_days[i] > 0]))
            dxc = "E11.9"
        else:
            dxc = str(rng.choice([x for x, _ in W.CHRONIC]))
            drug = int(rng.choice(cat.chronic(dxc)))
        shops = [int(w.pref[p, 2])] if v % 3 == 0 else [int(w.pref[p, 2]), self.other_pharmacy(p),
                                                         self.far_pharmacy(p, 10.0)]
        day = self.S + int(rng.integers(0, 20))
        n = 0
        step = (5, 12) if v % 3 == 0 else (8, 16)
        while day < self.S + self.D and n < 14:
            self.claim(pat=p, card=c, fac=shops[n % len(shops)], ctype=PHARMACY, ts=self.ts(day, (9, 20)), tag=tag,
                       dx=dxc, items=[self.line(drug, int(rng.integers(1, 3)))])
            day += int(rng.integers(*step))
            n += 1
        self.add_lead("overlapping_supply", tag, c, drug=cat.codes[drug])
        self.overlap_ok[p] = True

    def split_admission(self, v: int = 0) -> None:
        rng, w = self.rng, self.w
        p = self.pick(1, min_age=40, max_age=90)[0]
        c = self.card(p)
        tag = self.tag()
        h = self.local(HOSPITAL)
        dxc = str(rng.choice(W.DX_ADULT_IN[:8]))
        doc = self.doctor_at(h)
        n_stays = 2 if v % 3 else 3
        los = [int(rng.integers(4, 10)) for _ in range(n_stays)]
        gaps = [int(rng.integers(0, 4)) for _ in range(n_stays - 1)]
        admit = self.S + int(rng.integers(0, max(1, self.D - sum(los) - sum(gaps) - 2)))
        for i in range(n_stays):
            self.stay(pat=p, card=c, fac=h, admit=admit, los=los[i], dx=dxc, tag=tag, doc=doc)
            if i < n_stays - 1:
                admit += los[i] + gaps[i]
        self.add_lead("split_admission", tag, c)

    def duplicate_claim(self, v: int = 0) -> None:
        rng, w = self.rng, self.w
        p = self.pick(1, min_age=20, max_age=85)[0]
        c = self.card(p, prefer_ev=rng.random() < 0.3)
        tag = self.tag()
        out = v % 2 == 0
        f = int(w.pref[p, 0] if out else w.pref[p, 2])
        ctype = OUTPATIENT if out else PHARMACY
        doc = self.doctor_at(f) if out else -1
        for day in self.spread_days(1 if v % 3 else 2):
            lines = self.random_lines(ctype, int(w.cls[p]))
            for ln in lines:
                ln.trace, ln.days = -1, -1
            t = self.ts(day, (9, 17))
            term = self.term(f)
            dxc = "J06.9" if out else None
            self.claim(pat=p, card=c, fac=f, ctype=ctype, ts=t, tag=tag, doc=doc, dx=dxc, term=term, items=lines)
            dup = [PlantedItem(x.item, x.qty, x.price, x.days, -1) for x in lines]
            self.claim(pat=p, card=c, fac=f, ctype=ctype, ts=t + int(rng.integers(0, 120)), tag=tag, doc=doc, dx=dxc,
                       term=term, items=dup)
        self.add_lead("duplicate_claim", tag, c)

    def demographic_mismatch(self, variant: int) -> None:
        """As the default, but the holder's household holds nobody the item would fit (a child,
        a woman, a man): a grandparent buying a child's medicine is a look-alike, not a lead."""
        rng, w, cat = self.rng, self.w, self.cat
        v = variant % 4
        for _ in range(200):
            if v == 0:
                p = self.pick(1, min_age=25, max_age=70, sex=0)[0]
            elif v == 1:
                p = self.pick(1, min_age=30, max_age=80, sex=1)[0]
            elif v == 2:
                p = self.pick(1, min_age=70, max_age=96)[0]
            else:
                p = self.pick(1, min_age=25, max_age=75, sex=0)[0]
            others = [q for q in self.household(p) if q != p]
            fits = {1: lambda q: w.sex[q] == 0 and w.age[q] >= 18, 2: lambda q: w.age[q] < 14,
                    3: lambda q: w.sex[q] == 1 and w.age[q] >= 14}.get(v)
            if fits is None or not any(fits(q) for q in others):
                break
        tag = self.tag()
        c = self.card(p)
        day = self.S + int(rng.integers(0, self.D))
        if v == 0:
            f = int(w.pref[p, 0])
            self.claim(pat=p, card=c, fac=f, ctype=OUTPATIENT, ts=self.ts(day, (8, 17)), tag=tag, doc=self.doctor_at(f),
                       dx=str(rng.choice(["O26.9", "O21.0"])), items=self.random_lines(OUTPATIENT, 1))
            reason = "pregnancy diagnosis for a man"
        else:
            group = {1: "male", 2: "child", 3: "female"}[v]
            it = int(rng.choice(cat.idx(group=group)))
            self.claim(pat=p, card=c, fac=int(w.pref[p, 2]), ctype=PHARMACY, ts=self.ts(day), tag=tag,
                       items=[self.line(it, 1, days=False)])
            reason = {1: "prostate drug for a woman", 2: "paediatric drug for an old person",
                      3: "women's item for a man"}[v]
        self.add_lead("demographic_mismatch", tag, c, detail=reason)

    # ------------------------------------------------------------------ look-alikes of leads
    def routine_refill_in_stay(self) -> None:
        """A regular's refill, due while they are in hospital, collected at the usual pharmacy."""
        rng, w = self.rng, self.w
        if not len(self.regulars):  # a short period: nobody has refilled often enough yet
            return
        for _ in range(200):
            p = int(rng.choice(self.regulars))
            if not self.free(p):
                continue
            refills = self.refills[p]
            j = int(rng.integers(2, len(refills)))
            r = int(self.bg["ts"][refills[j]] // DAY)
            before, after = int(rng.integers(2, 6)), int(rng.integers(2, 7))
            admit, disch = r - before, r + after
            if admit <= self.S or disch >= self.S + self.D - 1:
                continue
            break
        else:
            return
        self.used[p] = True
        tag = self.tag()
        self.stay(pat=p, card=self.card(p), fac=int(w.pref[p, 0]), admit=admit, los=disch - admit,
                  dx=str(rng.choice(W.DX_ADULT_IN[:8])), tag=tag)
        self.promote.append((int(refills[j]), tag))
        self.decoy("routine_refill_in_stay", "used_while_inpatient", tag, [int(self.bg["card"][refills[j]])])

    def household_collect_in_stay(self) -> None:
        """During a stay, a household member shops at the family's pharmacy on the inpatient's
        card and on their own."""
        rng, w = self.rng, self.w
        members = self.pick_household(lambda m: any(w.age[q] >= 18 for q in m))
        if members is None:
            return
        p = int(rng.choice(members))
        q = int(rng.choice([x for x in members if x != p and w.age[x] >= 14] or [x for x in members if x != p]))
        tag = self.tag()
        admit, disch = self.admit_for_a_while(p, tag)
        c = self.card(p, prefer_ev=rng.random() < 0.3)
        ph = int(w.pref[p, 2])
        for day in sorted({self.inside(admit, disch) for _ in range(int(rng.integers(1, 3)))}):
            t = self.ts(day, (9, 20))
            self.claim(pat=p, card=c, fac=ph, ctype=PHARMACY, ts=t, tag=tag,
                       items=self.random_lines(PHARMACY, int(w.cls[p])))
            self.claim(pat=q, card=self.card(q), fac=ph, ctype=PHARMACY, ts=t + int(rng.integers(2, 15)) * MINUTE,
                       tag=tag, items=self.random_lines(PHARMACY, int(w.cls[q])))
        self.decoy("household_collect_in_stay", "used_while_inpatient", tag, [c])

    def hospital_pharmacy_in_stay(self) -> None:
        """A purchase at the pharmacy next to the hospital, during the stay."""
        rng, w = self.rng, self.w
        if not self.hw.adjacent:
            return
        h = int(rng.choice(list(self.hw.adjacent)))
        ph = self.hw.adjacent[h]
        p = self.pick(1, min_age=25, max_age=88)[0]
        tag = self.tag()
        admit, disch = self.admit_for_a_while(p, tag, h)
        c = self.card(p, prefer_ev=rng.random() < 0.3)
        for day in sorted({self.inside(admit, disch) for _ in range(int(rng.integers(1, 3)))}):
            lines = self.cheap_lines(int(w.cls[p]), int(rng.integers(1, 3)))
            doc = self.doctor_at(h) if rng.random() < 0.4 else -1
            self.claim(pat=p, card=c, fac=ph, ctype=PHARMACY, ts=self.ts(day, (9, 20)), tag=tag, doc=doc, items=lines)
        self.decoy("hospital_pharmacy_in_stay", "used_while_inpatient", tag, [c])

    def small_buy_in_stay(self) -> None:
        """One small purchase at the family's usual pharmacy during a stay."""
        rng, w = self.rng, self.w
        p = self.pick(1, min_age=25, max_age=88)[0]
        tag = self.tag()
        admit, disch = self.admit_for_a_while(p, tag)
        c = self.card(p, prefer_ev=rng.random() < 0.3)
        self.claim(pat=p, card=c, fac=int(w.pref[p, 2]), ctype=PHARMACY, ts=self.ts(self.inside(admit, disch)),
                   tag=tag, items=self.cheap_lines(int(w.cls[p])))
        self.decoy("small_buy_in_stay", "used_while_inpatient", tag, [c])

    def traveller(self, mode: str) -> None:
        """Trips between Kunming and another city by high-speed rail or by air, a claim at each end."""
        rng, w = self.rng, self.w
        p = self.pick(1, min_age=20, max_age=75)[0]
        tag = self.tag()
        c = self.card(p, prefer_ev=rng.random() < 0.5)
        home = int(w.pref[p, 2]) if rng.random() < 0.6 else int(w.pref[p, 0])
        cities = [f for f in (self.hw.rail if mode == "rail" else self.hw.air) if self.km(home, f) >= 100]
        if not cities:
            return
        for day in self.spread_days(int(rng.integers(1, 4)), hi=self.D - 2):
            away = int(rng.choice(cities))
            t1 = self.ts(day, (7, 15))
            first, second = (home, away) if rng.random() < 0.5 else (away, home)
            t2 = t1 + self.trip_time(self.km(home, away), mode)
            for f, t in ((first, t1), (second, t2)):
                is_h = w.ftype[f] == HOSPITAL
                ctype = OUTPATIENT if is_h else PHARMACY
                self.claim(pat=p, card=c, fac=f, ctype=ctype, ts=t, tag=tag, doc=self.doctor_at(f) if is_h else -1,
                           dx="J06.9" if is_h else None, items=self.random_lines(ctype, int(w.cls[p])))
        self.decoy(f"{mode}_traveller", "impossible_travel", tag, [c])

    def late_settlement_after_death(self) -> None:
        """A stay that ended with the patient's death, settled one to five days later."""
        rng, w = self.rng, self.w
        p = self.pick(1, min_age=65, max_age=95)[0]
        los = int(rng.integers(3, 13))
        death = self.room(los + 6) + los
        w.death[p] = death
        tag = self.tag()
        c = self.card(p)
        f = int(w.pref[p, 0])
        self.claim(pat=p, card=c, fac=f, ctype=INPATIENT, ts=self.ts(death + int(rng.integers(1, 6)), (9, 17)), tag=tag,
                   doc=self.doctor_at(f), admit=death - los, disch=death, dx=str(rng.choice(["I63.9", "I50.9", "J18.9"])),
                   items=self.random_lines(INPATIENT, int(w.cls[p]), los))
        self.decoy("late_settlement_after_death", "after_death", tag, [c])

    def household_shared_supply(self) -> None:
        """Two people of one household on the same chronic drug: for months one card buys for both."""
        rng, w, cat = self.rng, self.w, self.cat
        members = self.pick_household(lambda m: sum(w.age[q] >= 40 for q in m) >= 2)
        if members is None:
            return
        a, b = [q for q in members if w.age[q] >= 40][:2]
        tag = self.tag()
        dxc = str(rng.choice([x for x, _ in W.CHRONIC]))
        drug = int(rng.choice([i for i in cat.chronic(dxc) if cat.pack_days[i] > 0]))
        pack = int(cat.pack_days[drug])
        ph = int(w.pref[a, 2])
        switch = self.S + int(rng.integers(60, max(61, self.D // 2)))
        day = self.S + int(rng.integers(0, 20))
        while day < self.S + self.D:  # b's own refills until the switch, then a buys for both
            if day < switch:
                self.claim(pat=b, card=self.card(b), fac=ph, ctype=PHARMACY, ts=self.ts(day), tag=tag, dx=dxc,
                           items=[self.line(drug, 1)])
            else:
                self.claim(pat=a, card=self.card(a), fac=ph, ctype=PHARMACY, ts=self.ts(day), tag=tag, dx=dxc,
                           items=[self.line(drug, 2)])
            day += pack + int(rng.integers(0, 4))
        self.overlap_ok[a] = True
        self.decoy("household_shared_supply", "overlapping_supply", tag, [self.card(a)])

    def household_item(self, kind: str) -> None:
        """A grandparent buys a child's medicine, or a man his wife's item, on their own card."""
        rng, w, cat = self.rng, self.w, self.cat
        if kind == "grandchild_medicine":
            members = self.pick_household(lambda m: any(w.age[q] < 14 for q in m) and any(w.age[q] >= 60 for q in m))
            buyer = lambda m: [q for q in m if w.age[q] >= 60]  # noqa: E731
            group = "child"
        else:
            members = self.pick_household(lambda m: any(w.sex[q] == 0 and w.age[q] >= 25 for q in m)
                                          and any(w.sex[q] == 1 and 18 <= w.age[q] < 55 for q in m))
            buyer = lambda m: [q for q in m if w.sex[q] == 0 and w.age[q] >= 25]  # noqa: E731
            group = "female"
        if members is None:
            return
        p = int(rng.choice(buyer(members)))
        tag = self.tag()
        c = self.card(p)
        for day in self.spread_days(int(rng.integers(1, 3))):
            it = int(rng.choice(cat.idx(group=group)))
            self.claim(pat=p, card=c, fac=int(w.pref[p, 2]), ctype=PHARMACY, ts=self.ts(day), tag=tag,
                       items=[self.line(it, 1, days=False)])
        self.decoy(kind, "demographic_mismatch", tag, [c])

    def other_condition_readmission(self) -> None:
        """Discharged after one condition, readmitted within days for another, by another doctor."""
        rng, w = self.rng, self.w
        p = self.pick(1, min_age=45, max_age=90)[0]
        c = self.card(p)
        tag = self.tag()
        h = self.local(HOSPITAL, min_docs=4)
        d1 = self.doctor_at(h)
        d2 = next(d for d in (self.doctor_at(h) for _ in range(20)) if d != d1) if w.doc_count[h] > 1 else d1
        los1, gap, los2 = int(rng.integers(4, 10)), int(rng.integers(0, 4)), int(rng.integers(3, 9))
        admit = self.room(los1 + gap + los2)
        first, second = [("S82.2", "J18.0"), ("K80.2", "I50.9"), ("M17.1", "J18.9"), ("H25.9", "I63.9")][
            int(rng.integers(0, 4))]
        self.stay(pat=p, card=c, fac=h, admit=admit, los=los1, dx=first, tag=tag, doc=d1)
        self.stay(pat=p, card=c, fac=h, admit=admit + los1 + gap, los=los2, dx=second, tag=tag, doc=d2)
        self.decoy("other_condition_readmission", "split_admission", tag, [c])

    def till_rescan(self) -> None:
        """A box scanned twice at the till: the same code on two sales minutes apart (the next
        customer's, or the same one's)."""
        rng, w = self.rng, self.w
        ph = self.local(PHARMACY_F)
        a, b = self.pick(2, min_age=20, max_age=85)
        item = int(rng.choice(self.cat.idx(group="general")))
        grp = self.new_trace()
        tag = self.tag()
        t = self.ts(self.S + int(rng.integers(0, self.D)), (9, 19))
        cards = [self.card(a), self.card(b) if rng.random() < 0.7 else self.card(a)]
        for pat, card, dt_ in ((a, cards[0], 0), (b if cards[1] != cards[0] else a, cards[1],
                                                  int(rng.integers(1, 15)) * MINUTE)):
            line = self.line(item, 1)
            line.trace = grp
            self.claim(pat=pat, card=card, fac=ph, ctype=PHARMACY, ts=t + dt_, tag=tag, items=[line])
        self.decoys.append({"kind": "till_rescan", "mimics": "trace_code_reuse", "entity_type": "facility",
                            "entity_ids": [w.fid(ph)], "cards": sorted({w.cid(c) for c in cards}), "_tag": tag})

    def placeholder_code(self) -> None:
        """A pharmacy that scans one code for every box of a product for weeks (a placeholder,
        not a box): the same code on dozens of sales to different people."""
        rng, w = self.rng, self.w
        ph = self.local(PHARMACY_F)
        item = int(rng.choice(self.cat.idx(group="general")))
        grp = self.new_trace()
        tag = self.tag()
        pats = self.pick(int(rng.integers(20, 40)), min_age=20, max_age=85)
        start = self.S + int(rng.integers(0, max(1, self.D - 60)))
        cards = []
        for p in pats:
            line = self.line(item, 1)
            line.trace = grp
            c = self.card(p)
            cards.append(c)
            self.claim(pat=p, card=c, fac=ph, ctype=PHARMACY, ts=self.ts(start + int(rng.integers(0, 60))), tag=tag,
                       items=[line])
        self.decoys.append({"kind": "placeholder_code", "mimics": "trace_code_reuse", "entity_type": "facility",
                            "entity_ids": [w.fid(ph)], "cards": sorted({w.cid(c) for c in cards}), "_tag": tag})

    # ------------------------------------------------------------------ look-alikes of rings
    def mass_admission(self) -> None:
        """An accident or an outbreak: a crowd admitted to one hospital on one or two days."""
        rng, w = self.rng, self.w
        h = self.local(HOSPITAL, exclude=self.taken_facilities, min_docs=4)
        k = int(rng.integers(12, 36))
        pats = self.pick(k, ages=[(5, 80)] * k)
        dx_set = MASS_DX[int(rng.integers(0, len(MASS_DX)))]
        day = self.room(12)
        tag = self.tag()
        cards = []
        for p in pats:
            c = self.card(p)
            cards.append(c)
            self.stay(pat=p, card=c, fac=h, admit=day + int(rng.integers(0, 2)), los=int(rng.integers(2, 9)),
                      dx=str(rng.choice(dx_set)), tag=tag)
        self.decoys.append({"kind": "mass_admission", "mimics": "cohort_admission", "entity_type": "card",
                            "entity_ids": sorted(w.cid(c) for c in cards), "facility_ids": [w.fid(h)], "_tag": tag})

    def chronic_ward(self) -> None:
        """A dialysis or rehabilitation ward's regulars: each admitted every month on their own
        schedule, with outpatient visits for their condition in between."""
        rng, w = self.rng, self.w
        h = self.local(HOSPITAL, exclude=self.taken_facilities, min_docs=3)
        self.taken_facilities.add(h)
        docs = [self.ring_doctor(h) for _ in range(2)]
        dx_main, dx_stay = WARD_DX[int(rng.integers(0, len(WARD_DX)))]
        k = int(rng.integers(8, 21))
        pats = self.pick(k, ages=[(45, 85)] * k)
        months = month_start_days(self.S, self.D)
        ward_day = int(rng.integers(3, 18))
        tag = self.tag()
        cards = []
        for p in pats:
            c = self.card(p)
            cards.append(c)
            phase = ward_day + int(rng.choice([0, 0, 1, 2, 7, 8]))
            los = int(rng.integers(3, 6))
            stays = []
            for m in months[1:]:
                admit = m + phase + int(rng.integers(-1, 2))
                if rng.random() < 0.9 and admit + los < self.S + self.D - 1:
                    self.stay(pat=p, card=c, fac=h, admit=admit, los=los, dx=dx_stay, tag=tag,
                              doc=docs[int(rng.integers(0, 2))])
                    stays.append((admit, admit + los))
            # the outpatient history of the condition, between the stays
            for m in months:
                day = m + (phase + 14) % 28
                if day >= self.S + self.D or any(a <= day <= b for a, b in stays):
                    continue
                self.claim(pat=p, card=c, fac=h, ctype=OUTPATIENT, ts=self.ts(day, (8, 16)), tag=tag,
                           doc=docs[int(rng.integers(0, 2))], dx=dx_main, items=self.random_lines(OUTPATIENT, 1))
        self.decoys.append({"kind": "chronic_ward", "mimics": "cohort_admission", "entity_type": "card",
                            "entity_ids": sorted(w.cid(c) for c in cards), "facility_ids": [w.fid(h)],
                            "diagnosis_code": dx_stay, "_tag": tag})

    # ------------------------------------------------------------------ all of it
    def plant_all(self, n_patients: int) -> None:
        n_rings = 3 + n_patients // 40000 if n_patients >= 5000 else max(1, min(3, n_patients // 1500))
        max_size = int(np.clip(n_patients // 500, 4, 40))
        for _ in range(n_rings):
            self.card_collection(self.size(5, max_size))
            self.drug_resale(self.size(4, max_size))
            self.cohort_admission(self.size(6, max_size))
            self.doctor_pharmacy(self.size(4, max_size))
            self.trace_code_reuse(self.size(5, max_size))
        for _ in range(n_rings):
            self.shared_identity(self.size(8, max(8, min(25, n_patients // 200))))
        # the look-alikes of rings
        for _ in range(2 + n_patients // 50000):
            self.mass_admission()
            self.chronic_ward()
            self.placeholder_code()
        for _ in range(max(3, n_patients // 2000)):
            self.till_rescan()
        # about fifty leads of every kind, each variant in turn
        n_leads = 50 + n_patients // 5000 if n_patients >= 5000 else max(4, n_patients // 100)
        for i in range(n_leads):
            self.after_death(i)
            self.impossible_travel(i)
            self.used_while_inpatient(i)
            self.overlapping_supply(i)
            self.split_admission(i)
            self.duplicate_claim(i)
            self.demographic_mismatch(i)
        # the look-alikes of leads, several times as many as the leads
        s = max(0.1, n_patients / 20000)
        for make, n in ((self.routine_refill_in_stay, 200), (self.household_collect_in_stay, 120),
                        (self.hospital_pharmacy_in_stay, 120), (self.small_buy_in_stay, 120),
                        (lambda: self.traveller("rail"), 150), (lambda: self.traveller("air"), 100),
                        (self.late_settlement_after_death, 40), (self.household_shared_supply, 60),
                        (lambda: self.household_item("grandchild_medicine"), 80),
                        (lambda: self.household_item("partner_item"), 40), (self.other_condition_readmission, 60)):
            for _ in range(max(1, int(round(n * s)))):
                make()

    def doctor_pharmacy(self, k: int) -> None:
        """As the default, but the doctor steers only part of the other patients' prescriptions."""
        before = len(self.reroute)
        super().doctor_pharmacy(k)
        self.reroute_share = getattr(self, "reroute_share", {})
        for doc, ph, tag in self.reroute[before:]:
            self.reroute_share[doc] = float(self.rng.uniform(0.55, 0.8))
