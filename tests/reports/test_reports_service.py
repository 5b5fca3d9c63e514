"""The reports service end to end on real Kafka and PostgreSQL: domain scores in, drafts,
reactions, motivated answers, deadline expiry on the business clock, documents, the annual
and the global report, reports.events.v1 and the API's access rules."""

from __future__ import annotations

import pytest
from dimona.dimona_fixtures import read_topic
from reports.reports_fixtures import (
    EXEMPLUM,
    PAYPRO,
    ReportsStack,
    domain_score,
    eventually,
    report_events,
    start_stack,
    transitions,
)
from reports_domain.reports_pdf import bar_pixels, ink, read_pdf

from socsec.contracts.envelope import Envelope


@pytest.fixture
async def stack(env):
    s = await start_stack(env)
    yield s
    await s.close()


async def test_contest_and_motivated_answer_with_revised_score(stack: ReportsStack, env) -> None:
    await stack.publish_score(domain_score(EXEMPLUM, "S", "20261", 72.5))
    report_id = await stack.report("S-EXEMPLUM-BXL", "S", "20261", "DRAFT_SENT")

    # The secretariat reads its draft: available today, 15 working days to react.
    stack.as_secretariat("S-EXEMPLUM-BXL")
    mine = (await stack.get("/reports")).json()["items"]
    assert [r["id"] for r in mine] == [report_id]
    draft = mine[0]
    assert (draft["draftReceivedOn"], draft["reactionDeadline"]) == ("2026-03-02", "2026-03-23")
    assert draft["language"] == "fr" and draft["score"] == 72.5 and draft["band"] == "LESS_GOOD"

    # Another secretariat is refused the report, its documents and a reaction.
    stack.as_secretariat("M-PAYPRO")
    assert (await stack.get(f"/reports/{report_id}")).status_code == 403
    assert (await stack.get(f"/reports/{report_id}/documents/1.pdf")).status_code == 403
    contest = {"decision": "CONTEST", "arguments": "not ours"}
    assert (await stack.post(f"/reports/{report_id}/reaction", contest)).status_code == 403
    assert (await stack.get("/reports")).json()["items"] == []
    assert (await stack.get("/reports", provider="M-EXEMPLUM")).status_code == 403

    # A concertation meeting is recorded; the reaction deadline does not move.
    await stack.set_clock("2026-03-10T14:00:00")
    stack.as_inspection()
    meeting = {"heldOn": "2026-03-10", "participants": ["NSSO", "Exemplum"], "minutes": "S2"}
    held = await stack.post(f"/reports/{report_id}/concertations", meeting)
    assert held.status_code == 200, held.text
    assert (held.json()["state"], held.json()["reactionDeadline"]) == ("DRAFT_SENT", "2026-03-23")

    # The contest on 20 March: the answer is due 13 April (Easter Monday skipped).
    await stack.set_clock("2026-03-20T16:30:00")
    stack.as_secretariat("M-EXEMPLUM")
    no_arguments = await stack.post(f"/reports/{report_id}/reaction", {"decision": "CONTEST"})
    assert no_arguments.status_code == 400
    assert no_arguments.json()["code"] == "ARGUMENTS_REQUIRED"
    arguments = "Employer 187654356 sent its DmfA on time (ticket T1)."
    reacted = await stack.post(
        f"/reports/{report_id}/reaction", {"decision": "CONTEST", "arguments": arguments}
    )
    assert reacted.status_code == 200, reacted.text
    body = reacted.json()
    assert (body["state"], body["reactionReceivedOn"], body["answerDeadline"]) == (
        "REACTION_RECEIVED",
        "2026-03-20",
        "2026-04-13",
    )
    again = await stack.post(f"/reports/{report_id}/reaction", {"decision": "ACCEPT"})
    assert (again.status_code, again.json()["code"]) == (409, "ALREADY_REACTED")

    # Only the NSSO inspection answers; a revised score needs its reasons.
    answer = {"answer": "The DmfA was indeed on time.", "revisedScore": 77.5}
    assert (await stack.post(f"/reports/{report_id}/answer", answer)).status_code == 403
    await stack.set_clock("2026-04-02T11:00:00")
    stack.as_inspection()
    refused = await stack.post(f"/reports/{report_id}/answer", answer)
    assert (refused.status_code, refused.json()["code"]) == (400, "REASONS_REQUIRED")
    answer |= {"reasons": "S1 for 187654356 withdrawn", "revisedObservations": ["S1 withdrawn"]}
    answered = await stack.post(f"/reports/{report_id}/answer", answer)
    assert answered.status_code == 200, answered.text
    final = answered.json()
    assert (final["state"], final["finalScore"], final["score"]) == ("FINAL_SENT", 77.5, 72.5)
    assert final["finalSentOn"] == "2026-04-02"
    assert [(d["version"], d["label"]) for d in final["documents"]] == [
        (1, "DRAFT"),
        (2, "REACTION"),
        (3, "ANSWER"),
        (4, "FINAL"),
    ]
    assert [a["act"] for a in final["acts"]] == ["CONCERTATION", "REACTION", "ANSWER"]

    # Every transition is on reports.events.v1, in order.
    events = await report_events(env, report_id, 5)
    assert transitions(events) == [
        ("SCORE_FINAL", "COLLECTING", "READY_FOR_DRAFT"),
        ("DRAFT_ISSUED", "READY_FOR_DRAFT", "DRAFT_SENT"),
        ("CONCERTATION_HELD", "DRAFT_SENT", "DRAFT_SENT"),
        ("CONTESTED", "DRAFT_SENT", "REACTION_RECEIVED"),
        ("ANSWERED", "REACTION_RECEIVED", "FINAL_SENT"),
    ]
    assert events[-1]["final_score"] == 77.5 and events[-1]["document_version"] == 4
    assert events[1]["reaction_deadline"] == "2026-03-23" and events[1]["document_version"] == 1
    assert {e["seat"] for e in events} == {"S-EXEMPLUM-BXL"}

    # The secretariat downloads the final report: a real PDF a reader can see.
    stack.as_secretariat("M-EXEMPLUM")
    pdf = await stack.get(f"/reports/{report_id}/documents/4.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    pages, images, text = read_pdf(pdf.content)
    assert pages >= 1 and ink(images[0]) > 0.01 and bar_pixels(images[0]) > 300
    for seen in ("Rapport final", "Score final", "77.5", "13/04/2026", "S1 withdrawn"):
        assert seen in text, seen
    html = await stack.get(f"/reports/{report_id}/documents/1.html")
    assert html.status_code == 200 and "Projet de rapport" in html.text and "<svg" in html.text
    assert (await stack.get(f"/reports/{report_id}/documents/9.pdf")).status_code == 404
    assert (await stack.get(f"/reports/{report_id}/documents/1.doc")).status_code == 400

    # Document versions are immutable in the database.
    with pytest.raises(Exception, match="immutable"):
        await stack.runtime.db.fetchval("UPDATE report_documents SET html = '' RETURNING 1")


async def test_listing_by_state_and_due_date_and_redelivered_scores(
    stack: ReportsStack, env
) -> None:
    first = domain_score(EXEMPLUM, "AP", "20254")
    await stack.publish_score(first)
    a = await stack.report("S-EXEMPLUM-BXL", "AP", "20254", "DRAFT_SENT")
    await stack.set_clock("2026-03-05T09:00:00")
    await stack.publish_score(domain_score(PAYPRO, "ANP", "20254"))
    b = await stack.report("S-PAYPRO", "ANP", "20254", "DRAFT_SENT")
    # The same score again (a new envelope, as a replayed producer would send) changes nothing.
    await stack.publish_score(first)
    await stack.publish_score(domain_score(PAYPRO, "T", "20254"))
    c = await stack.report("S-PAYPRO", "T", "20254", "DRAFT_SENT")
    assert await stack.runtime.db.fetchval("SELECT count(*) FROM reports") == 3

    stack.as_inspection()
    listed = (await stack.get("/reports", state="DRAFT_SENT")).json()["items"]
    assert [r["nextDue"] for r in listed] == ["2026-03-23", "2026-03-26", "2026-03-26"]
    assert listed[0]["id"] == a and {r["id"] for r in listed[1:]} == {b, c}
    due = (await stack.get("/reports", dueBefore="2026-03-24")).json()["items"]
    assert [r["id"] for r in due] == [a]
    assert (await stack.get("/reports", state="FINAL_SENT")).json()["items"] == []
    assert (await stack.get("/reports", state="NOPE")).status_code == 422

    # A financial score for a non-approved provider is refused to the dead-letter topic.
    await stack.publish_score(domain_score(PAYPRO, "F", "20254"))

    async def dead() -> list[Envelope]:
        return await read_topic(env.bootstrap, env.topic("scoring.scores.v1.dlt"))

    letters = await eventually(dead, what="the F score of a provider on the DLT")
    assert letters[0].payload["domain"] == "F"
    assert await stack.runtime.db.fetchval("SELECT count(*) FROM reports") == 3


async def test_reaction_deadline_expiry_across_holidays_then_late_reaction(
    stack: ReportsStack, env
) -> None:
    # Draft on Thursday 30 April 2026: 1 May, the weekends, Ascension (14 May) and Whit
    # Monday (25 May) do not count: the reaction deadline is Tuesday 26 May.
    await stack.set_clock("2026-04-30T10:00:00")
    await stack.publish_score(domain_score(PAYPRO, "AP", "20261", 55.0))
    report_id = await stack.report("S-PAYPRO", "AP", "20261", "DRAFT_SENT")
    detail = await stack.detail(report_id)
    assert detail["reactionDeadline"] == "2026-05-26"

    job = stack.runtime.state["reports_deadline_job"]
    await stack.set_clock("2026-05-26T23:59:30")
    assert await job.run() == 0
    assert (await stack.detail(report_id))["state"] == "DRAFT_SENT"

    # The first day after the deadline the draft becomes final by itself.
    await stack.set_clock("2026-05-27T00:00:05")
    final_id = await stack.report("S-PAYPRO", "AP", "20261", "FINAL_SENT")
    final = await stack.detail(final_id)
    assert (final["finalScore"], final["finalSentOn"]) == (55.0, "2026-05-27")
    assert final["history"][-1]["event"] == "REACTION_DEADLINE_EXPIRED"
    assert final["history"][-1]["actor"] == "system"
    assert [d["label"] for d in final["documents"]] == ["DRAFT", "FINAL"]

    # A reaction after the deadline is stored as LATE_REACTION and changes nothing.
    stack.as_secretariat("S-PAYPRO")
    late = await stack.post(
        f"/reports/{report_id}/reaction", {"decision": "CONTEST", "arguments": "too late"}
    )
    assert late.status_code == 200, late.text
    body = late.json()
    assert (body["state"], body["flags"], body["answerDeadline"]) == (
        "FINAL_SENT",
        ["LATE_REACTION"],
        None,
    )
    assert body["acts"][-1]["act"] == "LATE_REACTION" and body["acts"][-1]["late"] is True
    assert body["documents"][-1]["label"] == "LATE_REACTION"
    events = await report_events(env, report_id, 4)
    assert transitions(events) == [
        ("SCORE_FINAL", "COLLECTING", "READY_FOR_DRAFT"),
        ("DRAFT_ISSUED", "READY_FOR_DRAFT", "DRAFT_SENT"),
        ("REACTION_DEADLINE_EXPIRED", "DRAFT_SENT", "FINAL_SENT"),
        ("LATE_REACTION", "FINAL_SENT", "FINAL_SENT"),
    ]
    assert events[-1]["flags"] == ["LATE_REACTION"] and events[-1]["actor"] == "S-PAYPRO"


async def test_answer_deadline_expiry_flags_and_alerts_without_final(
    stack: ReportsStack, env
) -> None:
    await stack.publish_score(domain_score(EXEMPLUM, "C", "2025", 64.0))
    report_id = await stack.report("S-EXEMPLUM-BXL", "C", "2025", "DRAFT_SENT")
    await stack.set_clock("2026-03-20T10:00:00")
    stack.as_secretariat("M-EXEMPLUM")
    contest = {"decision": "CONTEST", "arguments": "mismatches already corrected"}
    assert (await stack.post(f"/reports/{report_id}/reaction", contest)).status_code == 200

    job = stack.runtime.state["reports_deadline_job"]
    await stack.set_clock("2026-04-13T23:59:59")
    assert await job.run() == 0

    await stack.set_clock("2026-04-14T00:00:01")

    async def flagged() -> bool:
        return "ANSWER_OVERDUE" in (await stack.detail(report_id))["flags"]

    await eventually(flagged, what="the ANSWER_OVERDUE flag")
    detail = await stack.detail(report_id)
    assert detail["state"] == "REACTION_RECEIVED"  # no automatic final

    stack.as_operator()
    alerts = (await stack.get("/alerts")).json()["items"]
    assert [(a["kind"], a["reportId"]) for a in alerts] == [("ANSWER_OVERDUE", report_id)]
    assert "2026-04-13" in alerts[0]["detail"]
    overdue = (await stack.get("/reports", flag="ANSWER_OVERDUE")).json()["items"]
    assert [r["id"] for r in overdue] == [report_id]
    stack.as_secretariat("M-EXEMPLUM")
    assert (await stack.get("/alerts")).status_code == 403
    stack.as_operator()
    taken = await stack.post(f"/alerts/{alerts[0]['id']}/acknowledgement")
    assert taken.status_code == 200
    assert (await stack.get("/alerts")).json()["items"] == []

    # The late answer still closes the procedure; the flag stays on the record.
    stack.as_inspection()
    answered = await stack.post(f"/reports/{report_id}/answer", {"answer": "Score confirmed."})
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert (body["state"], body["finalScore"], body["flags"]) == (
        "FINAL_SENT",
        64.0,
        ["ANSWER_OVERDUE"],
    )
    events = await report_events(env, report_id, 5)
    assert [e["event"] for e in events] == [
        "SCORE_FINAL",
        "DRAFT_ISSUED",
        "CONTESTED",
        "ANSWER_OVERDUE",
        "ANSWERED",
    ]
    assert events[3]["from_state"] == events[3]["to_state"] == "REACTION_RECEIVED"
