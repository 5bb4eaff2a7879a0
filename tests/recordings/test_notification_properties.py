"""Whatever a signed POST holds, the webhook answers 202 or a 400 naming the field, and every
admin page that reads the stored row answers 200.

Bodies are random bytes, random JSON, and Graph's own samples with one known field replaced
by something hostile: deep nesting, huge numbers, timestamps at the ends of time, text with
NULs, unpaired surrogates or more characters than its column holds, or a value of the wrong
type. Derandomized, so every run tries the same examples.
"""

import json
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recordings.display import summarize_notification
from recordings.graph import PayloadError, parse_notifications
from recordings.graph.operations import RESULT_CODE_RANGE
from recordings.models import Notification
from recordings.redaction import pretty_payload
from recordings.services import notifications as notification_services
from recordings.storable import storable_text
from tests.support.admin_pages import OPERATION_PERMISSIONS, assert_pages_show
from tests.support.graph import graph_fixture
from tests.support.operators import operator

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_keys")]

SAMPLES = (
    "v1.0/notification-completed",
    "v1.0/notification-canceled",
    "v1.0/notification-call-established",
    "v1.0/notification-call-terminated",
    "beta-record/notification-completed",
)
# Each example runs in its own rolled-back savepoint, fixtures and all: the fixtures are
# built once per test, which is what the health check warns about.
PROPERTIES = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
# Every page that reads a body is fetched in one property or the other: the log (its "about"
# column), the row's page, the operation's timeline. The filters and the CSV read columns
# only; the regression tests fetch them all.
WEBHOOK_PAGES = {"list_queries": ({},), "export": False}
RECEIVED_PAGES = {"list_queries": (), "export": False}

# --- Hostile values -------------------------------------------------------------------------

ODD_STRINGS = ("\ud800x", "a\x00b", "\udfff", "\x00", "\ufeff", "\u202e", "x" * 300, "")
ODD_TEXT = st.one_of(
    st.text(max_size=20),
    # Every code point, unpaired surrogates and NUL among them.
    st.text(st.characters(exclude_categories=()), max_size=20),
    st.sampled_from(ODD_STRINGS),
    st.integers(60, 3000).map(lambda n: "x" * n),
)
HUGE_NUMBERS = st.one_of(
    st.integers(),
    st.sampled_from([2**31 - 1, 2**31, -(2**31) - 1, 2**63, 2**70, -(2**70), 10**300]),
    st.floats(),
    st.sampled_from(["2147483648", " 99999999999999999999 ", "1e400", "NaN"]),
)
EDGES_OF_TIME = (
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59.999999-00:01",
    "2026-02-30T10:00:00Z",
    "2026-12-01T25:61:61Z",
    "2026-12-01T10:00:00+99:00",
)
TIMESTAMPS = st.one_of(
    st.sampled_from(EDGES_OF_TIME),
    st.builds(
        lambda moment, offset: moment.replace(tzinfo=timezone(offset)).isoformat(),
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
        st.timedeltas(
            min_value=-timedelta(hours=23, minutes=59), max_value=timedelta(hours=23, minutes=59)
        ),
    ),
    st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat),
)
SCALARS = st.one_of(st.none(), st.booleans(), HUGE_NUMBERS, ODD_TEXT, TIMESTAMPS)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(ODD_TEXT, children, max_size=4)
    ),
    max_leaves=12,
)
DEEP = "@DEEP@"


def nesting(depth: int, opener: str) -> str:
    closer = "]" if opener == "[" else "}"
    return opener * depth + closer * depth


