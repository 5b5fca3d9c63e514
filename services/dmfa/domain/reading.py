"""Reading a DmfA ``Form`` element into a :class:`~socsec.dmfa.domain.model.Declaration`.

One walk over the element tree checks it against the content models of
:mod:`socsec.dmfa.domain.schema` and converts every value: an element missing
(``ZZZZZ-001``), not numeric (``-002``), outside its domain (``-008``), repeated
(``-090``), out of order (``-091``), too long (``-093``) or not allowed (``-146``) becomes a
blocking anomaly with the path of the block it sits in. A form with such faults is not
judged further (:class:`~socsec.dmfa.domain.model.FormRefused`), exactly as the schema
validation of the batch channel would stop it. REST bodies are turned into the same element
tree first (:mod:`socsec.dmfa.domain.json_form`), so both channels go through this code.

Integers that lose their leading zeros (``"10"`` for employer class ``010``) are padded
back, as identifiers.md asks for XML and JSON input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from socsec.dmfa.domain.catalogue import structural
from socsec.dmfa.domain.model import (
    Anomaly,
    Contribution,
    Declaration,
    Deduction,
    FormHeader,
    FormRefused,
    Kind,
    LastSituation,
    NaturalPerson,
    Occupation,
    PathItem,
    Reference,
    Remun,
    Service,
    StudentContribution,
    UnrelatedContribution,
    UpdateAction,
    WorkerRecord,
)
from socsec.dmfa.domain.schema import (
    MESSAGES,
    ORIGINAL_COMPLEX,
    SIMPLE,
    UPDATE_COMPLEX,
    ZONES,
    Complex,
    Simple,
)

#: A read block: simple values by tag, sub-blocks as lists of nodes (opaque ones as the raw
#: element), plus the block's path under the key ``""``.
Node = dict[str, Any]

_FAIL = object()


def _convert(text: str | None, spec: Simple) -> tuple[object, str | None]:
    """The value of a simple element, or the generic code of its fault."""
    if text is None:
        return _FAIL, "001"
    text = text.strip()
    if not text:
        return _FAIL, "001"
    kind = spec.kind
    if kind in ("int", "code"):
        if not (text.isdigit() and text.isascii()):
            body = text[1:] if text[:1] in "+-" else text
            if not (body.isdigit() and body.isascii()):
                return _FAIL, "002"
            if text[0] == "-":
                return _FAIL, "008"
            text = body
        significant = text.lstrip("0") or "0"
        if spec.digits is not None and len(significant) > spec.digits:
            return _FAIL, "093"
        if spec.enum is not None:
            return (int(significant), None) if significant in spec.enum else (_FAIL, "008")
        number = int(significant)
        if (spec.lo is not None and number < spec.lo) or (spec.hi is not None and number > spec.hi):
            return _FAIL, "008"
        if kind == "code":
            return significant.zfill(spec.digits or 0), None
        return number, None
    if kind == "date":
        if len(text) != 10 or text[4] != "-" or text[7] != "-":
            return _FAIL, "008"
        try:
            return date.fromisoformat(text), None
        except ValueError:
            return _FAIL, "008"
    if kind == "time":
        if (
            len(text) != 12
            or text[2] != ":"
            or text[5] != ":"
            or text[8] != "."
            or not (text[:2] + text[3:5] + text[6:8] + text[9:]).isdigit()
        ):
            return _FAIL, "008"
        return text, None
    # strings
    if spec.max_len is not None and len(text) > spec.max_len:
        return _FAIL, "093"
    if len(text) < spec.min_len:
        return _FAIL, "093"
    if spec.enum is not None and text not in spec.enum:
        return _FAIL, "008"
    if spec.pattern is not None and not spec.pattern.fullmatch(text):
        return _FAIL, spec.pattern_code
    return text, None


Converter = Callable[[str | None], tuple[object, str | None]]


def _converter(spec: Simple) -> Converter:
    """A fast converter for one simple element: the common case (a plain number, a date)
    without the general path's checks, which it falls back to otherwise."""
    if spec.kind in ("int", "code") and spec.enum is None:
        digits = spec.digits or 0
        lo = spec.lo if spec.lo is not None else -1
        hi = spec.hi if spec.hi is not None else 10**30
        code = spec.kind == "code"

        def number(text: str | None) -> tuple[object, str | None]:
            if text and len(text) <= digits and text.isdigit() and text.isascii():
                value = int(text)
                if lo <= value <= hi:
                    if not code:
                        return value, None
                    return (text if len(text) == digits else text.zfill(digits)), None
            return _convert(text, spec)

        return number
    if spec.kind == "date":

        def day(text: str | None) -> tuple[object, str | None]:
            if text and len(text) == 10 and text[4] == "-" and text[7] == "-":
                try:
                    return date.fromisoformat(text), None
                except ValueError:
                    pass
            return _convert(text, spec)

        return day
    return lambda text: _convert(text, spec)


