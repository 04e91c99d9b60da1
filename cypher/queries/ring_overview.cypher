// name: ring_overview
// 团伙总览：按可疑度从高到低列出检测写回的团伙（可按类型筛选）。
// Rings written back by `graphfraud detect --neo4j`, most suspicious first: id, kind,
// score, rank, members, claims, amount in yuan (exact, from fen), dates, whether the amount
// is over the police-transfer threshold, and the reasons.
// params: $kind (default null), $limit (default 20)
MATCH (r:Ring)
WHERE $kind IS NULL OR r.kind = $kind
RETURN r.ring_id AS ring_id, r.kind AS kind, r.score AS score, r.rank AS rank, r.n_members AS n_members,
       r.n_claims AS n_claims, r.total_fen AS total_fen, r.first_date AS first_date, r.last_date AS last_date,
       r.over_transfer_threshold AS over_threshold, r.reasons_zh AS reasons_zh, r.reasons_en AS reasons_en
ORDER BY score DESC, total_fen DESC, ring_id
LIMIT toInteger($limit)
