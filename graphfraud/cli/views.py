"""Views for investigators: a case, a neighbourhood, seed-and-expand, the report site."""

from __future__ import annotations

from pathlib import Path

import click

from graphfraud.cli.base import (
    friendly_errors,
    lang_option,
    main,
    run_option,
    say,
    view_lang,
    view_source_options,
)
from graphfraud.core.errors import GraphfraudError
from graphfraud.core.i18n import t
from graphfraud.core.money import fmt_money
from graphfraud.detect.settings import Settings
from graphfraud.store.source import Source
from graphfraud.views.casegraph import lead_graph, neighbourhood, ring_graph
from graphfraud.views.expand import expand as run_expand
from graphfraud.views.expand import page_rows, read_seeds, write_expand_csv
from graphfraud.views.render import case_html, write_case_page
from graphfraud.views.report import write_report


def _case_summary_line(graph, path: Path, lang: str | None = None) -> str:

    amount = graph.summary.get("total_amount")
    hidden = t("case_hidden", n=graph.hidden_nodes) if graph.hidden_nodes else ""
    return t("case_done", path=path, nodes=len(graph.nodes), edges=len(graph.edges), claims=len(graph.claim_ids),
             amount=fmt_money(amount) if amount is not None else "0.00", hidden=hidden)


@main.command()
@click.argument("case_id")
@view_source_options
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="输出 HTML 文件（默认 CASE_ID.html）/ output HTML file (default CASE_ID.html)")
@run_option
@click.option("--cap", type=click.IntRange(min=10), default=500, show_default=True,
              help="最多显示的节点数，其余次要节点折叠 / most nodes shown; the least important beyond are folded")
@lang_option
@click.pass_context
@friendly_errors
def case(ctx, case_id: str, source: Source, out: Path | None, run_id: str | None, cap: int,
         page_lang: str | None):
    """画出一个团伙或线索的关系图（离线 HTML）/ draw the network behind a ring or a lead.

    CASE_ID is a ring id (CC-…, CA-…, TC-…, DP-…, SI-…) or a lead id (L-…) of the latest
    detection run (or --run). The page shows the members, the facilities, doctors,
    terminals, drugs, phones and addresses that tie them, with claims, exact amounts and
    dates on every tie, the reasons, a timeline and every claim. It opens offline.
    With --neo4j URI the case is read from that graph (the run `detect --neo4j` wrote).

    \b
    Example / 示例:
      graphfraud case CC-6397B8A90D --workspace ws -o case.html
      graphfraud case CC-6397B8A90D --workspace ws -o case-en.html --lang en
      graphfraud case CC-6397B8A90D --neo4j bolt://localhost:7687 -o case.html
    """

    lang = view_lang(page_lang)
    with source.connect(run_id) as con:
        try:
            graph = ring_graph(con, case_id, run_id=run_id, cap=cap)
        except GraphfraudError as exc:
            if exc.key != "case_not_found":
                raise
            graph = lead_graph(con, case_id, run_id=run_id, cap=cap)
        path = write_case_page(con, graph, out or Path(f"{case_id}.html"), lang=lang, cap=cap)
    say(ctx, _case_summary_line(graph, path))


@main.command()
@click.argument("entity_id")
@view_source_options
@click.option("--type", "entity_type", type=click.Choice(["card", "patient", "doctor", "facility", "terminal",
                                                          "phone", "address"]), default="card", show_default=True,
              help="对象类型（电话、住址用假名 ph_…、ad_…）/ entity type (phones and addresses by pseudonym)")
@click.option("--hops", type=click.IntRange(1, 4), default=2, show_default=True, help="关系度数 / hops")
@click.option("--cap", type=click.IntRange(min=10), default=200, show_default=True,
              help="最多节点数（按结算笔数取前若干）/ most nodes, ranked by claims")
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="输出 HTML 文件（默认 explore-ENTITY_ID.html）/ output HTML file")
@lang_option
@click.pass_context
@friendly_errors
def explore(ctx, entity_id: str, source: Source, entity_type: str, hops: int, cap: int, out: Path | None,
            page_lang: str | None):
    """查看任一对象周围的关系网 / the neighbourhood of any card, person, doctor, facility, terminal or phone.

    Follows the claims that stand out from the entity for --hops steps, keeping at each step
    the neighbours with the most claims, up to --cap nodes, and draws them like a case.

    \b
    Example / 示例:
      graphfraud explore F00020 --type facility --hops 2 --workspace ws -o f00020.html
      graphfraud explore ph_302c414a7732058bf5c3 --type phone --workspace ws -o phone.html
      graphfraud explore F00020 --type facility --neo4j bolt://localhost:7687
    """

    lang = view_lang(page_lang)
    with source.connect() as con:
        graph = neighbourhood(con, entity_type, entity_id, hops=hops, cap=cap)
        path = write_case_page(con, graph, out or Path(f"explore-{entity_id}.html"), lang=lang, cap=cap)
    say(ctx, _case_summary_line(graph, path))


