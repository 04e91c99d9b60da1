"""The investigator workbench: ``serve``, and ``users`` to manage its accounts."""

from __future__ import annotations

import time
from pathlib import Path

import click

from graphfraud.cli.base import (
    friendly_errors,
    main,
    neo4j_options,
    say,
    signing_key_option,
    view_lang,
    view_source,
    workspace_option,
)
from graphfraud.core.i18n import t
from graphfraud.store.workspace import Workspace
from graphfraud.workbench.auth import ROLES
from graphfraud.workbench.server import open_workbench, start
from graphfraud.workbench.state import State


@main.command()
@workspace_option
@neo4j_options(required_env=False)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="监听地址（默认仅本机）/ address to listen on (this machine only by default)")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="端口 / port")
@click.option("--allow-remote", is_flag=True,
              help="允许监听非本机地址（请置于 HTTPS 反向代理之后）/ allow a non-loopback address (put it behind HTTPS)")
@click.option("--holidays", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="节假日文件，每行一个日期，调休上班日加 workday / holiday file: one date per line, "
                   "'workday' after a weekend day that is worked")
@signing_key_option
@click.pass_context
@friendly_errors
def serve(ctx, workspace: Path, neo4j_uri, neo4j_user, neo4j_password, neo4j_database, host: str, port: int,
          allow_remote: bool, holidays: Path | None, signing_key: Path | None):
    """启动研判工作台（本地网页）/ start the investigator workbench (a local web application).

    Reads the queue and the cases from the workspace, or from Neo4j with --neo4j URI (the
    workspace then keeps the accounts, cases and audit log, and serves the exports). Create
    the first administrator first: graphfraud users add NAME --role admin.

    \b
    Example / 示例:
      graphfraud serve -w workspace
    """
    source = view_source(workspace, neo4j_uri, neo4j_user, neo4j_password, neo4j_database)
    bench = open_workbench(source, workspace, lang=view_lang(None), holidays=holidays, signing_key=signing_key)
    running = start(bench, host, port, allow_remote=allow_remote)
    say(ctx, t("workbench.serving", url=running.url, source=source.name))
    try:
        while running.thread.is_alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()


@main.group(name="users")
def users_group():
    """工作台账户 / accounts of the workbench.

    Roles: investigator (queue, cases, notes, exports with pseudonyms), liaison (police
    liaison: also exports with real identities and transfers to the police), admin.

    \b
    Example / 示例:
      graphfraud users add chief --role admin -w ws
    """


@users_group.command(name="add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True, help="角色 / role")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="密码（不给则提示输入）/ password (prompted when not given)")
@workspace_option
@click.pass_context
@friendly_errors
def users_add(ctx, username: str, role: str, password: str, workspace: Path):
    """添加账户 / add an account (the first administrator is made this way).

    The password (10 characters at least) is asked twice unless --password is given; it is
    stored as a scrypt hash.

    \b
    Example / 示例:
      graphfraud users add wang --role investigator -w ws
    """
    state = State(Workspace.open(workspace).path)
    user = state.add_user(username, role, password)
    say(ctx, t("workbench.user_added", username=user.username, role=user.role))


@users_group.command(name="passwd")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="新密码（不给则提示输入）/ new password (prompted when not given)")
@workspace_option
@click.pass_context
@friendly_errors
def users_passwd(ctx, username: str, password: str, workspace: Path):
    """设置账户的新密码 / set an account's new password (its sessions end).

    \b
    Example / 示例:
      graphfraud users passwd wang -w ws
    """
    State(Workspace.open(workspace).path).set_password(username, password)
    say(ctx, t("workbench.password_set", username=username))


@users_group.command(name="list")
@workspace_option
@click.pass_context
@friendly_errors
def users_list(ctx, workspace: Path):
    """列出账户 / list the accounts.

    \b
    Example / 示例:
      graphfraud users list -w ws
    """
    for u in State(Workspace.open(workspace).path).users():
        click.echo(f"{u['username']}\t{u['role']}\t{u['created_at']}" + ("\t(disabled)" if u["disabled"] else ""))
