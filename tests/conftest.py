from __future__ import annotations

import contextlib
import csv
import io
import os
from pathlib import Path

import pytest

TEST_KEY = "graphfraud-test-key-0123456789abcdef"
_SIGNING: dict[str, str] = {}


def signing_key_file_for_tests() -> str:
    """A bureau signing key made once per test process (never the user's own)."""
    if "path" not in _SIGNING:
        import tempfile

        from graphfraud.evidence.signing import init_key

        path = Path(tempfile.mkdtemp(prefix="graphfraud-signing-")) / "signing-key.pem"
        init_key(path)
        _SIGNING["path"] = str(path)
    return _SIGNING["path"]


@pytest.fixture(scope="session", autouse=True)
def _session_signing_key():
    """The tests' signing key for the whole session, so module fixtures can export too; never
    the user's own key."""
    old = os.environ.get("GRAPHFRAUD_SIGNING_KEY")
    os.environ["GRAPHFRAUD_SIGNING_KEY"] = signing_key_file_for_tests()
    yield
    if old is None:
        os.environ.pop("GRAPHFRAUD_SIGNING_KEY", None)
    else:
        os.environ["GRAPHFRAUD_SIGNING_KEY"] = old


@pytest.fixture(autouse=True)
def _isolated_key(monkeypatch, tmp_path_factory):
    """Every test pseudonymises with a fixed key and never touches the user's key file."""
    monkeypatch.setenv("GRAPHFRAUD_KEY", TEST_KEY)
    monkeypatch.setenv("GRAPHFRAUD_SIGNING_KEY", signing_key_file_for_tests())
    monkeypatch.delenv("GRAPHFRAUD_SIGNING_PASSPHRASE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg")))
    monkeypatch.delenv("GRAPHFRAUD_KEY_FILE", raising=False)
    monkeypatch.delenv("GRAPHFRAUD_LANG", raising=False)
    from graphfraud.core.i18n import set_lang

    set_lang(None)


@contextlib.contextmanager
def with_test_key():
    """The tests' key for a module- or session-scoped fixture, which runs before
    ``_isolated_key`` sets it for each test (and must not touch the user's key file either)."""
    saved = {k: os.environ.get(k) for k in ("GRAPHFRAUD_KEY", "GRAPHFRAUD_SIGNING_KEY")}
    os.environ["GRAPHFRAUD_KEY"] = TEST_KEY
    os.environ["GRAPHFRAUD_SIGNING_KEY"] = signing_key_file_for_tests()
    try:
        yield
    finally:
        for k, old in saved.items():
            if old is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = old


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
    from graphfraud.ingest.run import ingest
    from graphfraud.synth.generate import generate_region

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


# ------------------------------------------------------------------ Neo4j
# A real Neo4j for the tests that need one: the server at NEO4J_URI when it is set (with
# NEO4J_USERNAME / NEO4J_PASSWORD), else Neo4j 5.26 Community started once per session from
# tools/neo4j (built by `make neo4j-launcher`, part of `make test`). Under CI=true a server
# that cannot start fails those tests; elsewhere they are skipped with the reason.

_NEO4J_STATE: dict = {}


def _neo4j_unavailable(message: str):
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"Neo4j is required under CI: {message}", pytrace=False)
    pytest.skip(f"Neo4j not available: {message} (run `make neo4j-launcher`, or set NEO4J_URI)")


#: test modules that drive the real headless Chromium
_BROWSER_MODULES = {"test_browser"}


def pytest_collection_modifyitems(config, items):
    """The integration layer: every test that uses the real Neo4j (a ``neo4j*`` fixture) or
    the real Chromium is marked ``integration``; ``make unit`` runs the rest."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        module = getattr(item.module, "__name__", "")
        if any(n.startswith("neo4j") for n in names) or module in _BROWSER_MODULES:
            item.add_marker(pytest.mark.integration)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and any(f.startswith("neo4j") for f in getattr(item, "fixturenames", ())):
        _NEO4J_STATE["failed"] = True


@pytest.fixture(scope="session")
def neo4j_server(tmp_path_factory):
    """A ``Neo4jTarget`` for a running server (shared by the whole session)."""
    from graphfraud.neo4j.connect import Neo4jTarget

    if "error" in _NEO4J_STATE:
        _neo4j_unavailable(_NEO4J_STATE["error"])
    if os.environ.get("NEO4J_URI"):
        yield Neo4jTarget.from_options(None)
        return
    from graphfraud.neo4j.server import LocalNeo4j, ServerError

    home = tmp_path_factory.mktemp("neo4j-server")
    try:
        server = LocalNeo4j.start(home, timeout=float(os.environ.get("GRAPHFRAUD_NEO4J_START_TIMEOUT", "300")))
    except ServerError as exc:
        _NEO4J_STATE["error"] = str(exc)
        _neo4j_unavailable(str(exc))
    try:
        yield Neo4jTarget(server.uri, server.user, server.password)
    finally:
        server.keep = True  # the home (and its logs) stays under pytest's tmp folder
        server.stop()
        if _NEO4J_STATE.get("failed"):
            print(f"\nNeo4j tests failed; the server's log is kept in {server.log_path} and {home / 'logs'}")
        else:
            import shutil

            shutil.rmtree(home / "data", ignore_errors=True)


@pytest.fixture
def neo4j(neo4j_server):
    """The session's server, emptied of every node first (constraints stay)."""
    wipe_neo4j(neo4j_server)
    return neo4j_server


def wipe_neo4j(target) -> None:
    from graphfraud.neo4j.connect import Graph

    with Graph(target) as g:
        g.run_auto("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 5000 ROWS", name="tests.wipe")


def neo4j_with_run(target, ws, out):
    """An empty graph at ``target`` loaded with workspace ``ws``; detection on a copy of the
    workspace (``out/ws``), and that very run written into the graph, so both sides hold the
    same run id and results. Returns (the copy, the DetectResult)."""
    import shutil

    from graphfraud.detect import registry
    from graphfraud.detect.run import detect
    from graphfraud.neo4j.connect import Graph
    from graphfraud.neo4j.detect import write_results
    from graphfraud.neo4j.load import load
    from graphfraud.store.results import LEAD_KINDS

    wipe_neo4j(target)
    load(ws, target, batch_size=2000, writers=1)
    copy = out / "ws"
    shutil.copytree(ws, copy)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRAPHFRAUD_KEY", TEST_KEY)
        result = detect(copy, out / "results")
    with Graph(target) as g:
        write_results(g, result, sorted(registry.kinds()), list(LEAD_KINDS))
    return copy, result


@pytest.fixture(scope="session")
def neo4j_region(tmp_path_factory):
    """A generated region (3,000 people, 2 months) ingested into a workspace, shared by the
    Neo4j tests; returns (dataset folder, workspace folder)."""
    from graphfraud.ingest.run import ingest
    from graphfraud.synth.generate import generate_region

    root = tmp_path_factory.mktemp("neo4j-region")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRAPHFRAUD_KEY", TEST_KEY)
        generate_region(root / "data", patients=3000, months=2, seed=5)
        ingest(root / "data", root / "ws")
    return root / "data", root / "ws"
