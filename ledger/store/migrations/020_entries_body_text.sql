-- An entry's body is the JSON rendering officials and reports read; it is never hashed (the
-- Avro bytes in `value` are). Stored as jsonb, PostgreSQL parsed every rendering on the way in:
-- about 13 µs of server CPU per entry (docs/benchmarks.md, "The entries' body as text"). As text
-- it is stored as written, and the few reads that look inside a body cast it there.
ALTER TABLE entries ALTER COLUMN body TYPE text USING body::text;

-- Those reads: manifest chunks and amendments found by the disclosure id they name (reports,
-- accounting, export). Only those entries pay for the index, and its parse, when written.
CREATE INDEX entries_named_disclosure ON entries (((body::jsonb) ->> 'disclosure_id'))
    WHERE event_type IN ('DisclosureManifest', 'DisclosureAmended');
