"""An operator in a real browser (Debian's Chromium, headless): uploads a prompt, records a
caller the emulator placed, sees how the recording ended and downloads it. Screenshots of the
Record page, the operations list and the operation page go to var/screenshots/ (or to
$RECORDER_SCREENSHOTS, e.g. docs/screenshots, to refresh the README's)."""

import hashlib
import io
import json
import wave

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import expect

from recordings.audio import chime_wav, measure_waveform
from recordings.models import Call, CallState, GraphExchange, Recording, RecordOperation
from recordings.services import prompts as prompt_services
from tests.support.browser import (
    log_in_and_upload_a_prompt,
    open_record_page,
    operator_with_a_live_call,
    screenshots_dir,
    tone_wav,
)
from tests.support.factories import create_operation, received
from tests.support.graph import graph_fixture

pytestmark = pytest.mark.e2e


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
    # Graph's v1.0 completion names no completionReason: Recorder reads resultInfo.
    call_id = operator_with_a_live_call(recorder, tmp_path)
    log_in_and_upload_a_prompt(page, url)

    open_record_page(page, url, call_id)
    expect(page.locator("button[data-add-prompt=silence]")).to_have_count(0)
    page.click("button[data-add-prompt=media]")
    expect(page.locator("button[data-add-prompt=media]")).to_be_disabled()
    page.select_option("select[name='prompts-0-library_prompt']", label="Short tone (0.6 s)")
    page.check("#id_stop_tones input[value='#']")
    page.screenshot(path=screenshots_dir() / "record-page-v1.png", full_page=True)
    page.click("input[name=_record]")
    expect(page.locator(".messagelist")).to_contain_text("Recording started")

    operation = recorder.wait_until_final(RecordOperation.objects.get(call__graph_id=call_id))
    assert (operation.status, operation.completion_reason) == ("completed", "stopToneDetected")
    assert "/communications/calls/" in operation.exchanges.get(action="record").url


# --- Every page fits, the player works from the keyboard, the Record page's errors ----------

WIDTHS = (1366, 375)
# How many Tab stops come before the element the selector names.
TAB_STOPS_BEFORE = """(selector) => {
  const target = document.querySelector(selector);
  const focusable = "a[href], button, input:not([type=hidden]), select, textarea, [tabindex]";
  return Array.from(document.querySelectorAll(focusable)).filter((el) =>
    el.tabIndex >= 0 && el.checkVisibility() &&
    (target.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_PRECEDING)
  ).length;
}"""
# What sticks out past the window, for the failure message: the outermost such elements.
WIDEST = """() => {
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.right > window.innerWidth + 1 && !out.some((o) => o.contains(el))) out.push(el);
  }
  return out.slice(0, 5).map((el) => el.tagName + "." + el.className + "#" + el.id +
    " " + Math.round(el.getBoundingClientRect().right));
}"""


def a_stored_recording(tmp_path, settings) -> RecordOperation:
    """A finished operation with its audio stored (12 s of tone), as the pages show one."""
    settings.MEDIA_ROOT = tmp_path
    call = Call.objects.create(
        graph_id="491f0b00-ffff-4bc9-a43e-b226498ec22a",
        state=CallState.ESTABLISHED,
        caller_id="+15550100",
        caller_name="A caller with a rather long display name",
    )
    operation = create_operation(
        call=call,
        status="completed",
        completion_reason="maxRecordDurationReached",
        result_code=200,
        result_subcode=8515,
        result_message="Action completed, max record duration reached.",
        finished_at=timezone.now(),
    )
    audio = tone_wav(seconds=12)
    folder = tmp_path / "recordings"
    folder.mkdir()
    (folder / "op.wav").write_bytes(audio)
    waveform = measure_waveform(io.BytesIO(audio))
    Recording.objects.create(
        operation=operation,
        status="stored",
        file="recordings/op.wav",
        size_bytes=len(audio),
        sha256=hashlib.sha256(audio).hexdigest(),
        duration_seconds=12.0,
        sample_rate=16000,
        channels=1,
        sample_width_bytes=2,
        waveform_svg=waveform.svg,
        peak_dbfs=waveform.peak_dbfs,
        rms_dbfs=waveform.rms_dbfs,
        stored_at=timezone.now(),
    )
    # What the operation page's timeline shows: a long URL sent, a notification received.
    GraphExchange.objects.create(
        call=call,
        record_request=operation.record_request,
        operation=operation,
        action="record",
        method="POST",
        url=f"https://graph.microsoft.com/v1.0/communications/calls/{call.graph_id}/recordResponse",
        request_body={"prompts": [], "maxRecordDurationInSeconds": 10},
        client_request_id="6f0e3c57-3a56-4c43-8d9e-5a0b0a7d1f00",
        response_status=200,
        response_body=json.dumps({"id": operation.graph_id, "status": "running"}),
        finished_at=timezone.now(),
    )
    received(graph_fixture("v1.0/notification-completed"))
    prompt_services.add_generated_prompt(name="Greeting", wav=chime_wav(), file_name="greeting.wav")
    return operation


def log_in_as_admin(page, url: str) -> None:
    User.objects.create_superuser("chief", password="Chief-pass-1")
    page.goto(f"{url}/admin/login/")
    page.fill("#id_username", "chief")
    page.fill("#id_password", "Chief-pass-1")
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_contain_text("Recorder")


