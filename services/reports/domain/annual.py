"""The annual report of a seat and the global evaluation over the approved secretariats
(reports.md §3 and §4, barometer.md §5).

The annual report starts when, for the year, every quarterly domain report (S, F for an
approved secretariat, AP, ANP: four quarters each) and every yearly one (T, C) is final. T
may come per year or per quarter (then all four quarters are needed). The year result:
quarterly domains are the mean of their quarterly final scores (quarters without a score
left out), T and C their yearly score, then the weighted mean over the applicable domains.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from socsec.reports.domain.model import round_score

APPROVED = "APPROVED_SECRETARIAT"
QUARTERLY = ("S", "F", "AP", "ANP")
YEARLY = ("T", "C")
DOMAINS = ("S", "T", "F", "AP", "ANP", "C")


@dataclass(frozen=True)
class Bands:
    """Score bands (default: >= 80 good, 60 to < 80 less good, < 60 bad)."""

    good: float = 80.0
    less_good: float = 60.0

    def of(self, score: float | None) -> str | None:
        """The band of a score; None for no score."""
        if score is None:
            return None
        if score >= self.good:
            return "GOOD"
        if score >= self.less_good:
            return "LESS_GOOD"
        return "BAD"


@dataclass(frozen=True)
class FinalDomainScore:
    """The final score of one domain report (None: not applicable)."""

    domain: str
    period: str
    score: float | None


def domains_for(provider_kind: str) -> tuple[str, ...]:
    """The control domains a secretariat is subject to: F for approved ones only
    (Art. 53/3)."""
    return DOMAINS if provider_kind == APPROVED else tuple(d for d in DOMAINS if d != "F")


def missing(provider_kind: str, year: int, finals: Iterable[FinalDomainScore]) -> list[str]:
    """The domain reports of ``year`` that are not final yet, as ``DOMAIN PERIOD``; empty
    when the annual report can start."""
    have = {(f.domain, f.period) for f in finals}
    quarters = [f"{year}{q}" for q in range(1, 5)]
    out: list[str] = []
    for domain in domains_for(provider_kind):
        if domain in QUARTERLY:
            out.extend(f"{domain} {q}" for q in quarters if (domain, q) not in have)
        elif (domain, str(year)) in have:
            continue
        elif domain == "T" and any(("T", q) in have for q in quarters):
            out.extend(f"T {q}" for q in quarters if ("T", q) not in have)
        else:
            out.append(f"{domain} {year}")
    return out


@dataclass(frozen=True)
class DomainYear:
    """One domain's result for the year."""

    domain: str
    score: float | None
    band: str | None
    periods: Mapping[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class YearResult:
    """The annual report's figures: per-domain year scores, the total and its band."""

    year: int
    provider_kind: str
    domains: tuple[DomainYear, ...]
    total: float | None
    band: str | None

    def poor(self) -> list[DomainYear]:
        """Domains scored less good or bad: they get recommendations."""
        return [d for d in self.domains if d.band in ("LESS_GOOD", "BAD")]

    @property
    def needs_trajectory(self) -> bool:
        """A bad year result calls for an improvement trajectory."""
        return self.band == "BAD"


def _mean(values: Iterable[float | None]) -> float | None:
    scored = [v for v in values if v is not None]
    return round_score(sum(scored) / len(scored)) if scored else None


def year_result(
    provider_kind: str,
    year: int,
    finals: Iterable[FinalDomainScore],
    *,
    weights: Mapping[str, float] | None = None,
    bands: Bands | None = None,
) -> YearResult:
    """The year result of barometer.md §5 from the final domain scores of the year."""
    bands = bands or Bands()
    weights = weights or {}
    by_domain: dict[str, dict[str, float | None]] = {}
    for f in finals:
        if f.period[:4] == str(year):
            by_domain.setdefault(f.domain, {})[f.period] = f.score
    results: list[DomainYear] = []
    for domain in domains_for(provider_kind):
        periods = dict(sorted(by_domain.get(domain, {}).items()))
        if domain in YEARLY and str(year) in periods:
            score = periods[str(year)]
        else:
            score = _mean(v for p, v in periods.items() if len(p) == 5)
        results.append(DomainYear(domain, score, bands.of(score), periods))
    weighted = [(weights.get(d.domain, 1.0), d.score) for d in results if d.score is not None]
    total_weight = sum(w for w, _ in weighted)
    total = (
        round_score(sum(w * s for w, s in weighted) / total_weight) if total_weight > 0 else None
    )
    return YearResult(year, provider_kind, tuple(results), total, bands.of(total))


#: Default recommendation per domain for a poor year (reports.md §3: the NSSO may set an
#: improvement trajectory or issue recommendations and complementary directives).
RECOMMENDATIONS: dict[str, dict[str, str]] = {
    "S": {
        "fr": "Assurer l'envoi complet, exact et dans les délais de la DmfA de chaque "
        "employeur actif.",
        "nl": "Zorgen voor een volledige, juiste en tijdige DmfA voor elke actieve werkgever.",
    },
    "T": {
        "fr": "Vérifier le traitement de la rémunération et du temps de travail dans la "
        "Dimona et la DmfA.",
        "nl": "Nagaan hoe loon en arbeidstijd in Dimona en DmfA worden verwerkt.",
    },
    "F": {
        "fr": "Verser les provisions et soldes à l'ONSS dans les délais et sans retenue.",
        "nl": "Provisies en saldi tijdig en volledig aan de RSZ doorstorten.",
    },
    "AP": {
        "fr": "Résoudre plus vite les anomalies prioritaires et en réduire le nombre.",
        "nl": "Prioritaire anomalieën sneller oplossen en hun aantal verminderen.",
    },
    "ANP": {
        "fr": "Résoudre plus vite les anomalies non prioritaires et en réduire le nombre.",
        "nl": "Niet-prioritaire anomalieën sneller oplossen en hun aantal verminderen.",
    },
    "C": {
        "fr": "Aligner la Dimona sur la DmfA introduite (contrôles croisés).",
        "nl": "Dimona afstemmen op de ingediende DmfA (kruiscontroles).",
    },
}

TRAJECTORY: dict[str, str] = {
    "fr": "Le résultat annuel est insuffisant : un trajet d'amélioration est proposé.",
    "nl": "Het jaarresultaat is onvoldoende: een verbetertraject wordt voorgesteld.",
}


def recommendations(result: YearResult, language: str) -> list[dict[str, str]]:
    """The recommendations the annual report proposes: one per poor domain, and an
    improvement trajectory when the year result is bad."""
    lang = language if language in ("fr", "nl") else "fr"
    out = [
        {"domain": d.domain, "band": d.band or "", "text": RECOMMENDATIONS[d.domain][lang]}
        for d in result.poor()
    ]
    if result.needs_trajectory:
        out.append({"domain": "", "band": "BAD", "text": TRAJECTORY[lang]})
    return out


# -- Global evaluation ------------------------------------------------------------------


@dataclass(frozen=True)
class AnnualFinal:
    """A final annual report as the global evaluation reads it."""

    provider: str
    seat: str
    name: str
    total: float | None
    band: str | None
    domains: Mapping[str, float | None]


def global_evaluation(
    year: int, finals: Iterable[AnnualFinal], missing_providers: Iterable[str]
) -> dict[str, object]:
    """The aggregate of the global evaluation report: every secretariat's total and band,
    the mean per domain and overall, the band distribution and the missing annual
    reports."""
    rows = sorted(finals, key=lambda f: f.provider)
    per_domain = {
        d: _mean(r.domains.get(d) for r in rows)
        for d in DOMAINS
        if any(d in r.domains for r in rows)
    }
    distribution = {b: sum(1 for r in rows if r.band == b) for b in ("GOOD", "LESS_GOOD", "BAD")}
    return {
        "year": year,
        "secretariats": [
            {
                "provider": r.provider,
                "seat": r.seat,
                "name": r.name,
                "total": r.total,
                "band": r.band,
                "domains": dict(r.domains),
            }
            for r in rows
        ],
        "perDomain": per_domain,
        "mean": _mean(r.total for r in rows),
        "distribution": distribution,
        "missing": sorted(missing_providers),
    }
