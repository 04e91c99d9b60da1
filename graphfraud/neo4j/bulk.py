"""``graphfraud load --bulk DIR``: the workspace as CSV files for ``neo4j-admin database import
full``, the fastest way to build a large region's graph from scratch (the database must be
new or empty; later months go through the Bolt loader, which merges).

Each file has its header on its first line with typed properties (``settled_at:localdatetime``,
``total_fen:long``), ``:ID(Card)`` on nodes and ``:START_ID``/``:END_ID``/``:TYPE`` on
relationships; empty fields are absent properties. The import ids are the node ids
themselves, numbered here 0, 1, 2, … across all node files (``--id-type=actual``): the
importer then looks nothing up, which halved its relationship stage against integer ids it
had to map (README, Benchmarks). The ``(Label)`` of a header only names the file's nodes. Each
node keeps its own key as a property (``card_id`` …), exactly as the Bolt loader writes it:
the same graph model as the Bolt loader (``cypher/load/tables.cypher``), so either way the
extraction queries read it back alike.
The aggregated exploration edges and the constraints are added by ``graphfraud load
--neo4j`` afterwards (``--tables none`` only applies the schema and aggregates)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from graphfraud.neo4j.load import DRUG_CATALOGUE, ISO_TIMESTAMP
from graphfraud.neo4j.server import classpath, launcher_built
from graphfraud.store.workspace import Workspace

#: file name -> (SELECT producing the file's columns in header order, header)
NODE_FILES: dict[str, tuple[str, str]] = {
    "patients": ("""
        SELECT patient_id, id_number, name, sex, birth_date, death_date, insured_region, insurance_type,
               id_number_valid, TRUE AS listed, 'Patient' AS label FROM patients
        UNION ALL
        SELECT DISTINCT x.patient_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'Patient'
        FROM (SELECT patient_id FROM cards UNION SELECT patient_id FROM claims) x
        WHERE x.patient_id IS NOT NULL AND x.patient_id NOT IN (SELECT patient_id FROM patients)""",
        "patient_id:ID(Patient),id_number,name,sex,birth_date:date,death_date:date,insured_region,insurance_type,"
        "id_number_valid:boolean,listed:boolean,:LABEL"),
    "phones": ("SELECT DISTINCT phone FROM patients WHERE phone IS NOT NULL", "phone_id:ID(Phone)"),
    "addresses": ("SELECT DISTINCT address FROM patients WHERE address IS NOT NULL", "address_id:ID(Address)"),
    "facilities": ("""
        SELECT facility_id, name, facility_type, level, region_code, latitude, longitude, TRUE AS listed,
               'Facility' || CASE facility_type WHEN 'pharmacy' THEN '|Pharmacy' WHEN 'hospital' THEN '|Hospital'
                                                WHEN 'clinic' THEN '|Clinic' ELSE '' END AS label
        FROM facilities
        UNION ALL
        SELECT DISTINCT x.facility_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'Facility'
        FROM (SELECT facility_id FROM claims UNION SELECT facility_id FROM doctors) x
        WHERE x.facility_id IS NOT NULL AND x.facility_id NOT IN (SELECT facility_id FROM facilities)""",
        "facility_id:ID(Facility),name,facility_type,level,region_code,latitude:double,longitude:double,"
        "listed:boolean,:LABEL"),
    "doctors": ("""
        SELECT doctor_id, name, department, TRUE AS listed FROM doctors
        UNION ALL
        SELECT DISTINCT doctor_id, NULL, NULL, NULL FROM claims
        WHERE doctor_id IS NOT NULL AND doctor_id NOT IN (SELECT doctor_id FROM doctors)""",
        "doctor_id:ID(Doctor),name,department,listed:boolean"),
    "cards": ("""
        SELECT card_id, card_type, issued_at, TRUE AS listed FROM cards
        UNION ALL
        SELECT DISTINCT card_id, NULL, NULL, NULL FROM claims WHERE card_id NOT IN (SELECT card_id FROM cards)""",
        "card_id:ID(Card),card_type,issued_at:date,listed:boolean"),
    "claims": (f"""
        SELECT claim_id, claim_type, {ISO_TIMESTAMP.format(c='settled_at')}, admit_date, discharge_date, diagnosis_code,
               CAST(total_amount * 100 AS BIGINT), CAST(fund_amount * 100 AS BIGINT),
               CAST(account_amount * 100 AS BIGINT), CAST(self_amount * 100 AS BIGINT), region_code,
               reverses_claim_id, reversal_linked, amount_parts_mismatch FROM claims""",
        "claim_id:ID(Claim),claim_type,settled_at:localdatetime,admit_date:date,discharge_date:date,diagnosis_code,"
        "total_fen:long,fund_fen:long,account_fen:long,self_fen:long,region_code,reverses_claim_id,"
        "reversal_linked:boolean,amount_parts_mismatch:boolean"),
    "terminals": ("SELECT DISTINCT terminal_id FROM claims WHERE terminal_id IS NOT NULL", "terminal_id:ID(Terminal)"),
    # the catalogue the Bolt loader creates its Drug nodes from
    "drugs": (DRUG_CATALOGUE,
              "item_code:ID(Drug),item_name,category"),
    "trace_codes": ("SELECT DISTINCT trace_code FROM items WHERE trace_code IS NOT NULL", "code:ID(TraceCode)"),
}

#: a line's own item name or category on its INCLUDES: none where it is the Drug's, '' where
#: the line left it empty and the Drug has one (as ``load_items`` writes it; ``d`` is the
#: Drug's node file, exported before the relationships)
_LINE_OWN = ("CASE WHEN i.{c} IS NULL THEN CASE WHEN d.{c} IS NULL THEN NULL ELSE '' END "
             "WHEN i.{c} = d.{c} THEN NULL ELSE i.{c} END")

REL_FILES: dict[str, tuple[str, str]] = {
    "has_phone": ("SELECT patient_id, phone, 'HAS_PHONE' FROM patients WHERE phone IS NOT NULL",
                  ":START_ID(Patient),:END_ID(Phone),:TYPE"),
    "lives_at": ("SELECT patient_id, address, 'LIVES_AT' FROM patients WHERE address IS NOT NULL",
                 ":START_ID(Patient),:END_ID(Address),:TYPE"),
    "works_at": ("SELECT doctor_id, facility_id, 'WORKS_AT' FROM doctors WHERE facility_id IS NOT NULL",
                 ":START_ID(Doctor),:END_ID(Facility),:TYPE"),
    "holds": ("SELECT patient_id, card_id, 'HOLDS' FROM cards WHERE patient_id IS NOT NULL",
              ":START_ID(Patient),:END_ID(Card),:TYPE"),
    "made_card": ("SELECT card_id, claim_id, 'MADE' FROM claims", ":START_ID(Card),:END_ID(Claim),:TYPE"),
    "made_patient": ("SELECT patient_id, claim_id, 'MADE' FROM claims WHERE patient_id IS NOT NULL",
                     ":START_ID(Patient),:END_ID(Claim),:TYPE"),
    "at": ("SELECT claim_id, facility_id, 'AT' FROM claims", ":START_ID(Claim),:END_ID(Facility),:TYPE"),
    "by": ("SELECT claim_id, doctor_id, 'BY' FROM claims WHERE doctor_id IS NOT NULL",
           ":START_ID(Claim),:END_ID(Doctor),:TYPE"),
    "via": ("SELECT claim_id, terminal_id, 'VIA' FROM claims WHERE terminal_id IS NOT NULL",
            ":START_ID(Claim),:END_ID(Terminal),:TYPE"),
    "includes": (f"""
        SELECT i.claim_id, i.item_code, 'INCLUDES', i.item_no, {_LINE_OWN.format(c='item_name')},
               {_LINE_OWN.format(c='category')}, CAST(i.quantity AS VARCHAR), CAST(i.unit_price AS VARCHAR),
               CAST(i.amount * 100 AS BIGINT), i.days_supply
        FROM items i JOIN _bulk_Drug d ON d._key = i.item_code""",
                 ":START_ID(Claim),:END_ID(Drug),:TYPE,item_no:long,item_name,category,quantity,unit_price,"
                 "amount_fen:long,days_supply:long"),
    "scanned": ("SELECT claim_id, trace_code, 'SCANNED', item_no FROM items WHERE trace_code IS NOT NULL",
                ":START_ID(Claim),:END_ID(TraceCode),:TYPE,item_no:long"),
}


@dataclass
class BulkResult:
    out_dir: Path
    node_files: list[Path] = field(default_factory=list)
    relationship_files: list[Path] = field(default_factory=list)
    nodes: int = 0
    relationships: int = 0
    export_seconds: float = 0.0
    command: list[str] = field(default_factory=list)
    imported: bool = False
    import_seconds: float = 0.0
    import_log: str = ""

    @property
    def records(self) -> int:
        return self.nodes + self.relationships

    def command_line(self) -> str:
        return " ".join(shlex.quote(c) for c in self.command)


def _copy(con, select: str, header: str, path: Path) -> int:
    tmp = path.with_suffix(".tmp")
    n = con.execute(f"SELECT count(*) FROM ({select})").fetchall()[0][0]
    # header line first, then the rows without one; DuckDB quotes only where needed
    tmp.write_text(header + "\n", encoding="utf-8")
    body = path.with_suffix(".body")
    con.execute(f"COPY ({select}) TO '{str(body).replace(chr(39), chr(39) * 2)}' (FORMAT csv, HEADER false)")
    with tmp.open("ab") as out, body.open("rb") as src:
        shutil.copyfileobj(src, out, 1 << 20)
    body.unlink()
    tmp.replace(path)
    return n


_ID_FIELD = re.compile(r"^(\w+):ID\((\w+)\)$")
_END_FIELD = re.compile(r"^:(START|END)_ID\((\w+)\)$")


def _numbered_nodes(con, name: str, select: str, header: str, first: int) -> tuple[str, str]:
    """The node file ``name`` with the node ids ``first``, ``first + 1``, …: a temporary table
    ``_bulk_<Label>`` (``_nid``, the key, the other columns) and the SELECT and header of the
    file."""
    fields = header.split(",")
    m = _ID_FIELD.match(fields[0])
    if not m:
        raise ValueError(f"{name}: the first header field must be KEY:ID(Label), not {fields[0]}")
    key, label = m.groups()
    con.execute(f"CREATE OR REPLACE TEMP TABLE _bulk_{label} AS "
                f"SELECT CAST({int(first)} + row_number() OVER () - 1 AS BIGINT) AS _nid, s.* FROM ({select}) s(_key)")
    return f"SELECT * FROM _bulk_{label}", ",".join([f":ID({label})", key, *fields[1:]])


def _numbered_relationships(select: str, header: str) -> str:
    """A relationship SELECT whose two first columns (start and end keys) become the node ids
    of ``_bulk_<Label>``. LEFT joins: a key without its node leaves the id empty, and the
    import stops on it (``--skip-bad-relationships=false``) instead of losing the tie."""
    fields = header.split(",")
    ends = [_END_FIELD.match(f) for f in fields[:2]]
    if not all(ends) or [e.group(1) for e in ends] != ["START", "END"]:
        raise ValueError(f"a relationship file must start with :START_ID(A),:END_ID(B), not {header}")
    a, b = (e.group(2) for e in ends)
    return (f"SELECT sa._nid, sb._nid, r.* EXCLUDE (_start, _end) FROM ({select}) r(_start, _end) "
            f"LEFT JOIN _bulk_{a} sa ON sa._key = r._start LEFT JOIN _bulk_{b} sb ON sb._key = r._end")


def export(workspace: str | Path, out_dir: str | Path) -> BulkResult:
    """Write the import CSVs of every node and relationship file into ``out_dir``."""
    ws = Workspace.open(workspace)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    res = BulkResult(out)
    t0 = time.perf_counter()
    con = ws.connect(read_only=True)
    try:
        for name, (select, header) in NODE_FILES.items():
            path = out / f"nodes_{name}.csv"
            # node ids go on from the previous file's: one id space for all nodes
            numbered, numbered_header = _numbered_nodes(con, name, select, header, first=res.nodes)
            res.nodes += _copy(con, numbered, numbered_header, path)
            res.node_files.append(path)
        for name, (select, header) in REL_FILES.items():
            path = out / f"rels_{name}.csv"
            res.relationships += _copy(con, _numbered_relationships(select, header), header, path)
            res.relationship_files.append(path)
    finally:
        con.close()
    res.export_seconds = round(time.perf_counter() - t0, 3)
    res.command = import_command(res, database="neo4j")
    return res


def _node_label(path: Path) -> str:
    with path.open(encoding="utf-8") as fh:
        first = fh.readline().split(",")[0].strip()
    m = re.match(r"^:ID\((\w+)\)$", first)
    if not m:
        raise ValueError(f"{path}: the header must start with :ID(Label), not {first}")
    return m.group(1)


def import_threads() -> int:
    """Worker threads for the import: at least 8. The importer's default (one per core)
    leaves a small machine idle while its stages wait on each other and on the disk
    (measured figures: README, Benchmarks)."""
    return max(os.cpu_count() or 1, 8)


def import_command(res: BulkResult, *, database: str = "neo4j", admin: str = "neo4j-admin") -> list[str]:
    """The ``neo4j-admin database import full`` command line for the files of ``res``."""
    # the database name first: --nodes and --relationships take several files each
    cmd = [admin, "database", "import", "full", database, "--overwrite-destination=true", "--id-type=actual",
           "--array-delimiter=|", "--skip-bad-relationships=false", f"--threads={import_threads()}",
           f"--report-file={res.out_dir / 'import.report'}"]
    # each file's label from its id space (the importer takes no label from the id space
    # itself); a :LABEL column adds more (Pharmacy, Hospital, Clinic), separated by "|"
    cmd += [f"--nodes={_node_label(p)}={p}" for p in res.node_files]
    cmd += [f"--relationships={p}" for p in res.relationship_files]
    return cmd


#: JVM options of the import tool. Left to itself, the JIT compiler spent 29–44 of the 52–81
#: CPU-seconds of an import (``-XX:+CITime``), compiling ~1,200 methods with C2 on the two cores
#: the import itself needs; raising the thresholds 5× leaves C2 only the hot loops (~20 s of
#: compiling) and took the benchmark region's import from a median 35.8 s to 27.4 s in ad hoc
#: runs (the benchmark's figures: README, Benchmarks). Give your own neo4j-admin the same
#: option (``JAVA_OPTS``) for the same gain.
IMPORT_JVM_OPTIONS = ("-XX:CompileThresholdScaling=5",)


def run_import(res: BulkResult, neo4j_home: str | Path, *, database: str = "neo4j",
               heap: str = "1g") -> BulkResult:
    """Run the import into ``neo4j_home`` (stopped; its database is replaced) with the import
    tool from ``tools/neo4j`` (built by ``make neo4j-launcher``) and ``IMPORT_JVM_OPTIONS``."""

    if not launcher_built():
        raise FileNotFoundError("tools/neo4j is not built: run `make neo4j-launcher`")
    home = Path(neo4j_home)
    (home / "conf").mkdir(parents=True, exist_ok=True)
    (home / "conf" / "neo4j.conf").touch()
    cmd = ["java", f"-Xmx{heap}", *IMPORT_JVM_OPTIONS, "-cp", classpath(), "org.neo4j.cli.AdminTool",
           *import_command(res, database=database)[1:]]
    env = {**os.environ, "NEO4J_HOME": str(home), "NEO4J_CONF": str(home / "conf")}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    res.import_seconds = round(time.perf_counter() - t0, 3)
    res.import_log = proc.stdout[-6000:] + proc.stderr[-4000:]
    if proc.returncode != 0:
        raise RuntimeError(f"neo4j-admin database import failed (exit {proc.returncode}):\n{res.import_log}")
    res.imported = True
    return res
