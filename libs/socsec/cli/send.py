"""``socsec send``: send declaration files to the batch channel and show the answers.

Files named like a transfer file (``FI.DIMN.054321.20260601.00001.R.1.1``, ``FS...``,
``GO...``, ``TD...``) are uploaded as they are, FI and FS first. Any other file is taken as
a bare declaration (root ``Dimona``, ``DmfAOriginal`` or ``DmfAUpdate``): its FI parts, its
FS parts where the environment needs a signature, and its GO are named and made here. Then
the command waits for the ACRF, and for an accepted file for its NOTI (and, for DmfA
originals, its PID file), and prints what they say: the ticket, accepted or refused with the
meaning of each error, the count of results (Dimona A/W/B/S, DmfA accepted/refused), the
first anomalies and the answer files.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import typer
from lxml import etree
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from socsec.cli.common import DataDir, console, err, stack_for

TRANSFER_NAME = re.compile(
    r"^(FI|FS|GO|TD)\.(DIMN|DMFA|DMWA)\.(\d{6})\.(\d{8})\.([0-9A-Za-z]{5})\.([RTS])(\.\d)*$"
)
TYPE_OF_ROOT = {"Dimona": "DIMN", "DmfAOriginal": "DMFA", "DmfAUpdate": "DMWA"}
RESULTS = (("A", "accepted"), ("W", "warnings"), ("B", "refused"), ("S", "provisional"))
BATCH_SCOPE = "scope:batch:sender"
PIECE = 1 << 16
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class SendError(Exception):
    """Something the user must fix (no token, an unreadable file, an HTTP refusal)."""


@dataclass(frozen=True)
class Upload:
    """One file to upload: its transfer name and where its bytes come from."""

    name: str
    path: Path | None = None
    content: bytes = b""
    offset: int = 0
    length: int | None = None

    @property
    def size(self) -> int:
        if self.path is None:
            return len(self.content)
        return self.length if self.length is not None else self.path.stat().st_size


@dataclass
class Outcome:
    """What one send ended with (for the exit code and for tests)."""

    ticket: str | None = None
    accepted: bool | None = None
    body: dict[str, Any] = field(default_factory=dict)
    complete: bool = False


def root_type(path: Path) -> str:
    """DIMN, DMFA or DMWA from the file's root element (only its first element is read)."""
    parser = etree.XMLPullParser(events=("start",), resolve_entities=False, no_network=True)
    with path.open("rb") as handle:
        while piece := handle.read(4096):
            try:
                parser.feed(piece)
            except etree.XMLSyntaxError as exc:
                raise SendError(f"{path}: not XML ({exc})") from None
            for _, element in parser.read_events():
                kind = TYPE_OF_ROOT.get(element.tag)
                if kind is None:
                    known = ", ".join(TYPE_OF_ROOT)
                    raise SendError(f"{path}: root {element.tag!r} is none of {known}")
                return kind
    raise SendError(f"{path}: no XML element")


def auto_sequence(now: float | None = None) -> str:
    """A five-character sequence that changes every tenth of a second and comes back only
    after 70 days, beyond the 30 days a file name may be old: no name is used twice."""
    value = int((now if now is not None else time.time()) * 10) % 36**5 or 1
    text = ""
    for _ in range(5):
        value, rest = divmod(value, 36)
        text = _BASE36[rest] + text
    return text


