"""``case.html``: one printable page per case that opens offline (no script, no font, no
network): the summary, the reasons, the subgraph drawn as inline SVG at the case layout, a
timeline of the claims (daily amounts, and one lane per member card), and the tables of
members, ties and claims. Labels are in Chinese and English side by side."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from html import escape

from graphfraud.core.i18n import t
from graphfraud.evidence.formats import value_text
from graphfraud.evidence.summary import day_of
from graphfraud.views.layout import pixel_layout
from graphfraud.views.render import role_text
from graphfraud.views.styles import edge_label, node_colour, node_label, node_types, style_key
from graphfraud.views.timeline import timeline_svg

H = 640  # the graph drawing's height on the page at most
TL_W = 960


def layout(graph, *, seed: int = 42) -> dict[str, tuple[float, float]]:
    """The case's layout (``views.layout``), the same the pages draw, in their pixels."""
    return pixel_layout(graph, seed=seed)


def _both(key: str, **params) -> str:
    return f"{t(key, lang='zh', **params)} / {t(key, lang='en', **params)}"


def _graph_svg(graph, nodes: list[dict], positions) -> str:
    by_key = {r["key"]: r for r in nodes}
    # the drawing's own extent: labels keep the size the layout made room for
    xs = [p[0] for p in positions.values()] or [0.0]
    ys = [p[1] for p in positions.values()] or [0.0]
    x0, y0 = min(xs) - 80, min(ys) - 40
    vw, vh = max(xs) - min(xs) + 160, max(ys) - min(ys) + 80
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{x0:.0f} {y0:.0f} {vw:.0f} {vh:.0f}" width="100%" '
           f'style="max-height:{H}px" role="img" aria-label="{escape(graph.title_en)}">']
    max_claims = max([e.n_claims for e in graph.edges] or [1])
    for e in graph.edges:
        if e.source not in positions or e.target not in positions:
            continue
        (x1, y1), (x2, y2) = positions[e.source], positions[e.target]
        width = 0.6 + 3.4 * e.n_claims / max_claims
        out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                   f'stroke="#999" stroke-width="{width:.1f}"><title>{escape(e.type)} {escape(e.source)} → '
                   f'{escape(e.target)}: {e.n_claims} / {value_text(e.amount)}</title></line>')
    for n in graph.nodes:
        x, y = positions[n.key]
        colour = node_colour(style_key(n.type, n.attrs.get("facility_type")))
        r = 9 if n.member else 5
        rec = by_key[n.key]
        label = rec.get("name") if n.type in ("patient", "doctor") and rec.get("name") else n.label
        stroke = ' stroke="#000" stroke-width="2"' if n.member else ""
        out.append(f'<g><circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{colour}"{stroke}>'
                   f'<title>{escape(n.key)} · {n.n_claims} · {value_text(n.amount)}</title></circle>'
                   f'<text x="{x:.1f}" y="{y + 11 + 14:.1f}" font-size="13" text-anchor="middle">'
                   f'{escape(str(label))}</text></g>')
    out.append("</svg>")
    return "".join(out)


def _lanes_svg(claims: list[dict], member_cards: list[str]) -> str:
    """One lane per member card (at most 40), a dot on each day it settled, under the case's
    timeline of amounts (``views.timeline``, the one the pages draw)."""
    days = sorted({day_of(c["settled_at"]) for c in claims})
    if not days:
        return ""
    first, last = days[0], days[-1]
    span = max((last - first).days, 1)
    lanes: dict[str, set[dt.date]] = defaultdict(set)
    for c in claims:
        lanes[c["card_id"]].add(day_of(c["settled_at"]))
    cards = [c for c in member_cards if c in lanes][:40] or sorted(lanes)[:40]
    left, lane_h = 110, 14
    height = 30 + lane_h * len(cards) + 10
    plot_w = TL_W - left - 20

    def x(d: dt.date) -> float:
        return left + plot_w * (d - first).days / span

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {TL_W} {height}" width="100%">']
    out.append(f'<text x="{left}" y="12" font-size="10">{first.isoformat()}</text>')
    out.append(f'<text x="{left + plot_w}" y="12" font-size="10" text-anchor="end">{last.isoformat()}</text>')
    y0 = 30
    for i, card in enumerate(cards):
        y = y0 + i * lane_h
        out.append(f'<text x="4" y="{y + 4}" font-size="9">{escape(card)}</text>'
                   f'<line x1="{left}" y1="{y}" x2="{left + plot_w}" y2="{y}" stroke="#eee"/>')
        for d in sorted(lanes[card]):
            out.append(f'<circle cx="{x(d):.1f}" cy="{y}" r="3" fill="#ff7f0e"><title>{escape(card)} '
                       f'{d.isoformat()}</title></circle>')
    out.append("</svg>")
    return "".join(out)


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape('' if v is None else value_text(v))}</td>" for v in r) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _role(role: str | None) -> str | None:
    """A member's role in both languages, as everything else on the page."""

    zh = role_text(role, "zh") if role else role
    return f"{zh} / {role}" if role and zh != role else role


