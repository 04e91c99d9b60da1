// One query per canonical table, each writing one batch: `UNWIND $rows` with MERGE on the
// constrained key, so loading twice changes nothing. Nodes met only as a reference (a card in
// a claim whose cards table was not supplied) are created bare; `listed = true` marks a node
// that came from its own table, so extraction gives back exactly the tables that were loaded.
// Money arrives as integer fen (`*_fen`), quantities and unit prices as exact decimal text:
// Neo4j has no decimal type and money is never a float. Dates and times arrive as ISO text
// and are parsed here (`date()`, `localdatetime()`; null stays null): the driver's own
// conversion of Python datetimes cost the client more than anything else in a load.
// Properties are written as one map (`SET n += {...}`, `CREATE (n {...})`): one operator per
// row instead of one per property, and a null value sets nothing, as `SET n.x = null` would.

// name: load_patients
// Patients with their pseudonymised attributes; the phone and address pseudonyms become
// shared Phone and Address nodes, so people who share one are two hops apart.
UNWIND $rows AS row
MERGE (p:Patient {patient_id: row.patient_id})
SET p += {listed: true, id_number: row.id_number, name: row.name, sex: row.sex, birth_date: date(row.birth_date),
          death_date: date(row.death_date), insured_region: row.insured_region, insurance_type: row.insurance_type,
          id_number_valid: row.id_number_valid}
FOREACH (ph IN CASE WHEN row.phone IS NULL THEN [] ELSE [row.phone] END |
  MERGE (x:Phone {phone_id: ph}) MERGE (p)-[:HAS_PHONE]->(x))
FOREACH (ad IN CASE WHEN row.address IS NULL THEN [] ELSE [row.address] END |
  MERGE (x:Address {address_id: ad}) MERGE (p)-[:LIVES_AT]->(x))

// name: load_patients_new
// Patients when the graph holds no patient but those of this load's committed batches
// (graph_counts said so when the load started): each is CREATEd with its ties, not merged.
// Gives exactly what load_patients gives for a new patient (a null property sets nothing).
UNWIND $rows AS row
CREATE (p:Patient {patient_id: row.patient_id, listed: true, id_number: row.id_number, name: row.name, sex: row.sex,
                   birth_date: date(row.birth_date), death_date: date(row.death_date),
                   insured_region: row.insured_region, insurance_type: row.insurance_type,
                   id_number_valid: row.id_number_valid})
FOREACH (ph IN CASE WHEN row.phone IS NULL THEN [] ELSE [row.phone] END |
  MERGE (x:Phone {phone_id: ph}) CREATE (p)-[:HAS_PHONE]->(x))
FOREACH (ad IN CASE WHEN row.address IS NULL THEN [] ELSE [row.address] END |
  MERGE (x:Address {address_id: ad}) CREATE (p)-[:LIVES_AT]->(x))

// name: load_facilities
// Facilities; the type also becomes a label (Hospital, Clinic, Pharmacy) so queries can say
// (:Pharmacy). The labels are fixed text here, never taken from the data.
UNWIND $rows AS row
MERGE (f:Facility {facility_id: row.facility_id})
SET f.listed = true, f.name = row.name, f.facility_type = row.facility_type, f.level = row.level,
    f.region_code = row.region_code, f.latitude = row.latitude, f.longitude = row.longitude
FOREACH (_ IN CASE WHEN row.facility_type = 'pharmacy' THEN [1] ELSE [] END | SET f:Pharmacy)
FOREACH (_ IN CASE WHEN row.facility_type = 'hospital' THEN [1] ELSE [] END | SET f:Hospital)
FOREACH (_ IN CASE WHEN row.facility_type = 'clinic' THEN [1] ELSE [] END | SET f:Clinic)

// name: load_doctors
// Doctors (pseudonymised names) and the facility they work at.
UNWIND $rows AS row
MERGE (d:Doctor {doctor_id: row.doctor_id})
SET d.listed = true, d.name = row.name, d.department = row.department
FOREACH (fid IN CASE WHEN row.facility_id IS NULL THEN [] ELSE [row.facility_id] END |
  MERGE (f:Facility {facility_id: fid}) MERGE (d)-[:WORKS_AT]->(f))

// name: load_cards
// Cards and the patient who holds each.
UNWIND $rows AS row
MERGE (k:Card {card_id: row.card_id})
SET k += {listed: true, card_type: row.card_type, issued_at: date(row.issued_at)}
FOREACH (pid IN CASE WHEN row.patient_id IS NULL THEN [] ELSE [row.patient_id] END |
  MERGE (p:Patient {patient_id: pid}) MERGE (p)-[:HOLDS]->(k))

