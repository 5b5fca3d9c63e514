"""Local infrastructure for development and tests: Kafka and PostgreSQL as plain processes.

``socsec stack`` uses this to run the whole system on a laptop without Docker:
:mod:`~socsec.stack.kafka` (a single KRaft node from Maven Central jars),
:mod:`~socsec.stack.postgres` (a private PostgreSQL 15 cluster and the per-service database
layout, also applied to external databases) and :mod:`~socsec.stack.processes` (starting,
checking and stopping detached processes across command invocations).

Importing this package starts nothing.
"""
