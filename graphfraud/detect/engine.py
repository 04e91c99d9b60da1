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

A detector marks its heavy, data-parallel steps with ``on_engine(con, reads=..., keep=...)``
and writes them against the engine it is given: on DuckDB that is the connection itself; under
``detect --engine spark`` (``offloading``) it is the Spark engine, the canonical tables the
steps read are Spark's (``TableSources``: catalog tables named in the settings, the canonical
Parquet dataset, or, failing both, a copy of the workspace's), and only the tables the detector
keeps for its small steps come back to the DuckDB connection. The co-occurrence engine, excess
supply and the resale ties, trace-code repeats, doctor–pharmacy shares and the leads' rules are
written this way; the small steps (the projection graph, Leiden, peeling, scoring, reasons)
run on the driver as before (docs/engines.md).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

#: the canonical tables heavy steps may read (data contract)
CANONICAL = ("patients", "facilities", "doctors", "cards", "claims", "items")

Params = Sequence[Any] | Mapping[str, Any] | None


class Engine(Protocol):
    name: str

    def run(self, sql: str, params: Params = None) -> None: ...

    def rows(self, sql: str, params: Params = None) -> list[tuple]: ...

    def columns(self, sql: str, params: Params = None) -> dict[str, np.ndarray]: ...

    def ln_factorial(self, expr: str) -> str: ...

    def put(self, name: str, table: pa.Table) -> None: ...

    def exists(self, name: str) -> bool: ...


class DuckDBEngine:
    """The statements as written, on a DuckDB connection."""

    name = "duckdb"

    def __init__(self, con) -> None:
        self.con = con

    def run(self, sql: str, params: Params = None) -> None:
        self.con.execute(sql, params) if params else self.con.execute(sql)

    def rows(self, sql: str, params: Params = None) -> list[tuple]:
        return (self.con.execute(sql, params) if params else self.con.execute(sql)).fetchall()

    def columns(self, sql: str, params: Params = None) -> dict[str, np.ndarray]:
        return (self.con.execute(sql, params) if params else self.con.execute(sql)).fetchnumpy()

    def ln_factorial(self, expr: str) -> str:
        return f"lgamma({expr} + 1)"

    def put(self, name: str, table: pa.Table) -> None:
        """``table`` (values from Python: settings, ids) as the temporary table ``name``."""
        put_arrow(self.con, name, table)

    def exists(self, name: str) -> bool:
        return self.con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?",
                                [name]).fetchall()[0][0] > 0


def put_arrow(con, name: str, table: pa.Table) -> None:
    """An Arrow table as the temporary DuckDB table ``name`` (a name from code)."""
    con.register("gf_engine_arrow", table)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM gf_engine_arrow")
    finally:
        con.unregister("gf_engine_arrow")


def engine_of(con) -> Engine:
    """``con`` as an engine: a DuckDB connection is wrapped, an engine is itself."""
    return con if hasattr(con, "ln_factorial") else DuckDBEngine(con)


