"""Settings of the reports service (environment variables, ``SOCSEC_`` prefix)."""

from socsec.kit.settings import ServiceSettings


class ReportsSettings(ServiceSettings):
    service_name: str = "reports"
    http_port: int = 8107
