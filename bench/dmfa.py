"""DmfA throughput: a quarter of worker lines through the dmfa service's batch path.

The forms of a quarter (``LINES_PER_FORM`` worker lines each, one employer per form, all
registered with a DmfA mandate of an approved secretariat) are published as
``BatchFormSubmitted`` on ``batch.forms.v1`` the way the batch service publishes them; the
dmfa service, started in this process as in production (its consumer, rules, store, outbox
and relay), reads every form, checks it and stores its lines. Measured: worker lines checked
and stored per second, from the service's start (the forms already on the topic, published
by the bench beforehand as the batch service would, from another process) to the last
declaration committed, and the same rows written by one raw asyncpg ``COPY`` in the same
run, for the ratio.

Goal (issue "DmfA"): at least 5 000 lines per second on the benchmark machine.

``run_dmfa(lines=100_000)`` runs it on its own (a private stack); ``run(env, options)`` is
the scenario of ``python -m bench`` (register ``"dmfa": "bench.dmfa"`` in
``bench.__main__.SCENARIOS``); ``python -m bench.dmfa --lines 100000`` from the shell.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from rich.table import Table

from bench.common import (
    BenchEnv,
    BenchOptions,
    CpuMeter,
    Goal,
    ScenarioReport,
    console,
    discard,
    fmt_rate,
    fmt_s,
    infrastructure,
    prepare,
    quiet_kafka_client,
    quiet_logging,
    rate,
    tracing_env,
)
from socsec.contracts.envelope import Envelope
from socsec.contracts.identifiers import is_valid_enterprise_number, nsso_number_from
from socsec.contracts.payloads.registry import (
    Approval,
    EmployerChanged,
    EmployerClass,
    MandataryChanged,
    MandataryKind,
    MandateChanged,
    NotificationRouting,
    Scope,
    Seat,
)
from socsec.kit import migrator
from socsec.kit.clock import BRUSSELS, CLOCK_TOPIC, ClockState, write_clock_state
from socsec.kit.runtime import ServiceRuntime
from socsec.stack.local import DEFAULT_DATA_DIR

NAME = "dmfa"
GOAL_LINES_PER_S = 5_000
DEFAULT_LINES = int(os.environ.get("SOCSEC_BENCH_DMFA_LINES", "100000"))
LINES_PER_FORM = 50
QUARTER = 20251
#: The business day of the run: inside the filing window of 2025/1, nothing is late.
BUSINESS_DAY = "2025-04-15T10:00:00"
SECRETARIAT = "M-BENCH"
SENDER_HOLDER = "S-BENCH"


# -- reference data and forms ------------------------------------------------------------------


def _insz(i: int) -> str:
    """A valid national register number, one per person of the run (born in 1970-1971)."""
    born = date(1970, 1, 1) + timedelta(days=i // 997)
    base = int(f"{born:%y%m%d}{i % 997 + 1:03d}")
    return f"{base:09d}{97 - base % 97:02d}"


def _enterprise(i: int) -> str:
    number = f"{10_000_000 + i:08d}"
    candidate = f"{number}{97 - int(number) % 97:02d}"
    if not is_valid_enterprise_number(candidate):
        raise ValueError(f"generated enterprise number {candidate} is invalid")
    return candidate


def employers(count: int) -> list[tuple[str, str]]:
    """(NSSO number, enterprise number) of ``count`` generated employers."""
    return [(nsso_number_from(1_400_000 + i), _enterprise(i)) for i in range(count)]


_LINE = (
    "<NaturalPerson><NaturalPersonSequenceNbr>{seq}</NaturalPersonSequenceNbr>"
    "<INSS>{insz}</INSS><WorkerRecord><EmployerClass>010</EmployerClass>"
    "<WorkerCode>495</WorkerCode><NOSSQuarterStartingDate>2025-01-01</NOSSQuarterStartingDate>"
    "<NOSSQuarterEndingDate>2025-03-31</NOSSQuarterEndingDate><Border>0</Border>"
    "<Occupation><OccupationSequenceNbr>1</OccupationSequenceNbr>"
    "<OccupationStartingDate>2023-01-09</OccupationStartingDate>"
    "<JointCommissionNbr>200</JointCommissionNbr><WorkingDaysSystem>500</WorkingDaysSystem>"
    "<ContractType>0</ContractType><RefMeanWorkingHours>3800</RefMeanWorkingHours>"
    "<MeanWorkingHours>3800</MeanWorkingHours><Retired>0</Retired>"
    "<Service><ServiceSequenceNbr>1</ServiceSequenceNbr><ServiceCode>001</ServiceCode>"
    "<ServiceNbrDays>6400</ServiceNbrDays><ServiceNbrHours>48640</ServiceNbrHours></Service>"
    "<Remun><RemunSequenceNbr>1</RemunSequenceNbr><RemunCode>001</RemunCode>"
    "<RemunAmount>810000</RemunAmount></Remun></Occupation>"
    "<WorkerContribution><ContributionWorkerCode>495</ContributionWorkerCode>"
    "<ContributionType>0</ContributionType>"
    "<ContributionCalculationBasis>810000</ContributionCalculationBasis>"
    "<ContributionAmount>308367</ContributionAmount></WorkerContribution>"
    "</WorkerRecord></NaturalPerson>"
)


def form_xml(nsso: str, kbo: str, first_person: int, lines: int) -> str:
    """The ``Form`` of one employer's original for 2025/1 with ``lines`` white-collar lines."""
    persons = "".join(_LINE.format(seq=n + 1, insz=_insz(first_person + n)) for n in range(lines))
    return (
        "<Form><Identification>DMFA</Identification><FormCreationDate>2025-04-14"
        "</FormCreationDate><FormCreationHour>10:00:00.000</FormCreationHour>"
        "<AttestationStatus>0</AttestationStatus><TypeForm>SU</TypeForm>"
        f"<EmployerDeclaration><Quarter>{QUARTER}</Quarter>"
        f"<NOSSRegistrationNbr>{nsso}</NOSSRegistrationNbr><Trusteeship>0</Trusteeship>"
        f"<CompanyID>{kbo}</CompanyID><NetOwedAmount>{308367 * lines}</NetOwedAmount>"
        f"{persons}</EmployerDeclaration></Form>"
    )


