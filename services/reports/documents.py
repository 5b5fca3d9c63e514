"""Report documents: one view of a report version, rendered as HTML (jinja2) and as PDF
(reportlab), with the same bar charts in both (SVG inline in the HTML, vector in the PDF).

A document shows what the addressee must see: who and what it is about, the score and its
band, the indicator table, a chart per domain, the observations, the acts of the procedure
(reaction, motivated answer) and the deadlines. It is rendered once, when its version is
issued, and stored unchanged.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from xml.sax.saxutils import escape

from jinja2 import Environment, PackageLoader, select_autoescape
from reportlab.graphics import renderSVG
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import Flowable

from socsec.kit.clock import BRUSSELS

#: Words of the documents in the secretariat's language.
LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "DOMAIN": "Rapport du domaine {domain} – {domain_name}",
        "ANNUAL": "Rapport annuel {year}",
        "GLOBAL": "Rapport d'évaluation global {year}",
        "DRAFT": "Projet de rapport",
        "FINAL": "Rapport final",
        "REACTION": "Réaction du secrétariat",
        "LATE_REACTION": "Réaction tardive (sans effet)",
        "ANSWER": "Réponse motivée de l'ONSS",
        "MINUTES": "Réunion annuelle",
        "secretariat": "Secrétariat",
        "seat": "Siège",
        "period": "Période",
        "version": "Version",
        "issued": "Émis le",
        "score": "Score",
        "final_score": "Score final",
        "band": "Appréciation",
        "GOOD": "bon",
        "LESS_GOOD": "moins bon",
        "BAD": "mauvais",
        "not_applicable": "Non applicable (population vide)",
        "deadlines": "Délais",
        "draft_received_on": "Projet disponible le",
        "reaction_deadline": "Réaction au plus tard le",
        "reaction_received_on": "Réaction reçue le",
        "answer_deadline": "Réponse motivée au plus tard le",
        "final_sent_on": "Rapport final le",
        "deadline_note": "Jours ouvrables ; un acte est dans les délais s'il est reçu au plus "
        "tard à 23:59:59 (Europe/Bruxelles) le dernier jour.",
        "indicators": "Indicateurs",
        "code": "Code",
        "label": "Indicateur",
        "numerator": "Manquements",
        "denominator": "Population",
        "rate": "Taux",
        "weight": "Poids",
        "chart_indicators": "Taux de manquement par indicateur (%)",
        "chart_periods": "Score du domaine {domain} par période",
        "chart_year": "Score annuel par domaine",
        "chart_global": "Score annuel par secrétariat",
        "observations": "Observations",
        "observations_total": "{shown} irrégularités listées sur {total}",
        "no_observations": "Aucune irrégularité constatée.",
        "employer": "Employeur",
        "subject": "Objet",
        "detail": "Constat",
        "branches": "Répartition par siège et succursale",
        "unit": "Unité",
        "population": "Population",
        "reaction": "Réaction",
        "ACCEPT": "Le secrétariat accepte le projet.",
        "CONTEST": "Le secrétariat conteste le projet.",
        "arguments": "Arguments",
        "answer": "Réponse motivée",
        "revised_score": "Score révisé",
        "reasons": "Motifs de la révision",
        "revised_observations": "Observations revues",
        "year_result": "Résultat annuel",
        "domain": "Domaine",
        "total": "Total",
        "recommendations": "Recommandations",
        "trajectory": "Trajet d'amélioration",
        "missing": "Rapports annuels manquants",
        "secretariats": "Secrétariats",
        "mean": "Moyenne",
        "distribution": "Répartition des appréciations",
        "comments": "Commentaires de la consultation",
        "meeting": "Réunion annuelle",
        "meeting_date": "Date",
        "minutes": "Procès-verbal",
        "proposals": "Propositions d'adaptation du baromètre",
    },
    "nl": {
        "DOMAIN": "Verslag van domein {domain} – {domain_name}",
        "ANNUAL": "Jaarverslag {year}",
        "GLOBAL": "Globaal evaluatieverslag {year}",
        "DRAFT": "Ontwerpverslag",
        "FINAL": "Eindverslag",
        "REACTION": "Reactie van het secretariaat",
        "LATE_REACTION": "Laattijdige reactie (zonder gevolg)",
        "ANSWER": "Gemotiveerd antwoord van de RSZ",
        "MINUTES": "Jaarlijkse vergadering",
        "secretariat": "Secretariaat",
        "seat": "Zetel",
        "period": "Periode",
        "version": "Versie",
        "issued": "Uitgegeven op",
        "score": "Score",
        "final_score": "Eindscore",
        "band": "Beoordeling",
        "GOOD": "goed",
        "LESS_GOOD": "minder goed",
        "BAD": "slecht",
        "not_applicable": "Niet van toepassing (lege populatie)",
        "deadlines": "Termijnen",
        "draft_received_on": "Ontwerp beschikbaar op",
        "reaction_deadline": "Reactie uiterlijk op",
        "reaction_received_on": "Reactie ontvangen op",
        "answer_deadline": "Gemotiveerd antwoord uiterlijk op",
        "final_sent_on": "Eindverslag op",
        "deadline_note": "Werkdagen; een handeling is tijdig als ze uiterlijk om 23:59:59 "
        "(Europe/Brussel) op de laatste dag ontvangen is.",
        "indicators": "Indicatoren",
        "code": "Code",
        "label": "Indicator",
        "numerator": "Tekortkomingen",
        "denominator": "Populatie",
        "rate": "Percentage",
        "weight": "Gewicht",
        "chart_indicators": "Percentage tekortkomingen per indicator (%)",
        "chart_periods": "Score van domein {domain} per periode",
        "chart_year": "Jaarscore per domein",
        "chart_global": "Jaarscore per secretariaat",
        "observations": "Vaststellingen",
        "observations_total": "{shown} onregelmatigheden vermeld van {total}",
        "no_observations": "Geen onregelmatigheden vastgesteld.",
        "employer": "Werkgever",
        "subject": "Voorwerp",
        "detail": "Vaststelling",
        "branches": "Verdeling per zetel en bijkantoor",
        "unit": "Eenheid",
        "population": "Populatie",
        "reaction": "Reactie",
        "ACCEPT": "Het secretariaat aanvaardt het ontwerp.",
        "CONTEST": "Het secretariaat betwist het ontwerp.",
        "arguments": "Argumenten",
        "answer": "Gemotiveerd antwoord",
        "revised_score": "Herziene score",
        "reasons": "Redenen van de herziening",
        "revised_observations": "Herziene vaststellingen",
        "year_result": "Jaarresultaat",
        "domain": "Domein",
        "total": "Totaal",
        "recommendations": "Aanbevelingen",
        "trajectory": "Verbetertraject",
        "missing": "Ontbrekende jaarverslagen",
        "secretariats": "Secretariaten",
        "mean": "Gemiddelde",
        "distribution": "Verdeling van de beoordelingen",
        "comments": "Opmerkingen uit het overleg",
        "meeting": "Jaarlijkse vergadering",
        "meeting_date": "Datum",
        "minutes": "Notulen",
        "proposals": "Voorstellen tot aanpassing van de barometer",
    },
}

DOMAIN_NAMES: dict[str, dict[str, str]] = {
    "fr": {
        "S": "contrôles silencieux",
        "T": "contrôles techniques",
        "F": "contrôles financiers",
        "AP": "anomalies prioritaires",
        "ANP": "anomalies non prioritaires",
        "C": "contrôles croisés",
    },
    "nl": {
        "S": "stilzwijgerscontroles",
        "T": "technische controles",
        "F": "financiële controles",
        "AP": "prioritaire anomalieën",
        "ANP": "niet-prioritaire anomalieën",
        "C": "kruiscontroles",
    },
}


@dataclass(frozen=True)
class Chart:
    """A bar chart: one bar per category, values in [0, ``maximum``]."""

    title: str
    categories: tuple[str, ...]
    values: tuple[float, ...]
    maximum: float = 100.0

    def drawing(self, width: float = 440, height: float = 170) -> Drawing:
        d = Drawing(width, height)
        chart = VerticalBarChart()
        chart.x, chart.y = 40, 30
        chart.width, chart.height = width - 60, height - 55
        chart.data = [list(self.values)]
        chart.categoryAxis.categoryNames = list(self.categories)
        chart.categoryAxis.labels.fontSize = 7
        chart.valueAxis.valueMin = 0
        chart.valueAxis.valueMax = self.maximum
        chart.valueAxis.valueStep = self.maximum / 5
        chart.valueAxis.labels.fontSize = 7
        chart.bars[0].fillColor = colors.HexColor("#1f5fa8")
        chart.bars[0].strokeColor = None
        chart.barLabelFormat = "%.1f"
        chart.barLabels.fontSize = 6
        chart.barLabels.nudge = 6
        d.add(chart)
        d.add(String(40, height - 12, self.title, fontSize=9, fontName="Helvetica-Bold"))
        return d

    def svg(self) -> str:
        text = renderSVG.drawToString(self.drawing())
        return text[text.index("<svg") :]


@dataclass(frozen=True)
class DocumentInput:
    """What one document version is rendered from."""

    report: Mapping[str, Any]
    label: str
    version: int
    issued_at: datetime
    addressee: str | None
    acts: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    #: Band of the final score (a motivated answer may revise the score).
    final_band: str | None = None


@dataclass(frozen=True)
class RenderedDocument:
    html: str
    pdf: bytes
    sha256: str


def _fmt_date(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return value.strftime("%d/%m/%Y")


def _fmt_score(value: Any) -> str:
    return "–" if value is None else f"{float(value):.1f}"


def view(doc: DocumentInput) -> dict[str, Any]:
    """The document's content as plain values (both renderings read only this)."""
    r = doc.report
    lang = r["language"] if r["language"] in LABELS else "fr"
    words = LABELS[lang]
    content = r["content"] or {}
    year = int(str(r["period"])[:4])
    title = words[r["kind"]].format(
        domain=r["domain"], domain_name=DOMAIN_NAMES[lang].get(r["domain"] or "", ""), year=year
    )
    final = doc.label == "FINAL"
    band = doc.final_band if final and doc.final_band else r["band"]
    facts = [
        (words["secretariat"], doc.addressee or r["provider"] or "–"),
        (words["seat"], r["seat"] or "–"),
        (words["period"], str(r["period"])),
        (words["version"], str(doc.version)),
        (words["issued"], doc.issued_at.astimezone(BRUSSELS).strftime("%d/%m/%Y %H:%M")),
    ]
    if r["kind"] == "GLOBAL":
        facts = facts[2:]
    deadlines = [
        (words[k], _fmt_date(r[k]))
        for k in (
            "draft_received_on",
            "reaction_deadline",
            "reaction_received_on",
            "answer_deadline",
            "final_sent_on",
        )
        if r[k] is not None
    ]
    v: dict[str, Any] = {
        "lang": lang,
        "words": words,
        "title": title,
        "label": words.get(doc.label, doc.label),
        "facts": facts,
        "deadlines": deadlines,
        "score": _fmt_score(r["score"]),
        "final_score": _fmt_score(r["final_score"]) if final else None,
        "band": words.get(band, "") if band else "",
        "applicable": content.get("applicable", True),
        "indicators": [],
        "charts": [],
        "observations": [],
        "observations_note": "",
        "branches": [],
        "reaction": None,
        "answer": None,
        "year_domains": [],
        "recommendations": [],
        "global": None,
    }
    if r["kind"] == "DOMAIN":
        _domain_view(v, content, words)
    elif r["kind"] == "ANNUAL":
        _annual_view(v, content, words)
    else:
        _global_view(v, content, words)
    for act in doc.acts:
        body = act["body"]
        if act["act"] in ("REACTION", "LATE_REACTION"):
            v["reaction"] = {
                "decision": words[body["decision"]],
                "arguments": body.get("arguments") or "",
                "received": _fmt_date(body.get("received_on")),
            }
        elif act["act"] == "ANSWER":
            v["answer"] = {
                "text": body["answer"],
                "revised_score": _fmt_score(body.get("revised_score"))
                if body.get("revised_score") is not None
                else None,
                "reasons": body.get("reasons") or "",
                "observations": list(body.get("revised_observations") or []),
            }
        elif act["act"] == "MEETING" and v["global"] is not None:
            v["global"]["meeting"] = {
                "date": _fmt_date(body.get("held_on")),
                "minutes": body.get("minutes", ""),
                "proposals": list(body.get("proposals") or []),
            }
        elif act["act"] == "CONSULTATION_COMMENT" and v["global"] is not None:
            v["global"]["comments"].append(f"{body.get('author', '')}: {body.get('text', '')}")
    return v


