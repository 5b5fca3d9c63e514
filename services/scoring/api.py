"""HTTP routes of the scoring service (``/scoring/v1``).

- Scores: NSSO users (operator, inspection scopes) read every seat; a secretariat or
  provider (DmfA consult or declarant scope) reads only its own seat. A score is the final
  one once published, otherwise computed now from the facts (``final: false``).
- Technical controls: inspectors (inspection scope) draw a seat's sample for a quarter and
  record their findings per sampled item.
- Financial controls: NSSO users add ledger entries (JSON) or import a CSV file.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from socsec.contracts.payloads.scoring import DomainScoreFinal
from socsec.kit.auth import (
    DMFA_CONSULT_SCOPE,
    DMFA_DECLARANT_SCOPE,
    INSPECTION_SCOPE,
    OPERATOR_SCOPE,
    Principal,
    require_any_scope,
)
from socsec.kit.http import get_runtime
from socsec.kit.runtime import ServiceRuntime
from socsec.scoring.domain.catalogue import DOMAINS, QUARTERLY_DOMAINS
from socsec.scoring.domain.ledger import LedgerCsvError, LedgerEntry, parse_csv
from socsec.scoring.domain.periods import is_quarter, parse_period, quarters_of_year
from socsec.scoring.scorer import FORMULA_TEXT, quarter_total, year_total
from socsec.scoring.service import (
    Conflict,
    Invalid,
    NotFound,
    ScoringService,
    campaign_json,
)

BASE = "/scoring/v1"
NSSO_SCOPES = (INSPECTION_SCOPE, OPERATOR_SCOPE)

router = APIRouter(prefix=BASE, tags=["scoring v1"])


ReaderAuth = Depends(require_any_scope(DMFA_CONSULT_SCOPE, DMFA_DECLARANT_SCOPE, *NSSO_SCOPES))
NssoAuth = Depends(require_any_scope(*NSSO_SCOPES))
InspectorAuth = Depends(require_any_scope(INSPECTION_SCOPE))


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"title": title, "status": status, "detail": detail, **extra},
        status,
        media_type="application/problem+json",
    )


def _service(runtime: ServiceRuntime) -> ScoringService:
    return runtime.state["scoring"]


def _nsso(principal: Principal) -> bool:
    return any(principal.has_scope(s) for s in NSSO_SCOPES)


async def _may_read(service: ScoringService, conn, principal: Principal, seat: str) -> bool:  # type: ignore[no-untyped-def]
    if _nsso(principal):
        return True
    mine = await service.mandatary_of(conn, principal.organisation)
    row = await service.seat_of(conn, seat)
    return mine is not None and row is not None and row["id"] == mine


def explained(score: DomainScoreFinal, final: bool) -> dict[str, Any]:
    body = score.model_dump(mode="json")
    body["final"] = final
    body["formula"] = FORMULA_TEXT[score.formula_id]
    return body


@router.get("/catalogue", summary="The indicator catalogue versions in force")
async def get_catalogue(
    principal: Principal = ReaderAuth, runtime: ServiceRuntime = Depends(get_runtime)
) -> JSONResponse:
    catalogue = _service(runtime).catalogue
    return JSONResponse(
        {
            "versions": [
                {**v.model_dump(mode="json"), "digest": v.digest} for v in catalogue.versions
            ]
        }
    )


@router.get(
    "/seats/{seat}/scores/{period}",
    summary="Every domain's score of a seat for a quarter (S, T, F, AP, ANP) or a year (C), "
    "explained, with the total",
)
async def get_seat_scores(
    seat: str,
    period: str,
    principal: Principal = ReaderAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    service = _service(runtime)
    try:
        period = parse_period(period)
        version = service.catalogue.for_period(period)
    except ValueError as exc:
        return problem(400, "Bad Request", str(exc))
    async with runtime.db.transaction() as conn:
        row = await service.seat_of(conn, seat)
        if row is None:
            return problem(404, "Not Found", f"unknown seat {seat}")
        if not await _may_read(service, conn, principal, seat):
            return problem(403, "Forbidden", f"{principal.organisation} does not act for {seat}")
        if len(period) == 5:
            found = await service.seat_scores(conn, seat, period, QUARTERLY_DOMAINS)
            total = quarter_total(version, (s for s, _ in found.values()))
        else:
            found = await service.seat_scores(conn, seat, period, ("C",))
            quarterly: dict[str, list[DomainScoreFinal]] = {}
            for quarter in quarters_of_year(int(period)):
                if quarter < service.catalogue.versions[0].valid_from_quarter:
                    continue
                scores = await service.seat_scores(conn, seat, str(quarter), QUARTERLY_DOMAINS)
                for domain, (score, _) in scores.items():
                    quarterly.setdefault(domain, []).append(score)
            total = year_total(version, quarterly, (s for s, _ in found.values()))
    not_scored = {
        d: "financial controls apply to approved secretariats only"
        for d in ("F",)
        if len(period) == 5 and row["kind"] != "APPROVED_SECRETARIAT"
    }
    return JSONResponse(
        {
            "seat": seat,
            "provider": row["id"],
            "providerKind": row["kind"],
            "period": period,
            "domains": {d: explained(s, final) for d, (s, final) in found.items()},
            "notScored": not_scored,
            "total": total,
        }
    )


@router.get("/seats/{seat}/scores/{period}/{domain}", summary="One domain's score, explained")
async def get_domain_score(
    seat: str,
    period: str,
    domain: str,
    principal: Principal = ReaderAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    service = _service(runtime)
    try:
        period = parse_period(period)
        service.catalogue.for_period(period)
    except ValueError as exc:
        return problem(400, "Bad Request", str(exc))
    domain = domain.upper()
    if domain not in DOMAINS:
        return problem(404, "Not Found", f"unknown domain {domain}: {', '.join(DOMAINS)}")
    if (domain == "C") != (len(period) == 4):
        kind = "a year (YYYY)" if domain == "C" else "a quarter (YYYYQ)"
        return problem(400, "Bad Request", f"domain {domain} is scored per {kind}")
    async with runtime.db.transaction() as conn:
        row = await service.seat_of(conn, seat)
        if row is None:
            return problem(404, "Not Found", f"unknown seat {seat}")
        if not await _may_read(service, conn, principal, seat):
            return problem(403, "Forbidden", f"{principal.organisation} does not act for {seat}")
        found = await service.seat_scores(conn, seat, period, (domain,))
    if domain not in found:
        return problem(
            404,
            "Not Found",
            f"domain {domain} does not apply to {seat} ({row['kind']}): financial controls "
            "apply to approved secretariats only",
        )
    score, final = found[domain]
    return JSONResponse(explained(score, final))


@router.get("/scores", summary="Final scores published for a period (all seats, or yours)")
async def list_final_scores(
    period: str = Query(..., description="2026-1, 20261 or 2026."),
    domain: str | None = Query(None),
    principal: Principal = ReaderAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    service = _service(runtime)
    try:
        period = parse_period(period)
    except ValueError as exc:
        return problem(400, "Bad Request", str(exc))
    async with runtime.db.connection() as conn:
        mine = (
            None if _nsso(principal) else await service.mandatary_of(conn, principal.organisation)
        )
        if not _nsso(principal) and mine is None:
            return problem(403, "Forbidden", f"{principal.organisation} is no secretariat")
        rows = await conn.fetch(
            """SELECT f.payload FROM final_scores f
                WHERE f.period = $1 AND ($2::text IS NULL OR f.domain = $2)
                  AND ($3::text IS NULL OR f.payload->>'provider' = $3)
                ORDER BY f.seat_id, f.domain""",
            period,
            domain.upper() if domain else None,
            mine,
        )
    return JSONResponse({"items": [r["payload"] for r in rows]})


# -- technical controls --------------------------------------------------------------------


class CampaignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: str | None = Field(
        default=None, min_length=1, max_length=100, description="Empty: a random seed."
    )


class FindingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    findings: list[str] = Field(
        description="The item's failures among T1–T4; an empty list records a correct item."
    )
    note: str | None = Field(default=None, max_length=2000)


def _quarter(text: str) -> int:
    period = parse_period(text)
    if len(period) != 5 or not is_quarter(int(period)):
        raise ValueError(f"{text!r} is not a quarter")
    return int(period)


async def _campaign(conn, where: str, *args: Any) -> JSONResponse | dict[str, Any]:  # type: ignore[no-untyped-def]
    row = await conn.fetchrow(f"SELECT * FROM t_campaigns WHERE {where}", *args)
    if row is None:
        return problem(404, "Not Found", "no technical-control campaign")
    items = await conn.fetch(
        """SELECT i.*, f.indicators, f.note, f.inspector, f.recorded_at
             FROM t_items i LEFT JOIN t_findings f USING (campaign_id, item_no)
            WHERE i.campaign_id = $1 ORDER BY i.item_no""",
        row["id"],
    )
    return campaign_json(row, items)


@router.post(
    "/seats/{seat}/quarters/{quarter}/t-campaign",
    status_code=201,
    summary="Draw the technical-control sample of a seat's quarter (inspectors)",
)
async def create_campaign(
    seat: str,
    quarter: str,
    body: CampaignRequest | None = None,
    principal: Principal = InspectorAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    service = _service(runtime)
    try:
        q = _quarter(quarter)
        service.catalogue.for_quarter(q)
    except ValueError as exc:
        return problem(400, "Bad Request", str(exc))
    try:
        async with runtime.db.transaction() as conn:
            campaign = await service.create_campaign(
                conn, seat, q, body.seed if body else None, principal.client_id
            )
            result = await _campaign(conn, "id = $1", campaign)
    except NotFound as exc:
        return problem(404, "Not Found", str(exc))
    except Conflict as exc:
        return problem(409, "Conflict", str(exc))
    except Invalid as exc:
        return problem(422, "Unprocessable Entity", str(exc))
    return JSONResponse(result, 201)


@router.get(
    "/seats/{seat}/quarters/{quarter}/t-campaign",
    summary="A seat's technical-control campaign: the sample and the findings so far",
)
async def get_campaign(
    seat: str,
    quarter: str,
    principal: Principal = NssoAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    try:
        q = _quarter(quarter)
    except ValueError as exc:
        return problem(400, "Bad Request", str(exc))
    async with runtime.db.connection() as conn:
        result = await _campaign(conn, "seat_id = $1 AND quarter = $2", seat, q)
    return result if isinstance(result, JSONResponse) else JSONResponse(result)


@router.put(
    "/t-campaigns/{campaign}/items/{item_no}/findings",
    summary="Record an inspector's findings for one sampled item",
)
async def put_finding(
    campaign: uuid.UUID,
    item_no: int,
    body: FindingRequest,
    principal: Principal = InspectorAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    service = _service(runtime)
    try:
        async with runtime.db.transaction() as conn:
            await service.record_finding(
                conn, campaign, item_no, body.findings, body.note, principal.client_id
            )
    except NotFound as exc:
        return problem(404, "Not Found", str(exc))
    except Conflict as exc:
        return problem(409, "Conflict", str(exc))
    except Invalid as exc:
        return problem(422, "Unprocessable Entity", str(exc))
    return JSONResponse({"campaign": str(campaign), "itemNo": item_no, "findings": body.findings})


# -- financial ledger ----------------------------------------------------------------------


class LedgerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entries: list[dict[str, Any]] = Field(min_length=1)


@router.post("/ledger", status_code=201, summary="Add ledger entries (all or nothing)")
async def post_ledger(
    body: LedgerRequest,
    principal: Principal = NssoAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    entries, errors = [], []
    for index, raw in enumerate(body.entries):
        try:
            entries.append(LedgerEntry.model_validate(raw))
        except ValidationError as exc:
            errors.extend(
                f"entries[{index}].{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                for e in exc.errors(include_url=False)
            )
    refs = [e.reference for e in entries]
    if len(set(refs)) != len(refs):
        errors.append("references repeat within the request")
    if errors:
        return problem(422, "Unprocessable Entity", "; ".join(errors[:20]), errors=errors)
    return await _store(runtime, entries, principal)


@router.post(
    "/ledger/import",
    status_code=201,
    summary="Import a ledger CSV file (text/csv; all lines or none)",
)
async def import_ledger(
    request: Request,
    principal: Principal = NssoAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return problem(400, "Bad Request", f"the file is not UTF-8: {exc}")
    try:
        entries = parse_csv(text, max_rows=runtime.settings.scoring_max_ledger_rows)
    except LedgerCsvError as exc:
        return problem(422, "Unprocessable Entity", f"nothing imported: {exc}", errors=exc.errors)
    return await _store(runtime, entries, principal)


async def _store(runtime: ServiceRuntime, entries: list[LedgerEntry], principal: Principal):  # type: ignore[no-untyped-def]
    try:
        async with runtime.db.transaction() as conn:
            count = await _service(runtime).add_ledger(conn, entries, principal.client_id)
    except Conflict as exc:
        return problem(409, "Conflict", f"nothing imported: {exc}")
    return JSONResponse({"imported": count}, 201)


@router.get("/ledger", summary="Ledger entries of an employer's quarter")
async def get_ledger(
    employer: str = Query(..., pattern=r"^\d{9}$"),
    quarter: str = Query(...),
    principal: Principal = NssoAuth,
    runtime: ServiceRuntime = Depends(get_runtime),
) -> JSONResponse:
    try:
        q = _quarter(quarter)
    except ValueError as exc:
        return problem(400, "Bad Request", str(exc))
    async with runtime.db.connection() as conn:
        rows = await conn.fetch(
            """SELECT item, direction, amount_cents, on_date, reference, recorded_at, recorded_by
                 FROM f_ledger WHERE employer_nsso = $1 AND quarter = $2 ORDER BY id""",
            employer,
            q,
        )
    return JSONResponse(
        {
            "employer": employer,
            "quarter": q,
            "entries": [
                {
                    "item": r["item"],
                    "direction": r["direction"],
                    "amountCents": r["amount_cents"],
                    "date": r["on_date"].isoformat(),
                    "reference": r["reference"],
                    "recordedAt": r["recorded_at"].isoformat(),
                    "recordedBy": r["recorded_by"],
                }
                for r in rows
            ],
        }
    )
