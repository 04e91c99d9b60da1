// name: card_neighbourhood
// 一张卡的周边：持卡人、其电话与住址、去过的机构（次数、金额、首末次）、接诊医师、刷卡终端、所属团伙与线索。
// A card's neighbourhood, one row per tie: the patient who holds it, that patient's phone
// and address, each facility it VISITED (claims, amount in fen, first and last), each doctor
// and terminal on its claims, and the rings and leads it belongs to.
// params: $card_id
MATCH (k:Card {card_id: $card_id})
CALL (k) {
  MATCH (p:Patient)-[:HOLDS]->(k)
  RETURN 'holder' AS tie, 'Patient' AS label, p.patient_id AS id, null AS n_claims, null AS amount_fen,
         null AS first, null AS last
  UNION ALL
  MATCH (p:Patient)-[:HOLDS]->(k), (p)-[:HAS_PHONE]->(x:Phone)
  RETURN 'holder phone' AS tie, 'Phone' AS label, x.phone_id AS id, null AS n_claims, null AS amount_fen,
         null AS first, null AS last
  UNION ALL
  MATCH (p:Patient)-[:HOLDS]->(k), (p)-[:LIVES_AT]->(x:Address)
  RETURN 'holder address' AS tie, 'Address' AS label, x.address_id AS id, null AS n_claims, null AS amount_fen,
         null AS first, null AS last
  UNION ALL
  MATCH (k)-[v:VISITED]->(f:Facility)
  RETURN 'visited' AS tie, 'Facility' AS label, f.facility_id AS id, v.n_claims AS n_claims, v.amount_fen AS amount_fen,
         v.first AS first, v.last AS last
  UNION ALL
  MATCH (k)-[:MADE]->(c:Claim)-[:BY]->(d:Doctor)
  RETURN 'doctor' AS tie, 'Doctor' AS label, d.doctor_id AS id, count(c) AS n_claims, sum(c.total_fen) AS amount_fen,
         min(c.settled_at) AS first, max(c.settled_at) AS last
  UNION ALL
  MATCH (k)-[:MADE]->(c:Claim)-[:VIA]->(t:Terminal)
  RETURN 'terminal' AS tie, 'Terminal' AS label, t.terminal_id AS id, count(c) AS n_claims,
         sum(c.total_fen) AS amount_fen, min(c.settled_at) AS first, max(c.settled_at) AS last
  UNION ALL
  MATCH (k)-[:MEMBER_OF]->(r:Ring)
  RETURN 'ring' AS tie, 'Ring' AS label, r.ring_id AS id, r.n_claims AS n_claims, r.total_fen AS amount_fen,
         r.first_date AS first, r.last_date AS last
  UNION ALL
  MATCH (k)<-[:ABOUT]-(x:Lead)
  RETURN 'lead' AS tie, 'Lead' AS label, x.lead_id AS id, size(x.claim_ids) AS n_claims, x.amount_fen AS amount_fen,
         null AS first, null AS last
}
RETURN tie, label, id, n_claims, amount_fen, first, last
ORDER BY tie, id
