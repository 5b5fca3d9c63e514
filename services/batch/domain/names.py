"""File names of the transfer point (batch.md §2) and the checks made on them at arrival.

``PREFIX.TYPE.SENDER.YYYYMMDD.SEQ.ENV[.N.M]``: the strict regular expression of the spec
says whether a name is right; when it is not, the elements are read one by one so that the
sender gets the *specific* ACRF error (a date of seven digits is ACRF-109, not a vague
"structure" error). A name whose set cannot even be identified (wrong number of elements,
unknown prefix or type, a sender that is not six digits) gets an ACRF of its own at once;
any other error is recorded with the file and reported in the ACRF of its set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

#: The incoming-name expression of batch.md §2, verbatim.
NAME_PATTERN = re.compile(
    r"^(FI|FS|GO|TD)\.(DIMN|DMFA|DMWA)\.(\d{6})\.(\d{8})\.([0-9A-Za-z]{5})\.([RTS])"
    r"(\.([1-9]))?(\.([1-9]))?$"
)

PREFIXES = ("FI", "FS", "GO", "TD")
FILE_TYPES = ("DIMN", "DMFA", "DMWA")
ENVIRONMENTS = ("R", "T", "S")

#: The ACRF error of a badly structured name, by prefix (TD, an empty trigger like GO,
#: shares the GO code: annex 30 has none of its own).
STRUCTURE_ERROR = {"GO": "ACRF-107", "TD": "ACRF-107", "FI": "ACRF-131", "FS": "ACRF-132"}


class Folder(StrEnum):
    """The folders of a sender's tree (batch.md §1)."""

    IN = "IN"
    INTEST = "INTEST"
    OUT = "OUT"
    OUTTEST = "OUTTEST"


@dataclass(frozen=True)
class NameRules:
    """The "default, configurable" values of batch.md that name checks use."""

    max_file_age_days: int = 30
    max_parts: int = 9
    strict_numeric_sequence: bool = False
    simulation_folder: Folder = Folder.INTEST


@dataclass(frozen=True)
class FileName:
    """The elements of an incoming name; only built when its set can be identified."""

    raw: str
    prefix: str
    file_type: str
    sender: str
    created: str  # YYYYMMDD as received (it may be the very thing that is wrong)
    sequence: str
    environment: str
    parts_total: int | None = None  # N; FI, FS, GO and TD
    part_index: int | None = None  # M; FI and FS only

    @classmethod
    def stored(cls, raw: str, parts_total: int | None, part_index: int | None) -> FileName:
        """A name that joined a set at arrival (so its first six elements are readable),
        with the part numbers read then."""
        prefix, file_type, sender, created, sequence, environment = raw.split(".")[:6]
        return cls(
            raw, prefix, file_type, sender, created, sequence, environment, parts_total, part_index
        )

    @property
    def set_key(self) -> str:
        """Elements 2 to 6: what the files of one set (FI, FS, GO, TD) have in common."""
        return ".".join(
            (self.file_type, self.sender, self.created, self.sequence, self.environment)
        )

    @property
    def go_name(self) -> str:
        """The name of the GO file this file's set is (or would be) triggered by."""
        total = self.parts_total if self.parts_total is not None else 1
        return f"GO.{self.set_key}.{total}"


@dataclass(frozen=True)
class NameCheck:
    """The outcome of the arrival checks: the name's elements when its set can be
    identified (``name`` is ``None`` otherwise) and every ACRF error found."""

    raw: str
    name: FileName | None
    errors: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.name is not None and not self.errors


def _part(text: str, errors: list[str], rules: NameRules) -> int | None:
    """One part number (N or M): one digit, numeric, not zero, at most ``max_parts``."""
    if len(text) != 1:
        errors.append("ACRF-114")
        return int(text) if text.isdigit() else None
    if not text.isdigit():
        errors.append("ACRF-115")
        return None
    value = int(text)
    if value == 0:
        errors.append("ACRF-116")
    elif value > rules.max_parts:
        errors.append("ACRF-128")
    return value


def _created(text: str, today: date, rules: NameRules, errors: list[str]) -> None:
    if len(text) != 8:
        errors.append("ACRF-109")
        return
    try:
        if not text.isdigit():
            raise ValueError(text)
        day = date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        errors.append("ACRF-110")
        return
    if day > today:
        errors.append("ACRF-111")
    elif day < today - timedelta(days=rules.max_file_age_days):
        errors.append("ACRF-126")


def _sequence(text: str, rules: NameRules, errors: list[str], structure: str) -> None:
    if len(text) != 5:
        errors.append("ACRF-112")
    elif not text.isascii() or not text.isalnum():
        errors.append(structure)
    elif text == "00000":
        errors.append("ACRF-127")
    elif rules.strict_numeric_sequence and not text.isdigit():
        errors.append("ACRF-113")


