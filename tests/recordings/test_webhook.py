import contextlib
import copy
import json
import threading
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from recordings import webhook
from recordings.graph import GraphError, NotificationKeys
from recordings.models import Call, CallState, Notification
from tests.support.graph import TEST_KID, graph_fixture
from tests.support.hosts import Host, hanging

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_keys")]

URL = "/api/calls"


@pytest.fixture
def post(client, make_token, django_capture_on_commit_callbacks):
    def post(payload, *, token=None, raw: bytes | None = None, **extra):
        body = raw if raw is not None else json.dumps(payload).encode()
        headers = {}
        if token is not False:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {token or make_token()}"
        # Tests run inside a transaction: run what the webhook defers to commit as it would.
        with django_capture_on_commit_callbacks(execute=True):
            return client.generic(
                "POST", URL, body, content_type="application/json", **headers, **extra
            )

    return post


def completed_v1():
    return graph_fixture("v1.0/notification-completed")


# --- Authentication -------------------------------------------------------------------------


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["aud"] = "someone-else"
    forged = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    return f"{header}.{forged}.{signature}"


def _hs256_with_public_key(signing_key, make_token):
    public_pem = signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # PyJWT itself refuses to sign HMAC with a PEM key, so the token is put together by hand:
    # exactly what an attacker would do.
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    now = int(time.time())
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": TEST_KID}).encode())
    payload = b64(
        json.dumps(
            {
                "iss": "https://graph.microsoft.com",
                "aud": jwt.decode(make_token(), options={"verify_signature": False})["aud"],
                "iat": now,
                "nbf": now,
                "exp": now + 600,
            }
        ).encode()
    )
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def _alg_none(make_token):
    claims = jwt.decode(make_token(), options={"verify_signature": False})
    return jwt.encode(claims, None, algorithm="none", headers={"kid": TEST_KID})


REJECTIONS = {
    "no header": lambda f: None,
    "not a bearer token": lambda f: "Basic dXNlcjpwYXNz",
    "malformed token": lambda f: "Bearer not.a.jwt",
    "alg none": lambda f: f"Bearer {_alg_none(f['make_token'])}",
    "HS256 signed with the public key": lambda f: (
        f"Bearer {_hs256_with_public_key(f['signing_key'], f['make_token'])}"
    ),
    "expired": lambda f: f"Bearer {f['make_token'](exp=int(time.time()) - 3600)}",
    "not yet valid": lambda f: f"Bearer {f['make_token'](nbf=int(time.time()) + 3600)}",
    "no exp": lambda f: f"Bearer {f['make_token'](exp=None)}",
    "no nbf": lambda f: f"Bearer {f['make_token'](nbf=None)}",
    "wrong issuer": lambda f: f"Bearer {f['make_token'](iss='https://evil.example')}",
    "wrong audience": lambda f: f"Bearer {f['make_token'](aud='another-bot')}",
    "unknown kid": lambda f: f"Bearer {f['make_token'](kid='somebody-elses-key')}",
    "signed by another key under our kid": lambda f: (
        f"Bearer {f['make_token'](key=f['other_signing_key'])}"
    ),
    "tampered token body": lambda f: f"Bearer {_tamper(f['make_token']())}",
    "no tenant": lambda f: f"Bearer {f['make_token'](tid=None)}",
    "another tenant": lambda f: f"Bearer {f['make_token'](tid='another-tenant')}",
}


@pytest.mark.parametrize("case", REJECTIONS)
def test_it_rejects_a_bad_token_with_401_and_stores_nothing(
    case, client, make_token, signing_key, other_signing_key, make_operation, caplog
):
    operation = make_operation()
    authorization = REJECTIONS[case](
        {
            "make_token": make_token,
            "signing_key": signing_key,
            "other_signing_key": other_signing_key,
        }
    )
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = client.generic(
        "POST", URL, json.dumps(completed_v1()), content_type="application/json", **headers
    )
    assert response.status_code == 401, response.content
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert Notification.objects.count() == 0
    operation.refresh_from_db()
    assert operation.status == "running"
    assert "Rejected a notification" in caplog.text


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "image/png;q=1, */*;q=0"])
def test_every_answer_is_json_whatever_the_sender_accepts(post, make_operation, accept):
    """No negotiation: a 202, a 400 and a 401 are what Graph gets, never a 406 or a page."""
    make_operation()
    accepted = post(completed_v1(), HTTP_ACCEPT=accept)
    refused = post(None, raw=b"{not json", HTTP_ACCEPT=accept)
    unsigned = post(completed_v1(), token=False, HTTP_ACCEPT=accept)

    assert (accepted.status_code, refused.status_code, unsigned.status_code) == (202, 400, 401)
    for answer in (refused, unsigned):
        assert answer.headers["Content-Type"] == "application/json"
        assert json.loads(answer.content)


