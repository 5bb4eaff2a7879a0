"""What the service tests share besides fixtures: Graph's addresses, its answer to a record
action, and a spec to send."""

from recordings.graph import PromptSpec, RecordSpec

OP_ID = "0fe0623f-d628-42ed-b4bd-8ac290072cc5"


def record_url(settings, call, profile):
    if profile == "beta-record":
        return f"{settings.GRAPH_API_BASE_URL}/app/calls/{call.graph_id}/record"
    return f"{settings.GRAPH_API_BASE_URL}/communications/calls/{call.graph_id}/recordResponse"


def operation_url(settings, call, op_id=OP_ID):
    return f"{settings.GRAPH_API_BASE_URL}/communications/calls/{call.graph_id}/operations/{op_id}"


def running(op_id=OP_ID, context="ctx"):
    return {"id": op_id, "status": "running", "clientContext": context}


SPEC = RecordSpec(
    prompts=(
        PromptSpec(kind="silence", duration_ms=500),
        PromptSpec(kind="media", uri="https://cdn.contoso.com/beep.wav", loop=2),
    ),
    stop_tones=("#",),
    max_record_duration=30,
    client_context="ctx",
)