// name: load_cards_new
// Cards when the graph holds no card but those of this load's committed batches: CREATEd,
// with the HOLDS tie of their holder. Gives exactly what load_cards gives for a new card.
UNWIND $rows AS row
CREATE (k:Card {card_id: row.card_id, listed: true, card_type: row.card_type, issued_at: date(row.issued_at)})
FOREACH (pid IN CASE WHEN row.patient_id IS NULL THEN [] ELSE [row.patient_id] END |
  MERGE (p:Patient {patient_id: pid}) CREATE (p)-[:HOLDS]->(k))

// name: graph_counts
// How many patients, cards, claims and claim lines (INCLUDES) the graph holds, from the
// count store. When a count equals the rows this load has committed of that table, every
// such node in the graph is this load's own, and the rows still to write cannot be there:
// they take the CREATE queries without asking the graph first.
CALL () { MATCH (n:Patient) RETURN count(n) AS patients }
CALL () { MATCH (n:Card) RETURN count(n) AS cards }
CALL () { MATCH (n:Claim) RETURN count(n) AS claims }
CALL () { MATCH ()-[r:INCLUDES]->() RETURN count(r) AS items }
RETURN patients, cards, claims, items

// name: load_claims
// Settlements: the card MADE the claim (and the patient named on the claim, when given), AT a
// facility, BY a doctor, VIA a terminal. Amounts in fen.
UNWIND $rows AS row
MERGE (c:Claim {claim_id: row.claim_id})
SET c += {claim_type: row.claim_type, settled_at: localdatetime(row.settled_at), admit_date: date(row.admit_date),
          discharge_date: date(row.discharge_date), diagnosis_code: row.diagnosis_code, total_fen: row.total_fen,
          fund_fen: row.fund_fen, account_fen: row.account_fen, self_fen: row.self_fen, region_code: row.region_code,
          reverses_claim_id: row.reverses_claim_id, reversal_linked: row.reversal_linked,
          amount_parts_mismatch: row.amount_parts_mismatch}
MERGE (k:Card {card_id: row.card_id})
MERGE (k)-[:MADE]->(c)
MERGE (f:Facility {facility_id: row.facility_id})
MERGE (c)-[:AT]->(f)
FOREACH (pid IN CASE WHEN row.patient_id IS NULL THEN [] ELSE [row.patient_id] END |
  MERGE (p:Patient {patient_id: pid}) MERGE (p)-[:MADE]->(c))
FOREACH (did IN CASE WHEN row.doctor_id IS NULL THEN [] ELSE [row.doctor_id] END |
  MERGE (d:Doctor {doctor_id: did}) MERGE (c)-[:BY]->(d))
FOREACH (tid IN CASE WHEN row.terminal_id IS NULL THEN [] ELSE [row.terminal_id] END |
  MERGE (t:Terminal {terminal_id: tid}) MERGE (c)-[:VIA]->(t))

// name: load_drugs
// The catalogue of claim items, before their lines: a Drug per item code, named after its
// first line in key order (the loader's DRUG_CATALOGUE); a Drug already there keeps its name.
UNWIND $rows AS row
MERGE (d:Drug {item_code: row.item_code})
ON CREATE SET d.item_name = row.item_name, d.category = row.category

// name: load_items
// Claim lines: the claim INCLUDES a catalogue item (label Drug; `category` says drug,
// consumable or service) with the line's quantity, price, amount and days of supply; a scanned
// traceability code is a TraceCode node the claim SCANNED {item_no}, so the line's code is
// read through that tie and not repeated on the INCLUDES. The item's name and category live
// on the Drug (from the first line that names it); an INCLUDES carries its own `item_name`
// or `category` only where the line says something else, '' where the line left it empty
// (ingest stores no empty text, so '' cannot be a value). Most lines repeat the catalogue,
// and a Chinese name on every line would cost the store a string record each.
UNWIND $rows AS row
MERGE (c:Claim {claim_id: row.claim_id})
MERGE (d:Drug {item_code: row.item_code})
ON CREATE SET d.item_name = row.item_name, d.category = row.category
MERGE (c)-[r:INCLUDES {item_no: row.item_no}]->(d)
SET r += {item_name: CASE WHEN row.item_name IS NULL THEN CASE WHEN d.item_name IS NULL THEN null ELSE '' END
                          WHEN row.item_name = d.item_name THEN null ELSE row.item_name END,
          category: CASE WHEN row.category IS NULL THEN CASE WHEN d.category IS NULL THEN null ELSE '' END
                         WHEN row.category = d.category THEN null ELSE row.category END,
          quantity: row.quantity, unit_price: row.unit_price, amount_fen: row.amount_fen,
          days_supply: row.days_supply}
FOREACH (tc IN CASE WHEN row.trace_code IS NULL THEN [] ELSE [row.trace_code] END |
  MERGE (t:TraceCode {code: tc}) MERGE (c)-[s:SCANNED {item_no: row.item_no}]->(t))

