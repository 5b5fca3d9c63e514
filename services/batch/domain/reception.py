"""Reception checks of a set of files (batch.md §3–§4) and the streaming reading of its forms.

A set is the FI parts, the FS parts and the GO sharing elements 2–6 of their names. When its
GO arrives the set is checked as a whole (parts, signatures, name already used, sender) and,
when nothing is wrong, its content is read once as a stream: well-formed XML, the root the
file type announces, at least one form. That pass is all the ACRF waits for; the forms
themselves are read again, by the same :class:`FormReader`, when they are published.

Memory stays bounded whatever the size of the file: the parser is fed chunks and every form
is dropped from the tree once handed out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from lxml import etree

from socsec.batch.domain.names import FileName

#: The root element each file type must have (batch.md §6, dmfa.md §1).
ROOTS = {"DIMN": "Dimona", "DMFA": "DmfAOriginal", "DMWA": "DmfAUpdate"}

#: The official form header, echoed in every NOTI form (``HandledOriginalForm``).
HEADER_FIELDS = (
    "Identification",
    "FormCreationDate",
    "FormCreationHour",
    "AttestationStatus",
    "TypeForm",
)

_XSI_LOCATION = "{http://www.w3.org/2001/XMLSchema-instance}noNamespaceSchemaLocation"


@dataclass(frozen=True)
class ReceptionRules:
    """The "default, configurable" values of batch.md used by the set and content checks."""

    signature_required_envs: frozenset[str] = frozenset({"R"})
    max_forms_per_file: int | None = None  # ACRF-172, off by default
    #: The largest form the channel carries (ACRF-184 above): each form travels as one
    #: message on ``batch.forms.v1``, whose limit it must fit with its envelope.
    max_form_bytes: int | None = None


@dataclass(frozen=True)
class Part:
    """One file of a set as received: its name's elements and the errors found at arrival."""

    name: FileName
    errors: tuple[str, ...] = ()
    size: int = 0


class SenderLike(Protocol):
    """What the set checks read of the registry's sender (``SenderChanged``)."""

    active: bool
    environments: tuple[str, ...]


def sender_errors(sender: SenderLike | None, environment: str) -> tuple[str, ...]:
    """ACRF-103 when the sender is unknown, inactive or not allowed in this environment."""
    if sender is None or not sender.active or environment not in sender.environments:
        return ("ACRF-103",)
    return ()


def _numbering(parts: Sequence[Part], total: int | None) -> tuple[bool, bool]:
    """(count wrong, numbering wrong) of FI or FS parts against the GO's part count."""
    if not parts:
        return True, False
    indexes = sorted(p.name.part_index or 0 for p in parts)
    expected = total if total is not None else parts[0].name.parts_total
    count_wrong = expected is None or len(parts) != expected
    numbering_wrong = indexes != list(range(1, len(parts) + 1)) or any(
        p.name.parts_total != expected for p in parts
    )
    return count_wrong, numbering_wrong


def set_errors(
    parts: Sequence[Part],
    *,
    go: Part | None,
    name_used: bool,
    sender: SenderLike | None,
    rules: ReceptionRules | None = None,
) -> tuple[str, ...]:
    """Every file-level ACRF error of a set whose GO arrived (or that timed out: ``go``
    ``None`` adds ACRF-130), in a stable order and without repetition.

    ``parts`` are the FI and FS files of the set (the latest copy of each name); here a
    non-empty FS is enough as a signature (with ``verify_signatures`` the acknowledgement
    then verifies each, :mod:`socsec.batch.domain.signature`)."""
    rules = rules or ReceptionRules()
    errors: list[str] = []
    for part in (*parts, *((go,) if go else ())):
        errors.extend(part.errors)
    if go is None:
        errors.append("ACRF-130")
    total = go.name.parts_total if go else None
    named = go or (parts[0] if parts else None)
    environment = named.name.environment if named else ""
    fi = [p for p in parts if p.name.prefix == "FI"]
    count_wrong, numbering_wrong = _numbering(fi, total)
    if count_wrong:
        errors.append("ACRF-120")
    if numbering_wrong:
        errors.append("ACRF-123")
    if environment in rules.signature_required_envs:
        fs = [p for p in parts if p.name.prefix == "FS"]
        count_wrong, numbering_wrong = _numbering(fs, total)
        if count_wrong:
            errors.append("ACRF-122")
        if numbering_wrong:
            errors.append("ACRF-124")
        if any(p.size == 0 for p in fs):
            errors.append("ACRF-125")
    if name_used:
        errors.append("ACRF-133")
    errors.extend(sender_errors(sender, environment))
    return tuple(dict.fromkeys(errors))


# -- reading the content ------------------------------------------------------------------


