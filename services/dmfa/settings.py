"""Settings of the dmfa service (environment variables, ``SOCSEC_`` prefix)."""

from socsec.kit.settings import ServiceSettings


class DmfASettings(ServiceSettings):
    service_name: str = "dmfa"
    http_port: int = 8104
