"""A detector is one module: a toy detector dropped into ``graphfraud.detect`` (here through a
folder added to the package's path, so the checkout is not written) appears in detection,
its outputs, the report in both languages, the case pages, an evidence package and the
settings file, with no other file edited."""

from __future__ import annotations

import csv
import json
import shutil
import textwrap

import pytest
from click.testing import CliRunner

import graphfraud.detect as detect_package
from graphfraud.cli import main
from graphfraud.core.i18n import MESSAGES
from graphfraud.detect import model, registry

TOY = '''
"""玩具 toy: the busiest facility's three busiest cards, for the plug-in test."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from graphfraud.detect.model import DetectorResult, Member, Ring, reason
from graphfraud.detect.registry import Detector
from graphfraud.store.claims import live_claims


@dataclass(frozen=True)
class ToySettings:
    enabled: bool = True
    cards: int = 3


def detect(con, settings, rings):
    s = settings.section("toy")
    live_claims(con)
    facility = con.execute("""SELECT facility_id FROM live_claims GROUP BY facility_id
                              ORDER BY count(*) DESC, facility_id LIMIT 1""").fetchall()[0][0]
    rows = con.execute("""SELECT card_id, list(claim_id ORDER BY claim_id), sum(total_amount), sum(fund_amount),
                                 min(settled_at)::DATE, max(settled_at)::DATE
                          FROM live_claims WHERE facility_id = ? AND card_id IS NOT NULL
                          GROUP BY card_id ORDER BY count(*) DESC, card_id LIMIT ?""", [facility, s.cards]).fetchall()
    claims = [c for r in rows for c in r[1]]
    total = sum((r[2] for r in rows), Decimal("0.00"))
    members = [Member("card", r[0], "card", len(r[1]), r[2]) for r in rows]
    members.append(Member("facility", facility, "facility", len(claims), total))
    ring = Ring(kind="toy", key=frozenset(r[0] for r in rows), score=77.0, members=members,
                reasons=[reason("toy_busy", len(rows), n=len(rows), facility=facility)], claim_ids=claims,
                total_amount=total, fund_amount=sum((r[3] for r in rows), Decimal("0.00")),
                first_date=min(r[4] for r in rows), last_date=max(r[5] for r in rows),
                over_transfer_threshold=False)
    return DetectorResult("toy", [ring], {"cards": len(rows)})


DETECTOR = Detector(kind="toy", prefix="TY", name={"zh": "玩具团伙", "en": "toy ring"}, run=detect,
                    reasons={"toy_busy": ("{n} 张卡在 {facility} 结算最多", "{n} cards settled most at {facility}")},
                    settings=ToySettings)
'''


@pytest.fixture
def toy(tmp_path, monkeypatch):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "toy.py").write_text(textwrap.dedent(TOY), encoding="utf-8")
    monkeypatch.setattr(detect_package, "__path__", [*detect_package.__path__, str(folder)])
    saved = dict(registry._LOADED)
    registry._LOADED.clear()
    yield
    registry._LOADED.clear()
    registry._LOADED.update(saved)
    MESSAGES.pop("kind.toy", None)
    model.REASON_TEXTS.pop("toy_busy", None)
    import sys

    sys.modules.pop("graphfraud.detect.toy", None)


def test_a_detector_module_reaches_every_output(toy, detected_region, tmp_path):
    _, ws_src, _, _ = detected_region
    ws = tmp_path / "ws"
    shutil.copytree(ws_src, ws)
    assert "toy" in registry.kinds() and registry.prefixes()["toy"] == "TY"
    runner = CliRunner()
    r = runner.invoke(main, ["--lang", "en", "detect", "-w", str(ws), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0 and "toy ring" in r.output, r.output
    with open(tmp_path / "out" / "rings.csv", encoding="utf-8-sig", newline="") as fh:
        toys = [row for row in csv.DictReader(fh) if row["kind"] == "toy"]
    assert len(toys) == 1 and toys[0]["ring_id"].startswith("TY-") and toys[0]["n_members"] == "3"
    assert "张卡在" in toys[0]["reasons_zh"] and "cards settled most at" in toys[0]["reasons_en"]
    run = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    assert run["parameters"]["toy"] == {"enabled": True, "cards": 3} and run["detectors"]["toy"]["cards"] == 3
    ring_id = toys[0]["ring_id"]
    # the report in both languages, and its page
    for lang, name in (("zh", "玩具团伙"), ("en", "toy ring")):
        site = tmp_path / f"site-{lang}"
        r = runner.invoke(main, ["report", "-w", str(ws), "--out", str(site), "--lang", lang])
        assert r.exit_code == 0, r.output
        assert name in (site / "index.html").read_text(encoding="utf-8")
        assert name in (site / "rings" / f"{ring_id}.html").read_text(encoding="utf-8")
    # an evidence package
    r = runner.invoke(main, ["export", ring_id, "-w", str(ws), "--out", str(tmp_path / "pkg")])
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "pkg" / "summary.json").read_text(encoding="utf-8"))
    assert summary["kind_zh"] == "玩具团伙" and summary["kind_en"] == "toy ring"
    # its settings section: read, checked, and able to switch it off
    cfg = tmp_path / "settings.toml"
    cfg.write_text("[toy]\ncards = 2\n", encoding="utf-8")
    r = runner.invoke(main, ["detect", "-w", str(ws), "--out", str(tmp_path / "out2"), "--config", str(cfg)])
    assert r.exit_code == 0, r.output
    rings = json.loads((tmp_path / "out2" / "run.json").read_text(encoding="utf-8"))
    assert rings["detectors"]["toy"]["cards"] == 2
    from graphfraud.detect.settings import Settings

    loaded = Settings.load(cfg)
    assert loaded.section("toy").cards == 2 and loaded != Settings()
    hash(loaded)  # settings stay usable as a key, as before detectors could declare sections
    cfg.write_text("[toy]\nenabled = false\n", encoding="utf-8")
    r = runner.invoke(main, ["detect", "-w", str(ws), "--out", str(tmp_path / "out3"), "--config", str(cfg)])
    assert r.exit_code == 0 and "toy" not in json.loads((tmp_path / "out3" / "run.json").read_text())["detectors"]
    cfg.write_text("[toy]\ncolour = 'red'\n", encoding="utf-8")
    r = runner.invoke(main, ["--lang", "en", "detect", "-w", str(ws), "--out", str(tmp_path / "o4"), "--config",
                             str(cfg)])
    assert r.exit_code == 2 and "toy.colour" in r.output, r.output


def test_a_detector_that_contradicts_another_is_refused(toy, tmp_path):
    folder = tmp_path / "plugins"
    (folder / "toy.py").write_text(textwrap.dedent(TOY).replace('prefix="TY"', 'prefix="CC"'), encoding="utf-8")
    with pytest.raises(ValueError, match="prefix CC is already card_collection's"):
        registry.detectors()
