"""Line coverage of the package by the whole suite, for one revision or two side by side (a
refactor must not lose coverage). Each revision is cloned from this checkout into a temporary
folder and its suite run there under ``coverage`` (CI=true: the real Neo4j and Chromium, as
``make test`` has installed them); the result lands in ``benchmarks/results/coverage-*.json``.

    .venv/bin/python benchmarks/coverage.py                       # HEAD
    .venv/bin/python benchmarks/coverage.py --rev 2122959 --rev HEAD
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import machine, save

ROOT = Path(__file__).resolve().parents[1]


def measure(rev: str, work: Path) -> dict:
    clone = work / rev.replace("/", "_")
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "checkout", "-q", rev], cwd=clone, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, check=True, capture_output=True,
                            text=True).stdout.strip()
    launcher = ROOT / "tools" / "neo4j" / "target"
    if launcher.is_dir():  # the Neo4j the suite starts, built once by make test
        shutil.copytree(launcher, clone / "tools" / "neo4j" / "target")
    env = {**os.environ, "CI": "true", "COVERAGE_FILE": str(clone / ".coverage")}
    t0 = time.perf_counter()
    tests = subprocess.run([sys.executable, "-m", "coverage", "run", "--source=graphfraud", "-m", "pytest", "-q",
                            "-p", "no:cacheprovider"], cwd=clone, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    subprocess.run([sys.executable, "-m", "coverage", "json", "-q", "-o", str(clone / "coverage.json")], cwd=clone,
                   env=env, check=True)
    totals = json.loads((clone / "coverage.json").read_text(encoding="utf-8"))["totals"]
    summary = tests.stdout.strip().splitlines()[-1] if tests.stdout.strip() else ""
    return {"rev": rev, "commit": commit, "suite": summary, "suite_exit_code": tests.returncode,
            "seconds": round(seconds, 1), "statements": totals["num_statements"],
            "missing": totals["missing_lines"], "percent": round(totals["percent_covered"], 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", action="append", default=None, help="a revision (repeatable; default HEAD)")
    args = parser.parse_args()
    revs = args.rev or ["HEAD"]
    with tempfile.TemporaryDirectory(prefix="graphfraud-coverage-") as tmp:
        runs = [measure(rev, Path(tmp)) for rev in revs]
    for r in runs:
        print(f"{r['rev']:>10} {r['commit'][:8]}  {r['statements']} statements, {r['missing']} missed: "
              f"{r['percent']:.2f} %  ({r['suite']}, {r['seconds']} s)")
    path = save("coverage-" + "+".join(r["commit"][:8] for r in runs),
                {"benchmark": "coverage", "machine": machine(), "date": time.strftime("%Y-%m-%d"), "runs": runs})
    print(path)
    return 0 if all(r["suite_exit_code"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
