"""Use cases of the reports service. Each takes the caller's connection (one transaction,
opened by the entry point: a Kafka message, an HTTP request or the deadline job) and its
dependencies; every transition is stored, published through the outbox and given its
documents and timers in that same transaction."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg

from socsec.contracts.events import ContractError
from socsec.contracts.payloads.registry import MandataryChanged
from socsec.contracts.payloads.reports import ReportTransitioned
from socsec.contracts.payloads.scoring import DomainScoreFinal
from socsec.kit.clock import Clock
from socsec.kit.outbox import Outbox
from socsec.reports import documents
from socsec.reports import repository as repo
from socsec.reports.domain import annual as year_rules
from socsec.reports.domain import model
from socsec.reports.domain.deadlines import ProcedureRules, day_of, expires_at
from socsec.reports.domain.model import (
    Decision,
    Event,
    Kind,
    ProcedureError,
    State,
    Step,
    TimerKind,
)

log = logging.getLogger(__name__)

TOPIC = "reports.events.v1"
SYSTEM = "system"
_NAMESPACE = uuid.UUID("5b0f3c1e-2f0a-4f43-9d0e-8d7a1a0c6e51")


class ReportNotFound(Exception):
    """No report with this id (or not one the caller may see)."""


class InvalidScore(ContractError):
    """A score event the procedure cannot take (it goes to the dead-letter topic)."""


@dataclass
class Deps:
    outbox: Outbox
    clock: Clock
    rules: ProcedureRules = field(default_factory=ProcedureRules)
    bands: year_rules.Bands = field(default_factory=year_rules.Bands)
    weights: Mapping[str, float] = field(default_factory=dict)
    default_language: str = "fr"
    issue_automatically: bool = True
    include_providers: bool = False
    global_start: Callable[[int], date] = lambda year: date(year + 1, 9, 30)


def report_id_for(natural_key: str) -> UUID:
    """The stable id of a report: the same trigger always names the same report."""
    return uuid.uuid5(_NAMESPACE, natural_key)


# -- Applying steps --------------------------------------------------------------------


def _with(row: Mapping[str, Any], p: model.Procedure) -> dict[str, Any]:
    out = dict(row)
    out.update(
        state=str(p.state),
        score=p.score,
        final_score=p.final_score,
        draft_received_on=p.draft_received_on,
        reaction_deadline=p.reaction_deadline,
        reaction_received_on=p.reaction_received_on,
        answer_deadline=p.answer_deadline,
        answered_on=p.answered_on,
        final_sent_on=p.final_sent_on,
        flags=sorted(str(f) for f in p.flags),
    )
    return out


async def _addressee(conn: asyncpg.Connection, provider: str | None) -> str | None:
    if provider is None:
        return None
    s = await repo.secretariat(conn, provider)
    return s["legal_name"] if s else provider


async def _apply(
    conn: asyncpg.Connection,
    deps: Deps,
    row: Mapping[str, Any],
    steps: list[Step],
    actor: str,
    act: tuple[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Persist ``steps`` of one report: state, history, the actor's act (with the last
    step), documents, the published event and the timers. Then what a final report
    starts (the annual report, the global report)."""
    current = dict(row)
    version = current["last_version"]
    addressee = await _addressee(conn, current["provider"])
    for i, step in enumerate(steps):
        if act is not None and i == len(steps) - 1:
            await repo.insert_act(conn, current["id"], act[0], step.at, actor, act[1])
        view_row = _with(current, step.after)
        doc_version: int | None = None
        if step.documents:
            acts = [dict(a) for a in await repo.acts(conn, current["id"])]
            for label in step.documents:
                version += 1
                doc_version = version
                final_band = deps.bands.of(step.after.final_score) if label == "FINAL" else None
                rendered = await asyncio.to_thread(
                    documents.render,
                    documents.DocumentInput(
                        report=view_row,
                        label=label,
                        version=version,
                        issued_at=step.at,
                        addressee=addressee,
                        acts=acts,
                        final_band=final_band,
                    ),
                )
                await repo.insert_document(
                    conn,
                    current["id"],
                    version,
                    label,
                    step.at,
                    current["language"],
                    rendered.html,
                    rendered.pdf,
                    rendered.sha256,
                )
        current = dict(await repo.save_procedure(conn, current["id"], step.after, step.at, version))
        await repo.insert_transition(
            conn,
            current["id"],
            str(step.event),
            str(step.from_state),
            str(step.to_state),
            step.at,
            actor,
            doc_version,
        )
        await _publish(conn, deps, current, step, actor, doc_version)
        wanted = {k: (d, expires_at(d)) for k, d in model.timers(step.after).items()}
        await repo.set_timers(conn, current["id"], wanted, step.at)
        if step.event == Event.ANSWER_OVERDUE:
            detail = (
                f"motivated answer overdue: {current['kind']} report {current['id']} of "
                f"{current['provider']} ({current['seat']}, {current['domain'] or ''} "
                f"{current['period']}), deadline {current['answer_deadline']}"
            )
            await repo.insert_alert(conn, current["id"], "ANSWER_OVERDUE", step.at, detail)
            log.warning("ALERT %s", detail)
    if steps and steps[-1].from_state != State.FINAL_SENT and current["state"] == State.FINAL_SENT:
        at = steps[-1].at
        if current["kind"] == Kind.DOMAIN:
            await _maybe_start_annual(conn, deps, current, at)
        elif current["kind"] == Kind.ANNUAL:
            await _maybe_start_global(conn, deps, current["year"], at)
    return current


