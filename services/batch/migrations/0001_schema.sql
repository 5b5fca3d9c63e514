-- The batch schema belongs to the role socsec_batch; the kit's outbox and
-- processed_messages tables are created before this file runs.
DO $$
BEGIN
    EXECUTE format('COMMENT ON SCHEMA %I IS %L', current_schema(),
                   'socsec batch service: The transfer point of the batch channel: declaration files in, ticket acknowledgements (ACRF) and notifications (NOTI) out.');
END $$;
