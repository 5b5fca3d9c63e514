"""socsec: the receiving side of Belgian social-security declarations.

Sub-packages: ``socsec.kit`` (shared runtime kit), ``socsec.contracts`` (Kafka message
contracts), one package per service (``socsec.registry``, ``socsec.batch``,
``socsec.dimona``, ``socsec.dmfa``, ``socsec.crosscheck``, ``socsec.scoring``,
``socsec.reports``), ``socsec.stack`` (local infrastructure) and ``socsec.cli``.
"""

__version__ = "0.1.0"
