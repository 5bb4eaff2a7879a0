"""SQLite's cursor turns Django's placeholders into sqlite3's once per statement text
(recorder_site/sqlite3/base.py), with the result Django's own conversion gives."""

import pytest
from django.db import connection
from django.db.backends.sqlite3.base import SQLiteCursorWrapper

from recorder_site.sqlite3.base import CursorWrapper, _qmark
from recordings.models import Call

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="sqlite3's placeholders"),
]

STATEMENTS = [
    "SELECT %s",
    "SELECT %s, %s WHERE name LIKE '50%%' AND x = %s",
    "SELECT '%%s' || %s",  # an escaped percent followed by s is no placeholder
    "SELECT 1",
]


@pytest.mark.parametrize("sql", STATEMENTS)
def test_a_statement_is_converted_as_djangos_cursor_converts_it(sql):
    with connection.cursor() as cursor:
        ours = cursor.cursor.convert_query(sql)
        djangos = SQLiteCursorWrapper.convert_query(cursor.cursor, sql)
    assert ours == djangos


def test_each_text_is_converted_once_and_named_parameters_as_django_does():
    with connection.cursor() as cursor:
        assert isinstance(cursor.cursor, CursorWrapper)
        before = _qmark.cache_info()
        for _ in range(3):
            cursor.execute("SELECT %s + %s", [40, 2])
            assert cursor.fetchone() == (42,)
        after = _qmark.cache_info()
        cursor.execute("SELECT %(a)s + %(b)s", {"a": 1, "b": 2})
        assert cursor.fetchone() == (3,)
    assert after.hits - before.hits >= 2 and after.misses - before.misses <= 1


def test_the_orm_reads_and_writes_through_it():
    Call.objects.create(graph_id="6b1d0f36-0000-4000-8000-00000000c001", state="established")
    assert Call.objects.filter(graph_id__startswith="6b1d0f36", state="established").count() == 1