async def _publish(
    conn: asyncpg.Connection,
    deps: Deps,
    row: Mapping[str, Any],
    step: Step,
    actor: str,
    doc_version: int | None,
) -> None:
    band = deps.bands.of(row["final_score"] if row["final_score"] is not None else row["score"])
    payload = ReportTransitioned(
        report_id=row["id"],
        kind=row["kind"],
        provider=row["provider"],
        provider_kind=row["provider_kind"],
        seat=row["seat"],
        domain=row["domain"],
        period=row["period"],
        language=row["language"],
        event=str(step.event),
        from_state=str(step.from_state),
        to_state=str(step.to_state),
        at=step.at,
        actor=actor,
        draft_received_on=row["draft_received_on"],
        reaction_deadline=row["reaction_deadline"],
        reaction_received_on=row["reaction_received_on"],
        answer_deadline=row["answer_deadline"],
        score=row["score"],
        final_score=row["final_score"],
        band=band if row["kind"] != Kind.GLOBAL else None,
        flags=tuple(row["flags"]),
        document_version=doc_version,
    )
    await deps.outbox.publish(
        conn, TOPIC, event_type="ReportTransitioned", key=str(row["id"]), payload=payload
    )


async def _language(conn: asyncpg.Connection, deps: Deps, provider: str | None) -> str:
    s = await repo.secretariat(conn, provider) if provider else None
    if s is not None and s["language"] in ("fr", "nl"):
        return s["language"]
    return deps.default_language


async def _create(
    conn: asyncpg.Connection,
    deps: Deps,
    *,
    kind: Kind,
    natural_key: str,
    provider: str | None,
    provider_kind: str | None,
    seat: str | None,
    domain: str | None,
    period: str,
    score: float | None,
    content: Mapping[str, Any],
    at: datetime,
    ready_event: Event,
) -> dict[str, Any] | None:
    """A new domain or annual report, ready for its draft (and the draft issued when
    configured); None when it exists already."""
    procedure = model.collecting(kind, score)
    report_id = report_id_for(natural_key)
    created = await repo.insert_report(
        conn,
        report_id=report_id,
        kind=kind,
        natural_key=natural_key,
        provider=provider,
        provider_kind=provider_kind,
        seat=seat,
        domain=domain,
        period=period,
        language=await _language(conn, deps, provider),
        procedure=procedure,
        band=deps.bands.of(score),
        content=content,
        at=at,
    )
    if not created:
        return None
    row = await repo.report(conn, report_id)
    assert row is not None
    steps = model.ready(procedure, at, ready_event)
    if deps.issue_automatically:
        steps += model.issue_draft(steps[-1].after, at, deps.rules)
    return await _apply(conn, deps, row, steps, SYSTEM)


# -- Kafka: scores and the registry ----------------------------------------------------


