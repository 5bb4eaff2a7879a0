"""The operations list's rows, the operation page and cancelling."""

import json

import pytest
import responses
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from recordings.admin import operation_columns
from recordings.models import FetchStatus, GraphExchange, Prompt, PromptAudio, RecordRequest
from recordings.prompt_files import public_url
from tests.support.factories import completed, received, store
from tests.support.graph import OP_ID, graph_fixture
from tests.support.operators import EXPORT, LIST, TOKEN, VIEW, cancel_page, operator, page_of

pytestmark = pytest.mark.django_db


# --- The list ----------------------------------------------------------------------------


def test_the_list_shows_status_reason_in_words_with_the_raw_value_duration_call_and_who_asked(
    make_operation, django_user_model
):
    operation = completed(make_operation)
    requester = django_user_model.objects.create_user("ada", is_staff=True)
    RecordRequest.objects.filter(pk=operation.record_request_id).update(requested_by=requester)
    store(operation, duration_seconds=4.25)

    page = operator(VIEW).get(LIST).content.decode()

    assert 'class="op-badge op-status-completed">completed<' in page.lower()
    assert 'title="stopToneDetected">Stop tone detected<' in page
    assert "4.2 s" in page or "4.3 s" in page
    assert operation.call.graph_id[:8] in page
    assert ">ada<" in page


def test_a_recorder_reason_is_listed_in_words_instead_of_graphs(make_operation):
    make_operation(status="failed", recorder_reason="callEnded", finished_at=timezone.now())
    page = operator(VIEW).get(LIST).content.decode()
    assert "Closed by Recorder: the call ended without a completion" in page


def test_the_download_link_shows_only_with_the_download_permission(make_operation):
    operation = completed(make_operation)
    store(operation)
    link = reverse("recordings:recording-audio", args=[operation.pk]) + "?download=1"

    assert link not in operator(VIEW).get(LIST).content.decode()
    assert link in operator(VIEW, "download_recording", username="dl").get(LIST).content.decode()


def test_the_download_link_shows_only_once_the_audio_is_stored(make_operation):
    operation = completed(make_operation)
    store(
        operation,
        status=FetchStatus.FAILED,
        link_expired_at=timezone.now(),
        error="Graph answered 404: the recording is gone.",
    )

    page = operator(VIEW, "download_recording").get(LIST).content.decode()

    assert 'class="op-download"' not in page
    assert "Link expired or refused" in page
    assert "Graph answered 404: the recording is gone." in page


def test_a_stored_recording_whose_file_is_missing_offers_no_download(make_operation):
    operation = completed(make_operation)
    store(operation, file="")
    client = operator(VIEW, "download_recording")
    assert 'class="op-download"' not in client.get(LIST).content.decode()
    assert "<audio" not in client.get(page_of(operation)).content.decode()


# --- The operation page ------------------------------------------------------------------


def test_the_operation_page_shows_the_parameters_sent_in_words(make_operation):
    operation = make_operation(max_record_duration=30)
    RecordRequest.objects.filter(pk=operation.record_request_id).update(
        stop_tones=["#", "*"], play_beep=False, body_sent={"maxRecordDurationInSeconds": 30}
    )
    page = operator(VIEW).get(page_of(operation)).content.decode()
    assert "Parameters sent" in page
    assert "30 s" in page and "# *" in page
    assert "not sent (Graph&#x27;s default: no)" in page  # barge-in
    assert "&quot;maxRecordDurationInSeconds&quot;: 30" in page


