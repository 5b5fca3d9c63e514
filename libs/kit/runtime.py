"""Everything one service process holds: settings, database, broker, outbox, clock.

Built once in the service's ``main.create_app`` and started/stopped by the FastAPI
lifespan. One broker per process; consumers are registered before it starts.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import CollectorRegistry

from socsec.kit import migrator
from socsec.kit.authz import AUTHZ_TOPICS, AuthorizationReadModel, Authorizer
from socsec.kit.clock import CLOCK_TOPIC, BusinessClock, Clock
from socsec.kit.consumer import AfterBatchHook, BatchHook, Handler, IdempotentConsumer
from socsec.kit.db import Database
from socsec.kit.follower import TopicFollower
from socsec.kit.logging import setup_logging
from socsec.kit.outbox import Outbox, OutboxRelay
from socsec.kit.pseudonym import Pseudonymizer
from socsec.kit.telemetry import KafkaTracingMiddleware, setup_tracing

if TYPE_CHECKING:
    from socsec.kit.settings import ServiceSettings

log = logging.getLogger(__name__)

#: Allocations (minus deallocations) of container objects between two collections of the
#: youngest generation: CPython's default of 700 collects hundreds of times a second in a
#: service under load, for objects that reference counting frees anyway.
GC_YOUNG_THRESHOLD = 10_000


def tune_gc() -> None:
    """Garbage collection for a long-running service process, once it has started: what
    start-up created (modules, settings, models, clients) is moved out of the collector's
    generations (``gc.freeze``), so that collections no longer traverse it, and the
    youngest generation is collected less often (:data:`GC_YOUNG_THRESHOLD`). On the
    Dimona benchmark this took the API process from 1.35 to 1.2 ms of CPU per declaration.

    Not for processes that start and stop many runtimes (tests): objects frozen while
    alive are never collected if they later become cyclic garbage."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


