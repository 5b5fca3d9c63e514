"""The crosscheck read API (``/crosscheck/v1``): mismatch instances per employer, quarter and
seat, one triple in detail, and the yearly counts per seat.

Read only. NSSO users (operator, inspection scopes) read everything; a secretariat or an
employer with the DmfA consult scope reads the employers it holds a DmfA mandate for today
and the seats of its own mandatary (registry.md §5).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from socsec.contracts.identifiers import digits
from socsec.contracts.payloads.registry import Scope
from socsec.crosscheck import handlers
from socsec.crosscheck import repository as repo
from socsec.crosscheck.domain.model import RULES
from socsec.crosscheck.domain.quarters import parse_quarter
from socsec.kit.auth import (
    DMFA_CONSULT_SCOPE,
    INSPECTION_SCOPE,
    OPERATOR_SCOPE,
    Principal,
    require_any_scope,
)
from socsec.kit.http import get_runtime, next_page_url
from socsec.kit.runtime import ServiceRuntime

BASE = "/crosscheck/v1"
MAX_PAGE_SIZE = 500
NSSO_SCOPES = (INSPECTION_SCOPE, OPERATOR_SCOPE)

router = APIRouter(prefix=BASE, tags=["crosscheck v1"])


ReaderAuth = Depends(require_any_scope(DMFA_CONSULT_SCOPE, *NSSO_SCOPES))


def problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"title": title, "status": status, "detail": detail},
        status,
        media_type="application/problem+json",
    )


def _nsso(principal: Principal) -> bool:
    return any(principal.has_scope(s) for s in NSSO_SCOPES)


def _deps(runtime: ServiceRuntime) -> handlers.Deps:
    return runtime.state["crosscheck_deps"]


def may_read_employer(runtime: ServiceRuntime, principal: Principal, employer: str) -> bool:
    """NSSO users, the employer itself, or a mandatary with a DmfA mandate for it today."""
    if _nsso(principal):
        return True
    return bool(
        runtime.authorizer.may_act(
            principal.organisation, employer, Scope.DMFA, runtime.clock.today()
        )
    )


def may_read_seat(runtime: ServiceRuntime, principal: Principal, seat: str) -> bool:
    """NSSO users, or a client of the mandatary the seat belongs to."""
    if _nsso(principal):
        return True
    mine = runtime.authorizer.mandatary_of(principal.organisation)
    return mine is not None and mine == runtime.authorizer.mandatary_of(seat)


def _rules(row: Any) -> dict[str, int]:
    return {str(rule): row[rule.lower()] for rule in RULES if row[rule.lower()]}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def mismatch_item(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "employer": row["employer_nsso"],
        "quarter": row["quarter"],
        "insz": row["insz"],
        "rules": _rules(row),
        "codes": list(row["codes"]),
        "state": "OPEN" if row["resolved_at"] is None else "RESOLVED",
        "openedAt": _iso(row["opened_at"]),
        "openedBy": row["opened_by"],
        "resolvedAt": _iso(row["resolved_at"]),
        "resolvedBy": row["resolved_by"],
        "lifetimeDays": row["lifetime_days"],
        "secretariat": row["secretariat"],
        "seat": row["seat_id"],
    }


def _employer(text: str) -> str:
    number = digits(text, 9)
    if len(number) != 9:
        raise ValueError(f"{text!r} is not an NSSO number")
    return number


@router.get("/mismatches", summary="Mismatch instances per employer, quarter and seat")
async def list_mismatches(
    request: Request,
    employer: str | None = Query(None, description="NSSO number of the employer."),
    quarter: str | None = Query(None, description="2025-1 or 20251."),
    seat: str | None = Query(None, description="Seat id the employer counts for."),
    state: str = Query("open", pattern="^(open|resolved|all)$"),
    page: int = Query(1, ge=1),
    page_size: int = Query(100, ge=1, le=MAX_PAGE_SIZE, alias="pageSize"),
    principal: Principal = ReaderAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    try:
        q = parse_quarter(quarter) if quarter else None
        nsso = _employer(employer) if employer else None
    except ValueError as exc:
        return problem(400, "Bad Request", str(exc))
    employers: list[str] | None = [nsso] if nsso else None
    if nsso is not None and not may_read_employer(runtime, principal, nsso):
        return problem(403, "Forbidden", f"No valid DmfA mandate for employer {nsso}")
    if seat is not None and not may_read_seat(runtime, principal, seat):
        return problem(403, "Forbidden", f"{principal.organisation} does not act for seat {seat}")
    if not _nsso(principal) and nsso is None and seat is None:
        employers = runtime.authorizer.employers_of(
            principal.organisation, Scope.DMFA, runtime.clock.today()
        )
    async with runtime.db.connection() as conn:
        rows = await repo.search_mismatches(
            conn,
            employers=employers,
            quarter=q,
            seat=seat,
            state=state,
            offset=(page - 1) * page_size,
            limit=page_size + 1,
        )
    return JSONResponse(
        {
            "items": [mismatch_item(r) for r in rows[:page_size]],
            "next": next_page_url(request, page, page_size, len(rows) > page_size),
        }
    )


@router.get(
    "/employers/{employer}/quarters/{quarter}",
    summary="An employer's quarter judged now: counts, per rule, codes and open mismatches",
)
async def get_employer_quarter(
    employer: str,
    quarter: str,
    principal: Principal = ReaderAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    try:
        q = parse_quarter(quarter)
        nsso = _employer(employer)
    except ValueError as exc:
        return problem(400, "Bad Request", str(exc))
    if not may_read_employer(runtime, principal, nsso):
        return problem(403, "Forbidden", f"No valid DmfA mandate for employer {nsso}")
    async with runtime.db.transaction() as conn:
        summary = await handlers.quarter_summary(conn, _deps(runtime), nsso, q)
        rows = await repo.search_mismatches(
            conn, employers=[nsso], quarter=q, seat=None, state="open", offset=0, limit=100_000
        )
    return JSONResponse(
        {
            "employer": nsso,
            "quarter": q,
            "declared": summary.declared,
            "triples": summary.triples,
            "mismatching": summary.mismatching,
            "dmfaWorkersNbr": summary.dmfa_workers,
            "dimonaWorkersNbr": summary.dimona_workers,
            "perRule": {str(rule): n for rule, n in summary.per_rule.items()},
            "declarationCodes": list(summary.declaration_codes),
            "openMismatches": [mismatch_item(r) for r in rows],
        }
    )


@router.get(
    "/employers/{employer}/quarters/{quarter}/workers/{insz}",
    summary="One triple: judged now, and the history of its mismatch instances",
)
async def get_triple(
    employer: str,
    quarter: str,
    insz: str,
    principal: Principal = ReaderAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    try:
        q = parse_quarter(quarter)
        nsso = _employer(employer)
    except ValueError as exc:
        return problem(400, "Bad Request", str(exc))
    worker = digits(insz, 11)
    if not may_read_employer(runtime, principal, nsso):
        return problem(403, "Forbidden", f"No valid DmfA mandate for employer {nsso}")
    async with runtime.db.transaction() as conn:
        declared = await repo.declaration(conn, nsso, q)
        evaluation = await handlers.evaluate_now(conn, _deps(runtime), nsso, q, worker)
        history = await repo.triple_history(conn, nsso, q, worker)
    judged = bool(declared and declared["complete"])
    return JSONResponse(
        {
            "employer": nsso,
            "quarter": q,
            "insz": worker,
            "declared": judged,
            "present": evaluation.present,
            "failing": judged and evaluation.failing,
            "rules": {str(r): n for r, n in evaluation.counts.items()} if judged else {},
            "codes": list(evaluation.codes) if judged else [],
            "instances": [mismatch_item(r) for r in history],
        }
    )


def _seat_item(row: Any) -> dict[str, Any]:
    return {
        "seat": row["seat_id"],
        "employers": row["employers"],
        "triples": row["triples"],
        "mismatching": row["mismatching"],
        "perRule": {f"C{i}": row[f"c{i}"] for i in range(1, 7)},
    }


@router.get("/years/{year}", summary="The yearly recomputation: totals and counts per seat")
async def get_year(
    year: int,
    principal: Principal = ReaderAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    async with runtime.db.connection() as conn:
        run = await repo.yearly_run(conn, year)
        seats = await repo.yearly_seats(conn, year) if run else []
    if run is None:
        return problem(404, "Not Found", f"No cross-check run for {year} (socsec crosscheck run)")
    nsso = _nsso(principal)
    body: dict[str, Any] = {
        "year": year,
        "computedAt": _iso(run["computed_at"]),
        "evaluationDate": _iso(run["evaluation_date"]),
        "provisional": run["provisional"],
        "seats": [
            _seat_item(s)
            for s in seats
            if nsso or (s["seat_id"] and may_read_seat(runtime, principal, s["seat_id"]))
        ],
    }
    if nsso:
        body.update(
            {
                "employerQuarters": run["employer_quarters"],
                "triples": run["triples"],
                "mismatching": run["mismatching"],
                "perRule": {f"C{i}": run[f"c{i}"] for i in range(1, 7)},
                "disagreements": run["disagreements"],
                "durationMs": run["duration_ms"],
                "settings": json.loads(run["settings_text"]),
            }
        )
    return JSONResponse(body)


@router.get("/years/{year}/mismatches", summary="The mismatching triples of a yearly run")
async def list_yearly_mismatches(
    request: Request,
    year: int,
    seat: str | None = Query(None),
    employer: str | None = Query(None),
    page: int = Query(1, ge=1),
    page_size: int = Query(100, ge=1, le=MAX_PAGE_SIZE, alias="pageSize"),
    principal: Principal = ReaderAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    try:
        nsso = _employer(employer) if employer else None
    except ValueError as exc:
        return problem(400, "Bad Request", str(exc))
    if not _nsso(principal):
        if seat is None and nsso is None:
            return problem(403, "Forbidden", "Name a seat or an employer you act for")
        if seat is not None and not may_read_seat(runtime, principal, seat):
            return problem(403, "Forbidden", f"{principal.organisation} does not act for {seat}")
        if nsso is not None and not may_read_employer(runtime, principal, nsso):
            return problem(403, "Forbidden", f"No valid DmfA mandate for employer {nsso}")
    async with runtime.db.connection() as conn:
        rows = await repo.yearly_mismatches(
            conn,
            year,
            seat=seat,
            employer=nsso,
            offset=(page - 1) * page_size,
            limit=page_size + 1,
        )
    items = [
        {
            "employer": r["employer_nsso"],
            "quarter": r["quarter"],
            "insz": r["insz"],
            "rules": _rules(r),
            "codes": list(r["codes"]),
            "secretariat": r["secretariat"],
            "seat": r["seat_id"],
        }
        for r in rows[:page_size]
    ]
    return JSONResponse(
        {"items": items, "next": next_page_url(request, page, page_size, len(rows) > page_size)}
    )