def test_the_access_token_is_on_no_page_and_in_no_export(make_operation, admin_client):
    operation = completed(make_operation, recording_access_token=TOKEN)
    store(operation)
    GraphExchange.objects.create(
        operation=operation,
        action="get operation",
        method="GET",
        url="http://graph.test/beta/communications/calls/x/operations/y",
        client_request_id="6f1c2b1e-1d1f-4a55-9b65-8f2b1c0a0a02",
        response_status=200,
        # Not JSON, so only the pattern and the known-value guards can catch it.
        response_body=f'{{"recordingAccessToken": "{TOKEN}", "status": "completed"',
    )
    body = graph_fixture("v1.0/notification-completed")
    body["value"][0]["resourceData"]["recordingAccessToken"] = TOKEN
    notification = received(body)
    exchange = GraphExchange.objects.get(operation=operation)

    pages = [
        LIST,
        page_of(operation),
        reverse("admin:recordings_graphexchange_change", args=[exchange.pk]),
        "/admin/recordings/notification/",
        reverse("admin:recordings_notification_change", args=[notification.pk]),
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert TOKEN not in response.content.decode(), url
    export = admin_client.get(EXPORT)
    selected = admin_client.post(
        LIST, {"action": "export_selected_csv", "_selected_action": [operation.pk]}
    )
    for response in (export, selected):
        text = b"".join(response.streaming_content).decode()
        assert OP_ID in text and TOKEN not in text


def test_the_player_and_download_show_for_a_stored_recording_with_its_waveform(make_operation):
    operation = completed(make_operation)
    store(operation, waveform_svg='<svg class="waveform-from-recorder"></svg>')
    audio = reverse("recordings:recording-audio", args=[operation.pk])

    page = operator(VIEW, "download_recording").get(page_of(operation)).content.decode()

    assert f'<audio controls preload="metadata" src="{audio}"' in page
    assert f'href="{audio}?download=1"' in page
    assert '<svg class="waveform-from-recorder"></svg>' in page


def test_the_player_is_hidden_without_the_download_permission(make_operation):
    operation = completed(make_operation)
    store(operation)
    page = operator(VIEW).get(page_of(operation)).content.decode()
    assert "<audio" not in page
    assert "Can play and download recordings" in page


def test_the_operation_page_says_why_the_fetch_failed(make_operation):
    operation = completed(make_operation)
    store(
        operation,
        status=FetchStatus.FAILED,
        link_expired_at=timezone.now(),
        error="Graph refused the link (403).",
        attempts=3,
    )
    page = operator(VIEW).get(page_of(operation)).content.decode()
    assert "Link expired or refused" in page and "Graph refused the link (403)." in page


def test_the_pages_still_render_when_the_audio_route_is_missing(make_operation, monkeypatch):
    operation = completed(make_operation)
    store(operation)
    monkeypatch.setattr(operation_columns, "reverse", _reverse_without_audio)
    client = operator(VIEW, "download_recording")
    assert client.get(LIST).status_code == 200
    assert client.get(page_of(operation)).status_code == 200


def _reverse_without_audio(name, *args, **kwargs):
    from django.urls import NoReverseMatch
    from django.urls import reverse as real_reverse

    if name == "recordings:recording-audio":
        raise NoReverseMatch(name)
    return real_reverse(name, *args, **kwargs)


# --- Cancelling --------------------------------------------------------------------------


def test_staff_without_the_cancel_permission_sees_no_cancel_button_and_gets_403(make_operation):
    operation = make_operation()
    client = operator(VIEW)

    assert cancel_page(operation) not in client.get(page_of(operation)).content.decode()
    assert client.get(cancel_page(operation)).status_code == 403
    assert client.post(cancel_page(operation)).status_code == 403


def test_cancel_asks_graph_to_cancel_media_processing_with_the_client_context_and_logs_it(
    make_operation, graph_http, settings
):
    operation = make_operation()
    url = (
        f"{settings.GRAPH_API_BASE_URL}/communications/calls/"
        f"{operation.call.graph_id}/cancelMediaProcessing"
    )
    graph_http.add(responses.POST, url, json={"id": "cancel-1", "status": "completed"})
    client = operator(VIEW, "cancel_recording")

    assert cancel_page(operation) in client.get(page_of(operation)).content.decode()
    assert "Yes, cancel the recording" in client.get(cancel_page(operation)).content.decode()
    response = client.post(cancel_page(operation), follow=True)

    sent = [c for c in graph_http.calls if c.request.url == url]
    assert len(sent) == 1
    assert json.loads(sent[0].request.body) == {"clientContext": operation.client_context}
    entry = LogEntry.objects.get(object_id=str(operation.pk))
    assert entry.action_flag == CHANGE and entry.user == client.user
    assert "cancel" in entry.get_change_message().lower()
    assert "Graph was asked to cancel the recording." in response.content.decode()


def test_a_refused_cancel_is_told_as_a_sentence_and_not_logged(
    make_operation, graph_http, settings
):
    operation = make_operation()
    url = (
        f"{settings.GRAPH_API_BASE_URL}/communications/calls/"
        f"{operation.call.graph_id}/cancelMediaProcessing"
    )
    graph_http.add(
        responses.POST,
        url,
        status=404,
        json={"error": {"code": "8522", "message": "Call not found"}},
    )
    response = operator(VIEW, "cancel_recording").post(cancel_page(operation), follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert len(messages) == 1 and messages[0].endswith(".")
    assert "Traceback" not in messages[0]
    assert not LogEntry.objects.exists()


def test_an_ended_operation_offers_no_cancel(make_operation):
    operation = completed(make_operation)
    client = operator(VIEW, "cancel_recording")
    assert cancel_page(operation) not in client.get(page_of(operation)).content.decode()
    response = client.post(cancel_page(operation), follow=True)
    assert "already ended" in response.content.decode()


def test_the_operation_page_speaks_in_words_profile_result_and_hold(make_operation):
    operation = completed(
        make_operation,
        reason="maxRecordDurationReached",
        result_code=200,
        result_subcode=8515,
        result_message="Action completed, max record duration reached.",
    )
    page = operator(VIEW).get(page_of(operation)).content.decode()
    assert operation.get_profile_display() in ("Graph beta (record)", "Graph v1.0 (recordResponse)")
    assert operation.get_profile_display() in page
    assert "(POST /" not in page
    assert 'title="200/8515: Action completed, max record duration reached."' in page
    assert ">Maximum duration reached<" in page
    assert "Not on hold" in page
    assert "icon-no" not in page


def test_a_cancelled_operation_page_says_who_cancelled_it(make_operation):
    operation = make_operation(
        status="failed",
        completion_reason="operationCanceled",
        cancelled_by="alice",
        finished_at=timezone.now(),
    )
    page = operator(VIEW).get(page_of(operation)).content.decode()
    assert "Cancelled by alice" in page
    assert "op-status-failed" not in page


def test_the_operation_page_gives_the_recordings_level_in_words(make_operation):
    operation = completed(make_operation)
    store(operation, peak_dbfs=-57.1, rms_dbfs=-63.4)
    page = operator(VIEW).get(page_of(operation)).content.decode()
    assert "Level: Very quiet (peak -57 dBFS, RMS -63 dBFS)" in page


def test_the_operation_page_shows_the_recordings_sha256(make_operation):
    operation = completed(make_operation)
    digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    store(operation, sha256=digest)
    page = operator(VIEW).get(page_of(operation)).content.decode()
    assert f'SHA-256 <code class="op-sha256">{digest}</code>' in page


def test_a_library_prompt_is_listed_by_its_name_with_its_url_on_hover(
    make_operation, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    settings.PROMPT_BASE_URL = "https://prompts.example.com/media/prompts/"
    greeting = PromptAudio(name="Greeting", duration_ms=2400, size_bytes=76844)
    greeting.file.save("greeting.wav", ContentFile(b"RIFF"), save=False)
    greeting.save()
    operation = completed(make_operation)
    url = public_url(greeting)
    Prompt.objects.create(request=operation.record_request, position=1, kind="media", uri=url)
    Prompt.objects.create(
        request=operation.record_request,
        position=2,
        kind="media",
        uri="https://cdn.example.com/other.wav",
    )

    page = operator(VIEW).get(page_of(operation)).content.decode()

    assert f'Media <span class="op-prompt" title="{url}">Greeting</span>' in page
    assert (
        'Media <span class="op-prompt" title="https://cdn.example.com/other.wav">'
        "https://cdn.example.com/other.wav</span>" in page
    )


def test_the_player_is_named_and_its_waveform_is_a_seek_bar(make_operation):
    operation = completed(make_operation)
    store(operation, duration_seconds=4.25, waveform_svg="<svg></svg>")
    page = operator(VIEW, "download_recording").get(page_of(operation)).content.decode()
    assert f'aria-label="Recording of {operation.graph_id}"' in page
    assert 'role="slider" tabindex="0" data-player="op-player"' in page
    assert 'aria-valuemin="0" aria-valuemax="4.2"' in page or 'aria-valuemax="4.3"' in page
    assert 'class="op-playhead"' in page
    assert "recordings/player.js" in page
