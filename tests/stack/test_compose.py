"""docker-compose.yml and deploy/ agree with the code, as a deployer relies on them to.

There is no Docker engine on the build machine, so the compose file is read as YAML and
checked against what the services really read: every service of the catalogue runs as
several instances, every variable given to it is a setting it has, the Kafka cluster's nodes
agree on their quorum, topics get enough partitions for the instances, and the gateway sends
every path of each service's OpenAPI document to that service.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices

from socsec.catalog import SERVICES
from socsec.cli.contracts import OPENAPI_DIR
from socsec.stack.local import StackConfig

ROOT = Path(__file__).resolve().parents[2]
#: Variables of the OpenTelemetry SDK (read by the SDK itself, not by a settings class).
OTEL_VARIABLES = {"OTEL_SERVICE_NAME", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_EXPORTER"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def settings_variables(service: str) -> set[str]:
    """Every environment variable the settings class of ``service`` reads."""
    module = importlib.import_module(f"socsec.{service}.settings")
    cls = next(
        v for k, v in vars(module).items() if k.endswith("Settings") and k != "ServiceSettings"
    )
    prefix = cls.model_config.get("env_prefix", "")
    names: set[str] = set()
    for name, info in cls.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {str(choice).upper() for choice in alias.choices}
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def test_every_service_runs_as_several_instances_with_settings_it_has(compose) -> None:
    services = compose["services"]
    for name in SERVICES:
        assert name in services, f"{name} is not in docker-compose.yml"
        spec = services[name]
        assert spec["command"] == ["run", name]
        assert spec["deploy"]["replicas"] >= 2, name
        assert "ports" not in spec, f"{name}: instances share no host port; the gateway does"
        environment = spec["environment"]
        unknown = set(environment) - settings_variables(name) - OTEL_VARIABLES
        assert not unknown, f"{name}: {sorted(unknown)} are not settings of the service"
        assert environment["SOCSEC_HTTP_PORT"] == str(SERVICES[name].port)
        assert environment["OTEL_SERVICE_NAME"] == f"socsec-{name}"
        assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http://jaeger:")
        volumes = spec["volumes"]
        assert "socsec-state:/var/lib/socsec:ro" in volumes, name


def test_the_kafka_cluster_and_the_topics_fit_the_instances(compose) -> None:
    services = compose["services"]
    nodes = {name: s for name, s in services.items() if re.fullmatch(r"kafka-\d+", name)}
    assert len(nodes) >= 3
    voters = {s["environment"]["KAFKA_CONTROLLER_QUORUM_VOTERS"] for s in nodes.values()}
    assert len(voters) == 1, "every node must list the same controller quorum"
    listed = dict(v.split("@") for v in voters.pop().split(","))
    assert {str(s["environment"]["KAFKA_NODE_ID"]): f"{n}:9093" for n, s in nodes.items()} == listed
    for name, spec in nodes.items():
        assert spec["environment"]["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        assert int(spec["environment"]["KAFKA_MIN_INSYNC_REPLICAS"]) < len(nodes)

    init = services["init"]["environment"]
    assert set(init["KAFKA_BOOTSTRAP_SERVERS"].split(",")) == {f"{n}:9092" for n in nodes}
    replication = int(init["SOCSEC_TOPIC_REPLICATION_FACTOR"])
    assert 1 < replication <= len(nodes)
    partitions = int(init["SOCSEC_TOPIC_PARTITIONS"])
    # An instance beyond the partition count of its topics would sit idle in its group.
    assert partitions >= max(services[name]["deploy"]["replicas"] for name in SERVICES)
    # The init job's variables are the ones `socsec stack up` reads.
    with pytest.MonkeyPatch.context() as patch:
        for key, value in init.items():
            patch.setenv(key, str(value))
        config = StackConfig.from_env(Path("/nonexistent"))
    assert (config.topic_partitions, config.topic_replication) == (partitions, replication)
    assert config.kafka_bootstrap == init["KAFKA_BOOTSTRAP_SERVERS"]


def gateway_routes() -> dict[str, tuple[str, int]]:
    """``location`` prefix -> (service, port) from deploy/gateway/nginx.conf."""
    text = (ROOT / "deploy" / "gateway" / "nginx.conf").read_text(encoding="utf-8")
    routes = {}
    for prefix, body in re.findall(r"location\s+(\S+)\s*\{([^}]*)\}", text):
        target = re.search(r"set \$service (\w+):(\d+);", body)
        assert target and "proxy_pass http://$service;" in body, prefix
        routes[prefix] = (target.group(1), int(target.group(2)))
    return routes


def test_the_gateway_sends_every_api_path_to_its_service(compose) -> None:
    routes = gateway_routes()
    assert routes, "no location in deploy/gateway/nginx.conf"
    operations = {"/healthz", "/readyz", "/metrics", "/asyncapi.json"}  # one per instance
    for name in SERVICES:
        document = json.loads((OPENAPI_DIR / f"{name}.json").read_text(encoding="utf-8"))
        for path in document["paths"]:
            if path in operations:
                continue
            matches = [p for p in routes if path.startswith(p)]
            assert matches, f"{name}: {path} reaches no service through the gateway"
            service, port = routes[max(matches, key=len)]
            assert (service, port) == (name, SERVICES[name].port), (path, service)
    gateway = compose["services"]["gateway"]
    assert "./deploy/gateway/nginx.conf:/etc/nginx/nginx.conf:ro" in gateway["volumes"]
    assert set(gateway["depends_on"]) == set(SERVICES)