def test_it_accepts_a_token_within_the_clock_skew_leeway(post, make_token, make_operation):
    make_operation()
    response = post(completed_v1(), token=make_token(exp=int(time.time()) - 10))
    assert response.status_code == 202


def test_it_accepts_the_bot_framework_issuer(post, make_token, make_operation):
    make_operation()
    assert (
        post(completed_v1(), token=make_token(iss="https://api.botframework.com")).status_code
        == 202
    )


def test_a_token_graph_sends_again_is_checked_in_full_only_once(post, make_token, monkeypatch):
    from recordings import webhook

    checks = []
    full_check = webhook._verify
    monkeypatch.setattr(webhook, "_verify", lambda token: checks.append(token) or full_check(token))
    token = make_token()
    for _ in range(3):
        assert post(completed_v1(), token=token).status_code == 202
    assert len(checks) == 1


def test_a_checked_token_is_refused_once_it_expires(post, make_token, settings):
    settings.NOTIFICATION_LEEWAY_SECONDS = 0
    # Three seconds of life: the first post must land inside it even on a loaded machine.
    expires = int(time.time()) + 3
    token = make_token(exp=expires)
    assert post(completed_v1(), token=token).status_code == 202
    time.sleep(expires - time.time() + 1.05)  # PyJWT rejects only once now > exp
    assert post(completed_v1(), token=token).status_code == 401


def test_it_answers_503_and_stores_nothing_when_keys_cannot_be_fetched(post, graph_http, settings):
    graph_http.replace("GET", settings.NOTIFICATION_OPENID_CONFIG_URL, status=500)
    response = post(completed_v1())
    assert response.status_code == 503
    assert Notification.objects.count() == 0


def test_while_the_key_endpoint_hangs_other_notifications_get_503_at_once_saying_why(
    post, monkeypatch, caplog, graph_http
):
    with Host(hanging(), path="/") as host:
        graph_http.add_passthru(host.base_url)
        keys = NotificationKeys(f"{host.base_url}/.well-known/OpenIdConfiguration", timeout=2)
        monkeypatch.setattr(webhook, "notification_keys", lambda: keys)

        def fetch_that_hangs():
            with contextlib.suppress(GraphError):
                keys.signing_key("k")

        # Another request's token named a key Recorder has not loaded: its fetch hangs.
        first = threading.Thread(target=fetch_that_hangs)
        first.start()
        deadline = time.monotonic() + 5
        while host.hits == 0 and time.monotonic() < deadline:
            time.sleep(0.01)

        started = time.monotonic()
        response = post(completed_v1())
        took = time.monotonic() - started
        first.join()

    assert response.status_code == 503
    assert took < 0.5
    assert "being fetched for another request" in caplog.text
    assert host.hits == 1


# --- Limits and bad input -------------------------------------------------------------------


def test_it_refuses_a_body_over_one_mebibyte_with_413(post, settings):
    body = json.dumps({"value": [], "pad": "x" * settings.NOTIFICATION_MAX_BYTES}).encode()
    response = post(None, raw=body)
    assert response.status_code == 413
    assert Notification.objects.count() == 0


def test_it_answers_400_for_malformed_json_and_keeps_the_raw_row(post):
    response = post(None, raw=b'{"value": [')
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["detail"]
    row = Notification.objects.get()
    assert bytes(row.body) == b'{"value": ['
    assert "not valid JSON" in row.error
    assert row.processed_at is None


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ([1, 2], "value"),
        ({"nothing": []}, "value"),
        ({"value": [{"resourceUrl": "/communications/calls/x"}]}, "changeType"),
    ],
)
def test_it_answers_400_naming_the_problem_for_a_body_of_the_wrong_shape(post, payload, problem):
    response = post(payload)
    assert response.status_code == 400
    assert problem in response.json()["detail"]
    assert problem in Notification.objects.get().error


