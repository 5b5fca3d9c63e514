"""The annual report appears only when every domain report of the year is final, fourth
quarter included; its final report starts the global evaluation over the approved
secretariats, which goes through consultation, adoption and the annual meeting."""

from __future__ import annotations

import asyncio
from uuid import UUID

import pytest
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
from reports_domain.reports_pdf import bar_pixels, read_pdf

from socsec.reports import handlers
from socsec.reports.domain.model import Decision


@pytest.fixture
async def stack(env):
    s = await start_stack(env)
    yield s
    await s.close()


#: Exemplum's 2025 final scores (approved: F applies; T per year).
SCORES = {
    "S": (90.0, 92.0, 94.0, 96.0),
    "F": (70.0, 70.0, 70.0, 70.0),
    "AP": (50.0, 60.0, 40.0, 50.0),
    "ANP": (85.0, 85.0, 85.0, 85.0),
}


async def accept(stack: ReportsStack, report_id: str, organisation: str) -> dict:
    stack.as_secretariat(organisation)
    response = await stack.post(f"/reports/{report_id}/reaction", {"decision": "ACCEPT"})
    assert response.status_code == 200, response.text
    return response.json()


async def annual_count(stack: ReportsStack) -> int:
    return await stack.runtime.db.fetchval("SELECT count(*) FROM reports WHERE kind = 'ANNUAL'")


async def test_annual_report_only_when_the_fourth_quarter_is_final_then_global(
    stack: ReportsStack, env
) -> None:
    await stack.set_clock("2026-07-01T09:00:00")
    for domain, scores in SCORES.items():
        for q, score in enumerate(scores, 1):
            await stack.publish_score(domain_score(EXEMPLUM, domain, f"2025{q}", score))
    await stack.publish_score(domain_score(EXEMPLUM, "T", "2025", 88.0))
    await stack.publish_score(domain_score(EXEMPLUM, "C", "2025", 77.0))
    # A provider's year elsewhere does not count for Exemplum.
    await stack.publish_score(domain_score(PAYPRO, "S", "20254", 99.0))

    last = await stack.report("S-EXEMPLUM-BXL", "ANP", "20254", "DRAFT_SENT")
    ids = {}
    for domain in SCORES:
        for q in range(1, 5):
            ids[(domain, q)] = await stack.report(
                "S-EXEMPLUM-BXL", domain, f"2025{q}", "DRAFT_SENT"
            )
    t = await stack.report("S-EXEMPLUM-BXL", "T", "2025", "DRAFT_SENT")
    c = await stack.report("S-EXEMPLUM-BXL", "C", "2025", "DRAFT_SENT")

    # Every domain report final except ANP of the fourth quarter: no annual report.
    for report_id in ids.values():
        if report_id != last:
            await accept(stack, report_id, "M-EXEMPLUM")
    await accept(stack, t, "M-EXEMPLUM")
    await accept(stack, c, "M-EXEMPLUM")
    assert await annual_count(stack) == 0

    # The fourth quarter's last report becomes final: the annual report is drafted.
    await stack.set_clock("2026-07-06T09:00:00")
    await accept(stack, last, "S-EXEMPLUM-BXL")
    annual_id = await stack.report("S-EXEMPLUM-BXL", None, "2025", "DRAFT_SENT")
    assert await annual_count(stack) == 1
    annual = await stack.detail(annual_id)
    # (93 + 88 + 70 + 50 + 85 + 77) / 6 = 77.17
    assert (annual["score"], annual["band"]) == (77.2, "LESS_GOOD")
    # National Day (Tuesday 21 July) does not count.
    assert (annual["draftReceivedOn"], annual["reactionDeadline"]) == ("2026-07-06", "2026-07-28")
    year = {d["domain"]: d["score"] for d in annual["content"]["domains"]}
    assert year == {"S": 93.0, "T": 88.0, "F": 70.0, "AP": 50.0, "ANP": 85.0, "C": 77.0}
    assert [r["domain"] for r in annual["content"]["recommendations"]] == ["F", "AP", "C"]
    assert annual["history"][0]["event"] == "YEAR_COMPLETE"

    # The annual draft as a PDF: one chart for the year and one per domain.
    stack.as_secretariat("M-EXEMPLUM")
    pdf = await stack.get(f"/reports/{annual_id}/documents/1.pdf")
    _, images, text = read_pdf(pdf.content)
    assert "Rapport annuel 2025" in text and "77.2" in text
    assert sum(bar_pixels(i) for i in images) > 7 * 200

    # The global report of 2025 waits for the annual reports of the approved secretariats.
    global_id = str(await stack.runtime.db.fetchval("SELECT id FROM reports WHERE kind = 'GLOBAL'"))
    stack.as_inspection()
    assert (await stack.get("/global/2025")).json()["state"] == "WAITING"
    stack.as_secretariat("M-EXEMPLUM")
    assert (await stack.get("/global/2025")).status_code == 403  # not adopted yet

    # Improvement items go on a final annual report only.
    stack.as_inspection()
    item = {"kind": "RECOMMENDATION", "text": "Forward provisions on time", "dueOn": "2026-12-31"}
    early = await stack.post(f"/reports/{annual_id}/improvement-items", item)
    assert (early.status_code, early.json()["code"]) == (409, "NOT_FINAL_ANNUAL")

    final = await accept(stack, annual_id, "M-EXEMPLUM")
    assert (final["state"], final["finalScore"]) == ("FINAL_SENT", 77.2)
    stack.as_inspection()
    created = await stack.post(f"/reports/{annual_id}/improvement-items", item)
    assert created.status_code == 201 and created.json()["status"] == "OPEN"
    done = await stack.http.patch(
        f"/reports/v1/reports/{annual_id}/improvement-items/1", json={"status": "DONE"}
    )
    assert done.status_code == 200 and done.json()["status"] == "DONE"
    assert (await stack.detail(annual_id))["state"] == "FINAL_SENT"

    # Exemplum is the only approved secretariat: the global evaluation is drafted.
    async def drafting() -> bool:
        return (await stack.detail(global_id))["state"] == "DRAFTING"

    await eventually(drafting, what="the global report in DRAFTING")
    g = await stack.detail(global_id)
    assert [s["provider"] for s in g["content"]["secretariats"]] == ["M-EXEMPLUM"]
    assert g["content"]["missing"] == [] and g["content"]["mean"] == 77.2

    stack.as_inspection()
    too_early = await stack.post("/global/2025/adoption")
    assert (too_early.status_code, too_early.json()["code"]) == (409, "WRONG_STATE")
    assert (await stack.post("/global/2025/consultation")).json()["state"] == "IN_CONSULTATION"
    comment = {"text": "Weigh AP less next year", "author": "Union of Social Secretariats"}
    assert (await stack.post("/global/2025/comments", comment)).status_code == 200
    assert (await stack.post("/global/2025/adoption")).json()["state"] == "ADOPTED"
    meeting = {
        "heldOn": "2026-11-20",
        "minutes": "Results discussed with the approved secretariats.",
        "proposals": ["AP lifetime target 90 days"],
    }
    discussed = await stack.post("/global/2025/meeting", meeting)
    assert discussed.status_code == 200, discussed.text
    assert discussed.json()["state"] == "DISCUSSED"
    assert [d["label"] for d in discussed.json()["documents"]] == ["DRAFT", "FINAL", "MINUTES"]

    stack.as_secretariat("M-EXEMPLUM")
    assert (await stack.get("/global/2025")).status_code == 200
    minutes = await stack.get(f"/reports/{global_id}/documents/3.pdf")
    _, _, text = read_pdf(minutes.content)
    assert "AP lifetime target 90 days" in text and "Weigh AP less next year" in text

    events = await report_events(env, global_id, 6)
    assert transitions(events) == [
        ("YEAR_OPENED", "WAITING", "WAITING"),
        ("DRAFTING_STARTED", "WAITING", "DRAFTING"),
        ("CONSULTATION_OPENED", "DRAFTING", "IN_CONSULTATION"),
        ("COMMENTED", "IN_CONSULTATION", "IN_CONSULTATION"),
        ("ADOPTED", "IN_CONSULTATION", "ADOPTED"),
        ("DISCUSSED", "ADOPTED", "DISCUSSED"),
    ]


