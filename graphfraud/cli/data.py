"""Data in: generate a synthetic region, ingest a region's files, the workspace's status and rejects."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from graphfraud.cli.base import (
    Progress,
    RejectRate,
    friendly_errors,
    key_option,
    main,
    say,
    workspace_option,
)
from graphfraud.core.errors import GraphfraudError
from graphfraud.core.i18n import get_lang, t
from graphfraud.ingest.mapping import builtin_mappings
from graphfraud.ingest.readers import discover
from graphfraud.ingest.run import ingest as run_ingest
from graphfraud.store.status import find_rejects, workspace_status, write_rejects_csv
from graphfraud.synth.generate import generate_region


@main.command()
@click.argument("dataset_dir", type=click.Path(file_okay=False, path_type=Path))
@workspace_option
@click.option("--mapping", default=None,
              help="强制使用的映射（内置名称如 nhsa_zh 或 TOML 文件）/ force a mapping (built-in name or TOML file)")
@key_option
@click.option("--no-parquet", is_flag=True, help="不导出 Parquet / skip the Parquet export")
@click.option("--memory-limit", default=None,
              help="DuckDB 内存上限，超出部分写入工作区临时目录（默认 4GB 或 GRAPHFRAUD_MEMORY_LIMIT）/ "
                   "DuckDB memory limit; beyond it work spills to the workspace's tmp/ (default 4GB)")
@click.option("--max-reject-rate", type=RejectRate(), default="1%", show_default=True,
              help="每张表允许的拒绝比例（百分比）；超过时保留已载入的数据，以退出码 3 结束 / "
                   "largest share of a table's rows that may be rejected (percent); above it, what loaded is "
                   "kept and ingest exits with 3")
@click.option("--max-record-lines", type=click.IntRange(min=1), default=20, show_default=True,
              help="一条记录最多可跨的物理行数（仅在引号内）/ most physical lines a record may span (inside quotes)")
@click.pass_context
@friendly_errors
def ingest(ctx, dataset_dir: Path, workspace: Path, mapping: str | None, key_file: Path | None, no_parquet: bool,
           memory_limit: str | None, max_reject_rate: float, max_record_lines: int):
    """导入一个地区的结算数据到工作区 / load a dataset folder into the workspace.

    Reads every table of the data contract (CSV, CSV.gz, Parquet, XLSX; UTF-8 or GB18030),
    picks the mapping that fits the headers, validates, pseudonymises personal data and
    stores canonical tables. Every row is loaded, merged as a duplicate or rejected with a
    reason; the counts are printed and stored. Running it again on the same files changes
    nothing; a later month appends. A bad line costs only itself: a quote left open, a line
    in another encoding or mixed line ends never take their neighbours with them. When a
    table's rejects exceed --max-reject-rate, what loaded is kept and the exit code is 3.

    \b
    Example / 示例:
      graphfraud ingest data/region --workspace ws
      graphfraud ingest data/2025-02 --workspace ws --mapping nhsa_zh
      graphfraud ingest data/2025-03 --workspace ws --max-reject-rate 0.5%
    """

    quiet = ctx.obj["quiet"]
    found, _ = discover(dataset_dir, builtin_mappings()) if dataset_dir.is_dir() else ({}, [])
    steps = sum(len(v) for v in found.values()) + len(found)
    bar = Progress(max(steps, 1), t("reading_file", file=dataset_dir.name), quiet)
    notes: list[str] = []
    try:
        result = run_ingest(dataset_dir, workspace, mapping=mapping, key_file=key_file, parquet=not no_parquet,
                            memory_limit=memory_limit, progress=bar, note=notes.append,
                            max_record_lines=max_record_lines)
    finally:
        bar.close()
    if not quiet:
        for n in notes:
            click.echo(n)
        print_ingest_summary(result)
    if _reject_rate_exceeded(result, max_reject_rate):
        sys.exit(3)


def _reject_rate_exceeded(result, rate: float) -> bool:
    """Say which tables are over the reject rate (on stderr); whether any is."""
    over = result.over_reject_rate(rate)
    if not over:
        return False
    totals = result.totals()
    items = [t("ingest_rate_item", table=table, rate=f"{r:.2%}", rejected=totals[table]["rejected"],
               input=totals[table]["input"]) for table, r in over.items()]
    click.echo(t("ingest_over_reject_rate", limit=f"{rate:.2%}", tables="; ".join(items)), err=True)
    return True


def print_ingest_summary(result) -> None:
    reasons = result.reasons()
    for table, c in result.totals().items():
        click.echo(t("ingest_table_line", table=table, **c))
        for reason, n in reasons.get(table, {}).items():
            click.echo(t("ingest_reason_line", reason=f"{reason}（{t('reason.' + reason)}）" if get_lang() == "zh"
                         else f"{reason} ({t('reason.' + reason)})", count=n))
            cascade = result.cascades.get(table, {}).get(reason)
            if cascade:
                click.echo(t("ingest_cascade_line", rows=cascade["rows"], reason=reason,
                             because_of=cascade["because_of"]))
    for flag, n in result.flags.items():
        if n:
            click.echo(t("ingest_flag_line", flag=t("flag." + flag), count=n))
    click.echo(t("ingest_done", run_id=result.run_id, seconds=result.seconds, workspace=result.workspace))


@main.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--patients", type=click.IntRange(min=100), default=20000, show_default=True,
              help="参保人数量 / number of insured people")
@click.option("--months", type=click.IntRange(1, 36), default=3, show_default=True, help="月数 / months of data")
@click.option("--seed", type=int, default=7, show_default=True, help="随机种子 / random seed")
@click.option("--start", default="2025-01", show_default=True, help="起始月份 YYYY-MM / first month")
@click.option("--zh", is_flag=True, help="中文表头、GB18030 编码 / Chinese headers, GB18030 encoding")
@click.option("--difficulty", type=click.Choice(["default", "hard"]), default="default", show_default=True,
              help="hard：加入真实数据中常见的合法相似行为并伪装欺诈 / hard: add the legitimate look-alikes real "
                   "data has and camouflage the fraud")
@click.option("--force", is_flag=True, help="覆盖非空目录 / overwrite a non-empty folder")
@click.pass_context
@friendly_errors
def generate(ctx, out_dir: Path, patients: int, months: int, seed: int, start: str, zh: bool, difficulty: str,
             force: bool):
    """生成带有预埋团伙的模拟地区数据 / generate a synthetic region with planted rings.

    Writes the six tables of the data contract and truth.json (the planted rings, leads,
    decoys and dirty rows) so detection can be measured. With --difficulty hard the
    background also holds the legitimate look-alikes of real data (refills collected during
    a stay, rail and air travellers, one-pharmacy towns, dialysis wards, mass admissions...),
    listed in truth.json as decoys, and the planted fraud is camouflaged.

    \b
    Example / 示例:
      graphfraud generate data/region --patients 20000 --months 3 --seed 7
      graphfraud generate data/region-zh --patients 20000 --months 3 --seed 7 --zh
      graphfraud generate data/hard --patients 20000 --months 12 --difficulty hard
    """

    if out_dir.exists() and any(out_dir.iterdir()) and not force:
        raise GraphfraudError("out_dir_not_empty", path=str(out_dir))
    bar = Progress(8, t("progress_generate"), ctx.obj["quiet"])
    try:
        result = generate_region(out_dir, patients=patients, months=months, seed=seed, zh=zh, start=start,
                                 difficulty=difficulty, progress=lambda step: bar(t("gen_step." + step), 1))
    except ValueError as exc:
        raise GraphfraudError("bad_option", option="generate", detail=str(exc)) from None
    finally:
        bar.close()
    say(ctx, t("generate_done", patients=result.counts.get("patients", 0), claims=result.counts.get("claims", 0),
                items=result.counts.get("items", 0), out=result.out_dir, truth=result.truth_path.name,
                seconds=result.seconds))


@main.command()
@workspace_option
@click.pass_context
@friendly_errors
def status(ctx, workspace: Path):
    """显示工作区的表与导入记录 / show the workspace's tables and ingest runs.

    \b
    Example / 示例:
      graphfraud status --workspace ws
    """
    st = workspace_status(workspace)
    click.echo(t("status_header", workspace=st.path))
    for table, n in st.tables.items():
        click.echo(t("status_table_line", table=table, rows=n))
    click.echo(t("status_runs", runs=st.ingest_runs, last=st.last_ingest or "-"))
    if st.last_detect:
        click.echo(t("status_detect", runs=st.detect_runs, last=st.last_detect, rings=st.rings,
                     over=st.rings_over_threshold, out=st.last_out_dir))


@main.command()
@workspace_option
@click.option("--table", "table_name", default=None, help="只看某张表 / only this table")
@click.option("--reason", default=None, help="只看某个原因代码 / only this reason code")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="最多显示行数 / rows to show")
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="把全部拒绝行写入 CSV（UTF-8 BOM）/ write every matching reject to a CSV (UTF-8 with BOM)")
@click.pass_context
@friendly_errors
def rejects(ctx, workspace: Path, table_name: str | None, reason: str | None, limit: int, csv_out: Path | None):
    """列出被拒绝的输入行：文件、行号、列、原因 / list rejected input rows with file, line, column and reason.

    \b
    Example / 示例:
      graphfraud rejects --workspace ws --table claims --reason bad_amount
      graphfraud rejects --workspace ws --csv rejects.csv
    """
    if csv_out:
        write_rejects_csv(csv_out, find_rejects(workspace, table=table_name, reason=reason, order_by_table=False))
    found = find_rejects(workspace, table=table_name, reason=reason, limit=limit)
    click.echo(t("rejects_header", total=found.total, shown=len(found.rows)))
    for r in found.rows:
        name = t("reason." + r.reason)
        text = f"{r.reason}（{name}）" if get_lang() == "zh" else f"{r.reason} ({name})"
        if r.value is not None:
            text += f": {r.value!r}"
        click.echo(t("rejects_line", file=r.file, line=r.line, column=r.shown_column, reason_text=text))
