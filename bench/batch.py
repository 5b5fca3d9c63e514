"""The batch channel under load: a Dimona file of 100 000 forms and a DmfA file of 50 000
worker lines through the transfer point, with the batch, dimona and dmfa services each
running as a separate process (``python -m socsec run batch`` / ``dimona`` / ``dmfa``) on
the stack.

Measured, for each file, from the moment its GO lands in the sender's IN folder (the FI
parts are already taken in, as a sender drops the GO last):

- **GO → ACRF**: until the ACRF (and its GO) is in the OUT folder;
- **GO → published**: until every form is on ``batch.forms.v1``;
- **GO → results**: until every form has its final result (from dimona or dmfa);
- **GO → NOTI**: until the set is answered in full: the NOTI answering every form (and, for
  the DmfA originals, the PID file) written.

and the **peak RSS** of the batch service process, sampled every 50 ms over the whole run.
Goals (issue "Batch channel"): ACRF under 5 s, peak under 300 MiB.

Files go in through the watched folder (no token needed). ``python -m bench.batch`` runs it
alone on a private stack; as a scenario of ``python -m bench`` it is ``run(env, options)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from lxml import etree
from rich.table import Table

from bench.common import (
    BenchEnv,
    BenchOptions,
    Goal,
    ScenarioReport,
    console,
    fmt_s,
    tracing_env,
)
from socsec.contracts.identifiers import nsso_number_from
from socsec.contracts.payloads.registry import (
    Approval,
    EmployerChanged,
    EmployerClass,
    MandataryChanged,
    MandataryKind,
    MandateChanged,
    Scope,
    Seat,
    SenderChanged,
)
from socsec.kit import migrator
from socsec.kit.clock import BRUSSELS
from socsec.kit.runtime import ServiceRuntime

NAME = "batch"
GOAL_ACRF_S = 5.0
GOAL_RSS_MIB = 300.0
SENDER = "054321"
HOLDER = "M-BENCH"
EMPLOYERS = ("155555504", "111111171")
COMPANIES = ("0555555523", "0812345603")


def dmfa_employer(form: int) -> tuple[str, str]:
    """The employer (NSSO and enterprise number) of the ``form``-th DmfA declaration: one
    each, so no declaration is another's duplicate for the quarter."""
    base = 1_300_000 + form
    first8 = 4_000_000 + form
    return nsso_number_from(base), f"{first8:08d}{97 - first8 % 97:02d}"


PERSONS_PER_DMFA_FORM = 100
PHASE_TIMEOUT_S = 3600.0


# -- reference data and files ---------------------------------------------------------------


async def publish_reference_data(env: BenchEnv, dmfa_forms: int) -> None:
    """One mandatary holding sender 054321 with Dimona and DmfA mandates for two employers
    (Dimona) and one per DmfA declaration, published as the registry publishes them."""
    from socsec.registry.settings import RegistrySettings

    conn = await asyncpg.connect(env.dsns["registry"])
    try:
        await migrator.apply(conn, "registry", migrator.load("kit", migrator.KIT_MIGRATIONS))
    finally:
        await conn.close()
    settings = RegistrySettings(
        database_url=env.dsns["registry"],
        kafka_bootstrap_servers=env.bootstrap,
        topic_prefix=env.prefix,
        log_json=False,
    )
    registry = ServiceRuntime(settings, follow_clock=False, configure_logging=False)
    await registry.start()
    try:
        async with registry.db.transaction() as conn:
            out = registry.outbox
            mandatary = MandataryChanged(
                id=HOLDER,
                kind=MandataryKind.APPROVED_SECRETARIAT,
                legal_name="Bench Secretariat",
                enterprise_number="0412345614",
                approval=Approval(number="951", approved_from=date(2017, 1, 1)),
                seat=Seat(id="S-BENCH", address="Rue de la Loi 1, 1000 Bruxelles"),
            )
            await out.publish(
                conn,
                "registry.secretariats.v1",
                event_type="MandataryChanged",
                key=HOLDER,
                payload=mandatary,
            )
            employers = [*zip(EMPLOYERS, COMPANIES, strict=True)]
            employers += [dmfa_employer(f) for f in range(dmfa_forms)]
            for index, (nsso, kbo) in enumerate(employers):
                await out.publish(
                    conn,
                    "registry.employers.v1",
                    event_type="EmployerChanged",
                    key=nsso,
                    payload=EmployerChanged(
                        nsso_number=nsso,
                        enterprise_number=kbo,
                        name=f"Employer {nsso}",
                        language="fr",
                        registered_from=date(2010, 1, 1),
                        employer_classes=(EmployerClass(employer_class="010", from_quarter=20031),),
                    ),
                )
                await out.publish(
                    conn,
                    "registry.mandates.v1",
                    event_type="MandateChanged",
                    key=f"MD-BENCH-{index}",
                    payload=MandateChanged(
                        id=f"MD-BENCH-{index}",
                        employer_nsso=nsso,
                        mandatary_id=HOLDER,
                        affiliation_point="S-BENCH",
                        seat_id="S-BENCH",
                        scopes=(Scope.DIMONA, Scope.DMFA),
                        proxy_registered_on=date(2015, 1, 1),
                        valid_from=date(2015, 1, 1),
                    ),
                )
            await out.publish(
                conn,
                "registry.senders.v1",
                event_type="SenderChanged",
                key=SENDER,
                payload=SenderChanged(sender_number=SENDER, holder=HOLDER),
            )
        deadline = time.monotonic() + 60
        while await registry.db.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
            if time.monotonic() > deadline:
                raise RuntimeError("reference data not relayed")
            await asyncio.sleep(0.1)
    finally:
        await registry.stop()


