import json
import re
from dataclasses import replace

import pytest
import responses
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from recordings.forms import RecordForm
from recordings.graph.profiles import PROFILES
from recordings.models import (
    Call,
    CallState,
    RecordOperation,
    RecordRequest,
    RequestStatus,
)
from tests.support.operators import VIEW_CALL, operator

pytestmark = pytest.mark.django_db

OP_ID = "0fe0623f-d628-42ed-b4bd-8ac290072cc5"


@pytest.fixture
def recorder(db):
    return operator(VIEW_CALL, "start_recording", "view_recordoperation")


def record_page(call):
    return reverse("admin:recordings_call_record", args=[call.pk])


def record_url(settings, call):
    if settings.GRAPH_API_PROFILE == "beta-record":
        return f"{settings.GRAPH_API_BASE_URL}/app/calls/{call.graph_id}/record"
    return f"{settings.GRAPH_API_BASE_URL}/communications/calls/{call.graph_id}/recordResponse"


def accept(graph_http, settings, call, op_id=OP_ID):
    graph_http.add(
        responses.POST,
        record_url(settings, call),
        json={"id": op_id, "status": "running", "clientContext": "ctx"},
    )


def sent_bodies(graph_http):
    return [
        json.loads(c.request.body)
        for c in graph_http.calls
        if c.request.url.startswith("http://graph.test/")
    ]


def form_data(*prompts, **fields):
    """The POST the Record page makes: its settings and an ordered prompt formset."""
    data = {
        "prompts-TOTAL_FORMS": str(len(prompts)),
        "prompts-INITIAL_FORMS": "0",
        "prompts-MIN_NUM_FORMS": "0",
        "prompts-MAX_NUM_FORMS": "1000",
        "play_beep": "on",
        "initial_silence_timeout": "5",
        "max_silence_timeout": "5",
        "max_record_duration": "5",
        "client_context": "",
    }
    for index, prompt in enumerate(prompts):
        for name, value in prompt.items():
            data[f"prompts-{index}-{name}"] = value
    for name, value in fields.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def test_the_beta_page_offers_silence_loops_stream_while_recording_and_the_keypad(recorder, call):
    html = recorder.get(record_page(call)).content.decode()

    assert 'data-add-prompt="silence"' in html
    assert 'name="prompts-__prefix__-loop"' in html
    assert 'name="stream_while_recording"' in html
    assert 'max="1800"' in html and 'max="300"' in html
    assert all(f'value="{key}"' in html for key in "0123456789*#ABCD")
    assert "Record call 421f1100-f4ff-4d0b-a10e-a4d5b1d2be55" in html
    assert f'href="{reverse("admin:recordings_call_change", args=[call.pk])}"' in html


def test_the_v1_page_offers_one_media_prompt_without_silence_loops_or_streaming(
    v1_profile, recorder, call
):
    html = recorder.get(record_page(call)).content.decode()

    assert 'data-add-prompt="silence"' not in html
    assert 'name="prompts-__prefix__-loop"' not in html
    assert 'name="stream_while_recording"' not in html
    assert 'data-max-prompts="1"' in html
    assert 'max="120"' in html and 'max="1800"' not in html