_CREATE = re.compile(r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?TEMP(?:ORARY)?\s+TABLE\s+(\w+)\s+AS\s+(.*)$", re.S | re.I)
_DROP = re.compile(r"^\s*DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(\w+)\s*$", re.I)
_DELETE = re.compile(r"^\s*DELETE\s+FROM\s+(\w+)\s+WHERE\s+(.*)$", re.S | re.I)
_VIEW = re.compile(r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?TEMP(?:ORARY)?\s+VIEW\s+(\w+)\s+AS\s+(.*)$", re.S | re.I)
#: DuckDB's hash is 64 bits; Spark's ``hash`` is 32 (too many collisions to group by), ``xxhash64`` is 64
_HASH = re.compile(r"\bHASH\(")


_OFFLOAD: list = []


@contextmanager
def offloading(engine) -> Iterator[None]:
    """While inside, the heavy steps of every detector (``on_engine``) run on ``engine``;
    on leaving, what the engine holds for the run is dropped (``close``)."""
    _OFFLOAD.append(engine)
    try:
        yield
    finally:
        _OFFLOAD.pop()
        engine.close()


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


@dataclass
class TableSources:
    """Where the Spark engine reads each canonical table: a catalog (Hive) table named in the
    settings (``[spark] claims = "medins.claims"``), else the canonical Parquet dataset
    (``<root>/<table>/*.parquet``: the workspace's ``parquet/`` that ingest writes, or any path
    or URI Spark reads, ``[spark] parquet = "hdfs:///…"``), else a copy of the workspace's table
    written for it. The workspace's own dataset is used only when it holds every row of the
    table (a workspace ingested with ``--no-parquet`` has none)."""

    catalog: Mapping[str, str] = field(default_factory=dict)
    parquet: str | None = None
    #: the dataset is the workspace's own: compare its rows with the workspace's before use
    check: bool = True


class SparkEngine:
    """The same statements on a SparkSession (see the module doc)."""

    name = "spark"

    def __init__(self, spark, sources: TableSources | None = None) -> None:
        self.spark = spark
        self.sources = sources or TableSources()
        self._views: set[str] = set()
        #: canonical table -> where it was read from (for run.json)
        self.read_from: dict[str, str] = {}
        self._staging: Path | None = None
        # ln(k!) as the sum of ln(i), i = 1..k: Spark has no lgamma (k is a count of days)
        spark.sql("CREATE OR REPLACE TEMPORARY FUNCTION gf_lnfact(k DOUBLE) RETURNS DOUBLE RETURN "
                  "CASE WHEN k < 1 THEN 0D ELSE aggregate(sequence(1, CAST(k AS INT)), 0D, (acc, x) -> acc + ln(x)) END")

    @staticmethod
    def transpile(sql: str) -> str:
        import sqlglot  # the spark extra

        return _HASH.sub("XXHASH64(", sqlglot.transpile(sql, read="duckdb", write="spark")[0])

    def _df(self, sql: str, params: Params):
        text = self.transpile(sql)
        if not params:
            return self.spark.sql(text)
        return self.spark.sql(text, args=dict(params) if isinstance(params, Mapping) else list(params))

    def _replace(self, name: str, df, *, materialise: bool = True) -> None:
        if materialise:
            df = df.localCheckpoint(eager=True)
        df.createOrReplaceTempView(name)
        self._views.add(name)

    def run(self, sql: str, params: Params = None) -> None:
        if m := _CREATE.match(sql):
            self._replace(m.group(1), self._df(m.group(2), params))
        elif m := _VIEW.match(sql):
            self._replace(m.group(1), self._df(m.group(2), params), materialise=False)
        elif m := _DROP.match(sql):
            self.drop(m.group(1))
        elif m := _DELETE.match(sql):
            name, cond = m.group(1), m.group(2)
            self._replace(name, self._df(f"SELECT * FROM {name} WHERE NOT coalesce(({cond}), FALSE)", params))
        else:
            self._df(sql, params).collect()

    def rows(self, sql: str, params: Params = None) -> list[tuple]:
        return [tuple(r) for r in self._df(sql, params).collect()]

    def arrow(self, sql: str, params: Params = None) -> pa.Table:
        """The result as a pyarrow table (to bring it back to DuckDB)."""
        return self._df(sql, params).toArrow()

    def columns(self, sql: str, params: Params = None) -> dict[str, np.ndarray]:
        df = self._df(sql, params)
        names = df.columns
        got = df.collect()
        return {n: np.array([r[i] for r in got]) for i, n in enumerate(names)}

    def ln_factorial(self, expr: str) -> str:
        return f"gf_lnfact({expr})"

    def put(self, name: str, table: pa.Table) -> None:
        self._replace(name, self.spark.createDataFrame(table), materialise=False)

    def exists(self, name: str) -> bool:
        return name in self._views

    def drop(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)
        self._views.discard(name)

    def views(self) -> set[str]:
        return set(self._views)

    def read_parquet(self, name: str, path: str) -> None:
        """The Parquet file or dataset at ``path`` (any path or URI Spark reads) as the
        temporary view ``name``."""
        self._replace(name, self.spark.read.parquet(str(path)), materialise=False)

    def staging(self) -> Path:
        """A folder the driver writes and the executors read (``GRAPHFRAUD_SPARK_STAGING``, a
        shared mount on a cluster; a local temporary folder by default), removed by ``close``."""
        if self._staging is None:
            self._staging = Path(tempfile.mkdtemp(prefix="graphfraud-engine-",
                                                  dir=os.environ.get("GRAPHFRAUD_SPARK_STAGING") or None))
        return self._staging

    def provide(self, con, names: Sequence[str]) -> None:
        """The canonical tables ``names`` as Spark views of the same names (see
        ``TableSources``), once per run; ``con`` is the workspace's DuckDB connection."""
        for name in names:
            if name in self.read_from:
                continue
            if name not in CANONICAL:
                raise ValueError(f"not a canonical table: {name}")
            src = self.sources
            if name in src.catalog:
                self._replace(name, self.spark.table(src.catalog[name]), materialise=False)
                self.read_from[name] = f"catalog:{src.catalog[name]}"
                continue
            why = "no Parquet dataset"
            if src.parquet:
                folder = f"{str(src.parquet).rstrip('/')}/{name}"
                if not src.check:
                    self.read_parquet(name, folder)
                    self.read_from[name] = f"parquet:{folder}"
                    continue
                files = sorted(Path(folder).glob("*.parquet")) if Path(folder).is_dir() else []
                have = con.execute("SELECT count(*) FROM read_parquet(?)", [[str(f) for f in files]]
                                   ).fetchall()[0][0] if files else 0
                want = con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
                if have == want:
                    if want:
                        self.read_parquet(name, folder)
                    else:  # nothing to read: the workspace's empty table gives the columns
                        self.put(name, con.execute(f"SELECT * FROM {name}").fetch_arrow_table())
                    self.read_from[name] = f"parquet:{folder}"
                    continue
                why = f"the Parquet dataset holds {have} of {want} rows"
            path = self.staging() / f"{name}.parquet"
            con.execute(f"COPY (SELECT * FROM {name}) TO '{str(path).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)")
            self.read_parquet(name, str(path))
            self.read_from[name] = f"copy ({why})"

    def drop_prefix(self, prefix: str) -> None:
        """Drop the views of one detector's pass (``{prefix}_…``)."""
        for name in [v for v in self._views if v.startswith(prefix + "_")]:
            self.drop(name)

    def close(self) -> None:
        for name in list(self._views):
            self.spark.catalog.dropTempView(name)
        self._views.clear()
        self.read_from.clear()
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None


@contextmanager
def on_engine(con, *, reads: Sequence[str] = (), keep: Sequence[str] | Mapping[str, str] = ()) -> Iterator[Engine]:
    """The engine a detector's heavy steps run on: the DuckDB connection itself, or (inside
    ``offloading``) the Spark engine with the canonical tables ``reads`` provided. On leaving,
    the tables named in ``keep`` that the steps made come back to ``con`` as temporary tables
    (a mapping gives the query that selects what comes back: only the rows the small steps
    need), and the rest of what the steps made on Spark is dropped."""
    off = offload_engine()
    if off is None:
        yield DuckDBEngine(con)
        return
    off.provide(con, reads)
    before = off.views()
    try:
        yield off
        wanted = keep.items() if isinstance(keep, Mapping) else ((name, None) for name in keep)
        for name, query in wanted:
            if off.exists(name):
                put_arrow(con, name, off.arrow(query or f"SELECT * FROM {name}"))
    finally:
        for name in off.views() - before:
            off.drop(name)
