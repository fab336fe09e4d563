-- The taxpayer index (docs/mpt.md): which disclosure-log entries concern which taxpayer, keyed
-- by the taxpayer's index key (a keyed hash of the stored ref, never the ref itself), and the
-- snapshots of its Merkle Patricia Tree with the disclosure-log checkpoints each one covers.
-- Every table is append-only: an entry's position never leaves a list, and the MPT values are
-- derived from these rows, so a row changed behind the triggers shows as a snapshot that no
-- longer rebuilds.
CREATE TABLE taxpayer_index_postings (
    index_key  bytea  NOT NULL CHECK (length(index_key) = 32),
    log_id     text   NOT NULL,
    seq        bigint NOT NULL CHECK (seq >= 0),
    PRIMARY KEY (index_key, log_id, seq)
);

-- A disclosure's taxpayers, so that its amendments reach the same index keys.
CREATE TABLE taxpayer_index_disclosures (
    disclosure_id text  NOT NULL,
    index_key     bytea NOT NULL CHECK (length(index_key) = 32),
    PRIMARY KEY (disclosure_id, index_key)
);

-- Snapshot n covers entries [0, tree_size) of each listed disclosure log at its checkpoint.
CREATE TABLE taxpayer_index_snapshots (
    snapshot_seq bigint      PRIMARY KEY CHECK (snapshot_seq >= 0),
    snapshot     bytea       NOT NULL CHECK (length(snapshot) = 32),
    leaf         bytea       NOT NULL,  -- the index log's leaf (docs/mpt.md)
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE taxpayer_index_coverage (
    snapshot_seq bigint NOT NULL REFERENCES taxpayer_index_snapshots (snapshot_seq),
    log_id       text   NOT NULL,
    tree_size    bigint NOT NULL,
    root_hash    bytea  NOT NULL CHECK (length(root_hash) = 32),
    PRIMARY KEY (snapshot_seq, log_id)
);

-- The index log: leaf n is snapshot n's leaf; one signed checkpoint (origin
-- <LEDGER_LOG_ORIGIN>/index) per size, the note exactly as signed.
CREATE TABLE taxpayer_index_checkpoints (
    tree_size  bigint      PRIMARY KEY CHECK (tree_size > 0),
    root_hash  bytea       NOT NULL CHECK (length(root_hash) = 32),
    note       text        NOT NULL,
    signed_at  timestamptz NOT NULL DEFAULT now()
);

-- Witnesses' cosignatures on the index log's checkpoints, as migration 009 keeps them for the
-- disclosure logs: the line exactly as the witness returned it, served after the signed note.
CREATE TABLE taxpayer_index_cosignatures (
    tree_size     bigint      NOT NULL REFERENCES taxpayer_index_checkpoints (tree_size),
    witness_name  text        NOT NULL,
    key_id        bytea       NOT NULL CHECK (length(key_id) = 4),
    cosigned_at   timestamptz NOT NULL,
    line          text        NOT NULL,
    PRIMARY KEY (tree_size, witness_name, key_id)
);

SELECT ledger_append_only(ARRAY[
    'taxpayer_index_postings', 'taxpayer_index_disclosures', 'taxpayer_index_snapshots',
    'taxpayer_index_coverage', 'taxpayer_index_checkpoints', 'taxpayer_index_cosignatures'
]);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_writer') THEN
        GRANT SELECT, INSERT ON taxpayer_index_postings, taxpayer_index_disclosures,
            taxpayer_index_snapshots, taxpayer_index_coverage, taxpayer_index_checkpoints,
            taxpayer_index_cosignatures TO ledger_writer;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_reader') THEN
        GRANT SELECT ON taxpayer_index_postings, taxpayer_index_disclosures,
            taxpayer_index_snapshots, taxpayer_index_coverage, taxpayer_index_checkpoints,
            taxpayer_index_cosignatures TO ledger_reader;
    END IF;
END;
$$;