def test_submitting_sends_the_record_action_the_form_describes_in_the_rows_order(
    recorder, call, graph_http, settings, welcome
):
    accept(graph_http, settings, call)
    data = form_data(
        {"kind": "media", "library_prompt": str(welcome.pk), "loop": "2", "ORDER": "3"},
        {"kind": "silence", "duration_ms": "700", "ORDER": "1"},
        {"kind": "media", "uri": "https://cdn.example.com/gone.wav", "ORDER": "2", "DELETE": "on"},
        {"kind": "media", "uri": "https://cdn.example.com/tone.wav", "ORDER": "2"},
        play_beep=None,
        barge_in_allowed="on",
        stream_while_recording="on",
        initial_silence_timeout="7",
        max_silence_timeout="3",
        max_record_duration="240",
        stop_tones=["#", "1"],
        client_context="operator-chosen",
    )

    response = recorder.post(record_page(call), data)

    operation = RecordOperation.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:recordings_recordoperation_change", args=[operation.pk])
    assert sent_bodies(graph_http) == [
        {
            "prompts": [
                {"@odata.type": "#microsoft.graph.silencePrompt", "duration": 700},
                {
                    "@odata.type": "#microsoft.graph.mediaPrompt",
                    "mediaInfo": {"uri": "https://cdn.example.com/tone.wav"},
                },
                {
                    "@odata.type": "#microsoft.graph.mediaPrompt",
                    "mediaInfo": {"uri": "https://prompts.example.com/media/prompts/welcome.wav"},
                    "loop": 2,
                },
            ],
            "bargeInAllowed": True,
            "playBeep": False,
            "initialSilenceTimeoutInSeconds": 7,
            "maxSilenceTimeoutInSeconds": 3,
            "maxRecordDurationInSeconds": 240,
            "stopTones": ["1", "#"],
            "clientContext": "operator-chosen",
            "streamWhileRecording": True,
        }
    ]
    assert operation.record_request.requested_by == recorder.user


def test_starting_a_recording_leaves_an_admin_log_entry_on_the_call(
    recorder, call, graph_http, settings
):
    accept(graph_http, settings, call)
    recorder.post(record_page(call), form_data())

    entry = LogEntry.objects.get()
    assert (entry.user, entry.object_id) == (recorder.user, str(call.pk))
    assert entry.get_change_message() == f"Started a recording: operation {OP_ID} (beta-record)."


def test_a_blank_client_context_is_generated_and_blank_timeouts_are_not_sent(
    recorder, call, graph_http, settings
):
    accept(graph_http, settings, call)
    recorder.post(
        record_page(call),
        form_data(initial_silence_timeout="", max_silence_timeout="", max_record_duration=""),
    )

    (body,) = sent_bodies(graph_http)
    assert re.fullmatch(r"[0-9a-f-]{36}", body.pop("clientContext"))
    assert body == {"playBeep": True, "bargeInAllowed": False, "streamWhileRecording": False}