def insz(index: int) -> str:
    """A distinct valid national-register number per index (born 1980 onwards)."""
    born = date(1980, 1, 1) + timedelta(days=index // 997)
    body = f"{born:%y%m%d}{index % 997 + 1:03d}"
    return f"{body}{97 - int(body) % 97:02d}"


_HEADER = (
    "<Identification>{ident}</Identification><FormCreationDate>{day}</FormCreationDate>"
    "<FormCreationHour>09:00:00.000</FormCreationHour><AttestationStatus>0</AttestationStatus>"
    "<TypeForm>SU</TypeForm><Reference><ReferenceType>1</ReferenceType>"
    "<ReferenceOrigin>1</ReferenceOrigin><ReferenceNbr>{ref}</ReferenceNbr></Reference>"
)


def write_dimona(path: Path, forms: int, today: date) -> None:
    """``forms`` Dimona IN forms (OTH, starting in a month), one worker each."""
    start = (today + timedelta(days=30)).isoformat()
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="utf-8"?>\n<Dimona xmlns:xsi="http://www.w3.org/2001/'
            'XMLSchema-instance" xsi:noNamespaceSchemaLocation="Dimona_20231.xsd">\n'
        )
        for i in range(forms):
            header = _HEADER.format(ident="DIMONA", day=today.isoformat(), ref=f"B-{i:07d}")
            out.write(
                f"<Form>{header}<DimonaIn><StartingDate>{start}</StartingDate><EmployerId>"
                f"<NOSSRegistrationNbr>{EMPLOYERS[i % 2]}</NOSSRegistrationNbr></EmployerId>"
                f"<NaturalPerson><INSS>{insz(i)}</INSS></NaturalPerson><DimonaFeatures>"
                "<JointCommissionNbr>XXX</JointCommissionNbr><WorkerType>OTH</WorkerType>"
                "</DimonaFeatures></DimonaIn></Form>\n"
            )
        out.write("</Dimona>\n")


