"""Connections to Neo4j: the driver (imported lazily), credentials from options or the
environment, transaction metadata naming graphfraud, and writes retried with backoff."""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from graphfraud import __version__
from graphfraud.core.errors import GraphfraudError

APP = "graphfraud"
#: seconds before the first retry of a write transaction that failed transiently (a deadlock)
WRITE_RETRY_DELAY = 0.05

# the driver reports each retried transaction (a deadlock between two load writers, say) as a
# warning; the retry is routine, so it is not printed unless the caller configures logging
logging.getLogger("neo4j").addHandler(logging.NullHandler())


def driver_module():
    try:
        import neo4j
    except ImportError:  # pragma: no cover - depends on the install
        raise ImportError("the Neo4j features need the neo4j driver: pip install 'graphfraud[neo4j]'") from None
    return neo4j


@dataclass
class Neo4jTarget:
    uri: str
    user: str = "neo4j"
    password: str | None = None
    database: str | None = None

    @classmethod
    def from_options(cls, uri: str | None, user: str | None = None, password: str | None = None,
                     database: str | None = None) -> Neo4jTarget:
        uri = uri or os.environ.get("NEO4J_URI")
        if not uri:
            raise GraphfraudError("neo4j_uri_missing")
        return cls(uri, user or os.environ.get("NEO4J_USERNAME", "neo4j"),
                   password if password is not None else os.environ.get("NEO4J_PASSWORD"),
                   database or os.environ.get("NEO4J_DATABASE") or None)

    def safe_uri(self) -> str:
        """The address without any credentials, for manifests and messages."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.uri)
        host = parts.hostname or ""
        return f"{parts.scheme}://{host}{':' + str(parts.port) if parts.port else ''}"


class Graph:
    """One driver to one database. ``read``/``write`` run a named query in a managed
    transaction that carries metadata (app, version, query name)."""

    def __init__(self, target: Neo4jTarget):
        neo4j = driver_module()
        self.target = target
        auth = (target.user, target.password) if target.password is not None else None
        try:
            self.driver = neo4j.GraphDatabase.driver(target.uri, auth=auth, user_agent=f"{APP}/{__version__}",
                                                      notifications_min_severity="OFF")
            self.driver.verify_connectivity()
        except neo4j.exceptions.AuthError:
            raise GraphfraudError("neo4j_auth", uri=target.safe_uri()) from None
        except (neo4j.exceptions.ServiceUnavailable, ValueError, OSError) as exc:
            raise GraphfraudError("neo4j_unreachable", uri=target.safe_uri(), detail=str(exc)) from None

    def close(self) -> None:
        self.driver.close()

    def __enter__(self) -> Graph:
        return self

    def __exit__(self, *_):
        self.close()

    @staticmethod
    def metadata(name: str, **extra) -> dict:
        return {"app": APP, "version": __version__, "query": name, **extra}

    def session(self, **kw):
        return self.driver.session(database=self.target.database, **kw)

    def read(self, text: str, params: dict | None = None, *, name: str) -> list[dict]:
        """Rows of a read query, as dicts."""
        neo4j = driver_module()

        @neo4j.unit_of_work(metadata=self.metadata(name))
        def work(tx):
            return [r.data() for r in tx.run(text, params or {})]

        with self.session(default_access_mode=neo4j.READ_ACCESS) as s:
            return s.execute_read(work)

    def read_records(self, text: str, params: dict | None = None, *, name: str):
        """Column names and raw records (values keep the driver's types: nodes, paths)."""
        neo4j = driver_module()

        @neo4j.unit_of_work(metadata=self.metadata(name))
        def work(tx):
            result = tx.run(text, params or {})
            records = list(result)
            return list(result.keys()), records

        with self.session(default_access_mode=neo4j.READ_ACCESS) as s:
            return s.execute_read(work)

    def write(self, fn: Callable, *, name: str, **extra):
        """Run ``fn(tx)`` in one write transaction (retried by the driver on transient errors),
        and retry a lost connection with exponential backoff."""
        neo4j = driver_module()
        work = neo4j.unit_of_work(metadata=self.metadata(name, **extra))(fn)
        return retry(lambda: self._write(work))

    def _write(self, work):
        # concurrent writers of one load sometimes deadlock (two lines scanning the same new
        # trace code); the server has already resolved it, so the retry need not wait a
        # second, the driver's default (it still backs off, doubling, up to 30 s in all)
        with self.session(initial_retry_delay=WRITE_RETRY_DELAY) as s:
            return s.execute_write(work)

    def run_auto(self, text: str, params: dict | None = None, *, name: str) -> None:
        """An auto-commit query (``CALL {} IN TRANSACTIONS`` needs one)."""
        neo4j = driver_module()
        query = neo4j.Query(text, metadata=self.metadata(name))
        with self.session() as s:
            s.run(query, params or {}).consume()


def retry(fn: Callable, *, attempts: int = 5, base: float = 0.5):
    """Call ``fn`` again after a transient failure the driver gave up on, waiting
    0.5, 1, 2, 4 s (with jitter) between attempts."""
    neo4j = driver_module()
    transient = (neo4j.exceptions.TransientError, neo4j.exceptions.ServiceUnavailable,
                 neo4j.exceptions.SessionExpired)
    for i in range(attempts):
        try:
            return fn()
        except transient:
            if i == attempts - 1:
                raise
            time.sleep(base * 2 ** i * (0.75 + random.random() / 2))
