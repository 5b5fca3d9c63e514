"""HTTP routes of the registry's reference data, under ``/registry/v1`` (operator scope).

Routes only translate: HTTP in, a command to a handler inside the one transaction of the
request, the result out. Refusals of the register (:class:`RegistryError`) become problem
bodies ``{"title", "status", "detail", "code", "field"?, ...}``: 404 for an unknown id,
409 for a conflict with the register, 422 for a rule (a check digit, a legal name, a
scope); a body that does not parse is answered 422 by FastAPI, naming the field.

Lists are paged: ``{"items": [...], "next": cursor}``; pass ``cursor=<next>`` for the
following page (``next`` is ``null`` on the last one).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from http import HTTPStatus
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from socsec.contracts.identifiers import Insz, NssoNumber, SenderNumber
from socsec.contracts.payloads.registry import MandataryKind, Scope
from socsec.kit.auth import OPERATOR_SCOPE, Principal, require_scopes
from socsec.kit.http import get_runtime
from socsec.kit.runtime import ServiceRuntime
from socsec.registry import handlers, repository
from socsec.registry.domain.commands import (
    ID_PATTERN,
    BranchInput,
    EmployerFields,
    GiveEndNotice,
    IssueSender,
    MandataryFields,
    MandateFields,
    RegisterEmployer,
    RegisterMandatary,
    RegisterMandate,
    RegisterWorker,
    RequestIdentification,
    ResolveIdentification,
    SenderFields,
    WorkerFields,
)
from socsec.registry.domain.errors import (
    Code,
    Conflict,
    NotFound,
    RegistryError,
    RuleViolation,
    refusal,
)
from socsec.registry.domain.validity import plain
from socsec.registry.domain.workers import IdentificationStatus, WorkerKind
from socsec.registry.handlers import Context, Mode

router = APIRouter(prefix="/registry/v1")

Operator = Annotated[Principal, Depends(require_scopes(OPERATOR_SCOPE))]
Runtime = Annotated[ServiceRuntime, Depends(get_runtime)]
EntityId = Annotated[str, Path(pattern=ID_PATTERN)]
Cursor = Annotated[str | None, Query(description="The `next` of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]

STATUS: dict[type[RegistryError], int] = {NotFound: 404, Conflict: 409, RuleViolation: 422}


async def registry_error_response(_request: Request, exc: Exception) -> JSONResponse:
    """A refusal of the register as a problem body with its stable code."""
    assert isinstance(exc, RegistryError)
    status = next(s for kind, s in STATUS.items() if isinstance(exc, kind))
    body = {"title": HTTPStatus(status).phrase, "status": status, "detail": exc.message}
    body.update(exc.as_dict())
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


@asynccontextmanager
async def transaction(runtime: ServiceRuntime) -> AsyncIterator[asyncpg.Connection]:
    """The one transaction of a request; a lost race on a unique key is a conflict."""
    try:
        async with runtime.db.transaction() as conn:
            yield conn
    except asyncpg.UniqueViolationError as exc:
        raise refusal(
            Code.CONCURRENT_CHANGE,
            "another request changed the register at the same time; retry",
            constraint=exc.constraint_name,
        ) from exc


def context(runtime: ServiceRuntime, principal: Principal) -> Context:
    """What the handlers need: outbox, business clock, rules and who acts."""
    return Context(
        outbox=runtime.outbox,
        clock=runtime.clock,
        rules=runtime.settings.rules(),  # type: ignore[attr-defined]
        actor=principal.client_id,
    )


def page(items: list[Any], cursor: str | None) -> dict[str, Any]:
    return {"items": [plain(i) for i in items], "next": cursor}


def created(value: Any) -> JSONResponse:
    return JSONResponse(plain(value), status_code=201)


# -- employers ---------------------------------------------------------------------------


@router.post("/employers", status_code=201, tags=["employers"], summary="Register an employer")
async def post_employer(cmd: RegisterEmployer, runtime: Runtime, who: Operator) -> JSONResponse:
    async with transaction(runtime) as conn:
        saved = await handlers.register_employer(cmd, conn, context(runtime, who), Mode.CREATE)
    return created(saved.value)


@router.get("/employers", tags=["employers"], summary="List employers")
async def list_employers(
    runtime: Runtime,
    _: Operator,
    active_on: Annotated[date | None, Query(alias="activeOn")] = None,
    name: Annotated[str | None, Query(description="Part of the name, any case.")] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    async with transaction(runtime) as conn:
        items, after = await repository.list_employers(
            conn, active_on=active_on, name=name, after=cursor, limit=limit
        )
    return page(items, after)


@router.get("/employers/{nsso_number}", tags=["employers"], summary="One employer")
async def get_employer(nsso_number: NssoNumber, runtime: Runtime, _: Operator) -> Any:
    async with transaction(runtime) as conn:
        return plain(await handlers.get_employer(conn, nsso_number))


@router.put("/employers/{nsso_number}", tags=["employers"], summary="Replace an employer's data")
async def put_employer(
    nsso_number: NssoNumber, body: EmployerFields, runtime: Runtime, who: Operator
) -> Any:
    cmd = RegisterEmployer.model_validate({**body.model_dump(), "nsso_number": nsso_number})
    async with transaction(runtime) as conn:
        saved = await handlers.register_employer(cmd, conn, context(runtime, who), Mode.REPLACE)
    return plain(saved.value)


@router.get("/employers/{nsso_number}/history", tags=["employers"], summary="Every version")
async def employer_history(nsso_number: NssoNumber, runtime: Runtime, _: Operator) -> Any:
    async with transaction(runtime) as conn:
        await handlers.get_employer(conn, nsso_number)
        return {"items": plain(await repository.history(conn, "employer", nsso_number))}


# -- mandataries -------------------------------------------------------------------------


@router.post(
    "/mandataries",
    status_code=201,
    tags=["mandataries"],
    summary="Register a secretariat or provider with its seat and branches",
)
async def post_mandatary(cmd: RegisterMandatary, runtime: Runtime, who: Operator) -> JSONResponse:
    async with transaction(runtime) as conn:
        saved = await handlers.register_mandatary(cmd, conn, context(runtime, who), Mode.CREATE)
    return created(saved.value)


@router.get("/mandataries", tags=["mandataries"], summary="List secretariats and providers")
async def list_mandataries(
    runtime: Runtime,
    _: Operator,
    kind: MandataryKind | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    async with transaction(runtime) as conn:
        items, after = await repository.list_mandataries(conn, kind=kind, after=cursor, limit=limit)
    return page(items, after)


@router.get("/mandataries/{mandatary_id}", tags=["mandataries"], summary="One mandatary")
async def get_mandatary(mandatary_id: EntityId, runtime: Runtime, _: Operator) -> Any:
    async with transaction(runtime) as conn:
        return plain(await handlers.get_mandatary(conn, mandatary_id))


@router.put(
    "/mandataries/{mandatary_id}",
    tags=["mandataries"],
    summary="Replace a mandatary's data (branches not listed stay)",
)
async def put_mandatary(
    mandatary_id: EntityId, body: MandataryFields, runtime: Runtime, who: Operator
) -> Any:
    cmd = RegisterMandatary.model_validate({**body.model_dump(), "id": mandatary_id})
    async with transaction(runtime) as conn:
        saved = await handlers.register_mandatary(cmd, conn, context(runtime, who), Mode.REPLACE)
    return plain(saved.value)


@router.post(
    "/mandataries/{mandatary_id}/branches",
    status_code=201,
    tags=["mandataries"],
    summary="Add a branch to the mandatary's seat",
)
async def post_branch(
    mandatary_id: EntityId, cmd: BranchInput, runtime: Runtime, who: Operator
) -> JSONResponse:
    async with transaction(runtime) as conn:
        saved = await handlers.add_branch(mandatary_id, cmd, conn, context(runtime, who))
    return created(saved.value)


@router.get("/mandataries/{mandatary_id}/history", tags=["mandataries"], summary="Every version")
async def mandatary_history(mandatary_id: EntityId, runtime: Runtime, _: Operator) -> Any:
    async with transaction(runtime) as conn:
        await handlers.get_mandatary(conn, mandatary_id)
        return {"items": plain(await repository.history(conn, "mandatary", mandatary_id))}


@router.get(
    "/secretariats",
    tags=["mandataries"],
    summary="The approved secretariats on a date (the dated approved list)",
)
async def approved_secretariats(
    runtime: Runtime,
    _: Operator,
    approved_on: Annotated[
        date | None, Query(alias="approvedOn", description="Default: today (business date).")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    day = approved_on or runtime.clock.today()
    async with transaction(runtime) as conn:
        items, after = await repository.approved_on(conn, day, after=cursor, limit=limit)
    return {"approved_on": day.isoformat(), **page(items, after)}


# -- mandates ----------------------------------------------------------------------------


@router.post("/mandates", status_code=201, tags=["mandates"], summary="Register a mandate")
async def post_mandate(cmd: RegisterMandate, runtime: Runtime, who: Operator) -> JSONResponse:
    async with transaction(runtime) as conn:
        saved = await handlers.register_mandate(cmd, conn, context(runtime, who), Mode.CREATE)
    return created(saved.value)


@router.get("/mandates", tags=["mandates"], summary="List mandates")
async def list_mandates(
    runtime: Runtime,
    _: Operator,
    employer: NssoNumber | None = None,
    mandatary: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    scope: Scope | None = None,
    usable_on: Annotated[date | None, Query(alias="usableOn")] = None,
    late: Annotated[bool | None, Query(description="Only mandates ended by a late notice.")] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    async with transaction(runtime) as conn:
        items, after = await repository.list_mandates(
            conn,
            employer=employer,
            mandatary=mandatary,
            scope=scope,
            usable_on=usable_on,
            late=late,
            after=cursor,
            limit=limit,
        )
    return page(items, after)


@router.get("/mandates/{mandate_id}", tags=["mandates"], summary="One mandate")
async def get_mandate(mandate_id: EntityId, runtime: Runtime, _: Operator) -> Any:
    async with transaction(runtime) as conn:
        mandate = await handlers.get_mandate(conn, mandate_id)
        notices = await repository.end_notices(conn, mandate_id)
    return {**plain(mandate), "end_notices": plain(notices)}


@router.put("/mandates/{mandate_id}", tags=["mandates"], summary="Replace a mandate's data")
async def put_mandate(
    mandate_id: EntityId, body: MandateFields, runtime: Runtime, who: Operator
) -> Any:
    cmd = RegisterMandate.model_validate({**body.model_dump(), "id": mandate_id})
    async with transaction(runtime) as conn:
        saved = await handlers.register_mandate(cmd, conn, context(runtime, who), Mode.REPLACE)
    return plain(saved.value)


@router.post(
    "/mandates/{mandate_id}/end-notice",
    tags=["mandates"],
    summary="Record the end of a mandate (late when less than 15 days before the end)",
)
async def post_end_notice(
    mandate_id: EntityId, cmd: GiveEndNotice, runtime: Runtime, who: Operator
) -> Any:
    async with transaction(runtime) as conn:
        mandate = await handlers.give_end_notice(mandate_id, cmd, conn, context(runtime, who))
    return plain(mandate)


@router.get("/mandates/{mandate_id}/history", tags=["mandates"], summary="Every version")
async def mandate_history(mandate_id: EntityId, runtime: Runtime, _: Operator) -> Any:
    async with transaction(runtime) as conn:
        await handlers.get_mandate(conn, mandate_id)
        return {"items": plain(await repository.history(conn, "mandate", mandate_id))}


# -- senders -----------------------------------------------------------------------------


@router.post(
    "/senders",
    status_code=201,
    tags=["senders"],
    summary="Issue a sender number (the next free one when none is given)",
)
async def post_sender(cmd: IssueSender, runtime: Runtime, who: Operator) -> JSONResponse:
    async with transaction(runtime) as conn:
        saved = await handlers.issue_sender(cmd, conn, context(runtime, who), Mode.CREATE)
    return created(saved.value)


@router.get("/senders", tags=["senders"], summary="List sender numbers")
async def list_senders(
    runtime: Runtime,
    _: Operator,
    holder: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    mandatary: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    employer: NssoNumber | None = None,
    active: bool | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    async with transaction(runtime) as conn:
        items, after = await repository.list_senders(
            conn,
            holder=holder,
            mandatary=mandatary,
            employer=employer,
            active=active,
            after=cursor,
            limit=limit,
        )
    return page(items, after)


@router.get("/senders/{sender_number}", tags=["senders"], summary="One sender number")
async def get_sender(sender_number: SenderNumber, runtime: Runtime, _: Operator) -> Any:
    async with transaction(runtime) as conn:
        return plain(await handlers.get_sender(conn, sender_number))


@router.put("/senders/{sender_number}", tags=["senders"], summary="Replace a sender's data")
async def put_sender(
    sender_number: SenderNumber, body: SenderFields, runtime: Runtime, who: Operator
) -> Any:
    cmd = IssueSender.model_validate({**body.model_dump(), "sender_number": sender_number})
    async with transaction(runtime) as conn:
        saved = await handlers.issue_sender(cmd, conn, context(runtime, who), Mode.REPLACE)
    return plain(saved.value)


@router.get("/senders/{sender_number}/history", tags=["senders"], summary="Every version")
async def sender_history(sender_number: SenderNumber, runtime: Runtime, _: Operator) -> Any:
    async with transaction(runtime) as conn:
        await handlers.get_sender(conn, sender_number)
        return {"items": plain(await repository.history(conn, "sender", sender_number))}


# -- workers -----------------------------------------------------------------------------


@router.post("/workers", status_code=201, tags=["workers"], summary="Register a worker")
async def post_worker(cmd: RegisterWorker, runtime: Runtime, who: Operator) -> JSONResponse:
    async with transaction(runtime) as conn:
        saved = await handlers.register_worker(cmd, conn, context(runtime, who), Mode.CREATE)
    return created(saved.value)


@router.get("/workers", tags=["workers"], summary="List workers")
async def list_workers(
    runtime: Runtime,
    _: Operator,
    kind: WorkerKind | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    async with transaction(runtime) as conn:
        items, after = await repository.list_workers(conn, kind=kind, after=cursor, limit=limit)
    return page(items, after)


@router.get("/workers/{insz}", tags=["workers"], summary="Look a worker up by INSZ")
async def get_worker(insz: Insz, runtime: Runtime, _: Operator) -> Any:
    async with transaction(runtime) as conn:
        return plain(await handlers.get_worker(conn, insz))


@router.put("/workers/{insz}", tags=["workers"], summary="Replace a worker's data")
async def put_worker(insz: Insz, body: WorkerFields, runtime: Runtime, who: Operator) -> Any:
    cmd = RegisterWorker.model_validate({**body.model_dump(), "inss": insz})
    async with transaction(runtime) as conn:
        saved = await handlers.register_worker(cmd, conn, context(runtime, who), Mode.REPLACE)
    return plain(saved.value)


@router.get("/workers/{insz}/history", tags=["workers"], summary="Every version")
async def worker_history(insz: Insz, runtime: Runtime, _: Operator) -> Any:
    async with transaction(runtime) as conn:
        await handlers.get_worker(conn, insz)
        return {"items": plain(await repository.history(conn, "worker", insz))}


# -- identification requests -------------------------------------------------------------


@router.post(
    "/identifications",
    status_code=202,
    tags=["workers"],
    summary="Ask for the INSZ of a worker; answered later on registry.identifications.v1",
)
async def post_identification(
    cmd: RequestIdentification, runtime: Runtime, who: Operator
) -> JSONResponse:
    async with transaction(runtime) as conn:
        request = await handlers.request_identification(cmd, conn, context(runtime, who))
    return JSONResponse(plain(request), status_code=202)


@router.get("/identifications", tags=["workers"], summary="List identification requests")
async def list_identifications(
    runtime: Runtime,
    _: Operator,
    status: IdentificationStatus | None = None,
    requested_by: Annotated[str | None, Query(alias="requestedBy")] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    async with transaction(runtime) as conn:
        items, after = await repository.list_requests(
            conn, status=status, requested_by=requested_by, after=cursor, limit=limit
        )
    return page(items, after)


@router.get("/identifications/{request_id}", tags=["workers"], summary="One identification request")
async def get_identification(request_id: EntityId, runtime: Runtime, _: Operator) -> Any:
    async with transaction(runtime) as conn:
        return plain(await handlers.get_identification(conn, request_id))


@router.post(
    "/identifications/{request_id}/resolve",
    tags=["workers"],
    summary="An operator answers an identification request (FOUND or NOT_FOUND)",
)
async def post_resolution(
    request_id: EntityId, cmd: ResolveIdentification, runtime: Runtime, who: Operator
) -> Any:
    async with transaction(runtime) as conn:
        request = await handlers.resolve_identification(
            request_id, cmd, conn, context(runtime, who)
        )
    return plain(request)
