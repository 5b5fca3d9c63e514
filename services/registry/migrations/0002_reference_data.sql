-- Reference data of the register: employers, mandataries with their seat and branches,
-- mandates and their end notices, senders, workers and identification requests, plus the
-- append-only history of every change (who, when, before and after).
--
-- Valid time is carried by each entity's own dates (registered_from/to, approved_from /
-- withdrawn_on, active_from/to, valid_from/to); every check is made "as of" a date
-- against them. The tables hold the current record; `history` holds every version.

CREATE TABLE employers (
    nsso_number       char(9) PRIMARY KEY,
    enterprise_number char(10) NOT NULL,
    name              text NOT NULL,
    language          text NOT NULL CHECK (language IN ('fr', 'nl', 'de')),
    registered_from   date NOT NULL,
    registered_to     date,
    employer_classes  jsonb NOT NULL DEFAULT '[]',
    public_sector     boolean NOT NULL DEFAULT false,
    local_authority   boolean NOT NULL DEFAULT false,
    version           integer NOT NULL DEFAULT 1,
    updated_at        timestamptz NOT NULL,
    CHECK (registered_to IS NULL OR registered_to >= registered_from)
);
CREATE INDEX employers_enterprise_number ON employers (enterprise_number);

CREATE TABLE mandataries (
    id                text PRIMARY KEY,
    kind              text NOT NULL CHECK (kind IN ('APPROVED_SECRETARIAT', 'SERVICE_PROVIDER')),
    legal_name        text NOT NULL,
    enterprise_number char(10) NOT NULL,
    legal_form        text NOT NULL,
    language          text NOT NULL CHECK (language IN ('fr', 'nl', 'de')),
    approval_number   char(3),
    approved_from     date,
    withdrawn_on      date,
    version           integer NOT NULL DEFAULT 1,
    updated_at        timestamptz NOT NULL,
    -- an approved secretariat has an approval, a provider has none
    CHECK ((kind = 'APPROVED_SECRETARIAT') = (approval_number IS NOT NULL)),
    CHECK ((approval_number IS NULL) = (approved_from IS NULL)),
    CHECK (withdrawn_on IS NULL OR withdrawn_on >= approved_from)
);
CREATE UNIQUE INDEX mandataries_approval_number ON mandataries (approval_number)
    WHERE approval_number IS NOT NULL;

-- One seat per mandatary (the registered office named in the statutes).
CREATE TABLE seats (
    id           text PRIMARY KEY,
    mandatary_id text NOT NULL UNIQUE REFERENCES mandataries (id),
    address      text NOT NULL
);

-- A branch belongs to one seat.
CREATE TABLE branches (
    id              text PRIMARY KEY,
    seat_id         text NOT NULL REFERENCES seats (id),
    address         text NOT NULL,
    communicated_on date NOT NULL,
    active_from     date NOT NULL,
    active_to       date,
    CHECK (active_to IS NULL OR active_to >= active_from)
);
CREATE INDEX branches_seat ON branches (seat_id);

