// name: extract_cards
// The cards table: listed Card nodes and the patient who HOLDS each.
MATCH (k:Card) WHERE k.listed
RETURN k.card_id AS card_id, head([(p:Patient)-[:HOLDS]->(k) | p.patient_id]) AS patient_id,
       k.card_type AS card_type, k.issued_at AS issued_at
