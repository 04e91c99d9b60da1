// name: schema
// Uniqueness constraints on every node key (each one also gives the index MERGE looks
// nodes up by) and a few indexes for the investigator queries. Every statement says
// IF NOT EXISTS, so `graphfraud load` applies this file before every load and nothing changes
// the second time. Statements are separated by semicolons.
CREATE CONSTRAINT patient_id IF NOT EXISTS FOR (n:Patient) REQUIRE n.patient_id IS UNIQUE;
CREATE CONSTRAINT card_id IF NOT EXISTS FOR (n:Card) REQUIRE n.card_id IS UNIQUE;
CREATE CONSTRAINT claim_id IF NOT EXISTS FOR (n:Claim) REQUIRE n.claim_id IS UNIQUE;
CREATE CONSTRAINT facility_id IF NOT EXISTS FOR (n:Facility) REQUIRE n.facility_id IS UNIQUE;
CREATE CONSTRAINT doctor_id IF NOT EXISTS FOR (n:Doctor) REQUIRE n.doctor_id IS UNIQUE;
CREATE CONSTRAINT drug_code IF NOT EXISTS FOR (n:Drug) REQUIRE n.item_code IS UNIQUE;
CREATE CONSTRAINT terminal_id IF NOT EXISTS FOR (n:Terminal) REQUIRE n.terminal_id IS UNIQUE;
CREATE CONSTRAINT phone_id IF NOT EXISTS FOR (n:Phone) REQUIRE n.phone_id IS UNIQUE;
CREATE CONSTRAINT address_id IF NOT EXISTS FOR (n:Address) REQUIRE n.address_id IS UNIQUE;
CREATE CONSTRAINT trace_code IF NOT EXISTS FOR (n:TraceCode) REQUIRE n.code IS UNIQUE;
CREATE CONSTRAINT ring_id IF NOT EXISTS FOR (n:Ring) REQUIRE n.ring_id IS UNIQUE;
CREATE CONSTRAINT lead_id IF NOT EXISTS FOR (n:Lead) REQUIRE n.lead_id IS UNIQUE;
CREATE CONSTRAINT detect_run_id IF NOT EXISTS FOR (n:DetectRun) REQUIRE n.run_id IS UNIQUE;
CREATE CONSTRAINT load_progress_id IF NOT EXISTS FOR (n:LoadProgress) REQUIRE n.progress_id IS UNIQUE;
CREATE INDEX claim_settled_at IF NOT EXISTS FOR (n:Claim) ON (n.settled_at);
CREATE INDEX claim_reverses IF NOT EXISTS FOR (n:Claim) ON (n.reverses_claim_id);
CREATE INDEX ring_score IF NOT EXISTS FOR (n:Ring) ON (n.score);
CREATE INDEX ring_kind IF NOT EXISTS FOR (n:Ring) ON (n.kind);
CREATE INDEX lead_kind IF NOT EXISTS FOR (n:Lead) ON (n.kind);
CREATE INDEX patient_death_date IF NOT EXISTS FOR (n:Patient) ON (n.death_date);
