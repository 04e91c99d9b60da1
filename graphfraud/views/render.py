"""Case pages: a ``CaseGraph`` drawn with pyvis (vis-network) in the styles of ``viz/``,
with its summary, reasons, a timeline of its claims and its claims table.

Pages never reach the network: vis-network's script and style come from the copy pyvis
ships in its package (``pyvis/lib``), inlined into a single page or written beside the pages
of a report site; pyvis's own template (which pulls bootstrap and vis-network from CDNs) is
not used. Every page is written as UTF-8 explicitly. Texts come from ``graphfraud.core.i18n`` in
the chosen language; money is formatted from exact ``Decimal`` values.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from graphfraud import __version__
from graphfraud.core.errors import GraphfraudError
from graphfraud.core.i18n import MESSAGES, t
from graphfraud.core.money import fmt_money, whistleblower_reward
from graphfraud.core.resources import asset_dir, asset_path
from graphfraud.core.safe_text import json_for_html
from graphfraud.detect.registry import kind_name
from graphfraud.views import styles as style_table
from graphfraud.views.casegraph import CaseEdge, CaseGraph, CaseNode
from graphfraud.views.layout import node_look, pixel_layout
from graphfraud.views.styles import load_styles, node_label, style_key
from graphfraud.views.timeline import timeline_svg

VIS_VERSION = "9.1.2"


# ------------------------------------------------------------------ assets
def _require_pyvis():
    try:
        import jinja2  # noqa: F401  (pyvis depends on it)
        import pyvis  # noqa: F401
    except ImportError:
        raise GraphfraudError("viz_extra_missing") from None
    return pyvis


def vis_files() -> dict[str, Path]:
    """vis-network's script and style as shipped inside the pyvis package."""
    pyvis = _require_pyvis()
    lib = Path(pyvis.__file__).resolve().parent / "lib" / f"vis-{VIS_VERSION}"
    files = {"vis-network.min.js": lib / "vis-network.min.js", "vis-network.css": lib / "vis-network.css"}
    for path in files.values():
        if not path.is_file():
            raise GraphfraudError("viz_extra_missing")
    return files


#: our own scripts and style, in viz/
OWN_ASSETS = ("page.css", "case.js", "table.js")


