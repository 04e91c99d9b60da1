"""The command group, its options shared by the commands, and how messages are printed."""

from __future__ import annotations

import functools
import os
import re
import sys
import unicodedata
from pathlib import Path

import click

from graphfraud import __version__
from graphfraud.core.errors import GraphfraudError
from graphfraud.core.i18n import get_lang, set_lang, t
from graphfraud.neo4j.connect import Neo4jTarget
from graphfraud.neo4j.views import Neo4jSource
from graphfraud.store.source import WorkspaceSource


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


def say(ctx: click.Context, message: str) -> None:
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


def neo4j_target(uri, user, password, database, *, env: bool):

    if not uri and not env:
        raise GraphfraudError("neo4j_uri_missing")
    return Neo4jTarget.from_options(uri, user, password, database)


#: click's own usage errors (English) -> message keys; the groups are the message's parameters
_CLICK_ERRORS = (
    (re.compile(r"^No such option:? '?(?P<name>[^'\s]+?)'?\.?(?: Did you mean '?(?P<hint>[^'?\s]+)'?\?)?$"),
     "usage.no_option"),
    (re.compile(r"^No such command '(?P<name>[^']+)'\."), "usage.no_command"),
    (re.compile(r"^Missing argument '(?P<name>[^']+)'\."), "usage.missing_argument"),
    (re.compile(r"^Missing option '(?P<name>[^']+)'\."), "usage.missing_option"),
    (re.compile(r"^Option '(?P<name>[^']+)' requires an argument\."), "usage.needs_value"),
    (re.compile(r"^Got unexpected extra arguments? \((?P<name>.*)\)$"), "usage.extra_argument"),
    (re.compile(r"^Invalid value for '(?P<name>[^']+)': (?P<detail>.*)$", re.S), "usage.invalid_value"),
)
_CLICK_DETAILS = (
    (re.compile(r"^(?:File|Path|Directory) '(?P<path>.*)' does not exist\.$"), "usage.detail.missing_path"),
    (re.compile(r"^'(?P<value>.*)' is not one of (?P<choices>.*)\.$"), "usage.detail.not_a_choice"),
    (re.compile(r"^'(?P<value>.*)' is not a valid integer(?: range)?\.$"), "usage.detail.not_an_integer"),
    (re.compile(r"^'(?P<value>.*)' is not a valid float\.$"), "usage.detail.not_a_number"),
    (re.compile(r"^(?P<value>\S+) is not in the range (?P<range>.*)\.$"), "usage.detail.out_of_range"),
)


def usage_message(error: click.UsageError) -> str:
    """A usage error of click in the current language (click writes its own in English)."""
    text = error.format_message()
    for pattern, key in _CLICK_ERRORS:
        m = pattern.match(text)
        if m:
            params = {k: (v or "") for k, v in m.groupdict().items()}
            if "detail" in params:
                params["detail"] = _detail(params["detail"])
            if key == "usage.no_option" and params.get("hint"):
                return t(key, name=params["name"]) + t("usage.did_you_mean", hint=params["hint"])
            return t(key, **params)
    return text


def _detail(text: str) -> str:
    for pattern, key in _CLICK_DETAILS:
        m = pattern.match(text.strip())
        if m:
            return t(key, **m.groupdict())
    return text


class Group(click.Group):
    """The command group, with click's usage errors (a missing argument, an unknown option)
    in the chosen language like every other message, and the same exit code (2)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        set_lang(None)  # each invocation starts from GRAPHFRAUD_LANG or Chinese, then --lang
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            if not standalone_mode:
                raise
            if exc.ctx is not None:
                usage = exc.ctx.get_usage()
                click.echo(usage.replace("Usage: ", t("usage.usage"), 1) if get_lang() == "zh" else usage, err=True)
                click.echo(t("usage.try_help", command=exc.ctx.command_path), err=True)
            click.echo(f"{t('error_prefix')}: {usage_message(exc)}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            if not standalone_mode:
                raise
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            if not standalone_mode:
                raise
            click.echo(t("usage.aborted"), err=True)
            sys.exit(1)
        if standalone_mode:
            sys.exit(rv if isinstance(rv, int) else 0)
        return rv


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="graphfraud")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, is_eager=True,
              callback=lambda ctx, param, value: _set_lang(ctx, param, value),
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


def text_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * max(0, width - text_width(text))
    return fill + text if right else text + fill


# ------------------------------------------------------------------ views
def view_lang(lang: str | None) -> str:
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

        return Neo4jSource(neo4j_target(neo4j_uri, neo4j_user, neo4j_password, neo4j_database, env=False))
    return WorkspaceSource(workspace)


def view_source_options(func):
    """--workspace and the --neo4j options, handed to the command as one ``source``."""

    @functools.wraps(func)
    def wrapper(*args, workspace, neo4j_uri, neo4j_user, neo4j_password, neo4j_database, **kwargs):
        return func(*args, source=view_source(workspace, neo4j_uri, neo4j_user, neo4j_password, neo4j_database),
                    **kwargs)

    return workspace_option(neo4j_options(required_env=False)(wrapper))


def _set_lang(ctx, param, value):
    if value:
        set_lang(value)
    return value


def accept_lang_everywhere(group: click.Group) -> None:
    """Give every command of ``group`` (and of its sub-groups) that has no ``--lang`` of its
    own one that sets the language of its messages, like the global option."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            accept_lang_everywhere(command)
        if not any("--lang" in p.opts for p in command.params):
            command.params.append(click.Option(
                ["--lang"], type=click.Choice(["zh", "en"]), default=None, expose_value=False, is_eager=True,
                callback=_set_lang, help="提示语言（同全局 --lang）/ language of the messages (as the global --lang)"))
