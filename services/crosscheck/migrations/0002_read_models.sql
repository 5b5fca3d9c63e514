-- Read models of both sides, the queue of re-evaluations, the mismatch instances and the
-- yearly results (crosscheck.md).

-- Dimona side: the current state of every period, from dimona.periods.v1. declaration_id
-- is the last change applied: an older change replayed later is ignored.
CREATE TABLE periods (
    id                bigint      PRIMARY KEY,
    employer_nsso     text        NOT NULL,
    insz              text        NOT NULL,
    worker_type       text        NOT NULL,
    joint_commission  text,
    start_date        date        NOT NULL,
    end_date          date,
    planned_hours     integer,
    is_cancelled      boolean     NOT NULL,
    declaration_id    bigint      NOT NULL,
    changed_at        timestamptz NOT NULL
);
CREATE INDEX periods_employer_worker ON periods (employer_nsso, insz);

-- DmfA side: the accepted original of each employer and quarter at its latest version, from
-- dmfa.notifications.v1. An original whose lines come in several parts is complete once
-- every part arrived; no triple of it is judged before.
CREATE TABLE declarations (
    employer_nsso             text        NOT NULL,
    quarter                   integer     NOT NULL,
    quarter_start             date        NOT NULL,
    quarter_end               date        NOT NULL,
    employer_declaration_pid  bigint,
    ticket                    text        NOT NULL,   -- the latest accepted declaration
    kind                      text        NOT NULL CHECK (kind IN ('ORIGINAL', 'UPDATE')),
    origin                    text        NOT NULL,   -- DECLARANT, EX_OFFICIO
    parts                     integer     NOT NULL,   -- of the latest declaration's lines
    parts_seen                integer[]   NOT NULL,
    complete                  boolean     NOT NULL,
    accepted_at               timestamptz NOT NULL,   -- the original's notification
    updated_at                timestamptz NOT NULL,
    PRIMARY KEY (employer_nsso, quarter)
);
CREATE INDEX declarations_quarter ON declarations (quarter) WHERE complete;

CREATE TABLE worker_lines (
    employer_nsso   text    NOT NULL,
    quarter         integer NOT NULL,
    insz            text    NOT NULL,
    employer_class  text    NOT NULL,
    worker_code     text    NOT NULL,
    needs_dimona    boolean NOT NULL,
    student_hours   integer,
    PRIMARY KEY (employer_nsso, quarter, insz, employer_class, worker_code)
);

CREATE TABLE occupations (
    employer_nsso     text    NOT NULL,
    quarter           integer NOT NULL,
    insz              text    NOT NULL,
    employer_class    text    NOT NULL,
    worker_code       text    NOT NULL,
    sequence          integer NOT NULL,
    start_date        date,
    end_date          date,
    joint_commission  text    NOT NULL,
    days              integer NOT NULL,        -- hundredths of days
    flexi             boolean NOT NULL,
    occasional        boolean NOT NULL,
    PRIMARY KEY (employer_nsso, quarter, insz, employer_class, worker_code, sequence)
);