def plan(
    files: list[Path],
    *,
    sender: str | None,
    environment: str,
    day: date,
    sequence: str,
    parts: int,
    signed_envs: tuple[str, ...] = ("R",),
) -> list[Upload]:
    """Every upload, in order: files already named as transfer files as they are (FI, FS,
    then GO and TD), bare declarations with FI/FS/GO names made up here."""
    named = [f for f in files if TRANSFER_NAME.match(f.name)]
    bare = [f for f in files if not TRANSFER_NAME.match(f.name)]
    order = {"FI": 0, "FS": 1, "GO": 2, "TD": 3}
    uploads = [Upload(f.name, f) for f in sorted(named, key=lambda f: (order[f.name[:2]], f.name))]
    for index, path in enumerate(bare):
        if sender is None:
            raise SendError(f"{path}: a bare declaration needs --sender")
        kind = root_type(path)
        seq = sequence if len(bare) == 1 else sequence[:-1] + _BASE36[(index + 1) % 36]
        key = f"{kind}.{sender}.{day:%Y%m%d}.{seq}.{environment}"
        size = path.stat().st_size
        count = max(1, min(parts, 9, size or 1))
        step = -(-size // count)
        for part in range(count):
            offset = part * step
            uploads.append(
                Upload(
                    f"FI.{key}.{count}.{part + 1}",
                    path,
                    offset=offset,
                    length=max(0, min(step, size - offset)),
                )
            )
        if environment in signed_envs:
            for part in range(count):
                # A non-empty FS is what the transfer point asks (no signature verification).
                digest = hashlib.sha256(f"{key}.{part + 1}".encode()).hexdigest().encode()
                uploads.append(Upload(f"FS.{key}.{count}.{part + 1}", content=digest))
        uploads.append(Upload(f"GO.{key}.{count}"))
    return uploads


async def _content(upload: Upload, advance: Callable[[int], None]) -> AsyncIterator[bytes]:
    if upload.path is None:
        advance(len(upload.content))
        yield upload.content
        return
    remaining = upload.size
    with upload.path.open("rb") as handle:
        handle.seek(upload.offset)
        while remaining > 0:
            piece = await asyncio.to_thread(handle.read, min(PIECE, remaining))
            if not piece:
                break
            remaining -= len(piece)
            advance(len(piece))
            yield piece


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    detail = body.get("detail") or body.get("error_description") or body
    errors = "; ".join(f"{e['id']} {e.get('en', '')}" for e in body.get("errors", []))
    return f"{detail} {errors}".strip()


async def upload_all(client: httpx.AsyncClient, uploads: list[Upload], out: Console) -> list[str]:
    """Upload every file with a progress bar; the tickets the GO files were given."""
    tickets: list[str] = []
    total = sum(u.size for u in uploads)
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
    with Progress(*columns, console=out, transient=True, disable=total < 1 << 20) as progress:
        task = progress.add_task("uploading", total=total)
        for upload in uploads:
            progress.update(task, description=f"uploading {upload.name}")
            response = await client.put(
                f"/batch/files/{upload.name}",
                content=_content(upload, lambda n: progress.advance(task, n)),
                headers={"Content-Length": str(upload.size)},
            )
            body = response.json() if response.content else {}
            if response.status_code >= 400 and "ticket" not in body:
                raise SendError(f"{upload.name}: HTTP {response.status_code} {_problem(response)}")
            if body.get("ticket"):
                tickets.append(body["ticket"])
    return tickets


async def _poll(
    client: httpx.AsyncClient,
    ticket: str,
    until: Callable[[dict[str, Any]], bool],
    wait_seconds: float,
) -> dict[str, Any]:
    deadline = time.monotonic() + wait_seconds
    while True:
        response = await client.get(f"/batch/tickets/{ticket}")
        if response.status_code != 200:
            raise SendError(f"ticket {ticket}: HTTP {response.status_code} {_problem(response)}")
        body = response.json()
        if until(body) or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.5)


def _results_done(body: dict[str, Any]) -> bool:
    """Every form has its final answer in a NOTI file (and a DmfA file its PID file)."""
    return bool(body["complete"])


