// Results of a detection run written into the graph: Ring and Lead nodes, MEMBER_OF from
// each member, EVIDENCE to the claims behind them, ABOUT from a lead to its entity, and a
// DetectRun node per run. Amounts in fen. One query per member label: labels are fixed text,
// never taken from data.

// name: previous_ring_keys
// The rings now in the graph with the entities that identify each across runs; the next run
// gives a ring that shares most of them the same id.
MATCH (r:Ring)
RETURN r.ring_id AS ring_id, r.kind AS kind, r.key AS key, r.run_id AS run_id

// name: delete_rings
// Rings of the kinds the new run looked for, with their MEMBER_OF and EVIDENCE ties.
MATCH (r:Ring) WHERE r.kind IN $kinds
DETACH DELETE r

// name: delete_leads
// Leads of the kinds the new run looked for.
MATCH (x:Lead) WHERE x.kind IN $kinds
DETACH DELETE x

// name: create_run
// The run itself: when, where its files went, what it read.
MERGE (d:DetectRun {run_id: $run_id})
SET d.started_at = $started_at, d.finished_at = $finished_at, d.out_dir = $out_dir, d.source = $source,
    d.n_rings = $n_rings, d.n_leads = $n_leads, d.software_version = $version

// name: create_rings
// One Ring node per ring with its score, rank, totals (fen), dates, reasons (parallel lists)
// and the key entities that keep its id stable.
UNWIND $rows AS row
CREATE (r:Ring {ring_id: row.ring_id})
SET r += row.props

// name: ring_evidence
// The claims behind each ring.
UNWIND $rows AS row
MATCH (r:Ring {ring_id: row.ring_id})
UNWIND row.claim_ids AS cid
MATCH (c:Claim {claim_id: cid})
MERGE (r)-[:EVIDENCE]->(c)

// name: create_leads
// One Lead node per lead, ABOUT its entity (a card) and with EVIDENCE to its claims.
UNWIND $rows AS row
CREATE (x:Lead {lead_id: row.lead_id})
SET x += row.props
WITH x, row
OPTIONAL MATCH (k:Card {card_id: row.card_id})
FOREACH (_ IN CASE WHEN k IS NULL THEN [] ELSE [1] END | MERGE (k)<-[:ABOUT]-(x))
WITH x, row
UNWIND row.claim_ids AS cid
MATCH (c:Claim {claim_id: cid})
MERGE (x)-[:EVIDENCE]->(c)

// name: member_card
// Ring members that are Card nodes: (:Card)-[:MEMBER_OF {role, n_claims, amount_fen}]->(:Ring).
UNWIND $rows AS row
MATCH (r:Ring {ring_id: row.ring_id})
MERGE (n:Card {card_id: row.entity_id})
CREATE (n)-[:MEMBER_OF {role: row.role, entity_type: row.entity_type, n_claims: row.n_claims, amount_fen: row.amount_fen}]->(r)

// name: member_patient
// Ring members that are Patient nodes: (:Patient)-[:MEMBER_OF {role, n_claims, amount_fen}]->(:Ring).
UNWIND $rows AS row
MATCH (r:Ring {ring_id: row.ring_id})
MERGE (n:Patient {patient_id: row.entity_id})
CREATE (n)-[:MEMBER_OF {role: row.role, entity_type: row.entity_type, n_claims: row.n_claims, amount_fen: row.amount_fen}]->(r)

// name: member_doctor
// Ring members that are Doctor nodes: (:Doctor)-[:MEMBER_OF {role, n_claims, amount_fen}]->(:Ring).
UNWIND $rows AS row
MATCH (r:Ring {ring_id: row.ring_id})
MERGE (n:Doctor {doctor_id: row.entity_id})
CREATE (n)-[:MEMBER_OF {role: row.role, entity_type: row.entity_type, n_claims: row.n_claims, amount_fen: row.amount_fen}]->(r)

// name: member_facility
// Ring members that are Facility nodes: (:Facility)-[:MEMBER_OF {role, n_claims, amount_fen}]->(:Ring).
UNWIND $rows AS row
MATCH (r:Ring {ring_id: row.ring_id})
MERGE (n:Facility {facility_id: row.entity_id})
CREATE (n)-[:MEMBER_OF {role: row.role, entity_type: row.entity_type, n_claims: row.n_claims, amount_fen: row.amount_fen}]->(r)

// name: member_terminal
// Ring members that are Terminal nodes: (:Terminal)-[:MEMBER_OF {role, n_claims, amount_fen}]->(:Ring).
UNWIND $rows AS row
MATCH (r:Ring {ring_id: row.ring_id})
MERGE (n:Terminal {terminal_id: row.entity_id})
CREATE (n)-[:MEMBER_OF {role: row.role, entity_type: row.entity_type, n_claims: row.n_claims, amount_fen: row.amount_fen}]->(r)

// name: member_phone
// Ring members that are Phone nodes: (:Phone)-[:MEMBER_OF {role, n_claims, amount_fen}]->(:Ring).
UNWIND $rows AS row
MATCH (r:Ring {ring_id: row.ring_id})
MERGE (n:Phone {phone_id: row.entity_id})
CREATE (n)-[:MEMBER_OF {role: row.role, entity_type: row.entity_type, n_claims: row.n_claims, amount_fen: row.amount_fen}]->(r)

// name: member_address
// Ring members that are Address nodes: (:Address)-[:MEMBER_OF {role, n_claims, amount_fen}]->(:Ring).
UNWIND $rows AS row
MATCH (r:Ring {ring_id: row.ring_id})
MERGE (n:Address {address_id: row.entity_id})
CREATE (n)-[:MEMBER_OF {role: row.role, entity_type: row.entity_type, n_claims: row.n_claims, amount_fen: row.amount_fen}]->(r)

// name: member_drug
// Ring members that are Drug nodes: (:Drug)-[:MEMBER_OF {role, n_claims, amount_fen}]->(:Ring).
UNWIND $rows AS row
MATCH (r:Ring {ring_id: row.ring_id})
MERGE (n:Drug {item_code: row.entity_id})
CREATE (n)-[:MEMBER_OF {role: row.role, entity_type: row.entity_type, n_claims: row.n_claims, amount_fen: row.amount_fen}]->(r)
