"""HTTP routes of the batch service: the upload side of the transfer point, tickets and the
answers (ACRF, NOTI, PID) of a sender.

Every route needs a bearer token with the scope ``scope:batch:sender``; the caller acts for
the sender numbers its organisation holds (registry.senders.v1: the holder itself, or any
seat or branch of the same mandatary).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from socsec.batch import handlers
from socsec.batch import repository as repo
from socsec.batch.domain.acrf import error_labels
from socsec.batch.domain.names import check_name
from socsec.batch.transfer import TransferPoint
from socsec.kit.auth import BATCH_SENDER_SCOPE, Principal, require_scopes
from socsec.kit.http import get_runtime
from socsec.kit.runtime import ServiceRuntime
from socsec.kit.telemetry import tag_declaration

router = APIRouter(prefix="/batch", tags=["batch"])
SenderAuth = Depends(require_scopes(BATCH_SENDER_SCOPE))

#: How many anomalies a ticket shows (the NOTI files hold them all).
FIRST_ANOMALIES = 20


def _deps(runtime: ServiceRuntime) -> handlers.Deps:
    return runtime.state["batch_deps"]


def _transfer(runtime: ServiceRuntime) -> TransferPoint:
    return runtime.state["batch_transfer"]


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"title": title, "status": status, "detail": detail, **extra}, status)


def _errors(ids: list[str] | tuple[str, ...]) -> list[dict[str, str]]:
    return [{"id": error, **error_labels(error)} for error in ids]


def _receipt(receipt: handlers.Receipt) -> dict[str, Any]:
    body: dict[str, Any] = {"fileName": receipt.name, "status": receipt.status}
    if receipt.set_key:
        body["set"] = receipt.set_key
    if receipt.ticket:
        body["ticket"] = receipt.ticket
    if receipt.errors:
        body["errors"] = _errors(receipt.errors)
    if receipt.redelivered:
        body["redelivered"] = True
    return body


@router.put(
    "/files/{file_name}",
    summary="Upload one file (FI, FS, GO or TD) of a sender",
    responses={
        201: {"description": "Stored (FI, FS, TD; or refused at once, with its ticket)"},
        202: {"description": "GO: the set is being checked; its ticket and ACRF follow"},
        403: {"description": "The caller does not hold the file's sender (ACRF-108 or -103)"},
    },
)
async def upload(
    file_name: str,
    request: Request,
    principal: Principal = SenderAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    deps = _deps(runtime)
    await deps.senders.wait_ready()
    check = check_name(file_name, owner=None, folder=None, today=runtime.clock.today())
    sender_number = check.name.sender if check.name else handlers.loose_elements(file_name)[0]
    refuse: tuple[str, ...] = ()
    if sender_number is not None:
        if deps.senders.get(sender_number) is None:
            refuse = ("ACRF-103",)
        elif not deps.senders.holds(principal.organisation, sender_number, deps.authorizer):
            refuse = ("ACRF-108",)
    arrival = handlers.Arrival(
        name=file_name,
        channel="HTTP",
        owner=sender_number,
        uploaded_by=principal.organisation,
        refuse=refuse,
        # Answers never go into the folder of a sender the caller does not hold.
        deliver=not refuse and sender_number is not None,
    )
    async with runtime.db.transaction() as conn:
        receipt = await handlers.receive_file(conn, deps, arrival, request.stream())
    _transfer(runtime).received(receipt)
    tag_declaration(ticket=receipt.ticket)
    body = _receipt(receipt)
    if refuse:
        body.pop("status")  # the problem's own status is the HTTP one
        return problem(
            403,
            "Forbidden",
            f"{principal.organisation} does not hold sender {sender_number}",
            **body,
        )
    headers = {"Location": f"/batch/tickets/{receipt.ticket}"} if receipt.ticket else {}
    status = 202 if check.name and check.name.prefix == "GO" and receipt.ticket else 201
    return JSONResponse(body, status_code=status, headers=headers)


def _may_see(runtime: ServiceRuntime, principal: Principal, row: Any) -> bool:
    """The holder of the set's sender, and whoever uploaded it. A set refused because its
    uploader does not hold the sender (``deliver`` false) is the uploader's only: the
    sender's holder did not send it."""
    deps = _deps(runtime)
    if principal.organisation == row["uploaded_by"]:
        return True
    return row["deliver"] and deps.senders.holds(
        principal.organisation, row["sender"], deps.authorizer
    )


