"""Logging in to the admin is throttled (django-axes): after AXES_FAILURE_LIMIT failures, per
user name and per address, even the right password is refused for AXES_COOLOFF_MINUTES, and
the login page says so."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from freezegun import freeze_time

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
PASSWORD = "the-right-password-1"
HERE = "198.51.100.7"
ELSEWHERE = "203.0.113.9"


@pytest.fixture(autouse=True)
def operators(db):
    return [
        User.objects.create_user(name, password=PASSWORD, is_staff=True)
        for name in ("alice", "bob", "carol")
    ]


def log_in(username: str, password: str = PASSWORD, address: str = HERE, **headers):
    return Client().post(
        LOGIN,
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
        **headers,
    )


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def fail(times: int, username: str = "alice", address: str = HERE, **headers) -> None:
    for _ in range(times):
        response = log_in(username, "wrong", address, **headers)
        assert not logged_in(response)


def test_the_defaults_are_five_failures_and_a_quarter_of_an_hour(settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60


def test_a_wrong_password_short_of_the_limit_leaves_the_right_one_working(settings):
    fail(settings.AXES_FAILURE_LIMIT - 1)
    assert logged_in(log_in("alice"))


def test_after_the_limit_the_right_password_is_refused_with_a_sentence(settings):
    fail(settings.AXES_FAILURE_LIMIT)

    response = log_in("alice")

    assert response.status_code == 429
    assert "_auth_user_id" not in response.wsgi_request.session
    html = response.content.decode()
    assert (
        "Logging in is locked after too many failed attempts for this user name or from this "
        "address. Try again in 15 minutes"
    ) in html
    assert "manage.py axes_reset" in html
    # The admin's own page, with its form, not a bare error.
    assert 'id="login-form"' in html
    assert '<div id="site-name"><a href="/admin/">Recorder</a></div>' in html
    assert "Please enter the correct username and password" not in html


def test_the_lockout_holds_for_the_same_user_from_another_address(settings):
    fail(settings.AXES_FAILURE_LIMIT, address=HERE)
    assert log_in("alice", address=ELSEWHERE).status_code == 429


def test_the_lockout_holds_for_another_user_from_the_same_address(settings):
    fail(settings.AXES_FAILURE_LIMIT, address=HERE)
    assert log_in("bob", address=HERE).status_code == 429
    assert logged_in(log_in("bob", address=ELSEWHERE))


def test_trying_many_user_names_from_one_address_is_throttled_too(settings):
    for name in ("alice", "bob", "carol", "dave", "erin")[: settings.AXES_FAILURE_LIMIT]:
        fail(1, username=name)
    assert log_in("carol").status_code == 429


def test_the_cool_off_ends_the_lockout(settings):
    with freeze_time("2026-03-02 09:00:00") as clock:
        fail(settings.AXES_FAILURE_LIMIT)
        clock.tick(timedelta(minutes=14))
        assert log_in("alice").status_code == 429
        # That attempt started the wait again.
        clock.tick(timedelta(minutes=14))
        assert log_in("alice").status_code == 429
        clock.tick(timedelta(minutes=15, seconds=1))
        assert logged_in(log_in("alice"))


def test_axes_reset_lifts_the_lockout(settings):
    fail(settings.AXES_FAILURE_LIMIT)
    call_command("axes_reset", verbosity=0)
    assert logged_in(log_in("alice"))


def test_a_forwarded_for_header_is_not_believed_by_default(settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        fail(1, username=f"nobody{n}", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert log_in("bob", HTTP_X_FORWARDED_FOR="192.0.2.200").status_code == 429


def test_behind_a_trusted_proxy_the_address_is_the_one_it_forwarded(settings):
    settings.AXES_TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    # The proxy appends the address it was reached from; what comes before, the client wrote.
    for n in range(settings.AXES_FAILURE_LIMIT):
        fail(1, f"nobody{n}", proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, {HERE}")

    from_here = log_in("bob", address=proxy, HTTP_X_FORWARDED_FOR=HERE)
    from_elsewhere = log_in("carol", address=proxy, HTTP_X_FORWARDED_FOR=f"{HERE}, {ELSEWHERE}")

    assert from_here.status_code == 429
    assert logged_in(from_elsewhere)


def test_behind_two_proxies_the_address_is_the_one_the_outer_proxy_forwarded(settings, rf):
    from recordings.middleware import client_address

    settings.AXES_TRUSTED_PROXY_COUNT = 2
    through_both = rf.post(
        LOGIN, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=f"192.0.2.1, {HERE}, 10.0.0.1"
    )
    through_one = rf.post(LOGIN, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="10.0.0.1")
    garbled = rf.post(LOGIN, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="<script>, 10.0.0.1")
    assert client_address(through_both) == HERE
    assert client_address(through_one) == "10.0.0.2"
    assert client_address(garbled) == "10.0.0.2"
