-- Events the broker refused for good (a message above its topic's size limit, an invalid
-- topic name), moved out of the outbox by the relay so that the events behind them go on.
-- `socsec outbox retry` puts one back at the end of the outbox once the cause is fixed.
CREATE TABLE outbox_failed (
    id          bigint      PRIMARY KEY,  -- its id in the outbox
    event_id    uuid        NOT NULL UNIQUE,
    topic       text        NOT NULL,
    key         bytea,
    value       bytea       NOT NULL,
    headers     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL,
    failed_at   timestamptz NOT NULL DEFAULT now(),
    error       text        NOT NULL
);
