"""Emulated time. One emulated second lasts `GRAPH_EMULATOR_TIME_SCALE` real seconds, so
tests run a 30 s recording in a fraction of a second. Read the setting on every use: tests
change it per test."""

from datetime import datetime

from django.conf import settings
from django.utils import timezone


def scale() -> float:
    return max(float(settings.GRAPH_EMULATOR_TIME_SCALE), 0.0)


def to_real(emulated_seconds: float) -> float:
    return emulated_seconds * scale()


def emulated_since(moment: datetime, now: datetime | None = None) -> float:
    """Emulated seconds elapsed since `moment`."""
    real = ((now or timezone.now()) - moment).total_seconds()
    s = scale()
    # A scale of 0 makes every timer fire at once: treat all time as having passed.
    return real / s if s > 0 else float("inf")