def form_envelopes(lines: int, per_form: int) -> list[tuple[bytes, bytes]]:
    """(key, envelope bytes) of every form of the quarter, ready to send."""
    forms = -(-lines // per_form)
    received = datetime(2025, 4, 14, 10, 5, tzinfo=BRUSSELS).isoformat()
    ticket = "38" + uuid.uuid4().hex[:11].upper()
    out = []
    person = 0
    for i, (nsso, kbo) in enumerate(employers(forms)):
        count = min(per_form, lines - person)
        payload = {
            "ticket": ticket,
            "position": i + 1,
            "file_type": "DMFA",
            "environment": "R",
            "sender": "054999",
            "declarant": SENDER_HOLDER,
            "go_file_name": "GO.DMFA.054999.20250414.00001.R.1",
            "received_at": received,
            "form_xml": form_xml(nsso, kbo, person, count),
        }
        person += count
        envelope = Envelope(event_type="BatchFormSubmitted", producer="batch", payload=payload)
        out.append((nsso.encode(), envelope.to_bytes()))
    return out


async def publish_registry(env: BenchEnv, count: int) -> None:
    """The generated employers with a DmfA mandate of one approved secretariat, published
    through a registry outbox as the registry does."""
    conn = await asyncpg.connect(env.dsns["registry"])
    try:
        await migrator.apply(conn, "registry", migrator.load("kit", migrator.KIT_MIGRATIONS))
    finally:
        await conn.close()
    from socsec.registry.settings import RegistrySettings

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
            await out.publish(
                conn,
                "registry.secretariats.v1",
                event_type="MandataryChanged",
                key=SECRETARIAT,
                payload=MandataryChanged(
                    id=SECRETARIAT,
                    kind=MandataryKind.APPROVED_SECRETARIAT,
                    legal_name="ASBL - Secrétariat Social Bench",
                    enterprise_number="0412345614",
                    approval=Approval(number="951", approved_from=date(2017, 1, 1)),
                    seat=Seat(id=SENDER_HOLDER, address="Rue de la Loi 2, 1000 Bruxelles"),
                ),
            )
            for i, (nsso, kbo) in enumerate(employers(count)):
                await out.publish(
                    conn,
                    "registry.employers.v1",
                    event_type="EmployerChanged",
                    key=nsso,
                    payload=EmployerChanged(
                        nsso_number=nsso,
                        enterprise_number=kbo,
                        name=f"Bench employer {i}",
                        language="fr",
                        registered_from=date(2010, 1, 1),
                        employer_classes=(EmployerClass(employer_class="010", from_quarter=20031),),
                    ),
                )
                await out.publish(
                    conn,
                    "registry.mandates.v1",
                    event_type="MandateChanged",
                    key=f"MD-B{i:06d}",
                    payload=MandateChanged(
                        id=f"MD-B{i:06d}",
                        employer_nsso=nsso,
                        mandatary_id=SECRETARIAT,
                        affiliation_point=SENDER_HOLDER,
                        seat_id=SENDER_HOLDER,
                        scopes=(Scope.DMFA,),
                        proxy_registered_on=date(2015, 1, 1),
                        valid_from=date(2015, 1, 1),
                        notification_routing=NotificationRouting.MANDATARY,
                    ),
                )
        deadline = time.monotonic() + 120
        while await registry.db.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
            if time.monotonic() > deadline:
                raise RuntimeError("registry events were not relayed")
            await asyncio.sleep(0.1)
    finally:
        await registry.stop()


# -- the runs -------------------------------------------------------------------------------


def _service_env(env: BenchEnv) -> dict[str, str]:
    """The environment of a dmfa instance pointed at this run's database and topics."""
    return {
        "DATABASE_URL": env.dsns["dmfa"],
        "KAFKA_BOOTSTRAP_SERVERS": env.bootstrap,
        "SOCSEC_TOPIC_PREFIX": env.prefix,
        "SOCSEC_LOG_JSON": "false",
        "SOCSEC_LOG_LEVEL": "WARNING",
        "SOCSEC_SILENT_CHECK_SECONDS": "3600",
        **tracing_env(),
    }


async def _service(env: BenchEnv | None) -> ServiceRuntime:
    """A dmfa instance in this process (its settings from ``env``, or from the environment
    for an instance started by :func:`_instances`)."""
    from socsec.dmfa.main import create_app
    from socsec.dmfa.settings import DmfASettings

    if env is None:
        settings = DmfASettings()
    else:
        settings = DmfASettings(
            database_url=env.dsns["dmfa"],
            kafka_bootstrap_servers=env.bootstrap,
            topic_prefix=env.prefix,
            log_json=False,
            log_level="WARNING",
            silent_check_seconds=3600,
        )
    app = create_app(settings)
    runtime: ServiceRuntime = app.state.runtime
    await runtime.start()
    return runtime


def _instances(env: BenchEnv, count: int) -> list[subprocess.Popen[bytes]]:
    """``count`` more dmfa instances, each in its own process (same consumer group): the
    scale-out of the architecture, each instance on its share of the partitions."""
    root = Path(__file__).resolve().parent.parent
    return [
        subprocess.Popen(
            [sys.executable, "-m", "bench.dmfa", "--serve"],
            cwd=root,
            env={**os.environ, **_service_env(env)},
            stdout=subprocess.PIPE,
        )
        for _ in range(count)
    ]


async def _ready(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        assert process.stdout is not None
        line = await asyncio.to_thread(process.stdout.readline)
        if line.strip() != b"ready":
            raise RuntimeError("a dmfa instance did not start")


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


async def _serve() -> None:
    """Run one instance until SIGTERM (the child side of :func:`_instances`)."""
    runtime = await _service(None)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    try:
        await stop.wait()
    finally:
        await runtime.stop()


async def _send(env: BenchEnv, forms: list[tuple[bytes, bytes]]) -> float:
    producer = AIOKafkaProducer(
        bootstrap_servers=env.bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_request_size=8 * 1024 * 1024,
    )
    await producer.start()
    try:
        topic = env.topic("batch.forms.v1")
        headers = [("event_type", b"BatchFormSubmitted")]
        futures = [
            await producer.send(topic, value, key=key, headers=headers) for key, value in forms
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return time.perf_counter()


async def _count(runtime: ServiceRuntime, sql: str) -> int:
    return await runtime.db.fetchval(sql)


async def dmfa_path(
    env: BenchEnv, lines: int, per_form: int, cpu: CpuMeter, timeout_s: float, instances: int = 1
) -> dict[str, Any]:
    """Publish the quarter's forms while the service is down (the batch service is another
    process: its work is not this one's), then start the service and time it until every
    form is handled. A warm-up form first: migrations, group join and first compilations
    are not what is measured."""
    forms = form_envelopes(lines, per_form)
    warmup = form_envelopes(per_form, per_form)  # the first employer: its row is removed
    with quiet_kafka_client():
        runtime = await _service(env)
        try:
            await _send(env, warmup)
            deadline = time.monotonic() + 60
            while await _count(runtime, "SELECT count(*) FROM declarations") < 1:
                if time.monotonic() > deadline:
                    raise RuntimeError("the dmfa service did not handle the warm-up form")
                await asyncio.sleep(0.05)
            async with runtime.db.transaction() as conn:
                await conn.execute("DELETE FROM worker_lines")
                await conn.execute("DELETE FROM persons")
                await conn.execute("DELETE FROM employer_declarations")
            before = await _count(runtime, "SELECT count(*) FROM declarations")
        finally:
            await runtime.stop()
        p0 = time.perf_counter()
        await _send(env, forms)
        publish_s = time.perf_counter() - p0

        cpu.start()
        t0 = time.perf_counter()
        others = _instances(env, instances - 1)
        runtime = await _service(env)
        try:
            await _ready(others)
            started = time.perf_counter()
            first_at = None
            deadline = time.monotonic() + timeout_s
            while True:
                handled = await _count(runtime, "SELECT count(*) FROM declarations") - before
                if handled and first_at is None:
                    first_at = (time.perf_counter(), handled)
                if handled >= len(forms):
                    done_at = time.perf_counter()
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only {handled} of {len(forms)} forms handled in time")
                await asyncio.sleep(0.05)
            cores = cpu.stop()
            stored = await _count(runtime, "SELECT count(*) FROM worker_lines WHERE current")
            accepted = await _count(
                runtime, "SELECT count(*) FROM declarations WHERE result_code = 1"
            )
            # The notifications are relayed after the commit: how long until all are sent.
            relay_deadline = time.monotonic() + timeout_s
            while await _count(runtime, "SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
                if time.monotonic() > relay_deadline:
                    break
                await asyncio.sleep(0.05)
            relayed_at = time.perf_counter()
        finally:
            _stop(others)
            await runtime.stop()
    if stored != lines:
        raise RuntimeError(f"{stored} worker lines stored instead of {lines}")
    elapsed = done_at - t0
    steady = None
    if first_at is not None and done_at > first_at[0]:
        steady = rate((len(forms) - first_at[1]) * per_form, done_at - first_at[0])
    return {
        "lines": lines,
        "forms": len(forms),
        "lines_per_form": per_form,
        "instances": instances,
        "accepted_forms": accepted,
        "publish_s": round(publish_s, 3),
        "service_start_s": round(started - t0, 3),
        "checked_and_stored_s": round(elapsed, 3),
        "lines_per_s": rate(lines, elapsed),
        "lines_per_s_after_first_commit": steady,
        "forms_per_s": rate(len(forms), elapsed),
        # What one core of the service process does: the figure that does not depend on how
        # busy the machine is (a shared 2-core machine gives the process what is left).
        "lines_per_service_cpu_s": (
            rate(lines, cores["bench"] * elapsed) if instances == 1 and cores.get("bench") else None
        ),
        "notifications_relayed_s": round(relayed_at - t0, 3),
        "cores": cores,
    }


_COPY_TABLE = """CREATE TABLE bench_worker_lines (LIKE worker_lines INCLUDING DEFAULTS)"""


async def raw_copy(env: BenchEnv, lines: int) -> dict[str, Any]:
    """The same worker-line rows (the JSON of the stored line included) by one raw COPY."""
    from socsec.dmfa.handlers import line_json

    conn = await asyncpg.connect(env.dsns["dmfa"])
    try:
        await conn.execute(_COPY_TABLE)
        sample = _line_row_sample(line_json)
        rows = [
            (10_000_000_001 + i, 10_000_000_000, 20_000_000_001 + i, _insz(i), "010", "495", 1,
             True, True, 810000, sample)
            for i in range(lines)
        ]  # fmt: skip
        t0 = time.perf_counter()
        await conn.copy_records_to_table(
            "bench_worker_lines",
            records=rows,
            columns=[
                "version_nbr",
                "employer_declaration_pid",
                "natural_person_pid",
                "inss",
                "employer_class",
                "worker_code",
                "declaration_id",
                "current",
                "needs_dimona",
                "wage_mass",
                "line",
            ],
        )
        elapsed = time.perf_counter() - t0
        copied = await conn.fetchval("SELECT count(*) FROM bench_worker_lines")
    finally:
        await conn.close()
    if copied != lines:
        raise RuntimeError(f"COPY wrote {copied} rows instead of {lines}")
    return {"rows": lines, "copy_s": round(elapsed, 3), "rows_per_s": rate(lines, elapsed)}


def _line_row_sample(line_json: Any) -> str:
    """The stored JSON of one benchmark line, as the service writes it."""
    from lxml import etree

    from socsec.dmfa.domain.reading import read_form

    declaration = read_form(etree.fromstring(form_xml(*employers(1)[0], 0, 1).encode()), "DMFA")
    record = declaration.persons[0].records[0]  # type: ignore[union-attr]
    return line_json(record, 1, {1: 10_000_000_002})


def _table(result: dict[str, Any], copy: dict[str, Any], ratio: float | None) -> Table:
    table = Table(
        title=f"DmfA: {result['lines']:,} worker lines, {result['forms']:,} forms, "
        f"{result['instances']} instance(s)"
    )
    table.add_column("path")
    table.add_column("time", justify="right")
    table.add_column("throughput", justify="right")
    table.add_row(
        "dmfa service (start, batch.forms.v1 -> checked and stored)",
        fmt_s(result["checked_and_stored_s"]),
        fmt_rate(result["lines_per_s"], "lines/s"),
    )
    table.add_row(
        "  from its first commit on",
        "",
        fmt_rate(result["lines_per_s_after_first_commit"], "lines/s"),
    )
    table.add_row("  of which service start", fmt_s(result["service_start_s"]), "")
    table.add_row(
        "  per second of the service's CPU",
        "",
        fmt_rate(result["lines_per_service_cpu_s"], "lines/s"),
    )
    table.add_row("forms published beforehand (not timed above)", fmt_s(result["publish_s"]), "")
    table.add_row("  notifications relayed", fmt_s(result["notifications_relayed_s"]), "")
    table.add_row(
        "raw asyncpg COPY of the same rows",
        fmt_s(copy["copy_s"]),
        fmt_rate(copy["rows_per_s"], "rows/s"),
    )
    table.add_row("ratio dmfa / COPY", "", "—" if ratio is None else f"{ratio:.1%}")
    table.add_row("cores used (bench+service / kafka / postgres)", "", _cores(result["cores"]))
    return table


def _cores(cores: dict[str, float]) -> str:
    return " / ".join(str(cores.get(k, "—")) for k in ("bench", "kafka", "postgres"))


async def run(env: BenchEnv, opts: BenchOptions) -> ScenarioReport:
    """The ``python -m bench`` scenario: a quarter of ``DEFAULT_LINES`` worker lines (the
    harness's --messages counts events, not lines, and does not apply here)."""
    return await measure(env, DEFAULT_LINES, LINES_PER_FORM, opts.timeout_s * 3)


async def measure(
    env: BenchEnv, lines: int, per_form: int, timeout_s: float, instances: int = 1
) -> ScenarioReport:
    cpu = CpuMeter(env.infra.pids)
    forms = -(-lines // per_form)
    with console.status(f"registry: {forms:,} employers and their mandates…"):
        await publish_registry(env, forms + 1)
        await write_clock_state(
            env.bootstrap,
            ClockState(frozen_at=datetime.fromisoformat(BUSINESS_DAY).replace(tzinfo=BRUSSELS)),
            env.topic(CLOCK_TOPIC),
        )
    with console.status(f"dmfa: {lines:,} worker lines through batch.forms.v1…"):
        result = await dmfa_path(env, lines, per_form, cpu, timeout_s, instances)
    with console.status(f"raw COPY of {lines:,} rows…"):
        copy = await raw_copy(env, lines)
    ratio = None
    if result["lines_per_s"] and copy["rows_per_s"]:
        ratio = result["lines_per_s"] / copy["rows_per_s"]
    goal = Goal(
        description=f"lines checked and stored ≥ {GOAL_LINES_PER_S:,}/s",
        met=bool(result["lines_per_s"] and result["lines_per_s"] >= GOAL_LINES_PER_S),
        value=fmt_rate(result["lines_per_s"], "lines/s"),
    )
    return ScenarioReport(
        scenario=NAME,
        results={"dmfa": result, "raw_copy": copy, "dmfa_over_copy": ratio},
        goals=[goal],
        tables=[_table(result, copy, ratio)],
        notes=[
            "Forms are on batch.forms.v1 before the service starts (the batch service is "
            "another process); the time runs from the service's start to the last form "
            f"committed. One employer per form, {per_form} white-collar lines each, every line "
            "checked (structure, identifiers, rates, days, Dimona cross-check) and stored "
            "with its versions; one notification per form, relayed.",
        ],
    )


def _loop_factory() -> Any:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run_dmfa(
    lines: int = 100_000,
    *,
    per_form: int = LINES_PER_FORM,
    instances: int = 1,
    use_running: bool = False,
    timeout_s: float = 900,
) -> ScenarioReport:
    """Run the scenario on its own: a private Kafka and PostgreSQL (or the running stack),
    a fresh database and topic prefix, discarded at the end."""
    quiet_logging()
    os.environ.setdefault("OTEL_TRACES_EXPORTER", "none")
    workdir = Path(tempfile.mkdtemp(prefix="socsec-bench-dmfa-"))
    with infrastructure(workdir, use_running=use_running, data_dir=DEFAULT_DATA_DIR) as infra:
        env = prepare(infra)
        try:
            # uvloop when installed, as the harness and uvicorn run the services.
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                report = runner.run(measure(env, lines, per_form, timeout_s, instances))
        finally:
            discard(env)
    for table in report.tables:
        console.print(table)
    console.print(json.dumps(report.results, indent=2, default=str))
    return report


if __name__ == "__main__":
    import typer

    def _main(
        lines: int = typer.Option(100_000, "--lines", min=100),
        per_form: int = typer.Option(LINES_PER_FORM, "--per-form", min=1),
        instances: int = typer.Option(
            1, "--instances", min=1, max=3, help="dmfa instances (processes), one group."
        ),
        use_running: bool = typer.Option(False, "--use-running"),
        serve: bool = typer.Option(False, "--serve", hidden=True),
    ) -> None:
        if serve:
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                runner.run(_serve())
            return
        report = run_dmfa(lines, per_form=per_form, instances=instances, use_running=use_running)
        if not all(g.met for g in report.goals):
            raise typer.Exit(1)

    typer.run(_main)
