"""An operator in a real browser (Debian's Chromium, headless): uploads a prompt, records a
caller the emulator placed, sees how the recording ended and downloads it. Screenshots of the
Record page, the operations list and the operation page go to var/screenshots/ (or to
$RECORDER_SCREENSHOTS, e.g. docs/screenshots, to refresh the README's)."""

import io
import math
import os
import struct
import wave
from pathlib import Path

import pytest
import requests
from django.contrib.auth.models import Permission, User
from django.db import connections
from playwright.sync_api import expect, sync_playwright

from recordings.models import Recording, RecordOperation
from tests.support.paths import REPO

pytestmark = pytest.mark.e2e

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


@pytest.fixture
def browser_page(monkeypatch):
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


def log_in_and_upload_a_prompt(page, url: str) -> None:
    page.goto(f"{url}/admin/login/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "Operator-pass-1")
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_contain_text("Recorder")

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


def test_an_operator_records_a_caller_until_the_stop_tone_and_downloads_the_wav(
    recorder, browser_page, tmp_path
):
    page, url, shots = browser_page, recorder.url, screenshots_dir()
    call_id = operator_with_a_live_call(recorder, tmp_path)
    log_in_and_upload_a_prompt(page, url)

    open_record_page(page, url, call_id)
    # Rows are added, one removed, and the silence moved up in front of the media prompt.
    rows = page.locator("#prompt-rows tr.prompt-row:visible")
    page.click("button[data-add-prompt=media]")
    page.select_option("select[name='prompts-0-library_prompt']", label="Short tone (0.6 s)")
    page.click("button[data-add-prompt=media]")
    page.fill("input[name='prompts-1-uri']", f"{url}/emulator/media/tone-5000.wav")
    page.click("button[data-add-prompt=silence]")
    page.fill("input[name='prompts-2-duration_ms']", "300")
    rows.nth(1).locator("button.prompt-remove").click()
    expect(rows).to_have_count(2)
    rows.nth(1).locator("button.prompt-up").click()
    expect(rows.nth(0)).to_contain_text("Silence")
    expect(rows.nth(0).locator(".prompt-number")).to_have_text("1.")
    page.check("#id_stop_tones input[value='#']")
    page.fill("#id_max_record_duration", "20")
    page.screenshot(path=shots / "record-page.png", full_page=True)
    page.click("input[name=_record]")
    expect(page.locator(".messagelist")).to_contain_text("Recording started")

    operation = RecordOperation.objects.get(call__graph_id=call_id)
    recorder.wait_until_final(operation)
    assert operation.completion_reason == "stopToneDetected"
    body = operation.record_request.body_sent
    assert [p["@odata.type"] for p in body["prompts"]] == [
        "#microsoft.graph.silencePrompt",
        "#microsoft.graph.mediaPrompt",
    ]
    assert body["prompts"][1]["mediaInfo"]["uri"] == f"{url}/media/prompts/tone.wav"
    assert body["stopTones"] == ["#"]

    page.goto(f"{url}/admin/recordings/recordoperation/")
    operation_link = page.locator(f"a[href$='/recordoperation/{operation.pk}/change/']")
    row = page.locator("#result_list tbody tr", has=operation_link)
    expect(row).to_contain_text("Stop tone detected")
    page.screenshot(path=shots / "operations-list.png", full_page=True)

    recorder.wait_for(
        lambda: Recording.objects.filter(operation=operation, status="stored").exists(),
        what="the recording to be stored",
    )
    page.goto(f"{url}/admin/recordings/recordoperation/{operation.pk}/change/")
    expect(page.locator("a.op-download.button")).to_be_visible()
    page.screenshot(path=shots / "operation-page.png", full_page=True)
    with page.expect_download() as download:
        page.click("a.op-download.button")
    saved = tmp_path / "download.wav"
    download.value.save_as(saved)
    audio = saved.read_bytes()
    assert audio[:4] == b"RIFF" and audio[8:12] == b"WAVE"
    with wave.open(str(saved)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        assert wav.getnframes() > 16000  # the caller spoke for 2 s before the stop tone


def test_the_record_page_records_on_the_v1_profile_with_its_one_media_prompt(
    recorder, browser_page, tmp_path
):
    recorder.configure("v1.0")
    page, url = browser_page, recorder.url
    # Graph's v1.0 completion names no completionReason; Recorder reads it from there.
    faults = requests.post(
        f"{url}/emulator/control/faults", json={"v1_completion_reason": True}, timeout=5
    )
    assert faults.status_code == 200, faults.text
    call_id = operator_with_a_live_call(recorder, tmp_path)
    log_in_and_upload_a_prompt(page, url)

    open_record_page(page, url, call_id)
    expect(page.locator("button[data-add-prompt=silence]")).to_have_count(0)
    page.click("button[data-add-prompt=media]")
    expect(page.locator("button[data-add-prompt=media]")).to_be_disabled()
    page.select_option("select[name='prompts-0-library_prompt']", label="Short tone (0.6 s)")
    page.check("#id_stop_tones input[value='#']")
    page.click("input[name=_record]")
    expect(page.locator(".messagelist")).to_contain_text("Recording started")

    operation = recorder.wait_until_final(RecordOperation.objects.get(call__graph_id=call_id))
    assert (operation.status, operation.completion_reason) == ("completed", "stopToneDetected")
    assert "/communications/calls/" in operation.exchanges.get(action="record").url
