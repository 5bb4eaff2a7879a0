"""Production (RECORDER_ENV=production) refuses to start with empty or weak secrets, debug
pages or the emulator, and passes Django's deployment checks as documented, HTTPS enforced."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO

PYTHON = Path(sys.executable)
# The production environment .env.example and the README describe, with fake but
# well-formed values (.ci/run checks the same one).
PRODUCTION = {
    "RECORDER_ENV": "production",
    "SECRET_KEY": "k3Jx9vQ2mW7pL4tR8zN1cF6hY0bD5gS-aE_uI2oP7qV9wX3yZ4rT6nM8jK1lH0sB",
    "ALLOWED_HOSTS": "recorder.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://recorder.example.com",
    # `check` does not connect: nothing needs to listen here.
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/prd",
    "GRAPH_TENANT_ID": "72f988bf-86f1-41af-91ab-2d7cd011db47",
    "GRAPH_CLIENT_ID": "3b1c2a4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    "GRAPH_CLIENT_SECRET": "Xq8~fake.client-secret_for.checks~0123456789",
    "NOTIFICATION_URL": "https://recorder.example.com/api/calls",
    "RECORDING_DOWNLOAD_HOSTS": ".example.net",
    "PROMPT_BASE_URL": "https://recorder.example.com/media/prompts/",
}
READ = (
    "import json, sys; from recorder_site import settings as s; "
    "print(json.dumps({name: getattr(s, name) for name in sys.argv[1:]}, default=str))"
)


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    # A fresh process: settings are read once, from the environment, at start-up. Nothing
    # Recorder reads is inherited from the process running the tests.
    inherited = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return subprocess.run(
        args,
        cwd=REPO,
        env={**inherited, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return run([str(PYTHON), "manage.py", *args], **env)


def read_settings(*names: str, **env: str) -> dict:
    out = run([str(PYTHON), "-c", READ, *names], **env)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def refusal(**changes: str) -> str:
    """What `manage.py check` says in the documented production environment, so changed."""
    out = manage("check", **{**PRODUCTION, **changes})
    assert out.returncode != 0, out.stdout
    assert "ImproperlyConfigured" in out.stderr
    return out.stderr


GENERATE = "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
TOO_WEAK = (
    "SECRET_KEY is too weak: it needs at least 50 characters, 5 of them different, and must "
    f"not start with 'django-insecure-'; generate one, e.g. {GENERATE}."
)


@pytest.mark.parametrize(
    ("changes", "sentence"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is empty: set it to a long random string"),
        ({"SECRET_KEY": "   "}, "SECRET_KEY is empty"),
        ({"SECRET_KEY": "s3cr3t-but-only-twenty"}, TOO_WEAK),
        ({"SECRET_KEY": "ab" * 40}, TOO_WEAK),
        ({"SECRET_KEY": "django-insecure-" + PRODUCTION["SECRET_KEY"]}, TOO_WEAK),
        (
            {"GRAPH_TENANT_ID": ""},
            "GRAPH_TENANT_ID is empty: set it from the bot's app registration in Azure AD.",
        ),
        ({"GRAPH_CLIENT_ID": ""}, "GRAPH_CLIENT_ID is empty"),
        ({"GRAPH_CLIENT_SECRET": ""}, "GRAPH_CLIENT_SECRET is empty"),
        ({"DEBUG": "on"}, "DEBUG is on: turn it off (DEBUG=off)"),
        (
            {"GRAPH_EMULATOR": "on"},
            "GRAPH_EMULATOR is on: turn it off (GRAPH_EMULATOR=off); the emulator mounts "
            "control routes that anyone can call, without logging in.",
        ),
    ],
)
def test_production_refuses_to_start_saying_why(changes, sentence):
    assert sentence in refusal(**changes)


def test_a_missing_secret_is_refused_like_an_empty_one():
    env = {k: v for k, v in PRODUCTION.items() if k != "GRAPH_CLIENT_SECRET"}
    out = manage("check", **env)
    assert out.returncode != 0
    assert "GRAPH_CLIENT_SECRET is empty" in out.stderr


def test_every_reason_is_given_at_once():
    said = refusal(SECRET_KEY="", GRAPH_CLIENT_SECRET="", DEBUG="on")
    assert "Recorder does not start in production (RECORDER_ENV=production) like this:" in said
    for name in ("SECRET_KEY", "GRAPH_CLIENT_SECRET", "DEBUG"):
        assert f"- {name} is" in said


def test_migrate_and_gunicorn_refuse_too(tmp_path):
    # A database of its own, should the refusal ever fail to come first.
    database = tmp_path / "db.sqlite3"
    weak = {**PRODUCTION, "SECRET_KEY": "", "DATABASE_URL": f"sqlite:///{database}"}
    migrate = manage("migrate", "--noinput", **weak)
    gunicorn = run(
        [str(PYTHON.parent / "gunicorn"), "--check-config", "recorder_site.wsgi"], **weak
    )
    for out in (migrate, gunicorn):
        assert out.returncode != 0
        assert "SECRET_KEY is empty" in out.stderr
    assert not database.exists()


def test_the_documented_production_environment_passes_the_deployment_checks():
    out = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "System check identified no issues" in out.stdout


def test_production_enforces_https_by_default():
    secure = read_settings(
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SECURE_PROXY_SSL_HEADER",
        **PRODUCTION,
    )
    assert secure == {
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 365 * 24 * 3600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


def test_a_proxy_that_terminates_tls_may_take_https_over():
    secure = read_settings(
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        **PRODUCTION,
        SECURE_SSL_REDIRECT="off",
        SECURE_HSTS_SECONDS="0",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="off",
    )
    assert secure == {
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
    }


def test_the_embedded_set_up_serves_plain_http():
    assert read_settings("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS") == {
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
    }


def test_upload_and_login_limits_come_from_the_environment():
    limits = read_settings(
        "PROMPT_MAX_BYTES",
        "AXES_FAILURE_LIMIT",
        "AXES_COOLOFF_TIME",
        "AXES_TRUSTED_PROXY_COUNT",
        PROMPT_MAX_BYTES="2097152",
        AXES_FAILURE_LIMIT="8",
        AXES_COOLOFF_MINUTES="90",
        AXES_TRUSTED_PROXY_COUNT="1",
    )
    assert limits == {
        "PROMPT_MAX_BYTES": 2097152,
        "AXES_FAILURE_LIMIT": 8,
        "AXES_COOLOFF_TIME": "1:30:00",
        "AXES_TRUSTED_PROXY_COUNT": 1,
    }
    defaults = read_settings("PROMPT_MAX_BYTES", "AXES_TRUSTED_PROXY_COUNT")
    assert defaults == {"PROMPT_MAX_BYTES": 10 * 1024 * 1024, "AXES_TRUSTED_PROXY_COUNT": 0}
