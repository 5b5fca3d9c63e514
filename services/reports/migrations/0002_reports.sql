-- Reports, their procedure, the acts received and sent, the deadline timers and the
-- immutable document versions (reports.md §2 to §4).

-- The secretariats and providers as the registry publishes them (registry.secretariats.v1):
-- addressee name, language, kind and approval (scope of the global evaluation).
CREATE TABLE secretariats (
    id              text PRIMARY KEY,
    kind            text NOT NULL,
    legal_name      text NOT NULL,
    language        text NOT NULL,
    seat_id         text NOT NULL,
    approved_from   date,
    withdrawn_on    date,
    deleted         boolean NOT NULL DEFAULT false,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX secretariats_seat ON secretariats (seat_id);

CREATE TABLE reports (
    id                    uuid PRIMARY KEY,
    kind                  text NOT NULL CHECK (kind IN ('DOMAIN', 'ANNUAL', 'GLOBAL')),
    -- DOMAIN: seat/domain/period; ANNUAL: seat/year; GLOBAL: year.
    natural_key           text NOT NULL UNIQUE,
    provider              text,
    provider_kind         text,
    seat                  text,
    domain                text,
    period                text NOT NULL,
    year                  int NOT NULL,
    language              text NOT NULL,
    state                 text NOT NULL,
    score                 double precision,
    final_score           double precision,
    band                  text,
    -- The score record (DOMAIN), the year result (ANNUAL) or the aggregate (GLOBAL).
    content               jsonb NOT NULL,
    draft_received_on     date,
    reaction_deadline     date,
    reaction_received_on  date,
    answer_deadline       date,
    answered_on           date,
    final_sent_on         date,
    reacted               boolean NOT NULL DEFAULT false,
    flags                 text[] NOT NULL DEFAULT '{}',
    next_due              date,
    last_version          int NOT NULL DEFAULT 0,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL
);
CREATE INDEX reports_state_due ON reports (state, next_due);
CREATE INDEX reports_provider ON reports (provider, kind, year);

-- Every transition, in order: the report's history.
CREATE TABLE report_transitions (
    id          bigserial PRIMARY KEY,
    report_id   uuid NOT NULL REFERENCES reports (id),
    event       text NOT NULL,
    from_state  text NOT NULL,
    to_state    text NOT NULL,
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    document_version int
);
CREATE INDEX report_transitions_report ON report_transitions (report_id, id);

-- What was received or sent on a report: reactions (on time or late), motivated answers,
-- concertation meetings, comments, consultation records, the annual meeting.
CREATE TABLE report_acts (
    id          bigserial PRIMARY KEY,
    report_id   uuid NOT NULL REFERENCES reports (id),
    act         text NOT NULL,
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    body        jsonb NOT NULL
);
CREATE INDEX report_acts_report ON report_acts (report_id, id);

-- Document versions are written once and never changed: a final report supersedes
-- nothing, it is a new version.
CREATE TABLE report_documents (
    report_id   uuid NOT NULL REFERENCES reports (id),
    version     int NOT NULL,
    label       text NOT NULL,
    created_at  timestamptz NOT NULL,
    language    text NOT NULL,
    html        text NOT NULL,
    pdf         bytea NOT NULL,
    sha256      text NOT NULL,
    PRIMARY KEY (report_id, version)
);

CREATE FUNCTION report_documents_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'report document versions are immutable (% %)', OLD.report_id, OLD.version;
END $$;
CREATE TRIGGER report_documents_immutable BEFORE UPDATE OR DELETE ON report_documents
    FOR EACH ROW EXECUTE FUNCTION report_documents_immutable();

-- The deadlines whose expiry acts by itself. One row per report and kind; the deadline job
-- takes the due ones (fires_at on the business clock), each under its report's row lock.
CREATE TABLE deadline_timers (
    report_id     uuid NOT NULL REFERENCES reports (id),
    kind          text NOT NULL CHECK (kind IN ('REACTION', 'ANSWER')),
    deadline      date NOT NULL,
    fires_at      timestamptz NOT NULL,
    fired_at      timestamptz,
    cancelled_at  timestamptz,
    PRIMARY KEY (report_id, kind)
);
CREATE INDEX deadline_timers_due ON deadline_timers (fires_at)
    WHERE fired_at IS NULL AND cancelled_at IS NULL;

-- Alerts to NSSO management (an overdue motivated answer).
CREATE TABLE alerts (
    id               bigserial PRIMARY KEY,
    report_id        uuid NOT NULL REFERENCES reports (id),
    kind             text NOT NULL,
    raised_at        timestamptz NOT NULL,
    detail           text NOT NULL,
    acknowledged_at  timestamptz,
    acknowledged_by  text
);
CREATE INDEX alerts_open ON alerts (raised_at) WHERE acknowledged_at IS NULL;

-- Recommendations, directives and trajectory steps attached to a final annual report.
CREATE TABLE improvement_items (
    report_id   uuid NOT NULL REFERENCES reports (id),
    n           int NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('RECOMMENDATION', 'DIRECTIVE', 'TRAJECTORY')),
    text        text NOT NULL,
    due_on      date,
    status      text NOT NULL CHECK (status IN ('OPEN', 'DONE', 'DROPPED')),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    updated_by  text NOT NULL,
    PRIMARY KEY (report_id, n)
);
