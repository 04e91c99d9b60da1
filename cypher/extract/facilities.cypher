// name: extract_facilities
// The facilities table: listed Facility nodes (hospital, clinic or pharmacy).
MATCH (f:Facility) WHERE f.listed
RETURN f.facility_id AS facility_id, f.name AS name, f.facility_type AS facility_type, f.level AS level,
       f.region_code AS region_code, f.latitude AS latitude, f.longitude AS longitude
