"""What the browser tests share: Debian's Chromium, headless, driven by Playwright; an operator
with a live call; the admin pages they go through; where screenshots go."""

import io
import math
import os
import struct
import wave
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connections
from playwright.sync_api import expect, sync_playwright

from tests.support.paths import REPO

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
OPERATOR_PERMISSIONS = [
    "view_call",
    "start_recording",
    "view_recordoperation",
    "download_recording",
    "view_promptaudio",
    "add_promptaudio",
]


def tone_wav(seconds: float = 0.6) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(
            b"".join(
                struct.pack("<h", int(6000 * math.sin(2 * math.pi * 440 * n / 16000)))
                for n in range(int(16000 * seconds))
            )
        )
    return out.getvalue()


def screenshots_dir() -> Path:
    folder = Path(os.environ.get("RECORDER_SCREENSHOTS") or REPO / "var" / "screenshots")
    if not folder.is_absolute():
        folder = REPO / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def operator_with_a_live_call(recorder, tmp_path) -> str:
    """An operator account, the prompt folder in tmp_path, the worker, and an answered call."""
    recorder.settings.MEDIA_ROOT = tmp_path
    recorder.settings.PROMPT_BASE_URL = f"{recorder.url}/media/prompts/"
    recorder.env["MEDIA_ROOT"] = str(tmp_path)  # the worker stores the audio there too
    user = User.objects.create_user("operator", password="Operator-pass-1", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="recordings", codename__in=OPERATOR_PERMISSIONS
        )
    )
    recorder.start_worker()
    call_id = recorder.ring("speak 2; press #")
    recorder.wait_for_call(call_id, "established")
    return call_id


def log_in_as_operator(page, url: str) -> None:
    """Log in as the operator operator_with_a_live_call made."""
    page.goto(f"{url}/admin/login/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "Operator-pass-1")
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_contain_text("Recorder")


def log_in_and_upload_a_prompt(page, url: str) -> None:
    log_in_as_operator(page, url)

    page.goto(f"{url}/admin/recordings/promptaudio/add/")
    page.fill("#id_name", "Short tone")
    page.set_input_files(
        "#id_file", {"name": "tone.wav", "mimeType": "audio/wav", "buffer": tone_wav()}
    )
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("Short tone")


def open_record_page(page, url: str, call_id: str) -> None:
    page.goto(f"{url}/admin/recordings/call/")
    # The list shows ids shortened, the whole id on hover.
    page.click(f"#result_list [title='{call_id}']")
    page.click("a.record-link")
    expect(page.locator("h1")).to_contain_text(f"Record call {call_id}")


@contextmanager
def headless_page(monkeypatch):
    """A page of a fresh headless Chromium, 1280 x 900, the admin's sidebar folded away."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package.")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # plain synchronous ones all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        # The admin's navigation sidebar folded away, for screenshots of the page itself.
        context.add_init_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        browser.close()
        # The test's queries ran while Playwright's loop was on: their connection is not the
        # one the database teardown closes, and PostgreSQL would refuse to drop the database.
        connections.close_all()
