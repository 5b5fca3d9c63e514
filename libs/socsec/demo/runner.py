"""Drive a running stack through the demo year, one journaled step at a time.

Each step is named (``dimona-2025-1``, ``dmfa-2025-3-late``, ...) and recorded in a journal
in the stack's data folder once it is done, so a second run on the same stack skips it: the
declarations are not sent twice. Within a step, what the system itself refuses to double (a
batch file name is accepted once only, an identical Dimona is refused as a duplicate) keeps a
step that was interrupted half-way from doubling anything when it is run again.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from socsec.demo import forms
from socsec.demo.world import Employer, Worker, World, quarter_bounds
from socsec.kit.calendar import WorkingDays
from socsec.kit.clock import BRUSSELS, CLOCK_TOPIC, ClockState, write_clock_state
from socsec.stack.local import StackState

TOKEN_PATH = "/REST/oauth/v5/token"
DIMONA = "/REST/dimona/v2"
DIMONA_SCOPES = "scope:dimona:declaration:declarant scope:dimona:declaration:consult"
DMFA_SCOPES = "scope:dmfa:declaration:declarant scope:dmfa:declaration:consult"
BATCH_SCOPE = "scope:batch:sender"
OPERATOR_SCOPES = "scope:socsec:operator scope:socsec:inspection"
REST_CONCURRENCY = 12


class DemoError(RuntimeError):
    """The stack did not answer as the demo needs (the message says what and where)."""


@dataclass
class Journal:
    """The steps already done on this stack (with what each produced) and the tickets of the
    batch files already uploaded, kept as JSON beside the stack's data."""

    path: Path
    done: dict[str, Any] = field(default_factory=dict)
    tickets: dict[str, str] = field(default_factory=dict)

    @classmethod
    def open(cls, path: Path) -> Journal:
        if path.exists():
            data = json.loads(path.read_text("utf-8"))
            return cls(path, data.get("steps", {}), data.get("tickets", {}))
        return cls(path)

    def mark(self, step: str, result: Any = True) -> None:
        self.done[step] = result
        self._save()

    def ticket(self, file_key: str, ticket: str) -> None:
        self.tickets[file_key] = ticket
        self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        data = {"steps": self.done, "tickets": self.tickets}
        tmp.write_text(json.dumps(data, indent=1, default=str), "utf-8")
        tmp.replace(self.path)