def render(graph, summary: dict, nodes: list[dict], claims: list[dict], positions, *, exported_at: str,
           operator: str) -> str:
    """The whole page as one string."""
    s = summary
    facts = [
        (_both("evidence.page.case"), f"{graph.case_id} ({s['kind_zh']} / {s['kind_en']})"),
        (_both("evidence.page.run"), s["run_id"]),
        (_both("evidence.page.total"), f"{s['total_amount']} CNY"),
        (_both("evidence.page.fund"), f"{s['fund_amount']} CNY"),
        (_both("evidence.page.account"), f"{s['account_amount']} CNY"),
        (_both("evidence.page.self"), f"{s['self_amount']} CNY"),
        (_both("evidence.page.dates"), f"{s['first_date'] or '-'} ~ {s['last_date'] or '-'}"),
        (_both("evidence.page.counts"),
         f"{s['counts']['people']} / {s['counts']['cards']} / {s['counts']['facilities']}"),
        (_both("evidence.page.threshold"), f"{s['transfer_threshold']} CNY: "
                                  f"{_both('yes') if s['over_transfer_threshold'] else _both('no')}"),
        (_both("evidence.page.reward"), f"{s['whistleblower_reward']} CNY"),
        (_both("evidence.page.revealed"), _both("yes") if s["identities_revealed"] else _both("no")),
        (_both("evidence.page.exported"), f"{exported_at} · {operator}"),
    ]
    if graph.hidden_nodes:
        facts.append((_both("evidence.page.hidden"), str(graph.hidden_nodes)))
    facts_html = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in facts)
    reasons = "".join(f"<li>{escape(r['text_zh'] or '')}<br><span class=en>{escape(r['text_en'] or '')}</span></li>"
                      for r in s["reasons"])
    present = {style_key(n.type, n.attrs.get("facility_type")) for n in graph.nodes}
    legend = " ".join(f'<span class=key style="background:{node_colour(k)}"></span>{escape(node_label(k, "zh"))} '
                      f'{escape(node_label(k, "en"))}' for k in node_types() if k in present)
    ident = [k for k in ("name", "id_number", "phone", "address") if any(k in r for r in nodes if r["type"]
                                                                          in ("patient", "doctor"))]
    member_rows = [[r["key"], _role(r.get("role")), r["n_claims"], r["amount"], r["first_date"], r["last_date"],
                    *[r.get(k) for k in ident]] for r in nodes if r["member"] or r["type"] in ("patient", "doctor")]
    edge_rows = [[f"{e.type} {edge_label(e.type, 'zh')} / {edge_label(e.type, 'en')}", e.source, e.target, e.n_claims,
                  e.amount, e.fund_amount, e.n_days, e.first_date, e.last_date] for e in graph.edges]
    claim_rows = [[c["claim_id"], c["settled_at"], c["card_id"], c["facility_id"], c.get("doctor_id"),
                   c["claim_type"], c["total_amount"], c.get("fund_amount")] for c in claims]
    member_cards = [n.entity_id for n in graph.nodes if n.member and n.type == "card"]
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{escape(graph.title_zh)} / {escape(graph.title_en)}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; margin: 1.5em; color: #111; }}
h1 {{ font-size: 1.4em; }} h2 {{ font-size: 1.1em; border-bottom: 1px solid #999; margin-top: 1.5em; }}
table {{ border-collapse: collapse; font-size: 0.8em; margin: 0.5em 0; }}
th, td {{ border: 1px solid #bbb; padding: 2px 6px; text-align: left; vertical-align: top; }}
.en {{ color: #555; }} .key {{ display: inline-block; width: 10px; height: 10px; margin: 0 3px 0 10px; }}
figure {{ margin: 0; page-break-inside: avoid; }}
@media print {{ body {{ margin: 0; }} h2 {{ page-break-after: avoid; }} tr {{ page-break-inside: avoid; }} }}
@page {{ size: A4; margin: 12mm; }}
</style></head><body>
<h1>{escape(graph.title_zh)}<br><span class=en>{escape(graph.title_en)}</span></h1>
<table>{facts_html}</table>
<h2>{escape(_both("evidence.page.summary"))}</h2>
<p>{"<br>".join(escape(x) for x in s["zh"][:6])}</p><p class=en>{"<br>".join(escape(x) for x in s["en"][:6])}</p>
<h2>{escape(_both("evidence.page.reasons"))}</h2><ul>{reasons}</ul>
<h2>{escape(_both("evidence.page.graph"))}</h2>
<figure>{_graph_svg(graph, nodes, positions)}<figcaption>{legend}</figcaption></figure>
<h2>{escape(_both("evidence.page.timeline"))}</h2>
<figure>{timeline_svg(claims, "zh")}{_lanes_svg(claims, member_cards)}</figure>
<h2>{escape(_both("evidence.page.members"))}</h2>
{_table(["key", "role", "claims", "amount", "first", "last", *ident], member_rows)}
<h2>{escape(_both("evidence.page.edges"))}</h2>
{_table(["type", "source", "target", "claims", "amount", "fund", "days", "first", "last"], edge_rows)}
<h2>{escape(_both("evidence.page.claims"))}</h2>
{_table(["claim_id", "settled_at", "card", "facility", "doctor", "type", "total", "fund"], claim_rows)}
</body></html>
"""
