"""RECORDING_STORAGE picks django-storages' backend for S3-compatible or Azure storage."""

import json
import os
import subprocess
import sys

import pytest

from tests.support.paths import REPO

READ_STORAGE = (
    "import json; from recorder_site import settings; "
    "print(json.dumps(settings.STORAGES['default']))"
)


def settings_process(**env: str) -> subprocess.CompletedProcess:
    # A fresh process: settings are read once, from the environment, at start-up.
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("S3_", "AZURE_"))}
    return subprocess.run(
        [sys.executable, "-c", READ_STORAGE],
        cwd=REPO,
        env={**clean, "RECORDING_STORAGE": "local", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def default_storage_for(**env: str) -> dict:
    out = settings_process(**env)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def test_local_storage_is_the_default():
    assert default_storage_for()["BACKEND"] == "django.core.files.storage.FileSystemStorage"


def test_s3_compatible_storage_takes_its_variables():
    storage = default_storage_for(
        RECORDING_STORAGE="s3",
        S3_BUCKET="recorder-audio",
        S3_ENDPOINT_URL="https://s3.example.net",
        S3_REGION="eu-west-1",
    )
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    options = storage["OPTIONS"]
    assert options["bucket_name"] == "recorder-audio"
    assert options["endpoint_url"] == "https://s3.example.net"
    assert options["default_acl"] is None
    assert options["file_overwrite"] is False


def test_azure_storage_takes_its_variables():
    storage = default_storage_for(
        RECORDING_STORAGE="azure", AZURE_CONTAINER="recordings", AZURE_CONNECTION_STRING="cs"
    )
    assert storage["BACKEND"] == "storages.backends.azure_storage.AzureStorage"
    assert storage["OPTIONS"]["azure_container"] == "recordings"
    assert storage["OPTIONS"]["overwrite_files"] is False


@pytest.mark.parametrize("env", [{"RECORDING_STORAGE": "s3"}, {"RECORDING_STORAGE": "ftp"}])
def test_a_storage_missing_what_it_needs_stops_start_up(env):
    out = settings_process(**env)
    assert out.returncode != 0
    assert "ImproperlyConfigured" in out.stderr
