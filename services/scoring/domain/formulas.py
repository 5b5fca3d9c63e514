"""The default formulas of barometer.md §4 and §5, in exact decimal arithmetic.

Every score lies in [0, 100] with one decimal, rounded half up; components are kept exact
and rounded only where they are shown.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, localcontext

HUNDRED = Decimal(100)
ONE_DECIMAL = Decimal("0.1")


def clip(value: Decimal, low: Decimal = Decimal(0), high: Decimal = HUNDRED) -> Decimal:
    return max(low, min(high, value))


def final(score: Decimal) -> Decimal:
    """A score as published: clipped to [0, 100], one decimal, half up."""
    return clip(score).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def shown(value: Decimal, places: int = 4) -> float:
    """A component as the explanation shows it."""
    return float(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def ratio(numerator: int | Decimal, denominator: int | Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 34
        return Decimal(numerator) / Decimal(denominator)


def wpu(failing_weights: Iterable[Decimal], population: int) -> Decimal | None:
    """Weighted penalty per unit: ``100 × (1 − Σ w(unit) / N)``; each failing unit is given
    with the weight of its heaviest failure. None when the population is empty."""
    if population <= 0:
        return None
    return HUNDRED * (1 - ratio(sum(failing_weights, Decimal(0)), population))


@dataclass(frozen=True)
class Rate:
    weight: Decimal
    failures: int
    units: int


def wfr(rates: Iterable[Rate]) -> Decimal | None:
    """Weighted failure rate: ``100 × (1 − Σ wᵢ·rᵢ / Σ wᵢ)``, indicators with Nᵢ = 0 left
    out. None when no indicator has units."""
    kept = [r for r in rates if r.units > 0]
    total = sum((r.weight for r in kept), Decimal(0))
    if not kept or total == 0:
        return None
    failed = sum((r.weight * ratio(r.failures, r.units) for r in kept), Decimal(0))
    return HUNDRED * (1 - ratio(failed, total))


def drop(pct: Decimal, pct_previous: Decimal | None, floor: Decimal) -> Decimal:
    """``s_drop``: 100 at or under the floor; 50 without a previous population; otherwise
    ``clip(50 + 50 × (pct(Q−1) − pct(Q)) / max(pct(Q−1), floor), 0, 100)``."""
    if pct <= floor:
        return HUNDRED
    if pct_previous is None:
        return Decimal(50)
    return clip(50 + 50 * ratio(pct_previous - pct, max(pct_previous, floor)))


def life_credit(age_days: int, target_days: int) -> int:
    """``2T × clip(1 − age / 2T, 0, 1)``: an instance's credit in days (an integer, so that
    sums over millions of instances stay exact)."""
    return max(0, min(2 * target_days, 2 * target_days - age_days))


def life(credit_sum: int, instances: int, target_days: int) -> Decimal:
    """``s_life = 100 × mean(clip(1 − age / 2T, 0, 1))``; 100 without instances."""
    if instances == 0:
        return HUNDRED
    return HUNDRED * ratio(credit_sum, 2 * target_days * instances)


def blend(s_drop: Decimal, s_life: Decimal, drop_weight: Decimal, life_weight: Decimal) -> Decimal:
    """``score = w_drop × s_drop + w_life × s_life`` (defaults 0.5 / 0.5)."""
    return drop_weight * s_drop + life_weight * s_life


def total(scores: Mapping[str, Decimal], weights: Mapping[str, Decimal]) -> Decimal | None:
    """``Σ W_d × score_d / Σ W_d`` over the applicable domains given (§5)."""
    weight = sum((weights[d] for d in scores), Decimal(0))
    if not scores or weight == 0:
        return None
    return ratio(sum((weights[d] * s for d, s in scores.items()), Decimal(0)), weight)


def sample_size(population: int, z: Decimal, p: Decimal, e: Decimal) -> int:
    """``n0 = z²·p(1−p)/e²``, ``n = ceil(n0 / (1 + (n0 − 1)/N))`` (finite population
    correction), at most N."""
    if population <= 0:
        return 0
    with localcontext() as ctx:
        ctx.prec = 34
        n0 = z * z * p * (1 - p) / (e * e)
        n = (n0 / (1 + (n0 - 1) / population)).to_integral_value(rounding=ROUND_CEILING)
    return min(population, max(1, math.ceil(n)))