-- Re-evaluations to do, written by the consumers with the change that causes them and
-- drained by the evaluator once committed. Judging only committed data is what makes the
-- order in which Dimona and DmfA arrive irrelevant.
--   PERIOD       a period changed: every declared quarter its span [from_date, to_date] meets
--   PERSON       a modification changed the lines of (employer, quarter, insz)
--   DECLARATION  an original became complete: every person of (employer, quarter)
CREATE TABLE touches (
    id             bigserial   PRIMARY KEY,
    kind           text        NOT NULL CHECK (kind IN ('PERIOD', 'PERSON', 'DECLARATION')),
    employer_nsso  text        NOT NULL,
    quarter        integer,
    insz           text,
    from_date      date,
    to_date        date,
    trigger        text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION touches_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('socsec_crosscheck_touches_' || TG_TABLE_SCHEMA, '');
    RETURN NULL;
END $$;
CREATE TRIGGER touches_notify AFTER INSERT ON touches
    FOR EACH STATEMENT EXECUTE FUNCTION touches_notify();

-- Mismatch instances (crosscheck.md §3): at most one open per triple.
CREATE TABLE mismatches (
    id             uuid        PRIMARY KEY,
    employer_nsso  text        NOT NULL,
    quarter        integer     NOT NULL,
    insz           text        NOT NULL,
    c1             integer     NOT NULL DEFAULT 0,
    c2             integer     NOT NULL DEFAULT 0,
    c3             integer     NOT NULL DEFAULT 0,
    c4             integer     NOT NULL DEFAULT 0,
    c5             integer     NOT NULL DEFAULT 0,
    c6             integer     NOT NULL DEFAULT 0,
    codes          text[]      NOT NULL DEFAULT '{}',
    secretariat    text,
    seat_id        text,
    opened_at      timestamptz NOT NULL,
    opened_by      text        NOT NULL,
    evaluated_at   timestamptz NOT NULL,
    resolved_at    timestamptz,
    resolved_by    text,
    lifetime_days  integer
);
CREATE UNIQUE INDEX mismatches_open ON mismatches (employer_nsso, quarter, insz)
    WHERE resolved_at IS NULL;
CREATE INDEX mismatches_triple ON mismatches (employer_nsso, quarter, insz, opened_at);
CREATE INDEX mismatches_seat ON mismatches (seat_id, quarter) WHERE resolved_at IS NULL;

-- Yearly recomputation (socsec crosscheck run --year N): the seat of each declared employer
-- and quarter, the mismatching triples and the counts per seat the barometer needs.
CREATE TABLE yearly_seat_map (
    year           integer NOT NULL,
    employer_nsso  text    NOT NULL,
    quarter        integer NOT NULL,
    secretariat    text,
    seat_id        text,
    PRIMARY KEY (year, employer_nsso, quarter)
);

CREATE TABLE yearly_runs (
    year               integer     PRIMARY KEY,
    computed_at        timestamptz NOT NULL,
    evaluation_date    date        NOT NULL,
    provisional        boolean     NOT NULL,   -- computed before the evaluation date
    employer_quarters  bigint      NOT NULL,
    triples            bigint      NOT NULL,
    mismatching        bigint      NOT NULL,
    c1                 bigint      NOT NULL,
    c2                 bigint      NOT NULL,
    c3                 bigint      NOT NULL,
    c4                 bigint      NOT NULL,
    c5                 bigint      NOT NULL,
    c6                 bigint      NOT NULL,
    disagreements      bigint      NOT NULL,   -- triples judged otherwise by the incremental path
    duration_ms        bigint      NOT NULL,
    settings           jsonb       NOT NULL
);

CREATE TABLE yearly_mismatches (
    year           integer NOT NULL,
    employer_nsso  text    NOT NULL,
    quarter        integer NOT NULL,
    insz           text    NOT NULL,
    secretariat    text,
    seat_id        text,
    c1             integer NOT NULL,
    c2             integer NOT NULL,
    c3             integer NOT NULL,
    c4             integer NOT NULL,
    c5             integer NOT NULL,
    c6             integer NOT NULL,
    codes          text[]  NOT NULL,
    PRIMARY KEY (year, employer_nsso, quarter, insz)
);
CREATE INDEX yearly_mismatches_seat ON yearly_mismatches (year, seat_id);

-- Counts per seat (seat_id null: employers without a DmfA mandate, declaring themselves);
-- c1..c6 count the triples failing each rule.
CREATE TABLE yearly_seat_counts (
    year         integer NOT NULL,
    seat_id      text,
    employers    bigint  NOT NULL,
    triples      bigint  NOT NULL,
    mismatching  bigint  NOT NULL,
    c1           bigint  NOT NULL,
    c2           bigint  NOT NULL,
    c3           bigint  NOT NULL,
    c4           bigint  NOT NULL,
    c5           bigint  NOT NULL,
    c6           bigint  NOT NULL
);
CREATE UNIQUE INDEX yearly_seat_counts_key ON yearly_seat_counts (year, coalesce(seat_id, ''));
