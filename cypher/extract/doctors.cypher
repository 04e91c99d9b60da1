// name: extract_doctors
// The doctors table: listed Doctor nodes and the facility each WORKS_AT.
MATCH (d:Doctor) WHERE d.listed
RETURN d.doctor_id AS doctor_id, d.name AS name,
       head([(d)-[:WORKS_AT]->(f:Facility) | f.facility_id]) AS facility_id, d.department AS department