async def test_the_last_two_reports_final_at_once_still_start_the_annual_report(
    stack: ReportsStack,
) -> None:
    # PayPro is a provider: no F. T comes per quarter.
    ids = []
    for domain in ("S", "T", "AP", "ANP"):
        for q in range(1, 5):
            await stack.publish_score(domain_score(PAYPRO, domain, f"2025{q}", 65.0))
    await stack.publish_score(domain_score(PAYPRO, "C", "2025", 65.0))
    for domain in ("S", "T", "AP", "ANP"):
        for q in range(1, 5):
            ids.append(await stack.report("S-PAYPRO", domain, f"2025{q}", "DRAFT_SENT"))
    ids.append(await stack.report("S-PAYPRO", "C", "2025", "DRAFT_SENT"))
    for report_id in ids[:-2]:
        await accept(stack, report_id, "M-PAYPRO")
    assert await annual_count(stack) == 0

    # The last two become final in two transactions at once: the second one waits for the
    # first one's decision about the year, then sees it and starts the annual report.
    deps = stack.runtime.state["reports_deps"]
    db = stack.runtime.db
    async with db.connection() as first, db.connection() as second:
        tx1 = first.transaction()
        await tx1.start()
        await handlers.react(first, deps, UUID(ids[-2]), "M-PAYPRO", Decision.ACCEPT, None)
        tx2 = second.transaction()
        await tx2.start()
        last = asyncio.create_task(
            handlers.react(second, deps, UUID(ids[-1]), "M-PAYPRO", Decision.ACCEPT, None)
        )
        await asyncio.sleep(0.5)
        await tx1.commit()
        await last
        await tx2.commit()
    annual_id = await stack.report("S-PAYPRO", None, "2025", "DRAFT_SENT")
    annual = await stack.detail(annual_id)
    assert annual["score"] == 65.0
    assert "F" not in {d["domain"] for d in annual["content"]["domains"]}
    assert await annual_count(stack) == 1
