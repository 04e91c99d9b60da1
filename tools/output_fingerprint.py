"""The fingerprint of what graphfraud produces on generated regions, for refactors that must
not change behaviour: generate a default and a hard region, ingest, detect, write the report
site, and print the SHA-256 of every generated file and every output with the run's time
stamps and run ids taken out.

    python tools/output_fingerprint.py > before.txt
    ... move code ...
    python tools/output_fingerprint.py > after.txt && diff before.txt after.txt

Needs GRAPHFRAUD_KEY (any fixed value: pseudonyms must not change between the two runs).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tempfile
from pathlib import Path

#: run-dependent values: ISO times, durations, absolute temporary paths, the run id itself
_VOLATILE = re.compile(rb"(?:detect|ingest)-\d{8}T\d{6}-[0-9a-f]+|\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:[+-]\d\d:\d\d|Z)?")
#: keys of run.json that hold durations or where things were written
_RUN_KEYS = {"timings_s", "seconds", "started_at", "finished_at", "workspace", "out_dir", "outputs"}


def _drop_volatile(x):
    if isinstance(x, dict):
        return {k: _drop_volatile(v) for k, v in x.items() if k not in _RUN_KEYS}
    if isinstance(x, list):
        return [_drop_volatile(v) for v in x]
    return x


def _digest(path: Path, root: Path, run_id: str) -> str:
    data = path.read_bytes()
    if path.suffix in (".json", ".html", ".csv", ".txt", ".js"):
        data = _VOLATILE.sub(b"<time>", data).replace(str(root).encode(), b"<root>")
        if run_id:
            data = data.replace(run_id.encode(), b"<run>")
        if path.name == "run.json":
            data = json.dumps(_drop_volatile(json.loads(data)), sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(data).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=3000)
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--keep", type=Path, default=None, help="work here and keep the files")
    parser.add_argument("--rehash", action="store_true", help="only hash the outputs already in --keep")
    args = parser.parse_args(argv)
    from click.testing import CliRunner

    from graphfraud.cli import main as cli

    base = args.keep or Path(tempfile.mkdtemp(prefix="graphfraud-fingerprint-"))
    runner = CliRunner()
    for difficulty in ("default", "hard"):
        root = base / difficulty
        if args.rehash:
            print_digests(root, difficulty)
            continue
        steps = [
            ["generate", str(root / "data"), "--patients", str(args.patients), "--months", str(args.months),
             "--seed", str(args.seed), *(["--difficulty", "hard"] if difficulty == "hard" else [])],
            ["ingest", str(root / "data"), "--workspace", str(root / "ws")],
            ["detect", "--workspace", str(root / "ws"), "--out", str(root / "results")],
            ["report", "--workspace", str(root / "ws"), "--out", str(root / "site")],
        ]
        for step in steps:
            r = runner.invoke(cli, ["--quiet", *step])
            if r.exit_code != 0:
                print(f"{difficulty}: {' '.join(step)} failed:\n{r.output}", file=sys.stderr)
                return 1
        print_digests(root, difficulty)
    return 0


def print_digests(root: Path, difficulty: str) -> None:
    run_id = json.loads((root / "results" / "run.json").read_text(encoding="utf-8")).get("run_id", "")
    for folder in ("data", "results", "site"):
        for path in sorted((root / folder).rglob("*")):
            if path.is_file():
                rel = path.relative_to(root).as_posix()
                print(f"{difficulty}/{rel} {_digest(path, root, run_id)}")


if __name__ == "__main__":
    sys.exit(main())
