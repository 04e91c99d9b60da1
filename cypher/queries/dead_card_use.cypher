// name: dead_card_use
// 死亡后仍在使用的卡：持卡人死亡日期之后结算的每一笔（不含冲销），含距死亡天数。
// Dead-card use: every claim that stands, settled with a card after the death date of the
// patient who holds it, with the days since death, facility and amount in fen.
// params: $limit (default 1000)
MATCH (p:Patient)-[:HOLDS]->(k:Card)-[:MADE]->(c:Claim)-[:AT]->(f:Facility)
WHERE p.death_date IS NOT NULL AND date(c.settled_at) > p.death_date
  AND c.reverses_claim_id IS NULL AND NOT EXISTS { MATCH (:Claim {reverses_claim_id: c.claim_id}) }
RETURN p.patient_id AS patient_id, k.card_id AS card_id, p.death_date AS death_date, c.claim_id AS claim_id,
       c.settled_at AS settled_at, duration.inDays(p.death_date, date(c.settled_at)).days AS days_after_death,
       f.facility_id AS facility_id, c.total_fen AS total_fen
ORDER BY patient_id, settled_at, claim_id
LIMIT toInteger($limit)
