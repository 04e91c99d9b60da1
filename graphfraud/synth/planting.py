"""The planted fraud: rings of every kind and the single-entity leads, camouflaged by the members'
ordinary claims."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from graphfraud.synth import names as W
from graphfraud.synth.background import CLAIM_FIELDS, Claims, Diagnoses, ItemRows, claim_columns
from graphfraud.synth.world import (
    CLINIC,
    DAY,
    DRUG,
    EVOUCHER,
    HOSPITAL,
    HOUR,
    INPATIENT,
    MALE_YOUNG,
    MINUTE,
    NO_DAY,
    OUTPATIENT,
    PHARMACY,
    PHARMACY_F,
    Catalogue,
    World,
    date_str,
    haversine_km,
    month_start_days,
    random_phones,
)


@dataclass
class PlantedItem:
    item: int
    qty: int
    price: int  # fen
    days: int  # -1 when not recorded
    trace: int  # trace group (same group = same code), -1 none


class Planter:
    """Adds the planted claims (fixed: never dropped by cleaning) and their truth records."""

    def __init__(self, rng: np.random.Generator, w: World, cat: Catalogue, dx: Diagnoses, n_base: int) -> None:
        self.rng, self.w, self.cat, self.dx = rng, w, cat, dx
        self.n_base = n_base  # planted claims are appended after the background
        self.cols: dict[str, list] = {k: [] for k in CLAIM_FIELDS}
        self.items: list[tuple[int, PlantedItem]] = []  # (planted claim no, item)
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
            ph = int(random_phones(self.rng, 1)[0])
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
        km = float(haversine_km(w.eff_lat[fa], w.eff_lon[fa], w.eff_lat[fb], w.eff_lon[fb])) if fa != fb else 0.0
        return t + int(self.rng.integers(lo, hi)) + int(km / 40.0 * HOUR)

    def ts(self, day: int, hour: tuple[int, int] = (8, 20)) -> int:
        return int(day) * DAY + int(self.rng.integers(hour[0] * HOUR, hour[1] * HOUR))

    def line(self, item: int, qty: int = 1, *, days: bool = True, trace: float = 0.7,
             price: int | None = None) -> PlantedItem:
        cat = self.cat
        d = int(cat.pack_days[item]) * qty if days and cat.category[item] == DRUG and cat.pack_days[item] > 0 else -1
        tr = self.new_trace() if cat.category[item] == DRUG and self.rng.random() < trace else -1
        return PlantedItem(int(item), int(qty), int(cat.price[item] if price is None else price), d, tr)

    def random_lines(self, ctype: int, cls: int, los: int = 0) -> list[PlantedItem]:
        """Ordinary-looking lines for a planted claim (same pools as the background)."""
        cat, rng = self.cat, self.rng
        out: list[PlantedItem] = []
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
              items: list[PlantedItem] | None = None, rev_of: int = -1) -> int:
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
        months = month_start_days(self.S, self.D)
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
        self.add_lead("after_death", tag, c, death_date=date_str(death))
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
                                "patient_id": w.pid(q), "death_date": date_str(qd), "_tag": etag})

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
        dup = [PlantedItem(x.item, x.qty, x.price, x.days, -1) for x in lines]
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


def planted_items(planter: Planter) -> ItemRows:
    rows = planter.items
    if not rows:
        e = np.zeros(0, dtype=np.int64)
        return ItemRows(e, e, e, e, e, e, e)
    claim = np.array([planter.n_base + no for no, _ in rows], dtype=np.int64)
    seq = np.zeros(len(rows), dtype=np.int64)
    last, k = -1, 0
    for i, (no, _) in enumerate(rows):
        k = k + 1 if no == last else 0
        last = no
        seq[i] = k
    return ItemRows(claim, seq, np.array([r.item for _, r in rows], dtype=np.int64),
                  np.array([r.qty for _, r in rows]), np.array([r.price for _, r in rows]),
                  np.array([r.days for _, r in rows]), np.array([r.trace for _, r in rows]))
