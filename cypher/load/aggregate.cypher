// name: aggregate_visited
// Exploration edges, computed in the database after a load: Card-[:VISITED]->Facility with
// the number of claims, the amount in fen and the first and last settlement, over the claims
// that stand (reversal rows and the claims they cancel left out, as the detectors do).
MATCH (k:Card)
CALL (k) {
  MATCH (k)-[:MADE]->(c:Claim)-[:AT]->(f:Facility)
  WHERE c.reverses_claim_id IS NULL AND NOT EXISTS { MATCH (:Claim {reverses_claim_id: c.claim_id}) }
  WITH f, count(c) AS n, sum(c.total_fen) AS fen, min(c.settled_at) AS first, max(c.settled_at) AS last
  MERGE (k)-[v:VISITED]->(f)
  SET v.n_claims = n, v.amount_fen = fen, v.first = first, v.last = last
} IN TRANSACTIONS OF 2000 ROWS

// name: aggregate_prescribes_to
// Doctor-[:PRESCRIBES_TO]->Pharmacy: the doctor's prescriptions filled at each pharmacy, the
// amount in fen and the pharmacy's share of all the doctor's fills.
MATCH (d:Doctor)
CALL (d) {
  MATCH (d)<-[:BY]-(c:Claim)-[:AT]->(p:Pharmacy)
  WHERE c.total_fen > 0 AND c.reverses_claim_id IS NULL
    AND NOT EXISTS { MATCH (:Claim {reverses_claim_id: c.claim_id}) }
  WITH d, p, count(c) AS n, sum(c.total_fen) AS fen
  WITH d, collect({p: p, n: n, fen: fen}) AS fills, sum(n) AS total
  UNWIND fills AS x
  WITH d, x.p AS p, x.n AS n, x.fen AS fen, total
  MERGE (d)-[r:PRESCRIBES_TO]->(p)
  SET r.n_fills = n, r.amount_fen = fen, r.share = toFloat(n) / total
} IN TRANSACTIONS OF 500 ROWS