async def follow(
    client: httpx.AsyncClient, ticket: str, out: Console, wait_seconds: float
) -> Outcome:
    """Wait for a ticket's ACRF, then for its results, with a progress bar; print both."""
    with out.status(f"ticket {ticket}: waiting for the ACRF…"):
        body = await _poll(client, ticket, lambda b: b["acrf"] is not None, wait_seconds)
    acrf = body["acrf"]
    if acrf is None:
        out.print(f"[yellow]ticket {ticket}: no ACRF after {wait_seconds:.0f} s[/]")
        return Outcome(ticket, None, body)
    accepted = acrf["resultCode"] == 1
    _print_acrf(out, body)
    if not accepted or body["environment"] == "T":
        return Outcome(ticket, accepted, body, True)
    deadline = time.monotonic() + wait_seconds
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=out, transient=True) as progress:
        task = progress.add_task("results", total=body["forms"]["count"] or None)
        while not _results_done(body) and time.monotonic() < deadline:
            forms = body["forms"]
            if forms["published"] < (forms["count"] or 0):
                progress.update(task, description="forms handed on", completed=forms["published"])
            else:
                progress.update(task, description="answers", completed=forms["withResult"])
            await asyncio.sleep(0.5)
            body = await _poll(client, ticket, lambda _: True, wait_seconds)
    _print_results(out, body)
    return Outcome(ticket, True, body, _results_done(body))


def _print_acrf(out: Console, body: dict[str, Any]) -> None:
    acrf = body["acrf"]
    verdict = "[green]accepted[/]" if acrf["resultCode"] == 1 else "[red]refused[/]"
    out.print(
        f"ticket [bold]{body['ticket']}[/]  {body['goFileName']}  {verdict}  ({acrf['fileName']})"
    )
    for error in acrf["errors"]:
        meaning = error.get("en") or error.get("fr") or ""
        out.print(f"  [red]{error['id']}[/] {meaning}")
    if acrf.get("detail"):
        out.print(f"  [dim]{acrf['detail']}[/]")


def _print_results(out: Console, body: dict[str, Any]) -> None:
    forms = body["forms"]
    table = Table(title=f"ticket {body['ticket']}: {forms['count']} form(s)", title_justify="left")
    if body["fileType"] == "DIMN":
        columns = [(code, f"{code} {meaning}") for code, meaning in RESULTS]
    else:  # DmfA declarations are accepted (ResultCode 1) or refused (0)
        columns = [("ACCEPTED", "accepted"), ("REFUSED", "refused")]
    for _, title in columns:
        table.add_column(title, justify="right")
    table.add_column("no answer yet", justify="right")
    pending = (forms["count"] or 0) - forms["withResult"]
    table.add_row(*(str(forms["results"].get(code, 0)) for code, _ in columns), str(pending))
    out.print(table)
    if body["anomalies"]:
        anomalies = Table(title="first anomalies", title_justify="left")
        for column in ("form", "result", "code", "class", "meaning"):
            anomalies.add_column(column)
        for a in body["anomalies"]:
            meaning = a.get("descriptionFr") or a.get("labelFr") or a.get("labelNl") or ""
            anomalies.add_row(str(a["position"]), a["result"], a["code"], a["severity"], meaning)
        out.print(anomalies)
    for noti in body["noti"]:
        out.print(f"NOTI {noti['fileName']} ({noti['forms']} form(s))")
    for pid in body.get("pid", ()):
        out.print(f"PID {pid['fileName']} ({pid['forms']} form(s))")
    if not body["complete"]:
        out.print("[yellow]not every form has its final answer yet[/]")


async def send(
    client: httpx.AsyncClient,
    files: list[Path],
    *,
    sender: str | None,
    environment: str,
    day: date,
    sequence: str | None = None,
    parts: int = 1,
    wait: bool = True,
    wait_seconds: float = 600,
    out: Console = console,
) -> list[Outcome]:
    """Upload ``files`` through ``client`` (base URL of the batch service, token set) and,
    with ``wait``, follow every ticket to its answers."""
    uploads = plan(
        files,
        sender=sender,
        environment=environment,
        day=day,
        sequence=sequence or auto_sequence(),
        parts=parts,
    )
    tickets = await upload_all(client, uploads, out)
    if not wait:
        for ticket in tickets:
            out.print(f"ticket [bold]{ticket}[/]")
        return [Outcome(ticket) for ticket in tickets]
    return [await follow(client, ticket, out, wait_seconds) for ticket in tickets]


