"""Modifications applied to the stored declaration, and the lifetime of anomalies (dmfa.md
§6).

Every P/NP anomaly instance is keyed by (EmployerDeclarationPID, path, rule). An accepted
modification (or ex-officio correction) re-runs the rules on the lines it touches; an open
instance in that scope whose key no longer comes out is *resolved*, a new key *opens* an
instance, and an instance outside the scope stays as it is. Pure functions over values: the
handler loads the open instances and the stored lines and writes what these functions say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from socsec.dmfa.domain.model import (
    Anomaly,
    Declaration,
    StoredDeclaration,
    StoredLine,
    Subject,
    UpdateAction,
    WorkerRecord,
)

LineKey = tuple[str, str, str]  # (INSZ, employer class, worker code)


@dataclass(frozen=True, slots=True)
class LineChange:
    """What a modification does to one worker line."""

    inss: str
    action: UpdateAction
    old: StoredLine | None
    new: WorkerRecord | None


def plan_modification(stored: StoredDeclaration, d: Declaration) -> list[LineChange]:
    """The line changes of an accepted modification, in the order it lists them (lines
    marked unchanged, 9, are left out)."""
    changes: list[LineChange] = []
    for person in d.persons:
        for record in person.records:
            action = record.action
            if action is None or action == UpdateAction.UNCHANGED:
                continue
            old = None
            if record.last is not None:
                old = stored.lines.get(
                    (person.inss, record.last.employer_class, record.last.worker_code)
                )
            new = None if action == UpdateAction.DELETED else record
            changes.append(LineChange(person.inss, action, old, new))
    return changes


def resulting_lines(
    stored: StoredDeclaration, changes: list[LineChange]
) -> list[tuple[str, WorkerRecord]]:
    """Every current worker line of the declaration once the changes are applied."""
    replaced = {
        (c.old.inss, c.old.employer_class, c.old.worker_code) for c in changes if c.old is not None
    }
    lines = [(line.inss, line.record) for key, line in stored.lines.items() if key not in replaced]
    lines += [(c.inss, c.new) for c in changes if c.new is not None]
    return lines


@dataclass(frozen=True, slots=True)
class Scope:
    """What a modification re-evaluated: every employer-level rule, the persons whose lines
    changed and the lines it replaced, deleted or created."""

    persons: frozenset[str]
    lines: frozenset[LineKey]

    def covers(self, subject: Subject, inss: str | None, line: LineKey | None) -> bool:
        """Whether an open instance about this subject was judged again."""
        if subject == Subject.EMPLOYER:
            return True
        if subject == Subject.INSZ:
            return inss in self.persons
        return line in self.lines


def scope_of(changes: list[LineChange]) -> Scope:
    """What the rules re-evaluated for a modification: its persons and lines, old and new."""
    lines: set[LineKey] = set()
    for c in changes:
        if c.old is not None:
            lines.add((c.old.inss, c.old.employer_class, c.old.worker_code))
        if c.new is not None:
            lines.add((c.inss, c.new.employer_class, c.new.worker_code))
    return Scope(frozenset(c.inss for c in changes), frozenset(lines))


@dataclass(frozen=True, slots=True)
class OpenInstance:
    """An open anomaly instance of the stored declaration."""

    id: str
    key: str
    subject: Subject
    inss: str | None
    employer_class: str | None
    worker_code: str | None
    opened_at: datetime

    @property
    def line(self) -> LineKey | None:
        if self.inss and self.employer_class and self.worker_code:
            return (self.inss, self.employer_class, self.worker_code)
        return None


@dataclass(frozen=True, slots=True)
class LifetimeChanges:
    """Instances to resolve and anomalies that open a new instance."""

    resolved: tuple[OpenInstance, ...]
    opened: tuple[Anomaly, ...]
    kept: tuple[Anomaly, ...]  # found again while already open


def lifetime_changes(
    open_instances: list[OpenInstance], found: tuple[Anomaly, ...], scope: Scope | None
) -> LifetimeChanges:
    """Compare the open instances with the anomalies of an accepted declaration. ``scope``
    is ``None`` for an original (nothing open before, everything found opens)."""
    trackable = [a for a in found if not a.blocking]
    open_keys = {i.key for i in open_instances}
    found_keys = {a.key for a in trackable}
    resolved = tuple(
        i
        for i in open_instances
        if scope is not None and i.key not in found_keys and scope.covers(i.subject, i.inss, i.line)
    )
    opened, kept, seen = [], [], set()
    for a in trackable:
        if a.key in seen:
            continue
        seen.add(a.key)
        (kept if a.key in open_keys else opened).append(a)
    return LifetimeChanges(resolved, tuple(opened), tuple(kept))


def lifetime_days(opened_at: datetime, resolved_at: datetime) -> int:
    """Calendar days an instance stayed open (barometer.md §4: resolved − opened)."""
    return (resolved_at.date() - opened_at.date()).days
