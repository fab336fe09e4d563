-- The parts of each alert's scope, stored beside its text so that nothing parses the text back:
-- (scope_kind, scope_source, scope_value) are daily_volume's (scope_kind, source_agency,
-- scope_value): kind 'recipient', 'authority' or 'source', value '' for a source as a whole.
-- All three are NULL for an alert about something other than a volume scope (malformed_event:
-- a topic partition). alerts.scope keeps its text unchanged: alert ids are derived from it.
ALTER TABLE alerts
    ADD COLUMN scope_kind   text CHECK (scope_kind IN ('recipient', 'authority', 'source')),
    ADD COLUMN scope_source text,
    ADD COLUMN scope_value  text,
    ADD CONSTRAINT alerts_scope_parts_together CHECK (
        (scope_kind IS NULL) = (scope_source IS NULL)
        AND (scope_kind IS NULL) = (scope_value IS NULL));

-- Alerts stored before this migration get their parts from their text, read once here: the
-- format ledger.rules.model.Scope renders, '<source>' or '<source> -> <kind> <value>'. This is
-- the only UPDATE ever run on alerts: by the owner, in the migration's transaction, filling
-- columns that did not exist before; the append-only trigger is set aside for it alone.
ALTER TABLE alerts DISABLE TRIGGER alerts_no_change;
UPDATE alerts a
   SET scope_kind = p.m[2], scope_source = p.m[1], scope_value = p.m[3]
  FROM (SELECT alert_id, regexp_match(scope, '^(.*?) -> (recipient|authority) (.*)$') AS m
          FROM alerts) p
 WHERE p.alert_id = a.alert_id AND p.m IS NOT NULL;
UPDATE alerts
   SET scope_kind = 'source', scope_source = scope, scope_value = ''
 WHERE scope_kind IS NULL AND rule <> 'malformed_event';
ALTER TABLE alerts ENABLE TRIGGER alerts_no_change;

CREATE INDEX alerts_scope ON alerts (scope_kind, scope_source, scope_value, day);