CREATE TABLE mandates (
    id                   text PRIMARY KEY,
    employer_nsso        char(9) NOT NULL REFERENCES employers (nsso_number),
    mandatary_id         text NOT NULL REFERENCES mandataries (id),
    affiliation_point    text NOT NULL,
    seat_id              text NOT NULL REFERENCES seats (id),
    scopes               text[] NOT NULL CHECK (cardinality(scopes) > 0),
    written_mandate_ref  text,
    signed_on            date,
    proxy_registered_on  date NOT NULL,
    valid_from           date NOT NULL,
    valid_to             date,
    notification_routing text NOT NULL CHECK (notification_routing IN ('SENDER', 'MANDATARY', 'BOTH')),
    -- the latest end notice (every notice is kept in mandate_end_notices)
    end_notified_on      date,
    end_effective        date,
    end_reason           text,
    end_late             boolean,
    version              integer NOT NULL DEFAULT 1,
    updated_at           timestamptz NOT NULL,
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX mandates_employer ON mandates (employer_nsso);
CREATE INDEX mandates_mandatary ON mandates (mandatary_id);
CREATE INDEX mandates_late ON mandates (id) WHERE end_late;

-- Every end notice as received: a late one is an inspection event.
CREATE TABLE mandate_end_notices (
    id            bigserial PRIMARY KEY,
    mandate_id    text NOT NULL REFERENCES mandates (id),
    notified_on   date NOT NULL,
    effective_end date NOT NULL,
    reason        text NOT NULL,
    late          boolean NOT NULL,
    recorded_at   timestamptz NOT NULL,
    recorded_by   text NOT NULL
);
CREATE INDEX mandate_end_notices_mandate ON mandate_end_notices (mandate_id);

CREATE SEQUENCE mandate_numbers;
CREATE SEQUENCE mandatary_numbers;

-- Sender numbers are never deleted, so never reused.
CREATE TABLE senders (
    sender_number char(6) PRIMARY KEY CHECK (sender_number ~ '^[0-9]{6}$' AND sender_number <> '000000'),
    holder        text NOT NULL,
    holder_kind   text NOT NULL CHECK (holder_kind IN ('SEAT', 'BRANCH', 'EMPLOYER')),
    mandatary_id  text REFERENCES mandataries (id),
    seat_id       text REFERENCES seats (id),
    employer_nsso char(9) REFERENCES employers (nsso_number),
    environments  text[] NOT NULL CHECK (cardinality(environments) > 0),
    certificate   text,
    active        boolean NOT NULL DEFAULT true,
    version       integer NOT NULL DEFAULT 1,
    updated_at    timestamptz NOT NULL,
    CHECK ((holder_kind = 'EMPLOYER') = (employer_nsso IS NOT NULL)),
    CHECK ((holder_kind = 'EMPLOYER') = (mandatary_id IS NULL))
);
CREATE INDEX senders_mandatary ON senders (mandatary_id);
CREATE INDEX senders_employer ON senders (employer_nsso);
CREATE SEQUENCE sender_numbers MINVALUE 1 MAXVALUE 999999 NO CYCLE;

CREATE TABLE workers (
    inss           char(11) PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('NN', 'BIS')),
    family_name    text NOT NULL,
    given_name     text NOT NULL,
    birth_date     date,
    sex            char(1) CHECK (sex IN ('M', 'F')),
    nationality    text,
    address        text,
    flexi_eligible boolean NOT NULL,
    replaced_by    char(11),
    version        integer NOT NULL DEFAULT 1,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX workers_identity ON workers (birth_date, lower(family_name));

CREATE TABLE identification_requests (
    id           text PRIMARY KEY,
    requested_by text NOT NULL,
    reference    text NOT NULL,
    family_name  text NOT NULL,
    given_name   text NOT NULL,
    birth_date   date,
    sex          char(1),
    nationality  text,
    declared_insz char(11),  -- the INSZ the asker had, when the register did not know it
    requested_at timestamptz NOT NULL,
    due_at       timestamptz NOT NULL,
    status       text NOT NULL CHECK (status IN ('PENDING', 'RESOLVED')),
    outcome      text CHECK (outcome IN ('FOUND', 'CREATED', 'NOT_FOUND')),
    insz         char(11),
    reason       text,
    resolved_at  timestamptz,
    resolved_by  text,
    UNIQUE (requested_by, reference)
);
CREATE INDEX identification_requests_due ON identification_requests (due_at)
    WHERE status = 'PENDING';

-- Append-only audit: one row per version of an entity.
CREATE TABLE history (
    id          bigserial PRIMARY KEY,
    entity      text NOT NULL CHECK (entity IN ('employer', 'mandatary', 'mandate', 'sender', 'worker')),
    entity_id   text NOT NULL,
    version     integer NOT NULL,
    operation   text NOT NULL,
    changed_at  timestamptz NOT NULL,  -- business time
    recorded_at timestamptz NOT NULL DEFAULT now(),  -- wall time
    changed_by  text NOT NULL,
    before      jsonb,
    after       jsonb NOT NULL,
    UNIQUE (entity, entity_id, version)
);

CREATE FUNCTION history_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'history is append-only: % refused', TG_OP;
END $$;

CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON history
    FOR EACH ROW EXECUTE FUNCTION history_is_append_only();
CREATE TRIGGER history_no_truncate BEFORE TRUNCATE ON history
    FOR EACH STATEMENT EXECUTE FUNCTION history_is_append_only();
