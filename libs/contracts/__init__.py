"""Kafka message contracts: the envelope, the topic registry and the typed payloads.

This package is the only code services share about each other.
"""

from socsec.contracts.envelope import Envelope
from socsec.contracts.topics import TOPICS, TopicSpec, topic

__all__ = ["TOPICS", "Envelope", "TopicSpec", "topic"]
