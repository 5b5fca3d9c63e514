-- The answers to DmfA files: NOTI forms from dmfa.notifications.v1 (form_results, as for
-- Dimona) and the PID file (FO.DPID...) of the accepted originals of a file.

ALTER TABLE out_files DROP CONSTRAINT out_files_kind_check;
ALTER TABLE out_files ADD CONSTRAINT out_files_kind_check
    CHECK (kind IN ('ACRF', 'NOTI', 'DPID'));

-- Accepted originals of a batch file whose worker lines (with their PIDs) come in several
-- events (DmfaDeclarationNotified then DmfaWorkerLinesNotified parts 2..n).
CREATE TABLE dmfa_pid_declarations (
    declaration_ticket  text    PRIMARY KEY,  -- the DmfA declaration's ticket
    ticket              text    NOT NULL,     -- the batch file's
    position            integer NOT NULL,
    parts               integer NOT NULL CHECK (parts >= 2)
);
CREATE INDEX dmfa_pid_declarations_by_ticket ON dmfa_pid_declarations (ticket);

CREATE TABLE dmfa_pid_parts (
    declaration_ticket  text    NOT NULL REFERENCES dmfa_pid_declarations,
    part                integer NOT NULL,
    PRIMARY KEY (declaration_ticket, part)
);

-- One row per worker line: what the PID form says of it (person PIDs, codes, versions).
CREATE TABLE dmfa_pid_lines (
    declaration_ticket  text    NOT NULL REFERENCES dmfa_pid_declarations,
    part                integer NOT NULL,
    idx                 integer NOT NULL,
    inss                text    NOT NULL,
    facts               jsonb   NOT NULL,
    PRIMARY KEY (declaration_ticket, part, idx)
);
