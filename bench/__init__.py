"""Benchmarks of socsec: ``make bench`` (``python -m bench``).

Each scenario is a module of this package with ``run(env, options) -> ScenarioReport``,
listed in :data:`bench.__main__.SCENARIOS`. The suite starts a private stack (or uses a
running one), gives every run its own database and topic prefix, and prints and saves the
figures; see docs/benchmarks.md.
"""
