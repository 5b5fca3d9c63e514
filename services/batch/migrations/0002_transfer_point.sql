-- The transfer point: received files and their sets, tickets, the register of used names,
-- the forms published and their results, and the outgoing ACRF and NOTI files.

-- Tickets are this sequence's values in base 36 (socsec.batch.domain.names.ticket).
CREATE SEQUENCE ticket_seq START WITH 1;

-- File contents, received or written, in pieces: a file of any size is stored and read
-- back a piece at a time.
CREATE SEQUENCE blob_seq START WITH 1;
CREATE TABLE blob_chunks (
    blob_id  bigint  NOT NULL,
    seq      integer NOT NULL,
    data     bytea   NOT NULL,
    PRIMARY KEY (blob_id, seq)
);

-- A set: the FI, FS and GO files sharing elements 2-6 of their names (set_key), or one
-- file whose name could not be read at all (set_key NULL, refused at once).
CREATE TABLE file_sets (
    id              bigserial PRIMARY KEY,
    sender          text        NOT NULL,   -- whose folder the answers go to
    set_key         text,
    file_type       text,
    environment     text        NOT NULL,   -- of the answers: R, T or S
    status          text        NOT NULL CHECK (status IN (
                        'OPEN',          -- files arriving, no GO yet
                        'CANCELLED',     -- a TD came before the GO
                        'TRIGGERED',     -- GO received, ACRF being made
                        'REFUSED',       -- ACRF 0: nothing is processed
                        'ACKNOWLEDGED',  -- ACRF 1 and nothing to publish (environment T)
                        'ACCEPTED',      -- ACRF 1, forms being published
                        'PUBLISHED',     -- every form published, results coming back
                        'NOTIFIED')),    -- every form's final result written in a NOTI
    ticket          text UNIQUE,
    go_name         text,
    channel         text        NOT NULL,   -- HTTP or FOLDER
    uploaded_by     text,                   -- organisation of the token (HTTP)
    deliver         boolean     NOT NULL DEFAULT true,  -- answers go to the sender's folder
    opened_at       timestamptz NOT NULL,   -- business time of the first file
    triggered_at    timestamptz,            -- business time of the GO
    acknowledged_at timestamptz,
    acrf_errors     text[]      NOT NULL DEFAULT '{}',
    form_count      integer,
    published       integer     NOT NULL DEFAULT 0,  -- forms published so far (resume point)
    refusal_detail  text,                   -- why the content was refused, for inspection
    notified_at     timestamptz
);
CREATE UNIQUE INDEX file_sets_one_open ON file_sets (sender, set_key) WHERE status = 'OPEN';
CREATE INDEX file_sets_by_key ON file_sets (sender, set_key, id);
CREATE INDEX file_sets_pending ON file_sets (status, id)
    WHERE status IN ('OPEN', 'TRIGGERED', 'ACCEPTED', 'PUBLISHED');

CREATE TABLE received_files (
    id           bigserial PRIMARY KEY,
    set_id       bigint      REFERENCES file_sets (id),  -- NULL: an ignored TD
    name         text        NOT NULL,
    prefix       text,
    parts_total  integer,
    part_index   integer,
    name_errors  text[]      NOT NULL DEFAULT '{}',
    channel      text        NOT NULL,
    folder       text,
    size         bigint      NOT NULL,
    sha256       text        NOT NULL,
    blob_id      bigint      NOT NULL,
    arrival_key  text UNIQUE,            -- a file taken from a folder is stored once
    superseded   boolean     NOT NULL DEFAULT false,  -- the same name came again before GO
    received_at  timestamptz NOT NULL
);
CREATE INDEX received_files_by_set ON received_files (set_id);

-- The permanent register of used names (batch.md §5): elements 2-6 per sender.
CREATE TABLE used_names (
    sender      text        NOT NULL,
    set_key     text        NOT NULL,
    ticket      text        NOT NULL,
    used_at     timestamptz NOT NULL,
    PRIMARY KEY (sender, set_key)
);

-- The forms published, with what their NOTI form echoes.
CREATE TABLE forms (
    ticket    text    NOT NULL,
    position  integer NOT NULL,
    employer  text,
    echo      jsonb   NOT NULL,
    PRIMARY KEY (ticket, position)
);

-- Each form's result as notified by dimona or dmfa (the latest, final wins).
CREATE TABLE form_results (
    ticket       text        NOT NULL,
    position     integer     NOT NULL,
    source       text        NOT NULL,   -- event type
    final        boolean     NOT NULL,
    result       text        NOT NULL,
    payload      jsonb       NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    reported     text CHECK (reported IN ('PA', 'FA')),  -- how a NOTI file answered it
    PRIMARY KEY (ticket, position)
);
CREATE INDEX form_results_unreported ON form_results (ticket)
    WHERE reported IS DISTINCT FROM 'FA';

-- Outgoing sequence numbers, unique per date and environment.
CREATE TABLE out_counters (
    day          date    NOT NULL,
    environment  text    NOT NULL,
    last         integer NOT NULL,
    PRIMARY KEY (day, environment)
);

-- Outgoing files (FO.ACRF..., FO.NOTI...); each has an empty GO companion of the same
-- elements, written after it.
CREATE TABLE out_files (
    id            bigserial PRIMARY KEY,
    name          text        NOT NULL UNIQUE,
    kind          text        NOT NULL CHECK (kind IN ('ACRF', 'NOTI')),
    set_id        bigint      NOT NULL REFERENCES file_sets (id),
    sender        text        NOT NULL,
    environment   text        NOT NULL,
    blob_id       bigint      NOT NULL,
    size          bigint      NOT NULL,
    forms         integer,
    created_at    timestamptz NOT NULL,
    delivered_at  timestamptz            -- written to the sender's OUT or OUTTEST folder
);
CREATE INDEX out_files_by_set ON out_files (set_id);
CREATE INDEX out_files_undelivered ON out_files (id) WHERE delivered_at IS NULL;