@dataclass(frozen=True, slots=True)
class _Plan:
    """A content model prepared for the walk: per child tag its slot, its maximum and what
    it is (simple spec or block spec); per slot whether it is required."""

    children: dict[str, tuple[int, int, Converter | None, Complex | None]]
    required: tuple[bool, ...]
    first_names: tuple[str, ...]
    minimums: tuple[int, ...]


_PLANS: dict[tuple[int, int], _Plan] = {}


def _plan(models: dict[str, Complex], spec: Complex) -> _Plan:
    key = (id(models), id(spec))
    plan = _PLANS.get(key)
    if plan is None:
        children = {}
        for at, (names, _, hi) in enumerate(spec.slots):
            for name in names:
                sub = models.get(name)
                simple = SIMPLE.get(name) if sub is None else None
                children[name] = (at, hi, _converter(simple) if simple else None, sub)
        plan = _Plan(
            children=children,
            required=tuple(lo > 0 and hi > 0 for _, lo, hi in spec.slots),
            first_names=tuple(names[0] for names, _, _ in spec.slots),
            minimums=tuple(lo for _, lo, _ in spec.slots),
        )
        _PLANS[key] = plan
    return plan


#: What to do with one child of a block whose shape is valid: (tag, converter of a simple
#: element, block spec of a sub-block); ``None`` for a child the structure refused.
Action = tuple[str, Converter | None, Complex | None] | None
#: The verdict on one shape (a block spec and the tags of its children, in order): the
#: action per child and the structural faults (zone, generic code, tag).
Shape = tuple[tuple[Action, ...], tuple[tuple[str, str, str], ...]]

#: Shapes already judged. A quarter repeats a few shapes millions of times, so the content
#: model is walked once per shape, not once per block; bounded, in case of hostile input.
_SHAPES: dict[tuple[int, int, tuple[str, ...]], Shape] = {}
_SHAPES_MAX = 50_000


def _shape(plan: _Plan, spec: Complex, tags: tuple[str, ...]) -> Shape:
    """Walk a content model over the tags of a block's children."""
    children, required, first_names = plan.children, plan.required, plan.first_names
    actions: list[Action] = []
    faults: list[tuple[str, str, str]] = []
    current, count = -1, 0
    for tag in tags:
        entry = children.get(tag)
        if entry is None:
            faults.append((ZONES.get(tag, spec.zone), "146", tag))
            actions.append(None)
            continue
        at, hi, convert, sub = entry
        if hi == 0 or (convert is None and sub is None):
            faults.append((ZONES.get(tag, spec.zone), "146", tag))
            actions.append(None)
            continue
        if at > current:
            # The slot left behind and the slots passed over must not be mandatory.
            if current >= 0 and count < plan.minimums[current]:
                faults.append((ZONES[first_names[current]], "001", first_names[current]))
            for skipped in range(current + 1, at):
                if required[skipped]:
                    faults.append((ZONES[first_names[skipped]], "001", first_names[skipped]))
            current, count = at, 1
        elif at == current:
            count += 1
            if count > hi:
                faults.append((ZONES[tag], "090", tag))
                actions.append(None)
                continue
        else:
            # Reported once, as out of order, not also as missing where it was due.
            faults = [f for f in faults if not (f[1] == "001" and f[2] == tag)]
            faults.append((ZONES[tag], "091", tag))
            actions.append(None)
            continue
        actions.append((tag, convert, sub))
    if current >= 0 and count < plan.minimums[current]:
        faults.append((ZONES[first_names[current]], "001", first_names[current]))
    for at in range(current + 1, len(required)):
        if required[at]:
            faults.append((ZONES[first_names[at]], "001", first_names[at]))
    return tuple(actions), tuple(faults)


