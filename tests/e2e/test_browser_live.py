"""An operator clicks Record and, without reloading, watches the operation page turn to
Completed and then offer the player; the operations list keeps up the same way."""

import zipfile

import pytest
from playwright.sync_api import expect

from recordings.models import RecordOperation
from tests.support.browser import (
    log_in_as_operator,
    open_record_page,
    operator_with_a_live_call,
    screenshots_dir,
)

pytestmark = pytest.mark.e2e


def test_the_operation_page_shows_completed_then_the_player_without_a_reload(
    recorder, browser_page, tmp_path
):
    page, url = browser_page, recorder.url
    call_id = operator_with_a_live_call(recorder, tmp_path)
    log_in_as_operator(page, url)
    open_record_page(page, url, call_id)
    page.check("#id_stop_tones input[value='#']")
    page.fill("#id_max_record_duration", "20")
    page.click("input[name=_record]")
    expect(page.locator(".messagelist")).to_contain_text("Recording started")
    # Marks this document: a reload would lose it.
    page.evaluate("window.__notReloaded = true")
    # The operations list, opened while the caller still speaks, keeps up the same way.
    listing = page.context.new_page()
    listing.goto(f"{url}/admin/recordings/recordoperation/")
    listing.evaluate("window.__notReloaded = true")
    listed_status = listing.locator("#result_list tbody tr").first.locator(".field-status_badge")

    status = page.locator(".field-status_live")
    expect(status).to_contain_text("Completed", timeout=30_000)
    expect(page.locator(".field-reason_live")).to_contain_text("Stop tone detected")
    expect(page.locator("audio.op-player")).to_be_visible(timeout=30_000)
    expect(page.locator(".op-retention")).to_contain_text("audio kept until")
    assert page.evaluate("window.__notReloaded") is True
    expect(listed_status).to_contain_text("Completed")
    expect(listing.locator("#result_list tbody tr").first.locator("audio")).to_have_count(1)
    assert listing.evaluate("window.__notReloaded") is True
    listing.close()
    page.screenshot(path=screenshots_dir() / "operation-page-live.png", full_page=True)

    # Once nothing runs, the page stops asking.
    asked = []
    page.on(
        "request", lambda request: asked.append(request.url) if "/live/" in request.url else None
    )
    page.wait_for_timeout(2500)
    assert asked == []

    operation = RecordOperation.objects.get(call__graph_id=call_id)
    assert operation.status == "completed"

    # The lists at a laptop's width, for a look at their columns.
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{url}/admin/recordings/recordoperation/")
    row = page.locator("#result_list tbody tr").first
    expect(row).to_contain_text("Stop tone detected")
    expect(row).to_contain_text("+15550100")
    expect(row.locator("audio[preload=none]")).to_have_count(1)
    page.screenshot(path=screenshots_dir() / "operations-list-1366.png", full_page=True)
    page.goto(f"{url}/admin/recordings/call/")
    expect(page.locator("#result_list")).to_contain_text("Completed")
    page.screenshot(path=screenshots_dir() / "calls-list-1366.png", full_page=True)

    # Found by what the list shows: the start of the id, and the caller's number without +.
    page.goto(f"{url}/admin/recordings/recordoperation/")
    rows = page.locator("#result_list tbody tr")
    for term, found in ((operation.graph_id[:8], 1), ("15550100", 1), ("zz-no-such", 0)):
        page.fill("#searchbar", term)
        page.press("#searchbar", "Enter")
        expect(rows).to_have_count(found)

    # The selected recordings as one zip, with the manifest that names them.
    page.fill("#searchbar", operation.graph_id[:8])
    page.press("#searchbar", "Enter")
    page.check("#result_list tbody tr input.action-select")
    page.select_option("select[name=action]", "download_selected_zip")
    with page.expect_download() as download:
        page.click("button[name=index]")
    with zipfile.ZipFile(download.value.path()) as archive:
        names = archive.namelist()
        manifest = archive.read("manifest.csv").decode()
        wav = next(name for name in names if name.endswith(".wav"))
        audio = archive.read(wav)
    assert sorted(names) == sorted(["manifest.csv", wav])
    assert operation.graph_id in manifest
    assert operation.recording.sha256 in manifest
    assert audio[:4] == b"RIFF" and len(audio) == operation.recording.size_bytes
