-- The dmfa schema belongs to the role socsec_dmfa; the kit's outbox and
-- processed_messages tables are created before this file runs.
DO $$
BEGIN
    EXECUTE format('COMMENT ON SCHEMA %I IS %L', current_schema(),
                   'socsec dmfa service: Quarterly DmfA declarations, their anomaly checks, corrections, lateness and silent employers.');
END $$;