@dataclass
class Tally:
    """What the year produced, printed at the end."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] += n


class Demo:
    def __init__(
        self,
        state: StackState,
        world: World,
        journal: Journal,
        out: Console,
        *,
        client_seed: str,
    ) -> None:
        self.state = state
        self.world = world
        self.journal = journal
        self.out = out
        self.client_seed = client_seed
        self.year = world.year
        self.calendar = WorkingDays()
        self.tally = Tally()
        self.tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self.http = httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=64))
        self.files = journal.path.parent / "files"
        self.result: dict[str, Any] = {}
        self.pace = 6.0

    # -- plumbing ----------------------------------------------------------------------------

    def error(self, message: str) -> DemoError:
        return DemoError(message)

    def url(self, service: str) -> str:
        url = self.state.services.get(service)
        if not url:
            raise DemoError(f"the stack runs no {service} service (socsec stack up starts all)")
        return url

    async def step(self, name: str, action: Callable[[], Awaitable[Any]]) -> Any:
        if name in self.journal.done:
            self.out.print(f"[dim]· {name}: done in an earlier run[/]")
            return self.journal.done[name]
        started = time.monotonic()
        result = await action()
        self.journal.mark(name, result if result is not None else True)
        self.out.print(f"[green]✓[/] {name} [dim]({time.monotonic() - started:.1f} s)[/]")
        return result

    async def set_clock(self, when: datetime) -> None:
        """Move the business clock of the whole stack (absolute, so repeatable)."""
        state = ClockState().set_to(when, wall=datetime.now(UTC), frozen=True)
        await write_clock_state(
            self.state.kafka_bootstrap, state, f"{self.state.topic_prefix}{CLOCK_TOPIC}"
        )
        # Every service follows the clock topic; give them a moment to read it.
        await asyncio.sleep(1.5)

    async def token(self, client_id: str, scope: str) -> str:
        """A token of a demo client, renewed a minute before it expires."""
        from socsec.registry.clients import demo_client_secret

        key = (client_id, scope)
        cached = self.tokens.get(key)
        if cached is None or cached[1] - time.monotonic() < 60:
            response = await self.http.post(
                f"{self.url('registry')}{TOKEN_PATH}",
                data={"grant_type": "client_credentials", "scope": scope},
                auth=(client_id, demo_client_secret(client_id, self.client_seed)),
            )
            if response.status_code != 200:
                raise DemoError(
                    f"token of {client_id}: HTTP {response.status_code} {response.text}"
                )
            body = response.json()
            cached = (body["access_token"], time.monotonic() + float(body.get("expires_in", 300)))
            self.tokens[key] = cached
        return cached[0]

    async def headers(self, mandatary: str, sender: str | None, scope: str) -> dict[str, str]:
        from socsec.registry.clients import demo_client_id

        return {
            "Authorization": f"Bearer {await self.token(demo_client_id(mandatary, sender), scope)}"
        }

    async def operator_headers(self) -> dict[str, str]:
        from socsec.registry.clients import DEMO_OPERATOR_CLIENT_ID

        return {
            "Authorization": f"Bearer {await self.token(DEMO_OPERATOR_CLIENT_ID, OPERATOR_SCOPES)}"
        }

    def progress(self) -> Progress:
        return Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.out,
            transient=True,
        )

    async def gather_bounded(
        self, label: str, jobs: list[Callable[[], Awaitable[Any]]], limit: int = REST_CONCURRENCY
    ) -> list[Any]:
        results: list[Any] = [None] * len(jobs)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(len(jobs)):
            queue.put_nowait(i)
        with self.progress() as progress:
            task = progress.add_task(label, total=len(jobs))

            async def worker() -> None:
                while not queue.empty():
                    i = queue.get_nowait()
                    results[i] = await jobs[i]()
                    progress.advance(task)

            await asyncio.gather(*(worker() for _ in range(min(limit, len(jobs)) or 1)))
        return results

    # -- the registry --------------------------------------------------------------------------

    async def seed_registry(self) -> dict[str, int]:
        from socsec.cli.registry import Coordinates, load_reference_data

        dsn = self.state.service_database_urls.get("registry")
        if not dsn:
            raise DemoError("the stack has no registry database (socsec stack up first)")
        data = self.world.registry_data()
        coords = Coordinates(dsn, self.state.kafka_bootstrap, self.state.topic_prefix)
        await load_reference_data(coords, data, "demo", demo_clients=True)
        await self.wait_mandates()
        return {kind: len(entries) for kind, entries in data.items()}

    async def wait_mandates(self, within_s: float = 300) -> None:
        """Until the dimona service lets every mandatary read its last employer: the
        registry has relayed the reference data and the read models have it."""
        deadline = time.monotonic() + within_s
        last = {
            m: self.world.by_mandatary(m)[-1] for m in {e.mandatary for e in self.world.employers}
        }
        pending = dict(last)
        while pending:
            for mandatary, employer in list(pending.items()):
                response = await self.http.post(
                    f"{self.url('dimona')}{DIMONA}/relations/search",
                    json={"employer": {"employerId": int(employer.nsso)}},
                    headers=await self.headers(mandatary, employer.sender, DIMONA_SCOPES),
                )
                if response.status_code == 200:
                    del pending[mandatary]
            if pending and time.monotonic() > deadline:
                raise DemoError(
                    f"mandates not visible to dimona after {within_s:.0f} s: {sorted(pending)}"
                )
            await asyncio.sleep(1)

    # -- Dimona --------------------------------------------------------------------------------

    async def dimona_ins(self, quarter: int) -> dict[str, int]:
        ins = forms.dimona_ins(self.world.workers, self.year, quarter)
        by_sender: dict[tuple[str, str], list[forms.DimonaIn]] = {}
        rest: list[forms.DimonaIn] = []
        for d in ins:
            e = d.worker.employer
            if e.rest:
                rest.append(d)
            else:
                by_sender.setdefault((e.mandatary, e.sender), []).append(d)
        counts: Counter[str] = Counter()
        for (mandatary, sender), batch in sorted(by_sender.items()):
            content = forms.dimona_file(
                batch, self.business_today(), f"{sender}-{self.year}{quarter}"
            )
            outcome = await self.send_file(
                mandatary, sender, "DIMN", content, f"D{self.year % 100}{quarter}"
            )
            counts.update(outcome)
        results = await self.gather_bounded(
            f"Dimona IN over REST, quarter {quarter}",
            [lambda d=d: self.declare(d.worker.employer, d.rest_body()) for d in rest],
        )
        counts.update(r["result"] for r in results if r)
        self.tally.counts.update({f"dimona {k}": v for k, v in counts.items()})
        return dict(counts)

    async def declare(self, employer: Employer, body: dict[str, Any]) -> dict[str, Any]:
        """POST one Dimona declaration as its employer's mandatary and wait for its result."""
        headers = await self.headers(employer.mandatary, employer.sender, DIMONA_SCOPES)
        response = await self.http.post(
            f"{self.url('dimona')}{DIMONA}/declarations", json=body, headers=headers
        )
        if response.status_code != 201:
            raise DemoError(
                f"Dimona POST refused: HTTP {response.status_code} {response.text[:300]}"
            )
        location = response.headers["Location"]
        delay = 0.05
        for _ in range(600):
            answer = await self.http.get(location, headers=headers)
            if answer.status_code == 200:
                status = answer.json()["declarationStatus"]
                if status["result"] != "S":
                    return {
                        "result": status["result"],
                        "period": (status.get("period") or {}).get("id"),
                    }
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 1.0)
        raise DemoError(f"no result for {location} after several minutes")

    async def period_of(self, w: Worker, worker_type: str) -> int | None:
        e = w.employer
        response = await self.http.post(
            f"{self.url('dimona')}{DIMONA}/periods/search",
            json={"employer": {"employerId": int(e.nsso)}, "worker": {"ssin": w.insz}},
            headers=await self.headers(e.mandatary, e.sender, DIMONA_SCOPES),
        )
        if response.status_code != 200:
            raise DemoError(f"periods/search: HTTP {response.status_code} {response.text[:300]}")
        for item in response.json()["items"]:
            if item["features"]["workerType"] == worker_type and not item["isCancelled"]:
                return int(item["id"])
        return None

    async def dimona_changes(self, quarter: int) -> dict[str, int]:
        """The quarter's OUTs (announced ahead), UPDATEs of an end date and CANCELs of INs
        declared by mistake, over REST by each employer's mandatary."""
        start_q, end_q = quarter_bounds(self.year, quarter)
        jobs: list[Callable[[], Awaitable[Any]]] = []
        for w in self.world.workers:
            if w.kind not in ("WHITE", "BLUE") or w.no_dimona or w.start is None:
                continue
            if w.cancelled and start_q <= w.start <= end_q:
                jobs.append(lambda w=w: self._cancel(w))
            elif not w.cancelled and w.end is not None and start_q <= w.end <= end_q:
                jobs.append(lambda w=w: self._out(w))
        results = await self.gather_bounded(f"Dimona OUT, UPDATE, CANCEL, quarter {quarter}", jobs)
        counts = Counter(r for rs in results for r in rs)
        self.tally.counts.update({f"dimona {k}": v for k, v in counts.items()})
        return dict(counts)

    async def _out(self, w: Worker) -> list[str]:
        period = await self.period_of(w, "OTH")
        if period is None:
            return ["OUT skipped"]
        assert w.start is not None and w.end is not None
        first = w.end - timedelta(days=7) if w.updated else w.end
        out = {"dimonaOut": {"periodId": period, "endDate": first.isoformat()}}
        done = [f"OUT {(await self.declare(w.employer, out))['result']}"]
        if w.updated:
            update = {
                "dimonaUpdate": {
                    "periodId": period,
                    "startDate": w.start.isoformat(),
                    "endDate": w.end.isoformat(),
                }
            }
            done.append(f"UPDATE {(await self.declare(w.employer, update))['result']}")
        return done

    async def _cancel(self, w: Worker) -> list[str]:
        period = await self.period_of(w, "OTH")
        if period is None:
            return ["CANCEL skipped"]
        cancel = {"dimonaCancel": {"periodId": period}}
        return [f"CANCEL {(await self.declare(w.employer, cancel))['result']}"]

    # -- batch files ---------------------------------------------------------------------------

    def business_today(self) -> date:
        return self._now.date()

    async def send_file(
        self, mandatary: str, sender: str, file_type: str, content: bytes, tag: str
    ) -> Counter[str]:
        """Upload one declaration file as its sender (once: its ticket is journaled), then
        wait for its ACRF and its complete NOTI."""
        from socsec.cli.send import plan, upload_all

        file_key = f"{file_type}-{sender}-{tag}"
        ticket = self.journal.tickets.get(file_key)
        if ticket is None:
            self.files.mkdir(parents=True, exist_ok=True)
            path = self.files / f"{file_key}.xml"
            path.write_bytes(content)
            uploads = plan(
                [path],
                sender=sender,
                environment="R",
                day=self.business_today(),
                sequence=_sequence(tag),
                parts=1,
            )
            headers = await self.headers(mandatary, sender, BATCH_SCOPE)
            async with httpx.AsyncClient(
                base_url=self.url("batch"), headers=headers, timeout=300
            ) as client:
                [ticket] = await upload_all(client, uploads, Console(file=io.StringIO()))
            self.journal.ticket(file_key, ticket)
        body = await self.follow(mandatary, sender, ticket, f"{file_type} file of {sender}")
        acrf = body.get("acrf") or {}
        if acrf.get("resultCode") != 1:
            raise DemoError(f"{file_key} (ticket {ticket}) refused: {json.dumps(acrf)[:500]}")
        forms_block = body.get("forms") or {}
        counts: Counter[str] = Counter(
            {str(k): int(v) for k, v in (forms_block.get("results") or {}).items()}
        )
        counts["files"] += 1
        return counts

    async def follow(self, mandatary: str, sender: str, ticket: str, label: str) -> dict:
        """Poll a ticket until its NOTI is complete (a fresh token each time)."""
        with self.progress() as progress:
            task = progress.add_task(f"{label}, ticket {ticket}", total=None)
            while True:
                headers = await self.headers(mandatary, sender, BATCH_SCOPE)
                response = await self.http.get(
                    f"{self.url('batch')}/batch/tickets/{ticket}", headers=headers
                )
                if response.status_code != 200:
                    raise DemoError(f"ticket {ticket}: HTTP {response.status_code}")
                body = response.json()
                acrf = body.get("acrf")
                if acrf is not None and (acrf.get("resultCode") != 1 or body.get("complete")):
                    return body
                forms_block = body.get("forms") or {}
                progress.update(
                    task, total=forms_block.get("count"), completed=forms_block.get("withResult")
                )
                await asyncio.sleep(1.0)

    # -- DmfA ----------------------------------------------------------------------------------

    def due_date(self, quarter: int) -> date:
        _, end = quarter_bounds(self.year, quarter)
        month_after = date(end.year + (end.month == 12), end.month % 12 + 1, 1)
        return date(
            month_after.year + (month_after.month == 12), month_after.month % 12 + 1, 1
        ) - timedelta(1)

    async def dmfa_quarter(self, quarter: int, *, late: bool) -> dict[str, int]:
        by_sender: dict[tuple[str, str], list[dict]] = {}
        for e in self.world.employers:
            if quarter in e.silent or (quarter in e.late) != late:
                continue
            body = forms.dmfa_original(e, self.year, quarter)
            if body is not None:
                by_sender.setdefault((e.mandatary, e.sender), []).append(body)
        counts: Counter[str] = Counter()
        for (mandatary, sender), bodies in sorted(by_sender.items()):
            content = forms.dmfa_file(bodies, self._now.replace(tzinfo=None))
            tag = f"M{self.year % 100}{quarter}{'L' if late else ''}"
            counts.update(await self.send_file(mandatary, sender, "DMFA", content, tag))
            counts["declarations"] += len(bodies)
        self.tally.counts.update({f"dmfa {k}": v for k, v in counts.items()})
        return dict(counts)

    async def dmfa_corrections(self, quarter: int) -> dict[str, int]:
        """Modifications (over REST) that correct the wrong contributions of the quarter."""
        jobs = []
        for e in self.world.employers:
            wrong = [
                w
                for w in e.workers
                if quarter in w.wrong_contribution
                and not w.cancelled
                and forms.worker_record(w, self.year, quarter, e.employer_class) is not None
            ]
            if wrong and quarter not in e.silent and zlib.crc32(f"{e.nsso}{quarter}".encode()) % 3:
                jobs.append(lambda e=e, wrong=wrong: self._correct(e, quarter, wrong))
        results = await self.gather_bounded(f"DmfA modifications, quarter {quarter}", jobs)
        counts = Counter(r for r in results if r)
        self.tally.counts.update({f"dmfa modification {k}": v for k, v in counts.items()})
        return dict(counts)

    async def _correct(self, e: Employer, quarter: int, wrong: list[Worker]) -> str | None:
        base = self.url("dmfa")
        headers = await self.headers(e.mandatary, e.sender, DMFA_SCOPES)
        listing = await self.http.get(
            f"{base}/dmfa/v1/anomalies",
            params={"employer": e.nsso, "quarter": str(self.year * 10 + quarter)},
            headers=headers,
        )
        if listing.status_code != 200:
            raise DemoError(f"dmfa anomalies: HTTP {listing.status_code} {listing.text[:300]}")
        tickets = {a["ticket"] for a in listing.json().get("items", []) if a.get("ticket")}
        if not tickets:
            return None
        declaration = await self.http.get(
            f"{base}/dmfa/v1/declarations/{sorted(tickets)[0]}", headers=headers
        )
        if declaration.status_code != 200:
            raise DemoError(
                f"dmfa declaration: HTTP {declaration.status_code} {declaration.text[:300]}"
            )
        pids = declaration.json().get("pids") or {}
        persons = {p["inss"]: p for p in pids.get("persons", [])}
        updates = []
        for n, w in enumerate(wrong, 1):
            person = persons.get(w.insz)
            if person is None:
                continue
            clean = forms.worker_record(_fixed(w, quarter), self.year, quarter, e.employer_class)
            assert clean is not None
            record = next(iter(person["worker_records"]))
            content = {k: v for k, v in clean.items() if k not in ("Occupation",)}
            content["UpdateAction"] = 1
            content["OccupationUpdate"] = [
                {**o, "OccupationVersionNbr": occ["occupation_version_nbr"]}
                for o, occ in zip(
                    clean.get("Occupation", []), record.get("occupations", []), strict=False
                )
            ]
            last = {
                "EmployerClass": record["employer_class"],
                "WorkerCode": record["worker_code"],
                "WorkerRecordVersionNbr": record["worker_record_version_nbr"],
            }
            updates.append(
                {
                    "NaturalPersonSequenceNbr": n,
                    "INSS": w.insz,
                    "NaturalPersonPID": person["natural_person_pid"],
                    "DeclNaturalPersonPID": person["decl_natural_person_pid"],
                    "DeclNaturalPersonVersionNbr": person["decl_natural_person_version_nbr"],
                    "WorkerRecordUpdate": [
                        {"LastSituationWR": last, "WorkerRecordUpdateAction": content}
                    ],
                }
            )
        if not updates:
            return None
        body = {
            "EmployerDeclarationUpdate": {
                "Quarter": self.year * 10 + quarter,
                "NOSSRegistrationNbr": e.nsso,
                "Trusteeship": 0,
                "CompanyID": e.enterprise,
                "EmployerDeclarationPID": pids["employer_declaration_pid"],
                "Justification": "Contributions recomputed",
                "NaturalPersonUpdate": updates,
            }
        }
        response = await self.http.post(f"{base}/dmfa/v1/declarations", json=body, headers=headers)
        if response.status_code not in (200, 201):
            raise DemoError(
                f"DmfA modification refused: HTTP {response.status_code} {response.text[:500]}"
            )
        return f"modifications {str(response.json().get('result', 'sent')).lower()}"

    # -- the year ------------------------------------------------------------------------------

    @property
    def _now(self) -> datetime:
        return self._clock

    async def at(self, day: date, hour: int = 9) -> None:
        self._clock = datetime(day.year, day.month, day.day, hour, tzinfo=BRUSSELS)
        await self.set_clock(self._clock)

    def timeline(self) -> list[tuple[datetime, str, Callable[[], Awaitable[Any]]]]:
        """Every step of the year with the business time it happens at, in time order."""
        year = self.year
        steps: list[tuple[date, str, Callable[[], Awaitable[Any]]]] = []
        for q in range(1, 5):
            start_q, end_q = quarter_bounds(year, q)
            steps.append(
                (
                    start_q - timedelta(days=12),
                    f"dimona-{year}-{q}-in",
                    lambda q=q: self.dimona_ins(q),
                )
            )
            steps.append(
                (
                    start_q - timedelta(days=5),
                    f"dimona-{year}-{q}-changes",
                    lambda q=q: self.dimona_changes(q),
                )
            )
            due = self.due_date(q)
            deadline = self.calendar.add(due, 15)
            steps.append(
                (
                    due - timedelta(days=12),
                    f"dmfa-{year}-{q}",
                    lambda q=q: self.dmfa_quarter(q, late=False),
                )
            )
            steps.append(
                (
                    deadline + timedelta(days=3),
                    f"dmfa-{year}-{q}-late",
                    lambda q=q: self.dmfa_quarter(q, late=True),
                )
            )
            steps.append(
                (
                    self.calendar.add(due, 20) + timedelta(days=1),
                    f"silent-{year}-{q}-list",
                    lambda q=q: self.silent(q),
                )
            )
            steps.append(
                (
                    deadline + timedelta(days=30),
                    f"dmfa-{year}-{q}-corrections",
                    lambda q=q: self.dmfa_corrections(q),
                )
            )
            six_months = _months_after(end_q, 6) + timedelta(days=1)
            steps.append((six_months, f"silent-{year}-{q}-final", lambda q=q: self.silent(q)))
        for day, name, action in self.extra_steps():
            steps.append((day, name, action))
        steps.sort(key=lambda s: s[0])
        return [(datetime(d.year, d.month, d.day, 9, tzinfo=BRUSSELS), n, a) for d, n, a in steps]

    def extra_steps(self) -> list[tuple[date, str, Callable[[], Awaitable[Any]]]]:
        """The steps after the year: the yearly cross-check and the walk of the clock
        through the barometer's evaluation dates."""
        year = self.year
        from socsec.demo import barometer

        steps: list[tuple[date, str, Callable[[], Awaitable[Any]]]] = [
            (date(year + 1, 6, 20), f"crosscheck-{year}", self.crosscheck_year),
            (date(year + 1, 7, 3), f"reactions-{year}", lambda: barometer.reactions(self)),
            (date(year + 1, 7, 17), f"answers-{year}", lambda: barometer.answers(self)),
            (date(year + 1, 10, 20), f"global-{year}", lambda: barometer.global_report(self)),
        ]
        for q in range(1, 5):
            due = self.due_date(q)
            deadline = self.calendar.add(due, 15)
            steps.append(
                (
                    due + timedelta(days=35),
                    f"ledger-{year}-{q}",
                    lambda q=q: barometer.ledger(self, q),
                )
            )
            steps.append(
                (
                    deadline + timedelta(days=35),
                    f"technical-{year}-{q}",
                    lambda q=q: barometer.technical_controls(self, q),
                )
            )
        day = date(year + 1, 1, 31)
        while day <= date(year + 1, 10, 31):
            steps.append((day, f"clock-{day.isoformat()}", self.settle))
            day = _months_after(day, 1)
        return steps

    async def silent(self, quarter: int) -> dict[str, int]:
        """The silent-employer evaluation of a quarter, as the NSSO runs it on its dates."""
        from socsec.cli.dmfa import DmfaCoordinates, evaluate_silent_quarter

        coords = DmfaCoordinates(
            self.state.service_database_urls["dmfa"],
            self.state.kafka_bootstrap,
            self.state.topic_prefix,
        )
        findings = await evaluate_silent_quarter(coords, self.year * 10 + quarter, False)
        counts = Counter(f.reason for f in findings if f.new)
        self.tally.counts.update({f"silent {k}": v for k, v in counts.items()})
        return dict(counts)

    async def crosscheck_year(self) -> dict[str, int]:
        """The yearly set-based cross-check of the year (counts per seat for domain C)."""
        from socsec.cli.crosscheck import run_year
        from socsec.crosscheck.settings import CrosscheckSettings

        await self.settle()
        settings = CrosscheckSettings(
            database_url=self.state.service_database_urls["crosscheck"],
            kafka_bootstrap_servers=self.state.kafka_bootstrap,
            topic_prefix=self.state.topic_prefix,
            log_json=False,
        )
        report, _, seats = await run_year(settings, self.year)
        return {
            "seats": len(seats),
            **{k: int(v) for k, v in _as_dict(report).items() if isinstance(v, int)},
        }

    async def settle(self, quiet_s: float | None = None, within_s: float = 900.0) -> None:
        """Until the stack has nothing left to do: every outbox sent, every consumer group
        caught up, and a few periodic ticks passed on the business time just set."""
        from socsec.demo.settle import pending_work, set_aside

        quiet_s = self.pace if quiet_s is None else quiet_s
        deadline = time.monotonic() + within_s
        calm_since: float | None = None
        while True:
            busy = await pending_work(self.state)
            now = time.monotonic()
            if busy:
                calm_since = None
            elif calm_since is None:
                calm_since = now
            elif now - calm_since >= quiet_s:
                refused = await set_aside(self.state)
                if refused:
                    # The year would go on without these events: stop and say so.
                    raise DemoError(
                        f"the broker refused events for good: {refused} (see socsec outbox list)"
                    )
                return
            if now > deadline:
                raise DemoError(f"the stack did not settle in {within_s:.0f} s: {busy}")
            await asyncio.sleep(1.0)

    async def run(self) -> Tally:
        self._clock = datetime(self.year - 1, 12, 1, 9, tzinfo=BRUSSELS)
        try:
            await self.at(self._clock.date())
            await self.step("registry", self.seed_registry)
            for when, name, action in self.timeline():
                if name in self.journal.done:
                    self.out.print(f"[dim]· {name}: done in an earlier run[/]")
                    continue
                self._clock = when
                await self.set_clock(when)
                await self.step(name, action)
                await self.settle()
            await self.settle()
            from socsec.demo import barometer

            self.result = await barometer.summary(self)
        finally:
            await self.http.aclose()
        return self.tally


def _months_after(day: date, months: int) -> date:
    """The last day of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months + 1
    return date(index // 12, index % 12 + 1, 1) - timedelta(days=1)


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(value)
    return {}


def _fixed(w: Worker, quarter: int) -> Worker:
    """The same worker with the quarter's contribution mistake corrected."""
    from dataclasses import replace

    return replace(w, wrong_contribution=w.wrong_contribution - {quarter})


def _sequence(tag: str) -> str:
    """A five-character sequence element of a transfer name from a step tag."""
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    n = sum(ord(c) * 31**i for i, c in enumerate(tag)) % 36**5
    out = ""
    for _ in range(5):
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out
