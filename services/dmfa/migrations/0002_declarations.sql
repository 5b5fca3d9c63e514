-- DmfA declarations, the accepted DmfA store (employer declarations, persons, worker-line
-- versions), anomaly instances, silent-employer findings and two read models (Dimona
-- periods, worker register).

-- Declaration tickets: 13 base-36 characters starting with 34 (see handlers.ticket).
CREATE SEQUENCE ticket_seq START WITH 1;
-- PIDs and version numbers: integers of at most 11 digits (identifiers.md §5).
CREATE SEQUENCE pid_seq START WITH 10000000001 MAXVALUE 99999999999;
CREATE SEQUENCE person_pid_seq START WITH 20000000001 MAXVALUE 99999999999;

-- Every handled declaration, accepted or refused, from both channels and environments.
-- A refused one is kept here for audit only: nothing of it reaches the store below.
CREATE TABLE declarations (
    id                  bigserial PRIMARY KEY,
    ticket              text        NOT NULL UNIQUE,
    kind                text        NOT NULL CHECK (kind IN ('ORIGINAL', 'UPDATE')),
    origin              text        NOT NULL DEFAULT 'DECLARANT'
                        CHECK (origin IN ('DECLARANT', 'EX_OFFICIO')),
    channel             text        NOT NULL CHECK (channel IN ('REST', 'BATCH')),
    environment         text        NOT NULL DEFAULT 'R' CHECK (environment IN ('R', 'S')),
    declarant           text        NOT NULL,
    batch_ticket        text,
    batch_position      integer,
    go_file_name        text,
    employer_nsso       text,
    company_id          text,
    quarter             integer,
    received_at         timestamptz NOT NULL,
    processed_at        timestamptz NOT NULL,
    result_code         smallint    NOT NULL,
    diagnosis           smallint,
    employer_declaration_pid bigint,
    late                boolean     NOT NULL DEFAULT false,
    due_date            date,
    deadline            date,
    schema_version      text        NOT NULL,
    anomalies           jsonb       NOT NULL DEFAULT '[]'::jsonb,  -- as notified
    summary             jsonb       NOT NULL DEFAULT '{}'::jsonb,
    form                text,        -- the form as received (XML), for audit
    UNIQUE (batch_ticket, batch_position)
);
CREATE INDEX declarations_employer ON declarations (employer_nsso, quarter);

-- The accepted DmfA store (environment R only): one row per employer and quarter.
CREATE TABLE employer_declarations (
    pid                 bigint      PRIMARY KEY,   -- EmployerDeclarationPID
    employer_nsso       text        NOT NULL,
    quarter             integer     NOT NULL,
    trusteeship         smallint    NOT NULL DEFAULT 0,
    company_id          text        NOT NULL,
    original_declaration_id bigint  NOT NULL REFERENCES declarations (id),
    received_at         timestamptz NOT NULL,
    accepted_at         timestamptz NOT NULL,
    due_date            date        NOT NULL,
    deadline            date        NOT NULL,
    late                boolean     NOT NULL,
    net_owed            bigint,
    original_wage_mass  bigint      NOT NULL,
    original_persons    integer     NOT NULL,
    UNIQUE (employer_nsso, quarter)
);

CREATE TABLE persons (
    natural_person_pid  bigint      PRIMARY KEY,   -- NaturalPersonPID
    employer_declaration_pid bigint NOT NULL REFERENCES employer_declarations (pid),
    inss                text        NOT NULL,
    sequence_nbr        integer     NOT NULL,
    decl_person_pid     bigint      NOT NULL,      -- DeclNaturalPersonPID
    decl_person_version bigint      NOT NULL,      -- DeclNaturalPersonVersionNbr
    UNIQUE (employer_declaration_pid, inss)
);

-- Every version of every worker line; the current one has current = true.
CREATE TABLE worker_lines (
    version_nbr         bigint      PRIMARY KEY,   -- WorkerRecordVersionNbr
    employer_declaration_pid bigint NOT NULL,
    natural_person_pid  bigint      NOT NULL,
    inss                text        NOT NULL,
    employer_class      text        NOT NULL,
    worker_code         text        NOT NULL,
    declaration_id      bigint      NOT NULL,      -- the declaration that made this version
    current             boolean     NOT NULL DEFAULT true,
    needs_dimona        boolean     NOT NULL,
    wage_mass           bigint      NOT NULL,
    -- The line with its occupation versions, as JSON text: rows arrive by binary COPY,
    -- which has no jsonb encoder; read it with line::jsonb.
    line                text        NOT NULL
);
-- One current version per line; also the index of "the current lines of a declaration".
CREATE UNIQUE INDEX worker_lines_current_key
    ON worker_lines (employer_declaration_pid, inss, employer_class, worker_code) WHERE current;

-- Anomaly instances (R declarations): OPEN until resolved; REFUSED for the findings of a
-- refused declaration.
CREATE TABLE anomalies (
    id                  uuid        PRIMARY KEY,
    declaration_id      bigint      NOT NULL REFERENCES declarations (id),
    ticket              text        NOT NULL,
    employer_declaration_pid bigint,
    employer_nsso       text,
    quarter             integer,
    code                text        NOT NULL,      -- ErrorID as notified
    rule_code           text        NOT NULL,      -- in the original's numbering
    class               text        NOT NULL,
    priority            text        NOT NULL,
    subject             text        NOT NULL,
    state               text        NOT NULL CHECK (state IN ('OPEN', 'RESOLVED', 'REFUSED')),
    key                 text        NOT NULL,
    inss                text,
    employer_class      text,
    worker_code         text,
    occupation_sequence integer,
    path                text        NOT NULL,      -- JSON text (binary COPY, as above)
    tag_name            text,
    value               text,
    detected_at         timestamptz NOT NULL,
    resolved_at         timestamptz,
    resolved_by         text,
    resolved_declaration_id bigint,
    secretariat         text,
    seat                text
);
CREATE UNIQUE INDEX anomalies_open_key ON anomalies (employer_declaration_pid, key)
    WHERE state = 'OPEN';
CREATE INDEX anomalies_employer ON anomalies (employer_nsso, quarter);
CREATE INDEX anomalies_secretariat ON anomalies (secretariat, quarter);
CREATE INDEX anomalies_quarter ON anomalies (quarter);

-- Silent-employer findings and late declarations: one per (employer, quarter, reason), so
-- the same finding is never published twice.
CREATE TABLE silent_findings (
    employer_nsso       text        NOT NULL,
    quarter             integer     NOT NULL,
    reason              text        NOT NULL
                        CHECK (reason IN ('NO_DMFA', 'LATE', 'INCOMPLETE', 'INACCURATE')),
    found_at            timestamptz NOT NULL,
    evaluated_on        date        NOT NULL,
    details             jsonb       NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (employer_nsso, quarter, reason)
);
CREATE INDEX silent_findings_quarter ON silent_findings (quarter, reason);

-- Read model of the personnel file (dimona.periods.v1): persons per employer and quarter.
CREATE TABLE dimona_periods (
    period_id           bigint      PRIMARY KEY,
    employer_nsso       text        NOT NULL,
    insz                text        NOT NULL,
    worker_type         text        NOT NULL,
    start_date          date        NOT NULL,
    end_date            date,
    planned_hours       integer,
    cancelled           boolean     NOT NULL DEFAULT false,
    changed_at          timestamptz NOT NULL
);
CREATE INDEX dimona_periods_employer ON dimona_periods (employer_nsso, start_date);

-- Read model of the worker register (registry.workers.v1), for 90017-151.
CREATE TABLE workers (
    insz                text        PRIMARY KEY
);