class _Reader:
    """One walk of one form; collects the structural anomalies."""

    def __init__(self, models: dict[str, Complex]) -> None:
        self.models = models
        self.anomalies: list[Anomaly] = []
        self.plans: dict[int, _Plan] = {}

    def block(self, element: Any, spec: Complex, parent: Node | None) -> Node:
        children = []
        names = []
        for child in element:
            tag = child.tag
            if tag.__class__ is str:  # not a comment or a processing instruction
                children.append(child)
                names.append(tag)
        tags = tuple(names)
        key = (id(self.models), id(spec), tags)
        shape = _SHAPES.get(key)
        if shape is None:
            plan = self.plans.get(id(spec))
            if plan is None:
                plan = self.plans[id(spec)] = _plan(self.models, spec)
            shape = _shape(plan, spec, tags)
            if len(_SHAPES) >= _SHAPES_MAX:
                _SHAPES.clear()
            _SHAPES[key] = shape
        actions, faults = shape
        own: list[tuple[str, str, str, object]] = [(z, g, t, None) for z, g, t in faults]
        # A block knows its parent and spec; its Path is only built when an anomaly needs it.
        node: Node = {"": (parent, spec)}
        for child, action in zip(children, actions, strict=True):
            if action is None:
                continue
            tag, convert, sub = action
            if convert is not None:
                if len(child):
                    own.append((ZONES[tag], "002", tag, None))
                    continue
                value, fault = convert(child.text)
                if fault is None:
                    node[tag] = value
                else:
                    own.append((ZONES[tag], fault, tag, child.text))
                continue
            assert sub is not None
            if sub.opaque:
                node.setdefault(tag, []).append(child)
            else:
                node.setdefault(tag, []).append(self.block(child, sub, node))
        if own:
            path = node_path(node)
            for zone, generic, tag, value in own:
                self.anomalies.append(structural(zone, generic, tag=tag, value=value, path=path))
        return node


def node_path(node: Node) -> tuple[PathItem, ...]:
    """The NOTI Path of a read block: the key values of its ancestors and its own."""
    parent, spec = node[""]
    own = _keys(node, spec)
    return (node_path(parent) + own) if parent is not None else own


def slot_index(spec: Complex) -> dict[str, int]:
    """Position of each child tag in a block's content model."""
    return {name: i for i, (names, _, _) in enumerate(spec.slots) for name in names}


def _keys(node: Node, spec: Complex) -> tuple[PathItem, ...]:
    if not spec.keys:
        return ()
    out = []
    for k in spec.keys:
        value = node.get(k)
        if value is not None:
            out.append((k, value if isinstance(value, str) else _text(value)))
    return tuple(out)


