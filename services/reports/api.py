"""The reports API (``/reports/v1``).

A secretariat (a client of the mandatary, its seat or a branch, with a DmfA scope) lists
and reads its own reports and their documents, and reacts to a draft (accept, or contest
with arguments). The NSSO inspection issues drafts, answers contests (motivated answer,
possibly revising the score with reasons), comments, records concertation meetings, lists
reports by state and due date, moves the global evaluation report and follows improvement
items; operators read everything and acknowledge alerts. The global report is readable by
the secretariats once adopted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from socsec.kit.auth import (
    DMFA_CONSULT_SCOPE,
    DMFA_DECLARANT_SCOPE,
    INSPECTION_SCOPE,
    OPERATOR_SCOPE,
    Principal,
    require_any_scope,
)
from socsec.kit.http import get_runtime, next_page_url
from socsec.kit.runtime import ServiceRuntime
from socsec.reports import handlers
from socsec.reports import repository as repo
from socsec.reports.domain.model import Decision, Kind, ProcedureError, State

BASE = "/reports/v1"
MAX_PAGE_SIZE = 500
NSSO_SCOPES = (INSPECTION_SCOPE, OPERATOR_SCOPE)
SECRETARIAT_SCOPES = (DMFA_CONSULT_SCOPE, DMFA_DECLARANT_SCOPE)
#: A global report is shared with the secretariats once the NSSO has adopted it.
GLOBAL_PUBLIC_STATES = (State.ADOPTED, State.DISCUSSED)

router = APIRouter(prefix=BASE, tags=["reports v1"])


ReaderAuth = Depends(require_any_scope(*SECRETARIAT_SCOPES, *NSSO_SCOPES))
SecretariatAuth = Depends(require_any_scope(*SECRETARIAT_SCOPES))
InspectionAuth = Depends(require_any_scope(INSPECTION_SCOPE))
NssoAuth = Depends(require_any_scope(*NSSO_SCOPES))


def problem(status: int, title: str, detail: str, code: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"title": title, "status": status, "detail": detail}
    if code:
        body["code"] = code
    return JSONResponse(body, status, media_type="application/problem+json")


def refused(exc: ProcedureError) -> JSONResponse:
    if exc.conflict:
        return problem(409, "Conflict", exc.message, exc.code)
    return problem(400, "Bad Request", exc.message, exc.code)


def _nsso(principal: Principal) -> bool:
    return any(principal.has_scope(s) for s in NSSO_SCOPES)


def _deps(runtime: ServiceRuntime) -> handlers.Deps:
    return runtime.state["reports_deps"]


def provider_of(runtime: ServiceRuntime, principal: Principal) -> str | None:
    """The secretariat (mandatary) a client acts for: itself, its seat or a branch."""
    return runtime.authorizer.mandatary_of(principal.organisation)


def may_read(runtime: ServiceRuntime, principal: Principal, row: Any) -> bool:
    """NSSO users read every report; a secretariat its own, and the adopted global one."""
    if _nsso(principal):
        return True
    if row["kind"] == Kind.GLOBAL:
        return row["state"] in GLOBAL_PUBLIC_STATES and provider_of(runtime, principal) is not None
    mine = provider_of(runtime, principal)
    return mine is not None and mine == row["provider"]


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None else None


def report_item(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "kind": row["kind"],
        "provider": row["provider"],
        "providerKind": row["provider_kind"],
        "seat": row["seat"],
        "domain": row["domain"],
        "period": row["period"],
        "language": row["language"],
        "state": row["state"],
        "score": row["score"],
        "finalScore": row["final_score"],
        "band": row["band"],
        "draftReceivedOn": _iso(row["draft_received_on"]),
        "reactionDeadline": _iso(row["reaction_deadline"]),
        "reactionReceivedOn": _iso(row["reaction_received_on"]),
        "answerDeadline": _iso(row["answer_deadline"]),
        "finalSentOn": _iso(row["final_sent_on"]),
        "nextDue": _iso(row["next_due"]),
        "flags": list(row["flags"]),
        "lastVersion": row["last_version"],
        "updatedAt": _iso(row["updated_at"]),
    }


@router.get("/reports", summary="Reports by state, kind, period and due date")
async def list_reports(
    request: Request,
    state: State | None = Query(None),
    kind: Kind | None = Query(None),
    domain: str | None = Query(None, pattern="^(S|T|F|AP|ANP|C)$"),
    period: str | None = Query(None, pattern=r"^\d{4}[1-4]?$"),
    seat: str | None = Query(None),
    provider: str | None = Query(None, description="NSSO users only."),
    due_before: date | None = Query(
        None, alias="dueBefore", description="Running deadline on or before this day."
    ),
    flag: str | None = Query(None, pattern="^(ANSWER_OVERDUE|LATE_REACTION)$"),
    page: int = Query(1, ge=1),
    page_size: int = Query(100, ge=1, le=MAX_PAGE_SIZE, alias="pageSize"),
    principal: Principal = ReaderAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    if not _nsso(principal):
        mine = provider_of(runtime, principal)
        if mine is None:
            return problem(403, "Forbidden", f"{principal.organisation} is not a secretariat")
        if provider is not None and provider != mine:
            return problem(
                403, "Forbidden", f"{principal.organisation} does not act for {provider}"
            )
        if kind == Kind.GLOBAL:
            return problem(403, "Forbidden", "global reports are read at /global/{year}")
        provider = mine
    async with runtime.db.connection() as conn:
        rows = await repo.search_reports(
            conn,
            provider=provider,
            kind=str(kind) if kind else None,
            state=str(state) if state else None,
            domain=domain,
            period=period,
            seat=seat,
            due_before=due_before,
            flag=flag,
            offset=(page - 1) * page_size,
            limit=page_size + 1,
        )
    return JSONResponse(
        {
            "items": [report_item(r) for r in rows[:page_size]],
            "next": next_page_url(request, page, page_size, len(rows) > page_size),
        }
    )


async def _readable(
    runtime: ServiceRuntime, principal: Principal, report_id: UUID
) -> tuple[Any, JSONResponse | None]:
    async with runtime.db.connection() as conn:
        row = await repo.report(conn, report_id)
    if row is None:
        return None, problem(404, "Not Found", f"no report {report_id}")
    if not may_read(runtime, principal, row):
        return None, problem(
            403, "Forbidden", f"{principal.organisation} may not read report {report_id}"
        )
    return row, None


async def _detail(runtime: ServiceRuntime, row: Any) -> dict[str, Any]:
    async with runtime.db.connection() as conn:
        history = await repo.transitions(conn, row["id"])
        acts = await repo.acts(conn, row["id"])
        docs = await repo.documents(conn, row["id"])
        items = await repo.improvement_items(conn, row["id"])
    body = report_item(row)
    body.update(
        {
            "content": row["content"],
            "history": [
                {
                    "event": t["event"],
                    "from": t["from_state"],
                    "to": t["to_state"],
                    "at": _iso(t["at"]),
                    "actor": t["actor"],
                    "documentVersion": t["document_version"],
                }
                for t in history
            ],
            "acts": [
                {"act": a["act"], "at": _iso(a["at"]), "actor": a["actor"], **a["body"]}
                for a in acts
            ],
            "documents": [_document_item(row["id"], d) for d in docs],
            "improvementItems": [_item(i) for i in items],
        }
    )
    return body


def _document_item(report_id: UUID, d: Any) -> dict[str, Any]:
    base = f"{BASE}/reports/{report_id}/documents/{d['version']}"
    return {
        "version": d["version"],
        "label": d["label"],
        "createdAt": _iso(d["created_at"]),
        "language": d["language"],
        "sha256": d["sha256"],
        "pdf": f"{base}.pdf",
        "html": f"{base}.html",
    }


def _item(i: Any) -> dict[str, Any]:
    return {
        "n": i["n"],
        "kind": i["kind"],
        "text": i["text"],
        "dueOn": _iso(i["due_on"]),
        "status": i["status"],
        "updatedAt": _iso(i["updated_at"]),
        "updatedBy": i["updated_by"],
    }


@router.get("/reports/{report_id}", summary="A report with its history, acts and documents")
async def get_report(
    report_id: UUID,
    principal: Principal = ReaderAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    row, refusal = await _readable(runtime, principal, report_id)
    if refusal is not None:
        return refusal
    return JSONResponse(await _detail(runtime, row))


@router.get("/reports/{report_id}/documents", summary="The document versions of a report")
async def list_documents(
    report_id: UUID,
    principal: Principal = ReaderAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    _, refusal = await _readable(runtime, principal, report_id)
    if refusal is not None:
        return refusal
    async with runtime.db.connection() as conn:
        docs = await repo.documents(conn, report_id)
    return JSONResponse({"items": [_document_item(report_id, d) for d in docs]})


@router.get(
    "/reports/{report_id}/documents/{name}",
    summary="One document version: {version}.pdf or {version}.html",
    response_class=Response,
)
async def get_document(
    report_id: UUID,
    name: str,
    principal: Principal = ReaderAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> Response:
    number, _, fmt = name.partition(".")
    if not number.isdigit() or fmt not in ("pdf", "html"):
        return problem(400, "Bad Request", f"{name!r}: ask for <version>.pdf or <version>.html")
    _, refusal = await _readable(runtime, principal, report_id)
    if refusal is not None:
        return refusal
    async with runtime.db.connection() as conn:
        doc = await repo.document(conn, report_id, int(number))
    if doc is None:
        return problem(404, "Not Found", f"report {report_id} has no document version {number}")
    filename = f"report-{report_id}-v{number}-{doc['label'].lower()}.{fmt}"
    headers = {
        "Content-Disposition": f'inline; filename="{filename}"',
        "ETag": f'"{doc["sha256"]}"',
    }
    if fmt == "pdf":
        return Response(bytes(doc["pdf"]), media_type="application/pdf", headers=headers)
    return Response(doc["html"], media_type="text/html; charset=utf-8", headers=headers)


# -- Acts --------------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ReactionBody(_Body):
    decision: Decision = Field(description="ACCEPT the draft, or CONTEST it with arguments.")
    arguments: str | None = Field(default=None, max_length=100_000)


class AnswerBody(_Body):
    answer: str = Field(min_length=1, max_length=100_000, description="The motivated answer.")
    revised_score: float | None = Field(default=None, alias="revisedScore")
    reasons: str | None = Field(default=None, max_length=100_000)
    revised_observations: list[str] = Field(default_factory=list, alias="revisedObservations")


class ConcertationBody(_Body):
    held_on: date = Field(alias="heldOn")
    participants: list[str] = Field(default_factory=list)
    minutes: str = Field(default="", max_length=100_000)


class CommentBody(_Body):
    text: str = Field(min_length=1, max_length=100_000)
    author: str | None = Field(
        default=None, description="Who speaks (e.g. the Union of Social Secretariats)."
    )


class MeetingBody(_Body):
    held_on: date = Field(alias="heldOn")
    minutes: str = Field(min_length=1, max_length=200_000)
    proposals: list[str] = Field(default_factory=list)


class ImprovementItemBody(_Body):
    kind: str = Field(pattern="^(RECOMMENDATION|DIRECTIVE|TRAJECTORY)$")
    text: str = Field(min_length=1, max_length=100_000)
    due_on: date | None = Field(default=None, alias="dueOn")


class ImprovementStatusBody(_Body):
    status: str = Field(pattern="^(OPEN|DONE|DROPPED)$")


async def _act(
    runtime: ServiceRuntime,
    call: Callable[..., Awaitable[Any]],
    *args: Any,
    status: int = 200,
) -> JSONResponse:
    deps = _deps(runtime)
    try:
        async with runtime.db.transaction() as conn:
            result = await call(conn, deps, *args)
    except ProcedureError as exc:
        return refused(exc)
    except handlers.ReportNotFound as exc:
        return problem(404, "Not Found", f"no report {exc}")
    if "natural_key" in result:
        return JSONResponse(await _detail(runtime, result), status)
    return JSONResponse(_item(result), status)


@router.post("/reports/{report_id}/reaction", summary="The secretariat accepts or contests")
async def post_reaction(
    report_id: UUID,
    body: ReactionBody,
    principal: Principal = SecretariatAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    row, refusal = await _readable(runtime, principal, report_id)
    if refusal is not None:
        return refusal
    if _nsso(principal) or row["kind"] == Kind.GLOBAL:
        return problem(403, "Forbidden", "only the report's secretariat reacts to its draft")
    return await _act(
        runtime,
        handlers.react,
        report_id,
        principal.organisation,
        body.decision,
        body.arguments,
    )


@router.post("/reports/{report_id}/draft", summary="The NSSO issues the draft")
async def post_draft(
    report_id: UUID,
    principal: Principal = InspectionAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    return await _act(runtime, handlers.issue_draft, report_id, principal.organisation)


@router.post("/reports/{report_id}/answer", summary="The NSSO's motivated answer and final")
async def post_answer(
    report_id: UUID,
    body: AnswerBody,
    principal: Principal = InspectionAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    return await _act(
        runtime,
        handlers.answer,
        report_id,
        principal.organisation,
        body.answer,
        body.revised_score,
        body.reasons,
        body.revised_observations,
    )


@router.post("/reports/{report_id}/concertations", summary="A concertation meeting was held")
async def post_concertation(
    report_id: UUID,
    body: ConcertationBody,
    principal: Principal = InspectionAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    return await _act(
        runtime,
        handlers.concertation,
        report_id,
        principal.organisation,
        body.held_on,
        body.participants,
        body.minutes,
    )


@router.post("/reports/{report_id}/comments", summary="A comment of the NSSO inspection")
async def post_comment(
    report_id: UUID,
    body: CommentBody,
    principal: Principal = InspectionAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    return await _act(
        runtime,
        handlers.comment,
        report_id,
        principal.organisation,
        body.text,
        body.author or principal.organisation,
    )


@router.post(
    "/reports/{report_id}/improvement-items",
    summary="Attach a recommendation, directive or trajectory step to a final annual report",
)
async def post_improvement_item(
    report_id: UUID,
    body: ImprovementItemBody,
    principal: Principal = InspectionAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    return await _act(
        runtime,
        handlers.add_improvement_item,
        report_id,
        principal.organisation,
        body.kind,
        body.text,
        body.due_on,
        status=201,
    )


@router.patch("/reports/{report_id}/improvement-items/{n}", summary="Follow an item up")
async def patch_improvement_item(
    report_id: UUID,
    n: int,
    body: ImprovementStatusBody,
    principal: Principal = InspectionAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    return await _act(
        runtime,
        handlers.set_improvement_status,
        report_id,
        n,
        body.status,
        principal.organisation,
    )


# -- Global evaluation report ------------------------------------------------------------


@router.get("/global/{year}", summary="The global evaluation report of a year")
async def get_global(
    year: int,
    principal: Principal = ReaderAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    report_id = handlers.report_id_for(f"GLOBAL:{year}")
    row, refusal = await _readable(runtime, principal, report_id)
    if refusal is not None:
        if refusal.status_code == 404:
            return problem(404, "Not Found", f"no global evaluation report for {year} yet")
        return refusal
    return JSONResponse(await _detail(runtime, row))


async def _global(
    runtime: ServiceRuntime, year: int, actor: str, to: State, body: dict[str, Any] | None
) -> JSONResponse:
    return await _act(runtime, handlers.global_transition, year, actor, to, body)


@router.post("/global/{year}/consultation", summary="Share the draft with the Union")
async def post_consultation(
    year: int,
    principal: Principal = InspectionAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    return await _global(runtime, year, principal.organisation, State.IN_CONSULTATION, None)


@router.post("/global/{year}/comments", summary="Record a comment of the consultation")
async def post_global_comment(
    year: int,
    body: CommentBody,
    principal: Principal = InspectionAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    return await _act(
        runtime,
        handlers.comment,
        handlers.report_id_for(f"GLOBAL:{year}"),
        principal.organisation,
        body.text,
        body.author or principal.organisation,
    )


@router.post("/global/{year}/adoption", summary="The NSSO adopts the global report")
async def post_adoption(
    year: int,
    principal: Principal = InspectionAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    return await _global(runtime, year, principal.organisation, State.ADOPTED, None)


@router.post("/global/{year}/meeting", summary="The annual meeting was held")
async def post_meeting(
    year: int,
    body: MeetingBody,
    principal: Principal = InspectionAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    data = {
        "held_on": body.held_on.isoformat(),
        "minutes": body.minutes,
        "proposals": body.proposals,
    }
    return await _global(runtime, year, principal.organisation, State.DISCUSSED, data)


# -- Alerts ------------------------------------------------------------------------------


@router.get("/alerts", summary="Alerts to NSSO management (overdue motivated answers)")
async def list_alerts(
    open_only: bool = Query(True, alias="open"),
    principal: Principal = NssoAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    async with runtime.db.connection() as conn:
        rows = await repo.alerts(conn, open_only=open_only)
    return JSONResponse(
        {
            "items": [
                {
                    "id": a["id"],
                    "kind": a["kind"],
                    "reportId": str(a["report_id"]),
                    "reportKind": a["report_kind"],
                    "provider": a["provider"],
                    "seat": a["seat"],
                    "domain": a["domain"],
                    "period": a["period"],
                    "raisedAt": _iso(a["raised_at"]),
                    "detail": a["detail"],
                    "acknowledgedAt": _iso(a["acknowledged_at"]),
                    "acknowledgedBy": a["acknowledged_by"],
                }
                for a in rows
            ]
        }
    )


@router.post("/alerts/{alert_id}/acknowledgement", summary="An operator takes an alert")
async def acknowledge_alert(
    alert_id: int,
    principal: Principal = NssoAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    async with runtime.db.transaction() as conn:
        row = await repo.acknowledge_alert(
            conn, alert_id, runtime.clock.now(), principal.organisation
        )
    if row is None:
        return problem(404, "Not Found", f"no open alert {alert_id}")
    return JSONResponse({"id": row["id"], "acknowledgedAt": _iso(row["acknowledged_at"])})
