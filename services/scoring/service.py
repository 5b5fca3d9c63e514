"""The scoring service's use cases: catalogue registration, scores (final or provisional),
technical-control campaigns and findings, the financial ledger, and the completion job that
publishes final scores on ``scoring.scores.v1``."""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from socsec.contracts.payloads.scoring import DomainScoreFinal
from socsec.kit.clock import Clock
from socsec.kit.runtime import ServiceRuntime
from socsec.scoring.domain.catalogue import QUARTERLY_DOMAINS, Catalogue
from socsec.scoring.domain.ledger import LedgerEntry
from socsec.scoring.domain.periods import evaluation_date
from socsec.scoring.domain.sampling import Unit, draw
from socsec.scoring.scorer import Scorer, score_id

log = logging.getLogger(__name__)

SCORES_TOPIC = "scoring.scores.v1"
FINDINGS = ("T1", "T2", "T3", "T4")


class Conflict(Exception):
    """The request contradicts the stored state (HTTP 409)."""


class NotFound(Exception):
    """HTTP 404."""


class Invalid(Exception):
    """HTTP 422 with a specific reason."""


async def register_catalogue(conn: asyncpg.Connection, catalogue: Catalogue, now: datetime) -> None:
    """Record the catalogue's versions; refuse a known version whose content changed."""
    known = {
        r["catalogue_version"]: r["digest"]
        for r in await conn.fetch("SELECT catalogue_version, digest FROM catalogue_versions")
    }
    latest_final = await conn.fetchval(
        """SELECT max(CASE WHEN length(period) = 4 THEN period::int * 10 + 1
                           ELSE period::int END) FROM final_scores"""
    )
    for version in catalogue.versions:
        digest = known.get(version.catalogue_version)
        if digest is None:
            if latest_final is not None and version.valid_from_quarter <= latest_final:
                raise RuntimeError(
                    f"catalogue version {version.catalogue_version} would apply from "
                    f"{version.valid_from_quarter}, but scores of {latest_final} are already "
                    "final: a new version applies only to periods after the published ones"
                )
            await conn.execute(
                """INSERT INTO catalogue_versions (catalogue_version, valid_from_quarter, digest,
                                                   content, first_loaded_at)
                   VALUES ($1, $2, $3, $4::jsonb, $5) ON CONFLICT DO NOTHING""",
                version.catalogue_version,
                version.valid_from_quarter,
                version.digest,
                version.model_dump(mode="json"),
                now,
            )
        elif digest != version.digest:
            raise RuntimeError(
                f"catalogue version {version.catalogue_version} differs from the one already "
                "used for scores; a change needs a new version with a later valid_from_quarter"
            )


