-- The reports schema belongs to the role socsec_reports; the kit's outbox and
-- processed_messages tables are created before this file runs.
DO $$
BEGIN
    EXECUTE format('COMMENT ON SCHEMA %I IS %L', current_schema(),
                   'socsec reports service: Barometer reports: drafts, reactions, motivated answers, final, annual and global reports.');
END $$;
