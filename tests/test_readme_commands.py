"""Every `graphfraud …` line of the README's code blocks runs, in order, and succeeds.

The README's examples name a workspace `ws`, data folders, a ring id such as CC-1A2B3C4D5E, a
facility F00020 and a seed file `confirmed.txt`. Here they run in a temporary working folder on
a tiny region (`graphfraud generate OUT --patients 1500 --months 2 --seed 3`): `generate` lines
are shrunk to that size, a data folder an `ingest` line names that does not exist is that
region, and example ids are replaced by ids of the run's own results (the rings and leads CSV
of the latest `detect --out`). Only the lines of fenced blocks count; the command table's
placeholders (CASE_ID, WS, …) are not examples.

Skipped: lines that need a Neo4j server (`--neo4j`, `load`); tests/test_neo4j*.py run those
commands against a real one. `users add` is given its password on standard input; `serve`
runs in a process of its own on a free port until its login page answers.
"""

from __future__ import annotations

import csv
import os
import re
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphfraud.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

TINY = {"--patients": "1500", "--months": "2", "--seed": "3"}
RING_ID = re.compile(r"\b(CC|CA|DR|DP|SI|TC)-[0-9A-F]{10}\b")
LEAD_ID = re.compile(r"\bL-(AD|IT|UI|OS|SA|DC|DM)-[0-9A-F]{10}\b")
FACILITY_ID = re.compile(r"\bF\d{5}\b")
GLOBAL_WITH_VALUE = {"--lang"}


def readme_commands(text: str) -> list[str]:
    """The `graphfraud` lines of the README's bash/sh/text blocks, continuations joined."""
    lines = []
    for lang, body in re.findall(r"```(\w*)\n(.*?)```", text, flags=re.S):
        if lang not in ("bash", "sh", "text", "console", ""):
            continue
        for line in re.sub(r"\\\n\s*", " ", body).splitlines():
            line = line.strip()
            if line.startswith("graphfraud "):
                lines.append(line)
    return lines


def command_name(argv: list[str]) -> str:
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        i += 2 if argv[i] in GLOBAL_WITH_VALUE else 1
    return argv[i] if i < len(argv) else ""


def needs_neo4j(argv: list[str]) -> bool:
    return "--neo4j" in argv or command_name(argv) == "load"


def option(argv: list[str], *names: str) -> str | None:
    for i, a in enumerate(argv):
        if a in names and i + 1 < len(argv):
            return argv[i + 1]
        for n in names:
            if a.startswith(n + "="):
                return a.split("=", 1)[1]
    return None


def shrink_generate(argv: list[str]) -> list[str]:
    out = list(argv)
    for opt, value in TINY.items():
        if opt in out:
            out[out.index(opt) + 1] = value
        else:
            out += [opt, value]
    return out


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


class Ids:
    """Ids of the latest detection run, to stand in for the README's example ids."""

    def __init__(self) -> None:
        self.rings: list[dict] = []
        self.members: list[dict] = []
        self.leads: list[dict] = []
        self.facilities: set[str] = set()

    def read_run(self, out: Path) -> None:
        self.rings = read_csv(out / "rings.csv")
        self.members = read_csv(out / "ring_members.csv")
        self.leads = read_csv(out / "leads.csv")

    def ring(self, prefix: str) -> str:
        assert self.rings, "the README uses a ring id before any `detect` line"
        same = [r["ring_id"] for r in self.rings if r["ring_id"].startswith(prefix + "-")]
        return (same or [r["ring_id"] for r in self.rings])[0]

    def lead(self, prefix: str) -> str:
        assert self.leads, "the README uses a lead id before any `detect` line found leads"
        same = [r["lead_id"] for r in self.leads if r["lead_id"].startswith(f"L-{prefix}-")]
        return (same or [r["lead_id"] for r in self.leads])[0]

    def seed_cards(self) -> list[str]:
        ring = self.ring("CC")
        return [m["entity_id"] for m in self.members if m["ring_id"] == ring and m["entity_type"] == "card"]

    def substitute(self, arg: str) -> str:
        arg = RING_ID.sub(lambda m: self.ring(m.group(1)), arg)
        arg = LEAD_ID.sub(lambda m: self.lead(m.group(1)), arg)
        if self.facilities:
            fallback = sorted(self.facilities)[0]
            arg = FACILITY_ID.sub(lambda m: m.group(0) if m.group(0) in self.facilities else fallback, arg)
        return arg


