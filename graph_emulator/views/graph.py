"""Graph (beta and v1.0): the media actions (record, recordResponse, playPrompt,
cancelMediaProcessing, subscribeToTone), the call's own actions (answer, reject, keepAlive,
DELETE) and its operations. Every route needs an app token from the Azure AD routes and
answers Graph's error bodies; state changes live in services.py.
"""

import functools
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from graph_emulator import faults, payloads, services, signing
from graph_emulator.errors import GraphProblem, bad_request, error_response
from graph_emulator.models import FaultName, Operation
from graph_emulator.transport import NotLoopback, check_loopback
from graph_emulator.validation import (
    validate_client_context,
    validate_play_prompt_body,
    validate_record_body,
)
from graph_emulator.views.common import bearer_token, recording_location_for

PROFILE_OF_VERSION = {"beta": Operation.Profile.BETA_RECORD, "v1.0": Operation.Profile.V1}
SERVER_ERROR_CODES = {500: "InternalServerError", 503: "ServiceUnavailable", 504: "GatewayTimeout"}
JSON_UNREADABLE = (
    "Unable to read JSON request payload. Please ensure Content-Type header is set and payload "
    "is of valid JSON format."
)


def _authenticate(request: HttpRequest) -> None:
    token = bearer_token(request)
    challenge = {"WWW-Authenticate": 'Bearer realm="", error="invalid_token"'}
    if not token:
        raise GraphProblem(
            401, "InvalidAuthenticationToken", "Access token is empty.", headers=challenge
        )
    try:
        signing.verify_app_token(token)
    except signing.InvalidAppToken as err:
        raise GraphProblem(401, "InvalidAuthenticationToken", str(err), headers=challenge) from err


def _request_faults() -> None:
    throttle = faults.take(FaultName.THROTTLE)
    if throttle is not None:
        retry_after = f"{float(throttle.get('retry_after', 1)):g}"
        raise GraphProblem(
            429,
            "TooManyRequests",
            f"Too many requests. Retry after {retry_after} seconds.",
            headers={"Retry-After": retry_after},
        )
    server_error = faults.take(FaultName.SERVER_ERROR)
    if server_error is not None:
        status = int(server_error.get("status", 503))
        raise GraphProblem(
            status, SERVER_ERROR_CODES[status], "The service is temporarily unavailable (fault)."
        )
    slow = faults.take(FaultName.SLOW)
    if slow is not None:
        time.sleep(float(slow.get("seconds", 2)))


def graph_route(*methods: str) -> Callable:
    """Wraps a Graph view: method check, bearer token, request faults, error bodies, and the
    request-id / client-request-id headers on every answer."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            request_id = str(uuid.uuid4())
            client_request_id = request.headers.get("client-request-id") or str(uuid.uuid4())
            try:
                if request.method not in methods:
                    raise GraphProblem(
                        405,
                        "BadRequest",
                        f"The HTTP method '{request.method}' is not allowed on this resource.",
                        headers={"Allow": ", ".join(methods)},
                    )
                _authenticate(request)
                _request_faults()
                response = view(request, *args, **kwargs)
            except GraphProblem as problem:
                response = error_response(
                    problem, request_id=request_id, client_request_id=client_request_id
                )
            response["request-id"] = request_id
            response["client-request-id"] = client_request_id
            return response

        return wrapper

    return decorate


def _json_body(request: HttpRequest, *, required: bool = True) -> dict:
    if not request.body:
        if required:
            raise bad_request(JSON_UNREADABLE)
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise bad_request(JSON_UNREADABLE) from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


def _operation_url(request: HttpRequest, version: str, call_id: str, op_id: str) -> str:
    path = reverse(
        "graph_emulator:call-operation",
        kwargs={"version": version, "call_id": call_id, "operation_id": op_id},
    )
    return request.build_absolute_uri(path)


def _operation_response(
    request: HttpRequest, version: str, op: Operation, profile: str | None = None
) -> JsonResponse:
    """An action's answer: the operation, and where to read it (`Location`, in both eras)."""
    response = JsonResponse(payloads.operation_resource(op, profile or PROFILE_OF_VERSION[version]))
    response["Location"] = _operation_url(request, version, op.call_id, op.id)
    return response


# --- Routes ---------------------------------------------------------------------------------


@graph_route("POST")
def record(
    request: HttpRequest,
    version: str,
    call_id: str,
    app_id: str | None = None,
    profile: str | None = None,
):
    """`record` (beta) and `recordResponse` (v1.0, and the current beta, in v1.0's shape:
    the route passes that profile)."""
    if app_id is not None and app_id.lower() != settings.EMULATOR_CLIENT_ID.lower():
        raise GraphProblem(
            404, "Request_ResourceNotFound", f"Application '{app_id}' was not found."
        )
    profile = profile or PROFILE_OF_VERSION[version]
    body = _json_body(request)
    call = services.find_live_call(call_id)
    params = validate_record_body(body, profile)
    op = services.start_record(
        call=call, profile=profile, params=params, location_for=recording_location_for(request)
    )
    return _operation_response(request, version, op, profile)


