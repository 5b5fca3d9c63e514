-- Dimona declarations and the personnel file (level 1 relations, level 2 periods).

-- Dimona numbers: 10-digit sequence values; the 2-digit mod-97 check is appended in code,
-- which skips values whose remainder is 0.
CREATE SEQUENCE declaration_seq START WITH 7000000001 MINVALUE 1000000000 MAXVALUE 9999999999;

CREATE TABLE declarations (
    id                bigint PRIMARY KEY,          -- the 12-digit Dimona number
    kind              text        NOT NULL CHECK (kind IN ('IN', 'OUT', 'UPDATE', 'CANCEL')),
    channel           text        NOT NULL DEFAULT 'REST',
    environment       text        NOT NULL DEFAULT 'R',   -- R real, S simulation
    declarant         text        NOT NULL,
    gender_encoding   text        NOT NULL DEFAULT 'glossary',
    request           jsonb       NOT NULL,          -- the normalised declaration
    received_at       timestamptz NOT NULL,
    status            text        NOT NULL DEFAULT 'RECEIVED'
                      CHECK (status IN ('RECEIVED', 'WAITING', 'PROCESSED')),
    result            text        CHECK (result IN ('A', 'W', 'B', 'S')),
    anomalies         jsonb       NOT NULL DEFAULT '[]'::jsonb,
    employer_nsso     text,
    insz              text,
    period_id         bigint,
    processed_at      timestamptz,
    notified_at       timestamptz,
    contest_deadline  date,
    identification_request text UNIQUE,
    batch_ticket      text,
    batch_position    integer,
    UNIQUE (batch_ticket, batch_position)
);
CREATE INDEX declarations_employer ON declarations (employer_nsso, received_at);
CREATE INDEX declarations_period ON declarations (period_id);

CREATE TABLE periods (
    id                bigint PRIMARY KEY,          -- = id of the IN declaration
    employer_nsso     text        NOT NULL,
    insz              text        NOT NULL,
    worker_type       text        NOT NULL,
    joint_commission  text,
    sub_entity        integer,
    using_employer    jsonb,
    start_date        date        NOT NULL,
    end_date          date,
    start_hour        text,
    end_hour          text,
    planned_hours     integer,
    planned_days      integer,                     -- student periods up to 2016
    is_cancelled      boolean     NOT NULL DEFAULT false,
    is_locked         boolean     NOT NULL DEFAULT false,
    is_late           boolean     NOT NULL DEFAULT false,
    contested         boolean     NOT NULL DEFAULT false,
    definitive_from   date,                        -- contest window over: data definitive
    last_update       timestamptz NOT NULL
);
CREATE INDEX periods_employer_worker ON periods (employer_nsso, insz);
CREATE INDEX periods_worker_start ON periods (insz, start_date) WHERE NOT is_cancelled;

CREATE TABLE period_declarations (
    period_id       bigint NOT NULL REFERENCES periods (id),
    declaration_id  bigint NOT NULL REFERENCES declarations (id),
    kind            text   NOT NULL,
    result          text   NOT NULL,
    PRIMARY KEY (period_id, declaration_id)
);

CREATE TABLE relations (
    employer_nsso  text NOT NULL,
    insz           text NOT NULL,
    start_date     date,
    end_date       date,
    PRIMARY KEY (employer_nsso, insz)
);

CREATE TABLE contests (
    id              bigserial PRIMARY KEY,
    declaration_id  bigint      NOT NULL REFERENCES declarations (id),
    reason          text        NOT NULL,
    contested_by    text        NOT NULL,
    contested_at    timestamptz NOT NULL,
    resolved_at     timestamptz
);

-- Read model of the registry's worker identification register (registry.workers.v1).
CREATE TABLE workers (
    insz            text PRIMARY KEY,
    family_name     text,
    given_name      text,
    birth_date      date,
    sex             integer,
    nationality     integer,
    flexi_eligible  boolean NOT NULL DEFAULT true,
    replaced_by     text
);