class ContentRefused(Exception):
    """The content of an accepted set cannot be processed; ``error`` is its ACRF error."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(f"{error}: {detail}")
        self.error = error
        self.detail = detail


@dataclass(frozen=True)
class FormEcho:
    """What a NOTI form repeats of the form it answers, kept when the form is published."""

    header: dict[str, str] = field(default_factory=dict)
    references: tuple[tuple[str, str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """As stored with the published form (``forms.echo``)."""
        return {"header": self.header, "references": [list(r) for r in self.references]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FormEcho:
        """Back from :meth:`to_json`."""
        return cls(
            header=dict(data.get("header") or {}),
            references=tuple(tuple(r) for r in data.get("references") or ()),  # type: ignore[misc]
        )


@dataclass(frozen=True)
class ReadForm:
    """One form of a file, in file order (``position`` is 1-based)."""

    position: int
    xml: str
    employer: str | None
    echo: FormEcho


_LOCATION = re.compile(r"^(?P<root>[A-Za-z]+)_\d{5}\.xsd$")


def _text(element: Any, path: str) -> str | None:
    value = element.findtext(path)
    return value.strip() if value is not None and value.strip() else None


def _echo(form: Any) -> FormEcho:
    header = {name: value for name in HEADER_FIELDS if (value := _text(form, name)) is not None}
    references = tuple(
        (
            _text(ref, "ReferenceType") or "",
            _text(ref, "ReferenceOrigin") or "",
            _text(ref, "ReferenceNbr") or "",
        )
        for ref in form.iterfind("Reference")
    )
    return FormEcho(header, references)


class FormReader:
    """Reads the forms of one file from its bytes, fed in chunks of any size.

    :meth:`feed` returns the forms completed by the chunk, :meth:`close` those left and
    checks the end. Every defect raises :class:`ContentRefused` with its ACRF error: XML not
    well formed (102), a schema the root's location does not name (088), a root other than
    the one of the file type (089), something other than forms under the root (163), no
    form (134), more than ``max_forms`` (172) or a form above ``max_form_bytes`` (184).
    Elements are cleared as soon as a form is handed out, so memory does not grow with the
    file.

    Only the end of each ``Form`` reaches Python: the root is read by a second parser fed
    the first bytes only, because an event per element would cost more than the parsing.
    """

    HEAD_SLICE = 4096

    def __init__(
        self,
        file_type: str,
        *,
        max_forms: int | None = None,
        max_form_bytes: int | None = None,
        count_only: bool = False,
    ) -> None:
        self.expected_root = ROOTS[file_type]
        self.max_forms = max_forms
        self.max_form_bytes = max_form_bytes
        # The check pass before the ACRF only counts: serialising costs as much as parsing.
        self.count_only = count_only
        self.count = 0
        self._root_checked = False
        options = {"resolve_entities": False, "no_network": True, "huge_tree": True}
        self._head = etree.XMLPullParser(events=("start",), **options)
        self._parser = etree.XMLPullParser(events=("end",), tag="Form", **options)

    def _check_root(self, root: Any) -> None:
        if root.tag != self.expected_root:
            raise ContentRefused("ACRF-089", f"root {root.tag!r}, expected {self.expected_root!r}")
        location = root.get(_XSI_LOCATION)
        if location is not None:
            match = _LOCATION.match(location.strip().replace("\\", "/").rsplit("/", 1)[-1])
            if match is None or match.group("root") != self.expected_root:
                raise ContentRefused("ACRF-088", f"unknown schema {location!r}")
        self._root_checked = True
        self._head = None

    def _read_head(self, chunk: bytes) -> None:
        """Feed the head parser until the root element has started."""
        assert self._head is not None
        for offset in range(0, len(chunk), self.HEAD_SLICE):
            try:
                self._head.feed(chunk[offset : offset + self.HEAD_SLICE])
                for _, element in self._head.read_events():
                    self._check_root(element)
                    return
            except etree.XMLSyntaxError as exc:
                raise ContentRefused("ACRF-102", str(exc)) from None

    @staticmethod
    def _check_sibling(element: Any) -> None:
        if isinstance(element.tag, str) and element.tag != "Form":
            raise ContentRefused("ACRF-163", f"unexpected element {element.tag!r} between forms")

    def _take(self, form: Any) -> ReadForm | None:
        parent = form.getparent()
        if parent is None or parent.getparent() is not None:
            raise ContentRefused("ACRF-163", "a Form element that is not a child of the root")
        self.count += 1
        if self.max_forms is not None and self.count > self.max_forms:
            raise ContentRefused("ACRF-172", f"more than {self.max_forms} forms")
        if self.max_form_bytes is not None:
            size = len(etree.tostring(form, with_tail=False))
            if size > self.max_form_bytes:
                raise ContentRefused(
                    "ACRF-184",
                    f"form {self.count} is {size} bytes; a form may hold at most "
                    f"{self.max_form_bytes} bytes",
                )
        read = None
        if not self.count_only:
            read = ReadForm(
                position=self.count,
                xml=etree.tostring(form, encoding="unicode", with_tail=False),
                employer=_text(form, ".//NOSSRegistrationNbr"),
                echo=_echo(form),
            )
        form.clear()
        # Forms already handed out are removed, so the tree holds at most one.
        while (previous := form.getprevious()) is not None:
            self._check_sibling(previous)
            del parent[0]
        return read

    def _drain(self) -> list[ReadForm]:
        try:
            taken = [self._take(form) for _, form in self._parser.read_events()]
        except etree.XMLSyntaxError as exc:
            raise ContentRefused("ACRF-102", str(exc)) from None
        return [form for form in taken if form is not None]

    def feed(self, chunk: bytes) -> list[ReadForm]:
        """The forms completed by ``chunk``."""
        if not self._root_checked:
            self._read_head(chunk)
        try:
            self._parser.feed(chunk)
        except etree.XMLSyntaxError as exc:
            raise ContentRefused("ACRF-102", str(exc)) from None
        return self._drain()

    def close(self) -> list[ReadForm]:
        """The last forms; checks that the document is complete and held a form."""
        try:
            root = self._parser.close()
        except etree.XMLSyntaxError as exc:
            raise ContentRefused("ACRF-102", str(exc)) from None
        out = self._drain()
        if not self._root_checked:
            raise ContentRefused("ACRF-102", "no XML document")
        for child in root:
            self._check_sibling(child)
        if self.count == 0:
            raise ContentRefused("ACRF-134", "no form in the file")
        return out