async def on_domain_score_final(
    conn: asyncpg.Connection, deps: Deps, score: DomainScoreFinal
) -> dict[str, Any] | None:
    """A domain's score is final for a seat and period: its report is ready for the draft,
    issued at once by default. A repeated score for the same seat, domain and period
    changes nothing (a published score is never rewritten)."""
    if score.domain == "F" and score.provider_kind != year_rules.APPROVED:
        raise InvalidScore(
            f"score {score.score_id}: domain F applies to approved secretariats only, "
            f"{score.provider} is a {score.provider_kind} (Art. 53/3)"
        )
    if score.applicable and score.score is None:
        raise InvalidScore(f"score {score.score_id}: applicable but without a score")
    key = f"DOMAIN:{score.seat}:{score.domain}:{score.period}"
    created = await _create(
        conn,
        deps,
        kind=Kind.DOMAIN,
        natural_key=key,
        provider=score.provider,
        provider_kind=score.provider_kind,
        seat=score.seat,
        domain=score.domain,
        period=score.period,
        score=score.score if score.applicable else None,
        content=score.model_dump(mode="json"),
        at=deps.clock.now(),
        ready_event=Event.SCORE_FINAL,
    )
    if created is None:
        existing = await repo.report_by_key(conn, key)
        if existing is not None and existing["content"].get("score_id") != str(score.score_id):
            log.warning(
                "ignoring score %s for %s: the report %s exists from score %s",
                score.score_id,
                key,
                existing["id"],
                existing["content"].get("score_id"),
            )
    return created


async def on_mandatary_changed(conn: asyncpg.Connection, m: MandataryChanged) -> None:
    """Keep the addressee, language, kind and approval of a secretariat."""
    await repo.upsert_secretariat(conn, m)


# -- Annual and global reports ---------------------------------------------------------


async def _maybe_start_annual(
    conn: asyncpg.Connection, deps: Deps, domain_report: Mapping[str, Any], at: datetime
) -> dict[str, Any] | None:
    seat, year = domain_report["seat"], domain_report["year"]
    provider_kind = domain_report["provider_kind"]
    # Under READ COMMITTED the check below then sees every report made final before.
    await repo.lock_name(conn, f"annual:{seat}:{year}")
    finals = [
        year_rules.FinalDomainScore(r["domain"], r["period"], r["final_score"])
        for r in await repo.final_domain_reports(conn, seat, year)
    ]
    if year_rules.missing(provider_kind, year, finals):
        return None
    result = year_rules.year_result(
        provider_kind, year, finals, weights=deps.weights, bands=deps.bands
    )
    language = await _language(conn, deps, domain_report["provider"])
    content = {
        "year": year,
        "provider_kind": provider_kind,
        "domains": [
            {"domain": d.domain, "score": d.score, "band": d.band, "periods": dict(d.periods)}
            for d in result.domains
        ],
        "total": result.total,
        "band": result.band,
        "recommendations": year_rules.recommendations(result, language),
        "improvement_trajectory": result.needs_trajectory,
    }
    await _ensure_global(conn, deps, year, at)
    return await _create(
        conn,
        deps,
        kind=Kind.ANNUAL,
        natural_key=f"ANNUAL:{seat}:{year}",
        provider=domain_report["provider"],
        provider_kind=provider_kind,
        seat=seat,
        domain=None,
        period=str(year),
        score=result.total,
        content=content,
        at=at,
        ready_event=Event.YEAR_COMPLETE,
    )


async def _ensure_global(conn: asyncpg.Connection, deps: Deps, year: int, at: datetime) -> None:
    procedure = model.waiting()
    key = f"GLOBAL:{year}"
    created = await repo.insert_report(
        conn,
        report_id=report_id_for(key),
        kind=Kind.GLOBAL,
        natural_key=key,
        provider=None,
        provider_kind=None,
        seat=None,
        domain=None,
        period=str(year),
        language=deps.default_language,
        procedure=procedure,
        band=None,
        content={"year": year},
        at=at,
    )
    if created:
        row = await repo.report(conn, report_id_for(key))
        assert row is not None
        step = Step(Event.YEAR_OPENED, State.WAITING, State.WAITING, procedure, at)
        await _apply(conn, deps, row, [step], SYSTEM)