async def fetch_token(
    token_url: str, client_id: str, client_secret: str, scope: str = BATCH_SCOPE
) -> str:
    """An access token by client credentials (HTTP Basic), as every client of the registry."""
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            token_url,
            data={"grant_type": "client_credentials", "scope": scope},
            auth=(client_id, client_secret),
        )
    if response.status_code != 200:
        raise SendError(f"token endpoint: HTTP {response.status_code} {_problem(response)}")
    return response.json()["access_token"]


def _stack_url(data_dir: Path | None, service: str, default: str) -> str:
    state = stack_for(data_dir).load()
    return (state.services.get(service) if state else None) or default


async def _business_today(data_dir: Path | None) -> date:
    """Today on the stack's business clock (file names are checked against it), else the
    wall clock."""
    from socsec.kit.clock import BRUSSELS, CLOCK_TOPIC, read_clock_state

    state = stack_for(data_dir).load()
    if state is None or not state.kafka_bootstrap:
        return datetime.now(BRUSSELS).date()
    try:
        clock = await asyncio.wait_for(
            read_clock_state(state.kafka_bootstrap, f"{state.topic_prefix}{CLOCK_TOPIC}"), 15
        )
    except Exception:
        return datetime.now(BRUSSELS).date()
    return clock.business_now(datetime.now(UTC)).astimezone(BRUSSELS).date()


def send_command(
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, help="Files to send."),
    sender: str | None = typer.Option(None, help="Sender number (6 digits) for bare files."),
    env: str = typer.Option("R", "--env", help="R production, T test, S simulation."),
    url: str | None = typer.Option(None, help="Batch service base URL (default: the stack's)."),
    token: str | None = typer.Option(None, envvar="SOCSEC_TOKEN", help="A bearer token."),
    client_id: str | None = typer.Option(None, envvar="SOCSEC_CLIENT_ID"),
    client_secret: str | None = typer.Option(None, envvar="SOCSEC_CLIENT_SECRET"),
    token_url: str | None = typer.Option(None, help="Token endpoint (default: the registry's)."),
    day: str | None = typer.Option(None, "--date", help="Creation date YYYYMMDD of the names."),
    sequence: str | None = typer.Option(None, help="Sequence element (5 characters)."),
    parts: int = typer.Option(1, min=1, max=9, help="Split a bare file into this many parts."),
    wait: bool = typer.Option(True, help="Wait for the ACRF, the NOTI and the PID file."),
    timeout: float = typer.Option(600, help="Seconds to wait for the answers."),
    data_dir: Path | None = DataDir,
) -> None:
    """Send declaration files (Dimona, DmfA) through the batch channel and show the answers."""
    if env not in ("R", "T", "S"):
        err.print("[red]--env must be R, T or S[/]")
        raise typer.Exit(2)

    async def main() -> list[Outcome]:
        bearer = token
        if bearer is None:
            if not (client_id and client_secret):
                raise SendError("give --token, or --client-id and --client-secret")
            endpoint = token_url or (
                _stack_url(data_dir, "registry", "http://127.0.0.1:8101") + "/REST/oauth/v5/token"
            )
            bearer = await fetch_token(endpoint, client_id, client_secret)
        base = url or _stack_url(data_dir, "batch", "http://127.0.0.1:8102")
        today = datetime.strptime(day, "%Y%m%d").date() if day else await _business_today(data_dir)
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {bearer}"}, timeout=300
        ) as client:
            return await send(
                client,
                list(files),
                sender=sender,
                environment=env,
                day=today,
                sequence=sequence,
                parts=parts,
                wait=wait,
                wait_seconds=timeout,
            )

    try:
        outcomes = asyncio.run(main())
    except (SendError, httpx.HTTPError) as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    if any(o.accepted is False for o in outcomes):
        raise typer.Exit(1)