def paths_in(value, prefix=()) -> list[tuple]:
    """Every key path in a sample: each is a field a hostile value can take the place of."""
    paths = []
    if isinstance(value, dict):
        for key, item in value.items():
            paths.append((*prefix, key))
            paths.extend(paths_in(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths.append((*prefix, index))
            paths.extend(paths_in(item, (*prefix, index)))
    return paths


def replaced(value, path: tuple, new):
    if not path:
        return new
    head, *rest = path
    copy = list(value) if isinstance(value, list) else dict(value)
    copy[head] = replaced(value[head], tuple(rest), new)
    return copy


@dataclass(frozen=True)
class Body:
    raw: bytes
    # The field a hostile value took the place of: a 400 must name it (or one holding it).
    field: tuple = ()


def dumps(value) -> bytes:
    return json.dumps(value).encode()


@st.composite
def hostile_samples(draw) -> Body:
    sample = graph_fixture(draw(st.sampled_from(SAMPLES)))
    path = draw(st.sampled_from(paths_in(sample)))
    deep = draw(st.none() | st.tuples(st.integers(1, 12_000), st.sampled_from(["[", '{"a":'])))
    if deep is not None:
        text = json.dumps(replaced(sample, path, DEEP)).replace(f'"{DEEP}"', nesting(*deep))
        return Body(raw=text.encode(), field=path)
    return Body(raw=dumps(replaced(sample, path, draw(JSON_VALUES))), field=path)


BODIES = st.one_of(
    hostile_samples(),
    hostile_samples(),
    hostile_samples(),
    st.binary(max_size=200).map(Body),
    JSON_VALUES.map(lambda value: Body(dumps(value))),
    JSON_VALUES.map(lambda value: Body(dumps({"value": [value]}))),
    st.integers(1, 12_000).map(lambda depth: Body(nesting(depth, "[").encode())),
)


@contextmanager
def rolled_back():
    """One example's rows, undone after it so the next starts from the fixtures alone."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def assert_names_the_field(detail: str, field: tuple) -> None:
    names = [str(name) for name in field if isinstance(name, str)] + ["value"]
    assert "nests deeper" in detail or any(name[:64] in detail for name in names), (
        detail,
        field,
    )


# --- The properties -------------------------------------------------------------------------


@pytest.fixture
def operation(make_operation):
    return make_operation()


@pytest.fixture
def admin_client(db):
    return operator(*OPERATION_PERMISSIONS)


# An admin page costs tens of milliseconds to render: the properties that render them try
# fewer bodies, and those that check what the pages show (the parser, the summary, the
# pretty-printer) try more.
PAGE_PROPERTIES = settings(PROPERTIES, max_examples=75)


@PAGE_PROPERTIES
@given(body=BODIES)
def test_the_webhook_answers_202_or_a_400_naming_the_field_and_the_row_shows(
    body, post_raw, operation, admin_client
):
    with rolled_back():
        response = post_raw(body.raw)

        assert response.status_code in (202, 400), response.content[:300]
        if response.status_code == 400:
            answer = response.json()
            assert answer["error"] == "bad_notification"
            if body.field:
                assert_names_the_field(answer["detail"], body.field)
        row = Notification.objects.get()
        assert bytes(row.body) == body.raw
        assert_pages_show(admin_client, [row], **WEBHOOK_PAGES)


@PAGE_PROPERTIES
@given(body=BODIES)
def test_receiving_any_body_keeps_a_row_every_page_can_show(body, operation, admin_client):
    with rolled_back():
        try:
            notification_services.receive_notification(
                body=body.raw,
                headers={"HTTP_USER_AGENT": "\ud800\x00agent", "CONTENT_TYPE": "application/json"},
                remote_addr="10.0.0.1",
                claims={"iss": "https://graph.microsoft.com", "tid": "tenant\x00\udfff"},
            )
        except PayloadError as err:
            assert str(err)
        row = Notification.objects.get()
        assert bytes(row.body) == body.raw
        assert row.headers["HTTP_USER_AGENT"] == "\\ud800\\u0000agent"
        assert_pages_show(admin_client, [row], operation, **RECEIVED_PAGES)


@PROPERTIES
@given(body=BODIES)
def test_the_parser_refuses_a_body_by_payload_error_or_reads_what_every_column_holds(body):
    try:
        parsed = parse_notifications(body.raw)
    except PayloadError as err:
        assert storable_text(str(err)) == str(err)
        return
    low, high = RESULT_CODE_RANGE
    for item in parsed:
        for part in (item.operation, item.call):
            for field in fields(part) if part is not None else ():
                value = getattr(part, field.name)
                if isinstance(value, int):
                    assert low <= value <= high, (field.name, value)
                elif isinstance(value, str):
                    assert storable_text(value) == value, field.name
                elif isinstance(value, datetime):
                    value.astimezone(UTC)


@PROPERTIES
@given(body=BODIES)
def test_a_stored_body_is_summarized_and_pretty_printed_as_text_a_page_can_encode(body):
    summary = summarize_notification(body.raw)
    for line, _ in summary.lines():
        assert storable_text(line) == line
    shown = pretty_payload(body.raw)
    assert storable_text(shown) == shown