// name: existing_claims
// Which of the claims $ids are already in the graph: the loader sends only the others to
// load_claims_new, and these through the MERGE of load_claims.
UNWIND $ids AS id
MATCH (c:Claim {claim_id: id})
RETURN id

// name: load_claims_new
// Claims not yet in the graph (existing_claims said so, in the same transaction): the claim
// and its five ties are CREATEd, not merged, so the server need not look for ties that cannot
// be there yet. The batch's distinct facilities, doctors and terminals ($facilities, $doctors,
// $terminals: a few hundred in a region) are MERGEd once each, and a row names its own by
// index (`f`, `d`, `t`); its card and patient are MERGEd on their keys. Gives exactly what
// load_claims gives for a new claim.
UNWIND $facilities AS fid
MERGE (f:Facility {facility_id: fid})
WITH collect(f) AS fs
CALL () { UNWIND $doctors AS did MERGE (d:Doctor {doctor_id: did}) RETURN collect(d) AS ds }
CALL () { UNWIND $terminals AS tid MERGE (t:Terminal {terminal_id: tid}) RETURN collect(t) AS ts }
UNWIND $rows AS row
CREATE (c:Claim {claim_id: row.claim_id, claim_type: row.claim_type, settled_at: localdatetime(row.settled_at),
                  admit_date: date(row.admit_date), discharge_date: date(row.discharge_date),
                  diagnosis_code: row.diagnosis_code, total_fen: row.total_fen, fund_fen: row.fund_fen,
                  account_fen: row.account_fen, self_fen: row.self_fen, region_code: row.region_code,
                  reverses_claim_id: row.reverses_claim_id, reversal_linked: row.reversal_linked,
                  amount_parts_mismatch: row.amount_parts_mismatch})
MERGE (k:Card {card_id: row.card_id})
CREATE (k)-[:MADE]->(c)
WITH c, row, fs[row.f] AS f, ds, ts WHERE f:Facility
CREATE (c)-[:AT]->(f)
FOREACH (pid IN CASE WHEN row.patient_id IS NULL THEN [] ELSE [row.patient_id] END |
  MERGE (p:Patient {patient_id: pid}) CREATE (p)-[:MADE]->(c))
FOREACH (d IN CASE WHEN row.d IS NULL THEN [] ELSE [ds[row.d]] END | CREATE (c)-[:BY]->(d))
FOREACH (t IN CASE WHEN row.t IS NULL THEN [] ELSE [ts[row.t]] END | CREATE (c)-[:VIA]->(t))

// name: existing_items
// Which claims of $ids already have lines in the graph: their lines go through the MERGE of
// load_items, the lines of the others through load_items_new.
UNWIND $ids AS id
MATCH (c:Claim {claim_id: id})
WHERE EXISTS { (c)-[:INCLUDES]->() }
RETURN id

// name: load_items_new
// Lines of claims that have none in the graph yet, grouped: $drugs are the batch's distinct
// catalogue items (with the name and category of their first line), found or created once
// each; $claims are the batch's claims, each with its `lines`, whose `d` is the index of the
// line's item in $drugs. One index lookup per claim and per drug instead of two per line. The
// INCLUDES and SCANNED ties are CREATEd (a popular drug has hundreds of thousands of them,
// none of which can be this one). Gives exactly what load_items gives for such lines (a null
// property sets nothing).
UNWIND $drugs AS dr
MERGE (d:Drug {item_code: dr.item_code})
ON CREATE SET d.item_name = dr.item_name, d.category = dr.category
WITH collect(d) AS drugs
UNWIND $claims AS cl
MERGE (c:Claim {claim_id: cl.claim_id})
WITH c, cl, drugs
UNWIND cl.lines AS row
WITH c, row, drugs[row.d] AS d WHERE d:Drug
CREATE (c)-[:INCLUDES {item_no: row.item_no,
                        item_name: CASE WHEN row.item_name IS NULL THEN CASE WHEN d.item_name IS NULL THEN null ELSE '' END
                                        WHEN row.item_name = d.item_name THEN null ELSE row.item_name END,
                        category: CASE WHEN row.category IS NULL THEN CASE WHEN d.category IS NULL THEN null ELSE '' END
                                       WHEN row.category = d.category THEN null ELSE row.category END,
                        quantity: row.quantity, unit_price: row.unit_price, amount_fen: row.amount_fen,
                        days_supply: row.days_supply}]->(d)
FOREACH (tc IN CASE WHEN row.trace_code IS NULL THEN [] ELSE [row.trace_code] END |
  MERGE (t:TraceCode {code: tc}) CREATE (c)-[s:SCANNED {item_no: row.item_no}]->(t))
