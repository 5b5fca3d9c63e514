"""Pseudonyms of INSZ numbers and the migration runner."""

from __future__ import annotations

import pytest

from socsec.kit import migrator
from socsec.kit.pseudonym import Pseudonymizer


def test_valid_insz_and_bis_numbers_are_replaced_everywhere_in_text() -> None:
    p = Pseudonymizer("key")
    text = "worker 85073003328, also 85.07.30-033.28, student 05031512367, employer 123456749"
    out = p.redact(text)
    assert "85073003328" not in out and "85.07.30-033.28" not in out and "05031512367" not in out
    assert out.count(p.pseudonym("85073003328")) == 2
    assert "123456749" in out  # an NSSO number is not personal data


def test_numbers_that_are_not_insz_stay() -> None:
    p = Pseudonymizer("key")
    assert p.redact("ticket 12345678901 and period 123456789012") == (
        "ticket 12345678901 and period 123456789012"
    )


def test_pseudonym_is_stable_per_key_and_differs_across_keys() -> None:
    a, b = Pseudonymizer("one"), Pseudonymizer("two")
    assert a.pseudonym("85073003328") == a.pseudonym("85.07.30-033.28")
    assert a.pseudonym("85073003328") != b.pseudonym("85073003328")
    assert a.pseudonym("85073003328").startswith("insz:")


async def test_migrations_apply_once_and_refuse_an_edited_migration(env) -> None:
    dsn = env.dsns["dmfa"]
    first = await migrator.migrate(dsn, "dmfa", "socsec.dmfa.migrations")
    planned = [m.id for m in migrator.plan("dmfa", "socsec.dmfa.migrations")]
    assert first == planned
    assert planned[:3] == [  # the kit's first
        "kit/0001_messaging.sql",
        "kit/0002_outbox_failed.sql",
        "dmfa/0001_schema.sql",
    ]
    assert await migrator.migrate(dsn, "dmfa", "socsec.dmfa.migrations") == []

    conn = await env.connect("dmfa")
    try:
        edited = migrator.plan("dmfa", "socsec.dmfa.migrations")
        edited[-1] = migrator.Migration(edited[-1].source, edited[-1].filename, "SELECT 1;")
        with pytest.raises(migrator.MigrationError, match="changed after it was applied"):
            await migrator.apply(conn, "dmfa", edited)
    finally:
        await conn.close()
