"""The ``graphfraud`` command: a thin layer over the library.

Each command parses its options, calls one library function and turns a
``GraphfraudError`` into a one-line message in the chosen language (exit code 2).
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import click

from graphfraud import __version__
from graphfraud.core.errors import GraphfraudError
from graphfraud.core.i18n import get_lang, set_lang, t
from graphfraud.detect.registry import kind_name
from graphfraud.store.source import Source, WorkspaceSource


class Progress:
    """A click progress bar over a known number of steps, silent when ``quiet`` or when
    standard error is not a terminal."""

    def __init__(self, total: int, label: str, quiet: bool) -> None:
        self.enabled = not quiet and sys.stderr.isatty()
        self.bar = None
        if self.enabled:
            self.bar = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True,
                                         item_show_func=lambda x: x)
            self.bar.__enter__()

    def __call__(self, label: str, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n, label)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _say(ctx: click.Context, message: str) -> None:
    if not ctx.obj.get("quiet"):
        click.echo(message)


class RejectRate(click.ParamType):
    """A percentage such as ``1%``, ``0.5%`` or ``2`` (percent), as a fraction."""

    name = "percent"

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            return value
        text = str(value).strip().rstrip("%").strip()
        try:
            pct = float(text)
        except ValueError:
            self.fail(t("bad_option", option="--max-reject-rate", detail=value), param, ctx)
        if not 0 <= pct <= 100:
            self.fail(t("bad_option", option="--max-reject-rate", detail=value), param, ctx)
        return pct / 100


def friendly_errors(func):
    """Turn library errors into one line that says what to do, with exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except GraphfraudError as exc:
            click.echo(f"{t('error_prefix')}: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper


def workspace_option(func):
    return click.option(
        "--workspace", "-w", "workspace", type=click.Path(file_okay=False, path_type=Path),
        default=lambda: os.environ.get("GRAPHFRAUD_WORKSPACE", "workspace"), show_default="workspace",
        help="工作区目录 / workspace folder (env GRAPHFRAUD_WORKSPACE)",
    )(func)


def key_option(func):
    return click.option(
        "--key-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
        help="假名化密钥文件（默认 GRAPHFRAUD_KEY 或 ~/.config/graphfraud/key）/ pseudonymisation key file "
             "(default: GRAPHFRAUD_KEY, else ~/.config/graphfraud/key, created on first use with mode 0600)",
    )(func)


def signing_key_option(func):
    return click.option(
        "--signing-key", "signing_key", type=click.Path(dir_okay=False, path_type=Path), default=None,
        help="局方签名私钥（默认 GRAPHFRAUD_SIGNING_KEY 或 ~/.config/graphfraud/signing-key.pem）/ the bureau's "
             "signing key (default: GRAPHFRAUD_SIGNING_KEY, else ~/.config/graphfraud/signing-key.pem)",
    )(func)


def public_key_option(func):
    return click.option(
        "--public-key", "public_keys", type=click.Path(dir_okay=False, exists=True, path_type=Path), multiple=True,
        help="信任的局方公钥文件（可多次给出，如换过密钥）/ a trusted public key of the bureau (repeatable, e.g. "
             "after a key change)",
    )(func)


def neo4j_options(required_env: bool):
    """--neo4j URI and credentials. ``required_env``: the URI may come from NEO4J_URI (commands
    that only talk to Neo4j); otherwise it must be given explicitly, so that a set NEO4J_URI
    never silently switches a command away from the workspace."""

    def wrap(func):
        func = click.option("--neo4j-database", "neo4j_database", default=None,
                            help="数据库名（默认服务器默认库，或 NEO4J_DATABASE）/ database name (default: the server's)"
                            )(func)
        func = click.option("--neo4j-password", "neo4j_password", default=None,
                            help="密码（建议用环境变量 NEO4J_PASSWORD）/ password (better: env NEO4J_PASSWORD)")(func)
        func = click.option("--neo4j-user", "neo4j_user", default=None,
                            help="用户名（默认 NEO4J_USERNAME 或 neo4j）/ user (default: NEO4J_USERNAME, else neo4j)")(func)
        help_text = ("Neo4j 地址，如 bolt://localhost:7687" + ("（默认 NEO4J_URI）" if required_env else "") +
                     " / Neo4j address, e.g. bolt://localhost:7687" + (" (default: NEO4J_URI)" if required_env else ""))
        return click.option("--neo4j", "neo4j_uri", default=None, metavar="URI", help=help_text)(func)

    return wrap


def _target(uri, user, password, database, *, env: bool):
    from graphfraud.neo4j.connect import Neo4jTarget

    if not uri and not env:
        raise GraphfraudError("neo4j_uri_missing")
    return Neo4jTarget.from_options(uri, user, password, database)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="graphfraud")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None,
              help="界面语言（默认中文，或环境变量 GRAPHFRAUD_LANG）/ language of messages (default zh)")
