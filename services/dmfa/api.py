"""The DmfA REST API (``/dmfa/v1``): declarations, their results and PIDs, anomalies and
silent employers.

A declaration posted here is the same content as a batch ``Form`` in JSON (dmfa.md §1) and
is handled by the same code as a batch form, in the request's transaction: the answer
carries the result at once. Refusals are answers (201 with result REFUSED and the
anomalies); 400 is for a body that is not a declaration at all, 403 for a declarant without
a DmfA mandate for the employer (registry.md §5).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from socsec.contracts.identifiers import digits
from socsec.contracts.payloads.registry import Scope
from socsec.dmfa import handlers
from socsec.dmfa import repository as repo
from socsec.dmfa.domain.json_form import BadBody, form_from_json
from socsec.dmfa.domain.model import Origin
from socsec.dmfa.domain.quarters import is_quarter, legal_due_date, parse_quarter
from socsec.kit.auth import (
    DMFA_CONSULT_SCOPE,
    DMFA_DECLARANT_SCOPE,
    INSPECTION_SCOPE,
    OPERATOR_SCOPE,
    Principal,
    require_any_scope,
    require_scopes,
)
from socsec.kit.clock import BRUSSELS
from socsec.kit.http import get_runtime, next_page_url
from socsec.kit.runtime import ServiceRuntime

BASE = "/dmfa/v1"
MAX_PAGE_SIZE = 500

router = APIRouter(prefix=BASE, tags=["dmfa v1"])
DeclarantAuth = Depends(require_scopes(DMFA_DECLARANT_SCOPE))
ConsultAuth = Depends(require_scopes(DMFA_CONSULT_SCOPE))
InspectionAuth = Depends(require_scopes(INSPECTION_SCOPE))

#: Who may read everything: the NSSO's inspection and operators.
NSSO_SCOPES = (INSPECTION_SCOPE, OPERATOR_SCOPE)


NssoAuth = Depends(require_any_scope(*NSSO_SCOPES))


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"title": title, "status": status, "detail": detail, **extra},
        status,
        media_type="application/problem+json",
    )


def _deps(runtime: ServiceRuntime) -> handlers.Deps:
    return runtime.state["dmfa_deps"]


def _href(request: Request, path: str) -> str:
    return f"{str(request.base_url).rstrip('/')}{BASE}{path}"


def _nsso(principal: Principal) -> bool:
    return any(principal.has_scope(s) for s in NSSO_SCOPES)


def _employer_of(runtime: ServiceRuntime, block: dict[str, Any]) -> str | None:
    """The registered employer a body names (NSSO number first, then enterprise number)."""
    authz = runtime.authorizer
    try:
        nsso = digits(block.get("NOSSRegistrationNbr") or "", 9)
        if nsso.strip("0") and nsso in authz.employers:
            return nsso
        company = digits(block.get("CompanyID") or "", 10)
        if company.strip("0"):
            return authz.by_enterprise.get(company)
    except (TypeError, ValueError):
        return None
    return None


_POST_RESPONSES: dict[int | str, dict[str, Any]] = {
    201: {"description": "Handled; the body holds the result, anomalies and PIDs"},
    400: {"description": "The body is not a DmfA declaration"},
    401: {"description": "No or invalid token"},
    403: {"description": "Scope missing or no DmfA mandate for the employer"},
}


@router.post(
    "/declarations",
    status_code=201,
    summary="Declare a DmfA original or modification (handled at once)",
    responses=_POST_RESPONSES,
)
async def post_declaration(
    request: Request,
    principal: Principal = DeclarantAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    return await _declare(request, principal, runtime, ex_officio=False)


@router.post(
    "/ex-officio/declarations",
    status_code=201,
    summary="An ex-officio declaration or correction by the NSSO inspection (dmfa.md §9)",
    responses=_POST_RESPONSES,
)
async def post_ex_officio(
    request: Request,
    principal: Principal = InspectionAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    return await _declare(request, principal, runtime, ex_officio=True)


async def _declare(
    request: Request, principal: Principal, runtime: ServiceRuntime, *, ex_officio: bool
) -> JSONResponse:
    """The one REST path of a declaration: the body becomes the batch ``Form`` element and
    goes through the same handler as a batch form, in the request's transaction. Ex-officio
    declarations skip the mandate and deadline checks."""
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        return problem(400, "Bad Request", "The body is not valid JSON")
    deps = _deps(runtime)
    received_at = runtime.clock.now()
    try:
        file_type, form = form_from_json(body, received_at=received_at.astimezone(BRUSSELS))
    except BadBody as exc:
        return problem(400, "Bad Request", str(exc))
    block = body.get("EmployerDeclaration") or body.get("EmployerDeclarationUpdate")
    if not isinstance(block, dict):
        return problem(400, "Bad Request", "The employer declaration must be a JSON object")
    employer = _employer_of(runtime, block)
    quarter = str(block.get("Quarter", "")).strip()
    if (
        not ex_officio
        and employer is not None
        and quarter.isdigit()
        and is_quarter(int(quarter))
        and not handlers.may_declare(
            runtime.authorizer,
            principal.organisation,
            employer,
            int(quarter),
            received_at.astimezone(BRUSSELS).date(),
        )
    ):
        return problem(403, "Forbidden", f"No valid DmfA mandate for employer {employer}")
    submission = handlers.Submission(
        file_type=file_type,
        form=form,
        channel="REST",
        declarant=principal.organisation,
        received_at=received_at,
        origin=Origin.EX_OFFICIO if ex_officio else Origin.DECLARANT,
        form_text=json.dumps(body),
    )
    async with runtime.db.transaction() as conn:
        handled = await handlers.handle(conn, deps, submission)
        assert handled is not None  # only a batch form can be a duplicate
        row = await repo.declaration_by_ticket(conn, handled.ticket)
        pids = await _pids(conn, row)
    return JSONResponse(
        declaration_body(request, row, pids),
        status_code=201,
        headers={"Location": _href(request, f"/declarations/{handled.ticket}")},
    )


async def _pids(conn: Any, row: Any) -> dict[str, Any] | None:
    """What a later modification must quote: the current PIDs and versions of the employer
    declaration an accepted declaration (environment R) belongs to."""
    if row["result_code"] != 1 or row["environment"] != "R" or not row["employer_declaration_pid"]:
        return None
    return await repo.current_pids(conn, row["employer_declaration_pid"])


def declaration_body(request: Request, row: Any, pids: dict[str, Any] | None) -> dict[str, Any]:
    summary = json.loads(row["summary_text"])
    return {
        "ticket": row["ticket"],
        "href": _href(request, f"/declarations/{row['ticket']}"),
        "kind": row["kind"],
        "fileType": "DMFA" if row["kind"] == "ORIGINAL" else "DMWA",
        "origin": row["origin"],
        "channel": row["channel"],
        "environment": row["environment"],
        "employer": {"nsso": row["employer_nsso"], "companyId": row["company_id"]},
        "quarter": row["quarter"],
        "receivedAt": row["received_at"].isoformat(),
        "processedAt": row["processed_at"].isoformat(),
        "result": "ACCEPTED" if row["result_code"] == 1 else "REFUSED",
        "resultCode": row["result_code"],
        "diagnosis": row["diagnosis"],
        "anomalies": json.loads(row["anomalies_text"]),
        "dmfaWorkersNbr": summary.get("dmfa_workers_nbr", 0),
        "dimonaWorkersNbr": summary.get("dimona_workers_nbr", 0),
        "dueDate": row["due_date"].isoformat() if row["due_date"] else None,
        "deadline": row["deadline"].isoformat() if row["deadline"] else None,
        "late": row["late"],
        "employerDeclarationPid": row["employer_declaration_pid"],
        "pids": pids,
    }


def may_read(
    runtime: ServiceRuntime, principal: Principal, employer: str | None, declarant: str | None
) -> bool:
    """NSSO users; the employer; a mandatary with a DmfA mandate for it today; whoever sent
    the declaration (and every client of that mandatary)."""
    if _nsso(principal):
        return True
    authz = runtime.authorizer
    org = principal.organisation
    if declarant is not None and (
        org == declarant
        or (
            authz.mandatary_of(org) is not None
            and authz.mandatary_of(org) == authz.mandatary_of(declarant)
        )
    ):
        return True
    if employer is None:
        return False
    return bool(authz.may_act(org, employer, Scope.DMFA, runtime.clock.today()))


@router.get("/declarations/{ticket}", summary="A declaration: result, anomalies and PIDs")
async def get_declaration(
    ticket: str,
    request: Request,
    principal: Principal = ConsultAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    async with runtime.db.connection() as conn:
        row = await repo.declaration_by_ticket(conn, ticket)
        if row is None or not may_read(runtime, principal, row["employer_nsso"], row["declarant"]):
            return problem(404, "Not Found", f"Declaration {ticket} not found")
        pids = await _pids(conn, row)
    return JSONResponse(declaration_body(request, row, pids))


def _anomaly_item(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "errorId": row["code"],
        "ruleCode": row["rule_code"],
        "anomalyClass": row["class"],
        "priority": row["priority"],
        "subject": row["subject"],
        "state": row["state"],
        "employer": row["employer_nsso"],
        "quarter": row["quarter"],
        "employerDeclarationPid": row["employer_declaration_pid"],
        "ticket": row["ticket"],
        "inss": row["inss"],
        "employerClass": row["employer_class"],
        "workerCode": row["worker_code"],
        "occupationSequence": row["occupation_sequence"],
        "path": json.loads(row["path_text"]),
        "tagName": row["tag_name"],
        "value": row["value"],
        "detectedAt": row["detected_at"].isoformat(),
        "resolvedAt": row["resolved_at"].isoformat() if row["resolved_at"] else None,
        "resolvedBy": row["resolved_by"],
        "secretariat": row["secretariat"],
        "seat": row["seat"],
    }


@router.get("/anomalies", summary="Anomaly instances per employer, secretariat and quarter")
async def list_anomalies(
    request: Request,
    employer: str | None = Query(None, description="NSSO number of the employer."),
    secretariat: str | None = Query(None, description="Mandatary id (M-EXEMPLUM)."),
    quarter: str | None = Query(None, description="2025-1 or 20251."),
    state: str | None = Query(None, pattern="^(OPEN|RESOLVED|REFUSED)$"),
    page: int = Query(1, ge=1),
    page_size: int = Query(100, ge=1, le=MAX_PAGE_SIZE, alias="pageSize"),
    principal: Principal = ConsultAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    try:
        q = parse_quarter(quarter) if quarter else None
        nsso = digits(employer, 9) if employer else None
    except ValueError as exc:
        return problem(400, "Bad Request", str(exc))
    authz = runtime.authorizer
    employers: list[str] | None
    if _nsso(principal):
        employers = [nsso] if nsso else None
    else:
        org = principal.organisation
        if secretariat is not None and authz.mandatary_of(org) != secretariat:
            return problem(403, "Forbidden", f"{org} does not act for secretariat {secretariat}")
        if nsso is not None:
            if not may_read(runtime, principal, nsso, None):
                return problem(403, "Forbidden", f"No valid DmfA mandate for employer {nsso}")
            employers = [nsso]
        elif secretariat is not None:
            employers = None
        else:
            employers = authz.employers_of(org, Scope.DMFA, runtime.clock.today())
    async with runtime.db.connection() as conn:
        rows = await repo.search_anomalies(
            conn,
            employers=employers,
            secretariat=secretariat,
            quarter=q,
            state=state,
            offset=(page - 1) * page_size,
            limit=page_size + 1,
        )
    items = [_anomaly_item(r) for r in rows[:page_size]]
    next_url = next_page_url(request, page, page_size, len(rows) > page_size)
    return JSONResponse({"items": items, "next": next_url})


@router.get("/silent-employers", summary="Silent-employer findings (NSSO users)")
async def list_silent(
    quarter: str | None = Query(None, description="2025-1 or 20251."),
    reason: str | None = Query(None, pattern="^(NO_DMFA|LATE|INCOMPLETE|INACCURATE)$"),
    principal: Principal = NssoAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    try:
        q = parse_quarter(quarter) if quarter else None
    except ValueError as exc:
        return problem(400, "Bad Request", str(exc))
    async with runtime.db.connection() as conn:
        rows = await repo.findings(conn, q, reason)
    return JSONResponse(
        {
            "items": [
                {
                    "employer": r["employer_nsso"],
                    "quarter": r["quarter"],
                    "reason": r["reason"],
                    "foundAt": r["found_at"].isoformat(),
                    "evaluatedOn": r["evaluated_on"].isoformat(),
                    "details": json.loads(r["details_text"]),
                }
                for r in rows
            ]
        }
    )


# -- deadline extensions (dmfa.md §8) ----------------------------------------------------------

OperatorAuth = Depends(require_scopes(OPERATOR_SCOPE))


class ExtensionGrant(BaseModel):
    """An ad-hoc extension of the DmfA deadline for a quarter and a set of employers."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    employers: list[str] = Field(min_length=1, max_length=10_000, description="NSSO numbers.")
    extended_to: date = Field(alias="extendedTo", description="The new deadline (inclusive).")
    reason: str = Field(min_length=1, max_length=500)


