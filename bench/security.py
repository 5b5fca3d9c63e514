"""Registry and security: the in-process authorisation check and token validation.

Goals (issue "Registry and security"): ``may_act`` p99 under 50 µs with 100,000 mandates
loaded; token validation p99 under 200 µs. Pure CPU work: no stack is started.
"""

from __future__ import annotations

import asyncio

from rich.table import Table

from bench.auth import run_token_validation
from bench.authz import run_authz
from bench.common import BenchOptions, Goal, ScenarioReport

NAME = "security"
NEEDS_STACK = False
AUTHZ_GOAL_US = 50.0
TOKEN_GOAL_US = 200.0


async def run(env: None, options: BenchOptions) -> ScenarioReport:
    authz = await asyncio.to_thread(run_authz, 100_000, 200_000)
    tokens = await asyncio.to_thread(run_token_validation, 20_000, 1000)
    table = Table(title="Authorisation and token validation (µs)", title_justify="left")
    for column in ("check", "p50", "p99", "max"):
        table.add_column(column, justify="right" if column != "check" else "left")
    table.add_row(
        f"may_act, {int(authz['mandates']):,} mandates",
        f"{authz['p50_us']:.1f}",
        f"{authz['p99_us']:.1f}",
        f"{authz['max_us']:.0f}",
    )
    for alg in ("rs256", "es256"):
        for mode in ("uncached", "cached"):
            p = f"{alg}_{mode}"
            table.add_row(
                f"validate {alg.upper()} ({mode})",
                f"{tokens[p + '_p50_us']:.1f}",
                f"{tokens[p + '_p99_us']:.1f}",
                f"{tokens[p + '_max_us']:.0f}",
            )
    # A client reuses its token for its whole lifetime: the cached figure is the usual path.
    token_p99 = tokens["rs256_cached_p99_us"]
    return ScenarioReport(
        scenario=NAME,
        results={"authz": authz, "tokens": tokens},
        goals=[
            Goal(
                f"may_act p99 < {AUTHZ_GOAL_US:.0f} µs (100,000 mandates)",
                authz["p99_us"] < AUTHZ_GOAL_US,
                f"{authz['p99_us']:.1f} µs",
            ),
            Goal(
                f"token validation p99 < {TOKEN_GOAL_US:.0f} µs (RS256, repeated token)",
                token_p99 < TOKEN_GOAL_US,
                f"{token_p99:.1f} µs",
            ),
            Goal(
                f"token validation p99 < {TOKEN_GOAL_US:.0f} µs (RS256, first sight)",
                tokens["rs256_uncached_p99_us"] < TOKEN_GOAL_US,
                f"{tokens['rs256_uncached_p99_us']:.1f} µs",
            ),
        ],
        tables=[table],
    )