def _domain_view(v: dict[str, Any], content: Mapping[str, Any], words: Mapping[str, str]) -> None:
    for ind in content.get("indicators", ()):
        label = ind.get(f"label_{v['lang']}") or ind.get("label_en") or ind["code"]
        rate = ind.get("rate")
        v["indicators"].append(
            {
                "code": ind["code"],
                "label": label,
                "numerator": f"{float(ind['numerator']):g}",
                "denominator": str(ind["denominator"]),
                "rate": "–" if rate is None else f"{100 * float(rate):.2f} %",
                "weight": f"{float(ind['weight']):g}",
            }
        )
    if content.get("indicators"):
        rates = [100 * float(i.get("rate") or 0.0) for i in content["indicators"]]
        top = max(10.0, min(100.0, 10.0 * (int(max(rates) / 10) + 1)))
        v["charts"].append(
            Chart(
                words["chart_indicators"],
                tuple(i["code"] for i in content["indicators"]),
                tuple(rates),
                maximum=top,
            )
        )
    findings = content.get("findings", ())
    for f in findings:
        v["observations"].append(
            {
                "indicator": f["indicator"],
                "employer": f.get("employer_nsso") or "–",
                "subject": f["subject"],
                "detail": f["detail"],
            }
        )
    total = content.get("findings_total", len(findings))
    if total > len(findings):
        v["observations_note"] = words["observations_total"].format(
            shown=len(findings), total=total
        )
    for b in content.get("branch_breakdown", ()):
        v["branches"].append(
            {"unit": b["unit"], "population": str(b["population"]), "score": _fmt_score(b["score"])}
        )


