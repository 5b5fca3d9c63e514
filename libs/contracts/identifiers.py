"""Belgian social-security identifiers as validated value types (pydantic ``Annotated``).

Each type normalises its input (separators stripped, integers left-padded) and validates
once, so code that holds one can trust it. INSZ and enterprise numbers are checked by
python-stdnum; the NSSO number and Dimona ids follow ``shared/domain/identifiers.md``.
Plain functions (``is_valid_*``) serve rules that must report an anomaly code instead of
raising.
"""

from __future__ import annotations

import functools
import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator
from stdnum.be import ssn, vat
from stdnum.exceptions import ValidationError as StdnumError

_NON_DIGITS = re.compile(r"\D")


def digits(value: object, width: int | None = None) -> str:
    """Strip separators; left-pad integers (XML and JSON lose leading zeros)."""
    text = _NON_DIGITS.sub("", str(value).strip().upper().removeprefix("BE"))
    return text.zfill(width) if width and text and len(text) < width else text


# -- INSZ / NISS -----------------------------------------------------------------------


def insz_kind(value: str) -> str | None:
    """``"nn"`` (national register), ``"bis"``, or ``None`` when not a valid INSZ."""
    number = digits(value, 11)
    if len(number) != 11 or number == "0" * 11:
        return None
    # The check digits of a birth in 2000 or later are accepted up to the current year.
    return _insz_kind(number, date.today().year)


@functools.lru_cache(maxsize=1 << 16)
def _insz_kind(number: str, year: int) -> str | None:
    """:func:`insz_kind` of an 11-digit number, remembered: one declaration validates its
    worker's INSZ several times (request, events), and stdnum's check is not cheap."""
    try:
        ssn.validate(number)
    except StdnumError:
        return None
    return ssn.guess_type(number)


def is_valid_insz(value: object) -> bool:
    return insz_kind(str(value)) is not None


def _insz(value: object) -> str:
    number = digits(value, 11)
    if insz_kind(number) is None:
        raise ValueError(f"{value!r} is not a valid INSZ/NISS (national register or BIS number)")
    return number


Insz = Annotated[str, BeforeValidator(_insz)]


# -- Enterprise number (KBO/BCE) --------------------------------------------------------


def is_valid_enterprise_number(value: object) -> bool:
    try:
        vat.validate(str(value))
    except StdnumError:
        return False
    return True


def _enterprise(value: object) -> str:
    try:
        return vat.validate(str(value))
    except StdnumError as exc:
        raise ValueError(f"{value!r} is not a valid enterprise number: {exc}") from None


EnterpriseNumber = Annotated[str, BeforeValidator(_enterprise)]


# -- NSSO registration number -----------------------------------------------------------

NSSO_MIN, NSSO_MAX = 100006, 199999934


def nsso_check_ok(number: str) -> bool:
    """The default check rule: the 9-digit number mod 97 equals 96 (configurable upstream)."""
    return int(number) % 97 == 96


def nsso_number_from(base7: int) -> str:
    """A valid 9-digit NSSO number from 7 leading digits (test and demo data)."""
    check = 96 - (base7 * 100) % 97
    if check < 0:
        check += 97
    return f"{base7 * 100 + check:09d}"


def _nsso(value: object) -> str:
    number = digits(value, 9)
    if len(number) != 9 or not NSSO_MIN <= int(number) <= NSSO_MAX:
        raise ValueError(f"{value!r} is not an NSSO number (9 digits, {NSSO_MIN}-{NSSO_MAX})")
    return number


NssoNumber = Annotated[str, BeforeValidator(_nsso)]


# -- Establishment unit number ----------------------------------------------------------


def _unit(value: object) -> str:
    number = digits(value, 10)
    if (
        len(number) != 10
        or number[0] not in "2345678"
        or 97 - int(number[:8]) % 97 != int(number[8:])
    ):
        raise ValueError(f"{value!r} is not an establishment unit number")
    return number


UnitNumber = Annotated[str, BeforeValidator(_unit)]


# -- Dimona declaration and period ids --------------------------------------------------


def dimona_id(sequence: int) -> int:
    """The 12-digit id of a 10-digit sequence value (its remainder mod 97 appended)."""
    remainder = sequence % 97
    if remainder == 0:
        raise ValueError("sequence values with remainder 0 are skipped")
    return sequence * 100 + remainder


def is_valid_dimona_id(value: object) -> bool:
    number = digits(value)
    if len(number) != 12:
        return False
    body, check = int(number[:10]), int(number[10:])
    return check != 0 and body % 97 == check


def _dimona_id(value: object) -> int:
    if not is_valid_dimona_id(value):
        raise ValueError(f"{value!r} is not a Dimona id (12 digits, mod-97 check)")
    return int(digits(value))


DimonaId = Annotated[int, BeforeValidator(_dimona_id)]


# -- Sender number and quarter ----------------------------------------------------------


def _sender(value: object) -> str:
    number = digits(value, 6)
    if len(number) != 6 or number == "000000":
        raise ValueError(f"{value!r} is not a sender number (6 digits, 000001-999999)")
    return number


SenderNumber = Annotated[str, BeforeValidator(_sender)]


def _quarter(value: int) -> int:
    if value < 20031 or value % 10 not in (1, 2, 3, 4):
        raise ValueError(f"{value!r} is not a quarter (YYYYQ, Q in 1..4, from 20031)")
    return value


Quarter = Annotated[int, AfterValidator(_quarter)]
