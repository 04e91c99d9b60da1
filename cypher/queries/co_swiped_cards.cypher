// name: co_swiped_cards
// 与一张卡“同刷”的卡：在同一药店、相隔不超过 $window_minutes 分钟结算的其他卡，按相遇天数排序。
// Cards swiped together with a card: other cards settled at the same pharmacy within
// $window_minutes minutes of one of its settlements, with the number of distinct days they
// met, the pharmacies and the first and last meeting. Only claims that stand (no reversal
// rows, no reversed claims) with a positive amount count, as in the detectors.
// params: $card_id, $window_minutes (default 10), $min_days (default 1)
MATCH (k:Card {card_id: $card_id})-[:MADE]->(x:Claim)-[:AT]->(f:Pharmacy)
WHERE x.total_fen > 0 AND x.reverses_claim_id IS NULL
  AND NOT EXISTS { MATCH (:Claim {reverses_claim_id: x.claim_id}) }
MATCH (y:Claim)
WHERE y.settled_at >= x.settled_at - duration({minutes: toInteger($window_minutes)})
  AND y.settled_at <= x.settled_at + duration({minutes: toInteger($window_minutes)})
  AND y.total_fen > 0 AND y.reverses_claim_id IS NULL
MATCH (y)-[:AT]->(f), (o:Card)-[:MADE]->(y)
WHERE o <> k AND NOT EXISTS { MATCH (:Claim {reverses_claim_id: y.claim_id}) }
WITH o, f, date(CASE WHEN x.settled_at <= y.settled_at THEN x.settled_at ELSE y.settled_at END) AS day
WITH o, count(DISTINCT day) AS days, collect(DISTINCT f.facility_id) AS pharmacies, min(day) AS first_day,
     max(day) AS last_day
WHERE days >= toInteger($min_days)
RETURN o.card_id AS card_id, days, pharmacies, first_day, last_day
ORDER BY days DESC, card_id
