"""The results tables a detection run writes into the workspace (and Neo4j mirrors), and
the lookups everyone reading them needs: the kinds of leads and their id prefixes, the
columns of each output. Views, evidence and Neo4j read these from here. The kinds of rings,
their id prefixes and names are the detectors' own (``graphfraud.detect.registry``)."""

from __future__ import annotations

RING_COLUMNS = ("ring_id", "kind", "score", "rank", "n_members", "n_claims", "total_amount", "fund_amount",
                "first_date", "last_date", "over_transfer_threshold", "reasons_zh", "reasons_en", "status",
                "previous_id")
MEMBER_COLUMNS = ("ring_id", "entity_type", "entity_id", "role", "n_claims", "amount")
REASON_COLUMNS = ("ring_id", "code", "value", "text_zh", "text_en")
LEAD_COLUMNS = ("lead_id", "kind", "entity_type", "entity_id", "claim_ids", "amount", "text_zh", "text_en", "score",
                "rank", "kind_rank", "reasons_zh", "reasons_en")
LEAD_REASON_COLUMNS = ("lead_id", "code", "value", "points", "text_zh", "text_en")

STORE_DDL = (
    """CREATE TABLE IF NOT EXISTS detect_runs (
        run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP, out_dir VARCHAR,
        settings VARCHAR, manifest VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS rings (
        run_id VARCHAR, ring_id VARCHAR, kind VARCHAR, score DOUBLE, rank INTEGER, n_members INTEGER,
        n_claims INTEGER, total_amount DECIMAL(38,2), fund_amount DECIMAL(38,2), first_date DATE, last_date DATE,
        over_transfer_threshold BOOLEAN, reasons_zh VARCHAR, reasons_en VARCHAR, status VARCHAR,
        previous_id VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS ring_members (
        run_id VARCHAR, ring_id VARCHAR, entity_type VARCHAR, entity_id VARCHAR, role VARCHAR, n_claims INTEGER,
        amount DECIMAL(38,2))""",
    """CREATE TABLE IF NOT EXISTS reasons (
        run_id VARCHAR, ring_id VARCHAR, code VARCHAR, value VARCHAR, text_zh VARCHAR, text_en VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS ring_claims (run_id VARCHAR, ring_id VARCHAR, claim_id VARCHAR)""",
    # the entities that identify each ring across runs (its cards; a doctor when it has none)
    """CREATE TABLE IF NOT EXISTS ring_keys (run_id VARCHAR, ring_id VARCHAR, kind VARCHAR, entity VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS leads (
        run_id VARCHAR, lead_id VARCHAR, kind VARCHAR, entity_type VARCHAR, entity_id VARCHAR, claim_ids VARCHAR,
        amount DECIMAL(38,2), text_zh VARCHAR, text_en VARCHAR)""",
    # a claim's amount fits DECIMAL(18,2); the sum of a ring's may not: sums are DECIMAL(38,2)
    # (a workspace made before keeps its rows, widened)
    "ALTER TABLE rings ALTER total_amount TYPE DECIMAL(38,2)",
    "ALTER TABLE rings ALTER fund_amount TYPE DECIMAL(38,2)",
    "ALTER TABLE ring_members ALTER amount TYPE DECIMAL(38,2)",
    "ALTER TABLE leads ALTER amount TYPE DECIMAL(38,2)",
    # the work queue (a workspace made before it gains the columns; its old leads keep NULLs)
    "ALTER TABLE leads ADD COLUMN IF NOT EXISTS score DOUBLE",
    "ALTER TABLE leads ADD COLUMN IF NOT EXISTS rank INTEGER",
    "ALTER TABLE leads ADD COLUMN IF NOT EXISTS kind_rank INTEGER",
    "ALTER TABLE leads ADD COLUMN IF NOT EXISTS reasons_zh VARCHAR",
    "ALTER TABLE leads ADD COLUMN IF NOT EXISTS reasons_en VARCHAR",
    "ALTER TABLE leads ADD COLUMN IF NOT EXISTS queued BOOLEAN",
    """CREATE TABLE IF NOT EXISTS lead_reasons (
        run_id VARCHAR, lead_id VARCHAR, code VARCHAR, value VARCHAR, points DOUBLE, text_zh VARCHAR, text_en VARCHAR)""",
)

#: lead kinds, in the order the queue lists them
LEAD_KINDS = ("after_death", "impossible_travel", "used_while_inpatient", "overlapping_supply", "split_admission",
         "duplicate_claim", "demographic_mismatch")
#: lead id prefix per kind
LEAD_PREFIX = {"after_death": "AD", "impossible_travel": "IT", "used_while_inpatient": "UI",
               "overlapping_supply": "OS", "split_admission": "SA", "duplicate_claim": "DC",
               "demographic_mismatch": "DM"}


def ensure_tables(con) -> None:
    """Create the results tables on ``con`` (and widen or extend those of an older workspace)."""
    for ddl in STORE_DDL:
        con.execute(ddl)