@click.option("--quiet", "-q", is_flag=True, help="不显示进度与摘要 / no progress bar or summary")
@click.pass_context
def main(ctx: click.Context, lang: str | None, quiet: bool) -> None:
    """graphfraud：在医保结算数据中发现欺诈骗保团伙。

    graphfraud finds collusion networks (rings) and single-entity leads in medical-insurance
    settlement data, with reasons in Chinese and English and evidence packages for the police.

    \b
    Example / 示例:
      graphfraud demo
      graphfraud generate data/region --patients 20000 --months 3 --seed 7
      graphfraud ingest data/region --workspace ws
      graphfraud detect --workspace ws --out results
      graphfraud report --workspace ws --out site
    """
    set_lang(lang)
    ctx.ensure_object(dict)
    ctx.obj["quiet"] = quiet


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
    from graphfraud.ingest.mapping import builtin_mappings
    from graphfraud.ingest.readers import discover
    from graphfraud.ingest.run import ingest as run_ingest

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
        _print_ingest_summary(result)
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


def _print_ingest_summary(result) -> None:
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
    from graphfraud.synth.generate import generate_region

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
    _say(ctx, t("generate_done", patients=result.counts.get("patients", 0), claims=result.counts.get("claims", 0),
                items=result.counts.get("items", 0), out=result.out_dir, truth=result.truth_path.name,
                seconds=result.seconds))


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
    import shutil

    from graphfraud.demo import run_demo

    if out_dir.exists() and any(out_dir.iterdir()):
        # start afresh, but only ever delete what an earlier demo wrote
        if not ((out_dir / "data" / "truth.json").exists() or (out_dir / "workspace" / "graphfraud.duckdb").exists()):
            raise GraphfraudError("out_dir_not_empty", path=str(out_dir))
        shutil.rmtree(out_dir)
    quiet = ctx.obj["quiet"]
    result = run_demo(out_dir, patients=patients, months=months, seed=seed,
                      say=(lambda m: None) if quiet else click.echo)
    if not quiet:
        _print_ingest_summary(result.ingest)
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
@neo4j_options(required_env=False)
@click.pass_context
@friendly_errors
def detect(ctx, workspace: Path, out_dir: Path, config: Path | None, top: int, memory_limit: str | None,
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

    With --neo4j URI the tables are read from that Neo4j instead (cypher/extract/), the same
    detectors run, and the rings (with MEMBER_OF) and leads (linked to their claims) are
    written back into the graph, replacing those of the previous run with ids kept stable.

    \b
    Example / 示例:
      graphfraud detect --workspace ws --out results/2025-03
      graphfraud detect --workspace ws --out results/strict --config strict.toml --top 20
      graphfraud detect --neo4j bolt://localhost:7687 --out results/neo4j
    """
    from graphfraud.detect.run import detect as run_detect
    from graphfraud.detect.settings import Settings

    settings = Settings.load(config)
    quiet = ctx.obj["quiet"]
    say = (lambda m: None) if quiet else click.echo
    step = lambda kind: say(t("detect_step", kind=kind_name(kind, get_lang())))  # noqa: E731
    if neo4j_uri:
        from graphfraud.neo4j.detect import detect as neo4j_detect

        target = _target(neo4j_uri, neo4j_user, neo4j_password, neo4j_database, env=False)
        result = neo4j_detect(target, out_dir, settings=settings, memory_limit=memory_limit, progress=step)
        if not quiet:
            print_detect_summary(result, top)
            click.echo(t("detect_neo4j_written", rings=len(result.rings), leads=len(result.leads),
                         uri=target.safe_uri()))
        return
    result = run_detect(workspace, out_dir, settings=settings, memory_limit=memory_limit, progress=step)
    if not quiet:
        print_detect_summary(result, top)


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(0, width - _width(text))
    return fill + text if right else text + fill


def print_detect_summary(result, top: int = 10) -> None:
    from graphfraud.core.money import fmt_money

    for kind, stats in result.stats.items():
        if kind == "leads":
            continue
        n_rings = sum(r.kind == kind for r in result.rings)
        if "significant_pairs" in stats:
            click.echo(t("detect_kind_line", kind=_pad(kind_name(kind, get_lang()), 10), rings=n_rings,
                         pairs=int(stats["significant_pairs"]), seconds=result.timings.get(kind, 0.0)))
        else:
            click.echo(t("detect_kind_line_plain", kind=_pad(kind_name(kind, get_lang()), 10), rings=n_rings,
                         seconds=result.timings.get(kind, 0.0)))
    click.echo(t("detect_changes", **{k: len(v) for k, v in result.changes.items()}))
    if "leads" in result.stats:
        from decimal import Decimal

        from graphfraud.store.results import LEAD_KINDS

        queued = [x for x in result.leads if x.queued]
        click.echo(t("detect_leads_header", n=len(result.leads), seconds=result.timings.get("leads", 0.0),
                     queued=len(queued), rest=len(result.leads) - len(queued)))
        for kind in LEAD_KINDS:
            mine = [x for x in result.leads if x.kind == kind]
            click.echo(t("detect_leads_line", kind=_pad(t("lead." + kind), 20), n=len(mine),
                         queued=sum(x.queued for x in mine),
                         amount=fmt_money(sum((x.amount for x in mine), Decimal("0.00")))))
        shown_leads = sorted(queued, key=lambda x: x.rank)[:top]
        if shown_leads:
            click.echo(t("detect_top_leads_header", n=len(shown_leads)))
            click.echo(t("detect_top_leads_columns"))
            for x in shown_leads:
                click.echo(t("detect_top_lead_line", rank=x.rank, lead_id=x.lead_id, kind=_pad(t("lead." + x.kind), 20),
                             score=x.score, amount=fmt_money(x.amount), card=x.entity_id))
                if x.reasons:
                    click.echo(t("detect_top_reason", text=x.reasons_line(get_lang(), top=2)))
    shown = result.rings[:top]
    if shown:
        click.echo(t("detect_top_header", n=len(shown)))
        click.echo(t("detect_top_columns"))
        for r in shown:
            dates = f"{r.first_date or '?'}~{r.last_date or '?'}"
            click.echo(t("detect_top_line", rank=r.rank, ring_id=r.ring_id, kind=_pad(kind_name(r.kind, get_lang()), 16),
                         score=r.score, members=r.n_members, claims=r.n_claims, amount=fmt_money(r.total_amount),
                         dates=dates, over=t("yes") if r.over_transfer_threshold else t("no")))
            if r.reasons:
                click.echo(t("detect_top_reason", text=r.reasons_line(get_lang(), top=2)))
    over = sum(r.over_transfer_threshold for r in result.rings)
    click.echo(t("detect_done", run_id=result.run_id, rings=len(result.rings), over=over, seconds=result.seconds,
                 out=result.out_dir))


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
    from graphfraud.store.workspace import Workspace

    ws = Workspace.open(workspace)
    con = ws.connect(read_only=True)
    try:
        click.echo(t("status_header", workspace=ws.path))
        for table, n in ws.table_counts(con).items():
            click.echo(t("status_table_line", table=table, rows=n))
        runs, last = con.execute("SELECT count(*), max(run_id) FROM ingest_runs").fetchall()[0]
        click.echo(t("status_runs", runs=runs, last=last or "-"))
        has_detect = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'detect_runs'"
                                 ).fetchall()[0][0]
        if has_detect:
            rows = con.execute("""
                SELECT d.run_id, d.out_dir, count(r.ring_id), count(r.ring_id) FILTER (WHERE r.over_transfer_threshold)
                FROM detect_runs d LEFT JOIN rings r USING (run_id)
                GROUP BY d.run_id, d.out_dir, d.finished_at ORDER BY d.finished_at DESC LIMIT 1""").fetchall()
            n_runs = con.execute("SELECT count(*) FROM detect_runs").fetchall()[0][0]
            if rows:
                run_id, out, n_rings, over = rows[0]
                click.echo(t("status_detect", runs=n_runs, last=run_id, rings=n_rings, over=over, out=out))
    finally:
        con.close()


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
    from graphfraud.store.workspace import Workspace

    ws = Workspace.open(workspace)
    con = ws.connect(read_only=True)
    try:
        where = "WHERE (? IS NULL OR table_name = ?) AND (? IS NULL OR reason = ?)"
        params = [table_name, table_name, reason, reason]
        total = con.execute(f"SELECT count(*) FROM rejects {where}", params).fetchall()[0][0]
        if csv_out:
            from graphfraud.core.safe_text import write_csv

            rows = con.execute(
                f"SELECT table_name, source_file, line, column_name, source_column, reason, value, raw "
                f"FROM rejects {where} ORDER BY source_file, line", params).fetchall()
            write_csv(csv_out, ["table", "file", "line", "column", "source_column", "reason", "reason_text", "value",
                                "raw"],
                      ([*(None if v is None else str(v) for v in r[:6]), t("reason." + r[5]), r[6], r[7]]
                       for r in rows))
        rows = con.execute(
            f"SELECT source_file, line, coalesce(source_column, column_name, '-'), reason, value FROM rejects {where} "
            f"ORDER BY table_name, source_file, line LIMIT ?", [*params, limit]).fetchall()
        click.echo(t("rejects_header", total=total, shown=len(rows)))
        for file, line, column, code, value in rows:
            text = f"{code}（{t('reason.' + code)}）" if get_lang() == "zh" else f"{code} ({t('reason.' + code)})"
            if value is not None:
                text += f": {value!r}"
            click.echo(t("rejects_line", file=file, line=line, column=column, reason_text=text))
    finally:
        con.close()

# neo4j
@main.command()
@workspace_option
@neo4j_options(required_env=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=5000, show_default=True,
              help="每个事务写入的行数 / rows written per transaction")
@click.option("--writers", type=click.IntRange(1, 8), default=2, show_default=True,
              help="并发写入结算与明细的连接数 / concurrent writers for the claims and claim lines")
@click.option("--no-aggregate", is_flag=True,
              help="不计算 VISITED、PRESCRIBES_TO 汇总边 / skip the aggregated exploration edges")
@click.option("--bulk", "bulk_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="改为写出 neo4j-admin 导入用的 CSV 到此目录 / write neo4j-admin import CSVs here instead")
@click.option("--neo4j-home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="与 --bulk 同用：直接导入到这个（已停止的）Neo4j 目录 / with --bulk: run the import into this "
                   "stopped Neo4j home (its database is replaced)")
@click.pass_context
@friendly_errors
def load(ctx, workspace: Path, neo4j_uri, neo4j_user, neo4j_password, neo4j_database, batch_size: int,
         writers: int, no_aggregate: bool, bulk_dir: Path | None, neo4j_home: Path | None):
    """把工作区的数据载入 Neo4j / load the workspace's tables into Neo4j.

    Over Bolt (--neo4j, or NEO4J_URI): applies cypher/schema.cypher, then writes each table
    in batches (UNWIND $rows with MERGE on constrained keys), so loading twice changes
    nothing and an interrupted load continues after its last committed batch; transient
    errors are retried. Claims and claim lines are written by --writers connections at once,
    each with its own share (claims by the card's holder, lines by claim). Then builds the exploration edges (Card-VISITED->Facility,
    Doctor-PRESCRIBES_TO->Pharmacy). Credentials from --neo4j-user/--neo4j-password or
    NEO4J_USERNAME/NEO4J_PASSWORD.

    With --bulk DIR: writes CSV files for `neo4j-admin database import full` (a new or empty
    database, the fastest start for a large region) and prints the command, or runs it into
    --neo4j-home. Afterwards `graphfraud load --neo4j URI` adds constraints and aggregates.

    \b
    Example / 示例:
      export NEO4J_PASSWORD=...   # see .env.example
      graphfraud load --workspace ws --neo4j bolt://localhost:7687
      graphfraud load --workspace ws --bulk import/ --neo4j-home /var/lib/neo4j
    """
    quiet = ctx.obj["quiet"]
    if bulk_dir is not None:
        from graphfraud.neo4j import bulk

        res = bulk.export(workspace, bulk_dir)
        _say(ctx, t("bulk_written", nodes=res.nodes, rels=res.relationships, dir=bulk_dir, seconds=res.export_seconds))
        if neo4j_home is None:
            click.echo(t("bulk_command", command=res.command_line(), jvm=" ".join(bulk.IMPORT_JVM_OPTIONS)))
            return
        try:
            bulk.run_import(res, neo4j_home, database=neo4j_database or "neo4j")
        except (RuntimeError, FileNotFoundError) as exc:
            raise GraphfraudError("bulk_import_failed", detail=str(exc).splitlines()[0],
                                  command=res.command_line()) from None
        _say(ctx, t("bulk_imported", records=res.records, home=neo4j_home, seconds=res.import_seconds,
                    rate=f"{res.records / max(res.import_seconds, 1e-9):,.0f}"))
        return
    from graphfraud.neo4j.load import load as run_load
    from graphfraud.neo4j.load import table_rows

    target = _target(neo4j_uri, neo4j_user, neo4j_password, neo4j_database, env=True)
    total = sum(table_rows(workspace).values())
    bar = Progress(max(total, 1), t("progress_load"), quiet)
    try:
        result = run_load(workspace, target, batch_size=batch_size, aggregate=not no_aggregate, writers=writers,
                          progress=lambda table, n: bar(table, n))
    finally:
        bar.close()
    if quiet:
        return
    if result.resumed:
        click.echo(t("load_resumed"))
    for st in result.tables.values():
        click.echo(t("load_table_line", table=_pad(st.table, 10), rows=st.rows, nodes=st.nodes_created,
                     rels=st.relationships_created, skipped=st.skipped_batches, rate=f"{st.rows_per_s:,.0f}"))
    secs = max(result.seconds, 1e-9)
    click.echo(t("load_done", rows=result.rows, uri=target.safe_uri(), seconds=result.seconds,
                 rate=f"{result.rows / secs:,.0f}", rels_rate=f"{result.relationships_created / secs:,.0f}",
                 agg=result.aggregate_seconds))


@main.command()
@click.argument("name", required=False)
@click.option("--param", "-p", "params", multiple=True, metavar="K=V",
              help="查询参数，可重复 / a query parameter, repeatable")
@neo4j_options(required_env=True)
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="把结果写入 CSV（UTF-8 BOM）/ write the rows to a CSV (UTF-8 with BOM)")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True,
              help="最多显示行数 / rows to print")
@click.pass_context
@friendly_errors
def query(ctx, name: str | None, params: tuple[str, ...], neo4j_uri, neo4j_user, neo4j_password, neo4j_database,
          csv_out: Path | None, limit: int):
    """运行稽核查询库中的一条查询 / run a query of the investigator library (cypher/queries).

    Without NAME, lists the queries with what each returns and its parameters. Values are
    passed as parameters, never pasted into the query; amounts in fen are shown in yuan.

    \b
    Example / 示例:
      graphfraud query
      graphfraud query ring_overview --param limit=10 --neo4j bolt://localhost:7687
      graphfraud query co_swiped_cards -p card_id=C1234567890 -p window_minutes=10 --csv cards.csv
    """
    from graphfraud.neo4j.queries import cell, parse_value, queries, run_query

    lib = queries()
    if not name:
        for qname, q in sorted(lib.items()):
            summary = next((ln for ln in q.comment.splitlines() if ln and not ln.lower().startswith("params:")
                            and (get_lang() == "zh") == any("\u4e00" <= ch <= "\u9fff" for ch in ln)), "")
            click.echo(t("query_list_line", name=qname, summary=summary,
                         params=", ".join(f"${p}" for p in q.params) or "-"))
        return
    given = {}
    for item in params:
        if "=" not in item:
            raise GraphfraudError("bad_option", option="--param", detail=item)
        k, v = item.split("=", 1)
        given[k.strip()] = parse_value(v)
    target = _target(neo4j_uri, neo4j_user, neo4j_password, neo4j_database, env=True)
    columns, rows = run_query(target, name, given)
    headers = [c[:-4] + "_yuan" if c.endswith("_fen") else c for c in columns]
    if csv_out:
        from graphfraud.core.safe_text import write_csv

        write_csv(csv_out, headers, ([cell(c, v) for c, v in zip(columns, r)] for r in rows))
    shown = [[cell(c, v) for c, v in zip(columns, r)] for r in rows[:limit]]
    widths = [max([_width(h)] + [min(_width(x), 60) for x in col]) for h, col in
              zip(headers, zip(*shown) if shown else [[] for _ in headers])]
    click.echo("  ".join(_pad(h, w) for h, w in zip(headers, widths)))
    for r in shown:
        click.echo("  ".join(_pad(x if _width(x) <= 60 else x[:57] + "...", w) for x, w in zip(r, widths)))
    _say(ctx, t("query_rows", n=len(rows), shown=len(shown)))


# ------------------------------------------------------------------ views
def _view_lang(lang: str | None) -> str:
    """A view command's --lang (pages and messages), else the global one."""
    if lang:
        set_lang(lang)
    return get_lang()


def lang_option(func):
    return click.option("--lang", "page_lang", type=click.Choice(["zh", "en"]), default=None,
                        help="页面与提示的语言（默认同全局 --lang，即中文）/ language of the pages and messages "
                             "(default: the global --lang, zh)")(func)


def run_option(func):
    return click.option("--run", "run_id", default=None,
                        help="检测运行编号（默认最近一次）/ detection run id (default: the latest)")(func)


def view_source(workspace: Path, neo4j_uri: str | None, neo4j_user: str | None, neo4j_password: str | None,
                neo4j_database: str | None):
    """Where a view reads (``store.source.Source``): the workspace, or the Neo4j of --neo4j."""
    if neo4j_uri:
        from graphfraud.neo4j.views import Neo4jSource

        return Neo4jSource(_target(neo4j_uri, neo4j_user, neo4j_password, neo4j_database, env=False))
    return WorkspaceSource(workspace)


def view_source_options(func):
    """--workspace and the --neo4j options, handed to the command as one ``source``."""

    @functools.wraps(func)
    def wrapper(*args, workspace, neo4j_uri, neo4j_user, neo4j_password, neo4j_database, **kwargs):
        return func(*args, source=view_source(workspace, neo4j_uri, neo4j_user, neo4j_password, neo4j_database),
                    **kwargs)

    return workspace_option(neo4j_options(required_env=False)(wrapper))


def _case_summary_line(graph, path: Path, lang: str | None = None) -> str:
    from graphfraud.core.money import fmt_money

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
    from graphfraud.views.casegraph import lead_graph, ring_graph
    from graphfraud.views.render import write_case_page

    lang = _view_lang(page_lang)
    with source.connect(run_id) as con:
        try:
            graph = ring_graph(con, case_id, run_id=run_id, cap=cap)
        except GraphfraudError as exc:
            if exc.key != "case_not_found":
                raise
            graph = lead_graph(con, case_id, run_id=run_id, cap=cap)
        path = write_case_page(con, graph, out or Path(f"{case_id}.html"), lang=lang, cap=cap)
    _say(ctx, _case_summary_line(graph, path))


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
    from graphfraud.views.casegraph import neighbourhood
    from graphfraud.views.render import write_case_page

    lang = _view_lang(page_lang)
    with source.connect() as con:
        graph = neighbourhood(con, entity_type, entity_id, hops=hops, cap=cap)
        path = write_case_page(con, graph, out or Path(f"explore-{entity_id}.html"), lang=lang, cap=cap)
    _say(ctx, _case_summary_line(graph, path))


@main.command()
@click.option("--seed", "seed_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True,
              help="种子卡文件：每行一个经核实的卡号 / file of confirmed card ids, one per line")
@view_source_options
@click.option("--window", "window_minutes", type=click.IntRange(1, 240), default=10, show_default=True,
              help="相继结算的时间窗（分钟）/ minutes apart that count as settling together")
@click.option("--min-days", type=click.IntRange(min=1), default=2, show_default=True,
              help="至少相遇的不同天数 / distinct days a card must meet a seed")
@click.option("--top", type=click.IntRange(min=1), default=50, show_default=True, help="列出前 N 张卡 / cards listed")
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="写出 CSV（UTF-8 BOM）/ write the table as CSV (UTF-8 with BOM)")
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="写出 HTML 页面（关系图与表）/ write a page with the graph and the table")
@lang_option
@click.pass_context
@friendly_errors
def expand(ctx, seed_file: Path, source: Source, window_minutes: int, min_days: int, top: int,
           csv_out: Path | None, out: Path | None, page_lang: str | None):
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
    from graphfraud.views.expand import expand as run_expand
    from graphfraud.views.expand import read_seeds
    from graphfraud.views.render import fmt_date

    lang = _view_lang(page_lang)
    seeds = read_seeds(seed_file)
    with source.connect() as con:
        result = run_expand(con, seeds, window_minutes=window_minutes, min_days=min_days, top=top,
                            graph=out is not None)
        if out is not None:
            from graphfraud.views.render import case_html

            rows = [{"card_id": c.card_id, "significance": c.significance, "days": c.days, "expected": c.expected,
                     "seeds_met": c.seeds_met, "path_text": c.path_text(lang)} for c in result.candidates]
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(case_html(con, result.graph, lang=lang, extra={"expand_rows": rows}), encoding="utf-8")
    if csv_out:
        from graphfraud.core.safe_text import write_csv

        write_csv(csv_out, ["rank", "card_id", "significance", "days_with_seeds", "expected", "seeds_met", "claims",
                            "amount", "first_date", "last_date", "path_seed", "path_place", "path_days", "path_text"],
                  ([str(i), c.card_id, f"{c.significance:.2f}", str(c.days), f"{c.expected:.3f}", str(c.seeds_met),
                    str(c.claims), f"{c.amount:.2f}", fmt_date(c.first_date), fmt_date(c.last_date), c.seed, c.place,
                    str(c.place_days), c.path_text(lang)] for i, c in enumerate(result.candidates, 1)))
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
    from graphfraud.views.report import write_report

    lang = _view_lang(page_lang)
    with source.connect(run_id) as con:
        result = write_report(con, out_dir, lang=lang, run_id=run_id, cap=cap, lead_pages=lead_pages)
    _say(ctx, t("report_done", rings=len(result.ring_pages), leads=len(result.lead_pages), seconds=result.seconds,
                index=result.index.resolve()))
