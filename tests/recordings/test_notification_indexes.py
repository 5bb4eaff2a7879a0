"""Every notification writes its rows' indexes: the tables it writes carry only indexes that
something reads (migration 0013 dropped two that nothing did)."""

import pytest
from django.db import connection

from recordings.models import Call, Notification, RecordOperation
from tests.support.factories import create_operation

pytestmark = pytest.mark.django_db


def indexes(model) -> dict[str, dict]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {name: details for name, details in constraints.items() if details["index"]}


def test_nothing_indexes_a_notifications_hash():
    assert not [
        name
        for name, details in indexes(Notification).items()
        if "body_sha256" in details["columns"]
    ]


def test_an_operations_call_is_indexed_once_by_call_then_newest_first():
    leading = [
        details["columns"]
        for details in indexes(RecordOperation).values()
        if details["columns"][:1] == ["call_id"]
    ]
    assert leading == [["call_id", "created_at"]]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="reads PostgreSQL's plan")
def test_a_calls_operations_are_still_found_through_an_index():
    call = Call.objects.create(graph_id="5f0c3a52-8d7e-4c1b-9a64-2b7d1e0f3c48", state="established")
    create_operation(call=call, graph_id="9b1e6f0d-3c2a-4e58-8f71-0d4c5b6a7e29")
    (composite,) = [
        name
        for name, details in indexes(RecordOperation).items()
        if details["columns"] == ["call_id", "created_at"]
    ]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table is read whole anyway
        plan = RecordOperation.objects.filter(call=call).order_by("-created_at").explain()
        protect = Call.objects.filter(pk=call.pk)
        protected_by = RecordOperation.objects.filter(call__in=protect).explain()
    assert composite in plan
    assert composite in protected_by
