"""The demo's barometer part: what inspectors, secretariats and the NSSO do by hand.

The financial ledger of the approved secretariats (domain F), the inspectors' findings on
the technical-control samples (domain T), the secretariats' reactions to draft reports and
the inspection's motivated answers, the global evaluation report, and at the end the
barometer per seat and the state of every report, read back from the services' APIs.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from socsec.demo import forms
from socsec.demo.world import MANDATARIES, quarter_bounds

if TYPE_CHECKING:
    from socsec.demo.runner import Demo

SCORING = "/scoring/v1"
REPORTS = "/reports/v1"
SECRETARIAT_SCOPES = "scope:dmfa:declaration:consult"
LEDGER_CHUNK = 2_000


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, day.day)


def item_due_dates(year: int, quarter: int) -> dict[str, date]:
    """Provisions on the 5th of months 2 and 3 of the quarter and of the month after it; the
    balance on the DmfA due date (dmfa.md §8)."""
    first = date(year, 3 * quarter - 2, 5)
    _, end = quarter_bounds(year, quarter)
    balance = _add_months(date(end.year, end.month, 1), 2) - timedelta(days=1)
    return {
        "P1": _add_months(first, 1),
        "P2": _add_months(first, 2),
        "P3": _add_months(first, 3),
        "BALANCE": balance,
    }


async def ledger(demo: Demo, quarter: int) -> dict[str, int]:
    """What the approved secretariats' employers paid them for the quarter and what the
    secretariats passed on to the NSSO; a few pay or forward late, or short."""
    rng = random.Random(f"{demo.world.seed}-ledger-{quarter}")
    year = demo.year
    due = item_due_dates(year, quarter)
    entries: list[dict[str, Any]] = []
    late = Counter[str]()
    for e in demo.world.employers:
        if not e.approved or quarter in e.silent:
            continue
        body = forms.dmfa_original(e, year, quarter)
        if body is None:
            continue
        total = body["EmployerDeclaration"]["NetOwedAmount"]
        provision = total // 4
        amounts = {"P1": provision, "P2": provision, "P3": provision}
        amounts["BALANCE"] = total - 3 * provision
        for item, amount in amounts.items():
            if amount <= 0:
                continue
            ref = f"DEMO-{e.nsso}-{year}{quarter}-{item}"
            paid_on, forwarded_on, forwarded = due[item], due[item], amount
            draw = rng.random()
            if draw < 0.03:
                paid_on = due[item] + timedelta(days=rng.randrange(3, 20))
                late["employer paid late"] += 1
            elif draw < 0.05:
                forwarded_on = due[item] + timedelta(days=rng.randrange(2, 15))
                late["forwarded late"] += 1
            elif draw < 0.06:
                forwarded = amount * 9 // 10
                late["forwarded short"] += 1
            for direction, day, cents in (
                ("DUE", due[item], amount),
                ("EMPLOYER_PAID", paid_on - timedelta(days=2), amount),
                ("FORWARDED", forwarded_on, forwarded),
            ):
                entries.append(
                    {
                        "employer": e.nsso,
                        "quarter": year * 10 + quarter,
                        "item": item,
                        "direction": direction,
                        "amountCents": cents,
                        "date": day.isoformat(),
                        "reference": f"{ref}-{direction}",
                    }
                )
    headers = await demo.operator_headers()
    for start in range(0, len(entries), LEDGER_CHUNK):
        chunk = entries[start : start + LEDGER_CHUNK]
        response = await demo.http.post(
            f"{demo.url('scoring')}{SCORING}/ledger", json={"entries": chunk}, headers=headers
        )
        if response.status_code == 409:  # already recorded by an interrupted run
            continue
        if response.status_code != 201:
            raise demo.error(f"ledger: HTTP {response.status_code} {response.text[:300]}")
    return {"ledger entries": len(entries), **late}


async def technical_controls(demo: Demo, quarter: int) -> dict[str, int]:
    """Each seat's technical-control sample for the quarter, and the inspectors' findings on
    every sampled worker line (most are right)."""
    headers = await demo.operator_headers()
    base = f"{demo.url('scoring')}{SCORING}"
    rng = random.Random(f"{demo.world.seed}-technical-{quarter}")
    counts: Counter[str] = Counter()
    period = f"{demo.year}-{quarter}"
    for _, _, seat, _, _, _ in MANDATARIES:
        response = await demo.http.post(
            f"{base}/seats/{seat}/quarters/{period}/t-campaign",
            json={"seed": f"demo-{demo.world.seed}-{seat}-{period}"},
            headers=headers,
        )
        if response.status_code == 422:  # no worker line to sample: T does not apply
            counts["seats without a sample"] += 1
            continue
        if response.status_code not in (201, 409):
            raise demo.error(
                f"T campaign {seat}: HTTP {response.status_code} {response.text[:300]}"
            )
        campaign = (
            await demo.http.get(
                f"{base}/seats/{seat}/quarters/{period}/t-campaign", headers=headers
            )
        ).json()
        if not campaign.get("id"):
            continue
        jobs = []
        for item in campaign.get("items", []):
            if item.get("findings") is not None and item.get("recordedAt"):
                continue
            draw = rng.random()
            found = (
                ["T1"] if draw < 0.02 else ["T2"] if draw < 0.04 else ["T4"] if draw < 0.05 else []
            )
            counts["sampled lines"] += 1
            counts["findings"] += len(found)
            jobs.append(
                lambda c=campaign["id"], n=item["itemNo"], f=found: demo.http.put(
                    f"{base}/t-campaigns/{c}/items/{n}/findings",
                    json={"findings": f, "note": "demo inspection"},
                    headers=headers,
                )
            )
        for response in await demo.gather_bounded(f"T findings {seat} {period}", jobs):
            if response.status_code not in (200, 409):
                raise demo.error(f"T finding: HTTP {response.status_code} {response.text[:300]}")
    return dict(counts)


async def _reports(demo: Demo, **params: str) -> list[dict[str, Any]]:
    headers = await demo.operator_headers()
    items: list[dict[str, Any]] = []
    url: str | None = f"{demo.url('reports')}{REPORTS}/reports"
    query: dict[str, str] | None = {**params, "pageSize": "500"}
    while url:
        response = await demo.http.get(url, params=query, headers=headers)
        if response.status_code != 200:
            raise demo.error(f"reports: HTTP {response.status_code} {response.text[:300]}")
        body = response.json()
        items.extend(body["items"])
        url, query = body.get("next"), None
    return items


async def reactions(demo: Demo) -> dict[str, int]:
    """Exemplum contests one of its drafts with arguments, Horizon accepts one, the others
    let their windows run out."""
    drafts = await _reports(demo, state="DRAFT_SENT")
    counts: Counter[str] = Counter()
    for mandatary, decision in (("M-EXEMPLUM", "CONTEST"), ("M-HORIZON", "ACCEPT")):
        mine = sorted(
            (r for r in drafts if r["provider"] == mandatary and r["kind"] == "DOMAIN"),
            key=lambda r: (r["period"], r["domain"] or ""),
        )
        if not mine:
            continue
        sender = next(m[4] for m in MANDATARIES if m[0] == mandatary)
        headers = await demo.headers(mandatary, sender, SECRETARIAT_SCOPES)
        body: dict[str, Any] = {"decision": decision}
        if decision == "CONTEST":
            body["arguments"] = (
                "Two of the anomalies counted were corrected by a modification sent before the "
                "end of the quarter; we ask that their lifetime be recomputed."
            )
        response = await demo.http.post(
            f"{demo.url('reports')}{REPORTS}/reports/{mine[0]['id']}/reaction",
            json=body,
            headers=headers,
        )
        if response.status_code not in (200, 201, 409):
            raise demo.error(f"reaction: HTTP {response.status_code} {response.text[:300]}")
        counts[decision.lower()] += 1
    return dict(counts)


async def answers(demo: Demo) -> dict[str, int]:
    """The inspection's motivated answer to every contest received, with a revised score."""
    contested = await _reports(demo, state="REACTION_RECEIVED")
    headers = await demo.operator_headers()
    for report in contested:
        score = report.get("score") or 0
        response = await demo.http.post(
            f"{demo.url('reports')}{REPORTS}/reports/{report['id']}/answer",
            json={
                "answer": "The corrections were received after the evaluation date of the "
                "quarter; one anomaly is nevertheless recounted as resolved in time.",
                "revisedScore": min(100.0, round(score + 1.5, 1)),
                "reasons": "One anomaly resolved before the evaluation date.",
            },
            headers=headers,
        )
        if response.status_code not in (200, 201, 409):
            raise demo.error(f"answer: HTTP {response.status_code} {response.text[:300]}")
    return {"answers": len(contested)}


