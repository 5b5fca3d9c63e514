"""Bulk import of reference data, through the same handlers as the REST API.

Formats (documented in ``docs/services/registry.md``):

- **JSON**: one object whose keys are the kinds, each a list of entries shaped like the
  body of the matching ``POST /registry/v1/...`` route::

      {"employers": [...], "mandataries": [...], "branches": [...], "mandates": [...],
       "senders": [...], "workers": [...]}

- **CSV**: one kind per file, a header line of field names; the kind comes from
  ``--kind`` or from the file name (``employers.csv``, ``2024-mandates.csv``). Empty cells
  are absent values; lists (``scopes``, ``environments``) are separated by ``|``;
  nested values are flattened (see :data:`CSV_COLUMNS`).

Every entry is an upsert: created when missing, replaced when different, left alone when
equal, so importing the same file twice changes nothing the second time (no history row,
no event). Ids are required in a file (``id`` of mandataries and mandates,
``sender_number`` of senders), otherwise a second import could not recognise them. The
whole file is applied in the caller's one transaction: a refused entry refuses the file.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from pydantic import BaseModel, ValidationError

from socsec.registry import handlers
from socsec.registry.domain.commands import (
    BranchInput,
    IssueSender,
    RegisterEmployer,
    RegisterMandatary,
    RegisterMandate,
    RegisterWorker,
)
from socsec.registry.domain.errors import RegistryError
from socsec.registry.handlers import Context, Mode

#: The kinds in the order they are applied (what an entry refers to comes first).
KINDS = ("employers", "mandataries", "branches", "mandates", "senders", "workers")

#: For each kind, the field that names an entry and must be present in a file.
ID_FIELDS = {
    "employers": "nsso_number",
    "mandataries": "id",
    "branches": "id",
    "mandates": "id",
    "senders": "sender_number",
    "workers": "inss",
}

#: The CSV columns of each kind (flattened names for nested values).
CSV_COLUMNS = {
    "employers": (
        "nsso_number, enterprise_number, name, language, registered_from, registered_to, "
        "employer_classes (class:from_quarter[:to_quarter]|...), public_sector, local_authority"
    ),
    "mandataries": (
        "id, kind, legal_name, enterprise_number, legal_form, language, approval_number, "
        "approved_from, withdrawn_on, seat_id, seat_address"
    ),
    "branches": "mandatary_id, id, seat_id, address, communicated_on, active_from, active_to",
    "mandates": (
        "id, employer_nsso, mandatary_id, affiliation_point, scopes (A|B), "
        "written_mandate_ref, signed_on, proxy_registered_on, valid_from, valid_to, "
        "notification_routing"
    ),
    "senders": "sender_number, holder, environments (R|T|S), certificate, active",
    "workers": (
        "inss, family_name, given_name, birth_date, sex, nationality, address, "
        "flexi_eligible, replaced_by"
    ),
}


class ImportFailed(Exception):
    """An entry of the file was refused; nothing of the file was kept."""


@dataclass
class ImportReport:
    """How many entries of each kind were created, updated or left unchanged."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, kind: str, change: handlers.Change) -> None:
        self.counts.setdefault(kind, Counter())[change.value.lower()] += 1

    @property
    def changed(self) -> int:
        return sum(c["created"] + c["updated"] for c in self.counts.values())

    def as_rows(self) -> list[tuple[str, int, int, int]]:
        return [
            (kind, c["created"], c["updated"], c["unchanged"])
            for kind in KINDS
            if (c := self.counts.get(kind)) is not None
        ]


# -- reading files -----------------------------------------------------------------------


def kind_from_name(path: Path) -> str | None:
    """The kind a CSV file name announces (``employers.csv``, ``2024_mandates.csv``)."""
    words = re.split(r"[^a-z]+", path.stem.lower())
    found = [w for w in words if w in KINDS]
    return found[-1] if found else None


def _list(cell: str) -> list[str]:
    return [part for part in re.split(r"[|,;\s]+", cell) if part]


def _classes(cell: str) -> list[dict[str, Any]]:
    out = []
    for part in _list(cell):
        pieces = part.split(":")
        if len(pieces) not in (2, 3):
            raise ValueError(f"employer class {part!r} is not class:from_quarter[:to_quarter]")
        entry: dict[str, Any] = {"employer_class": pieces[0], "from_quarter": pieces[1]}
        if len(pieces) == 3 and pieces[2]:
            entry["to_quarter"] = pieces[2]
        out.append(entry)
    return out


