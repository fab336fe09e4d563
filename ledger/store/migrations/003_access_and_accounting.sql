-- API bearer tokens, stored only as SHA-256; revocation is an appended row, never an edit.
CREATE TABLE api_tokens (
    token_id     uuid PRIMARY KEY,
    name         text NOT NULL,
    role         text NOT NULL CHECK (role IN ('auditor', 'overseer', 'public')),
    token_sha256 bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE api_token_revocations (
    token_id   uuid PRIMARY KEY REFERENCES api_tokens (token_id),
    revoked_at timestamptz NOT NULL DEFAULT now()
);

-- Taxpayer refs (keyed hashes) per disclosure, from DisclosureRecorded and DisclosureManifest
-- chunks, indexed so a Privacy Act accounting answers in milliseconds.
CREATE TABLE taxpayer_refs (
    ref           text NOT NULL,
    disclosure_id text NOT NULL,
    event_id      uuid NOT NULL,
    PRIMARY KEY (ref, disclosure_id, event_id)
);

SELECT ledger_append_only(ARRAY['api_tokens', 'api_token_revocations', 'taxpayer_refs']);
