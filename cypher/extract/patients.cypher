// name: extract_patients
// The patients table of the data contract, as loaded: listed Patient nodes with their phone
// and address pseudonyms. Dates come back as dates.
MATCH (p:Patient) WHERE p.listed
RETURN p.patient_id AS patient_id, p.id_number AS id_number, p.name AS name, p.sex AS sex,
       p.birth_date AS birth_date, p.death_date AS death_date,
       head([(p)-[:HAS_PHONE]->(x:Phone) | x.phone_id]) AS phone,
       head([(p)-[:LIVES_AT]->(x:Address) | x.address_id]) AS address,
       p.insured_region AS insured_region, p.insurance_type AS insurance_type, p.id_number_valid AS id_number_valid