def test_the_readme_shows_the_main_commands():
    commands = readme_commands(README.read_text(encoding="utf-8"))
    names = {command_name(shlex.split(c, comments=True)[1:]) for c in commands}
    assert {"generate", "ingest", "detect", "case", "report", "keys", "export", "verify", "audit"} <= names


def test_every_readme_command_runs(tmp_path, monkeypatch):
    commands = readme_commands(README.read_text(encoding="utf-8"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    # the README creates the bureau's signing key (`keys init`): a fresh path, not the tests' key
    monkeypatch.setenv("GRAPHFRAUD_SIGNING_KEY", str(tmp_path / "bureau" / "signing-key.pem"))
    monkeypatch.delenv("GRAPHFRAUD_WORKSPACE", raising=False)
    runner = CliRunner()

    region = tmp_path / "region"
    r = runner.invoke(main, ["--quiet", "generate", str(region), *[x for kv in TINY.items() for x in kv]])
    assert r.exit_code == 0, r.output
    ids = Ids()
    ids.facilities = {row["facility_id"] for row in read_csv(region / "facilities.csv")}

    ran, skipped = [], []
    for line in commands:
        argv = shlex.split(line, comments=True)[1:]
        if needs_neo4j(argv):
            skipped.append(line)
            continue
        name = command_name(argv)
        if name == "generate":
            argv = shrink_generate(argv)
        argv = [ids.substitute(a) for a in argv]
        if name == "ingest":
            i = argv.index("ingest") + 1
            if not Path(argv[i]).exists():
                argv[i] = str(region)
        if name == "expand":
            seed = Path(option(argv, "--seed"))
            if not seed.exists():
                seed.write_text("\n".join(ids.seed_cards()) + "\n", encoding="utf-8")
        if name == "serve":
            _serve_answers(argv, tmp_path)
            ran.append(line)
            continue
        result = runner.invoke(main, argv, input="readme-password-1\nreadme-password-1\n" if name == "users" else None)
        assert result.exit_code == 0, f"README line failed: {line}\nran: graphfraud {shlex.join(argv)}\n{result.output}"
        for opt in ("-o", "--out", "--csv"):
            written = option(argv, opt)
            if written:
                assert Path(written).exists(), f"README line wrote no {written}: {line}"
        if name == "detect":
            ids.read_run(Path(option(argv, "--out")))
        ran.append(line)

    assert ran and len(ran) + len(skipped) == len(commands)
    assert all(needs_neo4j(shlex.split(s, comments=True)[1:]) for s in skipped)


def _serve_answers(argv: list[str], tmp_path: Path) -> None:
    """``graphfraud serve`` as a user runs it: it prints its address, and the page answers."""
    env = {**os.environ, "GRAPHFRAUD_SIGNING_KEY": os.environ["GRAPHFRAUD_SIGNING_KEY"], "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "graphfraud", "--lang", "en", *argv, "--port", "0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match, f"serve printed {line!r}"
        with urllib.request.urlopen(match.group(0) + "/login", timeout=30) as resp:
            assert resp.status == 200 and "csrf" in resp.read().decode("utf-8")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("line, name, neo4j", [
    ("graphfraud --lang en detect --workspace ws --out r --top 5", "detect", False),
    ("graphfraud load --workspace ws --bulk bulk", "load", True),
    ("graphfraud report --neo4j bolt://localhost:7687 --out site   # comment", "report", True),
])
def test_command_parsing(line, name, neo4j):
    argv = shlex.split(line, comments=True)[1:]
    assert command_name(argv) == name and needs_neo4j(argv) is neo4j
