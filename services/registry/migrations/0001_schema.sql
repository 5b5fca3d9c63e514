-- The registry schema belongs to the role socsec_registry; the kit's outbox and
-- processed_messages tables are created before this file runs.
DO $$
BEGIN
    EXECUTE format('COMMENT ON SCHEMA %I IS %L', current_schema(),
                   'socsec registry service: Employers, social secretariats (seats and branches), mandates, batch senders, API clients and the worker identification register.');
END $$;
