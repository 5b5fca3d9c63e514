"""Settings of the registry service (environment variables, ``SOCSEC_`` prefix)."""

from socsec.kit.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    service_name: str = "registry"
    http_port: int = 8101
