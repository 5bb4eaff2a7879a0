"""The chart of completion reasons above the operations list."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recordings.admin import operation_chart
from recordings.models import RecordOperation
from tests.support.factories import completed
from tests.support.operators import LIST, VIEW, operator

pytestmark = pytest.mark.django_db


def test_the_chart_counts_each_reason_per_window(make_operation):
    now = timezone.now()
    ages = {
        "op-hour": (timedelta(hours=1), "stopToneDetected"),
        "op-day": (timedelta(hours=2), "stopToneDetected"),
        "op-3days": (timedelta(days=3), "stopToneDetected"),
        "op-3days-b": (timedelta(days=3), "initialSilenceTimeout"),
        "op-month": (timedelta(days=30), "initialSilenceTimeout"),
    }
    for graph_id, (age, reason) in ages.items():
        operation = completed(make_operation, graph_id=graph_id, reason=reason)
        RecordOperation.objects.filter(pk=operation.pk).update(created_at=now - age)

    chart = operation_chart.reason_chart(LIST, now=now)

    counts = {
        row["key"]: {cell["key"]: cell["count"] for cell in row["cells"]} for row in chart["rows"]
    }
    assert counts["stopToneDetected"] == {"24h": 2, "7d": 3, "all": 3}
    assert counts["initialSilenceTimeout"] == {"24h": 0, "7d": 1, "all": 2}
    assert [column["total"] for column in chart["columns"]] == [2, 4, 5]


def test_the_chart_is_inline_svg_above_the_list_and_links_each_reason_to_its_filter(
    make_operation,
):
    completed(make_operation)
    page = operator(VIEW).get(LIST).content.decode()
    assert "<svg" in page and "How recordings ended" in page
    assert f"{LIST}?completion_reason=stopToneDetected" in page
    assert "<script" not in page.split("<svg", 1)[1].split("</svg>", 1)[0]


def test_the_chart_costs_one_grouped_query_per_window_then_none_while_cached(make_operation):
    completed(make_operation)
    with CaptureQueriesContext(connection) as first:
        operation_chart.reason_chart(LIST)
    with CaptureQueriesContext(connection) as second:
        operation_chart.reason_chart(LIST)
    grouped = [q for q in first.captured_queries if "GROUP BY" in q["sql"].upper()]
    assert len(grouped) == len(operation_chart.CHART_WINDOWS) == len(first.captured_queries)
    assert not second.captured_queries
