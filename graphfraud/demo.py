"""``graphfraud demo``: the main job end to end on a small synthetic region.

Generate, ingest, detect, then the report site: the demo always shows the whole
product on the embedded default (DuckDB, no server)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from graphfraud.core.i18n import get_lang, t
from graphfraud.detect.run import detect
from graphfraud.ingest.run import ingest
from graphfraud.synth.generate import generate_region
from graphfraud.views.report import report


@dataclass
class DemoResult:
    dataset: Path
    workspace: Path
    ingest: object  # graphfraud.ingest.run.IngestResult
    detect: object  # graphfraud.detect.run.DetectResult
    results: Path
    report: object = None  # graphfraud.views.report.ReportResult


def run_demo(out_dir: Path, *, patients: int = 20000, months: int = 3, seed: int = 7,
             say: Callable[[str], None] = print) -> DemoResult:

    out_dir = Path(out_dir)
    dataset = out_dir / "data"
    workspace = out_dir / "workspace"
    say(t("demo_step", step=t("demo_generate")))
    gen = generate_region(dataset, patients=patients, months=months, seed=seed)
    say(t("generate_done", patients=gen.counts.get("patients", 0), claims=gen.counts.get("claims", 0),
          items=gen.counts.get("items", 0), out=gen.out_dir, truth=gen.truth_path.name, seconds=gen.seconds))
    say(t("demo_step", step=t("demo_ingest")))
    result = ingest(dataset, workspace)
    say(t("demo_step", step=t("demo_detect")))
    results = out_dir / "results"
    found = detect(workspace, results)
    say(t("demo_step", step=t("demo_report")))

    site = report(workspace, out_dir / "report", lang=get_lang())
    return DemoResult(dataset, workspace, result, found, results, site)
