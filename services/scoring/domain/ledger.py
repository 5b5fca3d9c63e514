"""The financial-control ledger (domain F): entries and their CSV form.

One entry is an amount of one item (provision P1–P3 or the balance) of an employer's
quarter: ``DUE`` (what the employer owes for the item), ``EMPLOYER_PAID`` (a payment the
secretariat received from the employer) or ``FORWARDED`` (what the secretariat passed on to
the NSSO). ``reference`` identifies an entry, so importing the same file twice is refused
rather than counted twice.

CSV columns (header required, comma separated, UTF-8): ``employer,quarter,item,direction,
amount,date,reference``; amount in euro with at most two decimals (``1234.50``), date ISO.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from socsec.scoring.domain.periods import LEDGER_ITEMS, is_quarter

DIRECTIONS = ("DUE", "EMPLOYER_PAID", "FORWARDED")
CSV_COLUMNS = ("employer", "quarter", "item", "direction", "amount", "date", "reference")


class LedgerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    employer: str = Field(pattern=r"^\d{9}$", description="NSSO number of the employer.")
    quarter: int = Field(description="YYYYQ.")
    item: str = Field(description="P1, P2, P3 or BALANCE.")
    direction: str = Field(description="DUE, EMPLOYER_PAID or FORWARDED.")
    amount_cents: int = Field(gt=0, alias="amountCents")
    on_date: date = Field(alias="date", description="Due-amount date, or payment value date.")
    reference: str = Field(min_length=1, max_length=100)

    @field_validator("quarter")
    @classmethod
    def _quarter(cls, value: int) -> int:
        if not is_quarter(value):
            raise ValueError(f"{value} is not a quarter YYYYQ")
        return value

    @field_validator("item")
    @classmethod
    def _item(cls, value: str) -> str:
        if value not in LEDGER_ITEMS:
            raise ValueError(f"item must be one of {', '.join(LEDGER_ITEMS)}")
        return value

    @field_validator("direction")
    @classmethod
    def _direction(cls, value: str) -> str:
        if value not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}")
        return value


class LedgerCsvError(ValueError):
    """The file was refused; ``errors`` lists every bad line (nothing was imported)."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors[:20]))
        self.errors = errors


def _cents(text: str) -> int:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"amount {text!r} is not a number") from None
    if value != value.quantize(Decimal("0.01")):
        raise ValueError(f"amount {text!r} has more than two decimals")
    return int(value * 100)


def _quarter(text: str) -> int:
    if not text.isdigit():
        raise ValueError(f"quarter {text!r} is not YYYYQ")
    return int(text)


def parse_csv(text: str, *, max_rows: int) -> list[LedgerEntry]:
    """Every entry of a ledger file, or :class:`LedgerCsvError` with each bad line."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None:
        raise LedgerCsvError(["line 1: the file is empty (a header line is required)"])
    names = [h.strip().lower() for h in header]
    if names != list(CSV_COLUMNS):
        raise LedgerCsvError(
            [f"line 1: header must be {','.join(CSV_COLUMNS)}, got {','.join(names)}"]
        )
    entries: list[LedgerEntry] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(CSV_COLUMNS):
            errors.append(f"line {line}: {len(record)} fields, expected {len(CSV_COLUMNS)}")
            continue
        row = dict(zip(CSV_COLUMNS, (c.strip() for c in record), strict=True))
        try:
            entry = LedgerEntry(
                employer=row["employer"],
                quarter=_quarter(row["quarter"]),
                item=row["item"].upper(),
                direction=row["direction"].upper(),
                amountCents=_cents(row["amount"]),
                date=row["date"],
                reference=row["reference"],
            )
        except ValidationError as exc:
            errors.extend(
                f"line {line}: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                for e in exc.errors(include_url=False)
            )
            continue
        except ValueError as exc:
            errors.append(f"line {line}: {exc}")
            continue
        if entry.reference in seen:
            errors.append(
                f"line {line}: reference {entry.reference!r} repeats line {seen[entry.reference]}"
            )
            continue
        seen[entry.reference] = line
        entries.append(entry)
        if len(entries) > max_rows:
            raise LedgerCsvError([f"line {line}: more than {max_rows} entries in one file"])
    if errors:
        raise LedgerCsvError(errors)
    if not entries:
        raise LedgerCsvError(["the file holds no entry"])
    return entries
