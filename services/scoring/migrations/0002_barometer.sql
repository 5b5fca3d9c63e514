-- The scoring service's state: read models of the registry, the facts of the six control
-- domains, the catalogue versions used, and the final scores published.

-- Registry read models (whole current state per key, from the compacted topics).
CREATE TABLE mandataries (
    id          text PRIMARY KEY,
    kind        text NOT NULL,
    legal_name  text NOT NULL,
    seat_id     text NOT NULL,
    deleted     boolean NOT NULL DEFAULT false
);
CREATE INDEX mandataries_seat ON mandataries (seat_id);

CREATE TABLE branches (
    id            text PRIMARY KEY,
    seat_id       text NOT NULL,
    mandatary_id  text NOT NULL
);

CREATE TABLE employers (
    nsso_number      text PRIMARY KEY,
    registered_from  date NOT NULL,
    registered_to    date,
    deleted          boolean NOT NULL DEFAULT false
);

CREATE TABLE mandates (
    id                   text PRIMARY KEY,
    employer_nsso        text NOT NULL,
    mandatary_id         text NOT NULL,
    affiliation_point    text NOT NULL,
    seat_id              text NOT NULL,
    dmfa                 boolean NOT NULL,
    proxy_registered_on  date NOT NULL,
    valid_from           date NOT NULL,
    valid_to             date,
    deleted              boolean NOT NULL DEFAULT false
);
CREATE INDEX mandates_dmfa ON mandates (employer_nsso, valid_from DESC, id) WHERE dmfa AND NOT deleted;

-- S: silent-employer findings and late originals (one per employer, quarter and reason).
CREATE TABLE silent_facts (
    employer_nsso  text NOT NULL,
    quarter        integer NOT NULL,
    reason         text NOT NULL,
    evaluated_on   date NOT NULL,
    detail         jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (quarter, employer_nsso, reason)
);

-- Accepted DmfA declarations (environment R) per employer and quarter: the population of
-- AP/ANP (every worker line ever notified for the quarter) and the activity of domain S.
CREATE TABLE declarations (
    employer_nsso  text NOT NULL,
    quarter        integer NOT NULL,
    lines          integer NOT NULL DEFAULT 0,
    accepted       integer NOT NULL DEFAULT 0,
    PRIMARY KEY (quarter, employer_nsso)
);

-- Worker lines (latest version; deleted lines kept flagged): the population of the T sample.
CREATE TABLE worker_lines (
    employer_nsso   text NOT NULL,
    quarter         integer NOT NULL,
    inss            text NOT NULL,
    employer_class  text NOT NULL,
    worker_code     text NOT NULL,
    worker_kind     text NOT NULL,
    deleted         boolean NOT NULL DEFAULT false,
    PRIMARY KEY (quarter, employer_nsso, inss, employer_class, worker_code)
);

-- AP / ANP: anomaly instances of accepted declarations with their lifetime.
CREATE TABLE anomalies (
    anomaly_id      uuid PRIMARY KEY,
    priority        text NOT NULL,
    subject         text NOT NULL,
    employer_nsso   text NOT NULL,
    quarter         integer NOT NULL,
    error_id        text NOT NULL,
    inss            text,
    employer_class  text,
    worker_code     text,
    detected_at     timestamptz NOT NULL,
    resolved_at     timestamptz
);
CREATE INDEX anomalies_quarter ON anomalies (quarter, priority);

-- C: cross-check mismatch instances and the yearly triple counts per seat.
CREATE TABLE mismatches (
    mismatch_id    uuid PRIMARY KEY,
    employer_nsso  text NOT NULL,
    quarter        integer NOT NULL,
    rules          text[] NOT NULL,
    opened_at      timestamptz NOT NULL,
    resolved_at    timestamptz
);
CREATE INDEX mismatches_quarter ON mismatches (quarter);

CREATE TABLE year_counts (
    year         integer NOT NULL,
    seat_id      text NOT NULL,
    secretariat  text,
    employers    integer NOT NULL,
    triples      integer NOT NULL,
    mismatching  integer NOT NULL,
    computed_at  timestamptz NOT NULL,
    PRIMARY KEY (year, seat_id)
);

