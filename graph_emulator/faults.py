"""Fault switches, stored in the database so every server process sees the same ones.

    set_faults(throttle={"count": 2, "retry_after": 0.5}, beep_fails=True)
    clear_faults()            # all of them
    clear_faults("throttle")  # one

A switch given `True` (or `{}`) takes its defaults; `False` / `None` clears it. A switch with a
`count` fires that many times and then stays listed with `remaining: 0`; without one it fires
until cleared. The same JSON goes to `POST /emulator/control/faults`.
"""

import math
from typing import Any

from django.db import transaction
from django.db.models import F

from graph_emulator.models import Fault, FaultName

DEFAULTS: dict[str, dict[str, Any]] = {
    FaultName.THROTTLE: {"count": 1, "retry_after": 1},
    FaultName.SERVER_ERROR: {"count": 1, "status": 503},
    FaultName.SLOW: {"count": 1, "seconds": 2},
    FaultName.DUPLICATE_NOTIFICATIONS: {},
    FaultName.REORDER_NOTIFICATIONS: {"hold_seconds": 2},
    FaultName.DROP_NOTIFICATIONS: {"count": 1},
    FaultName.COMPLETE_ON_HANGUP: {},
    FaultName.V1_COMPLETION_REASON: {},
    FaultName.EXPIRE_LINKS: {},
    FaultName.BEEP_FAILS: {},
    FaultName.MEDIA_ERROR: {},
}
SERVER_ERROR_STATUSES = (500, 503, 504)


class FaultError(ValueError):
    pass


def _number(name: str, key: str, value: Any, *, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FaultError(f"{name}.{key} must be a number.")
    if not low <= value <= high:
        raise FaultError(f"{name}.{key} must be between {low:g} and {high:g}.")
    return value


def _clean(name: str, value: Any) -> tuple[dict[str, Any], int | None]:
    if value is True:
        value = {}
    if not isinstance(value, dict):
        raise FaultError(f"{name} takes true, false or an object of settings.")
    unknown = set(value) - set(DEFAULTS[name]) - {"count"}
    if unknown:
        allowed = ", ".join(sorted({*DEFAULTS[name], "count"}))
        raise FaultError(f"{name} does not take {', '.join(sorted(unknown))} (it takes {allowed}).")
    params = {**DEFAULTS[name], **value}
    count = params.pop("count", None)
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise FaultError(f"{name}.count must be a whole number of at least 1.")
    if "retry_after" in params:
        _number(name, "retry_after", params["retry_after"], low=0, high=3600)
    if "seconds" in params:
        _number(name, "seconds", params["seconds"], low=0, high=120)
    if "hold_seconds" in params:
        _number(name, "hold_seconds", params["hold_seconds"], low=0, high=3600)
    if "status" in params and params["status"] not in SERVER_ERROR_STATUSES:
        raise FaultError(f"{name}.status must be one of 500, 503, 504.")
    return params, count


def set_faults(**switches: Any) -> dict[str, dict[str, Any]]:
    """Turn switches on (or off with False/None); the others stay as they are."""
    cleaned = {}
    for name, value in switches.items():
        if name not in DEFAULTS:
            raise FaultError(f"Unknown fault {name!r}; known: {', '.join(DEFAULTS)}.")
        cleaned[name] = None if value is None or value is False else _clean(name, value)
    with transaction.atomic():
        for name, spec in cleaned.items():
            Fault.objects.filter(name=name).delete()
            if spec is not None:
                params, count = spec
                Fault.objects.create(name=name, params=params, remaining=count)
    return active_faults()


def clear_faults(*names: str) -> None:
    faults = Fault.objects.all()
    if names:
        faults = faults.filter(name__in=names)
    faults.delete()


def active_faults() -> dict[str, dict[str, Any]]:
    return {
        f.name: {**f.params, **({} if f.remaining is None else {"remaining": f.remaining})}
        for f in Fault.objects.all()
    }


def take(name: str) -> dict[str, Any] | None:
    """Use a switch once: its settings if it fires now, else None."""
    row = Fault.objects.filter(name=name).first()
    if row is None:
        return None
    if row.remaining is None:
        return row.params
    # Conditional, so two processes cannot both spend the last use.
    spent = Fault.objects.filter(pk=row.pk, remaining__gt=0).update(remaining=F("remaining") - 1)
    return row.params if spent else None


def is_on(name: str) -> bool:
    """Whether a switch would fire, without spending a use."""
    row = Fault.objects.filter(name=name).first()
    return row is not None and (row.remaining is None or row.remaining > 0)
