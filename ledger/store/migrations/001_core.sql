-- The ledger's projections of the Kafka log. Applied with search_path set to the target schema,
-- so live (ledger) and replay (ledger_replay_*) schemas share one definition.

-- Which Kafka offset each consumer has stored, written in the same transaction as its rows
-- (effectively-once: a crash replays the batch, a replay duplicates nothing).
CREATE TABLE consumer_offsets (
    consumer     text   NOT NULL,
    topic        text   NOT NULL,
    kafka_partition integer NOT NULL,
    next_offset  bigint NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, kafka_partition)
);

-- One hash-chained, Merkle-verifiable log per Kafka partition (docs/design.md, "Logs per partition").
CREATE TABLE entries (
    log_id          text    NOT NULL,      -- '<topic>/<partition>'
    seq             bigint  NOT NULL CHECK (seq >= 0),
    kafka_topic     text    NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset    bigint  NOT NULL,
    event_id        uuid    NOT NULL,
    event_type      text    NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,  -- Kafka's record timestamp, so a replay reproduces it
    value           bytea   NOT NULL,      -- the exact Kafka message bytes: hashed, never re-encoded
    body            jsonb   NOT NULL,      -- a rendering for queries only; never hashed
    leaf_hash       bytea   NOT NULL CHECK (length(leaf_hash) = 32),
    chain_hash      bytea   NOT NULL CHECK (length(chain_hash) = 32),
    PRIMARY KEY (log_id, seq),             -- the guard against forked chains when ownership moves
    UNIQUE (event_id),
    UNIQUE (log_id, kafka_offset)
);
CREATE INDEX entries_type_time ON entries (event_type, occurred_at);

-- Hashes of every perfect subtree (level, index) of each log's RFC 6962 tree, so proofs are
-- answered with O(log n) lookups instead of rehashing the log.
CREATE TABLE tree_nodes (
    log_id  text     NOT NULL,
    level   smallint NOT NULL,
    idx     bigint   NOT NULL,
    hash    bytea    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (log_id, level, idx)
);

-- Signed tree heads (C2SP tlog-checkpoint in a signed note).
CREATE TABLE checkpoints (
    log_id     text   NOT NULL,
    tree_size  bigint NOT NULL,
    root_hash  bytea  NOT NULL,
    note       text   NOT NULL,
    key_names  text[] NOT NULL,
    signed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (log_id, tree_size)
);

-- Disclosures, one row per DisclosureRecorded, for queries and per-taxpayer accounting.
CREATE TABLE disclosures (
    event_id          uuid PRIMARY KEY,
    disclosure_id     text NOT NULL,
    request_id        text,
    source_agency     text NOT NULL,
    recipient_agency  text NOT NULL,
    legal_authority   text NOT NULL,
    purpose           text NOT NULL,
    nature            text NOT NULL,
    transmitted_at    timestamptz NOT NULL,
    day               date NOT NULL,        -- calendar day in LEDGER_TIMEZONE
    record_count      bigint NOT NULL,
    match_method      text,
    address_verification text,
    notice_id         text,
    log_id            text NOT NULL,
    kafka_offset      bigint NOT NULL
);
CREATE INDEX disclosures_recipient_day ON disclosures (recipient_agency, day);
CREATE INDEX disclosures_authority_day ON disclosures (legal_authority, day);
CREATE INDEX disclosures_day ON disclosures (day);

CREATE TABLE notices (
    event_id            uuid PRIMARY KEY,
    notice_id           text NOT NULL,
    case_reference      text NOT NULL,
    filed_at            timestamptz NOT NULL,
    recipient_agency    text NOT NULL,
    legal_authority     text NOT NULL,
    planned_start       timestamptz NOT NULL,
    planned_end         timestamptz NOT NULL,
    expected_record_count bigint NOT NULL,
    record              jsonb NOT NULL
);
CREATE INDEX notices_recipient ON notices (recipient_agency, filed_at);

CREATE TABLE court_orders (
    event_id     uuid PRIMARY KEY,
    order_id     text NOT NULL,
    order_type   text NOT NULL,
    effective_at timestamptz NOT NULL,
    expires_at   timestamptz,
    record       jsonb NOT NULL
);

-- Records and disclosures per day and scope: (source, recipient), (source, authority), (source).
CREATE TABLE daily_volume (
    scope_kind    text   NOT NULL CHECK (scope_kind IN ('recipient', 'authority', 'source')),
    source_agency text   NOT NULL,
    scope_value   text   NOT NULL,         -- recipient, authority, or '' for the whole source
    day           date   NOT NULL,
    disclosures   bigint NOT NULL,
    records       bigint NOT NULL,
    PRIMARY KEY (scope_kind, source_agency, scope_value, day)
);

-- Alerts; alert_id is deterministic (rule + scope + day), so re-processing never duplicates.
CREATE TABLE alerts (
    alert_id      uuid PRIMARY KEY,
    rule          text NOT NULL,
    severity      text NOT NULL,
    scope         text NOT NULL,
    day           date NOT NULL,
    observed      bigint NOT NULL,
    threshold     bigint,
    evidence      text[] NOT NULL,
    legal_source  text NOT NULL,
    message       text NOT NULL,
    fired_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alerts_day ON alerts (day);

-- Messages that did not decode, kept for the overseer (their bytes are on the DLQ topic).
CREATE TABLE dead_letters (
    kafka_topic     text   NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset    bigint NOT NULL,
    consumer        text   NOT NULL,
    reason          text   NOT NULL,
    value_sha256    bytea  NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, kafka_topic, kafka_partition, kafka_offset)
);

SELECT ledger_append_only(ARRAY['entries', 'tree_nodes', 'checkpoints', 'disclosures', 'notices',
                                 'court_orders', 'alerts', 'dead_letters']);