def _csv_entry(kind: str, row: dict[str, str]) -> dict[str, Any]:
    """One CSV row as the JSON entry of its kind."""
    cells = {k.strip(): v.strip() for k, v in row.items() if k and v is not None and v.strip()}
    if kind == "employers" and "employer_classes" in cells:
        cells["employer_classes"] = _classes(cells.pop("employer_classes"))  # type: ignore[assignment]
    if kind == "mandates" and "scopes" in cells:
        cells["scopes"] = _list(cells["scopes"])  # type: ignore[assignment]
    if kind == "senders" and "environments" in cells:
        cells["environments"] = _list(cells["environments"])  # type: ignore[assignment]
    if kind == "mandataries":
        entry: dict[str, Any] = {
            k: v for k, v in cells.items() if not k.startswith(("approval_", "seat_"))
        }
        entry.pop("approved_from", None)
        entry.pop("withdrawn_on", None)
        if "approval_number" in cells:
            entry["approval"] = {
                "number": cells["approval_number"],
                "approved_from": cells.get("approved_from"),
                **({"withdrawn_on": cells["withdrawn_on"]} if "withdrawn_on" in cells else {}),
            }
        entry["seat"] = {"id": cells.get("seat_id"), "address": cells.get("seat_address")}
        return entry
    return dict(cells)


def read_file(path: Path, kind: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """The entries of a JSON or CSV file by kind (nothing is validated yet)."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ImportFailed(f"{path.name}: a JSON import is an object {{kind: [entries]}}")
        unknown = set(data) - set(KINDS)
        if unknown:
            raise ImportFailed(
                f"{path.name}: unknown kinds {sorted(unknown)}; expected {', '.join(KINDS)}"
            )
        if kind is not None:
            data = {kind: data.get(kind, [])}
        return {k: list(v) for k, v in data.items()}
    if path.suffix.lower() == ".csv":
        kind = kind or kind_from_name(path)
        if kind is None or kind not in KINDS:
            raise ImportFailed(
                f"{path.name}: say which kind the CSV holds with --kind or in its name "
                f"({', '.join(KINDS)})"
            )
        rows = csv.DictReader(io.StringIO(text))
        return {kind: [_csv_entry(kind, row) for row in rows]}
    raise ImportFailed(f"{path.name}: only .json and .csv files are imported")


# -- applying entries --------------------------------------------------------------------


def _where(kind: str, index: int, entry: Any) -> str:
    name = entry.get(ID_FIELDS[kind]) if isinstance(entry, dict) else None
    return f"{kind}[{index}]" + (f" ({name})" if name and kind != "workers" else "")


def _parse(model: type[BaseModel], kind: str, index: int, entry: Any) -> Any:
    try:
        return model.model_validate(entry)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(entry)'}: {err['msg']}"
            for err in exc.errors(include_url=False)
        )
        raise ImportFailed(f"{_where(kind, index, entry)}: {problems}") from None


async def _branch(entry: dict[str, Any], conn: asyncpg.Connection, ctx: Context) -> Any:
    entry = dict(entry)
    mandatary_id = entry.pop("mandatary_id", None)
    if not mandatary_id:
        raise ValueError("mandatary_id is required")
    return await handlers.add_branch(mandatary_id, BranchInput.model_validate(entry), conn, ctx)


_APPLY: dict[str, tuple[type[BaseModel] | None, Callable[..., Any]]] = {
    "employers": (RegisterEmployer, handlers.register_employer),
    "mandataries": (RegisterMandatary, handlers.register_mandatary),
    "mandates": (RegisterMandate, handlers.register_mandate),
    "senders": (IssueSender, handlers.issue_sender),
    "workers": (RegisterWorker, handlers.register_worker),
}


async def import_entries(
    data: dict[str, Iterable[dict[str, Any]]], conn: asyncpg.Connection, ctx: Context
) -> ImportReport:
    """Apply every entry, kind by kind, in the caller's transaction; return the counts.

    Raises :class:`ImportFailed` naming the first entry refused (with the field and the
    rule): the caller's transaction must then be rolled back.
    """
    report = ImportReport()
    for kind in KINDS:
        for index, entry in enumerate(data.get(kind, ())):
            where = _where(kind, index, entry)
            if not isinstance(entry, dict) or not entry.get(ID_FIELDS[kind]):
                raise ImportFailed(f"{where}: {ID_FIELDS[kind]} is required in an import")
            try:
                if kind == "branches":
                    saved = await _branch(entry, conn, ctx)
                else:
                    model, handler = _APPLY[kind]
                    assert model is not None
                    command = _parse(model, kind, index, entry)
                    saved = await handler(command, conn, ctx, Mode.UPSERT)
            except RegistryError as exc:
                field_name = f" {exc.field}:" if exc.field else ""
                raise ImportFailed(f"{where}:{field_name} {exc.message} [{exc.code}]") from None
            except (ValidationError, ValueError) as exc:
                raise ImportFailed(f"{where}: {exc}") from None
            report.add(kind, saved.change)
    return report