def write_dmfa(path: Path, lines: int, today: date) -> int:
    """A DmfA original of ``lines`` worker lines, 100 per employer declaration; the forms."""
    forms = -(-lines // PERSONS_PER_DMFA_FORM)
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="utf-8"?>\n<DmfAOriginal xmlns:xsi="http://www.w3.org/'
            '2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="DmfAOriginal_20223.xsd">\n'
        )
        for f in range(forms):
            persons = min(PERSONS_PER_DMFA_FORM, lines - f * PERSONS_PER_DMFA_FORM)
            header = _HEADER.format(ident="DMFA", day=today.isoformat(), ref=f"Q-{f:06d}")
            nsso, company = dmfa_employer(f)
            out.write(
                f"<Form>{header}<EmployerDeclaration><Quarter>20261</Quarter>"
                f"<NOSSRegistrationNbr>{nsso}</NOSSRegistrationNbr>"
                f"<Trusteeship>0</Trusteeship><CompanyID>{company}</CompanyID>"
                f"<NetOwedAmount>{433998 * persons}</NetOwedAmount>"
            )
            for n in range(1, persons + 1):
                out.write(
                    f"<NaturalPerson><NaturalPersonSequenceNbr>{n}</NaturalPersonSequenceNbr>"
                    f"<INSS>{insz(f * PERSONS_PER_DMFA_FORM + n)}</INSS><WorkerRecord>"
                    "<EmployerClass>010</EmployerClass><WorkerCode>495</WorkerCode>"
                    "<NOSSQuarterStartingDate>2026-01-01</NOSSQuarterStartingDate>"
                    "<NOSSQuarterEndingDate>2026-03-31</NOSSQuarterEndingDate><Border>0</Border>"
                    "<Occupation><OccupationSequenceNbr>1</OccupationSequenceNbr>"
                    "<JointCommissionNbr>200</JointCommissionNbr>"
                    "<WorkingDaysSystem>500</WorkingDaysSystem><ContractType>0</ContractType>"
                    "<RefMeanWorkingHours>3800</RefMeanWorkingHours>"
                    "<MeanWorkingHours>3800</MeanWorkingHours><Retired>0</Retired><Service>"
                    "<ServiceSequenceNbr>1</ServiceSequenceNbr><ServiceCode>001</ServiceCode>"
                    "<ServiceNbrDays>6400</ServiceNbrDays></Service><Remun>"
                    "<RemunSequenceNbr>1</RemunSequenceNbr><RemunCode>001</RemunCode>"
                    "<RemunAmount>1140000</RemunAmount></Remun></Occupation>"
                    "<WorkerContribution><ContributionWorkerCode>495</ContributionWorkerCode>"
                    "<ContributionType>0</ContributionType><ContributionCalculationBasis>"
                    "1140000</ContributionCalculationBasis><ContributionAmount>433998"
                    "</ContributionAmount></WorkerContribution></WorkerRecord></NaturalPerson>"
                )
            out.write("</EmployerDeclaration></Form>\n")
        out.write("</DmfAOriginal>\n")
    return forms


# -- the services as processes ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path


@contextlib.contextmanager
def services(env: BenchEnv, workdir: Path, transfer: Path) -> Iterator[dict[str, Service]]:
    """The batch, dimona and dmfa services, each ``python -m socsec run <name>`` with the
    stack's coordinates (an empty data folder, so no stack.json overrides them)."""
    empty = workdir / "no-stack"
    empty.mkdir(exist_ok=True)
    started: dict[str, Service] = {}
    try:
        for name in ("dimona", "dmfa", "batch"):
            port = _free_port()
            environment = {
                **os.environ,
                "DATABASE_URL": env.dsns[name],
                "SOCSEC_DATABASE_URL": env.dsns[name],
                "KAFKA_BOOTSTRAP_SERVERS": env.bootstrap,
                "SOCSEC_TOPIC_PREFIX": env.prefix,
                "SOCSEC_HTTP_PORT": str(port),
                "SOCSEC_LOG_LEVEL": "WARNING",
                **tracing_env(),
                "SOCSEC_TRANSFER_DIR": str(transfer),
                "SOCSEC_SETTLE_SECONDS": "0.2",
                "SOCSEC_WATCH_INTERVAL_SECONDS": "0.1",
                "SOCSEC_POLL_SECONDS": "0.5",
                # Workers of the bench file are not in a worker register: accept them.
                "SOCSEC_UNKNOWN_SSIN_POLICY": "accept",
            }
            log = workdir / f"{name}.log"
            with log.open("wb") as handle:
                process = subprocess.Popen(
                    [sys.executable, "-m", "socsec", "run", name, "--data-dir", str(empty)],
                    env=environment,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                )
            started[name] = Service(name, process, port, log)
        yield started
    finally:
        for service in started.values():
            if service.process.poll() is None:
                service.process.terminate()
        for service in started.values():
            try:
                service.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                service.process.kill()