def write_assets(folder: Path) -> list[Path]:
    """Copy every script and style the pages need into ``folder`` (a site's ``assets/``)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, src in vis_files().items():
        target = folder / name
        target.write_bytes(src.read_bytes())
        out.append(target)
    for name in OWN_ASSETS:
        target = folder / name
        target.write_text(asset_path("viz", name).read_text(encoding="utf-8"), encoding="utf-8")
        out.append(target)
    notice = folder / "vis-network.LICENSE.txt"
    notice.write_text(asset_path("viz", "vis-network.LICENSE.txt").read_text(encoding="utf-8"), encoding="utf-8")
    out.append(notice)
    return out


@dataclass
class Assets:
    """How a page gets its scripts and styles: inlined (``base=None``) or from a folder
    beside it (``base="../assets"``)."""

    base: str | None = None

    def css(self) -> str:
        if self.base is None:
            return "".join(f"<style>\n{_read(n)}\n</style>\n" for n in ("vis-network.css", "page.css"))
        return "".join(f'<link rel="stylesheet" href="{html.escape(self.base)}/{n}">\n'
                       for n in ("vis-network.css", "page.css"))

    def js(self, *names: str) -> str:
        if self.base is None:
            return "".join(f"<script>\n{_script(_read(n))}\n</script>\n" for n in names)
        return "".join(f'<script src="{html.escape(self.base)}/{n}"></script>\n' for n in names)


def _read(name: str) -> str:
    if name.startswith("vis-network"):
        return vis_files()[name].read_text(encoding="utf-8")
    return asset_path("viz", name).read_text(encoding="utf-8")


def _script(text: str) -> str:
    """Text safe inside a <script> element."""
    return text.replace("</script", "<\\/script")


@functools.lru_cache(maxsize=1)
def page_env():
    _require_pyvis()
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(asset_dir("viz"))),
                             autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["money"] = fmt_money
    return env


# ------------------------------------------------------------------ formatting
def fmt_date(v) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    return v.isoformat() if isinstance(v, dt.date) else str(v)


def _json_for_script(data) -> str:
    return json_for_html(data, default=str)


def node_key(node: CaseNode) -> str:
    return style_key(node.type, node.attrs.get("facility_type"))


def type_label(key: str, lang: str, styles: dict | None = None) -> str:
    return node_label(key, lang)


def edge_label(etype: str, lang: str, styles: dict | None = None) -> str:
    return style_table.edge_label(etype, lang)


_VALUE_KEYS = {"sex": "sex.", "facility_type": "ftype.", "insurance_type": "itype.", "card_type": "ctype.",
               "claim_type": "claim_type."}
_ATTR_ORDER = ("name", "facility_type", "level", "region_code", "sex", "age", "birth_date", "death_date",
               "insured_region", "insurance_type", "card_type", "issued_at", "patient_id", "department",
               "facility_id", "facilities")


def attr_value(key: str, value, lang: str) -> str:
    if key in _VALUE_KEYS:

        msg = _VALUE_KEYS[key] + str(value)
        if msg in MESSAGES:
            return t(msg, lang=lang)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value[:8]) + (" …" if len(value) > 8 else "")
    if isinstance(value, (dt.date, dt.datetime)):
        return fmt_date(value)
    return str(value)


def role_text(role: str | None, lang: str) -> str:
    """A member's role: the detectors' role text, or the words for our own roles."""

    if not role:
        return ""
    return t("role." + role, lang=lang) if "role." + role in MESSAGES else role


def node_tooltip(node: CaseNode, lang: str, styles: dict) -> str:
    lines = [f"{type_label(node_key(node), lang, styles)} {node.entity_id}"]
    if node.member:
        lines.append(t("tip.member", lang=lang, role=role_text(node.role, lang) or "-"))
    lines.append(t("tip.claims", lang=lang, n=node.n_claims, amount=fmt_money(node.amount)))
    if node.first_date:
        lines.append(t("tip.range", lang=lang, first=fmt_date(node.first_date), last=fmt_date(node.last_date)))
    for key in _ATTR_ORDER:
        if key in node.attrs:
            lines.append(f"{t('attr.' + key, lang=lang)}: {attr_value(key, node.attrs[key], lang)}")
    return "\n".join(lines)


def edge_tooltip(edge: CaseEdge, lang: str, styles: dict) -> str:
    lines = [f"{edge_label(edge.type, lang, styles)}: {edge.source} → {edge.target}",
             t("tip.claims", lang=lang, n=edge.n_claims, amount=fmt_money(edge.amount)),
             t("tip.fund", lang=lang, fund=fmt_money(edge.fund_amount))]
    if edge.first_date:
        lines.append(t("tip.days", lang=lang, n=edge.n_days, first=fmt_date(edge.first_date),
                       last=fmt_date(edge.last_date)))
    return "\n".join(lines)


# ------------------------------------------------------------------ the network
def layout(graph: CaseGraph, *, seed: int = 1, styles: dict | None = None) -> dict[str, tuple[float, float]]:
    """The case's layout (``views.layout``) in vis-network's pixels."""
    return pixel_layout(graph, seed=seed, styles=styles)


def network_data(graph: CaseGraph, lang: str, styles: dict | None = None) -> dict:
    """Nodes, edges and options for vis-network, built with pyvis."""
    _require_pyvis()
    from pyvis.network import Network

    styles = styles or load_styles()
    member = styles["member"]
    edge_style = styles["edge"]
    big = len(graph.nodes) > styles["layout"]["igraph_above"]
    look = node_look(graph, styles)
    # drawn where the readable layout puts them (no physics: labels would drift onto each other)
    positions = layout(graph, styles=styles)
    max_claims = max((e.n_claims for e in graph.edges), default=1) or 1
    net = Network(height="100%", width="100%", directed=True, cdn_resources="in_line")
    for n in graph.nodes:
        st = styles["node"].get(node_key(n), styles["node"]["card"])
        opts = {"shape": st["shape"], "title": node_tooltip(n, lang, styles),
                "borderWidth": member["border_width"] if n.member else 1,
                "color": {"background": st["color"], "border": member["border_color"] if n.member else st["color"],
                          "highlight": {"background": st["color"], "border": "#000000"}},
                "size": look[n.key]["size"],
                "font": {"size": look[n.key]["font"],
                         "face": "Noto Sans CJK SC, Noto Sans SC, Microsoft YaHei, sans-serif"}}
        if n.key in positions:
            opts["x"], opts["y"] = positions[n.key]
        net.add_node(n.key, label=n.label, **opts)
    for e in graph.edges:
        share = math.sqrt(e.n_claims / max_claims) if e.n_claims else 0.0
        width = edge_style["width_min"] + (edge_style["width_max"] - edge_style["width_min"]) * share
        net.add_edge(e.source, e.target, title=edge_tooltip(e, lang, styles), width=round(width, 2),
                     color={"color": edge_style.get(e.type, {}).get("color", "#999999"), "opacity": 0.75},
                     arrows={"to": {"enabled": True, "scaleFactor": 0.4}})
    options = {
        "interaction": {"hover": True, "tooltipDelay": 120, "navigationButtons": False, "keyboard": False},
        "edges": {"smooth": False if big else {"type": "continuous"}},
        "nodes": {"font": {"strokeWidth": 3, "strokeColor": "#ffffff"}},
        "layout": {"improvedLayout": False, "randomSeed": 1},
        "physics": {"enabled": False},
    }
    net.set_options(json.dumps(options))
    nodes, edges, *_ = net.get_network_data()
    return {"nodes": nodes, "edges": edges, "options": options}


def legend(graph: CaseGraph, lang: str, styles: dict) -> list[dict]:
    """The node types present, with an SVG icon of their shape and colour."""
    present = []
    for n in graph.nodes:
        k = node_key(n)
        if k not in present:
            present.append(k)
    order = list(styles["node"])
    present.sort(key=lambda k: order.index(k) if k in order else 99)
    counts: dict[str, int] = defaultdict(int)
    for n in graph.nodes:
        counts[node_key(n)] += 1
    return [{"key": k, "label": type_label(k, lang, styles), "n": counts[k],
             "icon": shape_icon(styles["node"][k]["shape"], styles["node"][k]["color"])} for k in present]


def shape_icon(shape: str, color: str, size: int = 16) -> str:
    s, h = size, size / 2
    c = html.escape(color)
    body = {
        "dot": f'<circle cx="{h}" cy="{h}" r="{h - 1}"/>',
        "square": f'<rect x="1" y="1" width="{s - 2}" height="{s - 2}"/>',
        "triangle": f'<polygon points="{h},1 {s - 1},{s - 1} 1,{s - 1}"/>',
        "triangleDown": f'<polygon points="1,1 {s - 1},1 {h},{s - 1}"/>',
        "diamond": f'<polygon points="{h},1 {s - 1},{h} {h},{s - 1} 1,{h}"/>',
        "hexagon": f'<polygon points="4,1 {s - 4},1 {s - 1},{h} {s - 4},{s - 1} 4,{s - 1} 1,{h}"/>',
        "star": f'<polygon points="{h},0 {h + 2},{h - 2} {s},{h - 2} {h + 3},{h + 2} {h + 5},{s} {h},{h + 4} '
                f'{h - 5},{s} {h - 3},{h + 2} 0,{h - 2} {h - 2},{h - 2}"/>',
        "ellipse": f'<ellipse cx="{h}" cy="{h}" rx="{h - 1}" ry="{h / 1.6:.1f}"/>',
        "box": f'<rect x="1" y="3" width="{s - 2}" height="{s - 6}" rx="3"/>',
        "database": f'<rect x="2" y="3" width="{s - 4}" height="{s - 5}" rx="2"/>'
                    f'<ellipse cx="{h}" cy="3" rx="{h - 2}" ry="2"/>',
    }.get(shape, f'<circle cx="{h}" cy="{h}" r="{h - 1}"/>')
    return (f'<svg class="icon" width="{s}" height="{s}" viewBox="0 0 {s} {s}" aria-hidden="true" '
            f'fill="{c}" stroke="#333" stroke-width="0.6">{body}</svg>')


# ------------------------------------------------------------------ pages
def case_claims(con, claim_ids: list[str]) -> list[dict]:
    """The case's claims for the claims table and the timeline, in time order."""
    if not claim_ids:
        return []
    cur = con.execute("""
        SELECT claim_id, settled_at, card_id, facility_id, doctor_id, terminal_id, claim_type, diagnosis_code,
               total_amount, fund_amount, account_amount, self_amount, reverses_claim_id
        FROM claims WHERE claim_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY settled_at, claim_id""", [claim_ids])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def case_html(con, graph: CaseGraph, *, lang: str = "zh", assets: Assets | None = None,
              back: str | None = None, cap: int | None = None, extra: dict | None = None) -> str:
    """The page of one case as HTML text."""
    assets = assets or Assets()
    styles = load_styles()
    claims = case_claims(con, graph.claim_ids)
    total = sum((c["total_amount"] for c in claims), Decimal("0.00"))
    fund = sum((c["fund_amount"] or Decimal("0.00") for c in claims), Decimal("0.00"))
    # the personal account is the loss in a card-collection scheme: shown beside the fund
    account = sum((c["account_amount"] or Decimal("0.00") for c in claims), Decimal("0.00"))
    own = sum((c["self_amount"] or Decimal("0.00") for c in claims), Decimal("0.00"))
    data = network_data(graph, lang, styles)
    s = graph.summary
    facts = []
    if graph.case_type == "ring":
        facts = [(t("page.col.kind", lang=lang), kind_name(graph.kind, lang)),
                 (t("page.col.score", lang=lang), f"{s.get('score', 0):.1f}"),
                 (t("page.col.rank", lang=lang), str(s.get("rank", ""))),
                 (t("page.col.members", lang=lang), str(s.get("n_members", ""))),
                 (t("page.col.status", lang=lang), t("status." + str(s.get("status")), lang=lang)
                  if s.get("status") in ("new", "same", "grown", "shrunk", "changed") else str(s.get("status", "")))]
    elif graph.case_type == "lead":
        facts = [(t("page.col.kind", lang=lang), t("lead." + graph.kind, lang=lang)),
                 (t("page.col.entity", lang=lang), f"{type_label(s['entity_type'], lang, styles)} {s['entity_id']}")]
        if s.get("score") is not None:  # a run stored before the work queue has no score
            facts += [(t("page.col.score", lang=lang), f"{s['score']:.1f}"),
                      (t("page.col.queue_rank", lang=lang), str(s["rank"]) if s.get("rank") is not None
                       else t("page.not_queued", lang=lang))]
    elif graph.case_type == "neighbourhood":
        centre = graph.members[0] if graph.members else None
        key = node_key(centre) if centre else s["entity_type"]
        facts = [(t("page.col.entity", lang=lang), f"{type_label(key, lang, styles)} {s['entity_id']}"),
                 (t("page.col.hops", lang=lang), str(s.get("hops")))]
    else:
        facts = [(t("page.col.seeds", lang=lang), str(len(s.get("seeds", []))))]
    facts += [(t("page.col.claims", lang=lang), f"{len(claims):,}"),
              (t("page.col.amount", lang=lang), fmt_money(total)),
              (t("page.col.fund", lang=lang), fmt_money(fund)),
              (t("page.col.account", lang=lang), fmt_money(account)),
              (t("page.col.self", lang=lang), fmt_money(own)),
              (t("page.col.dates", lang=lang), f"{fmt_date(s.get('first_date'))} ~ {fmt_date(s.get('last_date'))}")]
    if "over_transfer_threshold" in s:
        facts.append((t("page.col.over", lang=lang), t("yes" if s["over_transfer_threshold"] else "no", lang=lang)))
    if graph.case_type == "ring" and s.get("total_amount") is not None:
        facts.append((t("page.col.reward", lang=lang), fmt_money(reward(total))))
    members = [{"type": type_label(node_key(n), lang, styles), "id": n.entity_id, "label": n.label,
                "role": role_text(n.role, lang), "n_claims": n.n_claims, "amount": n.amount} for n in graph.members]
    ctx = {
        "lang": lang, "t": lambda key, **kw: t(key, lang=lang, **kw),
        "title": graph.title_zh if lang == "zh" else graph.title_en,
        "graph": graph, "facts": facts, "members": members,
        "reasons": [r["text_zh"] if lang == "zh" else r["text_en"] for r in graph.reasons],
        "legend": legend(graph, lang, styles), "edge_legend": [
            {"label": edge_label(k, lang, styles), "color": v["color"]} for k, v in styles["edge"].items()
            if isinstance(v, dict) and any(e.type == k for e in graph.edges)],
        "member_border": styles["member"]["border_color"],
        "graph_json": _json_for_script(data), "timeline": timeline_svg(claims, lang),
        "claims": claims, "total": total, "fund": fund, "n_claims": len(claims),
        "hidden": graph.hidden_nodes, "cap": cap, "n_nodes": len(graph.nodes), "n_edges": len(graph.edges),
        "css": assets.css(), "js": assets.js("vis-network.min.js", "case.js"), "js_tables": assets.js("table.js"),
        "back": back, "generated": dt.datetime.now().strftime("%Y-%m-%d %H:%M"), "version": __version__,
        "run_id": s.get("run_id", ""), "fmt_date": fmt_date, "money": fmt_money,
        "extra": extra or {},
    }
    return page_env().get_template("case.html").render(**ctx)


def write_case_page(con, graph: CaseGraph, path: str | Path, *, lang: str = "zh", cap: int | None = None) -> Path:
    """One self-contained page (scripts and styles inlined) for ``graphfraud case`` and
    ``graphfraud explore``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(case_html(con, graph, lang=lang, cap=cap), encoding="utf-8")
    return path


def reward(amount: Decimal) -> Decimal:
    """The whistle-blower reward the amount implies (Yunnan schedule): below 10,000 yuan 500;
    10,000-20,000 1,000; 20,000-40,000 1,500; above 40,000 5 % capped at 10,000. One
    definition with the evidence package's summary, so a page and a package never differ."""

    return whistleblower_reward(amount)
