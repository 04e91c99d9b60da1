"""The engine seam: where the detectors' heavy SQL runs.

The SQL is written once, in DuckDB's dialect. ``DuckDBEngine`` runs it as it is, on the
workspace's connection (the default, and what every detector does today). ``SparkEngine``
runs the same statements on Apache Spark: each is transpiled with sqlglot (DuckDB → Spark SQL),
and the few statements that are not queries are carried out the way Spark can:

- ``CREATE TEMP TABLE t AS SELECT ...``: the query, materialised (``localCheckpoint``, so a
  ``row_number()`` or any other value is computed once, as in a DuckDB table), as the
  temporary view ``t``;
- ``DELETE FROM t WHERE cond``: ``t`` again without the rows where ``cond`` holds;
- ``DROP TABLE IF EXISTS t``: the view dropped.

The only function Spark lacks is ``lgamma``; engines spell the log-factorial the expressions
need (``ln_factorial``): DuckDB's ``lgamma(k + 1)``, Spark's sum of ``ln(i)`` for i = 1..k.

So far the co-occurrence engine (``detect.cooccur``: events, the bucketed self-join, the
distinct-day counts, the null model and its tails) runs on both; ``detect --engine spark``
sends it to Spark (``offloading``) while the rest of detection runs on DuckDB (see
docs/engines.md for what remains).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import numpy as np


class Engine(Protocol):
    name: str

    def run(self, sql: str, params: Sequence[Any] | None = None) -> None: ...

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]: ...

    def columns(self, sql: str, params: Sequence[Any] | None = None) -> dict[str, np.ndarray]: ...

    def ln_factorial(self, expr: str) -> str: ...


class DuckDBEngine:
    """The statements as written, on a DuckDB connection."""

    name = "duckdb"

    def __init__(self, con) -> None:
        self.con = con

    def run(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self.con.execute(sql, params) if params else self.con.execute(sql)

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        return (self.con.execute(sql, params) if params else self.con.execute(sql)).fetchall()

    def columns(self, sql: str, params: Sequence[Any] | None = None) -> dict[str, np.ndarray]:
        return (self.con.execute(sql, params) if params else self.con.execute(sql)).fetchnumpy()

    def ln_factorial(self, expr: str) -> str:
        return f"lgamma({expr} + 1)"


def engine_of(con) -> Engine:
    """``con`` as an engine: a DuckDB connection is wrapped, an engine is itself."""
    return con if hasattr(con, "ln_factorial") else DuckDBEngine(con)


_CREATE = re.compile(r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?TEMP(?:ORARY)?\s+TABLE\s+(\w+)\s+AS\s+(.*)$", re.S | re.I)
_DROP = re.compile(r"^\s*DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(\w+)\s*$", re.I)
_DELETE = re.compile(r"^\s*DELETE\s+FROM\s+(\w+)\s+WHERE\s+(.*)$", re.S | re.I)


_OFFLOAD: list = []


@contextmanager
def offloading(engine) -> Iterator[None]:
    """While inside, the co-occurrence engine of every detector runs on ``engine`` (its
    events sent as Parquet, its result tables brought back to the DuckDB connection)."""
    _OFFLOAD.append(engine)
    try:
        yield
    finally:
        _OFFLOAD.pop()


def offload_engine():
    """The engine the heavy steps are sent to (None: they run on DuckDB)."""
    return _OFFLOAD[-1] if _OFFLOAD else None


def local_spark(*, cores: int = 2, app: str = "graphfraud", conf: dict[str, str] | None = None,
                master: str | None = None):
    """A SparkSession: in local mode on this machine only (loopback, no UI, nothing
    downloaded) unless ``master`` names a cluster (``yarn``, ``k8s://…``; under
    ``spark-submit`` the master it was given). Needs the ``spark`` extra (pyspark) and Java 17."""
    from pyspark.sql import SparkSession  # the spark extra

    master = master or f"local[{int(cores)}]"
    builder = (SparkSession.builder.master(master).appName(app).config("spark.sql.session.timeZone", "UTC")
               .config("spark.ui.showConsoleProgress", "false"))
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # in local mode the driver's JVM does all the work (Spark's default heap, 1 GB, runs out
        # at a few million claims); GRAPHFRAUD_SPARK_MEMORY sets it (default 8g)
        builder = builder.config("spark.driver.memory", os.environ.get("GRAPHFRAUD_SPARK_MEMORY", "8g"))
        builder = (builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
                   .config("spark.ui.enabled", "false")
                   .config("spark.sql.shuffle.partitions", str(4 * int(cores))))
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def spark_session(master: str | None = None):
    """The SparkSession to run on and whether it is ours to stop: the one already active in
    this process (``spark-submit``'s, a notebook's, a test's), else a new ``local_spark``."""
    from pyspark.sql import SparkSession  # the spark extra

    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active, False
    return local_spark(master=master), True


class SparkEngine:
    """The same statements on a SparkSession (see the module doc)."""

    name = "spark"

    def __init__(self, spark) -> None:
        self.spark = spark
        self._views: set[str] = set()
        # ln(k!) as the sum of ln(i), i = 1..k: Spark has no lgamma (k is a count of days)
        spark.sql("CREATE OR REPLACE TEMPORARY FUNCTION gf_lnfact(k DOUBLE) RETURNS DOUBLE RETURN "
                  "CASE WHEN k < 1 THEN 0D ELSE aggregate(sequence(1, CAST(k AS INT)), 0D, (acc, x) -> acc + ln(x)) END")

    @staticmethod
    def transpile(sql: str) -> str:
        import sqlglot  # the spark extra

        return sqlglot.transpile(sql, read="duckdb", write="spark")[0]

    def _df(self, sql: str, params: Sequence[Any] | None):
        text = self.transpile(sql)
        return self.spark.sql(text, args=list(params)) if params else self.spark.sql(text)

    def _replace(self, name: str, df) -> None:
        df = df.localCheckpoint(eager=True)
        df.createOrReplaceTempView(name)
        self._views.add(name)

    def run(self, sql: str, params: Sequence[Any] | None = None) -> None:
        if m := _CREATE.match(sql):
            self._replace(m.group(1), self._df(m.group(2), params))
        elif m := _DROP.match(sql):
            self.spark.catalog.dropTempView(m.group(1))
            self._views.discard(m.group(1))
        elif m := _DELETE.match(sql):
            name, cond = m.group(1), m.group(2)
            self._replace(name, self._df(f"SELECT * FROM {name} WHERE NOT coalesce(({cond}), FALSE)", params))
        else:
            self._df(sql, params).collect()

    def rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        return [tuple(r) for r in self._df(sql, params).collect()]

    def arrow(self, sql: str, params: Sequence[Any] | None = None):
        """The result as a pyarrow table (to bring it back to DuckDB)."""
        return self._df(sql, params).toArrow()

    def drop_prefix(self, prefix: str) -> None:
        """Drop the views of one detector's pass (``{prefix}_…``)."""
        for name in [v for v in self._views if v.startswith(prefix + "_")]:
            self.spark.catalog.dropTempView(name)
            self._views.discard(name)

    def columns(self, sql: str, params: Sequence[Any] | None = None) -> dict[str, np.ndarray]:
        df = self._df(sql, params)
        names = df.columns
        got = df.collect()
        return {n: np.array([r[i] for r in got]) for i, n in enumerate(names)}

    def ln_factorial(self, expr: str) -> str:
        return f"gf_lnfact({expr})"

    def read_parquet(self, name: str, path: str) -> None:
        """The Parquet file or dataset at ``path`` (any path or URI Spark reads) as the
        temporary view ``name``."""
        self._replace(name, self.spark.read.parquet(str(path)))

    def close(self) -> None:
        for name in list(self._views):
            self.spark.catalog.dropTempView(name)
        self._views.clear()
