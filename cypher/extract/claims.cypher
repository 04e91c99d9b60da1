// name: extract_claims
// The claims table: every Claim with the card that MADE it, the patient named on it, the
// facility it was settled AT, the doctor BY whom and the terminal VIA which. Amounts in fen
// (integer); the caller turns them back into exact yuan.
MATCH (k:Card)-[:MADE]->(c:Claim)-[:AT]->(f:Facility)
RETURN c.claim_id AS claim_id, k.card_id AS card_id, head([(p:Patient)-[:MADE]->(c) | p.patient_id]) AS patient_id,
       f.facility_id AS facility_id, head([(c)-[:BY]->(d:Doctor) | d.doctor_id]) AS doctor_id,
       c.claim_type AS claim_type, c.settled_at AS settled_at, c.admit_date AS admit_date,
       c.discharge_date AS discharge_date, c.diagnosis_code AS diagnosis_code,
       c.total_fen AS total_fen, c.fund_fen AS fund_fen, c.account_fen AS account_fen, c.self_fen AS self_fen,
       head([(c)-[:VIA]->(t:Terminal) | t.terminal_id]) AS terminal_id, c.region_code AS region_code,
       c.reverses_claim_id AS reverses_claim_id, c.reversal_linked AS reversal_linked,
       c.amount_parts_mismatch AS amount_parts_mismatch
