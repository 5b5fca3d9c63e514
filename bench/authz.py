"""The authorisation check in-process, on a model holding 100,000 mandates.

Goal (issue "Registry and security"): p99 under 50 µs per ``may_act``.
"""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

from socsec.contracts.identifiers import nsso_number_from
from socsec.contracts.payloads.registry import (
    Approval,
    MandataryChanged,
    MandataryKind,
    MandateChanged,
    Scope,
    Seat,
)
from socsec.kit.authz import Authorizer


def build_model(mandates: int, mandataries: int = 30, seed: int = 7) -> tuple[Authorizer, list]:
    rng = random.Random(seed)
    authz = Authorizer()
    ids = []
    for i in range(mandataries):
        mid = f"M-{i:03d}"
        ids.append(mid)
        authz.apply_mandatary(
            MandataryChanged(
                id=mid,
                kind=MandataryKind.APPROVED_SECRETARIAT,
                legal_name=f"ASBL - Secrétariat Social {i}",
                enterprise_number="0412345614",
                approval=Approval(number=f"{900 + i}", approved_from=date(2017, 1, 1)),
                seat=Seat(id=f"S-{i:03d}", address="Bruxelles"),
            )
        )
    employers = []
    for n in range(mandates):
        employer = nsso_number_from(1_000_000 + n)
        employers.append(employer)
        start = date(2015, 1, 1) + timedelta(days=rng.randrange(3000))
        authz.apply_mandate(
            MandateChanged.model_construct(
                id=f"MD-{n:07d}",
                employer_nsso=employer,
                employer_enterprise=None,
                mandatary_id=rng.choice(ids),
                affiliation_point="S-000",
                seat_id="S-000",
                scopes=(Scope.DIMONA, Scope.DMFA),
                proxy_registered_on=start,
                valid_from=start,
                valid_to=None if rng.random() < 0.8 else start + timedelta(days=700),
                end_notice=None,
                deleted=False,
            )
        )
    return authz, employers


def run_authz(mandates: int = 100_000, queries: int = 200_000, seed: int = 7) -> dict[str, float]:
    authz, employers = build_model(mandates, seed=seed)
    rng = random.Random(seed + 1)
    orgs = [f"M-{i:03d}" for i in range(30)] + [f"S-{i:03d}" for i in range(30)]
    cases = []
    for _ in range(queries):
        employer = rng.choice(employers)
        on = date(2020, 1, 1) + timedelta(rng.randrange(2000))
        # Half the questions come from the employer's own mandatary, half from any one.
        mandate = authz.mandate_for(employer, Scope.DIMONA, date(2030, 1, 1)) or authz.mandate_for(
            employer, Scope.DIMONA, on
        )
        own = mandate.mandatary_id if mandate else rng.choice(orgs)
        cases.append((own if rng.random() < 0.5 else rng.choice(orgs), employer, Scope.DIMONA, on))
    timings = []
    allowed = 0
    clock = time.perf_counter_ns
    for org, employer, scope, on in cases:
        start = clock()
        decision = authz.may_act(org, employer, scope, on)
        timings.append(clock() - start)
        allowed += decision.allowed
    timings.sort()
    return {
        "mandates": float(authz.mandate_count),
        "queries": float(queries),
        "allowed_share": allowed / queries,
        "p50_us": timings[len(timings) // 2] / 1000,
        "p99_us": timings[int(len(timings) * 0.99)] / 1000,
        "max_us": timings[-1] / 1000,
    }


if __name__ == "__main__":
    print(run_authz())
