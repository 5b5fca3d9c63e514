-- A BIS number replaced by a national register number (registry.workers.v1, WorkerChanged
-- with replaced_by): the read models are re-keyed to the new INSZ, and a period or worker
-- line that still arrives under the old one later is kept under the new one
-- (crosscheck.md §3, worker-register INSZ change).
CREATE TABLE insz_replacements (
    old_insz     text        PRIMARY KEY,
    new_insz     text        NOT NULL,
    replaced_at  timestamptz NOT NULL
);
