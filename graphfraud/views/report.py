"""``graphfraud report``: an offline site of one detection run.

``SITE/index.html`` holds a sortable, filterable table of the rings (score, kind, members,
amount, dates, over-threshold, reasons) and the lead work queue (rank, score, reasons);
``SITE/rings/<id>.html`` is one page per ring (the rendered subgraph, a timeline of its claims,
its reasons, members, claims and totals), ``SITE/leads/<id>.html`` one per queued lead (the
first ``lead_pages`` of the queue). Scripts and styles are in ``SITE/assets/``, copied from this install: the site
makes no network request and can be zipped, copied or opened from a USB stick.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from graphfraud import __version__
from graphfraud.core.i18n import t
from graphfraud.core.money import fmt_money
from graphfraud.detect.registry import kind_name
from graphfraud.store.workspace import Workspace
from graphfraud.views.casegraph import check_run, lead_graph, ring_graph
from graphfraud.views.render import Assets, case_html, fmt_date, page_env, write_assets


@dataclass
class ReportResult:
    out_dir: Path
    index: Path
    run_id: str
    ring_pages: list[Path] = field(default_factory=list)
    lead_pages: list[Path] = field(default_factory=list)
    n_leads: int = 0
    seconds: float = 0.0


def page_name(case_id: str) -> str:
    """A file name for a case id (ids are ``CC-…``/``L-…``; anything else is replaced)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", case_id) + ".html"


def report(workspace: str | Path, out_dir: str | Path, *, lang: str = "zh", run_id: str | None = None,
           cap: int = 500, lead_pages: int = 200, progress=None) -> ReportResult:
    """Write the site of run ``run_id`` (default: the latest) of a workspace into ``out_dir``."""
    con = Workspace.open(workspace).connect(read_only=True)
    try:
        return write_report(con, out_dir, lang=lang, run_id=run_id, cap=cap, lead_pages=lead_pages,
                            progress=progress)
    finally:
        con.close()


def write_report(con, out_dir: str | Path, *, lang: str = "zh", run_id: str | None = None, cap: int = 500,
                 lead_pages: int = 200, progress=None) -> ReportResult:
    """The site of run ``run_id`` from the tables ``con`` reads (a workspace, or the copy
    ``graphfraud.neo4j.views`` fills from a graph)."""
    started = time.perf_counter()
    out = Path(out_dir)
    run_id = check_run(con, run_id)
    finished = con.execute("SELECT finished_at FROM detect_runs WHERE run_id = ?", [run_id]).fetchall()[0][0]
    cur = con.execute("SELECT * FROM rings WHERE run_id = ? ORDER BY rank, ring_id", [run_id])
    cols = [d[0] for d in cur.description]
    rings = [dict(zip(cols, r)) for r in cur.fetchall()]
    # the work queue, in its order (a run stored before the queue existed: every lead, by amount)
    cur = con.execute("""SELECT * FROM leads WHERE run_id = ? AND queued IS NOT FALSE
                         ORDER BY rank NULLS LAST, amount DESC, lead_id""", [run_id])
    cols = [d[0] for d in cur.description]
    leads = [dict(zip(cols, r)) for r in cur.fetchall()]
    not_queued = con.execute("SELECT count(*) FROM leads WHERE run_id = ? AND queued = FALSE",
                             [run_id]).fetchall()[0][0]
    out.mkdir(parents=True, exist_ok=True)
    write_assets(out / "assets")
    result = ReportResult(out, out / "index.html", run_id, n_leads=len(leads))
    (out / "rings").mkdir(exist_ok=True)
    (out / "leads").mkdir(exist_ok=True)
    assets = Assets("../assets")
    for r in rings:
        graph = ring_graph(con, r["ring_id"], run_id=run_id, cap=cap)
        page = out / "rings" / page_name(r["ring_id"])
        page.write_text(case_html(con, graph, lang=lang, assets=assets, back="../index.html", cap=cap),
                        encoding="utf-8")
        r["page"] = f"rings/{page.name}"
        r["members_text"] = " ".join(n.entity_id for n in graph.members)
        result.ring_pages.append(page)
        if progress:
            progress(r["ring_id"])
    for x in leads[:lead_pages]:
        graph = lead_graph(con, x["lead_id"], run_id=run_id, cap=cap)
        page = out / "leads" / page_name(x["lead_id"])
        page.write_text(case_html(con, graph, lang=lang, assets=assets, back="../index.html", cap=cap),
                        encoding="utf-8")
        x["page"] = f"leads/{page.name}"
        result.lead_pages.append(page)
    kinds = sorted({r["kind"] for r in rings})
    ctx = {
        "lang": lang, "t": lambda key, **kw: t(key, lang=lang, **kw), "rings": rings, "leads": leads,
        "kinds": [(k, kind_name(k, lang)) for k in kinds],
        "lead_kinds": sorted({x["kind"] for x in leads}),
        "money": fmt_money, "fmt_date": fmt_date, "run_id": run_id,
        "finished": fmt_date(finished.replace(microsecond=0) if isinstance(finished, dt.datetime) else finished),
        "n_over": sum(bool(r["over_transfer_threshold"]) for r in rings),
        # each claim once, though two rings share it (a card in a collection ring and a hub)
        "ring_amount": distinct_amount(con, "SELECT DISTINCT claim_id FROM ring_claims WHERE run_id = ?", [run_id]),
        "lead_amount": sum((Decimal(x["amount"]) for x in leads), Decimal("0.00")), "not_queued": not_queued,
        "css": assets_for_index().css(), "js": assets_for_index().js("table.js"),
        "version": __version__, "generated": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
    }
    result.index.write_text(page_env().get_template("index.html").render(**ctx), encoding="utf-8")
    result.seconds = time.perf_counter() - started
    return result


def distinct_amount(con, ids_sql: str, params: list) -> Decimal:
    """The exact total of the distinct claims ``ids_sql`` selects (reversed claims and their
    reversals net out, as in the rings' own totals)."""
    total = con.execute(f"""SELECT coalesce(sum(total_amount), 0) FROM claims
                            WHERE claim_id IN ({ids_sql})""", params).fetchall()[0][0]
    return Decimal(total).quantize(Decimal("0.01"))


def assets_for_index() -> Assets:
    return Assets("assets")
