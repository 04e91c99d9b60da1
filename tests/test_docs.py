"""Docs that cannot drift: every CLI command has help and appears in the README, and the
README's first two commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import click
from click.testing import CliRunner

from graphfraud.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = ""):
    for name, cmd in group.commands.items():
        yield prefix + name, cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, prefix + name + " ")


def test_every_command_has_help_with_an_example_and_is_in_the_readme():
    runner = CliRunner()
    names = []
    for name, cmd in _commands(main):
        names.append(name)
        assert cmd.help and cmd.help.strip(), name
        result = runner.invoke(main, [*name.split(), "--help"])
        assert result.exit_code == 0, result.output
        assert "Example" in result.output and "示例" in result.output, name
        assert f"graphfraud {name}" in README, f"README does not document `graphfraud {name}`"
    assert {"ingest", "generate", "demo"} <= set(names)


def test_readme_first_two_commands_are_demo_and_test_and_ci_runs_the_test_command():
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", README, flags=re.S)
    commands = [line.strip() for b in blocks for line in b.splitlines() if line.strip() and not line.startswith("#")]
    assert commands[:2] == ["make demo", "make test"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci


def test_python_dash_m_works():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "graphfraud", "--help"], capture_output=True, text=True, check=True)
    assert "graphfraud" in out.stdout and "ingest" in out.stdout


def test_messages_exist_in_both_languages():
    from graphfraud.core.i18n import MESSAGES
    from graphfraud.store.schema import REJECT_REASONS

    for key, texts in MESSAGES.items():
        assert set(texts) == {"zh", "en"} and all(texts.values()), key
    for reason in REJECT_REASONS:
        assert f"reason.{reason}" in MESSAGES


def test_cli_error_is_one_line_in_the_chosen_language(tmp_path):
    runner = CliRunner()
    r = runner.invoke(main, ["ingest", str(tmp_path / "missing"), "-w", str(tmp_path / "ws")])
    assert r.exit_code == 2 and "错误" in r.output and "不存在" in r.output
    r = runner.invoke(main, ["--lang", "en", "ingest", str(tmp_path / "missing"), "-w", str(tmp_path / "ws")])
    assert r.exit_code == 2 and "Error" in r.output and "does not exist" in r.output


def test_generator_progress_steps_have_texts_in_both_languages(tmp_path):
    from graphfraud.core.i18n import MESSAGES
    from graphfraud.synth.generate import generate_region

    steps = []
    generate_region(tmp_path / "r", patients=300, months=1, seed=1, progress=steps.append)
    assert len(steps) == 8
    for step in steps:
        assert f"gen_step.{step}" in MESSAGES, step


def test_readme_is_a_five_minute_read():
    assert len(README.splitlines()) < 300


def test_readme_and_docs_tables_are_what_the_results_give():
    """The benchmark and accuracy tables of the README (and docs/benchmarks.md's full accuracy
    tables) are benchmarks/tables.py's output on benchmarks/results/: after a benchmark run,
    `python benchmarks/tables.py --write` updates them."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("benchmark_tables", ROOT / "benchmarks" / "tables.py")
    tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tables)
    made = tables.blocks()
    for rel, names in tables.PLACES.items():
        text = (ROOT / rel).read_text(encoding="utf-8")
        for name in names:
            assert tables.marked(text, name) == made[name], (
                f"{rel}: the {name} table differs from the results; run python benchmarks/tables.py --write")


def test_readme_and_docs_links_resolve():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" not in target:
                assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