@main.command(name="export")
@click.argument("case_id")
@workspace_option
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="证据包目录（新建或空目录）/ package folder (new or empty)")
@click.option("--zip", "make_zip", is_flag=True, help="同时在旁边写出 <目录>.zip / also write <folder>.zip beside it")
@click.option("--reveal", is_flag=True,
              help="用密钥还原本案人员的姓名、身份证号、电话与住址（记入审计日志）/ restore the names, citizen IDs, "
                   "phones and addresses of the case's people with the key (recorded in the audit log)")
@click.option("--key", "--key-file", "key_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="还原身份用的密钥文件（默认 GRAPHFRAUD_KEY 或 ~/.config/graphfraud/key）/ key file for --reveal")
@click.option("--operator", default=None, help="操作人（默认当前登录名）/ who exports (default: the login name)")
@click.option("--run", "run_id", default=None, help="检测运行编号（默认最近一次）/ detection run (default: the latest)")
@signing_key_option
@click.pass_context
@friendly_errors
def export_cmd(ctx, case_id: str, workspace: Path, out_dir: Path, make_zip: bool, reveal: bool,
               key_file: Path | None, operator: str | None, run_id: str | None, signing_key: Path | None):
    """导出一个团伙或线索的证据包 / write the evidence package of one ring or lead.

    CASE_ID is a ring id (e.g. CC-1A2B3C4D5E) or a lead id (L-...) of the latest detection run.
    The package holds nodes.csv, edges.csv, case.graphml, case.gexf (Gephi timeline),
    case.anx (i2 Analyst's Notebook), claims.csv and items.csv (every settlement and line
    behind the case, as stored), summary.json, a printable offline case.html,
    manifest.json with the SHA-256 of every file and manifest.sig, its signature by the
    bureau's signing key (`graphfraud keys init` creates one; a zip gets CASE.zip.sig beside
    it). Identities stay pseudonyms unless --reveal is given with the key. Every export is
    appended to the workspace's audit log, signed too.

    \b
    Example / 示例:
      graphfraud export CC-1A2B3C4D5E --workspace ws --out cases/CC-1A2B3C4D5E --zip
      graphfraud export CC-1A2B3C4D5E -w ws --out cases/CC-1A2B3C4D5E-id --reveal --key key.txt --operator 张警官
    """
    from decimal import Decimal

    from graphfraud.core.money import fmt_money
    from graphfraud.evidence.package import export_case
    from graphfraud.evidence.signing import short_fingerprint

    if key_file is not None and not reveal:
        raise GraphfraudError("bad_option", option="--key", detail="--key / --key-file only with --reveal")
    r = export_case(workspace, case_id, out_dir, run_id=run_id, make_zip=make_zip, reveal=reveal,
                    key_file=key_file, operator=operator, signing_key=signing_key)
    if ctx.obj["quiet"]:
        return
    s = r.summary
    kind = s["kind_zh"] if get_lang() == "zh" else s["kind_en"]
    click.echo(t("export.done", case=r.case_id, kind=kind, out=r.out_dir, files=len(r.files),
                 claims=s["counts"]["claims"],
                 total=fmt_money(Decimal(s["total_amount"])),
                 fund=fmt_money(Decimal(s["fund_amount"])), first=s["first_date"] or "-",
                 last=s["last_date"] or "-", over=t("yes") if s["over_transfer_threshold"] else t("no"),
                 reward=fmt_money(Decimal(s["whistleblower_reward"]))))
    if r.zip_path:
        click.echo(t("export.zip", zip=r.zip_path))
    click.echo(t("export.revealed", n=len(r.revealed)) if reveal else t("export.pseudonymised"))
    click.echo(t("export.audit", seq=r.audit_entry["seq"], manifest=r.manifest_sha256))
    click.echo(t("export.signed", fingerprint=short_fingerprint(r.signer)))


@main.command(name="verify")
@click.argument("package", type=click.Path(path_type=Path))
@public_key_option
@click.option("--fingerprint", "fingerprints", multiple=True,
              help="信任的公钥指纹（至少 32 位十六进制，可多次给出）/ a trusted key fingerprint (32+ hex digits, "
                   "repeatable)")
@click.option("--workspace", "-w", "workspace", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="同时核对该工作区审计日志中是否记有此包 / also check the package is in this workspace's audit log")
@click.pass_context
@friendly_errors
def verify_cmd(ctx, package: Path, public_keys: tuple[Path, ...], fingerprints: tuple[str, ...],
               workspace: Path | None):
    """核验证据包：签名与每个文件的 SHA-256 / prove where a package comes from and that nothing in it changed.

    Checks the bureau's Ed25519 signature of manifest.json (manifest.sig) and of a zip
    (CASE.zip.sig beside it), then recomputes the SHA-256 of every file the manifest lists
    (folder or zip) and names each file that was altered, is missing, was added or is stored
    twice. With --public-key (or --fingerprint) the signing key must be that one: the
    recipient's proof of origin, without the workspace. Without either, the local signing key
    is trusted when there is one; otherwise origin is not checked and the output says so.
    Exit code 0 when the package is intact (and from a trusted key when one was named),
    1 when anything is wrong, 2 when the package cannot be read at all.

    \b
    Example / 示例:
      graphfraud keys export-public --out bureau.pub        # at the bureau
      graphfraud verify cases/CC-1A2B3C4D5E.zip --public-key bureau.pub   # at the police
      graphfraud verify cases/CC-1A2B3C4D5E --workspace ws
    """
    from graphfraud.evidence.integrity import verify_package
    from graphfraud.evidence.signing import TrustedKeys, local_trusted, short_fingerprint

    trusted = TrustedKeys.from_options(public_keys, fingerprints) or local_trusted()
    report = verify_package(package, trusted)
    for name in report.altered:
        click.echo(t("verify.altered", file=name))
    for name in report.missing:
        click.echo(t("verify.missing", file=name))
    for name in report.extra:
        click.echo(t("verify.extra", file=name))
    for name in report.duplicates:
        click.echo(t("verify.duplicate", file=name))
    for name in report.unsafe:
        click.echo(t("verify.unsafe", file=name))
    problems = report.problems
    sig = report.signature
    fp = short_fingerprint(sig.fingerprint) if sig.fingerprint else ""
    if sig.status != "valid":
        click.echo(t("verify.signature_" + sig.status, file="manifest.sig", fingerprint=fp))
    elif sig.trusted is False:
        click.echo(t("verify.untrusted", fingerprint=fp))
    elif sig.trusted is None:
        _say(ctx, t("verify.origin_unchecked", fingerprint=fp))
    else:
        _say(ctx, t("verify.origin", fingerprint=fp))
    if report.zip_signature is not None:
        zs = report.zip_signature
        if zs.status != "valid":
            click.echo(t("verify.zip_signature_" + zs.status, file=package.name + ".sig"))
        elif zs.trusted is False:
            click.echo(t("verify.untrusted", fingerprint=short_fingerprint(zs.fingerprint)))
    elif package.is_file():
        _say(ctx, t("verify.zip_unsigned", file=package.name + ".sig"))
    if workspace is not None:
        problems += _verify_in_audit(ctx, workspace, report)
    if problems:
        click.echo(t("verify.failed", n=problems))
        sys.exit(1)
    _say(ctx, t("verify.ok", case=report.case_id, n=len(report.checked), manifest=report.manifest_sha256))


def _verify_in_audit(ctx, workspace: Path, report) -> int:
    """Problems found checking a verified package against the workspace's audit log: the
    entry its manifest names (``audit_seq``) must be there and record this manifest (and this
    zip)."""
    from graphfraud.evidence.audit import entries, find_manifest

    log = entries(workspace)
    entry = find_manifest(workspace, report.manifest_sha256)
    if entry is None:
        if report.audit_seq is not None and report.audit_seq > len(log):
            click.echo(t("verify.audit_cut", workspace=workspace, seq=report.audit_seq, n=len(log)))
        else:
            click.echo(t("verify.not_in_audit", workspace=workspace))
        return 1
    if report.audit_seq is not None and entry.get("seq") != report.audit_seq:
        click.echo(t("verify.audit_seq", seq=entry.get("seq"), expected=report.audit_seq))
        return 1
    if report.zip_sha256 and entry.get("zip_sha256") not in (None, report.zip_sha256):
        click.echo(t("verify.zip_not_in_audit", seq=entry.get("seq")))
        return 1
    _say(ctx, t("verify.in_audit", seq=entry.get("seq")))
    return 0


@main.group(name="audit")
def audit_group():
    """证据导出审计日志 / the audit log of evidence exports.

    Every export (who, when, which case, which identities were revealed, the manifest hash)
    is one line of WS/audit.log, chained to the line before by its hash and signed with the
    bureau's signing key.

    \b
    Example / 示例:
      graphfraud audit verify --workspace ws
    """


@audit_group.command(name="verify")
@workspace_option
@public_key_option
@click.pass_context
@friendly_errors
def audit_verify_cmd(ctx, workspace: Path, public_keys: tuple[Path, ...]):
    """核验审计日志的哈希链与签名 / check that no audit entry was edited, removed, reordered or forged.

    Checks every line's own hash, its sequence number, its link to the line before, its
    signature by the bureau's key (each --public-key given, else the local signing key and
    the keys it replaced), and
    the last entry against the head the workspace recorded; names each line at fault. Exit
    code 0 when the log is intact, 1 when anything is wrong, 2 when there is no key to check
    the signatures with.

    \b
    Example / 示例:
      graphfraud audit verify --workspace ws
      graphfraud audit verify --workspace ws --public-key bureau-2025.pub --public-key bureau-2026.pub
    """
    from graphfraud.evidence.audit import verify
    from graphfraud.evidence.signing import TrustedKeys, local_trusted
    from graphfraud.store.workspace import Workspace

    trusted = TrustedKeys.from_options(public_keys) or local_trusted()
    if not trusted:
        raise GraphfraudError("audit.no_key")
    ws = Workspace.open(workspace)
    con = ws.connect(read_only=True)
    try:
        report = verify(ws.path, con, trusted)
    finally:
        con.close()
    for problem in report.problems:
        click.echo(problem.text())
    if not report.ok:
        click.echo(t("audit.failed", n=len(report.problems)))
        sys.exit(1)
    _say(ctx, t("audit.ok", path=report.path, n=report.entries))


@main.group(name="keys")
def keys_group():
    """局方签名密钥 / the bureau's signing key.

    One Ed25519 key signs every evidence package, zip and audit entry the bureau writes.
    Keep the private key file (mode 0600) safe and backed up; give the public key to whoever
    receives packages, so that `graphfraud verify PACKAGE --public-key FILE` proves origin.

    \b
    Example / 示例:
      graphfraud keys init
      graphfraud keys export-public --out bureau.pub
      graphfraud keys fingerprint bureau.pub
    """


@keys_group.command(name="init")
@signing_key_option
@click.option("--force", is_flag=True,
              help="替换已有密钥（此前签名的证据包只能用旧公钥核验）/ replace an existing key (packages signed "
                   "before can then be checked only with the old public key)")
@click.pass_context
@friendly_errors
def keys_init_cmd(ctx, signing_key: Path | None, force: bool):
    """生成局方签名密钥 / create the bureau's signing key.

    Writes a new Ed25519 private key (PKCS#8 PEM, mode 0600; encrypted with
    GRAPHFRAUD_SIGNING_PASSPHRASE when that is set) and prints its fingerprint.

    \b
    Example / 示例:
      graphfraud keys init
      graphfraud keys init --signing-key /secure/bureau-2026.pem
    """
    from graphfraud.evidence.signing import init_key, short_fingerprint

    key = init_key(signing_key, force=force)
    _say(ctx, t("keys.created", path=key.path, fingerprint=short_fingerprint(key.fingerprint)))


@keys_group.command(name="export-public")
@signing_key_option
@click.option("--out", "out_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="写入此文件（默认输出到屏幕）/ write to this file (default: print it)")
@click.pass_context
@friendly_errors
def keys_export_public_cmd(ctx, signing_key: Path | None, out_file: Path | None):
    """导出公钥给证据接收方 / write the public key for the recipients of packages.

    \b
    Example / 示例:
      graphfraud keys export-public --out bureau.pub
    """
    from graphfraud.evidence.signing import load_signing_key, short_fingerprint

    key = load_signing_key(signing_key)
    pem = key.public.pem()
    if out_file is None:
        click.echo(pem.decode("ascii"), nl=False)
        return
    out_file.write_bytes(pem)
    _say(ctx, t("keys.exported", path=out_file, fingerprint=short_fingerprint(key.fingerprint)))


@keys_group.command(name="fingerprint")
@click.argument("public_key", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=False)
@signing_key_option
@click.pass_context
@friendly_errors
def keys_fingerprint_cmd(ctx, public_key: Path | None, signing_key: Path | None):
    """显示公钥指纹，供电话或纸面核对 / show a key's fingerprint, to compare by phone or on paper.

    With PUBLIC_KEY, the fingerprint of that public key file; without it, of the local
    signing key.

    \b
    Example / 示例:
      graphfraud keys fingerprint bureau.pub
    """
    from graphfraud.evidence.signing import load_public_key, load_signing_key, short_fingerprint

    key = load_public_key(public_key) if public_key else load_signing_key(signing_key).public
    click.echo(t("keys.fingerprint", fingerprint=short_fingerprint(key.fingerprint), full=key.fingerprint))


if __name__ == "__main__":  # pragma: no cover
    main()
