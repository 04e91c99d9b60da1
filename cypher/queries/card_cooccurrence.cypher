// name: card_cooccurrence
// 库内卡片共现计数：两张卡在同一药店、相隔不超过 $window_seconds 秒结算的不同天数（按两笔中较早一笔的日期计），
// 与检测器的 Python 共现引擎的计数相同。
// The in-database card co-occurrence count, the same count the Python engine
// (graphfraud/detect/cooccur.py, card_collection) makes: for two cards and one pharmacy, the
// number of distinct days (the date of the earlier of the two settlements) on which both
// settled there within $window_seconds of each other; only claims that stand with a positive
// amount at a pharmacy count. Pairs meeting on at least $min_days days, most days first.
// params: $window_seconds (default 600), $min_days (default 3), $limit (default 1000)
MATCH (a:Card)-[:MADE]->(x:Claim)-[:AT]->(f:Pharmacy)
WHERE x.total_fen > 0 AND x.reverses_claim_id IS NULL
  AND NOT EXISTS { MATCH (:Claim {reverses_claim_id: x.claim_id}) }
MATCH (y:Claim)
WHERE y.settled_at >= x.settled_at AND y.settled_at <= x.settled_at + duration({seconds: toInteger($window_seconds)})
  AND y.total_fen > 0 AND y.reverses_claim_id IS NULL AND y <> x
MATCH (y)-[:AT]->(f), (b:Card)-[:MADE]->(y)
WHERE b <> a AND NOT EXISTS { MATCH (:Claim {reverses_claim_id: y.claim_id}) }
WITH CASE WHEN a.card_id < b.card_id THEN a.card_id ELSE b.card_id END AS card_a,
     CASE WHEN a.card_id < b.card_id THEN b.card_id ELSE a.card_id END AS card_b,
     f.facility_id AS pharmacy_id, date(x.settled_at) AS day
WITH card_a, card_b, pharmacy_id, count(DISTINCT day) AS days, min(day) AS first_day, max(day) AS last_day
WHERE days >= toInteger($min_days)
RETURN card_a, card_b, pharmacy_id, days, first_day, last_day
ORDER BY days DESC, card_a, card_b, pharmacy_id
LIMIT toInteger($limit)
