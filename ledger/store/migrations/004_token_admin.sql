-- Tokens expire and are revoked by a named person; only the administrative role adds tokens,
-- revocations and migration records. The API serves as the reader role and the consumers write
-- as the writer role; neither may mint itself a token or pretend a migration ran.

ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;
ALTER TABLE api_token_revocations ADD COLUMN revoked_by text;

-- Enforced here, not only by GRANTs: a deployment that provisions its roles elsewhere (or a
-- later `GRANT INSERT ON ALL TABLES`) cannot hand these tables to a role that does not own them.
CREATE FUNCTION reject_non_owner_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pg_has_role(current_user,
                       (SELECT relowner FROM pg_catalog.pg_class WHERE oid = TG_RELID), 'MEMBER') THEN
        RAISE EXCEPTION 'permission denied for table %: only the ledger''s administrative role adds rows to it',
            TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Tokens are made and revoked with `ledger token` using LEDGER_DATABASE_URL.';
    END IF;
    RETURN NULL;
END;
$$;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['api_tokens', 'api_token_revocations', 'schema_migrations']
    LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE INSERT ON %I FOR EACH STATEMENT '
                       'EXECUTE FUNCTION reject_non_owner_insert()', t || '_admin_only', t);
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ledger_writer') THEN
            EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %I FROM ledger_writer', t);
        END IF;
    END LOOP;
    -- schema_migrations predates the append-only triggers of 001; give it the same guard.
    PERFORM ledger_append_only(ARRAY['schema_migrations']);
END;
$$;
