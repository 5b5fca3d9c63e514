"""``socsec send``: a bare declaration file is named, uploaded, acknowledged and answered;
the summary says so. The command's HTTP client is pointed at the in-process batch app."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from batch.batch_fixtures import (
    dimona_file,
    dimona_form,
    dimona_in,
    dmfa_file,
    dmfa_form,
    publish_batch_reference_data,
    start_batch,
    stop_batch,
)
from dimona.dimona_fixtures import set_clock, start_dimona, stop_dimona
from rich.console import Console
from typer.testing import CliRunner

from socsec.cli.main import app
from socsec.cli.send import SendError, auto_sequence, plan, send

DAY = date(2026, 6, 1)


def test_plan_names_bare_files_and_orders_named_ones(tmp_path: Path) -> None:
    bare = tmp_path / "declarations.xml"
    bare.write_bytes(dimona_file(dimona_form(dimona_in())))
    dmfa = tmp_path / "quarter.xml"
    dmfa.write_bytes(dmfa_file(dmfa_form()))
    go = tmp_path / "GO.DIMN.054321.20260601.00007.T.1"
    fi = tmp_path / "FI.DIMN.054321.20260601.00007.T.1.1"
    go.write_bytes(b"")
    fi.write_bytes(b"<Dimona/>")
    uploads = plan(
        [go, bare, fi], sender="054321", environment="R", day=DAY, sequence="A0001", parts=2
    )
    names = [u.name for u in uploads]
    assert names == [
        "FI.DIMN.054321.20260601.00007.T.1.1",
        "GO.DIMN.054321.20260601.00007.T.1",
        "FI.DIMN.054321.20260601.A0001.R.2.1",
        "FI.DIMN.054321.20260601.A0001.R.2.2",
        "FS.DIMN.054321.20260601.A0001.R.2.1",
        "FS.DIMN.054321.20260601.A0001.R.2.2",
        "GO.DIMN.054321.20260601.A0001.R.2",
    ]
    assert sum(u.size for u in uploads if u.name.startswith("FI.DIMN.054321.20260601.A0001")) == (
        bare.stat().st_size
    )
    [dmfa_upload, *_] = plan(
        [dmfa], sender="054321", environment="T", day=DAY, sequence="B0001", parts=1
    )
    assert dmfa_upload.name == "FI.DMFA.054321.20260601.B0001.T.1.1"
    with pytest.raises(SendError):
        plan([bare], sender=None, environment="R", day=DAY, sequence="A0001", parts=1)
    other = tmp_path / "other.xml"
    other.write_bytes(b"<Something/>")
    with pytest.raises(SendError):
        plan([other], sender="054321", environment="R", day=DAY, sequence="A0001", parts=1)
    assert len(auto_sequence(1_780_000_000.0)) == 5 and auto_sequence(0) != "00000"


def test_the_command_is_registered() -> None:
    result = CliRunner().invoke(app, ["send", "--help"])
    assert result.exit_code == 0 and "--sender" in result.output


@pytest.fixture
async def services(env, tmp_path):
    await publish_batch_reference_data(env)
    await set_clock(env, "2026-06-01T10:00:00")
    dimona = await start_dimona(env)
    batch = await start_batch(env, tmp_path / "transfer")
    yield batch
    await stop_batch(batch)
    await stop_dimona(dimona)


async def test_send_waits_for_the_acrf_and_the_noti(services, tmp_path: Path) -> None:
    batch = services
    declarations = tmp_path / "dimona.xml"
    declarations.write_bytes(
        dimona_file(
            dimona_form(dimona_in(), "CLI-1"),
            dimona_form(dimona_in("123456749"), "CLI-2"),
        )
    )
    out = Console(record=True, width=140)
    [outcome] = await send(
        batch.http,
        [declarations],
        sender="054321",
        environment="R",
        day=DAY,
        sequence="C0001",
        parts=2,
        wait_seconds=120,
        out=out,
    )
    assert outcome.accepted and outcome.complete
    assert outcome.body["forms"]["results"] == {"A": 1, "B": 1}
    text = out.export_text()
    assert outcome.ticket in text and "accepted" in text
    assert "90256-155" in text and "NOTI FO.NOTI.999999.20260601." in text

    # The same name again: refused, with the meaning of the error.
    out = Console(record=True, width=140)
    [again] = await send(
        batch.http,
        [declarations],
        sender="054321",
        environment="R",
        day=DAY,
        sequence="C0001",
        parts=2,
        out=out,
    )
    assert again.accepted is False
    assert "ACRF-133 a file with the same name was already sent" in out.export_text()