def test_it_keeps_the_row_with_a_traceback_and_answers_500_when_applying_fails(
    post, make_operation, monkeypatch
):
    from recordings.services import operations as operation_services

    make_operation()

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(operation_services, "advance_operation", explode)
    with pytest.raises(RuntimeError):
        post(completed_v1())
    row = Notification.objects.get()
    assert "disk on fire" in row.error
    assert "Traceback" in row.traceback


# --- Record operations ----------------------------------------------------------------------


def test_it_stores_the_raw_post_and_applies_a_v1_completion(post, make_operation):
    operation = make_operation()
    response = post(completed_v1(), REMOTE_ADDR="127.0.0.9")
    assert response.status_code == 202
    row = Notification.objects.get()
    assert json.loads(bytes(row.body)) == completed_v1()
    assert row.remote_addr == "127.0.0.9"
    assert row.processed_at is not None and row.matched
    assert row.token_claims["iss"] == "https://graph.microsoft.com"
    assert "HTTP_AUTHORIZATION" not in row.headers
    operation.refresh_from_db()
    assert operation.status == "completed"
    assert operation.completion_reason == "maxRecordDurationReached"
    assert (operation.result_code, operation.result_subcode) == (200, 8515)
    assert (
        operation.recording_location == "https://file.location/17e3b46c-f61d-4f4d-9635-c626ef18e6ad"
    )
    assert operation.recording_access_token == "<access-token>"
    assert operation.finished_at is not None


def test_it_applies_a_beta_completion_naming_the_operation_only_in_its_url(post, make_operation):
    payload = graph_fixture("beta-record/notification-completed")
    operation = make_operation(
        graph_id="0FE0623FD62842EDB4BD8AC290072CC5",
        call=Call.objects.create(graph_id="57DAB8B1894C409AB240BD8BEAE78896", state="established"),
    )
    assert post(payload).status_code == 202
    operation.refresh_from_db()
    assert operation.status == "completed"
    assert operation.completion_reason == "stopToneDetected"
    assert operation.recording_location.endswith("17e3b46c-f61d-4f4d-9635-c626ef18e6ad")


def test_it_applies_a_cancellation(post, make_operation):
    operation = make_operation()
    assert post(graph_fixture("v1.0/notification-canceled")).status_code == 202
    operation.refresh_from_db()
    assert operation.status == "failed"
    assert operation.completion_reason == "operationCanceled"
    assert (operation.result_code, operation.result_subcode) == (400, 8508)
    assert operation.recording_location == ""


def test_it_reads_status_in_any_case_codes_as_strings_and_keeps_unknown_reasons(
    post, make_operation
):
    operation = make_operation()
    payload = completed_v1()
    data = payload["value"][0]["resourceData"]
    data["status"] = "Completed"
    data["completionReason"] = "callerWentFishing"
    data["resultInfo"].update(code="200", subcode="8515")
    payload["value"][0]["resourceData"] = [data]
    assert post(payload).status_code == 202
    operation.refresh_from_db()
    assert operation.status == "completed"
    assert operation.completion_reason == "callerWentFishing"
    assert operation.completion_reason_label == "callerWentFishing"
    assert (operation.result_code, operation.result_subcode) == (200, 8515)


def test_a_replayed_notification_has_the_effect_of_one(post, make_operation):
    operation = make_operation()
    assert post(completed_v1()).status_code == 202
    operation.refresh_from_db()
    finished_at = operation.finished_at
    assert post(completed_v1()).status_code == 202
    operation.refresh_from_db()
    assert operation.finished_at == finished_at
    assert Notification.objects.count() == 2  # nothing lost: both POSTs are on file


def test_a_stale_running_update_after_completion_changes_nothing(post, make_operation):
    operation = make_operation()
    post(completed_v1())
    stale = completed_v1()
    stale["value"][0]["changeType"] = "updated"
    stale["value"][0]["resourceData"].update(status="running", completionReason=None)
    assert post(stale).status_code == 202
    operation.refresh_from_db()
    assert operation.status == "completed"
    assert operation.completion_reason == "maxRecordDurationReached"


def test_failed_is_final_even_when_a_completion_follows(post, make_operation):
    operation = make_operation()
    post(graph_fixture("v1.0/notification-canceled"))
    post(completed_v1())
    operation.refresh_from_db()
    assert operation.status == "failed"
    assert operation.completion_reason == "operationCanceled"


