"""Keyed pseudonyms for INSZ/NISS numbers, so none appears in clear text in logs or spans.

An INSZ is personal data. Operators still need to follow one worker across log lines and
traces, so it is replaced by a stable keyed hash (HMAC-SHA256, truncated) rather than
removed. The key is a service setting; without it the pseudonym cannot be reversed by
trying the ~10^11 possible numbers.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from stdnum.be import bis, nn

# 11 digits, possibly written 85.07.30-033.28 or 850730-033-28, not inside a longer number.
_CANDIDATE = re.compile(r"(?<![\d])(\d{2}[.\-]?\d{2}[.\-]?\d{2}[.\- ]?\d{3}[.\-]?\d{2})(?![\d])")


def _is_insz(digits: str) -> bool:
    """A national register number or a BIS number with a valid check digit."""
    return nn.is_valid(digits) or bis.is_valid(digits)


class Pseudonymizer:
    def __init__(self, key: str | bytes) -> None:
        self._key = key.encode() if isinstance(key, str) else key

    def pseudonym(self, insz: str) -> str:
        """A stable, non-reversible stand-in for one INSZ (``insz:`` + 16 hex digits)."""
        digits = re.sub(r"\D", "", insz)
        digest = hmac.new(self._key, digits.encode(), hashlib.sha256).hexdigest()
        return f"insz:{digest[:16]}"

    def redact(self, text: str) -> str:
        """Replace every valid INSZ/BIS number in free text by its pseudonym."""
        if not text or not any(ch.isdigit() for ch in text):
            return text

        def _sub(match: re.Match[str]) -> str:
            digits = re.sub(r"\D", "", match.group(1))
            return self.pseudonym(digits) if _is_insz(digits) else match.group(0)

        return _CANDIDATE.sub(_sub, text)