def _annual_view(v: dict[str, Any], content: Mapping[str, Any], words: Mapping[str, str]) -> None:
    for d in content.get("domains", ()):
        periods = d.get("periods", {})
        v["year_domains"].append(
            {
                "domain": d["domain"],
                "name": DOMAIN_NAMES[v["lang"]][d["domain"]],
                "score": _fmt_score(d["score"]),
                "band": words.get(d["band"] or "", ""),
                "periods": ", ".join(f"{p}: {_fmt_score(s)}" for p, s in periods.items()),
            }
        )
        if periods:
            v["charts"].append(
                Chart(
                    words["chart_periods"].format(domain=d["domain"]),
                    tuple(periods),
                    tuple(float(s or 0.0) for s in periods.values()),
                )
            )
    scored = [d for d in content.get("domains", ()) if d["score"] is not None]
    if scored:
        v["charts"].insert(
            0,
            Chart(
                words["chart_year"],
                tuple(d["domain"] for d in scored),
                tuple(float(d["score"]) for d in scored),
            ),
        )
    v["recommendations"] = [
        (f"{r['domain']} – " if r["domain"] else "") + r["text"]
        for r in content.get("recommendations", ())
    ]


def _global_view(v: dict[str, Any], content: Mapping[str, Any], words: Mapping[str, str]) -> None:
    rows = content.get("secretariats", ())
    v["global"] = {
        "secretariats": [
            {
                "provider": s["provider"],
                "name": s["name"],
                "total": _fmt_score(s["total"]),
                "band": words.get(s["band"] or "", ""),
            }
            for s in rows
        ],
        "mean": _fmt_score(content.get("mean")),
        "distribution": [
            (words[b], str(n)) for b, n in (content.get("distribution") or {}).items()
        ],
        "missing": list(content.get("missing", ())),
        "comments": [],
        "meeting": None,
    }
    if rows:
        v["charts"].append(
            Chart(
                words["chart_global"],
                tuple(s["provider"] for s in rows),
                tuple(float(s["total"] or 0.0) for s in rows),
            )
        )


