-- The scoring schema belongs to the role socsec_scoring; the kit's outbox and
-- processed_messages tables are created before this file runs.
DO $$
BEGIN
    EXECUTE format('COMMENT ON SCHEMA %I IS %L', current_schema(),
                   'socsec scoring service: Quality barometer scores per social-secretariat seat in the six control domains.');
END $$;
