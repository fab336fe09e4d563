-- The disclosures table's indexes, measured against the queries that read it (docs/benchmarks.md,
-- "Indexes on disclosures"). Each index costs every recorded disclosure an insert.
--
-- Not used by any query: lookups by disclosure id use disclosures_disclosure_id (migration 014),
-- and transmission windows read the current, amended time through current_disclosures, which no
-- index on (recipient, original time) can serve.
DROP INDEX disclosures_source_disclosure;
DROP INDEX disclosures_recipient_time;

-- Transmission windows (notices, notice orders) select candidates by the original time
-- (disclosures_time) and by an amendment's time (this one), then read them as amended.
CREATE INDEX disclosure_amendments_time ON disclosure_amendments (transmitted_at);

-- The disclosures citing a request, re-judged when the request arrives: only rows that cite one.
CREATE INDEX disclosures_request ON disclosures (request_id) WHERE request_id IS NOT NULL;