_ENV = Environment(
    loader=PackageLoader("socsec.reports", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(v: Mapping[str, Any]) -> str:
    return _ENV.get_template("report.html.j2").render(v=v)


def _p(text: str, style: Any) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


_GRID = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)
_PAIRS = TableStyle(
    [("FONTSIZE", (0, 0), (-1, -1), 9), ("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold")]
)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], style: Any) -> Table:
    cell = style["BodyText"].clone("cell", fontSize=8, leading=10)
    data = [[_p(h, cell) for h in header], *[[_p(c, cell) for c in row] for row in rows]]
    table = Table(data, repeatRows=1, hAlign="LEFT")
    table.setStyle(_GRID)
    return table


def render_pdf(v: Mapping[str, Any], *, title: str) -> bytes:
    """The same content as :func:`render_html`, laid out for A4 by reportlab."""
    styles = getSampleStyleSheet()
    w = v["words"]
    out = io.BytesIO()
    pdf = SimpleDocTemplate(
        out,
        pagesize=A4,
        title=title,
        author="NSSO / ONSS / RSZ",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        invariant=1,
    )
    body = styles["BodyText"]
    story: list[Flowable] = [
        _p(v["title"], styles["Title"]),
        _p(v["label"], styles["Heading2"]),
    ]
    facts = Table([[k, val] for k, val in v["facts"]], hAlign="LEFT")
    facts.setStyle(_PAIRS)
    story.append(facts)
    story.append(Spacer(1, 6))
    scores = [[w["score"], v["score"] if v["applicable"] else w["not_applicable"]]]
    if v["band"]:
        scores.append([w["band"], v["band"]])
    if v["final_score"] is not None:
        scores.append([w["final_score"], v["final_score"]])
    score_table = Table(scores, hAlign="LEFT")
    score_table.setStyle(_PAIRS)
    story.append(score_table)
    if v["deadlines"]:
        story.append(_p(w["deadlines"], styles["Heading3"]))
        dl = Table([[k, val] for k, val in v["deadlines"]], hAlign="LEFT")
        dl.setStyle(_PAIRS)
        story += [dl, _p(w["deadline_note"], body)]
    if v["year_domains"]:
        story.append(_p(w["year_result"], styles["Heading3"]))
        story.append(
            _table(
                [w["domain"], w["score"], w["band"], w["period"]],
                [[d["domain"], d["score"], d["band"], d["periods"]] for d in v["year_domains"]],
                styles,
            )
        )
    if v["indicators"]:
        story.append(_p(w["indicators"], styles["Heading3"]))
        story.append(
            _table(
                [w["code"], w["label"], w["numerator"], w["denominator"], w["rate"], w["weight"]],
                [
                    [
                        i["code"],
                        i["label"],
                        i["numerator"],
                        i["denominator"],
                        i["rate"],
                        i["weight"],
                    ]
                    for i in v["indicators"]
                ],
                styles,
            )
        )
    for chart in v["charts"]:
        story += [Spacer(1, 6), KeepTogether([chart.drawing()])]
    g = v["global"]
    if g is not None:
        story.append(_p(w["secretariats"], styles["Heading3"]))
        story.append(
            _table(
                [w["secretariat"], "", w["total"], w["band"]],
                [[s["provider"], s["name"], s["total"], s["band"]] for s in g["secretariats"]],
                styles,
            )
        )
        story.append(_p(f"{w['mean']}: {g['mean']}", body))
        story.append(
            _p(f"{w['distribution']}: " + ", ".join(f"{b} {n}" for b, n in g["distribution"]), body)
        )
        if g["missing"]:
            story.append(_p(f"{w['missing']}: {', '.join(g['missing'])}", body))
        if g["comments"]:
            story.append(_p(w["comments"], styles["Heading3"]))
            story += [_p(c, body) for c in g["comments"]]
        if g["meeting"]:
            m = g["meeting"]
            story.append(_p(w["meeting"], styles["Heading3"]))
            story.append(_p(f"{w['meeting_date']}: {m['date']}", body))
            story.append(_p(f"{w['minutes']}: {m['minutes']}", body))
            story += [_p(f"– {p}", body) for p in m["proposals"]]
    if v["recommendations"]:
        story.append(_p(w["recommendations"], styles["Heading3"]))
        story += [_p(f"– {r}", body) for r in v["recommendations"]]
    if g is None and v["year_domains"] == []:
        story.append(_p(w["observations"], styles["Heading3"]))
        if v["observations"]:
            story.append(
                _table(
                    [w["code"], w["employer"], w["subject"], w["detail"]],
                    [
                        [o["indicator"], o["employer"], o["subject"], o["detail"]]
                        for o in v["observations"]
                    ],
                    styles,
                )
            )
            if v["observations_note"]:
                story.append(_p(v["observations_note"], body))
        else:
            story.append(_p(w["no_observations"], body))
    if v["branches"]:
        story.append(_p(w["branches"], styles["Heading3"]))
        story.append(
            _table(
                [w["unit"], w["population"], w["score"]],
                [[b["unit"], b["population"], b["score"]] for b in v["branches"]],
                styles,
            )
        )
    if v["reaction"]:
        story.append(_p(w["reaction"], styles["Heading3"]))
        story.append(_p(v["reaction"]["decision"], body))
        if v["reaction"]["arguments"]:
            story.append(_p(f"{w['arguments']}: {v['reaction']['arguments']}", body))
    if v["answer"]:
        a = v["answer"]
        story.append(_p(w["answer"], styles["Heading3"]))
        story.append(_p(a["text"], body))
        if a["revised_score"] is not None:
            story.append(_p(f"{w['revised_score']}: {a['revised_score']}", body))
            story.append(_p(f"{w['reasons']}: {a['reasons']}", body))
        if a["observations"]:
            story.append(_p(w["revised_observations"], styles["Heading4"]))
            story += [_p(f"– {o}", body) for o in a["observations"]]
    pdf.build(story)
    return out.getvalue()


def render(doc: DocumentInput) -> RenderedDocument:
    """Both renderings of one document version and the digest of its PDF."""
    v = view(doc)
    html = render_html(v)
    pdf = render_pdf(v, title=f"{v['title']} – {v['label']}")
    return RenderedDocument(html, pdf, hashlib.sha256(pdf).hexdigest())
