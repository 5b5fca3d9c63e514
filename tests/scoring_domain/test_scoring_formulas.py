"""The barometer formulas (barometer.md §4, §5) against hand-computed cases."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from socsec.scoring.domain import formulas as f

FLOOR = D("0.005")


def test_silent_example_of_the_spec_scores_97_8() -> None:
    # §7: 200 active employers, 2 NO_DMFA (1.0), 1 INCOMPLETE (0.6), 6 LATE (0.3).
    failing = [D("1.0")] * 2 + [D("0.6")] + [D("0.3")] * 6
    assert f.final(f.wpu(failing, 200)) == D("97.8")


def test_priority_anomalies_example_of_the_spec_scores_57_8() -> None:
    # §7: pct 4 % against 5 % the quarter before, instances aged 10, 30 and 150 days, T = 60.
    s_drop = f.drop(D("0.04"), D("0.05"), FLOOR)
    credits = sum(f.life_credit(age, 60) for age in (10, 30, 150))
    s_life = f.life(credits, 3, 60)
    assert s_drop == 60
    assert f.shown(s_life, 1) == 55.6
    assert f.final(f.blend(s_drop, s_life, D("0.5"), D("0.5"))) == D("57.8")


@pytest.mark.parametrize(
    ("pct", "previous", "expected"),
    [
        (D("0.04"), D("0.04"), D(50)),  # stable
        (D("0.02"), D("0.04"), D(75)),  # halved
        (D("0.004"), D("0.04"), D(100)),  # at or under the floor
        (D("0.08"), D("0.04"), D(0)),  # doubled
        (D("0.20"), D("0.04"), D(0)),  # clipped at 0
        (D("0.04"), None, D(50)),  # no population the quarter before
        (D("0.01"), D("0.001"), D(0)),  # previous under the floor: divided by the floor
    ],
)
def test_drop_formula(pct: D, previous: D | None, expected: D) -> None:
    assert f.drop(pct, previous, FLOOR) == expected


def test_lifetime_credits_and_empty_lifetime() -> None:
    assert f.life_credit(0, 60) == 120
    assert f.life_credit(120, 60) == 0
    assert f.life_credit(500, 60) == 0
    assert f.life(0, 0, 60) == 100
    # ANP, T = 120: ages 0 and 120 -> (1 + 0.5) / 2 = 75.
    assert f.final(f.life(f.life_credit(0, 120) + f.life_credit(120, 120), 2, 120)) == 75


def test_weighted_failure_rate_leaves_out_empty_indicators() -> None:
    rates = [
        f.Rate(D("0.5"), 1, 4),  # F1: 25 %
        f.Rate(D("0.75"), 0, 3),  # F2: 0 %
        f.Rate(D("1.0"), 1, 1),  # F3: 100 %
        f.Rate(D("1.0"), 0, 0),  # F4: no unit, left out
    ]
    # 100 × (1 − (0.125 + 0 + 1) / 2.25) = 50
    assert f.final(f.wfr(rates)) == D("50.0")
    assert f.wfr([f.Rate(D(1), 0, 0)]) is None


def test_empty_population_is_not_applicable() -> None:
    assert f.wpu([], 0) is None


def test_rounding_is_half_up_to_one_decimal_and_clipped() -> None:
    assert f.final(D("57.75")) == D("57.8")
    assert f.final(D("57.74999")) == D("57.7")
    assert f.final(D("-3")) == 0
    assert f.final(D("100.04")) == 100


def test_total_is_the_weighted_mean_of_the_applicable_domains() -> None:
    scores = {"S": D("97.8"), "AP": D("57.8"), "ANP": D("80")}
    weights = {"S": D(1), "AP": D(2), "ANP": D(1)}
    # (97.8 + 115.6 + 80) / 4 = 73.35
    assert f.final(f.total(scores, weights)) == D("73.4")
    assert f.total({}, {}) is None


@pytest.mark.parametrize(
    ("population", "expected"), [(2000, 323), (100_000, 383), (50, 45), (1, 1), (0, 0)]
)
def test_sample_size_with_finite_population_correction(population: int, expected: int) -> None:
    # n0 = 1.96² × 0.25 / 0.05² = 384.16; n = ceil(n0 / (1 + (n0 − 1) / N)).
    assert f.sample_size(population, D("1.96"), D("0.5"), D("0.05")) == expected
