"""Detection: detect on the workspace or Neo4j, and the demo that runs everything."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from graphfraud.cli.base import (
    friendly_errors,
    main,
    neo4j_options,
    neo4j_target,
    pad,
    workspace_option,
)
from graphfraud.cli.data import print_ingest_summary
from graphfraud.core.errors import GraphfraudError
from graphfraud.core.i18n import get_lang, t
from graphfraud.core.money import fmt_money
from graphfraud.demo import run_demo
from graphfraud.detect.registry import kind_name
from graphfraud.detect.run import ENGINES
from graphfraud.detect.run import detect as run_detect
from graphfraud.detect.settings import Settings
from graphfraud.neo4j.detect import detect as neo4j_detect
from graphfraud.store.results import LEAD_KINDS


@main.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("demo"),
              show_default=True, help="演示输出目录 / folder for the demo's data and workspace")
@click.option("--patients", type=click.IntRange(min=100), default=20000, show_default=True,
              help="参保人数量 / number of insured people")
@click.option("--months", type=click.IntRange(1, 36), default=3, show_default=True, help="月数 / months")
@click.option("--seed", type=int, default=7, show_default=True, help="随机种子 / random seed")
@click.pass_context
@friendly_errors
def demo(ctx, out_dir: Path, patients: int, months: int, seed: int):
    """一条命令跑通：生成、导入、检测、报告 / the whole job on a small synthetic region.

    Generates a region, ingests it into an embedded workspace, runs detection, prints the
    most suspicious rings with their reasons and writes the report site (demo/report),
    printing the path of its index to open in a browser.
    Safe to run again: it starts from a fresh folder each time.

    \b
    Example / 示例:
      graphfraud demo
      graphfraud --lang en demo --patients 5000
    """

    if out_dir.exists() and any(out_dir.iterdir()):
        # start afresh, but only ever delete what an earlier demo wrote
        if not ((out_dir / "data" / "truth.json").exists() or (out_dir / "workspace" / "graphfraud.duckdb").exists()):
            raise GraphfraudError("out_dir_not_empty", path=str(out_dir))
        shutil.rmtree(out_dir)
    quiet = ctx.obj["quiet"]
    result = run_demo(out_dir, patients=patients, months=months, seed=seed,
                      say=(lambda m: None) if quiet else click.echo)
    if not quiet:
        print_ingest_summary(result.ingest)
        print_detect_summary(result.detect, top=10)
        click.echo(t("demo_done", workspace=result.workspace, dataset=result.dataset, results=result.results))
        if result.report is not None:
            click.echo(t("demo_open", index=result.report.index.resolve()))


@main.command()
@workspace_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="结果目录（rings/ring_members/reasons/leads 的 CSV 与 Parquet，run.json）/ output folder")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="检测参数文件（TOML，只写要改的项）/ detector settings file (TOML, only what changes)")
@click.option("--top", type=click.IntRange(min=0), default=10, show_default=True,
              help="打印可疑度最高的前 N 个团伙 / print the N most suspicious rings")
@click.option("--memory-limit", default=None, help="DuckDB 内存上限 / DuckDB memory limit (default 4GB)")
@click.option("--engine", type=click.Choice(ENGINES), default="duckdb", show_default=True,
              help="共现引擎在哪里运行：duckdb（本机）或 spark / where the co-occurrence engine runs: duckdb or spark")
@click.option("--spark-master", default=None,
              help="Spark 主节点（默认本机 local[2]；集群如 yarn）/ Spark master (default local[2]; a cluster: yarn, k8s://…)")
@neo4j_options(required_env=False)
@click.pass_context
@friendly_errors
def detect(ctx, workspace: Path, out_dir: Path, config: Path | None, top: int, memory_limit: str | None,
           engine: str, spark_master: str | None,
           neo4j_uri: str | None, neo4j_user: str | None, neo4j_password: str | None, neo4j_database: str | None):
    """检测团伙与单项线索，写出评分与理由 / find rings and leads, with scores and reasons.

    Runs every enabled detector on the workspace: card collection and cohort admissions
    (co-occurrence with a significance model, Leiden communities), drug resale (excess
    supply, dense blocks by greedy peeling), trace-code reuse, doctor-pharmacy steering, shared phones and addresses, and seven single-card leads
    (after death, impossible travel, used while inpatient, overlapping supply, split
    admission, duplicate claim, demographic mismatch). Each ring gets a 0-100 score, reasons
    in Chinese and English and an id that stays stable from run to run. Writes rings,
    ring_members, reasons and leads as CSV (UTF-8 with BOM) and Parquet plus run.json into
    OUT, and keeps the run in the workspace.

    With --engine spark the co-occurrence engine (the bucketed self-join, the distinct-day
    counts and the null model) runs on Apache Spark, local mode by default (the spark extra);
    the results are the same (docs/engines.md).

    With --neo4j URI the tables are read from that Neo4j instead (cypher/extract/), the same
    detectors run, and the rings (with MEMBER_OF) and leads (linked to their claims) are
    written back into the graph, replacing those of the previous run with ids kept stable.

    \b
    Example / 示例:
      graphfraud detect --workspace ws --out results/2025-03
      graphfraud detect --workspace ws --out results/strict --config strict.toml --top 20
      graphfraud detect --neo4j bolt://localhost:7687 --out results/neo4j
      graphfraud detect --workspace ws --out results/spark --engine spark
    """

    settings = Settings.load(config)
    quiet = ctx.obj["quiet"]
    say = (lambda m: None) if quiet else click.echo
    step = lambda kind: say(t("detect_step", kind=kind_name(kind, get_lang())))  # noqa: E731
    if neo4j_uri:

        target = neo4j_target(neo4j_uri, neo4j_user, neo4j_password, neo4j_database, env=False)
        result = neo4j_detect(target, out_dir, settings=settings, memory_limit=memory_limit, progress=step)
        if not quiet:
            print_detect_summary(result, top)
            click.echo(t("detect_neo4j_written", rings=len(result.rings), leads=len(result.leads),
                         uri=target.safe_uri()))
        return
    result = run_detect(workspace, out_dir, settings=settings, memory_limit=memory_limit, progress=step,
                        engine=engine, spark_master=spark_master)
    if not quiet:
        print_detect_summary(result, top)


def print_detect_summary(result, top: int = 10) -> None:

    for kind, stats in result.stats.items():
        if kind == "leads":
            continue
        n_rings = sum(r.kind == kind for r in result.rings)
        if "significant_pairs" in stats:
            click.echo(t("detect_kind_line", kind=pad(kind_name(kind, get_lang()), 10), rings=n_rings,
                         pairs=int(stats["significant_pairs"]), seconds=result.timings.get(kind, 0.0)))
        else:
            click.echo(t("detect_kind_line_plain", kind=pad(kind_name(kind, get_lang()), 10), rings=n_rings,
                         seconds=result.timings.get(kind, 0.0)))
    click.echo(t("detect_changes", **{k: len(v) for k, v in result.changes.items()}))
    if "leads" in result.stats:
        from decimal import Decimal


        queued = [x for x in result.leads if x.queued]
        click.echo(t("detect_leads_header", n=len(result.leads), seconds=result.timings.get("leads", 0.0),
                     queued=len(queued), rest=len(result.leads) - len(queued)))
        for kind in LEAD_KINDS:
            mine = [x for x in result.leads if x.kind == kind]
            click.echo(t("detect_leads_line", kind=pad(t("lead." + kind), 20), n=len(mine),
                         queued=sum(x.queued for x in mine),
                         amount=fmt_money(sum((x.amount for x in mine), Decimal("0.00")))))
        shown_leads = sorted(queued, key=lambda x: x.rank)[:top]
        if shown_leads:
            click.echo(t("detect_top_leads_header", n=len(shown_leads)))
            click.echo(t("detect_top_leads_columns"))
            for x in shown_leads:
                click.echo(t("detect_top_lead_line", rank=x.rank, lead_id=x.lead_id, kind=pad(t("lead." + x.kind), 20),
                             score=x.score, amount=fmt_money(x.amount), card=x.entity_id))
                if x.reasons:
                    click.echo(t("detect_top_reason", text=x.reasons_line(get_lang(), top=2)))
    shown = result.rings[:top]
    if shown:
        click.echo(t("detect_top_header", n=len(shown)))
        click.echo(t("detect_top_columns"))
        for r in shown:
            dates = f"{r.first_date or '?'}~{r.last_date or '?'}"
            click.echo(t("detect_top_line", rank=r.rank, ring_id=r.ring_id, kind=pad(kind_name(r.kind, get_lang()), 16),
                         score=r.score, members=r.n_members, claims=r.n_claims, amount=fmt_money(r.total_amount),
                         dates=dates, over=t("yes") if r.over_transfer_threshold else t("no")))
            if r.reasons:
                click.echo(t("detect_top_reason", text=r.reasons_line(get_lang(), top=2)))
    over = sum(r.over_transfer_threshold for r in result.rings)
    click.echo(t("detect_done", run_id=result.run_id, rings=len(result.rings), over=over, seconds=result.seconds,
                 out=result.out_dir))
