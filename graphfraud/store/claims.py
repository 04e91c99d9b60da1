"""The claims that stand: what detectors, views and exports read instead of ``claims``."""

from __future__ import annotations


def live_claims(con) -> str:
    """Create (or refresh) two temporary relations on ``con`` and return the view's name:

    - ``reversed_claims(claim_id)``: the claims a reversal row cancels (a small table);
    - ``live_claims``: every claim column of the claims that stand, i.e. neither a reversal
      row nor a reversed claim. A refund gave the fund its money back, so neither side is
      evidence of anything.

    ``con`` is a DuckDB connection or a detection engine (``graphfraud.detect.engine``: the
    same statements on Spark)."""
    execute = con.run if hasattr(con, "ln_factorial") else con.execute
    execute("""
        CREATE OR REPLACE TEMP TABLE reversed_claims AS
        SELECT DISTINCT reverses_claim_id AS claim_id FROM claims WHERE reverses_claim_id IS NOT NULL""")
    execute("""
        CREATE OR REPLACE TEMP VIEW live_claims AS
        SELECT c.* FROM claims c ANTI JOIN reversed_claims USING (claim_id) WHERE c.reverses_claim_id IS NULL""")
    return "live_claims"
