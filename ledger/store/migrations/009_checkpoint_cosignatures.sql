-- Witnesses' cosignatures (C2SP tlog-cosignature) on stored checkpoints: one row per witness key
-- and checkpoint, the signature line exactly as the witness returned it. A checkpoint is served
-- as its signed note followed by these lines. Collected after the checkpoint committed, so the
-- rows arrive later than the checkpoint, and append-only like it.
CREATE TABLE checkpoint_cosignatures (
    log_id        text        NOT NULL,
    tree_size     bigint      NOT NULL,
    witness_name  text        NOT NULL,
    key_id        bytea       NOT NULL CHECK (length(key_id) = 4),
    cosigned_at   timestamptz NOT NULL,  -- the time the witness put in its cosignature
    line          text        NOT NULL,
    stored_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (log_id, tree_size, witness_name, key_id),
    FOREIGN KEY (log_id, tree_size) REFERENCES checkpoints (log_id, tree_size)
);

SELECT ledger_append_only(ARRAY['checkpoint_cosignatures']);

-- The consumers' writer stores cosignatures and the API's reader serves them; where those roles
-- exist already (`ledger migrate` grants on every table too), grant at once so that a ledger
-- upgraded in place does not serve checkpoints it cannot read the cosignatures of.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_writer') THEN
        GRANT SELECT, INSERT ON checkpoint_cosignatures TO ledger_writer;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_reader') THEN
        GRANT SELECT ON checkpoint_cosignatures TO ledger_reader;
    END IF;
END;
$$;