@dataclass
class ScoringService:
    runtime: ServiceRuntime
    catalogue: Catalogue

    def __post_init__(self) -> None:
        self.scorer = Scorer(self.catalogue)

    @property
    def clock(self) -> Clock:
        return self.runtime.clock

    # -- reading scores ----------------------------------------------------------------

    async def finals(
        self, conn: asyncpg.Connection, seat: str, periods: Sequence[str]
    ) -> dict[tuple[str, str], DomainScoreFinal]:
        rows = await conn.fetch(
            "SELECT domain, period, payload FROM final_scores WHERE seat_id = $1 "
            "AND period = ANY($2::text[])",
            seat,
            list(periods),
        )
        return {
            (r["domain"], r["period"]): DomainScoreFinal.model_validate(r["payload"]) for r in rows
        }

    async def seat_scores(
        self, conn: asyncpg.Connection, seat: str, period: str, domains: Sequence[str]
    ) -> dict[str, tuple[DomainScoreFinal, bool]]:
        """Each domain's score for a seat and period: the final one when published, else
        computed now from the facts (provisional). Runs in a transaction."""
        finals = await self.finals(conn, seat, [period])
        out: dict[str, tuple[DomainScoreFinal, bool]] = {}
        cache: dict = {}
        for domain in domains:
            found = finals.get((domain, period))
            if found is not None:
                out[domain] = (found, True)
                continue
            scores = await self.scorer.compute(
                conn,
                domain,
                period,
                today=self.clock.today(),
                computed_at=self.clock.now(),
                only_seats=[seat],
                cache=cache,
            )
            if scores:
                out[domain] = (scores[0], False)
        return out

    async def seat_of(self, conn: asyncpg.Connection, seat: str) -> asyncpg.Record | None:
        return await conn.fetchrow(
            "SELECT id, kind, seat_id FROM mandataries WHERE seat_id = $1 AND NOT deleted", seat
        )

    async def mandatary_of(self, conn: asyncpg.Connection, organisation: str) -> str | None:
        """The mandatary an organisation id (mandatary, seat or branch) belongs to."""
        return await conn.fetchval(
            """SELECT id FROM mandataries WHERE NOT deleted AND (id = $1 OR seat_id = $1)
               UNION SELECT mandatary_id FROM branches WHERE id = $1 LIMIT 1""",
            organisation,
        )

    # -- technical controls ------------------------------------------------------------

    async def create_campaign(
        self, conn: asyncpg.Connection, seat: str, quarter: int, seed: str | None, by: str
    ) -> uuid.UUID:
        """Draw the T sample of a seat's quarter: the population is the current worker lines
        of the employers counted for the seat at the end of the quarter."""
        if await self.seat_of(conn, seat) is None:
            raise NotFound(f"unknown seat {seat}")
        if await conn.fetchval(
            "SELECT true FROM t_campaigns WHERE seat_id = $1 AND quarter = $2", seat, quarter
        ):
            raise Conflict(f"seat {seat} already has a technical-control campaign for {quarter}")
        version = self.catalogue.for_quarter(quarter)
        params = version.domains["T"].parameters
        strata = str(params.get("strata", "worker_kind"))
        from socsec.scoring.scorer import attribute

        await attribute(conn, quarter)
        rows = await conn.fetch(
            """SELECT l.employer_nsso, a.unit, l.inss, l.employer_class, l.worker_code,
                      l.worker_kind
                 FROM worker_lines l
                 JOIN attribution a ON a.quarter = l.quarter AND a.employer_nsso = l.employer_nsso
                WHERE l.quarter = $1 AND NOT l.deleted AND a.seat_id = $2""",
            quarter,
            seat,
        )
        units = [
            Unit(
                key=(r["employer_nsso"], r["inss"], r["employer_class"], r["worker_code"]),
                stratum=r["employer_nsso"] if strata == "employer" else r["worker_kind"],
                data=r["unit"],
            )
            for r in rows
        ]
        if not units:
            raise Invalid(f"seat {seat} has no worker lines for {quarter}: nothing to sample")
        seed = seed or secrets.token_hex(16)
        z, p, e = (version.domains["T"].param(n) for n in ("z", "p", "e"))
        population, sample = draw(units, seed, z=z, p=p, e=e)
        campaign = uuid.uuid4()
        await conn.execute(
            """INSERT INTO t_campaigns (id, seat_id, quarter, seed, z, p, e, strata, population,
                                        sample_size, catalogue_version, created_at, created_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)""",
            campaign,
            seat,
            quarter,
            seed,
            z,
            p,
            e,
            strata,
            population,
            len(sample),
            version.catalogue_version,
            self.clock.now(),
            by,
        )
        await conn.copy_records_to_table(
            "t_items",
            records=[
                (campaign, i, u.key[0], u.data, u.key[1], u.key[2], u.key[3], u.stratum)
                for i, u in enumerate(sample, start=1)
            ],
            columns=[
                "campaign_id",
                "item_no",
                "employer_nsso",
                "unit",
                "inss",
                "employer_class",
                "worker_code",
                "stratum",
            ],
        )
        return campaign

    async def record_finding(
        self,
        conn: asyncpg.Connection,
        campaign: uuid.UUID,
        item_no: int,
        indicators: Sequence[str],
        note: str | None,
        inspector: str,
    ) -> None:
        row = await conn.fetchrow(
            "SELECT seat_id, quarter FROM t_campaigns WHERE id = $1", campaign
        )
        if row is None:
            raise NotFound(f"unknown campaign {campaign}")
        if not await conn.fetchval(
            "SELECT true FROM t_items WHERE campaign_id = $1 AND item_no = $2", campaign, item_no
        ):
            raise NotFound(f"campaign {campaign} has no item {item_no}")
        unknown = sorted(set(indicators) - set(FINDINGS))
        if unknown:
            raise Invalid(f"unknown findings {unknown}: use {', '.join(FINDINGS)}")
        if await conn.fetchval(
            "SELECT true FROM final_scores WHERE seat_id = $1 AND domain = 'T' AND period = $2",
            row["seat_id"],
            str(row["quarter"]),
        ):
            raise Conflict("the campaign's T score is final: its findings can no longer change")
        await conn.execute(
            """INSERT INTO t_findings (campaign_id, item_no, indicators, note, inspector,
                                       recorded_at)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (campaign_id, item_no) DO UPDATE SET indicators = EXCLUDED.indicators,
                   note = EXCLUDED.note, inspector = EXCLUDED.inspector,
                   recorded_at = EXCLUDED.recorded_at""",
            campaign,
            item_no,
            sorted(set(indicators)),
            note,
            inspector,
            self.clock.now(),
        )

    # -- financial ledger --------------------------------------------------------------

    async def add_ledger(
        self, conn: asyncpg.Connection, entries: Sequence[LedgerEntry], by: str
    ) -> int:
        """Store entries all or nothing; a reference already stored is refused."""
        refs = [e.reference for e in entries]
        clash = await conn.fetch(
            "SELECT reference FROM f_ledger WHERE reference = ANY($1::text[]) ORDER BY 1", refs
        )
        if clash:
            names = ", ".join(r["reference"] for r in clash[:10])
            raise Conflict(f"{len(clash)} reference(s) already in the ledger: {names}")
        now = self.clock.now()
        await conn.copy_records_to_table(
            "f_ledger",
            records=[
                (
                    e.employer,
                    e.quarter,
                    e.item,
                    e.direction,
                    e.amount_cents,
                    e.on_date,
                    e.reference,
                    now,
                    by,
                )
                for e in entries
            ],
            columns=[
                "employer_nsso",
                "quarter",
                "item",
                "direction",
                "amount_cents",
                "on_date",
                "reference",
                "recorded_at",
                "recorded_by",
            ],
        )
        return len(entries)

    # -- completion --------------------------------------------------------------------

    async def inputs_caught_up(self) -> bool:
        """Whether every consumer group has committed up to its topic's end: every input
        event published so far is in the database."""
        settings = self.runtime.settings
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
        probe = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers)
        await admin.start()
        await probe.start()
        try:
            for consumer in self.runtime.consumers:
                described = await admin.describe_topics([consumer.topic])
                if not described or described[0].get("error_code"):
                    return False
                partitions = [
                    TopicPartition(consumer.topic, p["partition"])
                    for p in described[0]["partitions"]
                ]
                if not partitions:
                    return False
                ends = await probe.end_offsets(partitions)
                committed = await admin.list_consumer_group_offsets(consumer.group_id)
                for tp, end in ends.items():
                    done = committed.get(tp)
                    if end > 0 and (done is None or done.offset < end):
                        return False
            return True
        finally:
            await probe.stop()
            await admin.close()

    async def due_periods(self, conn: asyncpg.Connection, today: date) -> list[tuple[str, str]]:
        """(domain, period) pairs whose evaluation date has passed and that are not yet
        completed."""
        first = self.catalogue.versions[0].valid_from_quarter
        quarters = [
            r["quarter"]
            for r in await conn.fetch(
                """SELECT quarter FROM (SELECT DISTINCT quarter FROM declarations
                       UNION SELECT DISTINCT quarter FROM silent_facts
                       UNION SELECT DISTINCT quarter FROM anomalies
                       UNION SELECT DISTINCT quarter FROM f_ledger) q
                    WHERE quarter >= $1 ORDER BY 1""",
                first,
            )
        ]
        years = [
            r["year"]
            for r in await conn.fetch(
                "SELECT DISTINCT year FROM year_counts WHERE year * 10 + 1 >= $1 ORDER BY 1", first
            )
        ]
        done = {
            (r["domain"], r["period"])
            for r in await conn.fetch("SELECT domain, period FROM completed_periods")
        }
        due = []
        candidates = [(d, str(q)) for q in quarters for d in QUARTERLY_DOMAINS if d != "T"]
        candidates += [("C", str(y)) for y in years]
        for domain, period in candidates:
            if (domain, period) in done:
                continue
            spec = self.catalogue.for_period(period).domains[domain]
            when = evaluation_date(spec.evaluation_offset, period)
            if when is not None and when < today:
                due.append((domain, period))
        return due

    async def complete(self) -> list[DomainScoreFinal]:
        """Publish the final scores of every domain period that became complete: its
        evaluation date passed on the business clock (T: every sampled item has its
        findings) and every input topic is consumed to its end."""
        today = self.clock.today()
        async with self.runtime.db.connection() as conn:
            due = await self.due_periods(conn, today)
            campaigns = await conn.fetch(
                """SELECT c.id, c.seat_id, c.quarter,
                          max(local_day(f.recorded_at)) AS last
                     FROM t_campaigns c JOIN t_items i ON i.campaign_id = c.id
                     LEFT JOIN t_findings f
                       ON f.campaign_id = i.campaign_id AND f.item_no = i.item_no
                    WHERE NOT EXISTS (SELECT 1 FROM final_scores s WHERE s.seat_id = c.seat_id
                                         AND s.domain = 'T' AND s.period = c.quarter::text)
                    GROUP BY c.id HAVING count(f.item_no) = count(*)"""
            )
        if not due and not campaigns:
            return []
        if not await self.inputs_caught_up():
            log.info("final scores wait: the inputs are not consumed to their end yet")
            return []
        published: list[DomainScoreFinal] = []
        for domain, period in due:
            published += await self._finalise(domain, period, None, None)
        for c in campaigns:
            published += await self._finalise("T", str(c["quarter"]), [c["seat_id"]], c["last"])
        return published

    async def _finalise(
        self,
        domain: str,
        period: str,
        only: Sequence[str] | None,
        evaluation: date | None,
    ) -> list[DomainScoreFinal]:
        out = []
        async with self.runtime.db.transaction() as conn:
            # One instance at a time per domain period (every instance runs the job).
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('scoring-final/' || $1 || '/' || $2))",
                domain,
                period,
            )
            if only is None and await conn.fetchval(
                "SELECT true FROM completed_periods WHERE domain = $1 AND period = $2",
                domain,
                period,
            ):
                return []
            spec = self.catalogue.for_period(period).domains[domain]
            evaluation = evaluation or evaluation_date(spec.evaluation_offset, period)
            assert evaluation is not None
            scores = await self.scorer.compute(
                conn,
                domain,
                period,
                today=evaluation,
                computed_at=self.clock.now(),
                only_seats=only,
                evaluation=evaluation,
            )
            for score in scores:
                inserted = await conn.fetchval(
                    """INSERT INTO final_scores (score_id, seat_id, domain, period, payload,
                                                 published_at)
                       VALUES ($1, $2, $3, $4, $5::jsonb, $6)
                       ON CONFLICT DO NOTHING RETURNING true""",
                    score_id(score.seat, domain, period),
                    score.seat,
                    domain,
                    period,
                    score.model_dump(mode="json"),
                    self.clock.now(),
                )
                if inserted:
                    await self.runtime.outbox.publish(
                        conn,
                        SCORES_TOPIC,
                        event_type="DomainScoreFinal",
                        key=score.seat,
                        payload=score,
                    )
                    out.append(score)
            if only is None:
                await conn.execute(
                    """INSERT INTO completed_periods (domain, period, completed_at)
                       VALUES ($1, $2, $3) ON CONFLICT DO NOTHING""",
                    domain,
                    period,
                    self.clock.now(),
                )
        if out:
            log.info("published %d final %s scores for %s", len(out), domain, period)
        return out


def campaign_json(row: Any, items: Sequence[Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "seat": row["seat_id"],
        "quarter": row["quarter"],
        "seed": row["seed"],
        "parameters": {
            "z": float(row["z"]),
            "p": float(row["p"]),
            "e": float(row["e"]),
            "strata": row["strata"],
        },
        "population": row["population"],
        "sampleSize": row["sample_size"],
        "catalogueVersion": row["catalogue_version"],
        "createdAt": row["created_at"].isoformat(),
        "createdBy": row["created_by"],
        "items": [
            {
                "itemNo": i["item_no"],
                "employer": i["employer_nsso"],
                "unit": i["unit"],
                "insz": i["inss"],
                "employerClass": i["employer_class"],
                "workerCode": i["worker_code"],
                "stratum": i["stratum"],
                "findings": list(i["indicators"]) if i["indicators"] is not None else None,
                "note": i["note"],
                "inspector": i["inspector"],
                "recordedAt": i["recorded_at"].isoformat() if i["recorded_at"] else None,
            }
            for i in items
        ],
    }
