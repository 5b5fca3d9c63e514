"""Structured JSON logs carrying the current trace and span ids, with INSZ numbers redacted."""

from __future__ import annotations

import logging
import sys

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter

from socsec.kit.pseudonym import Pseudonymizer


class _TraceAndRedactFilter(logging.Filter):
    def __init__(self, service: str, pseudonymizer: Pseudonymizer) -> None:
        super().__init__()
        self._service = service
        self._p = pseudonymizer

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = trace.get_current_span().get_span_context()
        record.trace_id = format(ctx.trace_id, "032x") if ctx.is_valid else None
        record.span_id = format(ctx.span_id, "016x") if ctx.is_valid else None
        record.service = self._service
        # Render the message once, redact it, and drop the args so no handler re-renders it.
        record.msg = self._p.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            # Keep only the redacted text: formatters would render exc_info again.
            record.exc_text = self._p.redact(record.exc_text)
            record.exc_info = None
        return True


def setup_logging(
    service: str, pseudonymizer: Pseudonymizer, *, level: str = "INFO", json: bool = True
) -> None:
    """Route every logger of the process to stderr, as JSON lines by default."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_TraceAndRedactFilter(service, pseudonymizer))
    if json:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s"
                " %(service)s %(trace_id)s %(span_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
