// name: extract_items
// The items table: every INCLUDES line of a claim, its catalogue item and trace code; the
// amount in fen, quantity and unit price as exact decimal text. A line's name and category
// are the Drug's unless the INCLUDES says otherwise ('' for none: see load_items); its trace
// code is the TraceCode it SCANNED with the same item_no.
MATCH (c:Claim)-[r:INCLUDES]->(d:Drug)
OPTIONAL MATCH (c)-[s:SCANNED {item_no: r.item_no}]->(t:TraceCode)
RETURN c.claim_id AS claim_id, r.item_no AS item_no, d.item_code AS item_code,
       CASE r.item_name WHEN '' THEN null ELSE coalesce(r.item_name, d.item_name) END AS item_name,
       CASE r.category WHEN '' THEN null ELSE coalesce(r.category, d.category) END AS category,
       r.quantity AS quantity, r.unit_price AS unit_price, r.amount_fen AS amount_fen, r.days_supply AS days_supply,
       t.code AS trace_code
