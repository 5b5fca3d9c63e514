"""Settings of the dimona service (environment variables, ``SOCSEC_`` prefix)."""

from socsec.kit.settings import ServiceSettings


class DimonaSettings(ServiceSettings):
    service_name: str = "dimona"
    http_port: int = 8103
