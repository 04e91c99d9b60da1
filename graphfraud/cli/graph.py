"""Neo4j: load the workspace into a graph, run the investigator query library."""

from __future__ import annotations

from pathlib import Path

import click

from graphfraud.cli.base import (
    Progress,
    friendly_errors,
    main,
    neo4j_options,
    neo4j_target,
    pad,
    say,
    text_width,
    workspace_option,
)
from graphfraud.core.errors import GraphfraudError
from graphfraud.core.i18n import get_lang, t
from graphfraud.core.safe_text import write_csv
from graphfraud.neo4j import bulk
from graphfraud.neo4j.load import load as run_load
from graphfraud.neo4j.load import table_rows
from graphfraud.neo4j.queries import parse_params, query_summaries, query_table


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

        res = bulk.export(workspace, bulk_dir)
        say(ctx, t("bulk_written", nodes=res.nodes, rels=res.relationships, dir=bulk_dir, seconds=res.export_seconds))
        if neo4j_home is None:
            click.echo(t("bulk_command", command=res.command_line(), jvm=" ".join(bulk.IMPORT_JVM_OPTIONS)))
            return
        try:
            bulk.run_import(res, neo4j_home, database=neo4j_database or "neo4j")
        except (RuntimeError, FileNotFoundError) as exc:
            raise GraphfraudError("bulk_import_failed", detail=str(exc).splitlines()[0],
                                  command=res.command_line()) from None
        say(ctx, t("bulk_imported", records=res.records, home=neo4j_home, seconds=res.import_seconds,
                    rate=f"{res.records / max(res.import_seconds, 1e-9):,.0f}"))
        return

    target = neo4j_target(neo4j_uri, neo4j_user, neo4j_password, neo4j_database, env=True)
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
        click.echo(t("load_table_line", table=pad(st.table, 10), rows=st.rows, nodes=st.nodes_created,
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
    if not name:
        for qname, summary, qparams in query_summaries(get_lang()):
            click.echo(t("query_list_line", name=qname, summary=summary, params=", ".join(f"${p}" for p in qparams) or "-"))
        return
    target = neo4j_target(neo4j_uri, neo4j_user, neo4j_password, neo4j_database, env=True)
    headers, rows = query_table(target, name, parse_params(params))
    if csv_out:
        write_csv(csv_out, headers, rows)
    shown = rows[:limit]
    widths = [max([text_width(h)] + [min(text_width(x), 60) for x in col]) for h, col in
              zip(headers, zip(*shown) if shown else [[] for _ in headers])]
    click.echo("  ".join(pad(h, w) for h, w in zip(headers, widths)))
    for r in shown:
        click.echo("  ".join(pad(x if text_width(x) <= 60 else x[:57] + "...", w) for x, w in zip(r, widths)))
    say(ctx, t("query_rows", n=len(rows), shown=len(shown)))
