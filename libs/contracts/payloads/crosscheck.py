"""Payloads of the crosscheck service's topic ``crosscheck.anomalies.v1`` (key: employer NSSO
number).

Each mismatch instance of a triple (employer, INSZ, quarter) between the Dimona personnel
file and the accepted DmfA is published once when it opens and once when it is resolved
(crosscheck.md §3). These feed domain C of the quality barometer (contrôles croisés /
kruiscontroles): the seat the employer counts for is carried, as attributed at the end of
the quarter (``mandate_at_quarter_end``, barometer.md §2).

``CrosscheckYearCounted`` (one per seat after each yearly recomputation) is keyed by the
seat id (``NO_SEAT`` for employers without a DmfA mandate); a later run of the same year
supersedes the earlier counts.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from socsec.contracts.events import register
from socsec.contracts.identifiers import NssoNumber, Quarter

_FROZEN = ConfigDict(extra="forbid", frozen=True)

_RULE = "^C[1-6]$"
_CODE = r"^\d{5}-\d{3}$"
_INSZ = r"^\d{11}$"


class RuleCount(BaseModel):
    """A failing rule of the triple and how often it failed."""

    model_config = _FROZEN
    rule: str = Field(pattern=_RULE, description="C1 to C6 (crosscheck.md §2).")
    count: int = Field(
        ge=1,
        description="Findings: failing occupations (C3, C4), failing worker-type "
        "correspondences (C5), failing quantities (C6); 1 for C1 and C2.",
    )


class CrosscheckMismatchOpened(BaseModel):
    """A re-evaluation found a triple failing that had no open instance."""

    model_config = _FROZEN
    mismatch_id: UUID = Field(description="Stable id of the instance.")
    employer_nsso: NssoNumber
    insz: str = Field(pattern=_INSZ, description="The worker (never logged in clear).")
    quarter: Quarter
    rules: tuple[RuleCount, ...] = Field(min_length=1, description="The failing rules.")
    codes: tuple[str, ...] = Field(
        default=(),
        description="Official codes the findings raise in a NOTI (90007-262, 90007-263, "
        "90015-456, 90015-485, 90017-429, 90017-502, 90017-504); C3 outside flexi and C4 "
        "have none.",
    )
    opened_at: datetime = Field(description="Business time of the re-evaluation.")
    opened_by: str = Field(
        pattern="^(DIMONA|DMFA_ORIGINAL|DMFA_UPDATE|EX_OFFICIO|WORKER_REGISTER)$",
        description="What caused the re-evaluation that found it (WORKER_REGISTER: a BIS "
        "number replaced by a national register number).",
    )
    secretariat: str | None = Field(
        default=None, description="Mandatary holding the employer's DmfA mandate at quarter end."
    )
    seat: str | None = Field(
        default=None, description="The seat the employer counts for (None: no DmfA mandate)."
    )


class CrosscheckMismatchResolved(BaseModel):
    """A re-evaluation found a triple with an open instance consistent again (or gone)."""

    model_config = _FROZEN
    mismatch_id: UUID
    employer_nsso: NssoNumber
    insz: str = Field(pattern=_INSZ)
    quarter: Quarter
    rules: tuple[RuleCount, ...] = Field(
        min_length=1, description="The rules that were failing when last evaluated open."
    )
    codes: tuple[str, ...] = ()
    opened_at: datetime
    resolved_at: datetime
    resolved_by: str = Field(
        pattern="^(DIMONA|DMFA_UPDATE|EX_OFFICIO|WORKER_REGISTER)$",
        description="The side whose correction made it consistent: a Dimona declaration, "
        "a DmfA modification, an ex-officio correction, or the worker register (a BIS "
        "number replaced by a national register number: the triple of the old number is "
        "gone, its data judged under the new one).",
    )
    lifetime_days: int = Field(ge=0, description="Calendar days (Brussels) open.")
    lifetime_seconds: int = Field(ge=0)
    secretariat: str | None = None
    seat: str | None = None


class CrosscheckYearCounted(BaseModel):
    """The yearly recomputation counted the triples of one seat (barometer domain C)."""

    model_config = _FROZEN
    year: int = Field(ge=2000, le=2100)
    seat: str | None = Field(description="The seat (None: employers without a DmfA mandate).")
    secretariat: str | None = Field(default=None, description="The mandatary of the seat.")
    employers: int = Field(ge=0, description="Employers with at least one triple.")
    triples: int = Field(ge=0, description="Triples (employer, INSZ, quarter) of the year.")
    mismatching: int = Field(ge=0, description="Triples failing at least one rule.")
    rules: tuple[RuleCount, ...] = Field(
        default=(), description="Mismatching triples per failing rule (rules with none left out)."
    )
    computed_at: datetime = Field(description="Business time of the yearly run.")


register(
    event_type="CrosscheckMismatchOpened",
    topic="crosscheck.anomalies.v1",
    model=CrosscheckMismatchOpened,
    description="A Dimona-DmfA mismatch of a triple (employer, INSZ, quarter) was found, with "
    "its failing rules, counts and official codes.",
)
register(
    event_type="CrosscheckMismatchResolved",
    topic="crosscheck.anomalies.v1",
    model=CrosscheckMismatchResolved,
    description="A Dimona-DmfA mismatch was resolved by a Dimona declaration, a DmfA "
    "modification or an ex-officio correction, with its lifetime.",
)
register(
    event_type="CrosscheckYearCounted",
    topic="crosscheck.anomalies.v1",
    model=CrosscheckYearCounted,
    description="The yearly recomputation's counts for one seat: triples, mismatching triples "
    "and per rule (the denominators of barometer domain C).",
)