def _extension_item(r: Any) -> dict[str, Any]:
    return {
        "employer": r["employer_nsso"],
        "quarter": r["quarter"],
        "extendedTo": r["extended_to"].isoformat(),
        "reason": r["reason"],
        "grantedBy": r["granted_by"],
        "grantedAt": r["granted_at"].isoformat(),
    }


@router.put(
    "/deadline-extensions/{quarter}",
    summary="Grant an ad-hoc deadline extension for a quarter to a set of employers (operators)",
)
async def grant_extensions(
    quarter: str,
    grant: ExtensionGrant,
    principal: Principal = OperatorAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    try:
        q = parse_quarter(quarter)
    except ValueError as exc:
        return problem(400, "Bad Request", str(exc))
    employers = sorted({digits(e, 9) for e in grant.employers})
    unknown = [e for e in employers if e not in runtime.authorizer.employers]
    if unknown:
        return problem(
            422, "Unprocessable Entity", "employers not in the register", employers=unknown
        )
    due = legal_due_date(q)
    if grant.extended_to <= due:
        return problem(
            422,
            "Unprocessable Entity",
            f"an extension must end after the legal due date {due.isoformat()}",
        )
    deps = _deps(runtime)
    async with runtime.db.transaction() as conn:
        await repo.grant_extensions(
            conn, q, employers, grant.extended_to, grant.reason, principal.organisation,
            deps.clock.now(),
        )  # fmt: skip
        rows = [r for r in await repo.extensions(conn, q) if r["employer_nsso"] in employers]
    return JSONResponse({"items": [_extension_item(r) for r in rows]})


@router.get("/deadline-extensions", summary="Deadline extensions (NSSO users)")
async def list_extensions(
    quarter: str | None = Query(None, description="2025-1 or 20251."),
    principal: Principal = NssoAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    try:
        q = parse_quarter(quarter) if quarter else None
    except ValueError as exc:
        return problem(400, "Bad Request", str(exc))
    async with runtime.db.connection() as conn:
        rows = await repo.extensions(conn, q)
    return JSONResponse({"items": [_extension_item(r) for r in rows]})


@router.delete(
    "/deadline-extensions/{quarter}/{employer}",
    summary="Withdraw an employer's deadline extension (operators)",
    status_code=204,
)
async def withdraw_extension(
    quarter: str,
    employer: str,
    principal: Principal = OperatorAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> Response:
    try:
        q = parse_quarter(quarter)
    except ValueError as exc:
        return problem(400, "Bad Request", str(exc))
    async with runtime.db.transaction() as conn:
        found = await repo.withdraw_extension(conn, digits(employer, 9), q)
    if not found:
        return problem(404, "Not Found", "no extension for this employer and quarter")
    return Response(status_code=204)
