// What `graphfraud case|explore|expand|report --neo4j` read: a detection run's results, and
// the claims and entities a view asks for, by id. Each claim or entity query returns the
// columns of its canonical table, exactly as cypher/extract/ does for the whole table, so the
// views run unchanged on the copy. Labels and relationship types are fixed text here.

// name: view_run
// The run the views show: the one named by $run_id, else the latest to finish.
MATCH (d:DetectRun) WHERE $run_id IS NULL OR d.run_id = $run_id
RETURN d.run_id AS run_id, d.started_at AS started_at, d.finished_at AS finished_at, d.out_dir AS out_dir
ORDER BY d.finished_at DESC, d.run_id DESC
LIMIT 1

// name: view_rings
// The run's Ring nodes with their totals in fen and their reasons as parallel lists.
MATCH (r:Ring) WHERE r.run_id = $run_id
RETURN r.ring_id AS ring_id, r.kind AS kind, r.score AS score, r.rank AS rank, r.n_members AS n_members,
       r.n_claims AS n_claims, r.total_fen AS total_fen, r.fund_fen AS fund_fen, r.first_date AS first_date,
       r.last_date AS last_date, r.over_transfer_threshold AS over_transfer_threshold,
       r.reasons_zh AS reasons_zh, r.reasons_en AS reasons_en, r.status AS status, r.previous_id AS previous_id,
       r.reason_codes AS reason_codes, r.reason_values AS reason_values, r.reason_texts_zh AS reason_texts_zh,
       r.reason_texts_en AS reason_texts_en
ORDER BY r.rank, r.ring_id

// name: view_members
// Who is MEMBER_OF each ring of the run, with the member's id under its own label's key.
MATCH (n)-[m:MEMBER_OF]->(r:Ring) WHERE r.run_id = $run_id
RETURN r.ring_id AS ring_id, m.entity_type AS entity_type,
       CASE m.entity_type
         WHEN 'card' THEN n.card_id WHEN 'patient' THEN n.patient_id WHEN 'doctor' THEN n.doctor_id
         WHEN 'facility' THEN n.facility_id WHEN 'terminal' THEN n.terminal_id WHEN 'phone' THEN n.phone_id
         WHEN 'address' THEN n.address_id WHEN 'drug' THEN n.item_code END AS entity_id,
       m.role AS role, m.n_claims AS n_claims, m.amount_fen AS amount_fen
ORDER BY ring_id, entity_type, entity_id

// name: view_evidence
// The claims behind each ring of the run (EVIDENCE).
MATCH (r:Ring)-[:EVIDENCE]->(c:Claim) WHERE r.run_id = $run_id
RETURN r.ring_id AS ring_id, c.claim_id AS claim_id
ORDER BY ring_id, claim_id

// name: view_leads
// The run's Lead nodes; claim_ids keep the lead's order; the work queue's score, ranks and
// reasons as parallel lists.
MATCH (x:Lead) WHERE x.run_id = $run_id
RETURN x.lead_id AS lead_id, x.kind AS kind, x.entity_type AS entity_type, x.entity_id AS entity_id,
       x.claim_ids AS claim_ids, x.amount_fen AS amount_fen, x.text_zh AS text_zh, x.text_en AS text_en,
       x.score AS score, x.rank AS rank, x.kind_rank AS kind_rank, x.queued AS queued,
       x.reasons_zh AS reasons_zh, x.reasons_en AS reasons_en, x.reason_codes AS reason_codes,
       x.reason_values AS reason_values, x.reason_points AS reason_points,
       x.reason_texts_zh AS reason_texts_zh, x.reason_texts_en AS reason_texts_en
ORDER BY lead_id

// name: view_claims
// Claims by id ($ids), with the columns of extract_claims.
UNWIND $ids AS cid
MATCH (k:Card)-[:MADE]->(c:Claim {claim_id: cid})-[:AT]->(f:Facility)
RETURN c.claim_id AS claim_id, k.card_id AS card_id, head([(p:Patient)-[:MADE]->(c) | p.patient_id]) AS patient_id,
       f.facility_id AS facility_id, head([(c)-[:BY]->(d:Doctor) | d.doctor_id]) AS doctor_id,
       c.claim_type AS claim_type, c.settled_at AS settled_at, c.admit_date AS admit_date,
       c.discharge_date AS discharge_date, c.diagnosis_code AS diagnosis_code,
       c.total_fen AS total_fen, c.fund_fen AS fund_fen, c.account_fen AS account_fen, c.self_fen AS self_fen,
       head([(c)-[:VIA]->(t:Terminal) | t.terminal_id]) AS terminal_id, c.region_code AS region_code,
       c.reverses_claim_id AS reverses_claim_id, c.reversal_linked AS reversal_linked,
       c.amount_parts_mismatch AS amount_parts_mismatch

