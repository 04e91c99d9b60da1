from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

TEST_KEY = "graphfraud-test-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def _isolated_key(monkeypatch, tmp_path_factory):
    """Every test pseudonymises with a fixed key and never touches the user's key file."""
    monkeypatch.setenv("GRAPHFRAUD_KEY", TEST_KEY)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg")))
    monkeypatch.delenv("GRAPHFRAUD_KEY_FILE", raising=False)
    monkeypatch.delenv("GRAPHFRAUD_LANG", raising=False)
    from graphfraud.i18n import set_lang

    set_lang(None)


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_text(header, rows).encode(encoding))
    return path


@pytest.fixture(scope="session")
def detected_region(tmp_path_factory):
    """A small generated region, ingested and detected once per session: (data, workspace,
    results, DetectResult). Tests must not write to it."""
    import os

    from graphfraud.detect.run import detect
    from graphfraud.generate import generate_region
    from graphfraud.ingest import ingest

    base = tmp_path_factory.mktemp("detected")
    old = os.environ.get("GRAPHFRAUD_KEY")
    os.environ["GRAPHFRAUD_KEY"] = TEST_KEY
    try:
        generate_region(base / "data", patients=4000, months=3, seed=3)
        ingest(base / "data", base / "ws")
        result = detect(base / "ws", base / "results")
    finally:
        if old is None:
            os.environ.pop("GRAPHFRAUD_KEY", None)
        else:
            os.environ["GRAPHFRAUD_KEY"] = old
    return base / "data", base / "ws", base / "results", result
