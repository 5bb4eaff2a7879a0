"""The emulator's own controls (no Graph token): fault switches, placing a test call, the
log of notifications delivered, and recordings made at once for benchmarks."""

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from graph_emulator import faults, payloads, services
from graph_emulator.faults import FaultError
from graph_emulator.models import Call, Delivery
from graph_emulator.script import ScriptError
from graph_emulator.transport import NotLoopback
from graph_emulator.views.common import recording_location_for


def _control_error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": "BadRequest", "message": message}}, status=status)


def _control_body(request: HttpRequest) -> dict | JsonResponse:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return _control_error(400, "The body must be JSON.")
    if not isinstance(body, dict):
        return _control_error(400, "The body must be a JSON object.")
    return body


@csrf_exempt
def control_faults(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return JsonResponse(faults.active_faults())
    if request.method == "DELETE":
        faults.clear_faults()
        return HttpResponse(status=204)
    if request.method != "POST":
        return _control_error(405, "Use GET, POST or DELETE.")
    body = _control_body(request)
    if isinstance(body, JsonResponse):
        return body
    try:
        return JsonResponse(faults.set_faults(**body))
    except FaultError as err:
        return _control_error(400, str(err))


def _call_summary(call: Call) -> dict:
    return {
        "id": call.id,
        "state": call.state,
        "caller": call.caller,
        "script": call.script,
        "callback": call.callback_url,
        "createdDateTime": payloads.timestamp(call.created_at),
    }


@csrf_exempt
def control_calls(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return JsonResponse({"value": [_call_summary(c) for c in Call.objects.all()[:50]]})
    if request.method != "POST":
        return _control_error(405, "Use GET or POST.")
    body = _control_body(request)
    if isinstance(body, JsonResponse):
        return body
    script, caller, callback = body.get("script", ""), body.get("caller"), body.get("callback")
    if not all(isinstance(v, str | None) for v in (script, caller, callback)):
        return _control_error(400, "script, caller and callback must be strings.")
    try:
        call = services.place_call(
            script=script or "", caller=caller or "", callback_url=callback or ""
        )
    except (ScriptError, NotLoopback, ValueError) as err:
        return _control_error(400, f"{err}")
    # From a thread: in the embedded set-up the callback is this very server, which may
    # have only one worker to answer it.
    services.announce_call(call, wait=False)
    return JsonResponse(_call_summary(call), status=201)


@csrf_exempt
def control_recordings(request: HttpRequest) -> HttpResponse:
    """Make a completed recording of a given length at once, for benchmarking downloads."""
    if request.method != "POST":
        return _control_error(405, "Use POST.")
    body = _control_body(request)
    if isinstance(body, JsonResponse):
        return body
    seconds = body.get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return _control_error(400, "seconds must be a number.")
    try:
        op = services.make_bench_recording(
            seconds=float(seconds), location_for=recording_location_for(request)
        )
    except ValueError as err:
        return _control_error(400, str(err))
    path = services.recording_path(op)
    return JsonResponse(
        {
            "id": op.id,
            "recordingLocation": op.recording_location,
            "recordingAccessToken": op.access_token,
            "seconds": op.recording_seconds,
            "bytes": path.stat().st_size,
        },
        status=201,
    )


@csrf_exempt
def control_deliveries(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        return _control_error(405, "Use GET.")
    deliveries = Delivery.objects.order_by("id")
    if call_id := request.GET.get("call"):
        deliveries = deliveries.filter(call_id=call_id)
    else:
        deliveries = deliveries.reverse()[:200]
    return JsonResponse(
        {
            "value": [
                {
                    "id": d.id,
                    "call": d.call_id,
                    "operation": d.operation_id,
                    "summary": d.summary,
                    "status": d.status,
                    "httpStatus": d.http_status,
                    "attempts": d.attempts,
                    "duplicate": d.duplicate,
                    "error": d.error,
                    "createdDateTime": payloads.timestamp(d.created_at),
                    "payload": d.payload,
                }
                for d in deliveries
            ]
        }
    )
