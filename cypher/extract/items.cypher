// name: extract_items
// The items table: every INCLUDES line of a claim, its catalogue item and trace code; the
// amount in fen, quantity and unit price as exact decimal text.
MATCH (c:Claim)-[r:INCLUDES]->(d:Drug)
RETURN c.claim_id AS claim_id, r.item_no AS item_no, d.item_code AS item_code, r.item_name AS item_name,
       r.category AS category, r.quantity AS quantity, r.unit_price AS unit_price, r.amount_fen AS amount_fen,
       r.days_supply AS days_supply, r.trace_code AS trace_code