async def _ready(service: Service, wait_s: float = 120) -> None:
    deadline = time.monotonic() + wait_s
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if service.process.poll() is not None:
                raise RuntimeError(f"{service.name} exited: {service.log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                response = await client.get(f"http://127.0.0.1:{service.port}/readyz")
                if response.status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{service.name} not ready after {wait_s:.0f} s")


@dataclass
class RssSampler:
    """The peak resident memory of a process (and its children), sampled in the background."""

    pid: int
    interval_s: float = 0.05
    peak: int = 0
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    def _rss(self) -> int:
        process = psutil.Process(self.pid)
        total = process.memory_info().rss
        for child in process.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return total

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(psutil.Error):
                self.peak = max(self.peak, self._rss())
            await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


# -- one file through the transfer point --------------------------------------------------


async def _wait(check: Any, what: str, wait_s: float = PHASE_TIMEOUT_S, poll: float = 0.05):
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(poll)
    raise TimeoutError(f"{what} not seen after {wait_s:.0f} s")


def _acrf_for(folder: Path, go_name: str) -> bytes | None:
    for path in folder.glob("FO.ACRF.*"):
        if not (folder / f"GO{path.name[2:]}").exists():
            continue
        content = path.read_bytes()
        if etree.fromstring(content).findtext("Form/FileReference/FileName") == go_name:
            return content
    return None


async def send_file(
    conn: asyncpg.Connection, transfer: Path, source: Path, set_key: str
) -> dict[str, Any]:
    """Drop one file (FI, FS) then its GO in IN and time the answers."""
    inbox, outbox = transfer / SENDER / "IN", transfer / SENDER / "OUT"
    fi, fs, go = f"FI.{set_key}.1.1", f"FS.{set_key}.1.1", f"GO.{set_key}.1"
    staging = transfer / ".staging"
    staging.mkdir(exist_ok=True)
    os.replace(source, staging / fi)
    (staging / fs).write_bytes(b"bench signature")
    for name in (fi, fs):
        os.replace(staging / name, inbox / name)  # atomic: never seen half written

    async def taken() -> bool:
        return (
            await conn.fetchval(
                "SELECT count(*) FROM received_files WHERE name = ANY($1::text[])", [fi, fs]
            )
            == 2
            and not (inbox / fi).exists()
        )

    await _wait(taken, f"{fi} taken in", poll=0.1)
    (staging / go).write_bytes(b"")
    start = time.monotonic()
    os.replace(staging / go, inbox / go)
    acrf = await _wait(lambda: asyncio.to_thread(_acrf_for, outbox, go), f"the ACRF of {go}")
    acrf_s = time.monotonic() - start
    accepted = etree.fromstring(acrf).findtext("Form/ReceptionResult/ResultCode") == "1"
    if not accepted:
        raise RuntimeError(f"{go} refused: {acrf.decode()}")

    async def status(*wanted: str) -> asyncpg.Record | None:
        row = await conn.fetchrow(
            "SELECT status, form_count, published FROM file_sets WHERE go_name = $1", go
        )
        return row if row is not None and row["status"] in wanted else None

    row = await _wait(lambda: status("PUBLISHED", "NOTIFIED"), f"the forms of {go} published")
    published_s = time.monotonic() - start
    result: dict[str, Any] = {
        "forms": row["form_count"],
        "acrf_s": acrf_s,
        "published_s": published_s,
    }
    ticket = await conn.fetchval("SELECT ticket FROM file_sets WHERE go_name = $1", go)

    async def answered() -> bool:
        count = await conn.fetchval(
            "SELECT count(*) FROM form_results WHERE ticket = $1 AND final", ticket
        )
        return count >= row["form_count"]

    await _wait(answered, f"the results of {go}", poll=0.2)
    result["results_s"] = time.monotonic() - start
    await _wait(lambda: status("NOTIFIED"), f"the NOTI of {go}", poll=0.2)
    result["noti_s"] = time.monotonic() - start
    by_result = await conn.fetch(
        "SELECT result, count(*) AS n FROM form_results WHERE ticket = $1 GROUP BY result",
        ticket,
    )
    result["results"] = {r["result"]: r["n"] for r in by_result}
    files = await conn.fetch(
        "SELECT o.kind, o.forms, o.size FROM out_files o JOIN file_sets s ON s.id = o.set_id"
        " WHERE s.ticket = $1 AND o.kind <> 'ACRF' ORDER BY o.id",
        ticket,
    )
    result["answers"] = [dict(f) for f in files]
    return result


async def run_batch(
    env: BenchEnv,
    dimona_forms: int = 100_000,
    dmfa_lines: int = 50_000,
    workdir: Path | None = None,
) -> dict[str, Any]:
    """Both files through a running batch and dimona; the figures. The files (over 100 MB
    at the default sizes) are written in ``workdir``, a temporary folder removed afterwards
    when none is given."""
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="socsec-bench-batch-") as temporary:
            return await run_batch(env, dimona_forms, dmfa_lines, Path(temporary))
    transfer = workdir / "transfer"
    # File names carry the business date (Brussels); the bench stack runs on the wall clock.
    today = datetime.now(BRUSSELS).date()
    await publish_reference_data(env, -(-dmfa_lines // PERSONS_PER_DMFA_FORM))
    dimona_path, dmfa_path = workdir / "dimona.xml", workdir / "dmfa.xml"
    await asyncio.to_thread(write_dimona, dimona_path, dimona_forms, today)
    dmfa_form_count = await asyncio.to_thread(write_dmfa, dmfa_path, dmfa_lines, today)
    sizes = {
        "dimona_mb": dimona_path.stat().st_size / 1e6,
        "dmfa_mb": dmfa_path.stat().st_size / 1e6,
    }
    with services(env, workdir, transfer) as running:
        for service in running.values():
            await _ready(service)
        sampler = RssSampler(running["batch"].process.pid)
        sampler.start()
        conn = await asyncpg.connect(env.dsns["batch"])
        try:
            await _wait(
                lambda: asyncio.to_thread((transfer / SENDER / "IN").is_dir),
                "the sender's folders",
                wait_s=60,
            )
            day = f"{today:%Y%m%d}"
            dimona = await send_file(conn, transfer, dimona_path, f"DIMN.{SENDER}.{day}.00001.R")
            dmfa = await send_file(conn, transfer, dmfa_path, f"DMFA.{SENDER}.{day}.00002.R")
        finally:
            await conn.close()
            await sampler.stop()
    return {
        "dimona_forms": dimona_forms,
        "dmfa_lines": dmfa_lines,
        "dmfa_forms": dmfa_form_count,
        **sizes,
        "dimona": dimona,
        "dmfa": dmfa,
        "batch_peak_rss_mib": sampler.peak / 2**20,
    }


def report(results: dict[str, Any]) -> ScenarioReport:
    dimona, dmfa = results["dimona"], results["dmfa"]
    table = Table(title="batch channel (GO dropped in IN → answer in OUT)", title_justify="left")
    columns = ("file", "forms", "MB", "GO → ACRF", "GO → published", "GO → results", "GO → NOTI")
    for column in columns:
        table.add_column(column, justify="right" if column != "file" else "left")
    table.add_row(
        f"DIMN {results['dimona_forms']:,} forms",
        f"{dimona['forms']:,}",
        f"{results['dimona_mb']:.0f}",
        fmt_s(dimona["acrf_s"]),
        fmt_s(dimona["published_s"]),
        fmt_s(dimona.get("results_s")),
        fmt_s(dimona.get("noti_s")),
    )
    table.add_row(
        f"DMFA {results['dmfa_lines']:,} lines",
        f"{dmfa['forms']:,}",
        f"{results['dmfa_mb']:.0f}",
        fmt_s(dmfa["acrf_s"]),
        fmt_s(dmfa["published_s"]),
        fmt_s(dmfa.get("results_s")),
        fmt_s(dmfa.get("noti_s")),
    )
    acrf = max(dimona["acrf_s"], dmfa["acrf_s"])
    peak = results["batch_peak_rss_mib"]
    return ScenarioReport(
        scenario=NAME,
        results=results,
        goals=[
            Goal(f"ACRF under {GOAL_ACRF_S:.0f} s", acrf < GOAL_ACRF_S, fmt_s(acrf)),
            Goal(
                f"batch peak RSS under {GOAL_RSS_MIB:.0f} MiB",
                peak < GOAL_RSS_MIB,
                f"{peak:.0f} MiB",
            ),
        ],
        notes=[
            "batch, dimona and dmfa each run as `python -m socsec run <name>`; files enter "
            "through the watched IN folder, the FI already taken in when the GO is dropped",
            "DmfA 'GO → NOTI' includes the PID file of the accepted originals",
        ],
        tables=[table],
    )


async def run(env: BenchEnv, options: BenchOptions) -> ScenarioReport:
    """The scenario of ``python -m bench`` (default sizes)."""
    return report(await run_batch(env))


def main() -> None:
    """``python -m bench.batch [dimona_forms] [dmfa_lines]`` on a private stack."""
    from bench.common import discard, infrastructure, prepare, quiet_logging

    quiet_logging()
    os.environ["OTEL_TRACES_EXPORTER"] = "none"
    dimona_forms = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    dmfa_lines = int(sys.argv[2]) if len(sys.argv) > 2 else 50_000
    with (
        tempfile.TemporaryDirectory(prefix="socsec-bench-batch-") as temporary,
        infrastructure(Path(temporary), use_running=False, data_dir=Path(temporary)) as infra,
    ):
        env = prepare(infra)
        try:
            results = asyncio.run(run_batch(env, dimona_forms, dmfa_lines, Path(temporary)))
        finally:
            discard(env)
    scenario = report(results)
    for table in scenario.tables:
        console.print(table)
    for goal in scenario.goals:
        console.print(f"{goal.description}: {goal.value} ({'met' if goal.met else 'NOT met'})")
    console.print(results)


if __name__ == "__main__":
    main()
