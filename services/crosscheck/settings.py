"""Settings of the crosscheck service (environment variables, ``SOCSEC_`` prefix)."""

from socsec.kit.settings import ServiceSettings


class CrosscheckSettings(ServiceSettings):
    service_name: str = "crosscheck"
    http_port: int = 8105
