"""Which recording locations Recorder may fetch at all, decided before a packet leaves."""

import pytest

from recordings.graph import DownloadRefused, check_location

HOSTS = ["graph.example.com", ".media.example.net", "127.0.0.1", "localhost"]


@pytest.mark.parametrize(
    ("url", "loopback_http"),
    [
        ("https://graph.example.com/rec/1", False),
        ("https://eu.media.example.net/rec/1", False),
        ("http://127.0.0.1:8000/emulator/recordings/1", True),
        ("http://localhost:8000/emulator/recordings/1", True),
    ],
)
def test_it_allows_listed_hosts(url, loopback_http):
    check_location(url, allowed_hosts=HOSTS, allow_loopback_http=loopback_http)


@pytest.mark.parametrize(
    ("url", "loopback_http", "why"),
    [
        ("https://evil.example.org/rec", True, "not in RECORDING_DOWNLOAD_HOSTS"),
        ("https://graph.example.com.evil.org/rec", True, "not in RECORDING_DOWNLOAD_HOSTS"),
        ("http://graph.example.com/rec", True, "plain http"),
        ("http://127.0.0.1:8000/rec", False, "plain http"),
        ("ftp://graph.example.com/rec", True, "not https"),
        ("https://user:pw@graph.example.com/rec", True, "credentials"),
        ("https:///rec", True, "names no host"),
    ],
)
def test_it_refuses_anything_else(url, loopback_http, why):
    with pytest.raises(DownloadRefused, match=why):
        check_location(url, allowed_hosts=HOSTS, allow_loopback_http=loopback_http)
