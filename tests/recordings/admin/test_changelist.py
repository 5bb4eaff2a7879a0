"""The operations list at scale: the same queries for more rows, a capped count, and a date
drill-down without DISTINCT."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recordings.admin import changelist
from recordings.models import RecordOperation
from tests.support.factories import completed, store
from tests.support.operators import LIST, VIEW, operator

pytestmark = pytest.mark.django_db


def test_the_list_costs_the_same_queries_with_ten_times_the_rows(make_operation, call):
    def fill(count, start):
        for n in range(start, start + count):
            operation = completed(make_operation, graph_id=f"op-{n:05d}")
            store(operation)

    client = operator(VIEW, "download_recording")
    fill(3, 0)
    client.get(LIST)  # warm the chart cache and the session
    with CaptureQueriesContext(connection) as few:
        assert client.get(LIST).status_code == 200
    fill(30, 100)
    cache.clear()
    client.get(LIST)
    with CaptureQueriesContext(connection) as many:
        assert client.get(LIST).status_code == 200

    assert len(many.captured_queries) == len(few.captured_queries)
    assert not [q for q in many.captured_queries if "DISTINCT" in q["sql"].upper()]


def test_the_list_says_more_than_the_cap_instead_of_counting_every_row(make_operation, monkeypatch):
    monkeypatch.setattr(changelist.CappedCountPaginator, "CAP", 3)
    for n in range(5):
        make_operation(graph_id=f"op-{n}")
    page = operator(VIEW).get(LIST).content.decode()
    assert "More than 3 record operations" in page


def test_the_date_drill_down_offers_each_month_between_the_first_and_last_operation(
    make_operation,
):
    early, late = make_operation(graph_id="op-early"), make_operation(graph_id="op-late")
    RecordOperation.objects.filter(pk=early.pk).update(
        created_at=timezone.make_aware(timezone.datetime(2026, 2, 3, 12))
    )
    RecordOperation.objects.filter(pk=late.pk).update(
        created_at=timezone.make_aware(timezone.datetime(2026, 5, 6, 12))
    )
    page = operator(VIEW).get(LIST).content.decode()
    for month in ("February 2026", "March 2026", "April 2026", "May 2026"):
        assert month in page
    assert "January 2026" not in page


def test_a_date_that_does_not_exist_is_refused_like_any_bad_filter_not_a_500(make_operation):
    make_operation()
    response = operator(VIEW).get(
        LIST,
        {"created_at__year": 2026, "created_at__month": 2, "created_at__day": 31},
        follow=True,
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].endswith("?e=1")
