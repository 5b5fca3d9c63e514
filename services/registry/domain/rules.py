"""The configurable defaults of the register, as one value handed to the rules.

``shared/domain/registry.md`` and ``identifiers.md`` call these "default, configurable":
they are read from the service's settings (:meth:`RegistrySettings.rules`) and passed
down, never written as literals in a rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from socsec.contracts.payloads.registry import NotificationRouting


@dataclass(frozen=True)
class Rules:
    """What the rules of the register depend on besides their input."""

    #: Apply the NSSO check rule (``number mod 97 == 96``) to numbers new to the register.
    noss_check_enabled: bool
    #: The legal name of an approved secretariat contains one of these (any case).
    approved_name_patterns: tuple[str, ...]
    #: The legal name of a non-approved provider contains none of these (any case, accents).
    provider_forbidden_terms: tuple[str, ...]
    #: An end notice is late when received less than this many calendar days before the end.
    end_notice_days: int
    #: ``notification_routing`` of a mandate that does not say, per kind of mandatary.
    routing_approved: NotificationRouting
    routing_provider: NotificationRouting
    #: At most one usable mandate per employer and scope on any date.
    one_mandate_per_scope: bool
    #: ``flexi_eligible`` of a worker that does not say.
    flexi_eligible_default: bool
    #: Business time between an identification request and its automatic answer.
    identification_delay_seconds: float
    #: Birth dates before 1 January of this year make an identification request implausible.
    identification_min_birth_year: int
    #: Sender numbers never issued (``999999``: the social-security side).
    reserved_sender_numbers: tuple[str, ...]
