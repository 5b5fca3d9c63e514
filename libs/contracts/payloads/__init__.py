"""Typed payloads of every event, one module per producing service.

``system`` holds what the whole stack shares about itself (the business clock); each
service gets a module named after it (``registry``, ``dimona``, ...). A module defines
frozen pydantic models (``ConfigDict(extra="forbid", frozen=True)``, a docstring and a
description on every field, since both end up in the AsyncAPI document) and registers each
event with :func:`socsec.contracts.events.register` at its bottom.

This package imports nothing itself: :mod:`socsec.contracts.events` imports every module
in it, so importing the catalogue always sees every event type.
"""
