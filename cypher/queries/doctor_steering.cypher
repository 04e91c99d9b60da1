// name: doctor_steering
// 医师处方流向：该医师的处方在各药店的取药次数、金额与占比，以及同机构其他医师在该药店的占比。
// A doctor's pharmacy steering: for each pharmacy that filled the doctor's prescriptions
// (PRESCRIBES_TO, built by the load), the fills, amount in fen and share of the doctor's
// fills, beside the share of that pharmacy among the fills of the other doctors of the same
// facility (peers). A share far above the peers' is the steering signal.
// params: $doctor_id
MATCH (d:Doctor {doctor_id: $doctor_id})-[s:PRESCRIBES_TO]->(p:Pharmacy)
OPTIONAL MATCH (d)-[:WORKS_AT]->(home:Facility)<-[:WORKS_AT]-(peer:Doctor)-[ps:PRESCRIBES_TO]->(:Pharmacy)
WHERE peer <> d
WITH d, s, p, sum(ps.n_fills) AS peer_fills, sum(CASE WHEN endNode(ps) = p THEN ps.n_fills ELSE 0 END) AS peer_here
RETURN p.facility_id AS pharmacy_id, s.n_fills AS fills, s.amount_fen AS amount_fen, s.share AS share,
       CASE WHEN peer_fills > 0 THEN toFloat(peer_here) / peer_fills ELSE null END AS peer_share
ORDER BY fills DESC, pharmacy_id