def _environment(text: str, folder: Folder | None, rules: NameRules, errors: list[str]) -> None:
    if text not in ENVIRONMENTS:
        errors.append("ACRF-117")
    elif folder is None:
        return  # an HTTP upload has no folder to be wrong about
    elif text == "R" and folder != Folder.IN:
        errors.append("ACRF-118")
    elif text == "T" and folder != Folder.INTEST:
        errors.append("ACRF-119")
    elif text == "S" and folder != rules.simulation_folder:
        # No code of its own exists: a non-production file in the wrong folder.
        errors.append("ACRF-118" if folder == Folder.INTEST else "ACRF-119")


def check_name(
    raw: str,
    *,
    owner: str | None,
    folder: Folder | None,
    today: date,
    rules: NameRules | None = None,
) -> NameCheck:
    """Check an incoming file name (batch.md §2 and §4) at arrival.

    ``owner`` is the sender the file arrived for (the folder's sender number, or the sender
    the caller holds over HTTP; ``None`` when that check is made elsewhere); ``folder`` the
    folder it was dropped in (``None`` over HTTP). Set-level errors (parts numbering,
    signature, name already used) are :func:`socsec.batch.domain.reception.set_errors`'.
    """
    rules = rules or NameRules()
    elements = raw.split(".")
    prefix = elements[0] if elements else ""
    structure = STRUCTURE_ERROR.get(prefix, "ACRF-129")
    if prefix not in PREFIXES or (len(elements) > 1 and elements[1] not in FILE_TYPES):
        return NameCheck(raw, None, ("ACRF-129",))
    if not 6 <= len(elements) <= 8:
        return NameCheck(raw, None, (structure,))
    _, file_type, sender, created, sequence, environment, *parts = elements
    if len(sender) != 6 or not sender.isdigit():
        return NameCheck(raw, None, (structure,))

    errors: list[str] = []
    if owner is not None and sender != owner:
        errors.append("ACRF-108")
    _created(created, today, rules, errors)
    _sequence(sequence, rules, errors, structure)
    _environment(environment, folder, rules, errors)

    expected_parts = 2 if prefix in ("FI", "FS") else 1
    total = index = None
    if len(parts) != expected_parts:
        errors.append(structure)
    else:
        total = _part(parts[0], errors, rules)
        if expected_parts == 2:
            index = _part(parts[1], errors, rules)
    if not errors and not NAME_PATTERN.match(raw):
        errors.append(structure)  # a case the element checks above do not name
    name = FileName(
        raw=raw,
        prefix=prefix,
        file_type=file_type,
        sender=sender,
        created=created,
        sequence=sequence,
        environment=environment,
        parts_total=total,
        part_index=index,
    )
    return NameCheck(raw, name, tuple(dict.fromkeys(errors)))


def answer_environment(environment: str | None, folder: Folder | None) -> str:
    """The environment of the answers to a file: its own when readable, else the one its
    folder stands for (production for an HTTP upload)."""
    if environment in ENVIRONMENTS:
        return environment
    return "T" if folder in (Folder.INTEST, Folder.OUTTEST) else "R"


def out_folder(environment: str) -> Folder:
    """Where the answers to a file of ``environment`` go (batch.md §1)."""
    return Folder.OUT if environment == "R" else Folder.OUTTEST


def out_name(kind: str, prefix: str, day: date, sequence: str, environment: str) -> str:
    """An outgoing name, ``FO.ACRF.999999.20260601.00001.R``: sender element ``999999`` for
    social security, no part numbers."""
    return f"{prefix}.{kind}.999999.{day:%Y%m%d}.{sequence}.{environment}"


_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def base36(value: int, width: int) -> str:
    """``value`` in upper-case base 36, left-padded with zeros to ``width``."""
    if value < 0:
        raise ValueError("negative")
    digits = ""
    while value:
        value, rest = divmod(value, 36)
        digits = _BASE36[rest] + digits
    return digits.rjust(width, "0")


#: Batch file tickets start with these two characters (the spec's example ACRF ticket
#: ``38000A7K2Q01C``), so that they never equal a ticket another service draws from its
#: own sequence with another prefix (the DmfA declaration tickets of dmfa.md start ``34``).
TICKET_PREFIX = "38"


def ticket(sequence_value: int) -> str:
    """The 13-character base-36 ticket of a value of the ticket sequence."""
    body = base36(sequence_value, 13 - len(TICKET_PREFIX))
    if len(body) > 13 - len(TICKET_PREFIX):
        raise ValueError("ticket sequence exhausted")
    return TICKET_PREFIX + body


def out_sequence(counter: int) -> str:
    """The five-character sequence element of the ``counter``-th outgoing file of a day and
    environment: decimal while it fits (``00001``), then a letter and four base-36 digits,
    which can never equal a decimal one."""
    if counter < 100_000:
        return f"{counter:05d}"
    letter, rest = divmod(counter - 100_000, 36**4)
    if letter >= 26:
        raise ValueError("outgoing sequence of the day exhausted")
    return _BASE36[10 + letter] + base36(rest, 4)