async def global_report(demo: Demo) -> dict[str, Any]:
    """The global evaluation report: consultation of the Union, adoption, annual meeting."""
    headers = await demo.operator_headers()
    base = f"{demo.url('reports')}{REPORTS}/global/{demo.year}"
    state = (await demo.http.get(base, headers=headers)).json().get("state")
    acts = (
        ("consultation", {}),
        (
            "comments",
            {
                "text": "The Union asks for the T sample sizes per branch.",
                "author": "Union of Social Secretariats",
            },
        ),
        ("adoption", {}),
        (
            "meeting",
            {
                "heldOn": demo.business_today().isoformat(),
                "minutes": "Annual meeting of the NSSO and the approved secretariats.",
                "proposals": ["Publish the lifetime targets per anomaly code."],
            },
        ),
    )
    for act, body in acts:
        response = await demo.http.post(f"{base}/{act}", json=body, headers=headers)
        if response.status_code not in (200, 201, 409):
            return {"state": state, "stopped at": act, "status": response.status_code}
    return {"state": (await demo.http.get(base, headers=headers)).json().get("state")}


async def summary(demo: Demo) -> dict[str, Any]:
    """The barometer per seat for the year and the state of every report."""
    headers = await demo.operator_headers()
    seats = []
    for mandatary, approved, seat, _, _, _ in MANDATARIES:
        response = await demo.http.get(
            f"{demo.url('scoring')}{SCORING}/seats/{seat}/scores/{demo.year}", headers=headers
        )
        body = response.json() if response.status_code == 200 else {}
        quarters = []
        for q in range(1, 5):
            r = await demo.http.get(
                f"{demo.url('scoring')}{SCORING}/seats/{seat}/scores/{demo.year}{q}",
                headers=headers,
            )
            quarters.append(r.json() if r.status_code == 200 else {})
        seats.append(
            {
                "seat": seat,
                "mandatary": mandatary,
                "approved": approved,
                "year": body,
                "quarters": quarters,
            }
        )
    reports = await _reports(demo)
    return {"seats": seats, "reports": reports}
