"""The one-line error text a failed pair or job records in its row's ``error`` column."""
from __future__ import annotations

import re

__all__ = ["error_text", "MAX_ERROR_CHARS"]

#: Longest ``error`` text kept (longer ones end in "...").
MAX_ERROR_CHARS = 500


def error_text(exc: BaseException, prefix: str = "") -> str:
    """``"Type: message"`` on one line, without a traceback, at most 500 characters."""
    message = str(exc)
    for marker in ("Traceback (most recent call last)", "\ntraceback:"):
        message = message.split(marker, 1)[0]  # Ray errors embed the remote traceback
    message = re.sub(r"\s*traceback:?\s*$", "", " ".join(message.split()), flags=re.IGNORECASE).rstrip(":")
    text = f"{prefix}{type(exc).__name__}: {message}" if message else f"{prefix}{type(exc).__name__}"
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."
