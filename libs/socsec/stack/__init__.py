"""Local infrastructure for development and tests: Kafka and PostgreSQL as plain processes.

``socsec stack`` uses this to run the whole system on a laptop without Docker:
:mod:`~socsec.stack.kafka` (a single KRaft node from Maven Central jars),
:mod:`~socsec.stack.postgres` (a private PostgreSQL 15 cluster and the per-service database
layout, also applied to external databases), :mod:`~socsec.stack.tracing` (the tracing
dashboard: a Zipkin server fed over OTLP through :mod:`~socsec.stack.otlp_zipkin`),
:mod:`~socsec.stack.maven` (Java programs fetched from Maven Central into a cache) and
:mod:`~socsec.stack.processes` (starting, checking and stopping detached processes across
command invocations).

Importing this package starts nothing.
"""
