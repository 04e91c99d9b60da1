// name: shortest_path
// 两个实体之间的最短关系路径（卡、参保人、医师、机构、终端、电话、住址的编号均可），最多 8 跳，
// 只走数据中的关系（不经过团伙、线索与汇总边）。
// The shortest chain of ties between two entities, each given by its id (card, patient,
// doctor, facility, terminal, phone or address pseudonym), over the data's own relationships
// only (not through rings, leads or the aggregated exploration edges), at most 8 hops: one
// row per step with the node's label and id and the relationship that leads to the next.
// params: $from_id, $to_id
CALL () {
  MATCH (a:Card {card_id: $from_id}) RETURN a
  UNION MATCH (a:Patient {patient_id: $from_id}) RETURN a
  UNION MATCH (a:Doctor {doctor_id: $from_id}) RETURN a
  UNION MATCH (a:Facility {facility_id: $from_id}) RETURN a
  UNION MATCH (a:Terminal {terminal_id: $from_id}) RETURN a
  UNION MATCH (a:Phone {phone_id: $from_id}) RETURN a
  UNION MATCH (a:Address {address_id: $from_id}) RETURN a
}
CALL () {
  MATCH (b:Card {card_id: $to_id}) RETURN b
  UNION MATCH (b:Patient {patient_id: $to_id}) RETURN b
  UNION MATCH (b:Doctor {doctor_id: $to_id}) RETURN b
  UNION MATCH (b:Facility {facility_id: $to_id}) RETURN b
  UNION MATCH (b:Terminal {terminal_id: $to_id}) RETURN b
  UNION MATCH (b:Phone {phone_id: $to_id}) RETURN b
  UNION MATCH (b:Address {address_id: $to_id}) RETURN b
}
MATCH path = shortestPath((a)-[*..8]-(b))
WHERE all(r IN relationships(path) WHERE type(r) IN ['HOLDS', 'MADE', 'AT', 'BY', 'VIA', 'HAS_PHONE', 'LIVES_AT',
                                                      'WORKS_AT', 'INCLUDES', 'SCANNED'])
UNWIND range(0, length(path)) AS i
WITH path, i, nodes(path)[i] AS n
RETURN i AS step, labels(n)[0] AS label,
       coalesce(n.card_id, n.patient_id, n.doctor_id, n.facility_id, n.terminal_id, n.phone_id, n.address_id,
                n.claim_id, n.item_code, n.code) AS id,
       CASE WHEN i < length(path) THEN type(relationships(path)[i]) END AS next_tie
ORDER BY step