class ServiceRuntime:
    def __init__(
        self,
        settings: ServiceSettings,
        *,
        migrations_package: str | None = None,
        clock: Clock | None = None,
        follow_clock: bool = True,
        configure_logging: bool = True,
        run_relay: bool = True,
        authorization: bool = False,
    ) -> None:
        self.settings = settings
        self.name = settings.service_name
        self.pseudonymizer = Pseudonymizer(settings.pseudonym_key.get_secret_value())
        if configure_logging:
            setup_logging(
                self.name, self.pseudonymizer, level=settings.log_level, json=settings.log_json
            )
        self.tracing = setup_tracing(self.name, self.pseudonymizer)
        self.tracer_provider = self.tracing.provider
        self.metrics = CollectorRegistry()
        self.db = Database(
            settings.database_url,
            settings.schema,
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
        )
        self.broker = KafkaBroker(
            settings.kafka_bootstrap_servers,
            client_id=f"socsec-{self.name}",
            enable_idempotence=True,
            acks="all",
            linger_ms=2,
            max_request_size=settings.kafka_max_request_bytes,
            # Kafka spans only when they are exported: the middleware costs ~100 µs a message.
            middlewares=[
                *(
                    [KafkaTracingMiddleware(tracer_provider=self.tracer_provider)]
                    if self.tracing.enabled
                    else []
                ),
                KafkaPrometheusMiddleware(registry=self.metrics, app_name=f"socsec-{self.name}"),
            ],
            logger=logging.getLogger(f"socsec.{self.name}.broker"),
            log_level=logging.DEBUG,
        )
        self.outbox = Outbox(producer=self.name, topic_prefix=settings.topic_prefix)
        self.relay = OutboxRelay(self.db, self.broker, traced=self.tracing.enabled)
        self.run_relay = run_relay
        self.migrations_package = migrations_package
        self.clock: Clock = clock or BusinessClock()
        self._clock_follower: TopicFollower | None = None
        if follow_clock and isinstance(self.clock, BusinessClock):
            self._clock_follower = TopicFollower(
                settings.kafka_bootstrap_servers,
                settings.topic(CLOCK_TOPIC),
                self._on_clock,
                name=f"{self.name}:clock",
            )
        self.authz_model: AuthorizationReadModel | None = None
        if authorization:
            self.authz_model = AuthorizationReadModel(
                settings.kafka_bootstrap_servers, settings.topic_prefix
            )
        self.consumers: list[IdempotentConsumer] = []
        #: Service-specific dependencies (built in the service's main.create_app).
        self.state: dict[str, Any] = {}
        self._background: list[Callable[[], Awaitable[None]]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.started = False
        #: :func:`tune_gc` once started (``socsec run`` sets it: one runtime per process).
        self.tune_gc = False

    def _on_clock(self, record) -> None:  # type: ignore[no-untyped-def]
        assert isinstance(self.clock, BusinessClock)
        self.clock.apply(record.value)
        log.info("business clock is now %s", self.clock.now().isoformat())

    def every(self, seconds: float, job: Callable[[], Awaitable[object]], name: str) -> None:
        """Run ``job`` every ``seconds`` while the service runs (errors are logged, the
        loop goes on). Jobs must be idempotent: every instance of the service runs them."""

        async def loop() -> None:
            while True:
                try:
                    await job()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("periodic job %s failed", name)
                await asyncio.sleep(seconds)

        self._background.append(loop)

    def subscribe(
        self,
        topic: str,
        handler: Handler,
        *,
        name: str | None = None,
        before_batch: BatchHook | None = None,
        after_batch: AfterBatchHook | None = None,
        fetch_wait_ms: int | None = None,
    ) -> IdempotentConsumer:
        """Register an idempotent consumer of a contract topic (before :meth:`start`);
        ``before_batch`` sees each batch's messages first (see :data:`BatchHook`),
        ``after_batch`` closes it after its last handler (see :data:`AfterBatchHook`)."""
        consumer_name = f"{self.name}.{name or handler.__name__}"
        consumer = IdempotentConsumer(
            db=self.db,
            broker=self.broker,
            name=consumer_name,
            topic=self.settings.topic(topic),
            handler=handler,
            group_id=f"{self.settings.topic_prefix}{consumer_name}",
            max_attempts=self.settings.consumer_max_attempts,
            backoff_initial_s=self.settings.consumer_backoff_initial_s,
            backoff_max_s=self.settings.consumer_backoff_max_s,
            batch_size=self.settings.consumer_batch_size,
            traced=self.tracing.enabled,
            before_batch=before_batch,
            after_batch=after_batch,
            fetch_wait_ms=fetch_wait_ms,
        )
        self.consumers.append(consumer)
        return consumer

    async def start(self) -> None:
        await self.db.connect()
        if self.migrations_package:
            applied = await migrator.migrate(
                self.settings.database_url, self.name, self.migrations_package, self.settings.schema
            )
            if applied:
                log.info("applied migrations: %s", ", ".join(applied))
        if self._clock_follower is not None:
            await self._clock_follower.start()
        if self.authz_model is not None:
            await self.authz_model.start()
        await self.broker.start()
        if self.run_relay:
            self.relay.start()
        self._tasks = [asyncio.create_task(job()) for job in self._background]
        self.started = True
        if self.tune_gc:
            tune_gc()

    async def stop(self) -> None:
        self.started = False
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.relay.stop()
        await self.broker.stop()
        if self._clock_follower is not None:
            await self._clock_follower.stop()
        if self.authz_model is not None:
            await self.authz_model.stop()
        await self.db.close()

    @property
    def followed_topics(self) -> list[str]:
        """Topics read from the start by followers rather than a consumer group (the
        business clock, the mandate read model), with the topic prefix."""
        topics = [self._clock_follower.topic] if self._clock_follower is not None else []
        if self.authz_model is not None:
            topics += [self.settings.topic(name) for name in AUTHZ_TOPICS]
        return topics

    @property
    def authorizer(self) -> Authorizer:
        """The mandate read model (services created with ``authorization=True``)."""
        if self.authz_model is None:
            raise RuntimeError(f"{self.name} was not created with authorization=True")
        return self.authz_model.authorizer

    async def ready(self) -> dict[str, bool]:
        """What ``/readyz`` reports: PostgreSQL and Kafka both answer."""
        return {
            "postgres": await self.db.ping(),
            "kafka": bool(self.started and await self.broker.ping(timeout=2.0)),
        }
