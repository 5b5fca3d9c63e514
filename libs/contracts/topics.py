"""The topic registry: every topic, its key rule, partitions, compaction and dead-letter topic."""

from __future__ import annotations

from dataclasses import dataclass

#: The largest message of a topic without ``max_message_bytes``: the broker's default.
DEFAULT_MESSAGE_BYTES = 1024 * 1024
#: The largest message of ``batch.forms.v1``: one form of a batch file (a DmfA declaration
#: of about 20,000 worker lines). Larger forms are refused at reception (ACRF-184).
FORM_MESSAGE_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class TopicSpec:
    name: str
    key: str
    description: str
    partitions: int = 3
    compacted: bool = False
    retention_ms: int | None = None
    #: ``max.message.bytes`` of the topic; ``None`` keeps the broker's default (1 MiB).
    max_message_bytes: int | None = None

    @property
    def message_limit(self) -> int:
        """The largest message the topic takes, in bytes."""
        return self.max_message_bytes or DEFAULT_MESSAGE_BYTES

    @property
    def dlt(self) -> str:
        """The dead-letter topic of messages from this topic that could not be handled."""
        return f"{self.name}.dlt"


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        "registry.employers.v1",
        key="NSSO registration number",
        description="Current state of every employer (compacted).",
        compacted=True,
    ),
    TopicSpec(
        "registry.mandates.v1",
        key="mandate id",
        description="Current state of every mandate employer - secretariat (compacted).",
        compacted=True,
    ),
    TopicSpec(
        "registry.secretariats.v1",
        key="secretariat id",
        description="Secretariats, seats and branches (compacted).",
        compacted=True,
    ),
    TopicSpec(
        "registry.senders.v1",
        key="sender number",
        description="Batch sender numbers and who holds them (compacted).",
        compacted=True,
    ),
    TopicSpec(
        "registry.workers.v1",
        key="INSZ",
        description="The worker identification register: every known worker (compacted).",
        compacted=True,
    ),
    TopicSpec(
        "registry.identifications.v1",
        key="identification request id",
        description="Results of worker identification requests.",
    ),
    TopicSpec(
        "batch.forms.v1",
        key="NSSO registration number of the form's employer",
        description="Forms read from accepted batch files, with ticket and position.",
        max_message_bytes=FORM_MESSAGE_BYTES,
    ),
    TopicSpec(
        "dimona.declarations.v1",
        key="NSSO registration number",
        description="Dimona declarations received over REST, waiting for processing.",
    ),
    TopicSpec(
        "dimona.identification-requests.v1",
        key="identification request id",
        description="Workers declared without a known INSZ, to be identified by the registry.",
    ),
    TopicSpec(
        "dimona.notifications.v1",
        key="NSSO registration number",
        description="Positive, negative and provisional Dimona notifications.",
    ),
    TopicSpec(
        "dimona.periods.v1",
        key="NSSO registration number",
        description="Every change to a Dimona period of the personnel file.",
    ),
    TopicSpec(
        "dmfa.notifications.v1",
        key="NSSO registration number",
        description="Handled DmfA declarations, accepted (with worker lines) or refused.",
    ),
    TopicSpec(
        "dmfa.anomalies.v1",
        key="NSSO registration number",
        description="DmfA anomalies detected and resolved, with class and priority.",
    ),
    TopicSpec(
        "dmfa.silent.v1",
        key="NSSO registration number",
        description="Silent employers: missing, late or incomplete DmfA.",
    ),
    TopicSpec(
        "crosscheck.anomalies.v1",
        key="NSSO registration number",
        description="Dimona-DmfA mismatches detected and resolved.",
    ),
    TopicSpec(
        "scoring.scores.v1",
        key="seat id",
        description="Domain scores per secretariat seat and period.",
    ),
    TopicSpec(
        "reports.events.v1",
        key="report id",
        description="Every state transition of a barometer report.",
    ),
    TopicSpec(
        "system.clock.v1",
        key="the constant 'clock'",
        description="The business clock every service reads (compacted, one record).",
        partitions=1,
        compacted=True,
    ),
)

_BY_NAME = {t.name: t for t in TOPICS}


def topic(name: str) -> TopicSpec:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"topic {name!r} is not declared in socsec.contracts.topics") from None


def physical_topics(prefix: str = "") -> list[TopicSpec]:
    """Every topic to create, each followed by its dead-letter topic, names prefixed."""
    out: list[TopicSpec] = []
    for spec in TOPICS:
        dead = TopicSpec(
            spec.dlt,
            key=spec.key,
            description=f"Dead letters of {spec.name}",
            partitions=1,
            max_message_bytes=spec.max_message_bytes,
        )
        for one in (spec, dead):
            out.append(
                TopicSpec(
                    prefix + one.name,
                    key=one.key,
                    description=one.description,
                    partitions=one.partitions,
                    compacted=one.compacted,
                    retention_ms=one.retention_ms,
                    max_message_bytes=one.max_message_bytes,
                )
            )
    return out