-- T: one sampling campaign per seat and quarter, its items and the inspectors' findings.
CREATE TABLE t_campaigns (
    id                 uuid PRIMARY KEY,
    seat_id            text NOT NULL,
    quarter            integer NOT NULL,
    seed               text NOT NULL,
    z                  numeric NOT NULL,
    p                  numeric NOT NULL,
    e                  numeric NOT NULL,
    strata             text NOT NULL,
    population         integer NOT NULL,
    sample_size        integer NOT NULL,
    catalogue_version  text NOT NULL,
    created_at         timestamptz NOT NULL,
    created_by         text NOT NULL,
    UNIQUE (seat_id, quarter)
);

CREATE TABLE t_items (
    campaign_id     uuid NOT NULL REFERENCES t_campaigns (id),
    item_no         integer NOT NULL,
    employer_nsso   text NOT NULL,
    unit            text NOT NULL,
    inss            text NOT NULL,
    employer_class  text NOT NULL,
    worker_code     text NOT NULL,
    stratum         text NOT NULL,
    PRIMARY KEY (campaign_id, item_no)
);

CREATE TABLE t_findings (
    campaign_id  uuid NOT NULL,
    item_no      integer NOT NULL,
    indicators   text[] NOT NULL,
    note         text,
    inspector    text NOT NULL,
    recorded_at  timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, item_no),
    FOREIGN KEY (campaign_id, item_no) REFERENCES t_items (campaign_id, item_no)
);

-- F: the payment ledger (amounts due, employer payments to the secretariat, amounts the
-- secretariat forwarded to the NSSO), per employer, quarter and item.
CREATE TABLE f_ledger (
    id             bigserial PRIMARY KEY,
    employer_nsso  text NOT NULL,
    quarter        integer NOT NULL,
    item           text NOT NULL CHECK (item IN ('P1', 'P2', 'P3', 'BALANCE')),
    direction      text NOT NULL CHECK (direction IN ('DUE', 'EMPLOYER_PAID', 'FORWARDED')),
    amount_cents   bigint NOT NULL CHECK (amount_cents > 0),
    on_date        date NOT NULL,
    reference      text NOT NULL UNIQUE,
    recorded_at    timestamptz NOT NULL,
    recorded_by    text NOT NULL
);
CREATE INDEX f_ledger_quarter ON f_ledger (quarter, employer_nsso);

-- The catalogue versions this service has used (a known version may not change).
CREATE TABLE catalogue_versions (
    catalogue_version   text PRIMARY KEY,
    valid_from_quarter  integer NOT NULL,
    digest              text NOT NULL,
    content             jsonb NOT NULL,
    first_loaded_at     timestamptz NOT NULL
);

-- Final scores: published once per seat, domain and period, never recomputed.
CREATE TABLE final_scores (
    score_id      uuid PRIMARY KEY,
    seat_id       text NOT NULL,
    domain        text NOT NULL,
    period        text NOT NULL,
    payload       jsonb NOT NULL,
    published_at  timestamptz NOT NULL,
    UNIQUE (seat_id, domain, period)
);

-- Domain periods whose finals were published for every seat known then.
CREATE TABLE completed_periods (
    domain        text NOT NULL,
    period        text NOT NULL,
    completed_at  timestamptz NOT NULL,
    PRIMARY KEY (domain, period)
);

-- Attribution per quarter (mandate_at_quarter_end), derived from the mandates and rebuilt
-- when they changed since (registry_version counts mandate changes).
CREATE TABLE registry_version (
    id       integer PRIMARY KEY CHECK (id = 1),
    version  bigint NOT NULL
);
INSERT INTO registry_version VALUES (1, 0);

CREATE TABLE attribution (
    quarter        integer NOT NULL,
    employer_nsso  text NOT NULL,
    seat_id        text NOT NULL,
    unit           text NOT NULL,
    PRIMARY KEY (quarter, employer_nsso)
);

CREATE TABLE attribution_stamps (
    quarter           integer PRIMARY KEY,
    registry_version  bigint NOT NULL
);

-- The calendar day in Belgium of an instant: lifetimes count calendar days there.
CREATE FUNCTION local_day(instant timestamptz) RETURNS date
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT (instant AT TIME ZONE 'Europe/Brussels')::date $$;
