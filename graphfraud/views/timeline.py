"""The timeline of a case's claims: one chart for the interactive pages and the evidence
package's printable page alike — the amount per day (per week beyond a year), refunds below
the axis, a tooltip per bar, month ticks."""

from __future__ import annotations

import datetime as dt
import html
from collections import defaultdict
from decimal import Decimal

from graphfraud.core.i18n import t
from graphfraud.core.money import fmt_money


def timeline_svg(claims: list[dict], lang: str, width: int = 960, height: int = 180) -> str:
    """An inline SVG bar chart of the claims' amount per day (per week beyond a year), with a
    tooltip per bar; negative amounts (refunds) are drawn below the axis."""
    if not claims:
        return ""
    by_day: dict[dt.date, list] = defaultdict(lambda: [0, Decimal("0.00")])
    for c in claims:
        d = c["settled_at"].date() if isinstance(c["settled_at"], dt.datetime) else c["settled_at"]
        by_day[d][0] += 1
        by_day[d][1] += c["total_amount"]
    first, last = min(by_day), max(by_day)
    span = (last - first).days + 1
    step = 7 if span > 400 else 1
    bins: dict[int, list] = defaultdict(lambda: [0, Decimal("0.00"), None])
    for d, (n, amount) in by_day.items():
        b = (d - first).days // step
        bins[b][0] += n
        bins[b][1] += amount
        bins[b][2] = first + dt.timedelta(days=b * step)
    n_bins = (span - 1) // step + 1
    left, right, top, bottom = 70, 10, 10, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    pos = max((b[1] for b in bins.values() if b[1] > 0), default=Decimal(0))
    neg = max((-b[1] for b in bins.values() if b[1] < 0), default=Decimal(0))
    total = pos + neg or Decimal(1)
    zero_y = top + plot_h * float(pos / total)
    bar_w = plot_w / n_bins
    parts = [f'<svg class="timeline" role="img" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" '
             f'aria-label="{html.escape(t("page.timeline", lang=lang))}">']
    parts.append(f'<line x1="{left}" y1="{zero_y:.1f}" x2="{width - right}" y2="{zero_y:.1f}" stroke="#888"/>')
    parts.append(f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" class="axis">{fmt_money(pos)}</text>')
    if neg:
        parts.append(f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end" class="axis">-{fmt_money(neg)}</text>')
    parts.append(f'<text x="{left - 6}" y="{zero_y + 4:.1f}" text-anchor="end" class="axis">0</text>')
    for b, (n, amount, start) in sorted(bins.items()):
        x = left + b * bar_w
        h = plot_h * float(abs(amount) / total)
        y = zero_y - h if amount >= 0 else zero_y
        label = t("page.bar" if step == 1 else "page.bar_week", lang=lang, day=start.isoformat(), n=n,
                  amount=fmt_money(amount))
        parts.append(f'<rect class="{"bar" if amount >= 0 else "bar neg"}" x="{x + 0.5:.1f}" y="{y:.1f}" '
                     f'width="{max(bar_w - 1, 1):.1f}" height="{max(h, 1):.1f}" data-day="{start.isoformat()}" '
                     f'data-claims="{n}" data-amount="{amount}"><title>{html.escape(label)}</title></rect>')
    # month ticks
    d = dt.date(first.year, first.month, 1)
    while d <= last:
        if d >= first:
            x = left + (d - first).days / step * bar_w
            parts.append(f'<line x1="{x:.1f}" y1="{top + plot_h}" x2="{x:.1f}" y2="{top + plot_h + 4}" stroke="#888"/>')
            parts.append(f'<text x="{x + 2:.1f}" y="{height - 8}" class="axis">{d:%Y-%m}</text>')
        d = dt.date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    if first.day != 1:
        parts.append(f'<text x="{left:.1f}" y="{height - 8}" class="axis">{first.isoformat()}</text>')
    parts.append("</svg>")
    return "".join(parts)
