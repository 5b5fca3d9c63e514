"""The shared runtime kit: settings, PostgreSQL, migrations, messaging, telemetry, clock."""