// name: view_reversals
// The reversal rows that cancel any of the claims $ids.
UNWIND $ids AS cid
MATCH (c:Claim {reverses_claim_id: cid})
RETURN c.claim_id AS claim_id

// name: view_items
// The lines of the claims $ids, with the columns of extract_items.
UNWIND $ids AS cid
MATCH (c:Claim {claim_id: cid})-[r:INCLUDES]->(d:Drug)
OPTIONAL MATCH (c)-[s:SCANNED {item_no: r.item_no}]->(t:TraceCode)
RETURN c.claim_id AS claim_id, r.item_no AS item_no, d.item_code AS item_code,
       CASE r.item_name WHEN '' THEN null ELSE coalesce(r.item_name, d.item_name) END AS item_name,
       CASE r.category WHEN '' THEN null ELSE coalesce(r.category, d.category) END AS category,
       r.quantity AS quantity, r.unit_price AS unit_price, r.amount_fen AS amount_fen, r.days_supply AS days_supply,
       t.code AS trace_code

// name: view_trace_items
// Every line anywhere that scanned one of the traceability codes $codes.
UNWIND $codes AS code
MATCH (t:TraceCode {code: code})<-[s:SCANNED]-(c:Claim)-[r:INCLUDES]->(d:Drug)
WHERE r.item_no = s.item_no
RETURN DISTINCT c.claim_id AS claim_id, r.item_no AS item_no, d.item_code AS item_code,
       CASE r.item_name WHEN '' THEN null ELSE coalesce(r.item_name, d.item_name) END AS item_name,
       CASE r.category WHEN '' THEN null ELSE coalesce(r.category, d.category) END AS category,
       r.quantity AS quantity, r.unit_price AS unit_price, r.amount_fen AS amount_fen, r.days_supply AS days_supply,
       t.code AS trace_code

// name: view_cards
// Listed cards by id ($ids), with the columns of extract_cards.
UNWIND $ids AS id
MATCH (k:Card {card_id: id}) WHERE k.listed
RETURN k.card_id AS card_id, head([(p:Patient)-[:HOLDS]->(k) | p.patient_id]) AS patient_id,
       k.card_type AS card_type, k.issued_at AS issued_at

// name: view_patients
// Listed people by id ($ids), with the columns of extract_patients.
UNWIND $ids AS id
MATCH (p:Patient {patient_id: id}) WHERE p.listed
RETURN p.patient_id AS patient_id, p.id_number AS id_number, p.name AS name, p.sex AS sex,
       p.birth_date AS birth_date, p.death_date AS death_date,
       head([(p)-[:HAS_PHONE]->(x:Phone) | x.phone_id]) AS phone,
       head([(p)-[:LIVES_AT]->(x:Address) | x.address_id]) AS address,
       p.insured_region AS insured_region, p.insurance_type AS insurance_type, p.id_number_valid AS id_number_valid

// name: view_phone_people
// The people registered with the phone pseudonym $value.
MATCH (:Phone {phone_id: $value})<-[:HAS_PHONE]-(p:Patient)
RETURN p.patient_id AS patient_id

// name: view_address_people
// The people registered at the address pseudonym $value.
MATCH (:Address {address_id: $value})<-[:LIVES_AT]-(p:Patient)
RETURN p.patient_id AS patient_id

// name: view_card_claims
// The claims the cards $ids MADE.
UNWIND $ids AS id
MATCH (:Card {card_id: id})-[:MADE]->(c:Claim)
RETURN DISTINCT c.claim_id AS claim_id

// name: view_patient_claims
// The claims that name the people $ids.
UNWIND $ids AS id
MATCH (:Patient {patient_id: id})-[:MADE]->(c:Claim)
RETURN DISTINCT c.claim_id AS claim_id

// name: view_doctor_claims
// The claims made BY the doctors $ids.
UNWIND $ids AS id
MATCH (c:Claim)-[:BY]->(:Doctor {doctor_id: id})
RETURN DISTINCT c.claim_id AS claim_id

// name: view_facility_claims
// The claims settled AT the facilities $ids.
UNWIND $ids AS id
MATCH (c:Claim)-[:AT]->(:Facility {facility_id: id})
RETURN DISTINCT c.claim_id AS claim_id

// name: view_terminal_claims
// The claims settled VIA the terminals $ids.
UNWIND $ids AS id
MATCH (c:Claim)-[:VIA]->(:Terminal {terminal_id: id})
RETURN DISTINCT c.claim_id AS claim_id