def test_every_list_and_page_fits_the_window_at_1366_and_375_pixels(
    live_server, transactional_db, browser_page, tmp_path, settings
):
    page, url, shots = browser_page, live_server.url, screenshots_dir()
    # The sidebar open, as operators have it by default.
    page.add_init_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'true')")
    operation = a_stored_recording(tmp_path, settings)
    call = operation.call
    log_in_as_admin(page, url)
    pages = {
        "index": "/admin/",
        "call-list": "/admin/recordings/call/",
        "call-page": f"/admin/recordings/call/{call.pk}/change/",
        "record-page": f"/admin/recordings/call/{call.pk}/record/",
        "hang-up": f"/admin/recordings/call/{call.pk}/hang-up/",
        "operations-list": "/admin/recordings/recordoperation/",
        "operation-page": f"/admin/recordings/recordoperation/{operation.pk}/change/",
        "prompt-library": "/admin/recordings/promptaudio/",
        "notifications": "/admin/recordings/notification/",
        "exchanges": "/admin/recordings/graphexchange/",
        "diagnostics": "/admin/diagnostics/",
        "not-found": "/admin/recordings/call/999999/change/",
    }
    too_wide = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in pages.items():
            page.goto(f"{url}{path}")
            scroll, inner = page.evaluate(
                "[document.documentElement.scrollWidth, window.innerWidth]"
            )
            if scroll > inner:
                too_wide.append(
                    f"{name} at {width} px: {scroll} px wide, by {page.evaluate(WIDEST)}"
                )
            if width == 1366 and name == "call-list":
                # At 1366 px every column of the call list shows, Reason last.
                cut = page.evaluate(
                    "(() => { const r = document.querySelector('#changelist-form .results');"
                    " return r.scrollWidth - r.clientWidth; })()"
                )
                if cut > 0:
                    too_wide.append(f"the call list's table at 1366 px: {cut} px hidden")
            if width == 1366 and name in ("index", "call-list", "call-page", "prompt-library"):
                page.screenshot(path=shots / f"{name}.png", full_page=True)
            if width == 1366 and name == "hang-up":
                page.screenshot(path=shots / "hang-up.png", full_page=True)
            if width == 375 and name in ("call-list", "operation-page"):
                page.screenshot(path=shots / f"{name}-375.png", full_page=True)
    assert too_wide == [], "\n".join(too_wide)

    # The keyboard reaches the Record form after the header and the breadcrumbs, not after
    # the whole navigation.
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{url}{pages['record-page']}")
    before_form = page.evaluate(TAB_STOPS_BEFORE, "#record_form")
    assert before_form <= 12, before_form


def test_the_waveform_seeks_from_the_keyboard_and_with_a_click(
    live_server, transactional_db, browser_page, tmp_path, settings
):
    page, url = browser_page, live_server.url
    operation = a_stored_recording(tmp_path, settings)
    log_in_as_admin(page, url)
    page.goto(f"{url}/admin/recordings/recordoperation/{operation.pk}/change/")

    expect(page.get_by_label(f"Recording of {operation.graph_id}", exact=True)).to_be_visible()
    seek = page.get_by_role("slider", name=f"Position in the recording of {operation.graph_id}")
    expect(seek).to_have_attribute("aria-valuemax", "12.0")
    seek.focus()
    page.keyboard.press("ArrowRight")
    expect(seek).to_have_attribute("aria-valuenow", "5.0")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    expect(seek).to_have_attribute("aria-valuenow", "5.0")
    page.keyboard.press("End")
    expect(seek).to_have_attribute("aria-valuenow", "12.0")
    page.keyboard.press("Home")
    expect(seek).to_have_attribute("aria-valuenow", "0.0")
    box = seek.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)
    expect(seek).to_have_attribute("aria-valuenow", "9.0")
    assert page.evaluate("document.getElementById('op-player').currentTime") == pytest.approx(
        9.0, abs=0.2
    )
    left = page.locator(".op-playhead").evaluate("el => el.style.left")
    assert left.startswith("75")


def test_the_record_page_shows_every_problem_at_once_on_its_own_field(
    live_server, transactional_db, browser_page, tmp_path, settings
):
    page, url, shots = browser_page, live_server.url, screenshots_dir()
    settings.GRAPH_API_PROFILE = "beta-record"
    operation = a_stored_recording(tmp_path, settings)
    call = operation.call
    log_in_as_admin(page, url)
    page.goto(f"{url}/admin/recordings/call/{call.pk}/record/")
    page.click("button[data-add-prompt=media]")
    page.click("button[data-add-prompt=media]")
    page.fill("input[name='prompts-1-uri']", "ftp://cdn.example.com/a.wav")
    page.click("button[data-add-prompt=silence]")
    page.fill("input[name='prompts-2-duration_ms']", "4000000")
    page.fill("#id_max_record_duration", "2000")
    page.click("input[name=_record]")

    rows = page.locator("#prompt-rows tr.prompt-row")
    expect(rows.nth(0).locator(".errorlist")).to_contain_text("Pick an uploaded prompt")
    expect(rows.nth(1).locator(".errorlist")).to_contain_text("must be an http or https")
    expect(rows.nth(2).locator(".errorlist")).to_contain_text("needs a duration from 1 to")
    expect(page.locator(".field-max_record_duration .errorlist")).to_contain_text("1 to 1800")
    expect(page.locator("fieldset.prompts > ul.errorlist")).to_have_count(0)
    page.screenshot(path=shots / "record-page-errors.png", full_page=True)
