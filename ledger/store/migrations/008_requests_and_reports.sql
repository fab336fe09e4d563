-- Requests for disclosure (DisclosureRequested), so request_incomplete can check each element of
-- the request a disclosure cites, and the (p)(3)(C) report can count requests.
CREATE TABLE requests (
    event_id           uuid PRIMARY KEY,
    request_id         text NOT NULL,
    source_agency      text NOT NULL,
    requesting_agency  text NOT NULL,
    recipient_agency   text NOT NULL,       -- recipient_agency, else the requesting agency
    legal_authority    text,
    received_at        timestamptz NOT NULL,
    taxpayer_count     bigint NOT NULL,
    record             jsonb NOT NULL
);
CREATE INDEX requests_request_id ON requests (request_id, received_at);
CREATE INDEX requests_received ON requests (received_at);

-- What the reports and the Privacy Act accounting need of each DisclosureRecorded beyond the
-- disclosures row: where it went, the tax periods, and match quality as counts (v2; empty for v1).
CREATE TABLE disclosure_details (
    event_id          uuid PRIMARY KEY,
    disclosure_id     text NOT NULL,
    recipient_address text,
    tax_periods       jsonb NOT NULL,       -- a JSON array of the tax periods
    match_counts      jsonb NOT NULL,
    address_counts    jsonb NOT NULL
);
CREATE INDEX disclosure_details_disclosure ON disclosure_details (disclosure_id);

SELECT ledger_append_only(ARRAY['requests', 'disclosure_details']);