@graph_route("POST")
def cancel_media_processing(request: HttpRequest, version: str, call_id: str):
    profile = PROFILE_OF_VERSION[version]
    body = _json_body(request, required=False)
    call = services.find_live_call(call_id)
    context = validate_client_context(body)
    op = services.cancel_media_processing(call=call, profile=profile, client_context=context)
    return _operation_response(request, version, op)


@graph_route("GET", "DELETE")
def call_detail(request: HttpRequest, version: str, call_id: str):
    call = services.find_live_call(call_id)
    if request.method == "DELETE":
        services.hang_up(call=call)
        return HttpResponse(status=204)
    return JsonResponse(payloads.call_resource(call, client_id=settings.EMULATOR_CLIENT_ID))


@graph_route("POST")
def answer(request: HttpRequest, version: str, call_id: str):
    body = _json_body(request)
    call = services.find_live_call(call_id)
    problems = []
    callback_uri = body.get("callbackUri")
    if not isinstance(callback_uri, str) or not callback_uri:
        problems.append(
            "callbackUri is required: the URL Graph posts this call's notifications to."
        )
    media = body.get("mediaConfig")
    if not isinstance(media, dict) or media.get("@odata.type") != (
        "#microsoft.graph.serviceHostedMediaConfig"
    ):
        problems.append(
            'mediaConfig must be {"@odata.type": "#microsoft.graph.serviceHostedMediaConfig"}: '
            "the emulator hosts the media itself."
        )
    modalities = body.get("acceptedModalities")
    if not isinstance(modalities, list) or "audio" not in modalities:
        problems.append('acceptedModalities must be a list holding "audio".')
    if problems:
        raise bad_request(" ".join(problems))
    try:
        check_loopback(callback_uri)
    except NotLoopback as err:
        raise bad_request(f"callbackUri refused: {err}.") from err
    services.answer_call(call=call, callback_uri=callback_uri)
    return HttpResponse(status=202)


@graph_route("POST")
def play_prompt(request: HttpRequest, version: str, call_id: str):
    profile = PROFILE_OF_VERSION[version]
    body = _json_body(request)
    call = services.find_live_call(call_id)
    params = validate_play_prompt_body(body, profile)
    op = services.start_media_operation(
        call=call, profile=profile, kind=Operation.Kind.PLAY_PROMPT, params=params
    )
    return _operation_response(request, version, op)


@graph_route("POST")
def subscribe_to_tone(request: HttpRequest, version: str, call_id: str):
    body = _json_body(request, required=False)
    call = services.find_live_call(call_id)
    context = validate_client_context(body)
    op = services.subscribe_to_tone(
        call=call, profile=PROFILE_OF_VERSION[version], client_context=context
    )
    return _operation_response(request, version, op)


REJECT_REASONS = ("none", "busy", "forbidden")


@graph_route("POST")
def reject(request: HttpRequest, version: str, call_id: str):
    body = _json_body(request, required=False)
    call = services.find_live_call(call_id)
    problems = [
        f"The property '{key}' does not exist on type 'microsoft.graph.reject'."
        for key in sorted(body)
        if not key.startswith("@") and key not in ("reason", "callbackUri")
    ]
    reason = body.get("reason") or "none"
    if reason not in REJECT_REASONS:
        problems.append(f"reason must be one of none, busy, forbidden (got {reason!r}).")
    callback_uri = body.get("callbackUri") or ""
    if not isinstance(callback_uri, str):
        problems.append("callbackUri must be a URL.")
    if problems:
        raise bad_request(" ".join(problems))
    if callback_uri:
        try:
            check_loopback(callback_uri)
        except NotLoopback as err:
            raise bad_request(f"callbackUri refused: {err}.") from err
    services.reject_call(call=call, reason=reason, callback_uri=callback_uri)
    return HttpResponse(status=202)


@graph_route("POST")
def keep_alive(request: HttpRequest, version: str, call_id: str):
    call = services.find_live_call(call_id)
    services.keep_alive(call=call)
    return HttpResponse(status=200)


@graph_route("GET")
def operation_detail(request: HttpRequest, version: str, call_id: str, operation_id: str):
    call = services.find_live_call(call_id)
    op = Operation.objects.filter(call=call, pk=operation_id.lower()).first()
    if op is None:
        raise GraphProblem(
            404, "itemNotFound", f"Operation '{operation_id}' not found on this call."
        )
    # Beta shows an operation in the shape it was made in (its recordResponse is v1.0's).
    profile = op.profile if version == "beta" else PROFILE_OF_VERSION[version]
    return JsonResponse(payloads.operation_resource(op, profile))


@graph_route("GET", "POST", "PUT", "PATCH", "DELETE")
def unknown_segment(request: HttpRequest, version: str, rest: str):
    segment = next((part for part in reversed(rest.split("/")) if part), rest)
    raise GraphProblem(400, "BadRequest", f"Resource not found for the segment '{segment}'.")
