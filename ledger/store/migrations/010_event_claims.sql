-- Every offset accounted for, and no consumer counting what the signed log does not hold.
--
-- event_claims: which Kafka offset owns each event id. The first consumer to meet an id claims it
-- for that offset; every consumer then applies only the claiming offset's record, so the audit
-- log, volumes and every other table agree on which bytes an event id means.
CREATE TABLE event_claims (
    event_id        uuid    PRIMARY KEY,
    kafka_topic     text    NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset    bigint  NOT NULL,
    value_sha256    bytea   NOT NULL CHECK (length(value_sha256) = 32)
);

-- An offset whose event id another offset had claimed: same_bytes is a harmless redelivery
-- (recorded, so `ledger verify` can account for the offset); other bytes are a critical finding
-- (also a dead letter and an alert naming both offsets).
CREATE TABLE reused_event_ids (
    kafka_topic     text    NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset    bigint  NOT NULL,
    event_id        uuid    NOT NULL,
    first_topic     text    NOT NULL,
    first_partition integer NOT NULL,
    first_offset    bigint  NOT NULL,
    same_bytes      boolean NOT NULL,
    value_sha256    bytea   NOT NULL CHECK (length(value_sha256) = 32),
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kafka_topic, kafka_partition, kafka_offset)
);

-- What a disclosure's contents were (the fields describing the transmission; see
-- ledger.rules.contents), so a reused disclosure id can be told from a resend of the same one.
CREATE TABLE disclosure_contents (
    source_id       text  NOT NULL,  -- the canonical source agency (registry id)
    disclosure_id   text  NOT NULL,
    event_id        uuid  NOT NULL,
    contents_sha256 bytea NOT NULL CHECK (length(contents_sha256) = 32),
    PRIMARY KEY (source_id, disclosure_id, event_id)
);

-- A ledger upgraded in place: the entries it holds already own their ids.
INSERT INTO event_claims (event_id, kafka_topic, kafka_partition, kafka_offset, value_sha256)
SELECT event_id, kafka_topic, kafka_partition, kafka_offset, sha256(value) FROM entries;

SELECT ledger_append_only(ARRAY['event_claims', 'reused_event_ids', 'disclosure_contents']);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_writer') THEN
        GRANT SELECT, INSERT ON event_claims, reused_event_ids, disclosure_contents
            TO ledger_writer;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_reader') THEN
        GRANT SELECT ON event_claims, reused_event_ids, disclosure_contents TO ledger_reader;
    END IF;
END;
$$;
