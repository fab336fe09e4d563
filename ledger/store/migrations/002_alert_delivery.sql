-- Webhook delivery state, one row per attempt (append-only: the history of tries is evidence too).
CREATE TABLE webhook_attempts (
    alert_id    uuid    NOT NULL,
    endpoint    text    NOT NULL,
    attempt     integer NOT NULL,
    outcome     text    NOT NULL CHECK (outcome IN ('delivered', 'retrying', 'failed')),
    status_code integer,
    error       text,
    at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (alert_id, endpoint, attempt)
);

-- Acknowledgements, from AlertAcknowledged events on the alerts topic.
CREATE TABLE acknowledgements (
    event_id        uuid PRIMARY KEY,
    alert_id        uuid NOT NULL,
    acknowledged_by text NOT NULL,
    note            text NOT NULL,
    acknowledged_at timestamptz NOT NULL
);
CREATE INDEX acknowledgements_alert ON acknowledgements (alert_id);

-- Latest state per alert and endpoint, for `ledger alerts` and the dashboard.
CREATE VIEW alert_delivery_status AS
SELECT DISTINCT ON (alert_id, endpoint) alert_id, endpoint, attempt, outcome, status_code, error, at
FROM webhook_attempts ORDER BY alert_id, endpoint, attempt DESC;

SELECT ledger_append_only(ARRAY['webhook_attempts', 'acknowledgements']);
