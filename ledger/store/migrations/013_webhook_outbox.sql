-- Webhooks to send. The alert-delivery consumer queues one row per message and endpoint in the
-- transaction that reads the alert's record and stores its offset; a sender drains the queue
-- after commit, so no HTTP call or back-off sleep happens while a transaction or the offset row
-- lock is held. A row is pending until webhook_attempts holds a 'delivered' or 'failed' attempt
-- for it (at-least-once: a crash re-sends what was not recorded as finished).
CREATE TABLE webhook_outbox (
    webhook_id uuid        NOT NULL,  -- the alert id (raised) or the AlertResolved event id
    endpoint   text        NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('raised', 'resolved')),
    alert_id   uuid        NOT NULL,
    queued_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (webhook_id, endpoint)
);
CREATE INDEX webhook_outbox_endpoint ON webhook_outbox (endpoint, queued_at);

SELECT ledger_append_only(ARRAY['webhook_outbox']);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_writer') THEN
        GRANT SELECT, INSERT ON webhook_outbox TO ledger_writer;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_reader') THEN
        GRANT SELECT ON webhook_outbox TO ledger_reader;
    END IF;
END;
$$;
