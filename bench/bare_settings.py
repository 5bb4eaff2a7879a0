"""Recorder's settings with only the URL configuration swapped for the bare baseline view."""

from recorder_site.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bare_app"
