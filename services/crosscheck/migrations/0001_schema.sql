-- The crosscheck schema belongs to the role socsec_crosscheck; the kit's outbox and
-- processed_messages tables are created before this file runs.
DO $$
BEGIN
    EXECUTE format('COMMENT ON SCHEMA %I IS %L', current_schema(),
                   'socsec crosscheck service: The personnel file (Dimona) cross-checked against DmfA per employer, worker and quarter.');
END $$;
