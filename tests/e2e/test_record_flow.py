"""A call rings, Recorder answers it, records the caller and learns the outcome: all over real
HTTP between Recorder, the emulator and a task worker, for both Graph profiles, and through
each of the emulator's faults."""

import io
import wave

import pytest
import requests

from recordings.graph import RecordSpec
from recordings.models import GraphExchange, Notification, RecordOperation
from recordings.services import calls as call_services
from recordings.services import errors as service_errors
from recordings.services import operations as operation_services
from recordings.services import recordings as recording_services
from tests.support.e2e import answered_call, set_faults, stop_tone_spec

pytestmark = pytest.mark.e2e

PROFILES = ["beta-record", "v1.0"]


def fetch_wav(operation: RecordOperation) -> wave.Wave_read:
    response = requests.get(
        operation.recording_location,
        headers={"Authorization": f"Bearer {operation.recording_access_token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return wave.open(io.BytesIO(response.content))


@pytest.mark.parametrize("profile", PROFILES)
def test_a_call_is_answered_and_recorded_until_the_stop_tone(recorder, profile):
    recorder.configure(profile)
    # On v1.0, as Graph documents, the completion names no completionReason: Recorder
    # reads how it ended from resultInfo.
    call = answered_call(recorder, "speak 1.5; press #")
    assert call.caller_id == "+15550100"
    assert call.answered_at is not None

    operation = recording_services.start_recording(
        call=call, spec=stop_tone_spec(recorder, profile)
    )
    assert operation.status == "running"
    recorder.wait_until_final(operation)

    assert operation.status == "completed"
    assert operation.completion_reason == "stopToneDetected"
    assert operation.recording_location.startswith(f"{recorder.url}/emulator/")
    audio = fetch_wav(operation)
    assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (16000, 1, 2)
    assert 1.4 <= audio.getnframes() / 16000 <= 2.5
    exchange = GraphExchange.objects.get(record_request=operation.record_request)
    assert exchange.response_status == 200
    assert exchange.graph_request_id
    path = "/app/calls/" if profile == "beta-record" else "/communications/calls/"
    assert path in exchange.url


def test_the_record_command_waits_for_the_outcome(recorder):
    from django.core.management import call_command

    call = answered_call(recorder, "speak 1; silence 3")
    out = io.StringIO()
    call_command(
        "record", call.graph_id, "--max-silence", "1", "--wait", "--timeout", "20", stdout=out
    )
    lines = out.getvalue().strip().splitlines()
    assert RecordOperation.objects.filter(graph_id=lines[0]).exists()
    assert lines[-1] == "completed maxSilenceTimeout"


def test_a_cancelled_recording_ends_as_failed_operation_canceled(recorder):
    call = answered_call(recorder, "speak 30")
    operation = recording_services.start_recording(
        call=call, spec=RecordSpec(prompts=(), max_record_duration=60)
    )
    recording_services.cancel_recording(operation=operation)
    recorder.wait_until_final(operation)
    assert (operation.status, operation.completion_reason) == ("failed", "operationCanceled")
    assert (operation.result_code, operation.result_subcode) == (400, 8508)


def test_hanging_up_ends_the_call(recorder):
    call = answered_call(recorder, "speak 1")
    call_services.hang_up(call=call)
    recorder.wait_for_call(call.graph_id, "terminated")


# --- Faults ---------------------------------------------------------------------------------


def test_recorder_rides_out_throttling(recorder):
    call = answered_call(recorder, "speak 1; press #")
    set_faults(recorder, throttle={"count": 2, "retry_after": 0.2})
    operation = recording_services.start_recording(
        call=call, spec=stop_tone_spec(recorder, "beta-record")
    )
    exchange = GraphExchange.objects.get(record_request=operation.record_request)
    assert exchange.attempts == 3
    assert recorder.wait_until_final(operation).completion_reason == "stopToneDetected"


def test_recorder_rides_out_a_server_error(recorder):
    call = answered_call(recorder, "speak 1; press #")
    set_faults(recorder, server_error={"count": 1, "status": 503})
    operation = recording_services.start_recording(
        call=call, spec=stop_tone_spec(recorder, "beta-record")
    )
    assert GraphExchange.objects.get(record_request=operation.record_request).attempts == 2
    assert recorder.wait_until_final(operation).completion_reason == "stopToneDetected"


def test_recorder_waits_out_a_slow_graph(recorder):
    call = answered_call(recorder, "speak 1; press #")
    set_faults(recorder, slow={"seconds": 1.0, "count": 1})
    operation = recording_services.start_recording(
        call=call, spec=stop_tone_spec(recorder, "beta-record")
    )
    assert recorder.wait_until_final(operation).completion_reason == "stopToneDetected"


def test_a_slow_graph_past_the_timeout_leaves_a_clear_error(recorder):
    call = answered_call(recorder, "speak 1; press #")
    recorder.settings.GRAPH_TIMEOUT = 0.3
    set_faults(recorder, slow={"seconds": 2.0, "count": 5})
    with pytest.raises(service_errors.GraphActionFailed) as failed:
        recording_services.start_recording(call=call, spec=stop_tone_spec(recorder, "beta-record"))
    assert failed.value.record_request.status == "error"
    assert failed.value.message


def test_duplicated_notifications_are_applied_once(recorder):
    set_faults(recorder, duplicate_notifications=True)
    call = answered_call(recorder, "speak 1; press #")
    operation = recording_services.start_recording(
        call=call, spec=stop_tone_spec(recorder, "beta-record")
    )
    recorder.wait_until_final(operation)
    finished_at = operation.finished_at
    recorder.wait_for(lambda: _deliveries_about(operation) >= 2, what="the duplicate completion")
    operation.refresh_from_db()
    assert operation.finished_at == finished_at
    assert operation.completion_reason == "stopToneDetected"


def _deliveries_about(operation: RecordOperation) -> int:
    return sum(operation.graph_id in row.body_text for row in Notification.objects.all())


def test_reordered_notifications_settle_to_the_right_state(recorder):
    set_faults(recorder, reorder_notifications=True)
    call = answered_call(recorder, "speak 1; press #")
    operation = recording_services.start_recording(
        call=call, spec=stop_tone_spec(recorder, "beta-record")
    )
    recorder.wait_until_final(operation)
    call.refresh_from_db()
    assert call.state == "established"
    assert operation.completion_reason == "stopToneDetected"


def test_a_dropped_completion_is_recovered_by_asking_graph(recorder):
    call = answered_call(recorder, "speak 1; press #")
    set_faults(recorder, drop_notifications={"count": 1})
    operation = recording_services.start_recording(
        call=call, spec=stop_tone_spec(recorder, "beta-record")
    )
    recorder.wait_for(
        lambda: operation_services.reconcile_operation(operation=operation),
        what="Graph to report the operation finished",
    )
    operation.refresh_from_db()
    assert (operation.status, operation.completion_reason) == ("completed", "stopToneDetected")
    assert operation.recorder_reason == ""


def test_a_completion_lost_on_hang_up_is_closed_after_the_call_ends(recorder):
    call = answered_call(recorder, "speak 1; hangup")
    operation = recording_services.start_recording(
        call=call, spec=RecordSpec(prompts=(), max_record_duration=30)
    )
    recorder.wait_for_call(call.graph_id, "terminated")
    # The worker runs the close Recorder scheduled when the call ended.
    recorder.wait_until_final(operation)
    assert operation.status in ("completed", "failed")
    if operation.status == "failed":
        # The script hung up: the caller ended the call.
        assert operation.recorder_reason == "callerHungUp"
    assert not Notification.objects.filter(error__gt="").exists()


def test_an_expired_link_is_refused_by_the_emulator(recorder):
    set_faults(recorder, expire_links=True)
    call = answered_call(recorder, "speak 1; press #")
    operation = recording_services.start_recording(
        call=call, spec=stop_tone_spec(recorder, "beta-record")
    )
    recorder.wait_until_final(operation)
    assert operation.completion_reason == "stopToneDetected"
    response = requests.get(
        operation.recording_location,
        headers={"Authorization": f"Bearer {operation.recording_access_token}"},
        timeout=10,
    )
    assert response.status_code == 404
