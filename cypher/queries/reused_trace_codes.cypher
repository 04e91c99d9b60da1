// name: reused_trace_codes
// 追溯码重复扫码：同一追溯码出现在两笔及以上结算中（一盒药只应扫码一次）。
// Reused trace codes: a drug traceability code scanned on $min_claims or more distinct
// claims (one box should be scanned once), with the claims, cards and facilities involved.
// params: $min_claims (default 2), $limit (default 200)
MATCH (t:TraceCode)<-[:SCANNED]-(c:Claim)
WITH t, collect(DISTINCT c) AS claims
WHERE size(claims) >= toInteger($min_claims)
UNWIND claims AS c
MATCH (k:Card)-[:MADE]->(c)-[:AT]->(f:Facility)
WITH t, count(DISTINCT c) AS n_claims, collect(DISTINCT c.claim_id) AS claim_ids,
     collect(DISTINCT k.card_id) AS cards, collect(DISTINCT f.facility_id) AS facilities
RETURN t.code AS trace_code, n_claims, claim_ids, cards, facilities
ORDER BY n_claims DESC, trace_code
LIMIT toInteger($limit)
