"""Settings of the scoring service (environment variables, ``SOCSEC_`` prefix)."""

from socsec.kit.settings import ServiceSettings


class ScoringSettings(ServiceSettings):
    service_name: str = "scoring"
    http_port: int = 8106
