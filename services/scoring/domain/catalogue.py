"""The versioned indicator catalogue (barometer.md §3): loaded from YAML and validated.

A catalogue is a list of immutable versions, each in force from a quarter on. A period is
scored with the version in force at its first quarter (a year ``N`` with the one of quarter
``N1``), so a new version applies only to periods that start at or after its date. The
service records the digest of every version it loads and refuses to start when a version it
already knows has changed (a change must be a new version).
"""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from socsec.scoring.domain.periods import is_quarter

DOMAINS = ("S", "T", "F", "AP", "ANP", "C")
QUARTERLY_DOMAINS = ("S", "T", "F", "AP", "ANP")
SILENT_REASONS = ("NO_DMFA", "INCOMPLETE", "INACCURATE", "LATE")
_OFFSET = re.compile(r"^(?:(Q)\+(\d+)([MQ])|(N)\+(\d+)M|CAMPAIGN)$")

_STRICT = ConfigDict(extra="forbid", frozen=True)


class CatalogueError(ValueError):
    """The catalogue file cannot be used; the message says where and why."""


class Indicator(BaseModel):
    model_config = _STRICT
    code: str = Field(pattern=r"^[A-Z]{1,3}\d$")
    weight: Decimal = Field(ge=0)
    label_fr: str = Field(min_length=1)
    label_nl: str = Field(min_length=1)
    label_en: str = Field(min_length=1)
    reason: str | None = Field(default=None, description="Domain S: the silent reason.")


class Bands(BaseModel):
    model_config = _STRICT
    good: Decimal = Field(default=Decimal(80), ge=0, le=100)
    less_good: Decimal = Field(default=Decimal(60), ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> Bands:
        if self.less_good > self.good:
            raise ValueError("bands: less_good must not exceed good")
        return self

    def band(self, score: Decimal | None) -> str | None:
        if score is None:
            return None
        if score >= self.good:
            return "GOOD"
        return "LESS_GOOD" if score >= self.less_good else "BAD"


class DomainSpec(BaseModel):
    model_config = _STRICT
    label_en: str
    formula: Literal["wpu", "wfr", "anomalies", "crosscheck"]
    period: Literal["QUARTER", "YEAR"]
    evaluation_offset: str
    applies_to: Literal["approved", "provider", "both"]
    weight: Decimal = Field(default=Decimal(1), ge=0, description="W_d of the total (§5).")
    parameters: dict[str, Any] = Field(default_factory=dict)
    indicators: tuple[Indicator, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> DomainSpec:
        if not _OFFSET.match(self.evaluation_offset):
            raise ValueError(
                f"evaluation_offset {self.evaluation_offset!r}: expected Q+<n>M, Q+<n>Q, "
                "N+<n>M or CAMPAIGN"
            )
        codes = [i.code for i in self.indicators]
        if len(set(codes)) != len(codes):
            raise ValueError(f"indicator codes repeat: {codes}")
        if self.formula == "wpu" and any(i.weight > 1 for i in self.indicators):
            raise ValueError("wpu weights must lie in [0, 1]")
        if self.formula in ("anomalies", "crosscheck"):
            p = self.parameters
            for name in ("floor", "target_days", "drop_weight", "life_weight"):
                if name not in p:
                    raise ValueError(f"parameter {name!r} is required for {self.formula}")
            if not (Decimal(str(p["floor"])) > 0 and int(p["target_days"]) > 0):
                raise ValueError("floor and target_days must be positive")
        return self

    def param(self, name: str) -> Decimal:
        return Decimal(str(self.parameters[name]))

    def applies(self, approved: bool) -> bool:
        return self.applies_to == "both" or (self.applies_to == "approved") == approved


class CatalogueVersion(BaseModel):
    model_config = _STRICT
    catalogue_version: str = Field(pattern=r"^\d{4}\.\d+$")
    valid_from_quarter: int
    bands: Bands = Field(default_factory=Bands)
    domains: dict[str, DomainSpec]

    @model_validator(mode="after")
    def _check(self) -> CatalogueVersion:
        if not is_quarter(self.valid_from_quarter):
            raise ValueError(f"valid_from_quarter {self.valid_from_quarter} is not YYYYQ")
        if set(self.domains) != set(DOMAINS):
            raise ValueError(f"domains must be exactly {', '.join(DOMAINS)}")
        s = self.domains["S"]
        reasons = sorted(i.reason or "" for i in s.indicators)
        if reasons != sorted(SILENT_REASONS):
            raise ValueError(f"domain S needs one indicator per reason {SILENT_REASONS}")
        if self.domains["F"].applies_to == "provider":
            raise ValueError("domain F never applies to providers (Art. 53/3)")
        t = self.domains["T"].parameters
        for name in ("z", "p", "e"):
            if name not in t:
                raise ValueError(f"domain T: parameter {name!r} is required")
        return self

    @cached_property
    def digest(self) -> str:
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


class Catalogue(BaseModel):
    model_config = _STRICT
    versions: tuple[CatalogueVersion, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Catalogue:
        names = [v.catalogue_version for v in self.versions]
        if len(set(names)) != len(names):
            raise ValueError(f"catalogue versions repeat: {names}")
        starts = [v.valid_from_quarter for v in self.versions]
        if starts != sorted(set(starts)) or len(set(starts)) != len(starts):
            raise ValueError("versions must be listed by strictly increasing valid_from_quarter")
        return self

    def for_quarter(self, quarter: int) -> CatalogueVersion:
        """The version in force for a quarter (ValueError before the first version)."""
        found = None
        for version in self.versions:
            if version.valid_from_quarter <= quarter:
                found = version
        if found is None:
            raise ValueError(f"no catalogue version is in force for quarter {quarter}")
        return found

    def for_period(self, period: str) -> CatalogueVersion:
        """``YYYYQ`` or ``YYYY`` (a year takes the version of its first quarter)."""
        return self.for_quarter(int(period) if len(period) == 5 else int(period) * 10 + 1)

    def version(self, name: str) -> CatalogueVersion:
        for version in self.versions:
            if version.catalogue_version == name:
                return version
        raise KeyError(name)


def parse(data: Any, source: str = "catalogue") -> Catalogue:
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()
        )
        raise CatalogueError(f"{source}: invalid indicator catalogue: {problems}") from None


def load(path: str | Path | None = None) -> Catalogue:
    """Read and validate a catalogue file (the shipped default when ``path`` is empty)."""
    if path:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CatalogueError(f"{source}: cannot read the catalogue: {exc}") from None
    else:
        source = "socsec.scoring.catalogue/default.yaml"
        text = resources.files("socsec.scoring.catalogue").joinpath("default.yaml").read_text()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{source}: not valid YAML: {exc}") from None
    return parse(data, source)
