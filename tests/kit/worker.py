"""A kit process for the crash tests: relay and/or idempotent consumer, configured by env.

Run as ``python tests/kit/worker.py [--relay] [--consume] [--crash-after-send]``; prints
``ready`` once started and stops cleanly on SIGTERM. The consumer's effect is a row in
``kit_effects``; a payload with ``crash`` kills the process in the middle of the handler
(once, remembered by a marker file), one with ``poison`` fails until ``kit_fixes`` holds
its key.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from pathlib import Path

import asyncpg

from socsec.dimona.settings import DimonaSettings
from socsec.kit.consumer import Message
from socsec.kit.outbox import OutboxRelay
from socsec.kit.runtime import ServiceRuntime

TOPIC = "dimona.declarations.v1"


class CrashingRelay(OutboxRelay):
    """Sends, then dies before it can mark the events sent."""

    async def _mark_sent(self, conn: asyncpg.Connection, ids: list[int]) -> None:
        os.kill(os.getpid(), signal.SIGKILL)


async def effect(conn: asyncpg.Connection, message: Message) -> None:
    payload = message.payload
    await conn.execute(
        "INSERT INTO kit_effects (event_id, key, seq) VALUES ($1, $2, $3)",
        message.envelope.event_id,
        message.key,
        payload["seq"],
    )
    if payload.get("crash"):
        marker = Path(os.environ["KIT_CRASH_MARKER"])
        if not marker.exists():
            marker.write_text("crashed once")
            os.kill(os.getpid(), signal.SIGKILL)
    if payload.get("poison"):
        fixed = await conn.fetchval("SELECT 1 FROM kit_fixes WHERE key = $1", message.key)
        if not fixed:
            raise ValueError(f"cannot handle seq {payload['seq']} of {message.key} yet")


async def main(args: argparse.Namespace) -> None:
    runtime = ServiceRuntime(
        DimonaSettings(),
        follow_clock=False,
        configure_logging=False,
        run_relay=args.relay,
    )
    if args.crash_after_send:
        runtime.relay = CrashingRelay(runtime.db, runtime.broker)
    if args.consume:
        runtime.subscribe(TOPIC, effect, name="kit-test")
    await runtime.start()
    print("ready", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runtime.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--relay", action="store_true")
    parser.add_argument("--consume", action="store_true")
    parser.add_argument("--crash-after-send", action="store_true")
    asyncio.run(main(parser.parse_args()))
