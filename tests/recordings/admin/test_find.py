"""Finding recordings: search by what the lists show (a shortened id, the caller's number
with or without +, a client context), from/to dates, the columns that say who and how long,
the zip of many recordings, and how long audio is kept."""

import csv
import hashlib
import io
import zipfile
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recordings.models import Call, CallState, RecordOperation
from tests.support.factories import completed, store
from tests.support.operators import LIST, VIEW, VIEW_CALL, operator, page_of

pytestmark = pytest.mark.django_db

CALLS = "/admin/recordings/call/"
SHORT_ID = "ac543813-09aa-4f6e-a0d5-3f1c5e7b2d11"


def listed(client, url=LIST, **params) -> str:
    return client.get(url, params).content.decode()


# --- Search -----------------------------------------------------------------------------------


def test_an_operation_is_found_by_its_id_as_the_list_shortens_it_in_any_case(make_operation):
    make_operation(graph_id=SHORT_ID)
    make_operation(graph_id="bd000000-0000-0000-0000-000000000000")
    client = operator(VIEW)
    for term in ("ac543813…", "AC543813", "ac54", SHORT_ID.upper()):
        page = listed(client, q=term)
        assert SHORT_ID in page and "bd000000-0000" not in page, term
    assert SHORT_ID not in listed(client, q="543813")  # the middle of an id is not its start


def test_an_operation_is_found_by_its_callers_number_with_or_without_the_plus(make_operation):
    other = Call.objects.create(
        graph_id="other-call", state=CallState.ESTABLISHED, caller_id="+4455"
    )
    make_operation(graph_id="op-mine")
    make_operation(graph_id="op-other", call=other)
    client = operator(VIEW)
    for term in ("+12345678901", "12345678901"):
        page = listed(client, q=term)
        assert "op-mine" in page and "op-other" not in page, term


def test_an_operation_is_found_by_its_calls_shortened_id_and_by_client_context(
    make_operation, call
):
    make_operation(graph_id="op-mine", client_context="ticket-4711")
    client = operator(VIEW)
    assert "op-mine" in listed(client, q=call.graph_id[:8] + "…")
    assert "op-mine" in listed(client, q="ticket-4711")
    assert "op-mine" not in listed(client, q="ticket")


def test_a_call_is_found_by_its_shortened_id_and_its_callers_number(call):
    client = operator(VIEW_CALL)
    assert call.graph_id in listed(client, CALLS, q=call.graph_id[:8].upper())
    assert call.graph_id in listed(client, CALLS, q="12345678901")
    assert call.graph_id in listed(client, CALLS, q="+12345678901")


# --- Dates ------------------------------------------------------------------------------------


def test_operations_and_calls_are_listed_from_one_day_to_another(make_operation, call):
    old = make_operation(graph_id="op-old")
    make_operation(graph_id="op-new")
    RecordOperation.objects.filter(pk=old.pk).update(
        created_at=timezone.make_aware(timezone.datetime(2026, 3, 10, 12))
    )
    Call.objects.filter(pk=call.pk).update(
        created_at=timezone.make_aware(timezone.datetime(2026, 3, 10, 12))
    )
    client = operator(VIEW, VIEW_CALL)
    page = listed(client, created_at__from="2026-03-10", created_at__to="2026-03-10")
    assert "op-old" in page and "op-new" not in page
    assert 'type="date" name="created_at__from" value="2026-03-10"' in page
    assert "op-old" not in listed(client, created_at__from="2026-03-11")
    assert "op-new" in listed(client, created_at__from="2026-03-11")
    assert call.graph_id in listed(client, CALLS, created_at__to="2026-03-10")
    assert call.graph_id not in listed(client, CALLS, created_at__from="2026-03-11")


def test_a_date_that_is_no_date_is_refused_like_any_bad_filter(make_operation):
    response = operator(VIEW).get(LIST, {"created_at__from": "yesterday"})
    assert response.status_code == 302 and "e=1" in response["Location"]


# --- Columns ----------------------------------------------------------------------------------


def test_the_operations_list_shows_the_caller_the_call_and_a_copyable_whole_id(make_operation):
    make_operation(graph_id=SHORT_ID)
    page = listed(operator(VIEW))
    assert "+12345678901" in page
    assert "ac543813…" in page
    assert f'data-copy="{SHORT_ID}"' in page and "421f1100…" in page


