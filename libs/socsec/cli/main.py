"""The ``socsec`` command line."""

from __future__ import annotations

import typer

from socsec.cli import clock, contracts, crosscheck, dlt, dmfa, outbox, registry, stack
from socsec.cli.demo import demo_command
from socsec.cli.run import run
from socsec.cli.send import send_command

app = typer.Typer(
    help="socsec: Dimona, DmfA and the social-secretariat quality barometer, NSSO side.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(stack.app, name="stack")
app.add_typer(clock.app, name="clock")
app.add_typer(dlt.app, name="dlt")
app.add_typer(outbox.app, name="outbox")
app.add_typer(contracts.app, name="contracts")
app.add_typer(registry.app, name="registry")
app.add_typer(crosscheck.app, name="crosscheck")
app.add_typer(dmfa.app, name="dmfa")
app.command()(run)
app.command(name="send")(send_command)
app.command(name="demo")(demo_command)

if __name__ == "__main__":
    app()
