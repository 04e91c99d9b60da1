"""Real headless Chromium (Debian's, installed by ``make test``) driven by Playwright, with
every request that is not a local file refused and recorded."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("GRAPHFRAUD_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def unavailable(reason: str):
    """Skip on a developer's machine without Chromium; fail under CI, where it must run."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"Chromium is required under CI=true: {reason}")
    pytest.skip(reason)


LOCAL = ("file:", "data:", "blob:", "about:")


class Session:
    def __init__(self, context, allow: tuple[str, ...] = ()) -> None:
        self.context = context
        self.external: list[str] = []  # every request that would have left the machine
        self.errors: list[str] = []  # console errors and uncaught exceptions

        def route(r):
            url = r.request.url
            if url.startswith(LOCAL + allow):
                r.continue_()
            else:
                self.external.append(url)
                r.abort()

        self.allow = allow
        context.route("**/*", route)
        # offline cuts the network, loopback included; the workbench's own server is let through
        # by the route above and everything else refused there
        context.set_offline(not allow)

    def open(self, path: Path, viewport=(1400, 1000)):
        page = self.context.new_page()
        page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
        page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("request", lambda r: None if r.url.startswith(LOCAL + self.allow)
                else self.external.append(r.url))
        page.goto(path if isinstance(path, str) and path.startswith(self.allow or ("-",)) else Path(path).resolve().as_uri())
        return page


@contextmanager
def chromium(allow: tuple[str, ...] = ()):
    """A fresh Chromium (new user-data-dir) whose pages may only read local files (and the
    URLs starting with one of ``allow``, e.g. the workbench at http://127.0.0.1:PORT/)."""
    if not Path(CHROMIUM).exists():
        unavailable(f"{CHROMIUM} is missing (make test installs Debian's chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[dev]')")
    profile = tempfile.mkdtemp(prefix="gf-chromium-")
    try:
        with sync_playwright() as p:
            try:
                context = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                               args=FLAGS)
            except Exception as exc:  # noqa: BLE001 - any launch failure
                unavailable(f"Chromium could not be launched: {exc}")
            try:
                yield Session(context, allow)
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
