"""Making the claims consistent: impossible sequences removed, reversals, rerouted prescriptions,
supply cleaned, amounts split between fund, personal account and self-pay."""

from __future__ import annotations

import numpy as np

from graphfraud.synth.background import Claims, ItemRows, take_rows
from graphfraud.synth.world import DAY, HOUR, INPATIENT, MINUTE, OUTPATIENT, PHARMACY, World, haversine_km, lex_order


def _pairs_drop(first: np.ndarray, second: np.ndarray, viol: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """For violating pairs, the claim to drop: the later one when it is background, else the
    earlier one when it is background; pairs of planted claims are left alone."""
    a, b = first[viol], second[viol]
    drop_b = ~fixed[b]
    drop_a = ~drop_b & ~fixed[a]
    return np.concatenate([b[drop_b], a[drop_a]])


def clean_claims(c: Claims, w: World) -> np.ndarray:
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
        s = s[lex_order(pat[s], c["admit"][s] - w.start_day + 64)]
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
        s = s[lex_order(pat[s], c["admit"][s] - w.start_day + 64)]
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
        s = s[lex_order(pat[s], c["ts"][s] - t0)]
        a, b = s[:-1], s[1:]
        same = pat[a] == pat[b]
        fa, fb = c["fac"][a], c["fac"][b]
        diff = same & (fa != fb)
        dist = np.zeros(len(a))
        dist[diff] = haversine_km(lat[fa[diff]], lon[fa[diff]], lat[fb[diff]], lon[fb[diff]])
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
        s = s[lex_order(card[s], c["fac"][s], c["ts"][s] - t0)]
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


def reversal_claims(rng: np.random.Generator, w: World, c: Claims) -> Claims:
    """Reversal rows (冲销) for ~0.5 % of background claims: minutes to days later."""
    cand = np.nonzero(~c["fixed"] & (c["tag"] < 0) & ~w.far[c["fac"]])[0]
    pick = cand[rng.random(len(cand)) < 0.005]
    soon = rng.random(len(pick)) < 0.6
    delay = np.where(soon, rng.integers(5 * MINUTE, 2 * HOUR, len(pick)), rng.integers(1, 8, len(pick)) * DAY
                     + rng.integers(-2 * HOUR, 2 * HOUR, len(pick)))
    ts = c["ts"][pick] + delay
    ok = ts // DAY < w.start_day + w.n_days
    pick, ts = pick[ok], ts[ok]
    r = take_rows(c, pick)
    r["ts"] = ts
    r["rev_of"] = pick.astype(np.int64)
    r["first_item"][:] = -1
    return r


def reroute_prescriptions(rng: np.random.Generator, c: Claims, w: World, reroute: list[tuple[int, int, int]],
                           shares: dict[int, float] | None = None) -> None:
    """Steer the background prescriptions of doctor-pharmacy ring doctors to their partner
    (92 % of them, or the doctor's share in ``shares``)."""
    for doc, ph, tag in reroute:
        sel = np.nonzero((c["doc"] == doc) & (c["ctype"] == PHARMACY) & ~c["fixed"])[0]
        sel = sel[rng.random(len(sel)) < (shares or {}).get(doc, 0.92)]
        c["fac"][sel] = ph
        c["term"][sel] = w.term_start[ph] + (rng.random(len(sel)) * w.term_count[ph]).astype(np.int64)
        c["tag"][sel] = tag


def clean_supply(c: Claims, keep: np.ndarray, it: ItemRows, intended: np.ndarray) -> None:
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
        o = lex_order(p, it.item[sel], c["ts"][cl] - t0)
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


def split_amounts(rng: np.random.Generator, c: Claims, w: World, total: np.ndarray) -> tuple[np.ndarray, ...]:
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
