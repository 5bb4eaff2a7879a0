"""The rules of display every page and the record command share."""

import json
from datetime import UTC, datetime

import pytest
from django.utils import formats

from recordings import display
from recordings.models import RecordOperation
from tests.support.graph import graph_fixture

OP_ID = "0fe0623f-d628-42ed-b4bd-8ac290072cc5"
CLOSED_OVERDUE = "Closed by Recorder: running far past its maximum duration"


# --- Which reason an operation shows ------------------------------------------------------


def test_recorders_own_reason_wins_over_graphs():
    key = display.reason_key("stopToneDetected", "overdue")
    assert key == "overdue"
    assert display.reason_label(key) == CLOSED_OVERDUE
    assert display.reason_tone(key) == "error"


def test_graphs_reason_shows_while_recorder_has_none():
    key = display.reason_key("stopToneDetected", "")
    assert key == "stopToneDetected"
    assert display.reason_label(key) == "Stop tone detected"
    assert display.reason_tone(key) == "ok"


def test_an_operation_without_a_reason_says_so():
    assert display.reason_key("", "") == ""
    assert display.reason_label("") == display.NO_REASON


def test_a_reason_graph_does_not_document_is_shown_as_sent():
    assert display.reason_label("callerWentFishing") == "callerWentFishing"
    assert display.reason_tone("callerWentFishing") == "muted"


@pytest.mark.parametrize(
    ("completion_reason", "recorder_reason", "label"),
    [
        ("stopToneDetected", "overdue", CLOSED_OVERDUE),
        ("maxSilenceTimeout", "", "Max silence timeout"),
        ("", "", ""),
    ],
)
def test_the_models_label_follows_the_same_precedence(completion_reason, recorder_reason, label):
    operation = RecordOperation(
        completion_reason=completion_reason, recorder_reason=recorder_reason
    )
    assert operation.completion_reason_label == label


# --- What a notification said --------------------------------------------------------------


def test_a_notification_is_summed_up_per_item_with_its_operation_id():
    body = json.dumps(graph_fixture("v1.0/notification-completed")).encode()
    summary = display.summarize_notification(body)
    assert summary.lines() == [
        ("deleted operation 0fe0623f…: completed, maxRecordDurationReached", OP_ID)
    ]
    assert summary.about(OP_ID.upper()) == "deleted: completed, maxRecordDurationReached"


def test_the_timeline_counts_what_a_notification_said_of_other_resources():
    payload = graph_fixture("v1.0/notification-completed")
    payload["value"] += graph_fixture("v1.0/notification-call-established")["value"]
    summary = display.summarize_notification(memoryview(json.dumps(payload).encode()))
    assert summary.about(OP_ID) == "deleted: completed, maxRecordDurationReached (and 1 other item)"
    assert summary.lines()[1] == ("updated call 421f1100…: established", "")


def test_a_body_the_parser_cannot_read_is_called_unreadable():
    summary = display.summarize_notification(b"{not json")
    assert summary.lines() == [("unreadable body", "")]
    assert summary.about(OP_ID) == "unreadable body"


# --- Numbers, ids ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"), [(None, "—"), (4.25, "4.2 s"), (75.0, "1 min 15.0 s")]
)
def test_durations_read_in_seconds_then_minutes(seconds, text):
    assert display.duration_text(seconds) == text


@pytest.mark.parametrize(
    ("size", "text"), [(None, ""), (900, "900 bytes"), (136_000, "132.8 KB"), (3 << 20, "3.0 MB")]
)
def test_sizes_read_in_the_largest_fitting_unit(size, text):
    assert display.size_text(size) == text


def test_a_long_id_is_shortened_and_a_short_one_kept():
    assert display.short_id(OP_ID) == "0fe0623f…"
    assert display.short_id("op-1") == "op-1"


# --- Status --------------------------------------------------------------------------------


def test_a_cancel_reads_as_a_cancel_by_its_operator_in_a_neutral_colour():
    badge = display.status_badge("failed", "operationCanceled", "alice")
    assert badge == '<span class="op-badge op-status-cancelled">Cancelled by alice</span>'


def test_a_cancel_graph_made_on_its_own_reads_as_cancelled():
    assert display.status_words("failed", "operationCanceled") == "Cancelled"


def test_a_failure_still_reads_as_a_failure():
    badge = display.status_badge("failed", "playPromptFailed")
    assert badge == '<span class="op-badge op-status-failed">Failed</span>'


# --- Graph's result codes and the legal hold -----------------------------------------------


def test_a_known_result_code_reads_in_words_with_the_code_on_hover():
    html = display.result_html(200, 8515, "Action completed, max record duration reached.")
    assert html == (
        '<span class="op-result" title="200/8515: Action completed, max record duration '
        'reached.">Maximum duration reached</span>'
    )


def test_an_unknown_result_code_reads_as_graphs_message():
    html = display.result_html(500, 9999, "Something broke.")
    assert html == '<span class="op-result" title="500/9999">Something broke.</span>'


def test_no_result_reads_as_a_dash():
    assert display.result_html(None, None, "") == "—"


def test_the_legal_hold_reads_as_a_word():
    assert display.legal_hold_text(True) == "On hold"
    assert display.legal_hold_text(False) == "Not on hold"


# --- Times -----------------------------------------------------------------------------------


def test_a_moment_reads_the_same_everywhere_with_its_zone(settings):
    moment = datetime(2026, 12, 1, 21, 28, 9, 42_500, tzinfo=UTC)
    assert display.time_text(moment) == "2026-12-01 21:28:09 UTC"
    assert display.compact_time(moment) == "2026-12-01 21:28:09 UTC"
    assert display.time_text(moment, precise=True) == "2026-12-01 21:28:09.042 UTC"
    # The admin's own fields write it the same way.
    assert formats.localize(moment) == "2026-12-01 21:28:09 UTC"
    settings.TIME_ZONE = "Europe/Berlin"
    assert display.time_text(moment) == "2026-12-01 22:28:09 CET"
