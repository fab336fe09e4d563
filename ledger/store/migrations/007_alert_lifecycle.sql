-- The alert lifecycle: alerts stay as they were raised; what changes is their status, one
-- appended row per change. An alert with no row is open; its latest row (highest seq) says
-- whether it is open or resolved. seq counts the alert's changes, so a replay numbers them alike.
CREATE TABLE alert_status_changes (
    alert_id   uuid    NOT NULL,
    seq        integer NOT NULL CHECK (seq >= 1),
    status     text    NOT NULL CHECK (status IN ('open', 'resolved')),
    event_id   uuid    NOT NULL UNIQUE,  -- the AlertResolved (or re-raising AlertRaised) event
    reason     text    NOT NULL,
    caused_by  text    NOT NULL,         -- the event id of the fact that changed the status
    at         timestamptz NOT NULL,     -- that fact's broker time, so a replay reproduces it
    PRIMARY KEY (alert_id, seq)
);

CREATE VIEW alert_status AS
SELECT a.alert_id,
       COALESCE(c.status, 'open') AS status,
       c.reason AS status_reason,
       c.caused_by AS status_caused_by,
       c.at AS status_at
  FROM alerts a
  LEFT JOIN LATERAL (SELECT status, reason, caused_by, at FROM alert_status_changes s
                      WHERE s.alert_id = a.alert_id ORDER BY seq DESC LIMIT 1) c ON TRUE;

-- Corrections of disclosures (DisclosureAmended), each row the disclosure's full corrected facts
-- after that amendment; the DisclosureRecorded row is never changed. seq counts the amendments
-- of one disclosure in the order they arrived.
CREATE TABLE disclosure_amendments (
    event_id          uuid PRIMARY KEY,  -- the DisclosureAmended event
    amends_event_id   uuid NOT NULL,     -- the DisclosureRecorded it corrects
    seq               integer NOT NULL CHECK (seq >= 1),
    recipient_agency  text NOT NULL,
    legal_authority   text NOT NULL,
    transmitted_at    timestamptz NOT NULL,
    day               date NOT NULL,
    record_count      bigint NOT NULL,
    withdrawn         boolean NOT NULL,
    changes           jsonb NOT NULL,
    reason            text NOT NULL,
    UNIQUE (amends_event_id, seq)
);

-- Every disclosure as its latest amendment left it (what the rules, volumes and accounting see).
CREATE VIEW current_disclosures AS
SELECT d.event_id, d.disclosure_id, d.request_id, d.source_agency,
       COALESCE(a.recipient_agency, d.recipient_agency) AS recipient_agency,
       COALESCE(a.legal_authority, d.legal_authority) AS legal_authority,
       d.purpose, d.nature,
       COALESCE(a.transmitted_at, d.transmitted_at) AS transmitted_at,
       COALESCE(a.day, d.day) AS day,
       COALESCE(a.record_count, d.record_count) AS record_count,
       d.match_method, d.address_verification, d.notice_id,
       COALESCE(a.withdrawn, FALSE) AS withdrawn,
       d.log_id, d.kafka_offset
  FROM disclosures d
  LEFT JOIN LATERAL (SELECT * FROM disclosure_amendments x WHERE x.amends_event_id = d.event_id
                      ORDER BY seq DESC LIMIT 1) a ON TRUE;

-- Amendments and vacaturs of court orders, applied in arrival order (seq) over the order's record.
CREATE TABLE court_order_changes (
    event_id   uuid PRIMARY KEY,
    order_id   text NOT NULL,
    seq        integer NOT NULL CHECK (seq >= 1),
    kind       text NOT NULL CHECK (kind IN ('amended', 'vacated')),
    record     jsonb NOT NULL,
    UNIQUE (order_id, seq)
);

-- The disclosure an alert of the disclosure rules is about is the first event of its evidence.
CREATE INDEX alerts_subject ON alerts ((evidence[1]), rule);

-- A second DisclosureRecorded of the same (source, disclosure id) is found by this index.
CREATE INDEX disclosures_source_disclosure ON disclosures (source_agency, disclosure_id);
CREATE INDEX disclosures_recipient_time ON disclosures (recipient_agency, transmitted_at);
CREATE INDEX disclosures_time ON disclosures (transmitted_at);

SELECT ledger_append_only(ARRAY['alert_status_changes', 'disclosure_amendments', 'court_order_changes']);
