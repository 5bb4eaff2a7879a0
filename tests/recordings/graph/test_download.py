"""Which recording locations Recorder may fetch at all, decided before a packet leaves."""

import pytest

from recordings.graph import DownloadRefused, check_location

HOSTS = ["graph.example.com", ".media.example.net", "127.0.0.1", "localhost"]
EMULATOR = "http://127.0.0.1:8000/emulator/recordings/"


@pytest.mark.parametrize(
    ("url", "loopback_prefix"),
    [
        ("https://graph.example.com/rec/1", ""),
        ("https://eu.media.example.net/rec/1", ""),
        ("http://127.0.0.1:8000/emulator/recordings/1", EMULATOR),
        (
            "http://localhost:8000/emulator/recordings/1",
            "http://localhost:8000/emulator/recordings/",
        ),
    ],
)
def test_it_allows_listed_hosts(url, loopback_prefix):
    check_location(url, allowed_hosts=HOSTS, loopback_prefix=loopback_prefix)


@pytest.mark.parametrize(
    ("url", "loopback_prefix", "why"),
    [
        ("https://evil.example.org/rec", EMULATOR, "not in RECORDING_DOWNLOAD_HOSTS"),
        ("https://graph.example.com.evil.org/rec", EMULATOR, "not in RECORDING_DOWNLOAD_HOSTS"),
        ("http://graph.example.com/rec", EMULATOR, "plain http"),
        ("http://127.0.0.1:8000/rec", "", "on this machine"),
        ("ftp://graph.example.com/rec", EMULATOR, "not https"),
        ("https://user:pw@graph.example.com/rec", EMULATOR, "credentials"),
        ("https:///rec", EMULATOR, "names no host"),
    ],
)
def test_it_refuses_anything_else(url, loopback_prefix, why):
    with pytest.raises(DownloadRefused, match=why):
        check_location(url, allowed_hosts=HOSTS, loopback_prefix=loopback_prefix)


@pytest.mark.parametrize(
    "url",
    [
        # Another page of Recorder itself: the recording's token would go to the login form.
        "http://127.0.0.1:8000/admin/login/",
        "http://127.0.0.1:8000/emulator/keys",
        # Another port or scheme of the same host.
        "http://127.0.0.1:8001/emulator/recordings/1",
        "https://127.0.0.1:8000/emulator/recordings/1",
        "https://127.0.0.1/emulator/recordings/1",
        # Another spelling of loopback than the route's.
        "http://localhost:8000/emulator/recordings/1",
        "http://127.0.0.2:8000/emulator/recordings/1",
        "http://[::1]:8000/emulator/recordings/1",
        # Out of the route by its path.
        "http://127.0.0.1:8000/emulator/recordings/../../admin/",
        "http://127.0.0.1:8000/emulator/recordingsX",
    ],
)
def test_loopback_is_allowed_only_for_the_emulators_recording_route(url):
    with pytest.raises(DownloadRefused, match="on this machine"):
        check_location(url, allowed_hosts=[*HOSTS, "[::1]", "127.0.0.2"], loopback_prefix=EMULATOR)


def test_loopback_is_refused_altogether_while_the_emulator_is_off():
    with pytest.raises(DownloadRefused, match="on this machine"):
        check_location(
            "https://127.0.0.1:8000/emulator/recordings/1", allowed_hosts=HOSTS, loopback_prefix=""
        )
