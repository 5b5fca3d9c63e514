"""Settings shared by every service, read from the environment with pydantic-settings.

Each service subclasses :class:`ServiceSettings` and sets its own name and port; an
instance is built once in the service's ``main.create_app`` and passed down.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from socsec.contracts.topics import FORM_MESSAGE_BYTES


class ServiceSettings(BaseSettings):
    """What every service process needs to run.

    ``DATABASE_URL`` and ``KAFKA_BOOTSTRAP_SERVERS`` are the standard variables; the
    ``SOCSEC_`` prefix applies to everything else (``SOCSEC_HTTP_PORT``, ...).
    """

    model_config = SettingsConfigDict(env_prefix="SOCSEC_", extra="ignore")

    service_name: str = "service"
    environment: str = Field(default="local", description="local, test, staging, production")

    database_url: str = Field(
        default="postgresql://localhost:5432/socsec",
        validation_alias=AliasChoices("SOCSEC_DATABASE_URL", "DATABASE_URL"),
        description="DSN of this service's own database role.",
    )
    db_schema: str | None = Field(
        default=None, description="PostgreSQL schema of the service; defaults to its name."
    )
    db_pool_min: int = 1
    db_pool_max: int = 10

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("SOCSEC_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
    )
    kafka_max_request_bytes: int = Field(
        default=FORM_MESSAGE_BYTES + 1024 * 1024,
        ge=1024 * 1024,
        description="The largest message the service's producer sends (the producer's "
        "max_request_size): room for the largest topic limit (batch.forms.v1). A message "
        "above its topic's own limit is refused by the broker and its outbox row set aside.",
    )
    topic_prefix: str = Field(
        default="", description="Prepended to every topic name (isolates tests and tenants)."
    )

    http_host: str = "127.0.0.1"
    http_port: int = 8000

    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_backoff_initial_s: float = 0.2
    consumer_backoff_max_s: float = 5.0
    consumer_batch_size: int = Field(default=1000, ge=1)

    pseudonym_key: SecretStr = Field(
        default=SecretStr("socsec-local-pseudonym-key"),
        description="Key of the keyed hash that replaces an INSZ in logs and spans.",
    )
    log_level: str = "INFO"
    log_json: bool = True

    # OAuth2 access tokens (socsec.kit.auth). The registry issues them; every service
    # validates them locally with the registry's published keys (JWKS).
    auth_issuer: str = Field(
        default="http://127.0.0.1:8101",
        description="The `iss` of access tokens: the registry's public base URL.",
    )
    auth_audience: str = Field(default="socsec", description="The `aud` of access tokens.")
    auth_jwks_url: str | None = Field(
        default="http://127.0.0.1:8101/.well-known/jwks.json",
        description="Where the registry publishes its token-signing keys; empty = read the "
        "JWKS the service's own app publishes (the registry itself).",
    )
    auth_jwks_cache_seconds: float = Field(
        default=300.0, gt=0, description="How long fetched signing keys are trusted unchanged."
    )
    auth_jwks_min_refresh_seconds: float = Field(
        default=10.0,
        ge=0,
        description="Minimum gap between two JWKS fetches caused by an unknown key id, so "
        "forged tokens cannot make a service hammer the registry.",
    )
    auth_leeway_seconds: int = Field(
        default=30, ge=0, description="Clock skew tolerated on exp, nbf and iat."
    )
    auth_token_cache_size: int = Field(
        default=10_000,
        ge=0,
        description="Validated tokens remembered until they expire (0 disables the cache).",
    )

    @property
    def schema(self) -> str:
        return self.db_schema or self.service_name

    def topic(self, name: str) -> str:
        """The physical topic name for a contract topic name."""
        return f"{self.topic_prefix}{name}"
