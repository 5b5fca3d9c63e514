"""Report documents as a reader sees them: the PDF rendered to an image and its text, and
the HTML (reports.md §2: scores, indicator table, a chart per domain, observations,
deadlines)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from reports_domain.reports_pdf import bar_pixels, ink, read_pdf

from socsec.reports.documents import DocumentInput, render


def domain_report(**changes: Any) -> dict[str, Any]:
    content = {
        "applicable": True,
        "score": 97.8,
        "indicators": [
            {
                "code": code,
                "label_fr": label,
                "label_nl": label,
                "label_en": label,
                "numerator": n,
                "denominator": 200,
                "rate": n / 200,
                "weight": w,
            }
            for code, label, n, w in (
                ("S1", "Pas de DmfA", 2, 1.0),
                ("S2", "DmfA incomplète", 1, 0.6),
                ("S3", "DmfA inexacte", 0, 0.6),
                ("S4", "DmfA tardive", 6, 0.3),
            )
        ],
        "findings": [
            {
                "indicator": "S1",
                "employer_nsso": "187654356",
                "subject": "employer 187654356",
                "detail": "NO_DMFA",
                "weight": 1.0,
            }
        ],
        "findings_total": 9,
        "branch_breakdown": [
            {"unit": "S-EXEMPLUM-BXL", "kind": "SEAT", "population": 150, "score": 98.0},
            {"unit": "B-EXEMPLUM-GENT", "kind": "BRANCH", "population": 50, "score": 97.2},
        ],
    }
    row = {
        "id": "0b0e0000-0000-0000-0000-000000000001",
        "kind": "DOMAIN",
        "provider": "M-EXEMPLUM",
        "seat": "S-EXEMPLUM-BXL",
        "domain": "S",
        "period": "20261",
        "language": "fr",
        "score": 97.8,
        "final_score": None,
        "band": "GOOD",
        "content": content,
        "draft_received_on": date(2026, 3, 2),
        "reaction_deadline": date(2026, 3, 23),
        "reaction_received_on": None,
        "answer_deadline": None,
        "final_sent_on": None,
    }
    row.update(changes)
    return row


def test_draft_pdf_shows_score_deadlines_table_chart_and_observations() -> None:
    doc = render(
        DocumentInput(
            report=domain_report(),
            label="DRAFT",
            version=1,
            issued_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
            addressee="ASBL - Secrétariat Social Exemplum",
        )
    )
    pages, images, text = read_pdf(doc.pdf)
    assert pages == 1
    assert ink(images[0]) > 0.01  # not a blank page
    assert bar_pixels(images[0]) > 500  # the bar chart of the indicators is drawn
    for seen in (
        "Rapport du domaine S",
        "Projet de rapport",
        "Secrétariat Social Exemplum",
        "97.8",
        "23/03/2026",  # reaction deadline
        "DmfA tardive",
        "NO_DMFA",
        "1 irrégularités listées sur 9",
        "B-EXEMPLUM-GENT",
    ):
        assert seen in text, seen
    assert "<svg" in doc.html and "Réaction au plus tard le" in doc.html
    assert "DmfA tardive" in doc.html


def test_dutch_final_after_a_revised_answer() -> None:
    acts = [
        {"act": "REACTION", "body": {"decision": "CONTEST", "arguments": "S1 klopt niet"}},
        {
            "act": "ANSWER",
            "body": {
                "answer": "Gedeeltelijk gegrond.",
                "revised_score": 98.3,
                "reasons": "Werkgever 187654356 had een DmfA",
                "revised_observations": ["S1 voor 187654356 ingetrokken"],
            },
        },
    ]
    row = domain_report(
        language="nl",
        final_score=98.3,
        reaction_received_on=date(2026, 3, 20),
        answer_deadline=date(2026, 4, 13),
        final_sent_on=date(2026, 4, 1),
    )
    doc = render(
        DocumentInput(
            report=row,
            label="FINAL",
            version=4,
            issued_at=datetime(2026, 4, 1, 9, tzinfo=UTC),
            addressee="Exemplum",
            acts=acts,
            final_band="GOOD",
        )
    )
    _, images, text = read_pdf(doc.pdf)
    for seen in ("Eindverslag", "Eindscore", "98.3", "13/04/2026", "S1 klopt niet"):
        assert seen in text, seen
    assert "Gedeeltelijk gegrond." in text and "ingetrokken" in text
    assert bar_pixels(images[0]) > 500


def test_annual_report_has_a_chart_per_domain() -> None:
    content = {
        "domains": [
            {"domain": d, "score": 70.0 + i, "band": "LESS_GOOD", "periods": p}
            for i, (d, p) in enumerate(
                [
                    ("S", {f"2025{q}": 70.0 for q in range(1, 5)}),
                    ("T", {"2025": 71.0}),
                    ("AP", {f"2025{q}": 72.0 for q in range(1, 5)}),
                    ("ANP", {f"2025{q}": 73.0 for q in range(1, 5)}),
                    ("C", {"2025": 74.0}),
                ]
            )
        ],
        "total": 72.0,
        "band": "LESS_GOOD",
        "recommendations": [{"domain": "C", "band": "LESS_GOOD", "text": "Aligner la Dimona."}],
    }
    row = domain_report(kind="ANNUAL", domain=None, period="2025", content=content, score=72.0)
    doc = render(
        DocumentInput(
            report=row, label="DRAFT", version=1, issued_at=datetime.now(UTC), addressee="PayPro"
        )
    )
    assert doc.html.count("<svg") == 6  # the year overview and one per domain
    pages, images, text = read_pdf(doc.pdf)
    assert pages >= 2
    assert sum(bar_pixels(i) for i in images) > 6 * 300
    assert "Rapport annuel 2025" in text and "Aligner la Dimona." in text
