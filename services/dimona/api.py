"""The Dimona REST API v2 (``/REST/dimona/v2``), as real payroll clients call it."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from socsec.contracts.identifiers import digits
from socsec.contracts.payloads.registry import Scope
from socsec.dimona import repository as repo
from socsec.dimona.codec import anomalies_from_text, declaration_from_text
from socsec.dimona.domain.anomalies import to_rest_item
from socsec.dimona.domain.model import Declaration, Kind
from socsec.dimona.domain.normalise import BadRequest, echo_block, parse_rest_body
from socsec.dimona.handlers import receive
from socsec.kit.auth import Principal, require_scopes
from socsec.kit.http import get_runtime
from socsec.kit.runtime import ServiceRuntime
from socsec.kit.telemetry import tag_declaration

BASE = "/REST/dimona/v2"
DECLARANT = "scope:dimona:declaration:declarant"
CONSULT = "scope:dimona:declaration:consult"
MAX_PAGE_SIZE = 100

router = APIRouter(prefix=BASE, tags=["dimona v2"])
DeclarantAuth = Depends(require_scopes(DECLARANT))
ConsultAuth = Depends(require_scopes(CONSULT))


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"title": title, "status": status, "detail": detail, **extra}, status)


def _href(request: Request, path: str) -> str:
    return f"{str(request.base_url).rstrip('/')}{BASE}{path}"


def _deps(runtime: ServiceRuntime):  # type: ignore[no-untyped-def]
    return runtime.state["dimona_deps"]


def may_read(
    runtime: ServiceRuntime,
    principal: Principal,
    employer: str | None,
    declarant: str | None = None,
) -> bool:
    """The employer itself, a mandatary holding a Dimona mandate for it today, or whoever
    sent the declaration (and every client of that mandatary)."""
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
    return bool(authz.may_act(org, employer, Scope.DIMONA, runtime.clock.today()))


@router.post(
    "/declarations",
    status_code=201,
    response_class=Response,
    summary="Declare an IN, OUT, UPDATE or CANCEL (processed asynchronously)",
    responses={
        201: {"description": "Recorded; Location points at the declaration"},
        400: {"description": "The body cannot be read"},
        401: {"description": "No or invalid token"},
        403: {"description": "Scope missing or no mandate for the employer"},
    },
)
async def post_declaration(request: Request, principal: Principal = DeclarantAuth) -> Response:
    # The runtime straight from the app: one dependency less to solve on the hot routes.
    runtime: ServiceRuntime = request.app.state.runtime
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        return problem(400, "Bad Request", "The body is not valid JSON")
    try:
        declaration = parse_rest_body(
            body,
            declaration_id=0,  # numbered below, once the body is known to be readable
            received_at=runtime.clock.now(),
            declarant=principal.organisation,
            gender_encoding=principal.gender_encoding,
        )
    except BadRequest as exc:
        return problem(400, "Bad Request", exc.detail, invalidParams=exc.invalid_params)
    deps = _deps(runtime)
    async with runtime.db.connection() as conn:
        declaration_id = await deps.numbers.next(conn)
        period_employer = (
            await deps.period_employers.get(conn, declaration.period_id)
            if declaration.kind != Kind.IN
            else None
        )
        declaration = dataclasses.replace(declaration, declaration_id=declaration_id)
        tag_declaration(declaration_id=declaration_id)
        employer = _employer_concerned(runtime, declaration, period_employer)
        if employer is not None and not runtime.authorizer.may_act(
            principal.organisation, employer, Scope.DIMONA, runtime.clock.today()
        ):
            return problem(403, "Forbidden", f"No valid Dimona mandate for employer {employer}")
        await receive(conn, deps, declaration, employer)
    location = _href(request, f"/declarations/{declaration_id}")
    return Response(status_code=201, headers={"Location": location})


def _employer_concerned(
    runtime: ServiceRuntime, d: Declaration, period_employer: str | None
) -> str | None:
    """The employer whose mandate is checked: the body's for an IN, the period's otherwise
    (``period_employer``, None when the period does not exist). An employer the registry
    does not know gets no 403: processing refuses it with its code."""
    authz = runtime.authorizer
    if d.kind == Kind.IN:
        if d.employer_nsso and d.employer_nsso in authz.employers:
            return d.employer_nsso
        if d.employer_enterprise:
            return authz.by_enterprise.get(d.employer_enterprise)
        return None
    return period_employer


def _employer_json(runtime: ServiceRuntime, nsso: str | None, d: Declaration) -> dict[str, Any]:
    out: dict[str, Any] = {}
    known = runtime.authorizer.employers.get(nsso) if nsso else None
    if nsso:
        out["employerId"] = int(nsso)
    if known is not None:
        out["enterpriseNumber"] = known.enterprise_number
    elif d.employer_enterprise:
        out["enterpriseNumber"] = d.employer_enterprise
    return out


def declaration_body(request: Request, runtime: ServiceRuntime, row: Any) -> dict[str, Any]:
    declaration = declaration_from_text(row["request_text"])
    anomalies = anomalies_from_text(row["anomalies_text"])
    items = [to_rest_item(a) for a in anomalies]
    status: dict[str, Any] = {
        "declarationId": row["id"],
        "result": row["result"],
        "anomalies": items,
        # The v1 names, still read by clients written against v1 (Odoo indexes them).
        "anomaliesCollection": [i for i in items if i["severity"] == "B"],
        "informationsCollection": [i for i in items if i["severity"] != "B"],
    }
    if row["period_id"] is not None:
        status["period"] = {
            "id": row["period_id"],
            "href": _href(request, f"/periods/{row['period_id']}"),
        }
    body: dict[str, Any] = {"href": _href(request, f"/declarations/{row['id']}")}
    body.update(echo_block(declaration))
    # Employer and worker enriched from the registry and the final identification.
    employer = _employer_json(runtime, row["employer_nsso"], declaration)
    if employer:
        body["employer"] = {**body.get("employer", {}), **employer}
    insz = row["insz"] or declaration.ssin
    if insz:
        body["worker"] = {**body.get("worker", {}), "ssin": insz}
    body["declarationStatus"] = status
    return body


@router.get("/declarations/{declaration_id}", summary="A declaration and its result")
async def get_declaration(
    declaration_id: int, request: Request, principal: Principal = ConsultAuth
) -> JSONResponse:
    runtime: ServiceRuntime = request.app.state.runtime
    async with runtime.db.connection() as conn:
        row = await repo.declaration_result(conn, declaration_id)
    if (
        row is None
        or row["status"] == "RECEIVED"
        or not may_read(runtime, principal, row["employer_nsso"], row["declarant"])
    ):
        return problem(404, "Not Found", f"Declaration {declaration_id} not found")
    if row["period_id"] == row["id"] and row["result"] in ("A", "W"):  # an IN's new period
        _deps(runtime).period_employers.remember(row["period_id"], row["employer_nsso"])
    return JSONResponse(declaration_body(request, runtime, row))


def period_body(request: Request, runtime: ServiceRuntime, row: Any, decls: list) -> dict:
    features: dict[str, Any] = {"workerType": row["worker_type"]}
    if row["joint_commission"]:
        features["jointCommissionNumber"] = row["joint_commission"]
    if row["sub_entity"] is not None:
        features["subEntityNumber"] = row["sub_entity"]
    if row["using_employer"]:
        features["usingEmployer"] = (
            json.loads(row["using_employer"])
            if isinstance(row["using_employer"], str)
            else row["using_employer"]
        )
    employer = runtime.authorizer.employers.get(row["employer_nsso"])
    return {
        "id": row["id"],
        "periodId": str(row["id"]),  # the name some clients read in search results
        "href": _href(request, f"/periods/{row['id']}"),
        "employer": {
            "employerId": int(row["employer_nsso"]),
            **({"enterpriseNumber": employer.enterprise_number} if employer else {}),
        },
        "worker": {"ssin": row["insz"]},
        "features": features,
        "startDate": row["start_date"].isoformat(),
        "endDate": row["end_date"].isoformat() if row["end_date"] else None,
        "startHour": row["start_hour"],
        "endHour": row["end_hour"],
        "plannedHoursNumber": row["planned_hours"],
        "isCancelled": row["is_cancelled"],
        "isLocked": row["is_locked"],
        "isLate": row["is_late"],
        "lastUpdate": row["last_update"].isoformat(),
        "declarations": decls,
    }


@router.get("/periods/{period_id}", summary="A period of the personnel file")
async def get_period(
    period_id: int,
    request: Request,
    principal: Principal = ConsultAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    async with runtime.db.connection() as conn:
        row = await conn.fetchrow("SELECT * FROM periods WHERE id = $1", period_id)
        if row is None or not may_read(runtime, principal, row["employer_nsso"]):
            return problem(404, "Not Found", f"Period {period_id} not found")
        decls = (await repo.period_declarations(conn, [period_id])).get(period_id, [])
    return JSONResponse(period_body(request, runtime, row, decls))


def _search_criteria(
    body: Any, runtime: ServiceRuntime, principal: Principal
) -> tuple[list[str], str | None, date | None, date | None] | JSONResponse:
    if not isinstance(body, dict):
        body = {}
    try:
        employer_block = body.get("employer") or {}
        nsso = None
        if "employerId" in employer_block:
            nsso = digits(employer_block["employerId"], 9)
        elif "enterpriseNumber" in employer_block:
            nsso = runtime.authorizer.by_enterprise.get(
                digits(employer_block["enterpriseNumber"], 10)
            )
            if nsso is None:
                return ([], None, None, None)
        worker = body.get("worker") or {}
        insz = digits(worker["ssin"], 11) if worker.get("ssin") else None
        start = date.fromisoformat(body["startDate"]) if body.get("startDate") else None
        end = date.fromisoformat(body["endDate"]) if body.get("endDate") else None
    except (TypeError, ValueError, AttributeError) as exc:
        return problem(400, "Bad Request", f"Invalid search criteria: {exc}")
    today = runtime.clock.today()
    if nsso is not None:
        if not may_read(runtime, principal, nsso):
            return problem(403, "Forbidden", f"No valid Dimona mandate for employer {nsso}")
        employers = [nsso]
    else:
        employers = runtime.authorizer.employers_of(principal.organisation, Scope.DIMONA, today)
    return employers, insz, start, end


def _page(request: Request, page: int, size: int, items: list, path: str) -> dict:
    more = len(items) > size
    next_url = None
    if more:
        next_url = _href(request, f"{path}?page={page + 1}&pageSize={size}")
    return {"items": items[:size], "next": next_url}


async def _search_rows(
    request: Request,
    runtime: ServiceRuntime,
    principal: Principal,
    page: int,
    page_size: int,
    query: Any,
) -> list | JSONResponse:
    """The rows of one page of a search (one more than the page, to know if a next exists),
    or the error answer when the criteria cannot be read or may not be searched."""
    criteria = _search_criteria(await _json(request), runtime, principal)
    if isinstance(criteria, JSONResponse):
        return criteria
    employers, insz, start, end = criteria
    async with runtime.db.connection() as conn:
        return await query(conn, employers, insz, start, end, (page - 1) * page_size, page_size + 1)


PageQ = Query(1, ge=1)
SizeQ = Query(50, ge=1, le=MAX_PAGE_SIZE, alias="pageSize")


@router.post("/declarations/search", summary="Declarations by employer, worker and dates")
async def search_declarations(
    request: Request,
    page: int = PageQ,
    page_size: int = SizeQ,
    principal: Principal = ConsultAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    rows = await _search_rows(
        request, runtime, principal, page, page_size, repo.search_declarations
    )
    if isinstance(rows, JSONResponse):
        return rows
    items = [declaration_body(request, runtime, r) for r in rows]
    return JSONResponse(_page(request, page, page_size, items, "/declarations/search"))


@router.post("/periods/search", summary="Periods of the personnel file (level 2)")
async def search_periods(
    request: Request,
    page: int = PageQ,
    page_size: int = SizeQ,
    principal: Principal = ConsultAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    rows = await _search_rows(request, runtime, principal, page, page_size, repo.search_periods)
    if isinstance(rows, JSONResponse):
        return rows
    async with runtime.db.connection() as conn:
        decls = await repo.period_declarations(conn, [r["id"] for r in rows])
    items = [period_body(request, runtime, r, decls.get(r["id"], [])) for r in rows]
    return JSONResponse(_page(request, page, page_size, items, "/periods/search"))


@router.post("/relations/search", summary="Employer-worker relations (level 1)")
async def search_relations(
    request: Request,
    page: int = PageQ,
    page_size: int = SizeQ,
    principal: Principal = ConsultAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    rows = await _search_rows(request, runtime, principal, page, page_size, repo.search_relations)
    if isinstance(rows, JSONResponse):
        return rows
    items = []
    for r in rows:
        employer = runtime.authorizer.employers.get(r["employer_nsso"])
        items.append(
            {
                "employer": {
                    "employerId": int(r["employer_nsso"]),
                    **({"enterpriseNumber": employer.enterprise_number} if employer else {}),
                },
                "worker": {"ssin": r["insz"]},
                "startDate": r["start_date"].isoformat() if r["start_date"] else None,
                "endDate": r["end_date"].isoformat() if r["end_date"] else None,
                "periods": [
                    {"id": p, "href": _href(request, f"/periods/{p}")} for p in r["period_ids"]
                ],
            }
        )
    return JSONResponse(_page(request, page, page_size, items, "/relations/search"))


@router.post(
    "/declarations/{declaration_id}/contest",
    status_code=202,
    summary="Contest a notification within five working days",
)
async def contest(
    declaration_id: int,
    request: Request,
    principal: Principal = DeclarantAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    body = await _json(request)
    reason = body.get("reason") if isinstance(body, dict) else None
    if not isinstance(reason, str) or not reason.strip():
        return problem(
            400,
            "Bad Request",
            "A reason is required",
            invalidParams=[{"name": "reason", "reason": "required"}],
        )
    async with runtime.db.transaction() as conn:
        row = await repo.declaration_row(conn, declaration_id)
        if (
            row is None
            or row["status"] != "PROCESSED"
            or not may_read(runtime, principal, row["employer_nsso"], row["declarant"])
        ):
            return problem(404, "Not Found", f"Declaration {declaration_id} not found")
        today = runtime.clock.today()
        deadline = row["contest_deadline"]
        if deadline is None or today > deadline:
            return problem(
                409, "Conflict", f"The contest window closed on {deadline}; the data are definitive"
            )
        contest_id = await repo.add_contest(
            conn, declaration_id, reason.strip(), principal.organisation, runtime.clock.now()
        )
    return JSONResponse(
        {
            "contestId": contest_id,
            "declarationId": declaration_id,
            "contestDeadline": deadline.isoformat(),
        },
        status_code=202,
    )


async def _json(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        return {}
