-- The dimona schema belongs to the role socsec_dimona; the kit's outbox and
-- processed_messages tables are created before this file runs.
DO $$
BEGIN
    EXECUTE format('COMMENT ON SCHEMA %I IS %L', current_schema(),
                   'socsec dimona service: Dimona declarations (IN, OUT, UPDATE, CANCEL) over the REST v2 API and the batch channel, their notifications and the personnel file.');
END $$;