@main.command()
@click.option("--seed", "seed_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True,
              help="种子卡文件：每行一个经核实的卡号 / file of confirmed card ids, one per line")
@view_source_options
@click.option("--window", "window_minutes", type=click.IntRange(1, 240), default=None,
              help="相继结算的时间窗（分钟，默认取检测参数 card_collection.window_minutes，即 10）/ minutes apart "
                   "that count as settling together (default: the settings' card_collection.window_minutes, 10)")
@click.option("--min-days", type=click.IntRange(min=1), default=2, show_default=True,
              help="至少相遇的不同天数 / distinct days a card must meet a seed")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="检测参数文件（TOML）：地点类型、时间窗与引擎取自 [card_collection] 与 [engine] / detector "
                   "settings file (TOML): places, window and engine come from [card_collection] and [engine]")
@click.option("--top", type=click.IntRange(min=1), default=50, show_default=True, help="列出前 N 张卡 / cards listed")
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="写出 CSV（UTF-8 BOM）/ write the table as CSV (UTF-8 with BOM)")
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="写出 HTML 页面（关系图与表）/ write a page with the graph and the table")
@lang_option
@click.pass_context
@friendly_errors
def expand(ctx, seed_file: Path, source: Source, window_minutes: int | None, min_days: int, config: Path | None,
           top: int, csv_out: Path | None, out: Path | None, page_lang: str | None):
    """从核实的种子卡出发，找出模式相同的其他卡 / from confirmed cards to others sharing their pattern.

    Follows the seeds' pharmacies and terminals to the other cards settled there and ranks
    them by the distinct days they settled within --window minutes of a seed at the same
    place, against what chance predicts from their own visits (-log10 p), each with the
    seed and place that explain it.

    \b
    Example / 示例:
      graphfraud expand --seed confirmed.txt --workspace ws --csv related.csv -o related.html
      graphfraud expand --seed confirmed.txt --neo4j bolt://localhost:7687 -o related.html
    """

    lang = view_lang(page_lang)
    seeds = read_seeds(seed_file)
    settings = Settings.load(config)
    with source.connect() as con:
        result = run_expand(con, seeds, settings=settings, window_minutes=window_minutes, min_days=min_days, top=top,
                            graph=out is not None)
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(case_html(con, result.graph, lang=lang, extra={"expand_rows": page_rows(result, lang)}),
                           encoding="utf-8")
    if csv_out:
        write_expand_csv(csv_out, result, lang)
    if ctx.obj.get("quiet"):
        return
    click.echo(t("expand_header", lang=lang, found=len(result.seeds), missing=len(result.missing),
                 places=len(result.places), n=len(result.candidates)))
    if result.missing:
        click.echo(t("expand_missing", lang=lang, seeds=", ".join(result.missing)))
    click.echo(t("expand_columns", lang=lang))
    for i, c in enumerate(result.candidates, 1):
        click.echo(t("expand_line", lang=lang, rank=i, card=c.card_id, sig=c.significance, days=c.days,
                     expected=c.expected, seeds=c.seeds_met, path=c.path_text(lang)))
    for path in (csv_out, out):
        if path:
            click.echo(t("written", lang=lang, path=path))


@main.command()
@view_source_options
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="报告网站目录 / folder for the site")
@run_option
@click.option("--cap", type=click.IntRange(min=10), default=500, show_default=True,
              help="每个关系图最多节点数 / most nodes per graph")
@click.option("--lead-pages", type=click.IntRange(min=0), default=200, show_default=True,
              help="为金额最大的前 N 条线索生成页面 / pages for the N leads with the largest amounts")
@lang_option
@click.pass_context
@friendly_errors
def report(ctx, source: Source, out_dir: Path, run_id: str | None, cap: int, lead_pages: int,
           page_lang: str | None):
    """生成离线报告网站：团伙与线索列表、每个团伙一页 / write an offline report site of a detection run.

    index.html has a sortable, filterable table of the rings (score, kind, members, amount,
    dates, over-threshold, reasons) and of the leads; each ring has a page with its network,
    a timeline of its claims, its reasons, members, claims and totals. Everything the pages
    need is in the folder: no network request, open it from a disk or a USB stick.

    \b
    Example / 示例:
      graphfraud report --workspace ws --out site
      graphfraud report --workspace ws --out site-en --lang en
      graphfraud report --neo4j bolt://localhost:7687 --out site
    """

    lang = view_lang(page_lang)
    with source.connect(run_id) as con:
        result = write_report(con, out_dir, lang=lang, run_id=run_id, cap=cap, lead_pages=lead_pages)
    say(ctx, t("report_done", rings=len(result.ring_pages), leads=len(result.lead_pages), seconds=result.seconds,
                index=result.index.resolve()))
