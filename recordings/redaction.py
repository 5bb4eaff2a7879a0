"""Keeping credentials out of what Recorder logs and shows.

The Graph seam redacts bodies before its exchange log keeps them; the admin's pages redact
again on display, because notifications are stored raw.
"""

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from recordings.storable import storable_text

# Credentials that pass through request and response bodies; logs never keep them.
SECRET_FIELDS = frozenset(
    {
        "client_secret",
        "client_assertion",
        "access_token",
        "refresh_token",
        "recordingAccessToken",
        "recordResourceAccessToken",
    }
)
REDACTED = "[redacted]"

# The same names in text that is not JSON (a body cut short, say), values and all.
SECRET_IN_TEXT = re.compile(
    r'("(?:' + "|".join(map(re.escape, sorted(SECRET_FIELDS))) + r')"\s*:\s*)"(?:[^"\\]|\\.)*"'
)


def redact(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: REDACTED if k in SECRET_FIELDS else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def pretty_payload(payload: Any, *, secrets: Iterable[str] = ()) -> str:
    """A payload (decoded JSON, JSON text, or any text) indented for reading, credentials
    redacted. Text that is not JSON is redacted by pattern; known secret values (such as the
    operation's own access token) are removed wherever they appear, as a second guard."""
    if payload in (None, "", b""):
        return ""
    if isinstance(payload, bytes | memoryview):
        payload = bytes(payload).decode("utf-8", errors="replace")
    original = payload if isinstance(payload, str) else None
    if original is not None:
        try:
            payload = json.loads(original)
        except (ValueError, RecursionError):
            # Not JSON, or nested too deep to parse: shown as the text it is.
            return _redacted_text(original, secrets)
    try:
        text = json.dumps(redact(payload), indent=2, ensure_ascii=False)
    except RecursionError:
        if original is not None:
            return _redacted_text(original, secrets)
        return "(nested too deep to show)"
    return storable_text(_without(text, secrets))


def _redacted_text(text: str, secrets: Iterable[str]) -> str:
    return storable_text(_without(SECRET_IN_TEXT.sub(rf'\1"{REDACTED}"', text), secrets))


def _without(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text
