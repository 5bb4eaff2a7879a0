"""The chart of completion reasons above the operations list."""

from datetime import datetime, timedelta

from django.core.cache import cache
from django.utils import timezone

from recordings import selectors
from recordings.display import known_reasons, reason_label, reason_tone

CHART_WINDOWS = (
    ("24h", "Last 24 hours", timedelta(hours=24)),
    ("7d", "Last 7 days", timedelta(days=7)),
    ("all", "All time", None),
)
# The all-time count reads every row (a year of operations is a million); a minute-old figure
# is as good for spotting a trend, so each window is computed at most once a minute.
CHART_CACHE_SECONDS = 60


def cached_reason_counts(window: str, since: datetime | None) -> dict[str, int]:
    return cache.get_or_set(
        f"recordings:reason-counts:{window}",
        lambda: selectors.reason_counts(since=since),
        CHART_CACHE_SECONDS,
    )


CHART_LABEL_WIDTH = 230
CHART_COLUMN_WIDTH = 200
CHART_ROW_HEIGHT = 22
CHART_HEADER_HEIGHT = 34


def reason_chart(changelist_url: str, now: datetime | None = None) -> dict | None:
    """Everything the chart template draws, as numbers: one row per reason seen in any
    window, one column per window, each bar scaled to its own column's largest count."""
    now = now or timezone.now()
    windows = [
        (key, title, cached_reason_counts(key, now - span if span else None))
        for key, title, span in CHART_WINDOWS
    ]
    seen = set().union(*(counts for _, _, counts in windows))
    if not seen:
        return None
    order = [value for value, _ in known_reasons()]
    keys = [k for k in order if k in seen]
    keys += sorted(k for k in seen if k not in order and k)  # undocumented values, as sent
    keys += [""] if "" in seen else []

    bar_room = CHART_COLUMN_WIDTH - 60  # leaves space for the count after the longest bar
    columns = []
    for index, (key, title, counts) in enumerate(windows):
        peak = max(counts.values(), default=0)
        x = CHART_LABEL_WIDTH + index * CHART_COLUMN_WIDTH
        columns.append(
            {
                "key": key,
                "title": title,
                "total": sum(counts.values()),
                "x": x,
                "bars": [
                    {
                        "count": counts.get(reason, 0),
                        "width": round(bar_room * counts.get(reason, 0) / peak, 1) if peak else 0,
                        "text_x": x + 4 + (bar_room * counts.get(reason, 0) / peak if peak else 0),
                    }
                    for reason in keys
                ],
            }
        )
    rows = []
    for position, reason in enumerate(keys):
        y = CHART_HEADER_HEIGHT + position * CHART_ROW_HEIGHT
        rows.append(
            {
                "key": reason,
                "label": reason_label(reason),
                "raw": reason or "(none yet)",
                "tone": reason_tone(reason),
                "y": y,
                "link": f"{changelist_url}?completion_reason={reason}" if reason else "",
                "cells": [
                    {**column["bars"][position], "x": column["x"], "key": column["key"]}
                    for column in columns
                ],
            }
        )
    return {
        "columns": columns,
        "rows": rows,
        "width": CHART_LABEL_WIDTH + len(columns) * CHART_COLUMN_WIDTH,
        "height": CHART_HEADER_HEIGHT + len(keys) * CHART_ROW_HEIGHT + 4,
        "as_of": now,
        "cache_seconds": CHART_CACHE_SECONDS,
    }
