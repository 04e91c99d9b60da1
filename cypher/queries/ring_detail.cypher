// name: ring_detail
// 一个团伙的全部：成员（类型、角色）及其背后的每一笔结算。
// Everything behind one ring: one row per member (entity type, id, role, its claims and
// amount inside the ring) and, for each member that is a card, the ring's claims made with
// that card (claim id, time, facility, amount in fen).
// params: $ring_id
MATCH (r:Ring {ring_id: $ring_id})<-[m:MEMBER_OF]-(n)
OPTIONAL MATCH (r)-[:EVIDENCE]->(c:Claim)<-[:MADE]-(n:Card)
OPTIONAL MATCH (c)-[:AT]->(f:Facility)
WITH r, m, n, c, f ORDER BY c.settled_at
RETURN r.ring_id AS ring_id, r.kind AS kind, r.score AS score, m.entity_type AS entity_type,
       coalesce(n.card_id, n.patient_id, n.doctor_id, n.facility_id, n.terminal_id, n.phone_id, n.address_id,
                n.item_code) AS entity_id,
       m.role AS role, m.n_claims AS member_claims, m.amount_fen AS member_fen,
       collect(CASE WHEN c IS NULL THEN NULL ELSE {claim_id: c.claim_id, settled_at: c.settled_at,
                    facility_id: f.facility_id, total_fen: c.total_fen} END) AS claims
ORDER BY entity_type, entity_id
