"""Ordinary care: the background claims and their lines, heavy-tailed and kept free of the lead
signatures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np

from graphfraud.synth import names as W
from graphfraud.synth.world import (
    CHILD,
    CLINIC,
    DAY,
    DRUG,
    FEMALE_FERTILE,
    FEMALE_OTHER,
    HOSPITAL,
    HOUR,
    INPATIENT,
    MALE_OLD,
    MINUTE,
    OUTPATIENT,
    PHARMACY,
    PHARMACY_F,
    Catalogue,
    Chooser,
    World,
    lex_order,
    month_start_days,
)

CLAIM_FIELDS: dict[str, type] = {
    "pat": np.int32, "card": np.int32, "fac": np.int32, "doc": np.int32, "ctype": np.int8,
    "ts": np.int64, "admit": np.int64, "disch": np.int64, "dx": np.int16, "term": np.int32,
    "first_item": np.int32, "fixed": np.bool_, "tag": np.int32, "rev_of": np.int64,
}


_CLAIM_DEFAULTS = {"doc": -1, "admit": -1, "disch": -1, "dx": -1, "term": -1, "first_item": -1,
                   "fixed": False, "tag": -1, "rev_of": -1, "card": -1}


Claims = dict[str, np.ndarray]


def claim_columns(n: int, **cols: np.ndarray | int) -> Claims:
    out: Claims = {}
    for k, dt in CLAIM_FIELDS.items():
        v = cols.get(k, _CLAIM_DEFAULTS.get(k))
        if v is None:
            raise KeyError(k)
        out[k] = np.asarray(np.broadcast_to(v, (n,)), dtype=dt).copy()
    return out


def concat_claims(parts: Iterable[Claims]) -> Claims:
    parts = list(parts)
    return {k: np.concatenate([p[k] for p in parts]) for k in CLAIM_FIELDS}


def take_rows(c: Claims, idx: np.ndarray) -> Claims:
    return {k: v[idx] for k, v in c.items()}


class Diagnoses:
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


def background_claims(rng: np.random.Generator, w: World, cat: Catalogue, dx: Diagnoses,
                ch: dict[int, Chooser]) -> tuple[Claims, dict[str, object]]:
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
    month_starts = month_start_days(S, D)
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


def assign_cards_terminals(rng: np.random.Generator, w: World, c: Claims) -> None:
    """Card (ssc, or the e-voucher for some outpatient/pharmacy claims) and terminal."""
    p = c["pat"]
    ev = w.ev[p]
    use_ev = (ev >= 0) & (c["ctype"] != INPATIENT) & (rng.random(len(p)) < 0.4)
    c["card"] = np.where(use_ev, ev, w.ssc[p]).astype(np.int32)
    f = c["fac"]
    c["term"] = (w.term_start[f] + (rng.random(len(p)) * w.term_count[f]).astype(np.int64)).astype(np.int32)


@dataclass
class ItemRows:
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

    def take(self, idx: np.ndarray) -> "ItemRows":
        return ItemRows(*(getattr(self, f)[idx] for f in ("claim", "seq", "item", "qty", "price", "days", "trace")))

    @staticmethod
    def cat(parts: list["ItemRows"]) -> "ItemRows":
        return ItemRows(*(np.concatenate([getattr(p, f) for p in parts])
                        for f in ("claim", "seq", "item", "qty", "price", "days", "trace")))


def background_items(rng: np.random.Generator, cat: Catalogue, c: Claims, w: World, idx: np.ndarray,
                      trace_start: int) -> ItemRows:
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
        o = look[lex_order(lc[look], item[look], rnd[look])]  # a fixed line sorts first
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
    return ItemRows(idx[lc], seq, item, qty, cat.price[item], days, trace)
