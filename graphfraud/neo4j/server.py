"""A real Neo4j 5.26 Community on a machine without Docker, for the tests and the benchmarks.

``tools/neo4j`` holds a Maven project (``pom.xml``) and a tiny Java launcher that starts the
embedded database with its Bolt connector and authentication on. ``make neo4j-launcher``
(``build_launcher()``) resolves Neo4j from Maven Central into ``~/.m2`` once and compiles the
launcher into ``tools/neo4j/target``; starting a server afterwards downloads nothing.

>>> with LocalNeo4j.start() as server:          # doctest: +SKIP
...     print(server.uri)                        # bolt://127.0.0.1:PORT, user neo4j
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOL_DIR = ROOT / "tools" / "neo4j"
TARGET = TOOL_DIR / "target"
MAIN_CLASS = "graphfraud.Launcher"

#: JVM options of the server. A load over Bolt keeps both cores busy (the server, the client,
#: DuckDB); G1's concurrent work and write barriers took a share of them. With the throughput
#: collector the benchmark region's Bolt load ran at 40,753–43,372 relationships/s against
#: 34,581–35,729 with G1, alternating on the same machine within the hour (2026-12-02, ad hoc
#: runs; the benchmark's figures: README, Benchmarks). On a server of your own, the same is
#: ``server.jvm.additional=-XX:+UseParallelGC`` in neo4j.conf, in place of ``-XX:+UseG1GC``.
SERVER_JVM_OPTIONS = ("-XX:+UseParallelGC",)


class ServerError(RuntimeError):
    """The local Neo4j could not be built or started; the message says why and where the log is."""


def launcher_built() -> bool:
    return (TARGET / "classes" / "graphfraud" / "Launcher.class").is_file() and (TARGET / "lib").is_dir()


def build_launcher(*, quiet: bool = True) -> None:
    """Resolve Neo4j from Maven Central (cached in ~/.m2) and compile the launcher."""
    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise ServerError("Maven (mvn) and Java 17 are needed to build the local Neo4j launcher (tools/neo4j)")
    cmd = ["mvn", "-B", "package", "-DskipTests"] + (["-q"] if quiet else [])
    proc = subprocess.run(cmd, cwd=TOOL_DIR, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ServerError(f"building tools/neo4j failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")


def classpath() -> str:
    return os.pathsep.join([str(TARGET / "classes"), str(TARGET / "lib" / "*")])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalNeo4j:
    """One running embedded Neo4j (``start()``); ``stop()`` shuts it down and removes its home
    unless ``keep`` (the log stays at ``log_path`` for a failed run)."""

    home: Path
    port: int
    password: str
    process: subprocess.Popen
    log_path: Path
    user: str = "neo4j"
    keep: bool = False
    _log: object = field(default=None, repr=False)

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, home: str | Path | None = None, *, timeout: float = 180.0, heap: str = "1g",
              pagecache: str = "512m", settings: dict[str, str] | None = None, build: bool = True) -> LocalNeo4j:
        if not launcher_built():
            if not build:
                raise ServerError("the local Neo4j launcher is not built: run `make neo4j-launcher`")
            build_launcher()
        home = Path(home) if home else Path(tempfile.mkdtemp(prefix="graphfraud-neo4j-"))
        home.mkdir(parents=True, exist_ok=True)
        port = free_port()
        password = secrets.token_urlsafe(18)
        log_path = home / "launcher.log"
        log = log_path.open("ab")
        env = {**os.environ, "NEO4J_PASSWORD": password}
        conf = {"server.memory.pagecache.size": pagecache, **(settings or {})}
        (home / "neo4j-extra.conf").write_text("".join(f"{k}={v}\n" for k, v in conf.items()), encoding="utf-8")
        cmd = ["java", f"-Xmx{heap}", *SERVER_JVM_OPTIONS, "-cp", classpath(), MAIN_CLASS, str(home), str(port)]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env)
        server = cls(home, port, password, proc, log_path, _log=log)
        deadline = time.monotonic() + timeout
        line = b""
        # the launcher prints one line when Bolt listens and the password is set
        import selectors

        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if sel.select(timeout=0.5):
                line = proc.stdout.readline()
                if line.startswith(b"READY"):
                    break
        sel.close()
        if not line.startswith(b"READY"):
            server.keep = True
            server.stop()
            raise ServerError(f"Neo4j did not start within {timeout:.0f} s; see its log {log_path} and "
                              f"{home / 'logs'}")
        server._wait_for_bolt(deadline)
        return server

    def _wait_for_bolt(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise ServerError(f"Neo4j's Bolt port {self.port} does not answer; see {self.log_path}")

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()  # end of input: the launcher shuts the database down
            except OSError:
                pass
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.terminate()
                try:
                    self.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.process.kill()
        if self._log is not None:
            self._log.close()
            self._log = None
        if not self.keep:
            shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> LocalNeo4j:
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is not None:
            self.keep = True
        self.stop()