async def _global_scope(
    conn: asyncpg.Connection, deps: Deps, year: int
) -> tuple[list[year_rules.AnnualFinal], list[str]]:
    scope = await repo.secretariats_in_scope(conn, year, deps.include_providers)
    annual = {r["provider"]: r for r in await repo.annual_reports(conn, year)}
    finals, missing = [], []
    for s in scope:
        r = annual.get(s["id"])
        if r is None or r["state"] != State.FINAL_SENT:
            missing.append(s["id"])
            continue
        finals.append(
            year_rules.AnnualFinal(
                provider=s["id"],
                seat=r["seat"],
                name=s["legal_name"],
                total=r["final_score"],
                band=deps.bands.of(r["final_score"]),
                domains={d["domain"]: d["score"] for d in r["content"]["domains"]},
            )
        )
    return finals, missing


async def _maybe_start_global(
    conn: asyncpg.Connection, deps: Deps, year: int, at: datetime, *, force: bool = False
) -> bool:
    """WAITING -> DRAFTING when every annual report in scope is final (or, with ``force``,
    at the configured start date, listing the missing ones)."""
    row = await repo.lock_report(conn, report_id_for(f"GLOBAL:{year}"))
    if row is None or row["state"] != State.WAITING:
        return False
    finals, missing = await _global_scope(conn, deps, year)
    if (missing or not finals) and not force:
        return False
    content = year_rules.global_evaluation(year, finals, missing)
    await repo.update_content(conn, row["id"], content, None)
    row = await repo.report(conn, row["id"])
    assert row is not None
    await _apply(conn, deps, row, model.start_drafting(repo.procedure_of(row), at), SYSTEM)
    return True


async def start_due_global_reports(conn: asyncpg.Connection, deps: Deps) -> int:
    """Global reports still waiting at their ``global_report_start_date`` start drafting
    with the missing annual reports listed."""
    today = deps.clock.today()
    started = 0
    for r in await repo.waiting_global_reports(conn):
        if deps.global_start(r["year"]) <= today:
            started += await _maybe_start_global(
                conn, deps, r["year"], deps.clock.now(), force=True
            )
    return started


# -- Deadlines -------------------------------------------------------------------------


async def expire_report(conn: asyncpg.Connection, deps: Deps, report_id: UUID) -> bool:
    """Act on the expired deadlines of one report, if no other transaction holds it (the
    deadline job of every instance calls this; the row lock makes one of them act)."""
    row = await repo.lock_report(conn, report_id, skip_locked=True)
    if row is None:
        return False
    now = deps.clock.now()
    due = [
        TimerKind(t["kind"])
        for t in await repo.open_timers(conn, report_id)
        if t["fires_at"] <= now
    ]
    if not due:
        return False
    await repo.mark_fired(conn, report_id, due, now)
    steps = model.expire(repo.procedure_of(row), now, deps.rules)
    if steps:
        await _apply(conn, deps, row, steps, SYSTEM)
    return bool(steps)


# -- Acts over the API -----------------------------------------------------------------


async def _locked(conn: asyncpg.Connection, report_id: UUID) -> asyncpg.Record:
    row = await repo.lock_report(conn, report_id)
    if row is None:
        raise ReportNotFound(str(report_id))
    return row


async def issue_draft(
    conn: asyncpg.Connection, deps: Deps, report_id: UUID, actor: str
) -> dict[str, Any]:
    """The NSSO issues the draft of a report ready for it."""
    row = await _locked(conn, report_id)
    if row["kind"] == Kind.GLOBAL:
        raise ProcedureError("WRONG_KIND", "a global report has no draft to issue")
    steps = model.issue_draft(repo.procedure_of(row), deps.clock.now(), deps.rules)
    return await _apply(conn, deps, row, steps, actor)


async def react(
    conn: asyncpg.Connection,
    deps: Deps,
    report_id: UUID,
    actor: str,
    decision: Decision,
    arguments: str | None,
) -> dict[str, Any]:
    """The secretariat's reaction (acceptance or contest) to a draft."""
    row = await _locked(conn, report_id)
    at = deps.clock.now()
    steps = model.react(repo.procedure_of(row), at, decision, arguments, deps.rules)
    body = {
        "decision": str(decision),
        "arguments": arguments,
        "received_on": day_of(at).isoformat(),
        "late": steps[-1].event == Event.LATE_REACTION,
    }
    act = "LATE_REACTION" if body["late"] else "REACTION"
    return await _apply(conn, deps, row, steps, actor, (act, body))


