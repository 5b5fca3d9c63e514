"""Settings of the crosscheck service (environment variables, ``SOCSEC_`` prefix).

The rule defaults of crosscheck.md are configurable here. Tuples read JSON from the
environment, e.g. ``SOCSEC_CROSSCHECK_JOINT_COMMITTEES='["124","302"]'``. The flexi marker
(RemunCode 022) and the occasional marker (``HorecaExtra``) are read by the dmfa service,
which carries them on each occupation of ``dmfa.notifications.v1``; they are configured
there (its code tables).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

# Imported as a module: the test fixture finds the settings class as the one name ending in
# "Settings" here.
from socsec.crosscheck.domain import rules as domain_rules
from socsec.kit.settings import ServiceSettings


class CrosscheckSettings(ServiceSettings):
    service_name: str = "crosscheck"
    http_port: int = 8105

    crosscheck_grace_days: int = Field(
        default=0, ge=0, description="C3: uncovered days of an occupation tolerated."
    )
    crosscheck_count_mode: Literal["presence", "totals"] = Field(
        default="presence", description="90007-262/263: one C1/C2 person, or DmfA vs Dimona totals."
    )
    crosscheck_student_hours_mode: Literal["exceeds", "differs"] = Field(
        default="exceeds", description="C6 students: hours above, or other than, planned hours."
    )
    crosscheck_joint_committees: tuple[str, ...] = Field(
        default=tuple(sorted(domain_rules.DEFAULT_JOINT_COMMITTEES)),
        description="C4: the joint committees (first 3 digits) Dimona must carry.",
    )
    crosscheck_excluded_worker_types: tuple[str, ...] = Field(
        default=("DWD", "STG"), description="Dimona worker types for which no DmfA is expected."
    )
    crosscheck_ignored_worker_codes: tuple[str, ...] = Field(
        default=("879", "865", "870"),
        description="Special DmfA lines that need no Dimona (bridge pension, not linked to a "
        "person).",
    )
    crosscheck_student_worker_codes: tuple[str, ...] = Field(
        default=("840", "841"), description="Worker codes of student lines (C5, C6)."
    )
    crosscheck_evaluation_month: int = Field(
        default=6,
        ge=1,
        le=12,
        description="c_evaluation_date = last day of this month of year N+1 (default 30 June).",
    )
    crosscheck_evaluator_batch: int = Field(
        default=2000, ge=1, description="Queued re-evaluations taken per evaluator transaction."
    )
    crosscheck_evaluator_poll_seconds: float = Field(
        default=1.0, gt=0, description="Evaluator poll when no notification wakes it."
    )

    def rules(self) -> domain_rules.RuleSettings:
        """The rule defaults as the domain takes them."""
        return domain_rules.RuleSettings(
            grace_days=self.crosscheck_grace_days,
            count_mode=self.crosscheck_count_mode,
            student_hours_mode=self.crosscheck_student_hours_mode,
            joint_committees=frozenset(self.crosscheck_joint_committees),
            excluded_worker_types=frozenset(self.crosscheck_excluded_worker_types),
            ignored_worker_codes=frozenset(self.crosscheck_ignored_worker_codes),
            student_worker_codes=frozenset(self.crosscheck_student_worker_codes),
        )

    def evaluation_date(self, year: int) -> date:
        """``c_evaluation_date`` of year ``year`` (barometer domain C, crosscheck.md §4)."""
        month = self.crosscheck_evaluation_month
        following = date(year + 1, month + 1, 1) if month < 12 else date(year + 2, 1, 1)
        return date.fromordinal(following.toordinal() - 1)
