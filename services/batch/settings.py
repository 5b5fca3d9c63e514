"""Settings of the batch service (environment variables, ``SOCSEC_`` prefix)."""

from socsec.kit.settings import ServiceSettings


class BatchSettings(ServiceSettings):
    service_name: str = "batch"
    http_port: int = 8102