def test_the_calls_list_shows_each_calls_duration_and_recording_length(make_operation, call):
    now = timezone.now()
    Call.objects.filter(pk=call.pk).update(
        answered_at=now - timedelta(seconds=95), ended_at=now, state="terminated"
    )
    store(completed(make_operation), duration_seconds=12.5)
    page = listed(operator(VIEW_CALL), CALLS)
    assert "1 min 35.0 s" in page and "12.5 s" in page
    assert f'data-copy="{call.graph_id}"' in page


def test_the_list_offers_a_small_player_only_with_the_download_permission(make_operation):
    store(completed(make_operation))
    assert '<audio controls preload="none"' in listed(operator(VIEW, "download_recording"))
    assert "<audio" not in listed(operator(VIEW, username="viewer"))


# --- Retention --------------------------------------------------------------------------------


def test_retention_says_until_when_the_audio_is_kept_or_when_it_was_purged(
    make_operation, settings
):
    settings.RECORDING_RETENTION_DAYS = 30
    stored_at = timezone.make_aware(timezone.datetime(2026, 11, 1, 12))
    kept = completed(make_operation, graph_id="op-kept")
    store(kept, stored_at=stored_at)
    held = completed(make_operation, graph_id="op-held", legal_hold=True)
    store(held, stored_at=stored_at)
    purged = completed(make_operation, graph_id="op-purged")
    store(purged, status="purged", purged_at=stored_at + timedelta(days=30))

    client = operator(VIEW)
    page = listed(client)  # under the column's "audio kept" heading, the sentence on hover
    assert '<span title="audio kept until 2026-12-01">until 2026-12-01</span>' in page
    assert '<span title="kept: legal hold">legal hold</span>' in page
    assert "purged on 2026-12-01" in page
    assert "audio kept until 2026-12-01" in client.get(page_of(kept)).content.decode()
    assert "kept: legal hold" in client.get(page_of(held)).content.decode()


# --- Many recordings at once ------------------------------------------------------------------


def zip_of(client, operations):
    response = client.post(
        LIST,
        {"action": "download_selected_zip", "_selected_action": [op.pk for op in operations]},
    )
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_the_selected_recordings_download_as_one_zip_with_a_manifest(
    make_operation, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    operations = []
    for n, audio in enumerate((b"RIFF-one", b"RIFF-two")):
        operation = completed(make_operation, graph_id=f"op-zip-{n}")
        recording = store(operation, file="", sha256=hashlib.sha256(audio).hexdigest())
        recording.file.save(f"op-zip-{n}.wav", ContentFile(audio))
        operations.append(operation)
    running = make_operation(graph_id="op-running")

    archive = zip_of(operator(VIEW, "download_recording"), [*operations, running])
    assert sorted(archive.namelist()) == ["manifest.csv", "op-zip-0.wav", "op-zip-1.wav"]
    assert archive.read("op-zip-1.wav") == b"RIFF-two"
    assert all(i.compress_type == zipfile.ZIP_STORED for i in archive.infolist())
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
    assert rows[0]["operation id"] == "op-zip-0"
    assert rows[0]["caller"] == "+12345678901"
    assert rows[0]["reason"] == "Stop tone detected"
    assert rows[0]["duration (s)"] == "4.250"
    assert rows[1]["sha256"] == hashlib.sha256(b"RIFF-two").hexdigest()
    assert rows[1]["file name"] == "op-zip-1.wav"


def test_the_zip_needs_the_download_permission(make_operation):
    operation = completed(make_operation)
    store(operation)
    client = operator(VIEW)
    page = listed(client)
    assert "download_selected_zip" not in page
    response = client.post(
        LIST, {"action": "download_selected_zip", "_selected_action": [operation.pk]}
    )
    assert not getattr(response, "streaming", False)


def test_a_whole_number_or_an_id_prefix_finds_calls_by_index_without_scanning_names(call):
    client = operator(VIEW_CALL)
    for term in ("+12345678901", call.graph_id[:8]):
        with CaptureQueriesContext(connection) as captured:
            assert call.graph_id in listed(client, CALLS, q=term)
        sql = " ".join(q["sql"] for q in captured.captured_queries)
        assert "caller_name" not in sql.split("FROM")[-1] and "LIKE '%" not in sql, term
