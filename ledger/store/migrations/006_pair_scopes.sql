-- Canonical scopes (ledger/rules/registry.py): a disclosure now also counts under its recipient
-- and authority together, scope_kind 'pair' with scope_value '<recipient> under <authority>'
-- (e.g. 'ICE under 6103(i)(2)'), beside its recipient, each parent agency, its authority, each
-- authority family and its source. Recipient and authority values are registry ids from now on;
-- rows stored before hold raw text: `ledger replay --into` rebuilds them under the ids.
ALTER TABLE daily_volume DROP CONSTRAINT daily_volume_scope_kind_check;
ALTER TABLE daily_volume ADD CONSTRAINT daily_volume_scope_kind_check
    CHECK (scope_kind IN ('recipient', 'authority', 'pair', 'source'));

ALTER TABLE alerts DROP CONSTRAINT alerts_scope_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_scope_kind_check
    CHECK (scope_kind IN ('recipient', 'authority', 'pair', 'source'));
