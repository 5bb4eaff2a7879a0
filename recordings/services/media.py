"""Prompts played to the caller without recording (Graph's playPrompt). The keys the caller
presses are subscribed to when Recorder answers (services.calls)."""

import uuid

from django.contrib.auth.models import AbstractBaseUser

from recordings import graph_setup
from recordings.exchange_log import DatabaseExchangeLog
from recordings.graph import GraphClient, GraphError, PromptSpec
from recordings.models import Call, MediaOperation, PromptAudio
from recordings.prompt_files import public_url
from recordings.services import errors as service_errors
from recordings.services import notifications as notification_services
from recordings.services import operations as operation_services


def play_prompt(
    *,
    call: Call,
    prompt: PromptAudio,
    by: AbstractBaseUser | None,
    client: GraphClient | None = None,
) -> MediaOperation:
    """Play a library prompt to the caller without recording; the operation Graph runs."""
    if not call.is_live:
        raise service_errors.CallActionRefused({"call": ["The call has already ended."]})
    client = client or graph_setup.graph_client()
    context = f"play-{uuid.uuid4()}"
    try:
        parsed = client.play_prompt(
            call.graph_id,
            [PromptSpec(kind="media", uri=public_url(prompt))],
            context,
            log=DatabaseExchangeLog(call=call),
        )
    except GraphError as err:
        raise service_errors.GraphActionFailed(err.operator_message, error=err) from err
    operation = operation_services.create_media_operation(
        call=call,
        kind=MediaOperation.Kind.PLAY_PROMPT,
        parsed=parsed,
        client_context=context,
        prompt=prompt,
        prompt_name=prompt.name,
        requested_by=by,
    )
    # A notification that came before this row existed waited for it.
    notification_services.apply_waiting_notifications(operation)
    return operation
