"""The technical-control sample (barometer.md §4, T): stratified, proportional allocation,
reproducible from a seed.

The size comes from :func:`~socsec.scoring.domain.formulas.sample_size` over the whole
population. It is split over the strata in proportion to their sizes (largest remainders,
ties by stratum name) and each stratum is sampled without replacement with a generator
seeded from ``seed`` and the stratum, over its units in key order: the same population and
seed always give the same sample, whatever order the units were read in.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from socsec.scoring.domain.formulas import ratio, sample_size


@dataclass(frozen=True)
class Unit:
    key: tuple[Any, ...]
    stratum: str
    data: Hashable = None


def allocate(strata: dict[str, int], n: int) -> dict[str, int]:
    """Proportional allocation of ``n`` over strata sizes (largest remainder method)."""
    total = sum(strata.values())
    if total == 0:
        return dict.fromkeys(strata, 0)
    shares = {s: ratio(n * size, total) for s, size in strata.items()}
    counts = {s: int(share) for s, share in shares.items()}
    rest = n - sum(counts.values())
    order = sorted(strata, key=lambda s: (-(shares[s] - counts[s]), s))
    for s in order[:rest]:
        counts[s] += 1
    return counts


def draw(
    units: Iterable[Unit], seed: str, *, z: Decimal, p: Decimal, e: Decimal
) -> tuple[int, list[Unit]]:
    """(population N, the sample in key order)."""
    by_stratum: dict[str, list[Unit]] = defaultdict(list)
    population = 0
    for unit in units:
        by_stratum[unit.stratum].append(unit)
        population += 1
    n = sample_size(population, z, p, e)
    counts = allocate({s: len(u) for s, u in by_stratum.items()}, n)
    chosen: list[Unit] = []
    for stratum in sorted(by_stratum):
        members: Sequence[Unit] = sorted(by_stratum[stratum], key=lambda u: u.key)
        rng = random.Random(f"{seed}/{stratum}")
        chosen.extend(rng.sample(members, counts[stratum]))
    chosen.sort(key=lambda u: u.key)
    return population, chosen