@router.get("/tickets/{ticket}", summary="A set: status, ACRF, form results, NOTI and PID files")
async def get_ticket(
    ticket: str,
    principal: Principal = SenderAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    # One snapshot for every query, so the status and the answer files agree.
    async with (
        runtime.db.connection() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        row = await repo.set_by_ticket(conn, ticket)
        if row is None or not _may_see(runtime, principal, row):
            return problem(404, "Not Found", f"Ticket {ticket} not found")
        files = await repo.all_set_files(conn, row["id"])
        out = await repo.out_files_of(conn, row["id"])
        counts = await repo.result_counts(conn, ticket)
        by_code = await repo.results_by_code(conn, ticket)
        anomalies = await repo.first_anomalies(conn, ticket, FIRST_ANOMALIES)
    acrf = next((o for o in out if o["kind"] == "ACRF"), None)
    body: dict[str, Any] = {
        "ticket": ticket,
        "sender": row["sender"],
        "fileType": row["file_type"],
        "environment": row["environment"],
        "status": row["status"],
        "goFileName": row["go_name"],
        "channel": row["channel"],
        "openedAt": row["opened_at"].isoformat(),
        "triggeredAt": row["triggered_at"].isoformat() if row["triggered_at"] else None,
        "files": [
            {"name": f["name"], "size": f["size"], "superseded": f["superseded"]} for f in files
        ],
        "acrf": None,
        "forms": {
            "count": row["form_count"],
            "published": row["published"],
            "withResult": counts["results"],
            "finalReported": counts["results"] - counts["not_final"],
            "results": by_code,
        },
        "noti": [
            {"fileName": o["name"], "forms": o["forms"], "createdAt": o["created_at"].isoformat()}
            for o in out
            if o["kind"] == "NOTI"
        ],
        "pid": [
            {"fileName": o["name"], "forms": o["forms"], "createdAt": o["created_at"].isoformat()}
            for o in out
            if o["kind"] == "DPID"
        ],
        "anomalies": [
            {
                "position": a["position"],
                "result": a["result"],
                "code": a["code"],
                "severity": a["severity"],
                "labelFr": a["label_fr"] or a["description_fr"],
                "labelNl": a["label_nl"] or a["description_nl"],
                "descriptionFr": a["description_fr"],
            }
            for a in anomalies
        ],
        "complete": row["status"] in ("REFUSED", "ACKNOWLEDGED", "NOTIFIED", "CANCELLED"),
    }
    if acrf is not None:
        body["acrf"] = {
            "fileName": acrf["name"],
            "resultCode": 0 if row["acrf_errors"] else 1,
            "errors": _errors(row["acrf_errors"]),
            "detail": row["refusal_detail"],
            "createdAt": acrf["created_at"].isoformat(),
        }
    return JSONResponse(body)


@router.get(
    "/out/{file_name}",
    summary="An answer file (FO.ACRF..., FO.NOTI..., FO.DPID..., or its empty GO) of a sender",
    response_class=Response,
)
async def get_out_file(
    file_name: str,
    principal: Principal = SenderAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> Response:
    companion = file_name.startswith("GO.")
    lookup = f"FO.{file_name[3:]}" if companion else file_name
    async with runtime.db.connection() as conn:
        row = await repo.out_file(conn, lookup)
    if row is None or not _may_see(runtime, principal, row):
        return problem(404, "Not Found", f"File {file_name} not found")
    if companion:
        return Response(b"", media_type="application/octet-stream")

    async def content() -> AsyncIterator[bytes]:
        async with runtime.db.connection() as conn:
            async for piece in handlers.read_blobs(conn, [row["blob_id"]]):
                yield piece

    return StreamingResponse(
        content(),
        media_type="application/xml",
        headers={"Content-Length": str(row["size"])},
    )
