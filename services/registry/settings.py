"""Settings of the registry service (environment variables, ``SOCSEC_`` prefix)."""

from typing import Literal

from pydantic import Field, SecretStr

from socsec.contracts.payloads.registry import NotificationRouting
from socsec.kit.settings import ServiceSettings
from socsec.registry.domain.rules import Rules


class RegistrySettings(ServiceSettings):
    service_name: str = "registry"
    http_port: int = 8101

    # -- the register's configurable defaults (shared/domain/registry.md, identifiers.md) --
    noss_check_enabled: bool = Field(
        default=True,
        description="Refuse new NSSO numbers that fail the rule 'number mod 97 == 96'.",
    )
    approved_name_patterns: tuple[str, ...] = Field(
        default=(
            "ASBL - Secrétariat Social",
            "Association sans but lucratif - Secrétariat social",
            "VZW - Sociaal Secretariaat",
        ),
        description="An approved secretariat's legal name contains one of these (any case).",
    )
    provider_forbidden_terms: tuple[str, ...] = Field(
        default=("secrétariat social", "sociaal secretariaat"),
        description="A non-approved provider's legal name contains none of these.",
    )
    end_notice_days: int = Field(
        default=15, ge=0, description="An end notice is due this many days before the end."
    )
    routing_approved: NotificationRouting = NotificationRouting.MANDATARY
    routing_provider: NotificationRouting = NotificationRouting.SENDER
    one_mandate_per_scope: bool = Field(
        default=True, description="At most one usable mandate per employer and scope."
    )
    flexi_eligible_default: bool = True
    reserved_sender_numbers: tuple[str, ...] = Field(
        default=("999999",), description="Sender numbers never issued."
    )

    # -- worker identification -------------------------------------------------------------
    identification_delay_seconds: float = Field(
        default=60.0, ge=0, description="Business time before a request is answered."
    )
    identification_min_birth_year: int = 1900
    identification_poll_seconds: float = Field(
        default=1.0, gt=0, description="Wall-clock interval of the check for due requests."
    )

    # -- OAuth2 token endpoint and API clients (tokens.py, clients.py, keys.py) -------------
    auth_jwks_url: str | None = Field(
        default=None,
        description="Empty: the registry validates its own tokens with the JWKS it publishes, "
        "read in-process.",
    )
    token_lifetime_seconds: int = Field(
        default=600, ge=30, description="Lifetime (expires_in) of an access token."
    )
    token_signing_alg: Literal["RS256", "ES256"] = Field(
        default="RS256", description="Algorithm of new token-signing keys."
    )
    assertion_max_lifetime_seconds: int = Field(
        default=300,
        ge=1,
        description="A client assertion (private_key_jwt) may expire at most this far ahead.",
    )
    demo_client_seed: SecretStr = Field(
        default=SecretStr("socsec-demo-clients"),
        description="Seed of the demo clients' secrets (seed-demo); demo use only.",
    )

    def rules(self) -> Rules:
        """The register's rules as configured."""
        return Rules(
            noss_check_enabled=self.noss_check_enabled,
            approved_name_patterns=self.approved_name_patterns,
            provider_forbidden_terms=self.provider_forbidden_terms,
            end_notice_days=self.end_notice_days,
            routing_approved=self.routing_approved,
            routing_provider=self.routing_provider,
            one_mandate_per_scope=self.one_mandate_per_scope,
            flexi_eligible_default=self.flexi_eligible_default,
            identification_delay_seconds=self.identification_delay_seconds,
            identification_min_birth_year=self.identification_min_birth_year,
            reserved_sender_numbers=self.reserved_sender_numbers,
        )
