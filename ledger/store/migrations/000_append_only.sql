-- The append-only guard every later migration uses. Both functions are CREATE OR REPLACE: a
-- fresh schema gets them first; a schema migrated under older files (which defined them in 001
-- and 006) gets this file at its next migrate, which replaces them with the same definitions.

-- Append-only: no UPDATE, DELETE or TRUNCATE on the tamper-evident tables, whoever asks.
CREATE OR REPLACE FUNCTION reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger table % is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Corrections are new events (DisclosureAmended); nothing is ever overwritten.';
END;
$$;

-- Each append-only table is made so by one call: the two triggers above on each table (no
-- UPDATE or DELETE of a row, no TRUNCATE), named <table>_no_change / _no_truncate.
CREATE OR REPLACE FUNCTION ledger_append_only(tables text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY tables
    LOOP
        EXECUTE format('CREATE TRIGGER %2$I BEFORE UPDATE OR DELETE ON %1$I FOR EACH ROW'
                       ' EXECUTE FUNCTION reject_change();'
                       ' CREATE TRIGGER %3$I BEFORE TRUNCATE ON %1$I FOR EACH STATEMENT'
                       ' EXECUTE FUNCTION reject_change()', t, t || '_no_change', t || '_no_truncate');
    END LOOP;
END;
$$;