async def answer(
    conn: asyncpg.Connection,
    deps: Deps,
    report_id: UUID,
    actor: str,
    text: str,
    revised_score: float | None,
    reasons: str | None,
    revised_observations: list[str],
) -> dict[str, Any]:
    """The NSSO inspection's motivated answer, sent with the final report."""
    if not text.strip():
        raise ProcedureError("ANSWER_REQUIRED", "the motivated answer is empty", conflict=False)
    row = await _locked(conn, report_id)
    at = deps.clock.now()
    steps = model.answer(repo.procedure_of(row), at, revised_score, reasons, deps.rules)
    body = {
        "answer": text,
        "revised_score": steps[-1].after.final_score if revised_score is not None else None,
        "reasons": reasons,
        "revised_observations": revised_observations,
        "overdue": model.Flag.ANSWER_OVERDUE in steps[-1].after.flags,
    }
    return await _apply(conn, deps, row, steps, actor, ("ANSWER", body))


async def concertation(
    conn: asyncpg.Connection,
    deps: Deps,
    report_id: UUID,
    actor: str,
    held_on: date,
    participants: list[str],
    minutes: str,
) -> dict[str, Any]:
    """A concertation meeting on the draft: recorded; the reaction deadline runs on."""
    row = await _locked(conn, report_id)
    steps = model.concertation(repo.procedure_of(row), deps.clock.now(), deps.rules)
    body = {"held_on": held_on.isoformat(), "participants": participants, "minutes": minutes}
    return await _apply(conn, deps, row, steps, actor, ("CONCERTATION", body))


async def comment(
    conn: asyncpg.Connection, deps: Deps, report_id: UUID, actor: str, text: str, author: str
) -> dict[str, Any]:
    """A comment on a report; on a global report in consultation, a comment of the
    consultation with the Union of Social Secretariats."""
    if not text.strip():
        raise ProcedureError("TEXT_REQUIRED", "the comment is empty", conflict=False)
    row = await _locked(conn, report_id)
    p = repo.procedure_of(row)
    at = deps.clock.now()
    if row["kind"] == Kind.GLOBAL:
        steps = model.comment_consultation(p, at)
        act = "CONSULTATION_COMMENT"
    else:
        steps = model.comment(p, at)
        act = "COMMENT"
    return await _apply(conn, deps, row, steps, actor, (act, {"text": text, "author": author}))


async def global_transition(
    conn: asyncpg.Connection,
    deps: Deps,
    year: int,
    actor: str,
    to: State,
    body: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Move the global evaluation report of ``year``: consultation, adoption, meeting."""
    row = await _locked(conn, report_id_for(f"GLOBAL:{year}"))
    p = repo.procedure_of(row)
    at = deps.clock.now()
    if to == State.IN_CONSULTATION:
        return await _apply(conn, deps, row, model.open_consultation(p, at), actor)
    if to == State.ADOPTED:
        return await _apply(conn, deps, row, model.adopt(p, at), actor)
    if to == State.DISCUSSED:
        return await _apply(conn, deps, row, model.discuss(p, at), actor, ("MEETING", body or {}))
    raise ProcedureError("WRONG_STATE", f"the global report cannot be moved to {to}")


async def add_improvement_item(
    conn: asyncpg.Connection,
    deps: Deps,
    report_id: UUID,
    actor: str,
    kind: str,
    text: str,
    due_on: date | None,
) -> dict[str, Any]:
    """Attach a recommendation, directive or trajectory step to a final annual report."""
    row = await _locked(conn, report_id)
    if row["kind"] != Kind.ANNUAL or row["state"] != State.FINAL_SENT:
        raise ProcedureError(
            "NOT_FINAL_ANNUAL", "improvement items go on a final annual report only"
        )
    if not text.strip():
        raise ProcedureError("TEXT_REQUIRED", "the item has no text", conflict=False)
    item = await repo.add_improvement_item(
        conn, report_id, kind, text, due_on, deps.clock.now(), actor
    )
    return dict(item)


async def set_improvement_status(
    conn: asyncpg.Connection, deps: Deps, report_id: UUID, n: int, status: str, actor: str
) -> dict[str, Any]:
    """Follow an improvement item up (OPEN, DONE, DROPPED); the report does not change."""
    item = await repo.set_improvement_status(conn, report_id, n, status, deps.clock.now(), actor)
    if item is None:
        raise ReportNotFound(f"{report_id} item {n}")
    return dict(item)
