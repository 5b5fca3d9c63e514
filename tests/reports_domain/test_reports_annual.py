"""The annual report's trigger and year result, and the global aggregate (reports.md §3,
§4; barometer.md §5)."""

from __future__ import annotations

from socsec.reports.domain.annual import (
    AnnualFinal,
    Bands,
    FinalDomainScore,
    global_evaluation,
    missing,
    recommendations,
    year_result,
)

APPROVED, PROVIDER = "APPROVED_SECRETARIAT", "SERVICE_PROVIDER"


def year_2025(
    *, t_per_quarter: bool = False, skip: set[str] = frozenset()
) -> list[FinalDomainScore]:
    out = []
    for domain, scores in {
        "S": (90.0, 92.0, 94.0, 96.0),
        "F": (70.0, 70.0, 70.0, 70.0),
        "AP": (50.0, 60.0, None, 40.0),
        "ANP": (85.0, 85.0, 85.0, 85.0),
    }.items():
        out += [FinalDomainScore(domain, f"2025{q}", s) for q, s in enumerate(scores, 1)]
    if t_per_quarter:
        out += [FinalDomainScore("T", f"2025{q}", 80.0 + q) for q in range(1, 5)]
    else:
        out.append(FinalDomainScore("T", "2025", 88.0))
    out.append(FinalDomainScore("C", "2025", 77.0))
    return [f for f in out if f"{f.domain} {f.period}" not in skip]


def test_annual_report_waits_for_the_fourth_quarter() -> None:
    assert missing(APPROVED, 2025, year_2025(skip={"ANP 20254"})) == ["ANP 20254"]
    assert missing(APPROVED, 2025, year_2025()) == []


def test_t_per_year_or_per_quarter() -> None:
    assert missing(APPROVED, 2025, year_2025(t_per_quarter=True)) == []
    assert missing(APPROVED, 2025, year_2025(t_per_quarter=True, skip={"T 20253"})) == ["T 20253"]
    assert missing(APPROVED, 2025, year_2025(skip={"T 2025", "C 2025"})) == ["T 2025", "C 2025"]


def test_f_is_not_required_for_a_provider() -> None:
    finals = [f for f in year_2025() if f.domain != "F"]
    assert missing(PROVIDER, 2025, finals) == []
    assert missing(APPROVED, 2025, finals) == [f"F 2025{q}" for q in range(1, 5)]


def test_year_result_means_quarters_and_weights_domains() -> None:
    result = year_result(APPROVED, 2025, year_2025())
    scores = {d.domain: d.score for d in result.domains}
    # AP: the quarter without a score is left out: (50 + 60 + 40) / 3.
    assert scores == {"S": 93.0, "T": 88.0, "F": 70.0, "AP": 50.0, "ANP": 85.0, "C": 77.0}
    assert result.total == 77.2  # (93 + 88 + 70 + 50 + 85 + 77) / 6 = 77.17
    assert result.band == "LESS_GOOD"
    assert [d.domain for d in result.poor()] == ["F", "AP", "C"]
    weighted = year_result(APPROVED, 2025, year_2025(), weights={"AP": 3.0})
    assert weighted.total == 70.4  # (93 + 88 + 70 + 3 × 50 + 85 + 77) / 8 = 70.375
    provider = year_result(PROVIDER, 2025, year_2025())
    assert "F" not in {d.domain for d in provider.domains}
    assert provider.total == 78.6  # (93 + 88 + 50 + 85 + 77) / 5


def test_t_per_quarter_is_averaged() -> None:
    result = year_result(APPROVED, 2025, year_2025(t_per_quarter=True))
    assert {d.domain: d.score for d in result.domains}["T"] == 82.5


def test_bands_and_recommendations() -> None:
    bands = Bands()
    assert [bands.of(s) for s in (80.0, 79.9, 60.0, 59.9, None)] == [
        "GOOD",
        "LESS_GOOD",
        "LESS_GOOD",
        "BAD",
        None,
    ]
    result = year_result(APPROVED, 2025, year_2025())
    recs = recommendations(result, "nl")
    assert [r["domain"] for r in recs] == ["F", "AP", "C"]
    assert "RSZ" in recs[0]["text"]
    bad = year_result(
        PROVIDER, 2025, [FinalDomainScore(d, "2025", 40.0) for d in ("T", "C")], bands=bands
    )
    assert bad.band == "BAD" and bad.needs_trajectory
    assert recommendations(bad, "fr")[-1]["text"].startswith("Le résultat annuel est insuffisant")


def test_global_evaluation_aggregates_and_lists_the_missing() -> None:
    finals = [
        AnnualFinal("M-B", "S-B", "B", 85.0, "GOOD", {"S": 90.0, "F": 80.0}),
        AnnualFinal("M-A", "S-A", "A", 55.0, "BAD", {"S": 50.0}),
    ]
    g = global_evaluation(2025, finals, ["M-C"])
    assert [s["provider"] for s in g["secretariats"]] == ["M-A", "M-B"]
    assert g["mean"] == 70.0
    assert g["perDomain"] == {"S": 70.0, "F": 80.0}
    assert g["distribution"] == {"GOOD": 1, "LESS_GOOD": 0, "BAD": 1}
    assert g["missing"] == ["M-C"]