def test_it_applies_every_notification_of_a_batch(post, make_operation, call):
    call.state = CallState.ESTABLISHING
    call.save()
    operation = make_operation()
    batch = graph_fixture("v1.0/notification-call-established")
    batch["value"] += completed_v1()["value"]
    batch["value"] += graph_fixture("v1.0/notification-call-terminated")["value"]
    assert post(batch).status_code == 202
    operation.refresh_from_db()
    call.refresh_from_db()
    assert operation.status == "completed"
    assert call.state == "terminated"
    assert call.answered_at is not None and call.ended_at is not None
    assert (call.result_code, call.result_subcode) == (200, 5001)


def test_a_notification_for_an_unknown_operation_is_kept_unmatched(post, call):
    assert post(completed_v1()).status_code == 202
    row = Notification.objects.get()
    assert row.matched is False
    assert row.unmatched_operation_ids == ["0fe0623f-d628-42ed-b4bd-8ac290072cc5"]


# --- Calls ----------------------------------------------------------------------------------


def incoming_call(call_id="9a1c0b5e-0000-4000-8000-000000000001"):
    payload = graph_fixture("v1.0/notification-call-established")
    item = payload["value"][0]
    item["changeType"] = "created"
    for key in ("resource", "resourceUrl"):
        item[key] = item[key].replace("421f1100-f4ff-4d0b-a10e-a4d5b1d2be55", call_id)
    item["resourceData"]["state"] = "incoming"
    return payload


def test_an_incoming_call_is_created_and_answered_in_the_background(post, settings):
    from django.tasks import default_task_backend

    assert post(incoming_call()).status_code == 202
    call = Call.objects.get()
    assert call.state == "incoming"
    assert call.direction == "incoming"
    assert call.caller_id == "+12345678901"
    enqueued = [r.task.name for r in default_task_backend.results]
    assert enqueued == ["answer_call_task"]


@pytest.mark.parametrize("call_id", ["..", "."])
def test_an_incoming_call_whose_id_could_leave_its_path_segment_is_refused(post, call_id):
    from django.tasks import default_task_backend

    response = post(incoming_call(call_id))

    assert response.status_code == 400
    assert "call id is not a Graph id" in response.json()["detail"]
    row = Notification.objects.get()
    assert "call id is not a Graph id" in row.error
    assert row.processed_at is None
    assert not Call.objects.exists()
    assert default_task_backend.results == []


def test_an_incoming_call_is_not_answered_when_auto_answer_is_off(post, settings):
    from django.tasks import default_task_backend

    settings.AUTO_ANSWER = False
    post(incoming_call())
    assert default_task_backend.results == []


def test_a_repeated_incoming_notification_answers_once(post):
    from django.tasks import default_task_backend

    post(incoming_call())
    post(incoming_call())
    assert Call.objects.count() == 1
    assert len(default_task_backend.results) == 1


def test_call_states_never_move_back(post, call):
    call.state = CallState.INCOMING
    call.save()
    established = graph_fixture("v1.0/notification-call-established")
    establishing = copy.deepcopy(established)
    establishing["value"][0]["resourceData"]["state"] = "establishing"
    post(established)
    post(establishing)  # arrived late
    post(established)  # repeated
    call.refresh_from_db()
    assert call.state == "established"
    post(graph_fixture("v1.0/notification-call-terminated"))
    post(established)
    call.refresh_from_db()
    assert call.state == "terminated"


def test_a_token_of_another_tenant_the_bot_serves_is_accepted(post, make_token, settings):
    settings.NOTIFICATION_TENANT_IDS = [settings.GRAPH_TENANT_ID, "partner-tenant"]

    response = post(completed_v1(), token=make_token(tid="partner-tenant"))

    assert response.status_code == 202


def test_a_chunked_body_the_server_cannot_read_is_refused_not_taken_as_empty(post):
    # Django's own servers hand over no chunked body: Graph must hear that, not get a 400
    # for "no JSON" while the notification is stored empty.
    response = post(completed_v1(), HTTP_TRANSFER_ENCODING="chunked", CONTENT_LENGTH="")

    assert response.status_code == 411
    assert "Content-Length" in response.json()["detail"]
    assert not Notification.objects.exists()


def test_an_accepted_notification_is_answered_with_an_empty_202(post, make_operation):
    make_operation()
    answer = post(completed_v1())
    assert answer.status_code == 202
    assert answer.content == b""
    assert "Content-Type" not in answer.headers  # as DRF renders a Response with no data