def _text(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


# -- building the declaration -------------------------------------------------------------


def _services(occupation: Node) -> tuple[Service, ...]:
    return tuple(
        Service(
            sequence=s["ServiceSequenceNbr"],
            code=s["ServiceCode"],
            days=s["ServiceNbrDays"],
            hours=s.get("ServiceNbrHours"),
        )
        for s in occupation.get("Service", ())
    )


def _remuns(occupation: Node) -> tuple[Remun, ...]:
    return tuple(
        Remun(
            sequence=r["RemunSequenceNbr"],
            code=r["RemunCode"],
            amount=r["RemunAmount"],
            frequency=r.get("BonusPaymentFrequency"),
            percentage=r.get("PercentagePaid"),
        )
        for r in occupation.get("Remun", ())
    )


def _deductions(nodes: list[Node]) -> tuple[Deduction, ...]:
    return tuple(
        Deduction(
            code=d["DeductionCode"],
            basis=d.get("DeductionCalculationBasis"),
            amount=d.get("DeductionAmount"),
        )
        for d in nodes
    )


def _horeca_extra(occupation: Node) -> bool:
    for info in occupation.get("OccupationInformations", ()):
        for child in info:
            if child.tag == "HorecaExtra" and (child.text or "").strip() == "E":
                return True
    return False


def _occupation(o: Node) -> Occupation:
    return Occupation(
        sequence=o["OccupationSequenceNbr"],
        joint_commission=o["JointCommissionNbr"],
        working_days_system=o["WorkingDaysSystem"],
        contract_type=o["ContractType"],
        retired=o["Retired"],
        start=o.get("OccupationStartingDate"),
        end=o.get("OccupationEndingDate"),
        ref_mean_hours=o.get("RefMeanWorkingHours"),
        mean_hours=o.get("MeanWorkingHours"),
        local_unit=o.get("LocalUnitID"),
        horeca_extra=_horeca_extra(o) if "OccupationInformations" in o else False,
        services=_services(o),
        remuns=_remuns(o),
        deductions=_deductions(o.get("OccupationDeduction", ())),
        version=o.get("OccupationVersionNbr"),
    )


def _lenient_int(text: str | None) -> int:
    text = (text or "").strip()
    return int(text) if text.isdigit() else 0


def _indemnity_contributions(element: Any) -> int:
    """Contribution amounts of a (not otherwise interpreted) complementary indemnity."""
    total = 0
    for child in element:
        if child.tag == "ComplIndemnityContribution":
            for grandchild in child:
                if grandchild.tag == "ContributionAmount":
                    total += _lenient_int(grandchild.text)
    return total


_SPECIAL = (
    "DismissedStatutoryWorkerContribution",
    "EarlyRetirementContribution",
    "ComplementaryIndemnity",
    "IndemnityWAPM",
)


def _record(r: Node, occupations_tag: str) -> WorkerRecord:
    student_node = r.get("StudentContribution")
    student = None
    if student_node:
        s = student_node[0]
        student = StudentContribution(
            remun_amount=s["StudentRemunAmount"],
            contribution_amount=s["StudentContributionAmount"],
            hours=s.get("StudentHoursNbr"),
            days=s.get("StudentNbrDays"),
        )
    special = next((name for name in _SPECIAL if name in r), None)
    special_amount = 0
    for d in r.get("DismissedStatutoryWorkerContribution", ()):
        special_amount += d["GrossRefRemunContributionAmount"]
    for e in r.get("EarlyRetirementContribution", ()):
        special_amount += e["EarlyRetirementContributionAmount"]
    for element in r.get("ComplementaryIndemnity", ()):
        special_amount += _indemnity_contributions(element)
    last = None
    for situation in r.get("LastSituationWR", ()):
        last = LastSituation(
            situation["EmployerClass"], situation["WorkerCode"], situation["WorkerRecordVersionNbr"]
        )
    action = r.get("UpdateAction")
    return WorkerRecord(
        employer_class=r["EmployerClass"],
        worker_code=r["WorkerCode"],
        quarter_start=r.get("NOSSQuarterStartingDate"),
        quarter_end=r.get("NOSSQuarterEndingDate"),
        border=r.get("Border"),
        local_unit=r.get("LocalUnitID"),
        occupations=tuple(_occupation(o) for o in r.get(occupations_tag, ())),
        contributions=tuple(
            Contribution(
                worker_code=c["ContributionWorkerCode"],
                type=c["ContributionType"],
                amount=c["ContributionAmount"],
                basis=c.get("ContributionCalculationBasis"),
            )
            for c in r.get("WorkerContribution", ())
        ),
        deductions=_deductions(r.get("WorkerDeduction", ())),
        student=student,
        special=special,
        special_amount=special_amount,
        action=UpdateAction(action) if action is not None else None,
        last=last,
    )


def line_variant(node: Node, *, update: bool) -> bool:
    """Whether a worker line's blocks form one of the schema's alternatives: occupations
    (with activation, contributions, deductions), a dismissed-staff block, a student
    contribution (with at most one contribution), one or two early-retirement blocks,
    complementary indemnities, or one or two contributions with WAPM indemnities. A
    modification may delete a line without content."""
    occupations = "OccupationUpdate" if update else "Occupation"
    kinds = [k for k in (occupations, *_SPECIAL, "StudentContribution") if k in node]
    contributions = len(node.get("WorkerContribution", ()))
    if not kinds:
        return update and contributions == 0 and "WorkerDeduction" not in node
    if len(kinds) > 1:
        return False
    kind = kinds[0]
    if ("ActivationInformation" in node or "WorkerDeduction" in node) and kind != occupations:
        return False
    if kind == "StudentContribution":
        return contributions <= 1
    if kind == "IndemnityWAPM":
        return 1 <= contributions <= 2
    if kind in _SPECIAL:
        return contributions == 0
    return True


def _header(node: Node) -> FormHeader | None:
    try:
        return FormHeader(
            identification=node["Identification"],
            creation_date=node["FormCreationDate"].isoformat(),
            creation_hour=node["FormCreationHour"],
            attestation_status=node["AttestationStatus"],
            type_form=node["TypeForm"],
        )
    except KeyError:
        return None


def _references(node: Node) -> tuple[Reference, ...]:
    return tuple(
        Reference(r["ReferenceType"], r["ReferenceOrigin"], r["ReferenceNbr"])
        for r in node.get("Reference", ())
        if {"ReferenceType", "ReferenceOrigin", "ReferenceNbr"} <= r.keys()
    )


def read_form(form: Any, file_type: str) -> Declaration | FormRefused:
    """Check and read one ``Form`` element of a ``DMFA`` (original) or ``DMWA``
    (modification) file."""
    _, identification, attestation, employer_tag = MESSAGES[file_type]
    update = file_type == "DMWA"
    kind = Kind.UPDATE if update else Kind.ORIGINAL
    if getattr(form, "tag", None) != "Form":
        return FormRefused((structural("90059", "163", tag="Form"),), kind=kind)
    models = UPDATE_COMPLEX if update else ORIGINAL_COMPLEX
    reader = _Reader(models)
    node = reader.block(form, models["Form"], None)
    anomalies = reader.anomalies
    if node.get("Identification") not in (None, identification):
        anomalies.append(structural("00296", "008", tag="Identification", value=identification))
    if node.get("AttestationStatus") not in (None, attestation):
        anomalies.append(structural("00110", "008", tag="AttestationStatus", value=attestation))
    employer = (node.get(employer_tag) or [{}])[0]
    persons_tag = "NaturalPersonUpdate" if update else "NaturalPerson"
    line_tags = ("WorkerRecordUpdate", "WorkerRecordUpdateAction") if update else ("WorkerRecord",)
    for person in employer.get(persons_tag, ()):
        for line in person.get(line_tags[0], ()):
            action = line.get(line_tags[1])[0] if update and line.get(line_tags[1]) else line
            if not line_variant(action, update=update):
                zone = "90225" if update else "90012"
                anomalies.append(structural(zone, "090", tag=line_tags[-1], path=node_path(action)))
    if (
        update
        and not any(
            employer.get(tag)
            for tag in (
                persons_tag,
                "CompanyVehicleUpdateAction",
                "ContributionUnrelatedToNPUpdate",
            )
        )
        and employer
    ):
        anomalies.append(structural("90219", "090", tag=employer_tag, path=node_path(employer)))
    if anomalies:
        return FormRefused(
            tuple(anomalies),
            kind=kind,
            quarter=employer.get("Quarter"),
            nsso=employer.get("NOSSRegistrationNbr"),
            company_id=employer.get("CompanyID"),
            header=_header(node),
            references=_references(node),
        )
    return _declaration(node, employer, kind)


def _declaration(form: Node, e: Node, kind: Kind) -> Declaration:
    update = kind == Kind.UPDATE
    persons = []
    for p in e.get("NaturalPersonUpdate" if update else "NaturalPerson", ()):
        if update:
            records = tuple(
                _record(
                    {**line["WorkerRecordUpdateAction"][0], **_last(line)},
                    "OccupationUpdate",
                )
                for line in p.get("WorkerRecordUpdate", ())
            )
        else:
            records = tuple(_record(r, "Occupation") for r in p.get("WorkerRecord", ()))
        persons.append(
            NaturalPerson(
                sequence=p["NaturalPersonSequenceNbr"],
                inss=p["INSS"],
                records=records,
                user_reference=p.get("NaturalPersonUserReference"),
                natural_person_pid=p.get("NaturalPersonPID"),
                decl_person_pid=p.get("DeclNaturalPersonPID"),
                decl_person_version=p.get("DeclNaturalPersonVersionNbr"),
            )
        )
    unrelated = []
    if update:
        for u in e.get("ContributionUnrelatedToNPUpdate", ()):
            a = u["CUNPUpdateAction"][0]
            unrelated.append(
                UnrelatedContribution(
                    employer_class=a["UnrelatedEmployerClass"],
                    worker_code=a["UnrelatedWorkerCode"],
                    amount=a.get("UnrelatedAmount", 0),
                    basis=a.get("UnrelatedCalculationBasis"),
                    action=UpdateAction(a["UpdateAction"]),
                )
            )
    else:
        for u in e.get("ContributionUnrelatedToNP", ()):
            unrelated.append(
                UnrelatedContribution(
                    employer_class=u["UnrelatedEmployerClass"],
                    worker_code=u["UnrelatedWorkerCode"],
                    amount=u["UnrelatedAmount"],
                    basis=u.get("UnrelatedCalculationBasis"),
                )
            )
    return Declaration(
        kind=kind,
        quarter=e["Quarter"],
        nsso=e["NOSSRegistrationNbr"],
        company_id=e["CompanyID"],
        trusteeship=e["Trusteeship"],
        net_owed=e.get("NetOwedAmount"),
        holiday_start=e.get("HolidayStartingDate"),
        persons=tuple(persons),
        unrelated=tuple(unrelated),
        vehicles=len(e.get("CompanyVehicle", ())) + len(e.get("CompanyVehicleUpdateAction", ())),
        header=_header(form),
        references=_references(form),
        employer_declaration_pid=e.get("EmployerDeclarationPID"),
        justification=e.get("Justification"),
    )


def _last(line: Node) -> Node:
    situations = line.get("LastSituationWR")
    return {"LastSituationWR": situations} if situations else {}


def root_for(file_type: str) -> str:
    """The root element of a file of this type (``DmfAOriginal`` or ``DmfAUpdate``)."""
    return MESSAGES[file_type][0]
