"""Text every database Recorder runs on can keep and every page can encode.

PostgreSQL refuses NUL in text and in jsonb, and no UTF-8 encodes an unpaired surrogate
(which JSON's "\\ud800" escape gives Python): both are written out as escapes instead, so a
stored error, header or pretty-printed body never fails where it is saved or shown.
"""

from typing import Any


def storable_text(text: str) -> str:
    if text.isascii() and "\x00" not in text:
        return text  # nothing to write out: most headers and claims
    if "\x00" in text:
        text = text.replace("\x00", "\\u0000")
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def storable_json(value: Any) -> Any:
    """A JSON value (headers, token claims) with every key and string made storable."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable_json(key): storable_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [storable_json(item) for item in value]
    return value
