-- Ad-hoc extensions of the DmfA deadline granted by the NSSO for a quarter to a set of
-- employers (dmfa.md §8, "ad-hoc extensions (per quarter and employer set)"; the registry's
-- dmfa_deadline_extensions, registry.md §1). The applicable deadline of such an employer is
-- the later of its usual deadline and the extension.
CREATE TABLE deadline_extensions (
    employer_nsso  text        NOT NULL,
    quarter        integer     NOT NULL,
    extended_to    date        NOT NULL,
    reason         text        NOT NULL,
    granted_by     text        NOT NULL,
    granted_at     timestamptz NOT NULL,
    PRIMARY KEY (employer_nsso, quarter)
);
CREATE INDEX deadline_extensions_quarter ON deadline_extensions (quarter);