def test_a_timeout_beyond_the_profile_is_refused_on_its_field_and_nothing_is_sent(
    v1_profile, recorder, call, graph_http
):
    response = recorder.post(record_page(call), form_data(max_record_duration="300"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Please correct the errors below; nothing was sent to Graph." in html
    assert (
        "The maximum record duration must be a whole number of seconds from 1 to 120 on the "
        "v1.0 profile; got 300." in html
    )
    assert re.search(r'<input[^>]*name="max_record_duration"[^>]*value="300"', html)
    assert sent_bodies(graph_http) == []
    assert not RecordRequest.objects.exists()


def test_the_v1_profile_refuses_a_second_prompt_in_its_own_words(v1_profile, recorder, call):
    response = recorder.post(
        record_page(call),
        form_data(
            {"kind": "media", "uri": "https://cdn.example.com/a.wav"},
            {"kind": "media", "uri": "https://cdn.example.com/b.wav"},
        ),
    )
    assert "The v1.0 profile plays at most 1 prompt; this request has 2." in (
        response.content.decode()
    )


def test_a_silence_row_needs_a_length_and_a_media_row_a_prompt_or_uri(recorder, call):
    response = recorder.post(record_page(call), form_data({"kind": "silence"}, {"kind": "media"}))
    html = response.content.decode()
    assert "Give the silence a length in milliseconds." in html
    assert "Pick an uploaded prompt or type the URI of a WAV file." in html


def test_a_removed_row_is_not_checked(recorder, call, graph_http, settings):
    accept(graph_http, settings, call)
    response = recorder.post(record_page(call), form_data({"kind": "silence", "DELETE": "on"}))
    assert response.status_code == 302
    assert "prompts" not in sent_bodies(graph_http)[0]


def test_when_graph_refuses_the_page_comes_back_with_everything_entered_and_says_why(
    recorder, call, graph_http, settings, welcome
):
    graph_http.add(
        responses.POST,
        record_url(settings, call),
        status=400,
        json={"error": {"code": "BadRequest", "message": "The prompt could not be fetched."}},
    )
    data = form_data(
        {"kind": "silence", "duration_ms": "1500", "ORDER": "2"},
        {"kind": "media", "library_prompt": str(welcome.pk), "loop": "3", "ORDER": "1"},
        barge_in_allowed="on",
        max_record_duration="42",
        stop_tones=["*", "D"],
        client_context="keep-me",
    )

    response = recorder.post(record_page(call), data)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Graph did not start the recording." in html
    assert "Graph refused the request (400 BadRequest: The prompt could not be fetched.)" in html
    assert re.search(r'name="prompts-0-duration_ms"[^>]*value="1500"', html)
    assert re.search(rf'<option value="{welcome.pk}" selected>Welcome \(2.4 s\)</option>', html)
    assert re.search(r'name="prompts-1-loop"[^>]*value="3"', html)
    assert re.search(r'name="prompts-1-ORDER"[^>]*value="1"', html)
    # The rows come back in the order the operator gave them.
    assert html.index('name="prompts-1-kind"') < html.index('name="prompts-0-kind"')
    assert re.search(r'type="checkbox" name="barge_in_allowed"[^>]*checked', html)
    assert re.search(r'name="max_record_duration"[^>]*value="42"', html)
    assert re.search(r'value="\*"[^>]*checked', html)
    assert re.search(r'value="D"[^>]*checked', html)
    assert re.search(r'name="client_context" value="keep-me"', html)
    assert RecordRequest.objects.get().status == RequestStatus.REFUSED
    assert not LogEntry.objects.exists()


def test_an_ended_call_has_no_record_page_but_a_sentence_saying_why(recorder, call):
    call.state = CallState.TERMINATED
    call.save()
    response = recorder.get(record_page(call), follow=True)
    assert "is terminated; only a live call can be recorded." in response.content.decode()


def test_recording_selected_calls_starts_the_same_recording_on_each(
    recorder, call, graph_http, settings
):
    other = Call.objects.create(graph_id="second-call", state=CallState.ESTABLISHED)
    accept(graph_http, settings, call)
    accept(graph_http, settings, other, op_id="second-op")

    response = recorder.post(
        f"{record_page(call)}?calls={call.pk},{other.pk}",
        form_data({"kind": "silence", "duration_ms": "300"}, stop_tones=["#"]),
    )

    assert response.url == reverse("admin:recordings_recordoperation_changelist")
    assert [b["prompts"] for b in sent_bodies(graph_http)] == [
        [{"@odata.type": "#microsoft.graph.silencePrompt", "duration": 300}]
    ] * 2
    assert set(RecordOperation.objects.values_list("call", flat=True)) == {call.pk, other.pk}
    assert LogEntry.objects.count() == 2


def test_a_bad_row_and_a_bad_timeout_are_both_shown_at_once(recorder, call, graph_http):
    response = recorder.post(
        record_page(call),
        form_data(
            {"kind": "media", "uri": "https://cdn.example.com/a.wav", "loop": "0"},
            max_record_duration="2000",
        ),
    )
    html = response.content.decode()
    assert "Play it at least once." in html
    assert "from 1 to 1800 on the beta-record profile; got 2000." in html
    assert sent_bodies(graph_http) == []


def test_an_operator_who_cannot_see_operations_lands_on_the_call_list_after_starting(
    call, graph_http, settings
):
    accept(graph_http, settings, call)
    client = operator(VIEW_CALL, "start_recording")
    response = client.post(record_page(call), form_data(), follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:recordings_call_changelist")
    assert f"Recording started on call {call.graph_id}." in response.content.decode()


def test_the_beta_page_refuses_what_the_emulator_would_and_sends_nothing(
    beta_profile, recorder, call, graph_http
):
    response = recorder.post(
        record_page(call),
        form_data(
            {"kind": "silence", "duration_ms": "400000"},
            {"kind": "media", "uri": "https://cdn.example.com/a.wav", "loop": "500"},
        ),
    )
    html = response.content.decode()
    assert (
        "A silence prompt needs a duration from 1 to 300,000 milliseconds on the "
        "beta-record profile; got 400000." in html
    )
    assert "A prompt plays from 1 to 100 times on the beta-record profile" in html
    assert re.search(r'name="prompts-0-duration_ms"[^>]*max="300000"', html)
    assert re.search(r'name="prompts-1-loop"[^>]*max="100"', html)
    assert sent_bodies(graph_http) == []


def test_a_graph_refusal_names_prompts_as_the_page_numbers_them(
    recorder, call, graph_http, settings
):
    graph_http.add(
        responses.POST,
        record_url(settings, call),
        status=400,
        json={"error": {"code": "BadRequest", "message": "prompts[0].mediaInfo.uri is bad."}},
    )
    data = form_data({"kind": "media", "uri": "https://cdn.example.com/a.wav"})
    html = recorder.post(record_page(call), data).content.decode()
    assert "prompt 1&#x27;s mediaInfo.uri is bad." in html
    assert "prompts[0]" not in html


def test_every_problem_is_shown_at_once_each_on_its_own_field(recorder, call, graph_http):
    response = recorder.post(
        record_page(call),
        form_data(
            {"kind": "media"},
            {"kind": "media", "uri": "https://cdn.example.com/a.wav", "loop": "0"},
            {"kind": "silence", "duration_ms": "4000000"},
            {"kind": "media", "uri": "ftp://cdn.example.com/b.wav"},
            initial_silence_timeout="",
            max_silence_timeout="abc",
            max_record_duration="2000",
        ),
    )

    form, formset = response.context["form"], response.context["formset"]
    rows = formset.forms
    assert rows[0].errors == {"uri": ["Pick an uploaded prompt or type the URI of a WAV file."]}
    assert rows[1].errors == {"loop": ["Play it at least once."]}
    assert rows[2].errors == {
        "duration_ms": [
            "A silence prompt needs a duration from 1 to 300,000 milliseconds on the beta-record "
            "profile; got 4000000."
        ]
    }
    assert rows[3].errors == {
        "uri": ["The media URI must be an http or https address with a host."]
    }
    assert formset.non_form_errors() == []
    assert form.errors == {
        "max_silence_timeout": ["Enter a whole number."],
        "max_record_duration": [
            "The maximum record duration must be a whole number of seconds from 1 to 1800 on "
            "the beta-record profile; got 2000."
        ],
    }
    assert sent_bodies(graph_http) == []


def test_too_many_prompts_is_said_even_when_a_row_is_wrong_too(v1_profile, recorder, call):
    response = recorder.post(
        record_page(call),
        form_data({"kind": "media"}, {"kind": "media", "uri": "https://cdn.example.com/b.wav"}),
    )
    formset = response.context["formset"]
    assert formset.non_form_errors() == [
        "The v1.0 profile plays at most 1 prompt; this request has 2."
    ]
    assert formset.forms[0].errors["uri"]


def test_the_page_starts_with_room_for_a_voice_message(recorder, call):
    html = recorder.get(record_page(call)).content.decode()
    assert re.search(r'name="max_record_duration"[^>]*value="60"', html)
    assert re.search(r'name="initial_silence_timeout"[^>]*value="5"', html)
    assert re.search(r'name="max_silence_timeout"[^>]*value="5"', html)


def test_the_suggested_duration_stays_within_a_profile_that_allows_less(call):
    v1 = PROFILES["v1.0"]
    tight = replace(v1, timeouts={**v1.timeouts, "max_record_duration": (1, 30)})
    assert RecordForm(rules=tight).fields["max_record_duration"].initial == 30
